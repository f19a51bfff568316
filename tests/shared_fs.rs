//! Shared filesystems are never silently unsafe: on a real FUSE mount
//! (bindfs), a directory `flock` stays on this host, so prune and delete
//! refuse the root unless single-host use is declared, which proceeds with a
//! `workspace.shared_filesystem` warning event. Needs bindfs and /dev/fuse
//! (`.ci/run` installs bindfs and fuse3).

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use wsprune::shared_fs::{filesystem_of, LockReach};
use wsprune::{create_session, DeleteOptions, Event, PruneOptions, Status};

/// The process-wide event handler and the mounts: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// A bindfs view `mount` of the local directory `backing`, unmounted when dropped.
struct BindFs {
    _tmp: tempfile::TempDir,
    backing: PathBuf,
    mount: PathBuf,
}

impl BindFs {
    fn new() -> BindFs {
        let tmp = tempfile::Builder::new().prefix("fleet-bindfs").tempdir().unwrap();
        let backing = tmp.path().join("backing");
        let mount = tmp.path().join("mount");
        std::fs::create_dir(&backing).unwrap();
        std::fs::create_dir(&mount).unwrap();
        let status = Command::new("bindfs")
            .arg(&backing)
            .arg(&mount)
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run bindfs ({e}): install it (apt-get install bindfs fuse3; .ci/run does)")
            });
        assert!(
            status.success(),
            "bindfs {} {} failed: {status}",
            backing.display(),
            mount.display()
        );
        BindFs {
            _tmp: tmp,
            backing,
            mount,
        }
    }
}

impl Drop for BindFs {
    fn drop(&mut self) {
        let ok = Command::new("fusermount")
            .arg("-u")
            .arg(&self.mount)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
        }
    }
}

fn flock(f: &File, op: libc::c_int) -> bool {
    // SAFETY: flock on a descriptor `f` keeps open; no memory is passed.
    unsafe { libc::flock(f.as_raw_fd(), op | libc::LOCK_NB) == 0 }
}

/// Collects the events emitted while it lives.
struct Events(Arc<Mutex<Vec<Event>>>);

impl Events {
    fn capture() -> Events {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        wsprune::events::set_handler(Some(Arc::new(move |e: &Event| sink.lock().unwrap().push(e.clone()))));
        Events(seen)
    }

    fn named(&self, name: &str) -> Vec<Event> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.name == name)
            .cloned()
            .collect()
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        wsprune::events::set_handler(None);
    }
}

/// Sessions created through the backing directory (a local filesystem), so
/// their metadata is written whatever the FUSE layer does with renames.
fn sessions(fs: &BindFs, n: usize) -> Vec<String> {
    (0..n).map(|_| create_session(&fs.backing, None).unwrap()).collect()
}

fn age_zero() -> PruneOptions {
    PruneOptions::older_than(0.0, false)
}

#[test]
fn a_flock_on_fuse_never_reaches_the_filesystem_behind_it() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let fs = BindFs::new();
    std::fs::create_dir(fs.backing.join("d")).unwrap();
    // Control: two opens of one local directory exclude each other.
    let a = File::open(fs.backing.join("d")).unwrap();
    let b = File::open(fs.backing.join("d")).unwrap();
    assert!(flock(&a, libc::LOCK_EX));
    assert!(
        !flock(&b, libc::LOCK_EX),
        "a local flock must exclude another open of the directory"
    );
    assert!(flock(&a, libc::LOCK_UN));
    // Through FUSE: the lock is this kernel's only, so the filesystem behind
    // the mount (the server, for sshfs or JuiceFS) never sees it: another
    // client of it (here, the backing path) takes the same lock at once.
    let via_fuse = File::open(fs.mount.join("d")).unwrap();
    assert!(flock(&via_fuse, libc::LOCK_EX));
    assert!(
        flock(&b, libc::LOCK_EX),
        "a FUSE directory lock reached the filesystem behind it; the shared-filesystem refusal rests on it never doing so"
    );
    assert_eq!(filesystem_of(via_fuse.as_fd()).unwrap().name, "fuse");
    assert_eq!(filesystem_of(via_fuse.as_fd()).unwrap().reach, LockReach::ThisHostOnly);
    // The same for a regular file, what leases lock since 0.4.0
    // (`.wsprune/locks/<id>`): bindfs, as most FUSE daemons, implements no
    // lock forwarding, so the lock stays in this kernel too.
    std::fs::write(fs.backing.join("f"), b"").unwrap();
    let file_via_fuse = File::open(fs.mount.join("f")).unwrap();
    let file_behind = File::open(fs.backing.join("f")).unwrap();
    assert!(flock(&file_via_fuse, libc::LOCK_EX));
    assert!(
        flock(&file_behind, libc::LOCK_EX),
        "a FUSE file lock reached the filesystem behind it"
    );
}

