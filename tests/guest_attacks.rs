//! Guests attacking the host's calls: create-or-open, custom ids, list and
//! read, the checked open, the deletion walk, the workspace lock. Each test
//! is a guest (another user, working inside its own session directory, as
//! SECURITY.md's threat model allows). Hostile processes are Python scripts
//! run as `nobody`, with bounded lifetimes; tests that need root or Python
//! print `SKIPPED <test>: <why>`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::du_bytes;
use wsprune::{PruneOptions, Status};

#[path = "prune_support/mod.rs"]
mod support;

const NOBODY: u32 = 65534;

/// Why a hostile guest cannot be run here, if it cannot.
fn cannot_run_guest() -> Option<String> {
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (to run the guest as another user)".into());
    }
    match Command::new("python3").arg("-c").arg("pass").status() {
        Ok(s) if s.success() => None,
        _ => Some("needs python3".into()),
    }
}

/// A guest process: `script` runs as `nobody` with its current directory in
/// `session`, prints `ready` once its attack is in place, then holds it for
/// at most `hold` seconds. Killed when dropped.
struct Guest(Child);

impl Guest {
    fn start(session: &Path, script: &str, hold: u64) -> Guest {
        let prelude = format!(
            "import os, sys, fcntl, signal, time, ctypes, struct  # (before setuid: the interpreter may live where nobody can read)\n\
             os.chdir(sys.argv[1])\n\
             os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})\n"
        );
        let full = format!("{prelude}{script}\nprint('ready', flush=True)\ntime.sleep({hold})\n");
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(full)
            .arg(session)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn python3");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the guest could not set up its attack");
        Guest(child)
    }
}

impl Guest {
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

/// A root as an operator makes it with wsprune (mode 0755 from the default
/// umask), holding a custom-id session and a UUID session, both old.
fn root_with_sessions(tmp: &Path) -> (std::path::PathBuf, String, String) {
    let root = tmp.join("root");
    let custom = wsprune::create_session(&root, Some("guest-a")).unwrap();
    let other = wsprune::create_session(&root, None).unwrap();
    for id in [&custom, &other] {
        // Aged by their host-owned records (what a prune decides on); the
        // mirrors say the same, as the host's own touches would leave them.
        let record = root.join(".wsprune/sessions").join(id);
        let text = std::fs::read_to_string(&record).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let created = v["created_at"].as_str().unwrap();
        let old = text.replace(created, "2000-01-01T00:00:00.000000Z");
        std::fs::write(&record, &old).unwrap();
        let meta = root.join(id).join(".metadata.json");
        std::fs::remove_file(&meta).unwrap();
        std::fs::write(&meta, old).unwrap();
    }
    // The guest works in its session (as the runtime sets it up for it).
    chown(&root.join(&custom), NOBODY);
    (root, custom, other)
}

fn chown(p: &Path, uid: u32) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    assert_eq!(unsafe { libc::lchown(c.as_ptr(), uid, uid) }, 0);
}

