//! Every caller (prune, delete, repair, touch,
//! acquire, read, info, ls) opens a session and its metadata through the one
//! checked path (src/chase.rs).
//!
//! - A session directory that is a mount point (a bind mount of an
//!   outside directory with its own `.metadata.json`) is refused by every
//!   caller, and nothing behind the mount changes (repair used to replace
//!   the foreign file, touch to write into it).
//! - A `.metadata.json` that is not a regular file is never opened:
//!   a FIFO's blocked writer stays blocked through touch, read, info, ls,
//!   lease touch, prune and repair; a device node gets no open (inotify
//!   `IN_OPEN` on the node stays silent).
//! - A touch that a prune overtakes (the session moved to trash
//!   between touch's open and its write, made deterministic with the touch
//!   hook) is `NOT_FOUND`, never success.
//!
//! Tests that need root or `mount` print `SKIPPED <test>: <why>` where the
//! machine does not allow it.

#[path = "prune_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::*;
use wsprune::{MetadataState, SessionState, SkipReason, Status, TouchOutcome};

fn cpath(p: &Path) -> std::ffi::CString {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap()
}

// ------------------------------------------------------------ mounts

/// Two sessions are bind mounts of directories outside the root, one
/// holding valid foreign metadata (what touch would write into), one
/// corrupted foreign metadata (what repair would replace). touch, acquire,
/// read_metadata and info are `IO` errors naming the mount point; ls lists
/// them as unreadable; repair reports them as errors and writes nothing;
/// prune and delete leave them in place. The outside directories are byte
/// for byte what they were, and an ordinary session beside them works.
#[test]
fn session_that_is_a_mount_point_is_refused_by_every_caller() {
    const TEST: &str = "session_that_is_a_mount_point_is_refused_by_every_caller";
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let _unmount = UnmountAll(tmp.path().to_path_buf());
    if let Err(why) = bind_mount_works(tmp.path()) {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    let (valid, corrupt) = (new_id(), new_id());
    // Foreign metadata: valid (and old, so a prune would want it) in one, garbage in the other.
    session_at(&outside, &valid, 100.0);
    std::fs::create_dir_all(outside.join(&corrupt)).unwrap();
    write_metadata_raw(&outside.join(&corrupt), "foreign data, not wsprune's");
    std::fs::write(outside.join(&corrupt).join("precious"), b"outside the root").unwrap();
    let before = snapshot(&outside);
    for id in [&valid, &corrupt] {
        std::fs::create_dir_all(root.join(id)).unwrap();
        bind_mount(&outside.join(id), &root.join(id));
    }
    let normal = session(&root, 100.0);

    for id in [&valid, &corrupt] {
        let is_refused = |what: &str, r: Result<(), wsprune::Error>| {
            let e = r.expect_err(&format!("{what} of a mount point must fail"));
            assert_eq!(e.status(), Status::Io, "{what}: {e}");
            assert!(e.message().contains("mount point"), "{what}: {e}");
        };
        is_refused("touch", wsprune::touch_session(&root, id).map(drop));
        is_refused("acquire", wsprune::acquire(&root, id).map(drop));
        is_refused("read_metadata", wsprune::read_metadata(&root, id).map(drop));
        is_refused("info", wsprune::session_info(&root, id).map(drop));
        is_refused("delete", wsprune::delete_session(&root, id, None).map(drop));
    }
    let listed = wsprune::list_sessions(&root, 2).unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    for info in &listed {
        if info.session_id == normal {
            assert_eq!(info.state, SessionState::Ok);
        } else {
            assert_eq!(info.state, SessionState::Unreadable, "{info:?}");
            assert!(
                info.problem.as_deref().unwrap_or("").contains("mount point"),
                "{info:?}"
            );
        }
    }
    for dry_run in [true, false] {
        let r = wsprune::repair_sessions(&root, dry_run).unwrap();
        assert!(r.repaired.is_empty(), "{r:?}");
        let mut failed: Vec<&String> = r.errors.iter().map(|(id, _)| id).collect();
        failed.sort();
        let mut want = vec![&valid, &corrupt];
        want.sort();
        assert_eq!(failed, want, "{r:?}");
        assert!(r.errors.iter().all(|(_, m)| m.contains("mount point")), "{r:?}");
    }
    assert_eq!(snapshot(&outside), before, "something behind a mount was changed");

    // The ordinary session is touched and pruned as usual; the mounts stay.
    assert!(matches!(
        wsprune::touch_session(&root, &normal),
        Ok(TouchOutcome::Updated(_))
    ));
    let r = prune(&root, 0.0, false);
    assert_eq!(r.deleted_sessions, vec![normal.clone()], "{r:?}");
    assert_eq!(r.errors.len(), 2, "{r:?}");
    assert!(r.errors.iter().all(|(_, m)| m.contains("mount point")), "{r:?}");
    assert_eq!(snapshot(&outside), before, "something behind a mount was changed");
    for id in [&valid, &corrupt] {
        umount(&root.join(id));
    }
}

// ------------------------------------------------- special metadata

/// A thread blocked opening a FIFO for writing; `released()` tells whether
/// anything opened the FIFO for reading since.
struct BlockedWriter {
    fifo: PathBuf,
    released: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BlockedWriter {
    fn start(fifo: &Path) -> BlockedWriter {
        let released = Arc::new(AtomicBool::new(false));
        let (flag, path) = (released.clone(), cpath(fifo));
        let thread = std::thread::spawn(move || {
            // Blocks until a reader opens the FIFO.
            // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
            let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
            flag.store(true, Ordering::SeqCst);
            if fd >= 0 {
                // SAFETY: takes no pointers; a bad descriptor would only be an error.
                unsafe { libc::close(fd) };
            }
        });
        // Give the writer time to block in open(2).
        std::thread::sleep(Duration::from_millis(200));
        assert!(!released.load(Ordering::SeqCst), "nothing has opened the FIFO yet");
        BlockedWriter {
            fifo: fifo.to_path_buf(),
            released,
            thread: Some(thread),
        }
    }

    fn assert_still_blocked(&self, after: &str) {
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            !self.released.load(Ordering::SeqCst),
            "{after} opened the FIFO .metadata.json (its blocked writer was released)"
        );
    }
}

impl Drop for BlockedWriter {
    fn drop(&mut self) {
        // Release the writer ourselves so the thread ends.
        let c = cpath(&self.fifo);
        // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if fd >= 0 {
            // SAFETY: takes no pointers; a bad descriptor would only be an error.
            unsafe { libc::close(fd) };
        }
    }
}

