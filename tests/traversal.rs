//! Traversal (explicit stack, bounded descriptors, no opening of
//! non-directories; workspace trees of every shape):
//! a tree 5000 levels deep, FIFOs, sockets, device nodes, odd names, empty
//! directories and 10 000 files in one directory are all deleted and counted
//! exactly, and dry runs measure them without changing anything.

#[path = "prune_support/mod.rs"]
mod support;

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use support::*;
use wsprune::{PruneResult, SkipReason};

const DEPTH: usize = 5000;
const FILE_EVERY: usize = 250;
const FILE_LEN: usize = 10;

fn openat_dir(dir: RawFd, name: &str) -> OwnedFd {
    let c = cstr(name.as_bytes());
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    let fd = unsafe { libc::openat(dir, c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    assert!(fd >= 0, "openat {name}: {}", std::io::Error::last_os_error());
    // SAFETY: the descriptor was just returned by open or openat (checked >= 0) and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn write_at(dir: RawFd, name: &str, len: usize) {
    let c = cstr(name.as_bytes());
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    let fd = unsafe {
        libc::openat(
            dir,
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
            0o644,
        )
    };
    assert!(fd >= 0, "create {name}: {}", std::io::Error::last_os_error());
    // SAFETY: the descriptor was just returned by open or openat (checked >= 0) and nothing else owns it.
    let f = unsafe { OwnedFd::from_raw_fd(fd) };
    let data = vec![b'x'; len];
    assert_eq!(
        // SAFETY: `data` holds `len` readable bytes for the call.
        unsafe { libc::write(f.as_raw_fd(), data.as_ptr().cast(), len) },
        len as isize
    );
}

/// Builds `d/d/d/...` DEPTH levels below `top` through descriptors (the path
/// is far longer than PATH_MAX), with a small file every FILE_EVERY levels
/// and a symlink and a FIFO at the bottom.
fn build_deep(top: &Path) {
    let mut fd = open_dir(top);
    for level in 0..DEPTH {
        let d = cstr(b"d");
        assert_eq!(
            // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
            unsafe { libc::mkdirat(fd.as_raw_fd(), d.as_ptr(), 0o755) },
            0,
            "mkdirat at level {level}"
        );
        if level % FILE_EVERY == 0 {
            write_at(fd.as_raw_fd(), "f", FILE_LEN);
        }
        fd = openat_dir(fd.as_raw_fd(), "d");
    }
    write_at(fd.as_raw_fd(), "bottom", 1234);
    let (target, link, fifo) = (cstr(b"../../f"), cstr(b"link"), cstr(b"fifo"));
    assert_eq!(
        // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
        unsafe { libc::symlinkat(target.as_ptr(), fd.as_raw_fd(), link.as_ptr()) },
        0
    );
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    assert_eq!(unsafe { libc::mkfifoat(fd.as_raw_fd(), fifo.as_ptr(), 0o644) }, 0);
}

/// How many `d` levels there are below `top`, counted through descriptors.
fn depth_of(top: &Path) -> usize {
    let mut fd = open_dir(top);
    let mut n = 0;
    loop {
        let d = cstr(b"d");
        // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
        let next = unsafe {
            libc::openat(
                fd.as_raw_fd(),
                d.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if next < 0 {
            return n;
        }
        // SAFETY: the descriptor was just returned by open or openat (checked >= 0) and nothing else owns it.
        fd = unsafe { OwnedFd::from_raw_fd(next) };
        n += 1;
    }
}

const DEEP_CHILD_ENV: &str = "WSPRUNE_TEST_DEEP_ROOT";
const DEEP_CHILD_DRY: &str = "WSPRUNE_TEST_DEEP_DRY";
/// Descriptor limit of the child: far fewer than the tree's depth.
const CHILD_NOFILE: u64 = 100;
/// Stack of the thread that prunes in the child: a recursive walk of 5000
/// levels would need far more.
const CHILD_STACK: usize = 256 * 1024;

/// A tree 5000 levels deep (paths far beyond PATH_MAX) in a stale session is
/// measured by a dry run and then deleted, in a process limited to 100 open
/// files, on a thread with a 256 KiB stack.
#[test]
fn deep_tree_is_measured_and_deleted_without_stack_or_fd_exhaustion() {
    if let Ok(root) = std::env::var(DEEP_CHILD_ENV) {
        let dry = std::env::var(DEEP_CHILD_DRY).unwrap() == "1";
        let lim = libc::rlimit {
            rlim_cur: CHILD_NOFILE,
            rlim_max: CHILD_NOFILE,
        };
        // SAFETY: `lim` is a valid `rlimit` for the call.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
        let r = std::thread::Builder::new()
            .stack_size(CHILD_STACK)
            .spawn(move || prune(Path::new(&root), 24.0, dry))
            .unwrap()
            .join()
            .unwrap();
        print_result(&r);
        return;
    }
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let s = session(&root, 48.0);
    let d = root.join(&s);
    build_deep(&d);
    let expected = du_bytes(&d);
    assert_eq!(depth_of(&d), DEPTH);

    let run = |dry: bool| {
        let out = run_self(
            "deep_tree_is_measured_and_deleted_without_stack_or_fd_exhaustion",
            &[
                (DEEP_CHILD_ENV, root.display().to_string()),
                (DEEP_CHILD_DRY, if dry { "1" } else { "0" }.into()),
            ],
            None,
        )
        .unwrap();
        child_results(&out).remove(0)
    };

    let dry = run(true);
    assert_eq!(json_ids(&dry, "deleted_sessions"), vec![s.clone()], "{dry}");
    assert_eq!(dry["reclaimed_bytes"].as_u64(), Some(expected), "{dry}");
    assert_eq!(dry["errors"], serde_json::json!({}));
    assert_eq!(depth_of(&d), DEPTH, "the dry run deleted part of the tree");

    let real = run(false);
    assert_eq!(json_ids(&real, "deleted_sessions"), vec![s.clone()], "{real}");
    assert_eq!(real["errors"], serde_json::json!({}), "{real}");
    assert_eq!(real["reclaimed_bytes"].as_u64(), Some(expected));
    assert!(names(&root).is_empty(), "left behind: {:?}", names(&root));
}

/// The same deep tree deleted in-process too (the common case: no limits),
/// with read-only directories along the way.
#[test]
fn deep_tree_with_read_only_levels_is_deleted_in_process() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let s = session(&root, 48.0);
    let d = root.join(&s);
    build_deep(&d);
    let expected = du_bytes(&d);
    // Make every 100th level read-only, through descriptors.
    let mut fd = open_dir(&d);
    for level in 0..DEPTH {
        let next = openat_dir(fd.as_raw_fd(), "d");
        if level % 100 == 0 {
            // SAFETY: takes no pointers; a bad descriptor would only be an error.
            assert_eq!(unsafe { libc::fchmod(next.as_raw_fd(), 0o500) }, 0);
        }
        fd = next;
    }
    drop(fd);
    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![s], "{:?}", r.errors);
    assert_eq!(r.reclaimed_bytes, expected);
    assert!(names(&root).is_empty());
}

/// Runs a prune on another thread and fails (instead of hanging) if it does not finish.
fn prune_with_timeout(root: &Path, hours: f64, dry_run: bool) -> PruneResult {
    let (tx, rx) = mpsc::channel();
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(prune(&root, hours, dry_run));
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the prune hung (did it open a FIFO?) or panicked")
}

/// FIFOs, a unix socket, a device node (if mknod works), names with a
/// newline and invalid UTF-8, symlink loops, empty directories: deleted and
/// counted exactly, and a FIFO never blocks the prune.
#[test]
fn special_files_and_odd_names_are_deleted_and_counted() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let s = session(&root, 48.0);
    let d = root.join(&s);
    let c = |p: &Path| cstr(p.as_os_str().as_bytes());

    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    assert_eq!(unsafe { libc::mkfifo(c(&d.join("pipe")).as_ptr(), 0o644) }, 0);
    std::fs::create_dir(d.join("sub")).unwrap();
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    assert_eq!(unsafe { libc::mkfifo(c(&d.join("sub/pipe2")).as_ptr(), 0o600) }, 0);
    let listener = std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap();
    let dev = d.join("null-device");
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    let have_dev = unsafe { libc::mknod(c(&dev).as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3)) } == 0;
    if !have_dev {
        eprintln!(
            "SKIPPED the device-node part of special_files_and_odd_names_are_deleted_and_counted: mknod failed: {}",
            std::io::Error::last_os_error()
        );
    }
    write_file(&d.join("line1\nline2"), 3);
    write_file(&d.join(OsStr::from_bytes(b"bad-\xff\xfe-utf8")), 4);
    std::fs::create_dir(d.join(OsStr::from_bytes(b"dir-\x80\n"))).unwrap();
    write_file(
        &d.join(OsStr::from_bytes(b"dir-\x80\n"))
            .join(OsStr::from_bytes(b"\x01\x02")),
        5,
    );
    write_file(&d.join("-rf"), 6);
    write_file(&d.join(" "), 7);
    write_file(&d.join("..."), 8);
    std::fs::create_dir(d.join("empty")).unwrap();
    std::fs::create_dir_all(d.join("empty-chain/a/b/c")).unwrap();
    symlink("loop", d.join("loop")).unwrap();
    symlink("pipe", d.join("to-pipe")).unwrap();
    symlink("sub", d.join("to-sub")).unwrap();
    symlink("/nonexistent/target", d.join("dangling")).unwrap();
    std::fs::create_dir(d.join(new_id())).unwrap(); // a UUID-named directory inside a session is just content

    let expected = du_bytes(&d);
    assert_eq!(
        tree_bytes(&d),
        expected,
        "the test's own count agrees with du (FIFOs, sockets and devices take no blocks)"
    );
    let before = snapshot(&root);

    let dry = prune_with_timeout(&root, 24.0, true);
    assert_eq!(dry.reclaimed_bytes, expected);
    assert!(dry.errors.is_empty(), "{:?}", dry.errors);
    assert_eq!(snapshot(&root), before);

    let r = prune_with_timeout(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![s], "{:?}", r.errors);
    assert_eq!(r.reclaimed_bytes, expected);
    assert!(names(&root).is_empty());
    drop(listener);
}