/// Denial of service against every other session: the workspace
/// lock is a `flock` on the root directory itself, and the root is
/// world-readable (wsprune creates it 0755, as most operators do). A guest
/// opens `..` from its session and takes a shared `flock` on it: every prune
/// of the root is then `BUSY` for as long as the guest likes, so no other
/// session is ever pruned. SECURITY.md promises a guest "cannot prevent
/// other sessions from being pruned".
///
/// Fixed for roots wsprune creates: they are made 0711, so a guest can reach
/// its session but cannot open the root. A root the operator made readable
/// by guests stays exposed (SECURITY.md says so); a lock file the host alone
/// can open would close that too.
#[test]
fn a_guest_flock_on_a_root_wsprune_made_blocks_no_prune() {
    const TEST: &str = "a_guest_flock_on_a_root_wsprune_made_blocks_no_prune";
    if let Some(why) = cannot_run_guest() {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (root, custom, other) = root_with_sessions(tmp.path());
    let _guest = Guest::start(
        &root.join(&custom),
        // The root wsprune created is 0711: the guest may not open it (the fix).
        "try:\n    fd = os.open('..', os.O_RDONLY | os.O_DIRECTORY)\n    fcntl.flock(fd, fcntl.LOCK_SH)\nexcept PermissionError:\n    pass",
        30,
    );
    let opts = PruneOptions {
        older_than_hours: Some(1.0),
        lock_timeout: Duration::from_secs(2),
        ..PruneOptions::default()
    };
    let r = wsprune::prune_sessions(&root, &opts);
    assert!(
        r.is_ok(),
        "a guest's lock on the root blocked the prune: {:?}",
        r.err().map(|e| e.status())
    );
    assert!(
        !root.join(&other).exists(),
        "the other guest's old session was not pruned"
    );
}

/// A guest running `script` in its session of a root the operator made
/// readable by guests (0755), on a filesystem out of inodes where the host
/// directory's lock file cannot be made (a prune then locks the root
/// directory itself, as wsprune 0.3 did, and a guest can hold that lock);
/// returns the message of the prune that is then `BUSY`, the guest's pid, the
/// root and another session's id. `None` (printed) when guests cannot be run
/// or a tmpfs cannot be mounted. Guarded by the returned TempDir.
type Busy = (String, u32, PathBuf, String, Guest, Unmounted);

/// A tmpfs unmounted (after the guest is gone) before its TempDir is removed.
struct Unmounted(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl Drop for Unmounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn busy_message_with_guest(test: &str, script: &str) -> Option<Busy> {
    if let Some(why) = cannot_run_guest() {
        eprintln!("SKIPPED {test}: {why}");
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fs = tmp.path().join("fs");
    std::fs::create_dir(&fs).unwrap();
    if !run(
        "mount",
        &[
            "-t".as_ref(),
            "tmpfs".as_ref(),
            "-o".as_ref(),
            "size=1m,nr_inodes=48".as_ref(),
            "tmpfs".as_ref(),
            fs.as_os_str(),
        ],
    ) {
        eprintln!("SKIPPED {test}: cannot mount a tmpfs");
        return None;
    }
    let (root, custom, other) = root_with_sessions(&fs);
    // Out of inodes, the workspace lock file gone: the root directory is the lock.
    let mut n = 0;
    while std::fs::write(fs.join(format!("fill{n}")), b"").is_ok() {
        n += 1;
    }
    std::fs::remove_file(root.join(".wsprune/lock")).unwrap();
    std::fs::write(fs.join("fill-last"), b"").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&fs, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = format!("{script}\nfd = os.open('..', os.O_RDONLY | os.O_DIRECTORY)\nfcntl.flock(fd, fcntl.LOCK_SH)");
    let guest = Guest::start(&root.join(&custom), &script, 30);
    let pid = guest.0.id();
    let e = wsprune::prune_sessions(&root, &busy_opts()).unwrap_err();
    assert_eq!(e.status(), Status::Busy, "{e:?}");
    Some((e.message().to_owned(), pid, root, other, guest, Unmounted(fs, tmp)))
}

fn busy_opts() -> PruneOptions {
    PruneOptions {
        older_than_hours: Some(1.0),
        lock_timeout: Duration::from_millis(300),
        ..PruneOptions::default()
    }
}

/// HOLE 1, the part that stayed open until the workspace lock moved into
/// the host directory: a root the operator made readable by guests (0755
/// here) let a guest hold the workspace lock (a `flock` on the root), and
/// every prune was `BUSY`. The workspace lock is now the host directory's
/// lock file, which no guest can open: the guest's lock on the root decides
/// nothing, and the prune runs at once.
#[test]
fn a_guest_holding_an_operator_made_root_blocks_nothing() {
    const TEST: &str = "a_guest_holding_an_operator_made_root_blocks_nothing";
    if let Some(why) = cannot_run_guest() {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (root, custom, other) = root_with_sessions(tmp.path());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let _guest = Guest::start(
        &root.join(&custom),
        "fd = os.open('..', os.O_RDONLY | os.O_DIRECTORY)\nfcntl.flock(fd, fcntl.LOCK_EX)",
        30,
    );
    let opts = PruneOptions {
        older_than_hours: Some(1.0),
        lock_timeout: Duration::from_millis(300),
        ..PruneOptions::default()
    };
    let r = wsprune::prune_sessions(&root, &opts).expect("a guest's lock on the root blocked the prune");
    assert!(r.deleted_sessions.contains(&other), "{r:?}");
}

/// A prune that times out on the workspace lock names its holders (pid and
/// uid, read from `/proc/locks`): only the host can open the lock file, so
/// the holder is another process of the host (another prune) and the remedy
/// is to wait.
#[test]
fn the_holder_of_the_workspace_lock_is_named_in_the_busy_message() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let other = wsprune::create_session(&root, None).unwrap();
    let lock = root.join(".wsprune/lock");
    assert!(lock.exists(), "created with the first session");
    let mut holder = Command::new("flock")
        .arg("-x")
        .arg(&lock)
        .arg("sleep")
        .arg("30")
        .spawn()
        .expect("flock(1)");
    let deadline = Instant::now() + Duration::from_secs(10);
    // A dry run (shared lock) until flock(1) holds it, then the real prune.
    let probe = PruneOptions {
        older_than_hours: Some(0.0),
        lock_timeout: Duration::from_millis(100),
        dry_run: true,
        ..PruneOptions::default()
    };
    while wsprune::prune_sessions(&root, &probe).is_ok() {
        assert!(Instant::now() < deadline, "the holder never took the lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    let opts = PruneOptions {
        older_than_hours: Some(0.0),
        lock_timeout: Duration::from_millis(300),
        ..PruneOptions::default()
    };
    let e = wsprune::prune_sessions(&root, &opts).unwrap_err();
    assert_eq!(e.status(), Status::Busy, "{e:?}");
    let msg = e.message();
    assert!(msg.contains("wait for it to finish"), "{msg}");
    assert!(!msg.contains("0711"), "the holder is the host's, not a guest: {msg}");
    let pids = [holder.id()];
    assert!(
        pids.iter().any(|p| msg.contains(&p.to_string())) || msg.contains("sleep") || msg.contains("flock"),
        "{msg}"
    );
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(root.join(&other).exists(), "nothing is deleted without the lock");
}

/// A guest that names its process `wsprune, uid 0)` and
/// holds the workspace lock was reported as `pid N (wsprune, uid 0), uid
/// 65534)`, passing for the host's own prune. Holders are now structured
/// fields with the name quoted and escaped, and the remedy follows the
/// holder's uid (which the guest cannot choose), not its name.
#[test]
fn a_guest_named_like_the_host_cannot_pass_for_it_in_the_busy_message() {
    const TEST: &str = "a_guest_named_like_the_host_cannot_pass_for_it_in_the_busy_message";
    // PR_SET_NAME keeps 15 bytes: "wsprune, uid 0)" exactly.
    let script = "ctypes.CDLL(None).prctl(15, b'wsprune, uid 0)', 0, 0, 0)";
    let Some((msg, pid, _root, _, guest, _tmp)) = busy_message_with_guest(TEST, script) else {
        return;
    };
    assert!(
        msg.contains(&format!("pid={pid} uid={NOBODY} comm=\"wsprune, uid 0)\"")),
        "{msg}"
    );
    assert!(!msg.contains("(wsprune, uid 0)"), "{msg}");
    assert!(msg.contains("0711") && !msg.contains('\n'), "{msg}");
    drop(guest);
}

/// A stalled host (fixed in src/chase.rs): a guest replaces its `.metadata.json`
/// with a file of its own (it may: SECURITY.md "its own .metadata.json, up to
/// a point") and takes a write lease on it (`F_SETLEASE`, allowed to the
/// file's owner), ignoring `SIGIO`. Every open of the file by the host then
/// blocks until the kernel's lease-break time (45 s by default) runs out:
/// touch, read, info, ls and a prune (holding the workspace lock the whole
/// time, so other prunes are `BUSY`) each stall; with a guest per worker a
/// prune stalls 45 s per round of sessions. The checked open now reopens
/// the verified inode with `O_NONBLOCK`, which makes the kernel answer
/// `EWOULDBLOCK` at once instead of waiting; nothing else changes for a
/// regular file. The guest only makes its own session unreadable (reported,
/// never deleted), which it could already do by corrupting its metadata.
#[test]
fn a_guest_lease_on_its_metadata_stalls_nothing() {
    const TEST: &str = "a_guest_lease_on_its_metadata_stalls_nothing";
    if let Some(why) = cannot_run_guest() {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (root, custom, other) = root_with_sessions(tmp.path());
    // The guest's own copy of the metadata (same content, its own file).
    let meta = root.join(&custom).join(".metadata.json");
    let text = std::fs::read(&meta).unwrap();
    std::fs::remove_file(&meta).unwrap();
    std::fs::write(&meta, &text).unwrap();
    chown(&meta, NOBODY);
    let guest = Guest::start(
        &root.join(&custom),
        "signal.signal(signal.SIGIO, signal.SIG_IGN)\n\
         fd = os.open('.metadata.json', os.O_RDONLY)\n\
         fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)",
        60,
    );
    let quick = |what: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        let took = t.elapsed();
        // Waiting out the lease would take the kernel's lease-break time (45 s
        // by default); 15 s leaves room for a loaded machine.
        assert!(
            took < Duration::from_secs(15),
            "{what} waited {took:?} for the guest's lease on its metadata"
        );
    };
    quick("touch", &mut || {
        let _ = wsprune::touch_session(&root, &custom);
    });
    quick("read_metadata", &mut || {
        let _ = wsprune::read_metadata(&root, &custom);
    });
    quick("info", &mut || {
        let _ = wsprune::session_info(&root, &custom);
    });
    quick("ls", &mut || {
        let list = wsprune::list_sessions(&root, 1).unwrap();
        assert!(list.iter().any(|s| s.session_id == other));
    });
    quick("prune", &mut || {
        let r = wsprune::prune_sessions(&root, &PruneOptions::older_than(1.0, false)).unwrap();
        assert!(r.deleted_sessions.contains(&other), "{r:?}");
        assert!(
            !r.deleted_sessions.contains(&custom),
            "the leased session's metadata was never read"
        );
    });
    drop(guest); // (our own read would wait for the lease too)
    assert!(root.join(&custom).exists());
    assert_eq!(std::fs::read(&meta).unwrap(), text, "the guest's file was not written");
}

/// A deletion kept running (fixed): the guest keeps creating subdirectories in its session
/// (through its current directory, so also once the session is renamed to
/// trash) while the host deletes it. The walk used to restart a directory's
/// listing whenever a pass both removed something and descended, so a guest
/// always a little faster than one pass kept the deletion (and a prune,
/// holding the workspace lock) going for as long as it spun (measured: a 6 s
/// spin kept a deletion running 9 s, a 20 s spin 91 s). A directory is now
/// read at most `remove::MAX_PASSES` times, and a deletion leaves every
/// entry born after it began (a guest cannot set a birth time), so that one
/// pass ends however fast the guest is: the deletion is a partial one (`IO`,
/// "partly deleted"), and the next prune finishes the trash.
#[test]
fn guest_creating_directories_cannot_keep_a_deletion_running() {
    const TEST: &str = "guest_creating_directories_cannot_keep_a_deletion_running";
    if let Some(why) = cannot_run_guest() {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (root, custom, _other) = root_with_sessions(tmp.path());
    const SPIN: u64 = 45;
    let mut guest = Guest::start(
        &root.join(&custom),
        &format!(
            "print('ready', flush=True)\n\
             end = time.time() + {SPIN}\n\
             i = 0\n\
             while time.time() < end:\n\
             \x20   i += 1\n\
             \x20   try:\n\
             \x20       os.mkdir('d%d' % i)\n\
             \x20       os.mkdir('d%d/e' % i)\n\
             \x20   except OSError:\n\
             \x20       pass\n\
"
        ),
        0,
    );
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let r = wsprune::delete_session(&root, &custom, None);
    let took = t.elapsed();
    eprintln!(
        "delete took {took:?}: {:?}",
        r.as_ref().map_err(|e| e.message().to_owned())
    );
    // Before the fix a deletion never ended while the guest spun (and then
    // not until it had caught up); now it ends after a bounded number of passes.
    assert!(
        guest.running(),
        "the guest kept the deletion running for {took:?}, as long as it spun"
    );
    match &r {
        Ok(_) => {}
        Err(e) => assert!(
            e.status() == Status::Io && e.message().contains("partly deleted"),
            "{e:?}"
        ),
    }
    assert!(!root.join(&custom).exists(), "the session was moved to trash");
    drop(guest);
    // What the guest added is finished by the next prune, as leftover trash.
    let p = wsprune::prune_sessions(&root, &PruneOptions::older_than(1000.0, false)).unwrap();
    assert_eq!(p.interrupted.len(), usize::from(r.is_err()), "{p:?}");
    let left: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".wsprune-trash"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Python for a guest: `order(path)`, the names of a directory in the
/// order the filesystem returns them (getdents64), `.` and `..` left out.
const ORDER: &str = "libc = ctypes.CDLL(None, use_errno=True)\n\
def order(path):\n\
\x20   fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY); buf = ctypes.create_string_buffer(1 << 16); out = []\n\
\x20   while True:\n\
\x20       n = libc.syscall(217, fd, buf, len(buf))\n\
\x20       if n <= 0: break\n\
\x20       p = 0\n\
\x20       while p < n:\n\
\x20           rl = struct.unpack_from('H', buf.raw, p + 16)[0]\n\
\x20           nm = buf.raw[p + 19:p + rl].split(b'\\0')[0].decode(); p += rl\n\
\x20           if nm not in ('.', '..'): out.append(nm)\n\
\x20   os.close(fd); return out\n";

/// Ends a guest (after a moment for its last lines) and returns what it printed.
fn guest_output(mut guest: Guest) -> String {
    std::thread::sleep(Duration::from_millis(100));
    let _ = guest.0.kill();
    let mut text = String::new();
    std::io::Read::read_to_string(guest.0.stdout.as_mut().unwrap(), &mut text).unwrap();
    text // (dropping the guest reaps it)
}

/// The guest part of the rename-revisit attack: it lays out names in its
/// session in the filesystem's reading order (ext4 returns entries in hash
/// order, and the guest can list its own directory), makes directory `D`
/// (holding `m` one-byte files) under the first of every other name, and
/// each time the host opens `D` (inotify `IN_OPEN`) renames it to the next
/// such name, ahead of the position the host's walk will resume reading at.
/// With `fill`, a child process adds `m` more files to `D` once the host
/// starts deleting. Prints `visit <k>` after each rename, and `listed` when
/// the host read `D`'s entries (inotify `IN_ACCESS`) between two opens.
fn revisit_guest(k: usize, m: usize, fill: bool) -> String {
    format!(
        "{ORDER}\
         for i in range(2 * {k} + 2): open('n%d' % i, 'w').close()\n\
         targets = [n for n in order('.') if n.startswith('n')][::2]\n\
         for t in targets: os.unlink(t)\n\
         D = targets[0]; os.mkdir(D)\n\
         for i in range({m}): open(D + '/p%d' % i, 'w').write('x')\n\
         dfd = os.open(D, os.O_RDONLY | os.O_DIRECTORY)\n\
         ino = libc.inotify_init()\n\
         libc.inotify_add_watch(ino, D.encode(), 0x20 | 0x01)\n\
         print('ready', flush=True)\n\
         k = 0; filled = not {fill}; listed = False\n\
         while k + 1 < len(targets):\n\
         \x20   b = os.read(ino, 4096); p = 0\n\
         \x20   while p < len(b) and k + 1 < len(targets):\n\
         \x20       wd, mask, ck, ln = struct.unpack_from('iIII', b, p); p += 16 + ln\n\
         \x20       if mask & 0x01: listed = True\n\
         \x20       if not mask & 0x20: continue\n\
         \x20       if listed: print('listed', flush=True)\n\
         \x20       listed = False\n\
         \x20       if not filled:\n\
         \x20           filled = True\n\
         \x20           if os.fork() == 0:\n\
         \x20               for i in range({m}): os.close(os.open('q%d' % i, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=dfd))\n\
         \x20               os._exit(0)\n\
         \x20       k += 1; os.rename(targets[k - 1], targets[k])\n\
         \x20       print('visit', k, flush=True)\n",
        fill = if fill { "True" } else { "False" },
    )
}

/// REVISIT (found by an independent attack review; fixed in src/remove.rs):
/// a guest renames a directory each time the walk enters it, to a name
/// ahead of the walk's reading position (see [`revisit_guest`]), so that one
/// pass finds and enters it again and again: measured, an `info` stalled
/// 34 s and a prune 31 s (holding the workspace lock) for as long as the
/// guest had names prepared, and a measurement counted the directory once
/// per visit. A rename sets the directory's ctime, which the guest cannot
/// set back: a measurement now enters a directory changed after the walk
/// began at most once, and a deletion never enters one. Each revisit then
/// costs an open and a stat, as one more entry would. Only ext4's hash
/// order lets the guest aim the rename; elsewhere the test still passes.
#[test]
fn a_directory_renamed_ahead_of_the_walk_is_not_walked_again() {
    const TEST: &str = "a_directory_renamed_ahead_of_the_walk_is_not_walked_again";
    if let Some(why) = cannot_run_guest() {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    const K: usize = 150;
    // Large enough that one visit of D outlasts a clock tick (see below).
    const M: usize = 5000;
    // (renames, visits in which D was listed) as the guest saw them.
    let visits = |guest: Guest| -> (usize, usize) {
        let text = guest_output(guest);
        let count = |what: &str| text.lines().filter(|l| l.starts_with(what)).count();
        (count("visit "), count("listed"))
    };

    // A measurement (info; ls, dry runs, the capacity scan and repair walk
    // the same way) counts D's M bytes a few times at most: once as it was
    // when the walk began, once renamed, and as often as it is renamed within
    // the clock tick in which the walk began (a change then may get a ctime
    // from before the walk's start: timestamps are taken from a coarse clock);
    // before the fix it was counted on every one of the K visits.
    let tmp = tempfile::tempdir().unwrap();
    let (root, custom, _other) = root_with_sessions(tmp.path());
    let guest = Guest::start(&root.join(&custom), &revisit_guest(K, M, false), 0);
    let info = wsprune::session_info(&root, &custom).unwrap();
    let (renamed, listed) = visits(guest);
    let size = info.size_bytes;
    eprintln!(
        "{TEST}: info measured {size} bytes; the guest renamed D {renamed} times, D was listed in {listed} visits"
    );
    // (Sizes are allocated blocks: D's one-byte files take a block each.)
    let total = du_bytes(&root.join(&custom));
    assert!(
        size <= 10 * total,
        "D was measured again and again: {size} bytes, {total} on disk"
    );

    // A deletion never enters D once it was renamed (but for the first
    // clock tick): D, which the guest keeps adding to, is left for the next
    // prune and listed in a few visits at most. (In this layout the old walk
    // did not list D again in a deletion either, so this half only guards
    // the rule; `guest_creating_directories_cannot_keep_a_deletion_running`
    // also takes the deletion's side of it.)
    let tmp = tempfile::tempdir().unwrap();
    let (root, custom, _other) = root_with_sessions(tmp.path());
    let guest = Guest::start(&root.join(&custom), &revisit_guest(K, M, true), 0);
    let t = Instant::now();
    let r = wsprune::delete_session(&root, &custom, None);
    let took = t.elapsed();
    let (renamed, listed) = visits(guest);
    eprintln!("{TEST}: delete took {took:?}; the guest renamed D {renamed} times, D was listed in {listed} visits");
    assert!(
        listed <= 8,
        "D was listed again and again: in {listed} of {renamed} visits"
    );
    if let Err(e) = &r {
        assert_eq!(e.status(), Status::Io, "{e:?}");
        assert!(e.message().contains("partly deleted"), "{e:?}");
    }
    assert!(!root.join(&custom).exists());
}

/// REVISIT, the chain variant (found by a second independent review; fixed
/// in src/remove.rs): the guest builds `B1/B2/…/Bd` with `p` one-byte files
/// at the bottom, and each time the walk opens the bottom (so it is inside
/// every level) renames the next level, top-down, to a name that comes
/// later in the reading order. A renamed level was entered once more (it
/// is changed), but the unchanged levels below it were walked again each
/// time: d × (d + p) work (36 s for an `info` with d = 900, p = 20000) and
/// sizes counted up to d + 1 times. A measurement now enters each directory
/// in or below a changed one once.
#[test]
fn a_chain_renamed_level_by_level_is_not_walked_again() {
    const TEST: &str = "a_chain_renamed_level_by_level_is_not_walked_again";
    if let Some(why) = cannot_run_guest() {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    const D: usize = 40;
    const P: usize = 5000;
    let tmp = tempfile::tempdir().unwrap();
    let (root, custom, _other) = root_with_sessions(tmp.path());
    let script = format!(
        "{ORDER}\
         os.mkdir('scratch')\n\
         for i in range(64): os.mkdir('scratch/c%d' % i)\n\
         o = order('scratch'); lo, hi = o[0], o[-1]\n\
         for i in range(64): os.rmdir('scratch/c%d' % i)\n\
         os.rmdir('scratch')\n\
         fds = [os.open('.', os.O_PATH | os.O_DIRECTORY)]\n\
         for i in range({D}):\n\
         \x20   os.mkdir(lo, 0o755, dir_fd=fds[-1])\n\
         \x20   fds.append(os.open(lo, os.O_PATH | os.O_DIRECTORY, dir_fd=fds[-1]))\n\
         bottom = os.open('.', os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1])\n\
         for i in range({P}):\n\
         \x20   f = os.open('f%d' % i, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=bottom); os.write(f, b'x'); os.close(f)\n\
         ino = libc.inotify_init()\n\
         libc.inotify_add_watch(ino, ('/proc/self/fd/%d' % bottom).encode(), 0x20)\n\
         print('ready', flush=True)\n\
         for i in range({D}):\n\
         \x20   os.read(ino, 65536)\n\
         \x20   os.rename(lo, hi, src_dir_fd=fds[i], dst_dir_fd=fds[i])\n\
         \x20   print('renamed', i + 1, flush=True)\n"
    );
    let guest = Guest::start(&root.join(&custom), &script, 0);
    let info = wsprune::session_info(&root, &custom).unwrap();
    let text = guest_output(guest);
    let renamed = text.lines().filter(|l| l.starts_with("renamed")).count();
    let size = info.size_bytes;
    eprintln!("{TEST}: info measured {size} bytes; the guest renamed {renamed} levels");
    // The bottom at most once, again for renames in the walk's first
    // clock tick (see the test above); before the fix, once per renamed level.
    let total = du_bytes(&root.join(&custom));
    assert!(
        size <= 8 * total,
        "the chain was walked again and again: {size} bytes, {total} on disk"
    );
}

fn run(cmd: &str, args: &[&std::ffi::OsStr]) -> bool {
    Command::new(cmd)
        .args(args)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Unmounts what it names when dropped (lazily, so a failed assertion never leaves a mount).
struct Unmount(Vec<std::path::PathBuf>);

impl Drop for Unmount {
    fn drop(&mut self) {
        for p in self.0.iter().rev() {
            run("umount", &["-l".as_ref(), p.as_os_str()]);
        }
    }
}

/// Create-or-open writes metadata into an existing directory that has none.
/// Every way a guest (or a mount) could bend that write: the session a tmpfs
/// mount point; `.metadata.json` a dangling symlink out of the root, a FIFO
/// (a blocked open would hang), a hard link to an outside file, a file
/// bind-mounted from outside; and every temporary name the write could pick
/// (`.metadata.json.<pid>.<n>.tmp`, predictable) planted as a symlink out.
/// Nothing outside changes, nothing is created outside, the FIFO is never
/// opened, and the call ends.
#[test]
fn create_or_open_never_writes_through_anything_a_guest_planted() {
    const TEST: &str = "create_or_open_never_writes_through_anything_a_guest_planted";
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let precious = outside.join("precious");
    std::fs::write(&precious, b"precious").unwrap();
    let mut unmount = Unmount(Vec::new());
    let legacy = |name: &str| {
        let id = match name {
            "mount" => "00000000-0000-4000-8000-000000000001",
            "dangling" => "00000000-0000-4000-8000-000000000002",
            "fifo" => "00000000-0000-4000-8000-000000000003",
            "hardlink" => "00000000-0000-4000-8000-000000000004",
            "bindfile" => "00000000-0000-4000-8000-000000000005",
            _ => "00000000-0000-4000-8000-000000000006",
        };
        std::fs::create_dir_all(root.join(id)).unwrap();
        id.to_owned()
    };

    // The session a mount point (a tmpfs, 1 MiB): refused, nothing written into it.
    let mounted = legacy("mount");
    // SAFETY: geteuid takes nothing and cannot fail.
    let can_mount = unsafe { libc::geteuid() } == 0
        && run(
            "mount",
            &[
                "-t".as_ref(),
                "tmpfs".as_ref(),
                "-o".as_ref(),
                "size=1m".as_ref(),
                "tmpfs".as_ref(),
                root.join(&mounted).as_os_str(),
            ],
        );
    if can_mount {
        unmount.0.push(root.join(&mounted));
        let e = wsprune::create_or_open_session(&root, Some(&mounted)).unwrap_err();
        assert_eq!(e.status(), Status::Io, "{e:?}");
        assert_eq!(std::fs::read_dir(root.join(&mounted)).unwrap().count(), 0);
    } else {
        eprintln!("SKIPPED {TEST} (mount parts): needs root and mount");
    }

    // Dangling symlink out of the root: a corrupted session, the target never created.
    let dangling = legacy("dangling");
    std::os::unix::fs::symlink(outside.join("created"), root.join(&dangling).join(".metadata.json")).unwrap();
    // FIFO.
    let fifo = legacy("fifo");
    let cfifo = std::ffi::CString::new(root.join(&fifo).join(".metadata.json").to_str().unwrap()).unwrap();
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    assert_eq!(unsafe { libc::mkfifo(cfifo.as_ptr(), 0o666) }, 0);
    // Hard link to a file outside.
    let hard = legacy("hardlink");
    std::fs::hard_link(&precious, root.join(&hard).join(".metadata.json")).unwrap();
    // A file bind-mounted from outside onto .metadata.json.
    let bind = legacy("bindfile");
    let bind_meta = root.join(&bind).join(".metadata.json");
    std::fs::write(&bind_meta, b"").unwrap();
    let bound = can_mount
        && run(
            "mount",
            &["--bind".as_ref(), precious.as_os_str(), bind_meta.as_os_str()],
        );
    if bound {
        unmount.0.push(bind_meta.clone());
    } else {
        std::fs::remove_file(&bind_meta).unwrap();
    }

    let (tx, rx) = std::sync::mpsc::channel();
    let (r2, ids) = (
        root.clone(),
        [dangling.clone(), fifo.clone(), hard.clone(), bind.clone()],
    );
    // Unusable metadata is not a session: refused unless adopted. Adopted, the
    // planted name is replaced by the host's mirror (renamed over, never
    // opened or written through); a bind mount cannot be renamed over (Io).
    let adopt = wsprune::SessionOptions {
        adopt: true,
        ..Default::default()
    };
    std::thread::spawn(move || {
        for id in &ids {
            let r = wsprune::create_or_open_session(&r2, Some(id));
            tx.send((id.clone(), false, r.map_err(|e| e.status()))).unwrap();
        }
        for id in &ids {
            let r = wsprune::create_or_open_session_with(&r2, Some(id), &adopt);
            tx.send((id.clone(), true, r.map_err(|e| e.status()))).unwrap();
        }
    });
    for _ in 0..8 {
        let (id, adopted, r) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("create-or-open hung (a FIFO opened?)");
        match (adopted, &r) {
            (false, r) => assert_eq!(*r, Err(Status::NotFound), "{id}"),
            (true, Err(Status::Io)) if id == bind && bound => {}
            (true, r) => assert_eq!(*r, Ok((id.clone(), false)), "{id}"),
        }
    }
    assert!(!outside.join("created").exists(), "created through a dangling symlink");
    let ft = std::fs::symlink_metadata(root.join(&fifo).join(".metadata.json"))
        .unwrap()
        .file_type();
    assert!(ft.is_file(), "the FIFO was replaced by the mirror, never opened");

    // Every temporary name planted as a symlink out of the root: the write
    // takes a name no one planted, and nothing is created outside.
    let planted = legacy("planted");
    let pid = std::process::id();
    for n in 0..2000 {
        std::os::unix::fs::symlink(
            outside.join(format!("tmp{n}")),
            root.join(&planted).join(format!(".metadata.json.{pid}.{n}.tmp")),
        )
        .unwrap();
    }
    let adopt = wsprune::SessionOptions {
        adopt: true,
        ..Default::default()
    };
    assert_eq!(
        wsprune::create_or_open_session_with(&root, Some(&planted), &adopt).unwrap(),
        (planted.clone(), false)
    );
    assert!(matches!(
        wsprune::read_metadata(&root, &planted).unwrap(),
        wsprune::MetadataState::Valid(_)
    ));
    drop(unmount);
    let names: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("precious")], "created outside");
    assert_eq!(std::fs::read(&precious).unwrap(), b"precious");
    // The hard link in the session was renamed over (nlink 1), never written.
    assert_eq!(
        std::os::unix::fs::MetadataExt::nlink(&std::fs::metadata(&precious).unwrap()),
        1
    );
}

/// FINDING 4 (fixed): leftover trash whose directory a guest holds a
/// `flock` on (its current directory is still the trashed session) was
/// skipped by every prune as "held by another prune" and reported nowhere,
/// so the operator never learnt that the space of a deleted session was
/// still in use. A trash directory that cannot be locked is now left in
/// place and reported as an error under its trash name.
#[test]
fn leftover_trash_locked_by_a_guest_is_reported() {
    const TEST: &str = "leftover_trash_locked_by_a_guest_is_reported";
    if let Some(why) = cannot_run_guest() {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (root, custom, _other) = root_with_sessions(tmp.path());
    let guest = Guest::start(
        &root.join(&custom),
        "fd = os.open('.', os.O_RDONLY | os.O_DIRECTORY)\nfcntl.flock(fd, fcntl.LOCK_SH)",
        30,
    );
    // An interrupted deletion (a crash after the rename to trash) of the guest's session.
    let trash = root.join(".wsprune-trash.1.2.3");
    std::fs::rename(root.join(&custom), &trash).unwrap();
    let name = ".wsprune-trash.1.2.3".to_owned();
    for dry_run in [true, false] {
        let r = wsprune::prune_sessions(&root, &PruneOptions::older_than(1000.0, dry_run)).unwrap();
        assert!(trash.exists());
        assert!(!r.interrupted.contains(&name), "dry run {dry_run}: {r:?}");
        assert!(
            r.errors
                .iter()
                .any(|(k, m)| *k == name && m.contains("locked by another process")),
            "dry run {dry_run}: leftover trash left in place silently: {r:?}"
        );
    }
    // Once the guest lets go, the next prune finishes it.
    drop(guest);
    let r = wsprune::prune_sessions(&root, &PruneOptions::older_than(1000.0, false)).unwrap();
    assert_eq!(r.interrupted, vec![name], "{r:?}");
    assert!(r.errors.is_empty() && !trash.exists(), "{r:?}");
}
