//! `wsprune watch`, run as the binary on private tmpfs mounts: it reacts to
//! a writer within an interval, keeps to the low watermark, stops on SIGTERM
//! after the session under way (exit 0, nothing half deleted), speaks
//! systemd's notify protocol (READY, STATUS, WATCHDOG, STOPPING) and refuses
//! what it cannot run. Mounting needs root: skipped, saying so, otherwise.

#[path = "prune_support/mod.rs"]
mod support;

use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;
use wsprune::FsUsage;

const MIB: usize = 1 << 20;

fn wsprune() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wsprune"))
}

fn watch(root: &Path, args: &[&str]) -> Child {
    wsprune()
        .arg("watch")
        .arg(root)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// SIGTERM, then the exit status and what it printed.
fn stop(mut child: Child) -> (i32, String, String) {
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "watch did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status.code().unwrap_or(-1), out, err)
}

fn used(root: &Path) -> u64 {
    FsUsage::of_root(root).unwrap().used_bytes()
}

/// A session `age_hours` old holding one file of `bytes` bytes.
fn sized_session(root: &Path, age_hours: f64, bytes: usize) -> String {
    let id = session(root, age_hours);
    write_file(&root.join(&id).join("blob"), bytes);
    id
}

#[test]
fn watch_keeps_a_filling_filesystem_within_one_intervals_writes_of_the_high_watermark() {
    let _serial = exclusive(); // mounts
    let Some(fs) = tmpfs("size=64m") else { return };
    let root = &fs.root;
    let size = FsUsage::of_root(root).unwrap().size_bytes;
    let interval = Duration::from_millis(250);
    let metrics_dir = tempfile::tempdir().unwrap();
    let metrics = metrics_dir.path().join("wsprune.prom");
    let child = watch(
        root,
        &[
            "--metrics-file",
            metrics.to_str().unwrap(),
            "--no-age-rule",
            "--high-watermark",
            "60%",
            "--low-watermark",
            "40%",
            "--min-age",
            "0",
            "--interval",
            "250ms",
        ],
    );
    // A writer at a steady 16 MiB/s: a new 1 MiB session every 62.5 ms, for
    // 4 s (64 MiB written into a 64 MiB filesystem), sampling the usage
    // between writes.
    let rate = 16 * MIB as u64; // bytes per second
    let (mut peak, mut sessions) = (0u64, 0);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        let due = start + Duration::from_millis(62) * sessions;
        if Instant::now() >= due {
            sized_session(root, 0.0, MIB);
            sessions += 1;
        }
        peak = peak.max(used(root));
        std::thread::sleep(Duration::from_millis(5));
    }
    let (code, out, err) = stop(child);
    assert_eq!(code, 0, "{err}");
    let high = size * 60 / 100;
    let per_interval = rate * interval.as_millis() as u64 / 1000;
    eprintln!(
        "peak {:.1} MiB, high watermark {:.1} MiB, one interval's writes {:.1} MiB",
        peak as f64 / MIB as f64,
        high as f64 / MIB as f64,
        per_interval as f64 / MIB as f64
    );
    // One interval's writes, plus a quarter second's (the pass's own time,
    // and a late wake-up on a loaded machine) and the session being written
    // when the check ran. Without watch the writer would fill all 64 MiB.
    let slack = rate / 4 + MIB as u64;
    assert!(
        peak <= high + per_interval + slack,
        "peak {peak} above high {high} + one interval's writes {per_interval}\n{out}{err}"
    );
    assert!(out.contains(": watermark pass at "), "{out}");
    assert!(sessions >= 60, "the writer fell behind: {sessions} sessions");
    // Hysteresis: each pass went down to the low mark, so there were far
    // fewer passes than checks.
    let passes = out.matches("watermark pass").count();
    assert!((2..=10).contains(&passes), "{passes} passes:\n{out}");
    // The metrics file was written after the passes: the last one's outcome.
    let text = std::fs::read_to_string(&metrics).unwrap();
    let deleted_by_last = out.lines().last().unwrap().split("Pruned ").nth(1).unwrap();
    let n: u64 = deleted_by_last.split(' ').next().unwrap().parse().unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("wsprune_prune_last_deleted_sessions{") && l.contains("rule=\"watermark\""))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.ends_with(&format!(" {n}")), "{line} after {deleted_by_last}");
    assert!(text.contains("wsprune_prune_last_success{"), "{text}");
}

#[test]
fn sigterm_finishes_the_session_under_way_and_exits_0_leaving_nothing_half_deleted() {
    let _serial = exclusive(); // mounts
    let Some(fs) = tmpfs("size=16m,nr_inodes=200000") else {
        return;
    };
    let root = &fs.root;
    let files = 3000;
    let ids: Vec<String> = (0..40)
        .map(|i| {
            let id = session(root, 48.0 + f64::from(i));
            for f in 0..files {
                std::fs::write(root.join(&id).join(format!("f{f}")), b"").unwrap();
            }
            id
        })
        .collect();
    let child = watch(root, &["--older-than", "24h", "--jobs", "1"]);
    // Stop it while its first pass deletes.
    let start = Instant::now();
    while names(root).len() > ids.len() - 2 {
        assert!(start.elapsed() < Duration::from_secs(20), "no deletion began");
        std::thread::sleep(Duration::from_millis(2));
    }
    let (code, _out, err) = stop(child);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("ended by SIGTERM"), "{err}");
    let left = names(root);
    assert!(!left.is_empty() && left.len() < ids.len(), "{} left", left.len());
    for name in &left {
        assert!(
            !name.starts_with(".wsprune-trash"),
            "a deletion was left half done: {name}"
        );
        let n = std::fs::read_dir(root.join(name)).unwrap().count();
        assert_eq!(n, files + 1, "{name} lost files without being deleted");
    }
}

#[test]
fn watch_speaks_the_systemd_notify_protocol() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir(&root).unwrap();
    let sock_path = tmp.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let child = wsprune()
        .arg("watch")
        .arg(&root)
        .args(["--interval", "100ms"])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "200000")
        .env_remove("WATCHDOG_PID")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    while !(seen.contains("READY=1") && seen.matches("WATCHDOG=1").count() >= 3) {
        assert!(start.elapsed() < Duration::from_secs(10), "{seen}");
        let n = sock.recv(&mut buf).unwrap();
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("STATUS=watching "), "{seen}");
    assert!(seen.contains("age pass: Pruned 0 sessions"), "{seen}");
    let (code, _out, err) = stop(child);
    assert_eq!(code, 0, "{err}");
    let mut rest = String::new();
    sock.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    while let Ok(n) = sock.recv(&mut buf) {
        rest.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(rest.contains("STOPPING=1"), "{rest}");
}

#[test]
fn watch_refuses_what_it_cannot_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for (args, code, says) in [
        (vec!["--interval", "0"], 64, "at least 100ms"),
        // Far beyond any deadline a clock can hold: refused, not a panic.
        (vec!["--interval", "200000000000000d"], 64, "at most 365d"),
        (vec!["--age-every", "400d"], 64, "at most 365d"),
        (vec!["--low-watermark", "80%"], 64, "--high-watermark"),
        (vec!["--high-watermark", "80%", "--low-watermark", "90%"], 64, "above"),
        (vec!["--no-age-rule"], 64, "no rule"),
    ] {
        let o = wsprune().arg("watch").arg(root).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(code), "{args:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains(says), "{args:?}: {o:?}");
    }
    let o = wsprune().arg("watch").arg(root.join("missing")).output().unwrap();
    assert_eq!(o.status.code(), Some(66));
}
