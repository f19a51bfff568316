//! Faults from the filesystem and the OS: a full
//! filesystem (no space, no inodes) during create and touch, permission
//! errors for create, touch and acquire as an unprivileged user, EPERM from
//! immutable and append-only files, mounts deep inside a session and on a
//! file, 100 000 entries in one directory, and names with newlines and
//! invalid UTF-8 in the root. Tests that need root, mount or chattr print
//! `SKIPPED <test>: <why>` when the machine does not allow it.
//!
//! Already covered elsewhere (not repeated here): permission errors of a
//! prune (`prune.rs` permission_errors_as_unprivileged_user), immutable
//! files and session directories in a prune (`prune.rs`
//! immutable_file_is_an_error_and_a_later_prune_retries,
//! immutable_session_directory_is_an_error_and_stays_whole), a bind mount
//! inside a session and as the session (`prune.rs`
//! bind_mount_inside_session_is_an_error_and_its_contents_survive,
//! session_directory_that_is_a_mount_point_is_an_error), odd names inside a
//! session (`traversal.rs` special_files_and_odd_names_are_deleted_and_counted),
//! 10 000 files (`traversal.rs` ten_thousand_files_in_one_directory), a
//! metadata write failure through RLIMIT_FSIZE (`session_ops.rs`).
//!
//! Also here: a panic injected inside the library (through a panicking
//! event handler) reaches a C caller as WSPRUNE_STATUS_PANIC, and leaves
//! nothing half-done.

#[path = "prune_support/mod.rs"]
mod support;

use std::ffi::OsStr;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use support::*;
use wsprune::metadata::METADATA_FILE;
use wsprune::{Event, MetadataState, PruneOptions, Status, TouchOutcome};

/// Collects events (from every thread of this process) while alive.
struct Events(Arc<Mutex<Vec<Event>>>);

impl Events {
    fn capture() -> Events {
        let seen: Arc<Mutex<Vec<Event>>> = Arc::default();
        let sink = seen.clone();
        wsprune::events::set_handler(Some(Arc::new(move |e: &Event| sink.lock().unwrap().push(e.clone()))));
        Events(seen)
    }

    fn named(&self, name: &str, id: &str) -> Vec<Event> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.name == name && e.fields.get("session_id").and_then(|v| v.as_str()) == Some(id))
            .cloned()
            .collect()
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        wsprune::events::set_handler(None);
    }
}

/// Metadata in the reference Python layout: a touch must rewrite it through a
/// new temporary file (unlike canonical metadata, patched in place).
fn python_session(root: &Path) -> String {
    let id = new_id();
    std::fs::create_dir_all(root.join(&id)).unwrap();
    write_metadata_raw(
        &root.join(&id),
        &format!(
            "{{\"session_id\": \"{id}\", \"created_at\": \"2025-01-01T00:00:00+00:00\", \"updated_at\": \
             \"{}\", \"version\": 1}}",
            hours_ago(0.5).format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        ),
    );
    id
}

fn metadata_bytes(root: &Path, id: &str) -> Vec<u8> {
    std::fs::read(root.join(id).join(METADATA_FILE)).unwrap()
}

/// Fills the filesystem holding `dir`: data until ENOSPC (`inodes` false) or
/// empty files until ENOSPC (`inodes` true).
fn fill(dir: &Path, inodes: bool) {
    use std::io::Write;
    std::fs::create_dir_all(dir).unwrap();
    // Never fill anything but a small private tmpfs: had the mount gone away
    // (or never happened), this would fill the machine's disk.
    let c = cstr(dir.as_os_str().as_encoded_bytes());
    // SAFETY: `libc::statfs` is plain integers, for which all zeroes is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    assert_eq!(
        // SAFETY: the path is a NUL-terminated string and the buffer a valid, writable struct, both for the call.
        unsafe { libc::statfs(c.as_ptr(), &mut st) },
        0,
        "statfs {}",
        dir.display()
    );
    assert_eq!(
        st.f_type,
        libc::TMPFS_MAGIC,
        "refusing to fill {}: not a tmpfs",
        dir.display()
    );
    let total = st.f_blocks as u64 * st.f_bsize as u64;
    assert!(
        total <= 16 << 20,
        "refusing to fill {}: a {total}-byte filesystem",
        dir.display()
    );
    if inodes {
        for i in 0.. {
            match std::fs::File::create(dir.join(format!("i{i}"))) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => return,
                Err(e) => panic!("filling inodes: {e}"),
            }
        }
    }
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        match f.write(&chunk) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => return,
            Err(e) => panic!("filling: {e}"),
        }
    }
}

