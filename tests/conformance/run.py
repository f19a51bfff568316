#!/usr/bin/env python3
"""Conformance harness (tests/conformance/PROTOCOL.md): runs every scenario
on every surface's runner and compares what each surface did with the
scenario's expectation. Python 3.11 standard library only.

    python3 tests/conformance/run.py [--surface NAME]... [--scenario GLOB]

The runners must be built first (`make conformance` does it); how each
surface's runner is started is the SURFACES table below.
"""

from __future__ import annotations

import argparse
import fcntl
import fnmatch
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BUILD = Path(os.environ.get("WSPRUNE_CONFORMANCE_BUILD", REPO / "target" / "conformance"))
# `cargo build --release --example c_abi_runner` (Cargo.toml [[example]]).
C_RUNNER = REPO / "target" / "release" / "examples" / "c_abi_runner"

# surface -> (command, files that must exist for the surface to run).
# The runner is started once, in the repository root, with the environment
# of `make conformance` (WSPRUNE_LIBRARY: the installed libwsprune.so;
# WSPRUNE_CLI: the wsprune binary; LD_LIBRARY_PATH, PKG_CONFIG_PATH: the
# temporary prefix). A surface whose files are missing is "not available"
# (printed, never counted as passing). Adding a surface = one row + one runner.
SURFACES: dict[str, tuple[list[str], list[str]]] = {
    "c": ([str(C_RUNNER)], [str(C_RUNNER)]),
    "go": ([str(BUILD / "go_runner")], [str(BUILD / "go_runner")]),
    "python": (
        [sys.executable, "tests/conformance/runners/python_runner.py"],
        ["tests/conformance/runners/python_runner.py"],
    ),
    "cli": (
        [sys.executable, "tests/conformance/runners/cli_runner.py"],
        ["tests/conformance/runners/cli_runner.py"],
    ),
    "node": (
        ["node", "tests/conformance/runners/node_runner.mjs"],
        ["tests/conformance/runners/node_runner.mjs"],
    ),
    # The Java runner script builds nothing: it starts the JVM on classes
    # that `make conformance` (or the Java binding's build) compiled.
    "java": (
        ["bash", "tests/conformance/runners/java_runner.sh"],
        ["tests/conformance/runners/java_runner.sh"],
    ),
}

RESPONSE_TIMEOUT = 60.0  # seconds for one request (a busy lease waits 2 s at most)
META = ".metadata.json"
HOST = ".wsprune"  # the host directory: records and lock files (docs/host-state.md)


# ----------------------------------------------------------------- setup


