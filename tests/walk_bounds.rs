//! Walks a guest cannot outrun, and whose memory it cannot grow. A guest
//! (a process running as `nobody` in its own session) creates directories
//! as fast as it can while a walk of its session runs slowed down (strace
//! delays each statx by 1 ms, a walker with a thousandth of a core): `info`
//! (a measurement, as the dry run and the capacity scan make) and `rm` (a
//! deletion) each end, within the bound src/remove.rs states, while the
//! guest is still creating. And a guest that keeps changing a directory of
//! 150 000 subdirectories during `info` no longer grows its memory.
//! Everything on a private tmpfs.

#[path = "prune_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

const NOBODY: u32 = 65534;

/// Why the guest, the tmpfs or the slowed walker cannot be had here, if so.
fn cannot_run() -> Option<String> {
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (a tmpfs, and a guest running as another user)".into());
    }
    for tool in ["python3", "strace"] {
        if Command::new(tool).arg("-V").output().is_err() {
            return Some(format!("needs {tool}"));
        }
    }
    None
}

/// A private tmpfs, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(options: &str) -> Tmpfs {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("fs");
        mount_tmpfs(&dir, options).unwrap();
        Tmpfs { dir, _tmp: tmp }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        umount(&self.dir);
    }
}

/// The guest: `script` runs as `nobody` in `session`; started once it printed `ready`. Killed when dropped.
struct Guest(Child);

impl Guest {
    fn start(session: &Path, script: &str) -> Guest {
        let full = format!(
            "import os, sys, time, ctypes  # (before setuid: nobody may not read the interpreter's modules)\nos.chdir(sys.argv[1])\nos.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})\n{script}"
        );
        let mut child = Command::new("python3")
            .args(["-c", &full])
            .arg(session)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.as_mut().unwrap()), &mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the guest did not start");
        Guest(child)
    }

    fn running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A session `guest` in `root` that the guest owns.
fn guest_session(root: &Path) -> PathBuf {
    let id = wsprune::create_session(root, Some("guest")).unwrap();
    let s = root.join(id);
    std::os::unix::fs::chown(&s, Some(NOBODY), Some(NOBODY)).unwrap();
    s
}

/// The CLI with each statx delayed by `delay_us`.
fn slowed_cli(delay_us: u32, args: &[&str]) -> Command {
    let mut cmd = Command::new("strace");
    let inject = format!("inject=statx:delay_enter={delay_us}");
    cmd.args([
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "--seccomp-bpf",
        "-e",
        "trace=statx",
        "-e",
        &inject,
    ])
    .arg(env!("CARGO_BIN_EXE_wsprune"))
    .args(args);
    cmd
}

#[test]
fn a_guest_creating_directories_cannot_outrun_a_slowed_walk() {
    const TEST: &str = "a_guest_creating_directories_cannot_outrun_a_slowed_walk";
    if let Some(why) = cannot_run() {
        return eprintln!("SKIPPED {TEST}: {why}");
    }
    let _serial = exclusive();
    // The session holds L directories when the walk begins; the guest then
    // (once the walker opens the session: inotify IN_OPEN) creates N more
    // in it as fast as it can (tens of thousands a second:
    // each lands after the others in tmpfs's reading order), in the
    // session directory itself (the walk's start, which changes all the
    // time in a live session, so no ctime rule keeps the walk out of it).
    const L: usize = 500;
    const N: usize = 100_000;
    let script = format!(
        "for i in range({L}): os.mkdir('s%d' % i)\n\
         libc = ctypes.CDLL(None); ino = libc.inotify_init()\n\
         libc.inotify_add_watch(ino, b'.', 0x20)\n\
         print('ready', flush=True)\n\
         os.read(ino, 4096)\n\
         for i in range({L}, {L} + {N}): os.mkdir('s%d' % i)\n\
         print('done', flush=True)\n\
         time.sleep(600)\n"
    );
    // The bound (src/remove.rs): a pass over the session directory handles
    // at most the entries it held when the pass began (L and the few the
    // guest added while the walk started, plus 3), each costing at most two
    // delayed statx calls (1 ms each); a deletion makes at most two passes
    // here. So each walk takes a few seconds at most; 30 s leaves room for
    // a loaded machine. Before, it visited every directory the guest
    // created (N delayed statx calls: 100 s and more).
    for cmd in ["info", "rm"] {
        let fs = Tmpfs::mount("size=16m,nr_inodes=150000");
        let root = fs.dir.join("ws");
        let session = guest_session(&root);
        let guest = Guest::start(&session, &script);
        let t = Instant::now();
        let out = slowed_cli(1000, &[cmd, root.to_str().unwrap(), "guest"])
            .output()
            .unwrap();
        let took = t.elapsed();
        let made = std::fs::read_dir(&root).unwrap().count();
        drop(guest);
        eprintln!(
            "{TEST}: {cmd} took {took:?} ({made} entries in the root after): {} {}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        assert!(took < Duration::from_secs(30), "{cmd} ran {took:?}");
    }
}

/// The guest keeps changing `t/` (a file created and removed, over and over)
/// while `info` measures its session: `t/` and its 150 000 subdirectories
/// were then entered with each one's inode remembered (33 bytes each, +5 MiB
/// here); now a directory changed after the walk began is not entered, and
/// memory stays flat.
#[test]
fn a_guest_changing_a_directory_does_not_grow_a_measurements_memory() {
    const TEST: &str = "a_guest_changing_a_directory_does_not_grow_a_measurements_memory";
    const ROOT: &str = "WSPRUNE_WALK_MEM_ROOT";
    if let Ok(root) = std::env::var(ROOT) {
        let before = peak_rss_kib();
        let info = wsprune::session_info(Path::new(&root), "guest").unwrap();
        let grew = peak_rss_kib() - before;
        println!(
            "\n{RESULT_MARKER}{}",
            serde_json::json!({"grew_kib": grew, "size": info.size_bytes})
        );
        return;
    }
    if let Some(why) = cannot_run() {
        return eprintln!("SKIPPED {TEST}: {why}");
    }
    let _serial = exclusive();
    let fs = Tmpfs::mount("size=16m,nr_inodes=250000");
    let root = fs.dir.join("ws");
    let session = guest_session(&root);
    let t = session.join("t");
    std::fs::create_dir(&t).unwrap();
    for i in 0..150_000 {
        std::fs::create_dir(t.join(format!("{i}"))).unwrap();
    }
    // 30 000 files the walk reads first (tmpfs lists the newest entry
    // first), so that it reaches `t/` a clock tick or more after it began:
    // a change in the tick the walk began in may carry an earlier ctime.
    std::fs::create_dir(session.join("a")).unwrap();
    for i in 0..30_000 {
        std::fs::File::create(session.join("a").join(format!("{i}"))).unwrap();
    }
    std::os::unix::fs::chown(&t, Some(NOBODY), Some(NOBODY)).unwrap();
    let mut guest = Guest::start(
        &session,
        "print('ready', flush=True)\n\
         end = time.time() + 900\n\
         while time.time() < end:\n\
         \x20   os.close(os.open('t/x', os.O_CREAT | os.O_WRONLY)); os.unlink('t/x')\n",
    );
    let out = run_self(TEST, &[(ROOT, root.display().to_string())], None).unwrap();
    let v = &child_results(&out)[0];
    assert!(guest.running());
    let grew = v["grew_kib"].as_i64().unwrap();
    eprintln!("{TEST}: peak memory grew by {grew} KiB ({v})");
    assert!(grew < 2048, "info's memory grew by {grew} KiB");
}