/// A workspace on a private tmpfs: a canonical session, a Python-layout one
/// and a stale one holding `stale_bytes`. Unmounted (before the temporary
/// directory goes) when dropped.
struct SmallFs {
    _unmount: UnmountAll,
    _tmp: tempfile::TempDir,
    fs: std::path::PathBuf,
    root: std::path::PathBuf,
    canon: String,
    py: String,
    stale: String,
}

impl SmallFs {
    /// The filesystem, the root and the three sessions (copies: `self` must
    /// stay alive, it holds the mount).
    fn parts(&self) -> (std::path::PathBuf, std::path::PathBuf, String, String, String) {
        let s = self;
        (
            s.fs.clone(),
            s.root.clone(),
            s.canon.clone(),
            s.py.clone(),
            s.stale.clone(),
        )
    }
}

/// [`SmallFs`] mounted with `options`, or `None` (after a SKIPPED line) where
/// mounting is not possible.
fn small_fs(test: &str, options: &str, stale_bytes: usize) -> Option<SmallFs> {
    let tmp = tempfile::tempdir().unwrap();
    let unmount = UnmountAll(tmp.path().to_path_buf());
    let fs = tmp.path().join("small");
    if let Err(why) = mount_tmpfs(&fs, options) {
        eprintln!("SKIPPED {test}: {why}");
        return None;
    }
    let root = fs.join("ws");
    let canon = wsprune::create_session(&root, None).unwrap();
    let py = python_session(&root);
    let stale = session(&root, 48.0);
    write_file(&root.join(&stale).join("big"), stale_bytes);
    Some(SmallFs {
        _unmount: unmount,
        _tmp: tmp,
        fs,
        root,
        canon,
        py,
        stale,
    })
}

fn assert_io(e: &wsprune::Error, errno_text: &str, what: &str) {
    assert_eq!(e.status(), Status::Io, "{what}: {e}");
    assert!(
        e.message().contains(errno_text),
        "{what}: message {:?} lacks {errno_text:?}",
        e.message()
    );
}

/// Full filesystem (no free blocks) on a 256 KiB tmpfs.
/// - create: either an I/O error and no session, or (as documented: a
///   metadata write failure does not fail creation) a session without
///   metadata, a `session.metadata.write_failed` warning naming ENOSPC, and
///   no temporary file; never a partial `.metadata.json`;
/// - touch of canonical metadata (in place, no new block) succeeds or is an
///   I/O error, and the file stays valid;
/// - touch of Python-layout metadata (needs a new file) is an I/O error
///   naming ENOSPC, and the file is byte for byte unchanged, no temporary
///   file left;
/// - a prune works on the full filesystem, and afterwards creation and the
///   rewriting touch work again.
#[test]
fn full_filesystem_during_create_and_touch() {
    const TEST: &str = "full_filesystem_during_create_and_touch";
    let _serial = exclusive();
    // Bound as a whole: destructuring it would drop the mount guard and the
    // temporary directory at once, and the test would go on on the real disk.
    let Some(small) = small_fs(TEST, "size=256k,nr_inodes=4096", 64 * 1024) else {
        return;
    };
    let (fs, root, canon, py, stale) = small.parts();
    let events = Events::capture();
    fill(&fs.join("fill"), false);

    let before = names(&root);
    match wsprune::create_session(&root, None) {
        Err(e) => {
            assert_io(&e, "No space left on device", "create on a full filesystem");
            assert_eq!(names(&root), before, "a failed create left something");
            eprintln!("{TEST}: create on a full filesystem failed: {e}");
        }
        Ok(id) => {
            assert_eq!(wsprune::read_metadata(&root, &id).unwrap(), MetadataState::Missing);
            assert!(
                names(&root.join(&id)).is_empty(),
                "half-written files: {:?}",
                names(&root.join(&id))
            );
            let warn = events.named("session.metadata.write_failed", &id);
            assert_eq!(warn.len(), 1, "no write_failed warning for {id}");
            assert!(
                warn[0].fields["error"].as_str().unwrap().contains("No space left"),
                "{:?}",
                warn[0]
            );
            eprintln!("{TEST}: create on a full filesystem made {id} without metadata (warning event)");
            std::fs::remove_dir(root.join(&id)).unwrap();
        }
    }

    let canon_before = metadata_bytes(&root, &canon);
    match wsprune::touch_session(&root, &canon) {
        Ok(TouchOutcome::Updated(t)) => match wsprune::read_metadata(&root, &canon).unwrap() {
            MetadataState::Valid(m) => assert_eq!(m.updated_at, t),
            other => panic!("{other:?}"),
        },
        Err(e) => {
            assert_io(&e, "No space left on device", "in-place touch on a full filesystem");
            assert_eq!(metadata_bytes(&root, &canon), canon_before);
        }
        other => panic!("in-place touch on a full filesystem: {other:?}"),
    }
    assert_eq!(metadata_bytes(&root, &canon).len(), canon_before.len());

    let py_before = metadata_bytes(&root, &py);
    let e = wsprune::touch_session(&root, &py).unwrap_err();
    assert_io(&e, "No space left on device", "rewriting touch on a full filesystem");
    assert_eq!(
        metadata_bytes(&root, &py),
        py_before,
        "the metadata was changed by a failed rewrite"
    );
    assert_eq!(
        names(&root.join(&py)),
        vec![METADATA_FILE.to_owned()],
        "a temporary file was left"
    );

    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![stale]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let id = wsprune::create_session(&root, None).unwrap();
    assert!(matches!(
        wsprune::read_metadata(&root, &id).unwrap(),
        MetadataState::Valid(_)
    ));
    assert!(matches!(
        wsprune::touch_session(&root, &py).unwrap(),
        TouchOutcome::Updated(_)
    ));
}