/// A `.metadata.json` that is a FIFO is corrupted metadata, and reading it
/// does not block (neither the prune nor a touch).
#[test]
fn metadata_that_is_a_fifo_is_corrupted_and_does_not_hang() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let fifo_id = new_id();
    std::fs::create_dir_all(root.join(&fifo_id)).unwrap();
    let p = cstr(root.join(&fifo_id).join(".metadata.json").as_os_str().as_bytes());
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    assert_eq!(unsafe { libc::mkfifo(p.as_ptr(), 0o600) }, 0);
    let stale = session(&root, 48.0);

    let r = prune_with_timeout(&root, 0.0, false);
    assert_eq!(r.deleted_sessions, vec![stale]);
    assert_eq!(skipped(&r), vec![(fifo_id.clone(), SkipReason::CorruptedMetadata)]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(root.join(&fifo_id).join(".metadata.json").exists());
    let (tx, rx) = mpsc::channel();
    let (root2, id2) = (root.clone(), fifo_id.clone());
    std::thread::spawn(move || {
        let _ = tx.send(wsprune::touch_session(&root2, &id2).map_err(|e| e.to_string()));
    });
    let touched = rx.recv_timeout(Duration::from_secs(30)).expect("touch hung on a FIFO");
    assert!(
        matches!(touched, Ok(wsprune::TouchOutcome::Corrupted(_))),
        "{touched:?}"
    );
}