/// `.metadata.json` is a FIFO with a writer blocked in open(2)
/// (opening the FIFO for reading, or read-write, would release it). touch,
/// lease touch, read_metadata, info, ls, a dry run, a prune and a dry-run
/// repair all report the metadata as unusable and the writer stays blocked.
#[test]
fn metadata_that_is_a_fifo_is_never_opened() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let id = legacy_session(&root);
    let fifo = root.join(&id).join(".metadata.json");
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    assert_eq!(unsafe { libc::mkfifo(cpath(&fifo).as_ptr(), 0o600) }, 0);
    let writer = BlockedWriter::start(&fifo);

    match wsprune::touch_session(&root, &id).unwrap() {
        TouchOutcome::Corrupted(m) => assert!(m.contains("not a regular file"), "{m}"),
        other => panic!("touch of a FIFO metadata: {other:?}"),
    }
    writer.assert_still_blocked("touch");
    let lease = wsprune::acquire(&root, &id).unwrap();
    assert!(matches!(lease.touch().unwrap(), TouchOutcome::Corrupted(_)));
    drop(lease);
    writer.assert_still_blocked("a lease's touch");
    assert!(matches!(
        wsprune::read_metadata(&root, &id).unwrap(),
        MetadataState::Invalid(_)
    ));
    writer.assert_still_blocked("read_metadata");
    assert_eq!(
        wsprune::session_info(&root, &id).unwrap().state,
        SessionState::Corrupted
    );
    writer.assert_still_blocked("info");
    let listed = wsprune::list_sessions(&root, 1).unwrap();
    assert_eq!(listed[0].state, SessionState::Corrupted);
    writer.assert_still_blocked("ls");
    for dry_run in [true, false] {
        let r = prune(&root, 0.0, dry_run);
        assert_eq!(skipped(&r), vec![(id.clone(), SkipReason::CorruptedMetadata)]);
        writer.assert_still_blocked("prune");
    }
    // Capacity rules take the scan path (read without the lock, then re-read under it).
    let mut o = wsprune::PruneOptions::older_than(0.0, false);
    o.max_sessions = Some(1);
    let r = wsprune::prune_sessions(&root, &o).unwrap();
    assert_eq!(skipped(&r), vec![(id.clone(), SkipReason::CorruptedMetadata)]);
    writer.assert_still_blocked("a prune with a count rule");
    let r = wsprune::repair_sessions(&root, true).unwrap();
    assert_eq!(r.repaired.len(), 1, "{r:?}");
    writer.assert_still_blocked("repair");
}