/// No inodes left (tmpfs with 64 inodes): creating a session (and a
/// new root) is an I/O error naming ENOSPC and leaves nothing; a rewriting
/// touch is an I/O error and leaves the metadata unchanged; an in-place
/// touch and a lease need no inode and work; a prune works.
#[test]
fn no_inodes_left_during_create_and_touch() {
    const TEST: &str = "no_inodes_left_during_create_and_touch";
    let _serial = exclusive();
    // Bound as a whole: destructuring it would drop the mount guard and the
    // temporary directory at once, and the test would go on on the real disk.
    let Some(small) = small_fs(TEST, "size=4m,nr_inodes=64", 10) else {
        return;
    };
    let (fs, root, canon, py, stale) = small.parts();
    fill(&fs.join("fill"), true);

    let before = snapshot(&fs.join("ws"));
    assert_io(
        &wsprune::create_session(&root, None).unwrap_err(),
        "No space left on device",
        "create without inodes",
    );
    assert_io(
        &wsprune::create_session(&fs.join("other-root"), None).unwrap_err(),
        "No space left on device",
        "create of a new root without inodes",
    );
    assert!(!exists(&fs.join("other-root")));
    let e = wsprune::touch_session(&root, &py).unwrap_err();
    assert_io(&e, "No space left on device", "rewriting touch without inodes");
    assert_eq!(
        snapshot(&fs.join("ws")),
        before,
        "a failed operation changed the workspace"
    );

    assert!(matches!(
        wsprune::touch_session(&root, &canon).unwrap(),
        TouchOutcome::Updated(_)
    ));
    let lease = wsprune::acquire(&root, &canon).unwrap();
    assert!(matches!(lease.release(true).unwrap(), Some(TouchOutcome::Updated(_))));
    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![stale]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

const PERM_ROOT: &str = "WSPRUNE_FAULTS_PERM_ROOT";

/// Permission errors for the session operations (the prune's are in
/// prune.rs), as uid 65534 in a root owned by root: creating a session (and
/// a root) is an I/O error naming EACCES; touching a session whose metadata
/// it may not write (0600 and 0644, owned by root) or inside a 0700
/// directory is an I/O error; reading unreadable metadata is an I/O error;
/// a lease on a readable session works, and when the touch of its release
/// fails the error is reported and the lease is released anyway; a lease on
/// an unreadable session is an I/O error. Nothing in the root changes.
#[test]
fn permission_errors_for_create_touch_and_acquire_as_unprivileged_user() {
    const TEST: &str = "permission_errors_for_create_touch_and_acquire_as_unprivileged_user";
    if let Ok(root) = std::env::var(PERM_ROOT) {
        let root = Path::new(&root);
        let ids: Vec<String> = std::env::var("WSPRUNE_FAULTS_IDS")
            .unwrap()
            .split(',')
            .map(String::from)
            .collect();
        let (private, readable, closed) = (&ids[0], &ids[1], &ids[2]);
        let show = |op: &str, r: Result<String, wsprune::Error>| {
            let (status, message) = match r {
                Ok(v) => ("ok".to_owned(), v),
                Err(e) => (e.status().name().to_owned(), e.message().to_owned()),
            };
            println!(
                "{RESULT_MARKER}{}",
                serde_json::json!({"op": op, "status": status, "message": message})
            );
        };
        show("create", wsprune::create_session(root, None));
        show("create_with_id", wsprune::create_session(root, Some(&new_id())));
        show(
            "create_root",
            wsprune::create_session(&root.parent().unwrap().join("other"), None),
        );
        for (name, id) in [
            ("touch_private", private),
            ("touch_readable", readable),
            ("touch_closed", closed),
        ] {
            show(name, wsprune::touch_session(root, id).map(|o| format!("{o:?}")));
        }
        show(
            "read_private",
            wsprune::read_metadata(root, private).map(|s| format!("{s:?}")),
        );
        show(
            "read_readable",
            wsprune::read_metadata(root, readable).map(|s| format!("{s:?}").chars().take(5).collect()),
        );
        show("acquire_closed", wsprune::acquire(root, closed).map(|_| String::new()));
        show(
            "acquire_release",
            wsprune::acquire(root, readable)
                .and_then(|l| l.release(false))
                .map(|o| format!("{o:?}")),
        );
        show(
            "release_touch",
            wsprune::acquire(root, readable).and_then(|l| l.release(true).map(|o| format!("{o:?}"))),
        );
        let dir = std::fs::File::open(root.join(readable)).unwrap();
        // SAFETY: takes no pointers; a bad descriptor would only be an error.
        let free = unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        show("unlocked_after_failed_release", Ok(free.to_string()));
        return;
    }
    let Some(setup) = unprivileged_setup(TEST) else {
        return;
    };
    let root = setup.root.clone();
    let private = wsprune::create_session(&root, None).unwrap();
    let readable = wsprune::create_session(&root, None).unwrap();
    let meta = root.join(&readable).join(METADATA_FILE);
    std::fs::set_permissions(&meta, std::fs::Permissions::from_mode(0o644)).unwrap();
    let closed = wsprune::create_session(&root, None).unwrap();
    std::fs::set_permissions(root.join(&closed), std::fs::Permissions::from_mode(0o700)).unwrap();
    for d in [&root, &root.join(&private), &root.join(&readable)] {
        open_up(d, 0o755);
    }
    let before = snapshot(&root);

    let out = run_self(
        TEST,
        &[
            (PERM_ROOT, root.display().to_string()),
            ("WSPRUNE_FAULTS_IDS", format!("{private},{readable},{closed}")),
        ],
        Some(65534),
    )
    .unwrap();
    let results: std::collections::BTreeMap<String, (String, String)> = child_results(&out)
        .into_iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            (s("op"), (s("status"), s("message")))
        })
        .collect();
    let expect = |op: &str, status: &str, text: &str| {
        let (got, msg) = &results[op];
        assert_eq!(got, status, "{op}: {msg}");
        assert!(msg.contains(text), "{op}: message {msg:?} lacks {text:?}");
    };
    let denied = "Permission denied";
    let io = Status::Io.name();
    expect("create", io, denied);
    expect("create_with_id", io, denied);
    expect("create_root", io, denied);
    expect("touch_private", io, denied);
    expect("touch_readable", io, denied);
    expect("touch_closed", io, denied);
    expect("read_private", io, denied);
    // The sessions are registered: their truth (records, lock files) is in
    // the host directory, which only the host can open. Another user reads
    // nothing of it, whatever the session directories allow.
    expect("read_readable", io, denied);
    expect("acquire_closed", io, denied);
    expect("acquire_release", io, denied);
    expect("release_touch", io, denied);
    expect("unlocked_after_failed_release", "ok", "true");
    assert_eq!(snapshot(&root), before, "a failed operation changed the workspace");
    assert!(!exists(&setup.tmp.path().join("other")));
}