#[test]
fn prune_and_delete_refuse_a_fuse_root_naming_the_filesystem() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let fs = BindFs::new();
    let ids = sessions(&fs, 2);
    let events = Events::capture();

    let e = wsprune::prune_sessions(&fs.mount, &age_zero()).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    for needle in [
        "fuse",
        "flock",
        "another host",
        "single_host",
        "--single-host",
        "refused",
    ] {
        assert!(e.message().contains(needle), "{needle:?} not in: {e}");
    }
    let mut dry = age_zero();
    dry.dry_run = true;
    assert_eq!(
        wsprune::prune_sessions(&fs.mount, &dry).unwrap_err().status(),
        Status::InvalidArgument
    );

    let e = wsprune::delete_session(&fs.mount, &ids[0], None).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    assert!(e.message().contains("a delete here"), "{e}");
    for id in &ids {
        assert!(fs.backing.join(id).is_dir(), "{id} was touched by a refused operation");
    }
    assert!(events.named("session.prune.deleted").is_empty());
    assert!(events.named("workspace.shared_filesystem").is_empty());
}

/// Until the core falls back from `renameat2(RENAME_NOREPLACE)`, which FUSE
/// refuses with EINVAL, a real deletion through bindfs fails at the move to
/// trash (an error for that session, not a refusal of the root); a dry run
/// needs no rename. Either way the root is not refused.
fn deleted_or_rename_refused(r: wsprune::Result<u64>) -> bool {
    match r {
        Ok(bytes) => bytes > 0,
        Err(e) => e.status() == Status::Io && e.message().contains("Invalid argument"),
    }
}

#[test]
fn declared_single_host_proceeds_with_a_warning_event() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let fs = BindFs::new();
    let ids = sessions(&fs, 3);
    let events = Events::capture();

    let opts = PruneOptions {
        max_deletions: Some(2),
        single_host: true,
        dry_run: true,
        ..age_zero()
    };
    let r = wsprune::prune_sessions(&fs.mount, &opts).unwrap();
    assert_eq!(r.deleted_sessions.len(), 2, "{r:?}");
    let warned = events.named("workspace.shared_filesystem");
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].level, wsprune::Level::Warning);
    assert_eq!(warned[0].fields["filesystem"], "fuse");
    assert_eq!(warned[0].fields["operation"], "prune");
    assert_eq!(warned[0].fields["workspace_root"], fs.mount.to_string_lossy().as_ref());

    let opts = DeleteOptions {
        single_host: true,
        ..Default::default()
    };
    let r = wsprune::delete_session_with(&fs.mount, &ids[0], &opts);
    assert!(deleted_or_rename_refused(r.clone()), "{r:?}");
    let warned = events.named("workspace.shared_filesystem");
    assert_eq!(warned.len(), 2);
    assert_eq!(warned[1].fields["operation"], "delete");
}

#[test]
fn a_local_root_proceeds_without_a_warning() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let dir = File::open(tmp.path()).unwrap();
    assert_eq!(filesystem_of(dir.as_fd()).unwrap().reach, LockReach::Everywhere);
    let id = create_session(tmp.path(), None).unwrap();
    let events = Events::capture();
    let r = wsprune::prune_sessions(tmp.path(), &age_zero()).unwrap();
    assert_eq!(r.deleted_sessions, vec![id]);
    assert!(events.named("workspace.shared_filesystem").is_empty());
}

#[test]
fn the_cli_refuses_then_proceeds_with_single_host_and_says_so() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let fs = BindFs::new();
    let ids = sessions(&fs, 2);
    let wsprune = |args: &[&str], root: &Path| {
        Command::new(env!("CARGO_BIN_EXE_wsprune"))
            .args(args)
            .arg(root)
            .args(if args[0] == "rm" { vec![ids[1].as_str()] } else { vec![] })
            .output()
            .unwrap()
    };
    let out = wsprune(&["prune", "--older-than", "0s"], &fs.mount);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("is on fuse") && err.contains("--single-host"), "{err}");
    assert!(fs.backing.join(&ids[0]).exists());

    let out = wsprune(
        &["prune", "--older-than", "0s", "--dry-run", "--single-host"],
        &fs.mount,
    );
    let (stdout, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{err}");
    assert!(err.contains("warning:") && err.contains("--single-host"), "{err}");
    assert!(stdout.contains("Would prune 2 sessions"), "{stdout}");

    let out = wsprune(&["rm"], &fs.mount);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("a delete here"), "{err}");
    let out = wsprune(&["rm", "--single-host"], &fs.mount);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning:") && !err.contains("refused"), "{err}");
}

#[test]
fn watch_refuses_a_fuse_root_at_start_unless_single_host_is_declared() {
    use std::io::{BufRead, BufReader};
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let fs = BindFs::new();
    let ids = sessions(&fs, 1);
    let bin = env!("CARGO_BIN_EXE_wsprune");
    let out = Command::new(bin).arg("watch").arg(&fs.mount).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("is on fuse") && err.contains("a watch here"), "{err}");

    // Declared: it runs its first pass (the fresh session is within the 24 h
    // age rule and stays) and stops on SIGTERM with status 0.
    let mut child = Command::new(bin)
        .arg("watch")
        .arg(&fs.mount)
        .args(["--single-host", "--interval", "100ms"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("age pass: Pruned 0 sessions"), "{line}");
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("warning:") && err.contains("--single-host"), "{err}");
    assert!(fs.backing.join(&ids[0]).exists());
}