/// Device nodes (as root): `.metadata.json` is a character device
/// (the null device's numbers). An inotify watch for `IN_OPEN` on the node
/// sees every open of it (the kernel reports none for `O_PATH`, which
/// opens nothing). touch, read, info, ls, prune and repair's check report
/// the metadata as unusable, and no open is seen.
#[test]
fn metadata_that_is_a_device_node_is_never_opened() {
    const TEST: &str = "metadata_that_is_a_device_node_is_never_opened";
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let id = legacy_session(&root);
    let node = root.join(&id).join(".metadata.json");
    let c = cpath(&node);
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    if unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3)) } != 0 {
        eprintln!("SKIPPED {TEST}: mknod: {}", std::io::Error::last_os_error());
        return;
    }
    // SAFETY: takes no pointers.
    let ino = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    assert!(ino >= 0, "inotify_init1: {}", std::io::Error::last_os_error());
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    assert!(unsafe { libc::inotify_add_watch(ino, c.as_ptr(), libc::IN_OPEN) } >= 0);
    let opens = || {
        let mut buf = [0u8; 4096];
        // SAFETY: `buf` is `buf.len()` writable bytes for the call.
        let n = unsafe { libc::read(ino, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        n > 0
    };
    // The probe works: an open of the node is seen.
    drop(std::fs::File::open(&node).unwrap());
    assert!(opens(), "inotify did not report an open of the node");

    assert!(matches!(
        wsprune::touch_session(&root, &id).unwrap(),
        TouchOutcome::Corrupted(_)
    ));
    assert!(!opens(), "touch opened the device node");
    assert!(matches!(
        wsprune::read_metadata(&root, &id).unwrap(),
        MetadataState::Invalid(_)
    ));
    assert!(!opens(), "read_metadata opened the device node");
    assert_eq!(
        wsprune::session_info(&root, &id).unwrap().state,
        SessionState::Corrupted
    );
    assert_eq!(
        wsprune::list_sessions(&root, 1).unwrap()[0].state,
        SessionState::Corrupted
    );
    assert!(!opens(), "info or ls opened the device node");
    let r = prune(&root, 0.0, false);
    assert_eq!(skipped(&r), vec![(id.clone(), SkipReason::CorruptedMetadata)]);
    assert!(!opens(), "prune opened the device node");
    assert_eq!(wsprune::repair_sessions(&root, true).unwrap().repaired.len(), 1);
    assert!(!opens(), "repair opened the device node");
    // SAFETY: takes no pointers; a bad descriptor would only be an error.
    unsafe { libc::close(ino) };
}

// ------------------------------------------------ touch vs deletion

/// The session the touch hook moves to trash, as a prune would, between the
/// touch's open and its write.
static VICTIM: Mutex<Option<(PathBuf, String)>> = Mutex::new(None);

fn move_victim_to_trash(id: &str) {
    let victim = VICTIM.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((root, vid)) = victim.as_ref() {
        if vid == id {
            let trash = root.join(format!(".wsprune-trash.{id}.{}.1", std::process::id()));
            std::fs::rename(root.join(id), trash).unwrap();
        }
    }
}

/// A prune moves the session to trash while touch is between its
/// open and its write (the touch hook does the prune's rename at exactly
/// that point, every run). The touch is `NOT_FOUND`, in the in-place path
/// (canonical metadata) and in the rewrite path (the Python layout), and the
/// session is not brought back. The same touch without the rename succeeds.
#[test]
fn touch_overtaken_by_a_prune_is_not_found() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    wsprune::session::set_touch_hook(Some(move_victim_to_trash));
    let python = |id: &str| {
        format!(
            r#"{{"session_id": "{id}", "created_at": "2020-01-01T00:00:00+00:00", "updated_at": "2020-01-01T00:00:00+00:00"}}"#
        )
    };
    for layout in ["canonical", "python"] {
        let id = session(&root, 10.0);
        if layout == "python" {
            write_metadata_raw(&root.join(&id), &python(&id));
        }
        // Control: not overtaken, the touch succeeds.
        assert!(
            matches!(wsprune::touch_session(&root, &id), Ok(TouchOutcome::Updated(_))),
            "{layout}"
        );
        *VICTIM.lock().unwrap() = Some((root.clone(), id.clone()));
        if layout == "python" {
            write_metadata_raw(&root.join(&id), &python(&id));
        }
        let r = wsprune::touch_session(&root, &id);
        *VICTIM.lock().unwrap() = None;
        let e = r.expect_err(&format!("{layout}: touch of a session moved to trash reported success"));
        assert_eq!(e.status(), Status::NotFound, "{layout}: {e}");
        assert!(!root.join(&id).exists(), "{layout}: the session came back");
        assert!(
            trash_of(&root, &id).is_some(),
            "{layout}: the trash is where the prune put it"
        );
    }
    wsprune::session::set_touch_hook(None);
}