/// EPERM: an immutable `.metadata.json` (touch, and the touch of a
/// release), an append-only one, an immutable session directory around
/// Python-layout metadata (the rewrite cannot create its temporary file) and
/// an immutable root (create): each an I/O error naming EPERM, nothing
/// changed; a lease still works on an immutable session; once the flags are
/// cleared, everything works.
#[test]
fn immutable_and_append_only_metadata_give_eperm_and_change_nothing() {
    const TEST: &str = "immutable_and_append_only_metadata_give_eperm_and_change_nothing";
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let _guard = ClearImmutable(tmp.path().to_path_buf());
    if let Err(why) = chattr_works(tmp.path()) {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    let root = tmp.path().join("ws");
    let frozen = wsprune::create_session(&root, None).unwrap();
    let append = wsprune::create_session(&root, None).unwrap();
    let py = python_session(&root);
    // Registered sessions: a touch writes their host-owned records.
    let record = |id: &str| root.join(".wsprune/sessions").join(id);
    chattr("+i", &record(&frozen));
    chattr("+a", &record(&append));
    chattr("+i", &root.join(&py));
    chattr("+i", &root);
    let before = snapshot(&root);
    let eperm = "Operation not permitted";

    assert_io(
        &wsprune::create_session(&root, None).unwrap_err(),
        eperm,
        "create in an immutable root",
    );
    for id in [&frozen, &append, &py] {
        assert_io(
            &wsprune::touch_session(&root, id).unwrap_err(),
            eperm,
            &format!("touch {id}"),
        );
    }
    let lease = wsprune::acquire(&root, &frozen).unwrap();
    assert_io(&lease.release(true).unwrap_err(), eperm, "release with touch");
    assert_eq!(snapshot(&root), before, "a failed operation changed the workspace");

    for (flag, p) in [
        ("-i", root.clone()),
        ("-i", root.join(&py)),
        ("-a", record(&append)),
        ("-i", record(&frozen)),
    ] {
        chattr(flag, &p);
    }
    for id in [&frozen, &append, &py] {
        assert!(matches!(
            wsprune::touch_session(&root, id).unwrap(),
            TouchOutcome::Updated(_)
        ));
    }
    wsprune::create_session(&root, None).unwrap();
}

/// Mounts the existing tests do not cover: a tmpfs mounted 60
/// levels deep in a stale session (below the depth where the walk closes
/// and reopens ancestors) and a file outside bind-mounted onto a file in the
/// session. A dry run and a prune report the session as an error (a mount,
/// or the busy mount point) and carry on with the other stale session; the
/// mounted contents and the outside file are untouched; once unmounted, the
/// next prune finishes the session from its trash (reported in `interrupted`).
#[test]
fn mounts_deep_in_a_session_and_on_a_file_are_left_alone() {
    const TEST: &str = "mounts_deep_in_a_session_and_on_a_file_are_left_alone";
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let _unmount = UnmountAll(tmp.path().to_path_buf());
    if let Err(why) = bind_mount_works(tmp.path()) {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    let root = tmp.path().join("ws");
    let secret = tmp.path().join("secret.key");
    write_file(&secret, 321);
    let s = session(&root, 48.0);
    let other = session(&root, 48.0);
    let mut deep = root.join(&s);
    for _ in 0..60 {
        deep.push("d");
    }
    let mnt = deep.join("mnt");
    if let Err(why) = mount_tmpfs(&mnt, "size=1m") {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    write_file(&mnt.join("mounted.bin"), 4000);
    std::fs::create_dir(mnt.join("sub")).unwrap();
    write_file(&mnt.join("sub/more"), 10);
    write_file(&root.join(&s).join("key"), 1);
    bind_mount(&secret, &root.join(&s).join("key"));
    let mounted_before = snapshot(&mnt);
    let secret_before = snapshot(&secret);

    let dry = prune(&root, 24.0, true);
    assert_eq!(dry.deleted_sessions, vec![other.clone()]);
    assert_eq!(
        dry.errors.iter().map(|e| &e.0).collect::<Vec<_>>(),
        vec![&s],
        "{:?}",
        dry.errors
    );
    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![other]);
    assert_eq!(
        r.errors.iter().map(|e| &e.0).collect::<Vec<_>>(),
        vec![&s],
        "{:?}",
        r.errors
    );
    assert!(
        r.errors[0].1.contains("mount") || r.errors[0].1.contains("busy"),
        "{}",
        r.errors[0].1
    );
    let trash = trash_of(&root, &s).expect("the remains are in trash");
    let moved: Vec<_> = mounts_under(&root);
    assert_eq!(moved.len(), 2, "both mounts are still there: {moved:?}");
    let moved_mnt = moved.iter().find(|m| m.ends_with("mnt")).unwrap();
    assert!(moved_mnt.starts_with(&trash));
    assert_eq!(snapshot(moved_mnt), mounted_before, "the mounted tmpfs was changed");
    assert_eq!(snapshot(&secret), secret_before, "the bind-mounted file was changed");

    for m in moved {
        umount(&m);
    }
    let trash_name = trash.file_name().unwrap().to_str().unwrap().to_owned();
    let r = prune(&root, 24.0, false);
    assert!(r.deleted_sessions.is_empty() && r.errors.is_empty(), "{r:?}");
    assert_eq!(r.interrupted, vec![trash_name]);
    assert!(names(&root).is_empty());
    assert_eq!(snapshot(&secret), secret_before);
}

/// 100 000 entries in one directory of a stale session (96 000 hard
/// links to four files, 4 000 regular files: inode allocation costs ~60 µs
/// on this machine's ext4, a link ~15 µs), with a dry run first: every entry
/// is counted (a file's blocks once, however many links it has, as du does)
/// and deleted, the dry run says exactly what the prune then reclaims.
#[test]
fn hundred_thousand_entries_in_one_directory() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let s = session(&root, 48.0);
    let d = root.join(&s).join("many");
    std::fs::create_dir(&d).unwrap();
    let dir = open_dir(&d);
    let sizes = [0usize, 1, 100, 4097];
    for (k, len) in sizes.iter().enumerate() {
        write_file(&d.join(format!("src{k}")), *len);
    }
    for i in 0..4_000usize {
        write_file(&d.join(format!("file-{i:05}")), i % 17);
    }
    for i in 0..100_000 - 4_000 - sizes.len() {
        let k = i % sizes.len();
        let (from, to) = (
            cstr(format!("src{k}").as_bytes()),
            cstr(format!("link-{i:06}").as_bytes()),
        );
        // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
        let rc = unsafe { libc::linkat(dir.as_raw_fd(), from.as_ptr(), dir.as_raw_fd(), to.as_ptr(), 0) };
        assert_eq!(rc, 0, "link {i}: {}", std::io::Error::last_os_error());
    }
    drop(dir);
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 100_000);
    let expected = du_bytes(&root.join(&s));

    let opts = |dry_run| PruneOptions {
        jobs: 2,
        ..PruneOptions::older_than(24.0, dry_run)
    };
    let dry = wsprune::prune_sessions(&root, &opts(true)).unwrap();
    assert_eq!(dry.deleted_sessions, vec![s.clone()]);
    assert_eq!(dry.reclaimed_bytes, expected);
    assert_eq!(
        std::fs::read_dir(&d).unwrap().count(),
        100_000,
        "the dry run deleted something"
    );
    let r = wsprune::prune_sessions(&root, &opts(false)).unwrap();
    assert_eq!(r.deleted_sessions, vec![s]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.reclaimed_bytes, expected);
    assert!(names(&root).is_empty());
}