/// A `.metadata.json` that is a unix socket is unusable metadata like any
/// other non-regular file: skipped "corrupted_metadata" by a prune (not an
/// error), and a touch is OK and leaves it (corrupted metadata is OK for
/// touch).
#[test]
fn metadata_that_is_a_socket_is_corrupted_metadata() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let sock_id = new_id();
    std::fs::create_dir_all(root.join(&sock_id)).unwrap();
    let _l = std::os::unix::net::UnixListener::bind(root.join(&sock_id).join(".metadata.json")).unwrap();
    let stale = session(&root, 48.0);

    let r = prune_with_timeout(&root, 0.0, false);
    assert_eq!(r.deleted_sessions, vec![stale]);
    assert!(
        r.errors.is_empty(),
        "a socket as metadata should be skipped as corrupted, not an error: {:?}",
        r.errors
    );
    assert_eq!(skipped(&r), vec![(sock_id.clone(), SkipReason::CorruptedMetadata)]);
    let touched = wsprune::touch_session(&root, &sock_id);
    assert!(
        matches!(touched, Ok(wsprune::TouchOutcome::Corrupted(_))),
        "{touched:?}"
    );
}

/// 10 000 files in one directory, of varying sizes: all deleted, counted exactly.
#[test]
fn ten_thousand_files_in_one_directory() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let s = session(&root, 48.0);
    let d = root.join(&s);
    std::fs::create_dir(d.join("many")).unwrap();
    for i in 0..10_000usize {
        let len = i % 13;
        std::fs::write(d.join("many").join(format!("file-{i:05}")), vec![b'a'; len]).unwrap();
    }
    let expected = du_bytes(&d);
    let dry = prune(&root, 24.0, true);
    assert_eq!(dry.reclaimed_bytes, expected);
    assert_eq!(std::fs::read_dir(d.join("many")).unwrap().count(), 10_000);
    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![s]);
    assert_eq!(r.reclaimed_bytes, expected);
    assert!(names(&root).is_empty());
}

/// reclaimed_bytes counts allocated blocks, so a sparse file counts what it
/// takes on disk, not its length (a guest's `truncate -s 1G` frees nothing).
#[test]
fn sparse_file_counts_its_blocks_not_its_length() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let s = session(&root, 48.0);
    let f = std::fs::File::create(root.join(&s).join("sparse.img")).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    let expected = du_bytes(&root.join(&s));
    assert!(expected < 1 << 20, "{expected}");
    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![s]);
    assert_eq!(r.reclaimed_bytes, expected);
    assert!(!r.summary().ends_with("GB"), "{}", r.summary());
}
