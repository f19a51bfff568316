#!/usr/bin/env python3
"""The two measurements of `wsprune watch` in docs/watch.md (root: it mounts
tmpfs filesystems under /tmp and unmounts them).

    cargo build --release && sudo python3 benches/watch.py [--quick]

1. Reaction: a writer fills a 256 MiB tmpfs at a steady rate (1 MiB
   sessions), while `watch --interval 1s --high-watermark 80%
   --low-watermark 60% --min-age 0` runs; the usage is sampled every 5 ms.
   Reported: the peak above the high watermark, against one interval's
   writes, and the number of passes.
2. Idle CPU: `watch` over a root of 10 000 registered sessions (fresh, so
   nothing is due), `--interval 10s`, for 60 s after its first pass; the
   CPU time (utime + stime from /proc/PID/stat) over that window, as a
   share of one core; the first (age) pass's own CPU time separately.

--quick: 10 s of writing and 15 s of idling (for trying the script).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone

MIB = 1 << 20
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("WSPRUNE", os.path.join(REPO, "target/release/wsprune"))
TICK = os.sysconf("SC_CLK_TCK")


def mount_tmpfs(size: str) -> str:
    d = tempfile.mkdtemp(prefix="watch-bench-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},nr_inodes=100000", "tmpfs", d], check=True)
    return d


def unmount(d: str) -> None:
    subprocess.run(["umount", d], check=True)
    os.rmdir(d)


def used_bytes(d: str) -> int:
    st = os.statvfs(d)
    return (st.f_blocks - st.f_bavail) * st.f_frsize


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def stop(p: subprocess.Popen) -> str:
    p.terminate()
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, f"watch exited {p.returncode}"
    return out


def reaction(seconds: float, rate_mib: int) -> dict:
    root = mount_tmpfs("256m")
    try:
        size = os.statvfs(root).f_blocks * os.statvfs(root).f_frsize
        interval = 1.0
        p = subprocess.Popen(
            [BIN, "watch", root, "--no-age-rule", "--high-watermark", "80%", "--low-watermark", "60%",
             "--min-age", "0", "--interval", "1s"],
            stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        block = os.urandom(MIB)
        start, written, peak = time.monotonic(), 0, 0
        while time.monotonic() - start < seconds:
            due = start + written / rate_mib
            if time.monotonic() >= due:
                sid = str(uuid.uuid4())
                subprocess.run([BIN, "create", root, sid], check=True, stdout=subprocess.DEVNULL)
                with open(os.path.join(root, sid, "blob"), "wb") as f:
                    f.write(block)
                written += 1
            peak = max(peak, used_bytes(root))
            time.sleep(0.005)
        elapsed = time.monotonic() - start
        out = stop(p)
        high = size * 80 // 100
        return {
            "filesystem_mib": size / MIB,
            "rate_mib_per_s": written / elapsed,
            "written_mib": written,
            "interval_s": interval,
            "high_watermark_mib": high / MIB,
            "peak_mib": peak / MIB,
            "peak_over_high_mib": (peak - high) / MIB,
            "one_interval_of_writes_mib": written / elapsed * interval,
            "passes": out.count("watermark pass"),
        }
    finally:
        unmount(root)


def idle(seconds: float, sessions: int) -> dict:
    root = mount_tmpfs("512m")
    try:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for _ in range(sessions):
            sid = str(uuid.uuid4())
            os.mkdir(os.path.join(root, sid), 0o700)
            with open(os.path.join(root, sid, ".metadata.json"), "w") as f:
                json.dump({"session_id": sid, "created_at": now, "updated_at": now, "version": 1}, f)
        subprocess.run([BIN, "migrate", root], check=True, stdout=subprocess.DEVNULL)
        p = subprocess.Popen(
            [BIN, "watch", root, "--high-watermark", "85%", "--low-watermark", "80%", "--older-than", "24h",
             "--interval", "10s", "--age-every", "15m"],
            stdout=subprocess.PIPE, text=True)
        first = p.stdout.readline()  # the first (age) pass, at start
        assert "age pass: Pruned 0 sessions" in first, first
        cpu0, t0 = cpu_seconds(p.pid), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = cpu_seconds(p.pid), time.monotonic()
        stop(p)
        return {
            "sessions": sessions,
            "first_pass_cpu_s": cpu0,
            "window_s": t1 - t0,
            "window_cpu_s": cpu1 - cpu0,
            "core_share_percent": 100 * (cpu1 - cpu0) / (t1 - t0),
        }
    finally:
        unmount(root)


def main() -> None:
    quick = "--quick" in sys.argv
    if os.geteuid() != 0:
        sys.exit("benches/watch.py mounts tmpfs filesystems: run it as root")
    r = reaction(10 if quick else 30, 32)
    print(json.dumps({"reaction": r}, indent=2))
    i = idle(15 if quick else 60, 10_000)
    print(json.dumps({"idle": i}, indent=2))


if __name__ == "__main__":
    main()