/// Odd names in the root: entries whose names have newlines or are
/// not UTF-8 (among them a UUID with a newline before or after it, a UUID
/// followed by an invalid byte, the trash prefix followed by an invalid
/// byte, by a newline, or by a trash name of ours plus a newline),
/// directories holding stale metadata and files, are not sessions: prunes
/// (dry and real, threshold 0) neither report nor touch them; a real stale
/// session next to them is deleted. Where chattr works, a session whose
/// undeletable file sits in a directory with such a name gives an error
/// message that is valid UTF-8 (in the result, its JSON and its summary).
#[test]
fn odd_names_in_the_root_are_ignored_and_untouched() {
    const TEST: &str = "odd_names_in_the_root_are_ignored_and_untouched";
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let _guard = ClearImmutable(tmp.path().to_path_buf());
    let root = tmp.path().join("ws");
    let real = session(&root, 48.0);
    let u = new_id();
    let odd: Vec<Vec<u8>> = vec![
        b"line1\nline2".to_vec(),
        b"\xff\xfe".to_vec(),
        format!("{u}\n").into_bytes(),
        format!("\n{u}").into_bytes(),
        [u.as_bytes(), &b"\xff"[..]].concat(),
        [&u.as_bytes()[..35], &b"\xe9"[..]].concat(),
        b".wsprune-trash.\xff".to_vec(),
        b".wsprune-trash.line\nbreak".to_vec(),
        format!(".wsprune-trash.{u}.1.2\n").into_bytes(),
        [&b".wsprune-trash."[..], u.as_bytes(), &b".1.\xff"[..]].concat(),
    ];
    for name in &odd {
        let p = root.join(OsStr::from_bytes(name));
        std::fs::create_dir(&p).unwrap();
        write_metadata_raw(&p, &metadata_text(&u, hours_ago(1000.0)));
        write_file(&p.join("data"), 50);
        // The same name as a plain file, one level down (and a symlink).
        write_file(&p.join(OsStr::from_bytes(name)), 5);
        std::os::unix::fs::symlink(
            "/etc",
            p.join(OsStr::from_bytes(&[name.as_slice(), &b"-link"[..]].concat())),
        )
        .unwrap();
    }
    write_file(&root.join(OsStr::from_bytes(b"file\n\xff")), 7);
    let odd_state = |root: &Path| -> Vec<_> {
        odd.iter()
            .map(|n| snapshot_with_times(&root.join(OsStr::from_bytes(n))))
            .collect()
    };
    let before = odd_state(&root);

    let dry = prune(&root, 0.0, true);
    assert_eq!(dry.deleted_sessions, vec![real.clone()]);
    assert!(dry.skipped_sessions.is_empty() && dry.errors.is_empty(), "{dry:?}");
    let r = prune(&root, 0.0, false);
    assert_eq!(r.deleted_sessions, vec![real.clone()]);
    assert!(r.skipped_sessions.is_empty() && r.errors.is_empty(), "{r:?}");
    assert_eq!(odd_state(&root), before, "an entry with an odd name was changed");
    assert_eq!(names(&root).len(), odd.len() + 1);

    if let Err(why) = chattr_works(tmp.path()) {
        eprintln!("SKIPPED the error-message part of {TEST}: {why}");
        return;
    }
    let s = session(&root, 48.0);
    let weird = root.join(&s).join(OsStr::from_bytes(b"dir\n\xff\xfeend"));
    std::fs::create_dir(&weird).unwrap();
    write_file(&weird.join("stuck"), 3);
    chattr("+i", &weird.join("stuck"));
    let r = prune(&root, 24.0, false);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    let msg = &r.errors[0].1;
    // The guest's name, escaped: its newline cannot break the message into lines.
    assert!(msg.contains("dir\\n\u{fffd}\u{fffd}end/stuck"), "{msg:?}");
    let json = r.to_json().to_string();
    assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
    assert!(r.summary().contains("1 error"), "{}", r.summary());
    let trash = trash_of(&root, &s).unwrap();
    chattr("-i", &trash.join(OsStr::from_bytes(b"dir\n\xff\xfeend")).join("stuck"));
    let r = prune(&root, 24.0, false);
    assert!(r.deleted_sessions.is_empty(), "{r:?}");
    assert_eq!(
        r.interrupted,
        vec![trash.file_name().unwrap().to_str().unwrap().to_owned()]
    );
    assert_eq!(odd_state(&root), before);
}