def ts_canonical(t: datetime) -> str:
    """wsprune's canonical 27-byte timestamp: 2026-11-25T01:47:00.123456Z."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def metadata_text(sid: str, created: datetime, updated: datetime, kind: str) -> str:
    if kind == "python":
        # The reference implementation: json.dump(indent=2), isoformat() with +00:00.
        return json.dumps(
            {"session_id": sid, "created_at": created.isoformat(), "updated_at": updated.isoformat()}, indent=2
        )
    if kind == "corrupted_json":
        return '{"session_id": "' + sid + '", "created_at": '
    if kind == "year_2000":  # a guest's forgery: a mirror dated long ago
        old = datetime(2000, 1, 1, tzinfo=timezone.utc)
        return metadata_text(sid, old, old, "ok")
    if kind == "corrupted_timestamp":
        return json.dumps({"session_id": sid, "created_at": "yesterday", "updated_at": "not a time", "version": 1})
    # Canonical (src/metadata.rs): fixed layout, fixed-width timestamps.
    return (
        "{\n"
        f'  "session_id": {json.dumps(sid)},\n'
        f'  "created_at": "{ts_canonical(created)}",\n'
        f'  "updated_at": "{ts_canonical(updated)}",\n'
        '  "version": 1\n'
        "}\n"
    )


def with_fields(text: str, fields: dict[str, Any]) -> str:
    """Canonical metadata `text` with `fields` added after the known ones, as
    wsprune writes a record's optional fields (serde_json's indent 2 is
    json.dumps's): `updated_at` keeps its offset."""
    if not fields:
        return text
    data = json.loads(text)
    data.update(fields)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def retention_fields(s: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The record's retention fields (docs/host-state.md, "Record format")
    that a setup session asks for: `pinned` (bool), `pinned_until_in_hours`,
    `idle_ttl_seconds`, `expires_in_hours` (hours from now; negative: past)."""
    out: dict[str, Any] = {}
    if s.get("pinned"):
        out["pinned"] = True
        if "pinned_until_in_hours" in s:
            out["pinned_until"] = ts_canonical(now + timedelta(hours=float(s["pinned_until_in_hours"])))
    if "idle_ttl_seconds" in s:
        out["idle_ttl_seconds"] = s["idle_ttl_seconds"]
    if "expires_in_hours" in s:
        out["expires_at"] = ts_canonical(now + timedelta(hours=float(s["expires_in_hours"])))
    return out


# Op keys holding hours from now, and the time (RFC 3339, UTC, microseconds)
# the harness sends instead: every runner gets an absolute time to map onto
# its surface's idiom (C microseconds, Go time.Time, Python datetime, ...).
RELATIVE_TIMES = {"until_in_hours": "until", "expires_in_hours": "expires_at", "as_of_in_hours": "as_of"}


def absolute_times(op: dict[str, Any], now: datetime) -> dict[str, Any]:
    out = {}
    for k, v in op.items():
        if k in RELATIVE_TIMES:
            out[RELATIVE_TIMES[k]] = ts_canonical(now + timedelta(hours=float(v)))
        elif isinstance(v, dict):
            out[k] = absolute_times(v, now)
        else:
            out[k] = v
    return out


def tree_size(path: Path) -> int:
    """What `du -sB1` says: allocated blocks (st_blocks * 512) of `path` and
    everything below it, each inode once (what sizes and a deletion count)."""
    seen: set[tuple[int, int]] = set()
    total = os.lstat(path).st_blocks * 512
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        for name in filenames + dirnames:
            st = os.lstat(os.path.join(dirpath, name))
            if st.st_nlink > 1:
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


class Setup:
    """A scenario's workspace on disk, its leases and its cleanup."""

    def __init__(self, base: Path, setup: dict[str, Any]) -> None:
        self.base = base
        self.root = base / "ws"
        self.lease_fds: list[int] = []
        self.locked_modes: list[Path] = []
        self.sizes: dict[str, int] = {}
        now = datetime.now(timezone.utc)
        self.mounted: Path | None = None
        kind = setup.get("root", "present")
        if kind == "missing":
            return
        if kind == "file":
            self.root.write_text("not a directory\n")
            return
        if kind == "fuse":  # built in a local directory, then seen through bindfs
            self.mounted = self.root
            self.root = base / "backing"
        self.root.mkdir()
        for s in setup.get("sessions", []):
            self._session(s, now)
        for e in setup.get("entries", []):
            self._entry(e)
        for name in list(self.sizes):
            self.sizes[name] = tree_size(self.root / name)
        for s in setup.get("sessions", []):  # last: nothing may be written after
            if s.get("metadata") == "unreadable":
                d = self.root / s["id"]
                os.chmod(d, 0)
                self.locked_modes.append(d)
        if self.mounted is not None:
            self.mounted.mkdir()
            subprocess.run(["bindfs", str(self.root), str(self.mounted)], check=True)
            self.root = self.mounted

    def unmount(self) -> None:
        """Unmounts a `fuse` root (before the workspace is removed)."""
        if self.mounted is not None:
            subprocess.run(["fusermount", "-u", str(self.mounted)], check=False)
            self.mounted = None

    def _session(self, s: dict[str, Any], now: datetime) -> None:
        sid = s["id"]
        d = self.root / sid
        d.mkdir()
        age = float(s.get("age_hours", 0))
        created_age = float(s.get("created_age_hours", age))
        state = s.get("metadata", "ok")
        registered = bool(s.get("registered"))
        updated = now - timedelta(hours=age)
        if state == "future":
            updated = now + timedelta(days=1)
        created = min(now - timedelta(hours=created_age), updated)
        if registered:
            # The host's record is dated by age_hours; `metadata` is then only
            # what the guest left in its mirror.
            record = metadata_text(sid, created, now - timedelta(hours=age), "ok")
            fields = {"labels": s["labels"]} if "labels" in s else {}
            fields.update(retention_fields(s, now))
            self._register(sid, with_fields(record, fields))
        if state == "directory":  # a guest's .metadata.json that is a directory
            (d / META).mkdir()
        elif state != "legacy":
            f = d / META
            text = metadata_text(sid, created, updated, state)
            # A guest's forgery: labels, a pin or a TTL in the mirror, which decide nothing.
            forged = {"labels": s["mirror_labels"]} if "mirror_labels" in s else {}
            forged.update(retention_fields(s.get("mirror_retention", {}), now))
            f.write_text(with_fields(text, forged))
            os.chmod(f, 0o600)
        size = int(s.get("size_bytes", 0))
        if size:
            (d / "data.bin").write_bytes(b"x" * size)
        self.sizes[sid] = 0
        if s.get("leased"):
            fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fcntl.flock(fd, fcntl.LOCK_SH)  # exactly what a lease is
            self.lease_fds.append(fd)
            if registered:  # and, for a registered session, on its lock file
                fd = os.open(self.root / HOST / "locks" / sid, os.O_RDONLY | os.O_CLOEXEC)
                fcntl.flock(fd, fcntl.LOCK_SH)
                self.lease_fds.append(fd)

    def _register(self, sid: str, record: str) -> None:
        """Writes what wsprune writes for a registered session (docs/host-state.md):
        <root>/.wsprune/ 0700 with sessions/<id> (the record, 0600), locks/<id>
        (an empty 0600 file) and the workspace lock `lock`."""
        host = self.root / HOST
        for d in (host, host / "sessions", host / "locks"):
            d.mkdir(mode=0o700, exist_ok=True)
            os.chmod(d, 0o700)
        for f, text in ((host / "lock", ""), (host / "locks" / sid, ""), (host / "sessions" / sid, record)):
            f.write_text(text)
            os.chmod(f, 0o600)

    def _entry(self, e: dict[str, Any]) -> None:
        p = self.root / e["name"]
        kind = e.get("kind", "file")
        if kind == "file":
            p.write_bytes(b"x" * int(e.get("size_bytes", 0)))
        elif kind == "dir":
            p.mkdir()
            if e.get("size_bytes"):
                (p / "data.bin").write_bytes(b"x" * int(e["size_bytes"]))
            self.sizes[e["name"]] = 0
            if e.get("locked"):  # another process holding it, as a lease would
                fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                fcntl.flock(fd, fcntl.LOCK_SH)
                self.lease_fds.append(fd)
        elif kind == "symlink":
            target = e.get("target", "outside")
            if target == "outside":
                out = self.base / "outside"
                out.mkdir(exist_ok=True)
                (out / "precious.txt").write_text("must survive\n")
                target = str(out)
            os.symlink(target, p)
        else:
            raise ValueError(f"unknown entry kind {kind!r}")

    def release(self) -> None:
        for fd in self.lease_fds:
            os.close(fd)
        self.lease_fds.clear()
        for d in self.locked_modes:
            os.chmod(d, 0o700)

    def remaining(self, hidden: bool) -> list[str]:
        if not self.root.is_dir():
            return []
        # The host directory (.wsprune: records and locks) is wsprune's own, in every root it registers in.
        return sorted(n for n in os.listdir(self.root) if n != ".wsprune" and (hidden or not n.startswith(".")))


# ----------------------------------------------------------------- runners


def runner_env() -> dict[str, str]:
    """The runners' environment: `make conformance` sets WSPRUNE_LIBRARY and
    WSPRUNE_CLI to an installed copy; run directly, the release build is used.
    The Python runner imports the package from bindings/python/src."""
    env = dict(os.environ)
    env.setdefault("WSPRUNE_LIBRARY", str(REPO / "target" / "release" / "libwsprune.so"))
    env.setdefault("WSPRUNE_CLI", str(REPO / "target" / "release" / "wsprune"))
    src = str(REPO / "bindings" / "python" / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class Runner:
    """One long-lived runner process: a request line in, a response line out."""

    def __init__(self, surface: str, cmd: list[str]) -> None:
        self.surface = surface
        self.cmd = cmd
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=REPO,
            env=runner_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
            bufsize=1,
        )

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc and self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.proc = None
            return {"status": "runner_died", "message": "runner closed its stdin"}
        ready, _, _ = select.select([self.proc.stdout], [], [], RESPONSE_TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.stop()
            return {"status": "runner_died", "message": "no response (runner exited or timed out)"}
        try:
            resp = json.loads(line)
        except json.JSONDecodeError:
            return {"status": "bad_response", "message": line.strip()[:300]}
        return resp if isinstance(resp, dict) else {"status": "bad_response", "message": line.strip()[:300]}

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            self.proc.kill()
            self.proc.wait()
        self.proc = None


# ----------------------------------------------------------------- compare


def substitute(value: Any, new_id: str | None) -> Any:
    if new_id is None:
        return value
    if isinstance(value, str):
        return value.replace("$ID", new_id)
    if isinstance(value, list):
        return [substitute(v, new_id) for v in value]
    if isinstance(value, dict):
        return {substitute(k, new_id): substitute(v, new_id) for k, v in value.items()}
    return value


def norm(value: Any, ordered: bool) -> Any:
    if isinstance(value, list) and not ordered:
        return sorted(value, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def compare(scn: dict[str, Any], resp: dict[str, Any], setup: Setup) -> list[str]:
    exp = scn.get("expect", {})
    result = resp.get("result") or {}
    new_id = result.get("id") if isinstance(result, dict) and isinstance(result.get("id"), str) else None
    exp = substitute(exp, new_id)
    problems: list[str] = []
    status = resp.get("status")
    if "status" in exp and status != exp["status"]:
        problems.append(f"status: expected {exp['status']!r}, got {status!r} ({resp.get('message', '')!r})")
    if "message_contains" in exp and exp["message_contains"].lower() not in str(resp.get("message", "")).lower():
        problems.append(f"message: expected to contain {exp['message_contains']!r}, got {resp.get('message')!r}")
    for key, want in exp.get("result", {}).items():
        if key not in result:
            problems.append(f"result.{key}: expected {want!r}, missing from the response")
            continue
        got = result[key]
        ordered = key.endswith("_ordered")
        if norm(got, ordered) != norm(want, ordered):
            problems.append(f"result.{key}: expected {want!r}, got {got!r}")
    for key, names in exp.get("bytes_of", {}).items():
        want_bytes = sum(setup.sizes[n] for n in names)
        if result.get(key) != want_bytes:
            problems.append(f"result.{key}: expected {want_bytes} (the sizes of {names}), got {result.get(key)!r}")
    for key, names in exp.get("bytes_each", {}).items():
        got = result.get(key) if isinstance(result.get(key), dict) else {}
        want = {n: setup.sizes[n] for n in names}
        if got != want:
            problems.append(f"result.{key}: expected {want} (each session's size), got {result.get(key)!r}")
    for rel in exp.get("exists", []):
        if not os.path.lexists(setup.root / rel):
            problems.append(f"{rel} should exist in the root, does not")
    for rel in exp.get("absent", []):
        if os.path.lexists(setup.root / rel):
            problems.append(f"{rel} should not exist in the root, does")
    events = resp.get("events")
    if events is not None:
        for name in exp.get("events", []):
            if name not in events:
                problems.append(f"event {name!r} not emitted (got {events})")
        for name in exp.get("events_absent", []):
            if name in events:
                problems.append(f"event {name!r} emitted but must not be")
    for key, hidden in (("remaining", False), ("remaining_all", True)):
        if key in exp:
            got_names = setup.remaining(hidden)
            if sorted(exp[key]) != got_names:
                problems.append(f"{key}: expected {sorted(exp[key])}, on disk {got_names}")
    for rel, want_mode in exp.get("modes", {}).items():
        try:
            got_mode = os.lstat(setup.root / rel).st_mode & 0o7777
        except FileNotFoundError:
            problems.append(f"{rel}: expected mode {want_mode}, missing")
            continue
        if got_mode != int(want_mode, 8):
            problems.append(f"{rel}: expected mode {want_mode}, got {got_mode:04o}")
    for sid, want_fields in exp.get("record_fields", {}).items():
        try:
            rec = json.loads((setup.root / HOST / "sessions" / sid).read_text())
        except (OSError, ValueError) as e:
            problems.append(f"record of {sid}: unreadable ({e})")
            continue
        for key, want in want_fields.items():
            got = rec.get(key, "absent")
            if want == "present" and got != "absent":
                continue
            if got != want:
                problems.append(f"record of {sid}: {key} expected {want!r}, got {got!r}")
    if exp.get("outside_intact") and not (setup.base / "outside" / "precious.txt").is_file():
        problems.append("a file outside the root was deleted")
    return problems


# ----------------------------------------------------------------- main


def load_scenarios(pattern: str) -> list[dict[str, Any]]:
    out = []
    for path in sorted((HERE / "scenarios").glob("*.json")):
        if not fnmatch.fnmatch(path.stem, pattern) and not fnmatch.fnmatch(path.name, pattern):
            continue
        scn = json.loads(path.read_text())
        if scn.get("name") != path.stem:
            raise SystemExit(f"{path}: name {scn.get('name')!r} must be the file name")
        out.append(scn)
    return out


# As root, file modes do not stop reads (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
# the runners are then started without those two capabilities (setpriv,
# util-linux), so that an "unreadable" session is unreadable to them too, as
# it is to the unprivileged runtime that wsprune serves.
DROP_DAC = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search", "--"]


def can_drop_dac() -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run([*DROP_DAC, "true"], capture_output=True)
    return probe.returncode == 0


def needs_non_root(scn: dict[str, Any], dropped: bool) -> bool:
    """An unreadable session cannot be set up for a runner that can read anything."""
    return (
        os.geteuid() == 0
        and not dropped
        and any(s.get("metadata") == "unreadable" for s in scn.get("setup", {}).get("sessions", []))
    )


def run_surface(surface: str, scenarios: list[dict[str, Any]], verbose: bool) -> tuple[int, int, int]:
    cmd, _ = SURFACES[surface]
    dropped = can_drop_dac()
    runner = Runner(surface, DROP_DAC + cmd if dropped else cmd)
    passed = failed = inexpressible = 0
    try:
        for scn in scenarios:
            name = scn["name"]
            if needs_non_root(scn, dropped):
                print(f"  {surface} {name}: skipped: root (mode 000 does not stop root, and setpriv cannot drop CAP_DAC_*)")
                continue
            base = Path(tempfile.mkdtemp(prefix=f"wsprune-conf-{surface}-"))
            setup = None
            try:
                setup = Setup(base, scn.get("setup", {}))
                # `root_suffix` (a NUL, a lone surrogate) makes the root a
                # string that names no directory: it never reaches the runner's op.
                op = absolute_times({k: v for k, v in scn["op"].items() if k != "root_suffix"}, datetime.now(timezone.utc))
                request = {"root": str(setup.root) + scn["op"].get("root_suffix", ""), "op": op}
                resp = runner.ask(request)
                setup.release()
                if "not_expressible" in resp:
                    inexpressible += 1
                    if verbose:
                        print(f"  {surface} {name}: not expressible: {resp['not_expressible']}")
                    continue
                problems = compare(scn, resp, setup)
            finally:
                if setup is not None:
                    setup.unmount()
                for dirpath, dirnames, _ in os.walk(base):
                    for d in dirnames:
                        p = os.path.join(dirpath, d)
                        if not os.path.islink(p):
                            os.chmod(p, 0o700)
                shutil.rmtree(base, ignore_errors=True)
            if problems:
                failed += 1
                print(f"FAIL {surface} {name}:")
                for p in problems:
                    print(f"    {p}")
            else:
                passed += 1
                if verbose:
                    print(f"  {surface} {name}: ok")
    finally:
        runner.stop()
    return passed, failed, inexpressible


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--surface", action="append", choices=sorted(SURFACES), help="repeatable; default: every available")
    ap.add_argument("--scenario", default="*", help="glob over scenario names")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every scenario's outcome")
    args = ap.parse_args()
    os.umask(0o022)  # the runners inherit it: `modes` expectations assume it
    scenarios = load_scenarios(args.scenario)
    if not scenarios:
        print(f"no scenario matches {args.scenario!r}", file=sys.stderr)
        return 2
    surfaces = args.surface or list(SURFACES)
    any_failed = False
    lines = []
    start = time.monotonic()
    for surface in surfaces:
        _, required = SURFACES[surface]
        missing = [f for f in required if not (REPO / f).exists()]
        if missing:
            if args.surface:  # asked for explicitly: missing is a failure
                print(f"conformance {surface}: runner missing ({', '.join(missing)})", file=sys.stderr)
                any_failed = True
            else:
                lines.append(f"conformance {surface}: not available (no {', '.join(missing)})")
            continue
        p, f, k = run_surface(surface, scenarios, args.verbose)
        any_failed |= f > 0
        lines.append(f"conformance {surface}: {p} passed, {f} failed, {k} not expressible")
    for line in lines:
        print(line)
    print(f"({len(scenarios)} scenarios, {time.monotonic() - start:.1f} s)", file=sys.stderr)
    return 1 if any_failed else 0


if __name__ == "__main__":
    sys.exit(main())