/// The C ABI promise "no panic crosses the boundary", with a real panic: a
/// Rust event handler that panics on one event makes the library panic in
/// the middle of a create, a touch, a lease release and a prune (mid-way,
/// after its first deletion, while workers delete other sessions). Each C
/// call returns WSPRUNE_STATUS_PANIC (a prune: NULL and an error with that status) with
/// the panic's message, and the process goes on. Nothing is left
/// half-done: the created session is complete, the lease is released, the
/// workspace lock is free, and the next prune finishes the stale sessions
/// without leaving trash.
#[test]
fn a_panic_inside_the_library_is_status_panic_at_the_c_abi() {
    use std::ffi::{c_char, CStr, CString};
    use wsprune::ffi::{self, wsprune_status};
    let _serial = exclusive(); // the event handler is process-wide
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let stale: Vec<String> = (0..6).map(|_| session(&root, 48.0)).collect();
    for id in &stale {
        write_file(&root.join(id).join("data"), 100);
    }
    let croot = CString::new(root.to_str().unwrap()).unwrap();
    let panic_on = |name: &'static str| {
        wsprune::events::set_handler(Some(Arc::new(move |e: &Event| {
            if e.name == name {
                panic!("injected panic at {name}");
            }
        })));
    };
    // SAFETY: the error comes from the C call just made: NULL or an owned, live wsprune_error, freed once here.
    let check = |what: &str, st: wsprune_status, err: *mut ffi::wsprune_error| unsafe {
        assert_eq!(st, wsprune_status::WSPRUNE_STATUS_PANIC, "{what}");
        assert!(!err.is_null(), "{what}: no error object");
        assert_eq!(ffi::wsprune_error_status(err), wsprune_status::WSPRUNE_STATUS_PANIC);
        let msg = CStr::from_ptr(ffi::wsprune_error_message(err))
            .to_string_lossy()
            .into_owned();
        assert!(msg.contains("panic") && msg.contains("injected panic"), "{what}: {msg}");
        ffi::wsprune_error_free(err);
    };
    // SAFETY: C strings and out pointers are live locals for each call; every error and result is freed once.
    unsafe {
        panic_on("session.metadata.created");
        let mut err = std::ptr::null_mut();
        let mut out = [0 as c_char; 37];
        let st = ffi::wsprune_session_create(croot.as_ptr(), std::ptr::null(), out.as_mut_ptr(), 37, &mut err);
        check("create", st, err);

        panic_on("session.metadata.updated");
        let id = CString::new(stale[0].as_str()).unwrap();
        let mut err = std::ptr::null_mut();
        check(
            "touch",
            ffi::wsprune_session_touch(croot.as_ptr(), id.as_ptr(), &mut err),
            err,
        );
        let mut lease = std::ptr::null_mut();
        assert_eq!(
            ffi::wsprune_session_acquire(croot.as_ptr(), id.as_ptr(), &mut lease, std::ptr::null_mut()),
            wsprune_status::WSPRUNE_STATUS_OK
        );
        let mut err = std::ptr::null_mut();
        check("lease release", ffi::wsprune_lease_release(lease, true, &mut err), err);

        panic_on("session.prune.deleted");
        let mut err = std::ptr::null_mut();
        let r = ffi::wsprune_prune_sessions(croot.as_ptr(), 24.0, false, &mut err);
        assert!(r.is_null());
        check("prune", ffi::wsprune_error_status(err), err);
    }
    wsprune::events::set_handler(None);

    // The panicked create made a complete session (the event comes last).
    let made: Vec<String> = names(&root)
        .into_iter()
        .filter(|n| !stale.contains(n) && is_uuid_name(n))
        .collect();
    assert_eq!(made.len(), 1, "{:?}", names(&root));
    assert!(matches!(
        wsprune::read_metadata(&root, &made[0]).unwrap(),
        MetadataState::Valid(_)
    ));
    // The lease died with the panic: an exclusive lock can be taken.
    let dir = std::fs::File::open(root.join(&stale[0])).unwrap();
    assert_eq!(
        // SAFETY: takes no pointers; a bad descriptor would only be an error.
        unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0,
        "lease still held"
    );
    drop(dir);
    // The workspace lock died with the panic too; the next prune finishes the job.
    let opts = PruneOptions {
        lock_timeout: std::time::Duration::from_secs(2),
        ..PruneOptions::older_than(24.0, false)
    };
    let r = wsprune::prune_sessions(&root, &opts).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // The touches wrote their timestamp before the event that panicked:
    // stale[0] is fresh now and stays, with valid metadata.
    match wsprune::read_metadata(&root, &stale[0]).unwrap() {
        MetadataState::Valid(m) => assert!(m.age_hours(chrono::Utc::now()) < 0.1),
        other => panic!("{other:?}"),
    }
    let left = names(&root);
    assert_eq!(
        left,
        sorted(&[made[0].clone(), stale[0].clone()]),
        "stale sessions or trash left"
    );
    let gone = stale.len() - 1 - r.deleted_sessions.len();
    assert!(
        gone >= 1,
        "the panicking prune deleted nothing before its panic: the test proves little"
    );
}
