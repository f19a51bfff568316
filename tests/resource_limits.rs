//! Resource limits and edge cases that must end in a clear result, never a
//! panic, a hang or damage outside the workspace (SECURITY.md, "Resource
//! limits and edge cases end in a result, not a crash", names each test).

#[path = "prune_support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::Duration;

use support::*;
use wsprune::PruneOptions;

/// Runs the built `wsprune` binary.
fn wsprune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsprune"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("cannot run the wsprune binary")
}

fn show(out: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A lock timeout or wait too long for `Instant + Duration`
/// (`15500000000000w`, `Duration::MAX`) saturates to "about forever": the
/// prune and the delete work (the locks are free) instead of an internal error.
#[test]
fn huge_durations_saturate_instead_of_panicking() {
    let _g = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let stale = session(&root, 48.0);
    let leased = session(&root, 1.0);
    let r = root.to_str().unwrap();
    let out = wsprune(&[
        "prune",
        r,
        "--older-than",
        "24h",
        "--lock-timeout",
        "15500000000000w",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(!exists(&root.join(&stale)));
    let out = wsprune(&["rm", r, &leased, "--wait", "15500000000000w"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(!exists(&root.join(&leased)));

    let stale = session(&root, 48.0);
    let opts = PruneOptions {
        lock_timeout: Duration::MAX,
        ..PruneOptions::older_than(24.0, false)
    };
    let res = wsprune::prune_sessions(&root, &opts).unwrap();
    assert_eq!(res.deleted_sessions, vec![stale.clone()]);
    let other = session(&root, 1.0);
    assert!(wsprune::delete_session(&root, &other, Some(Duration::MAX)).is_ok());
    assert!(names(&root).is_empty(), "{:?}", names(&root));
}

/// Metadata dated in a year that cannot be printed back in four
/// digits (here -0001 and +10000) is a corrupted timestamp everywhere: the
/// prune skips it as `corrupted_timestamp` (dry run and real, nothing
/// deleted), `session_info` reports it corrupted, `read_metadata` too.
#[test]
fn unprintable_years_are_corrupted_timestamps_everywhere() {
    let _g = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let mut bad = Vec::new();
    for ts in ["-0001-06-01T00:00:00", "+10000-01-01T00:00:00"] {
        let id = new_id();
        let dir = root.join(&id);
        std::fs::create_dir_all(&dir).unwrap();
        write_metadata_raw(
            &dir,
            &format!(r#"{{"session_id":"{id}","created_at":"{ts}","updated_at":"{ts}"}}"#),
        );
        bad.push(id);
    }
    bad.sort();
    for dry in [true, false] {
        let r = prune(&root, 24.0, dry);
        assert!(r.deleted_sessions.is_empty(), "{:?}", r.deleted_sessions);
        let expect: Vec<_> = bad
            .iter()
            .map(|id| (id.clone(), wsprune::SkipReason::CorruptedTimestamp))
            .collect();
        assert_eq!(skipped(&r), expect);
    }
    for id in &bad {
        let info = wsprune::session_info(&root, id).unwrap();
        assert_eq!(info.state, wsprune::SessionState::Corrupted, "{info:?}");
        assert!(
            matches!(
                wsprune::read_metadata(&root, id).unwrap(),
                wsprune::MetadataState::Invalid(wsprune::metadata::MetadataError::BadTimestamp(_))
            ),
            "{id}"
        );
    }
    assert_eq!(sorted(&names(&root)), bad);
}

/// A panic caught at the C boundary prints nothing on the host's
/// stderr (its message is in the error object), and the process-wide hook
/// is kept: with the default hook, and with a Rust host's own hook installed
/// first, a panic of the host's own is still reported by that hook. Runs in
/// child processes, whose stderr is the evidence.
#[test]
fn a_panic_caught_at_the_c_boundary_is_silent_and_the_hosts_hook_stays() {
    const TEST: &str = "a_panic_caught_at_the_c_boundary_is_silent_and_the_hosts_hook_stays";
    const MODE: &str = "WSPRUNE_RES_PANIC_MODE";
    if let Ok(mode) = std::env::var(MODE) {
        panic_child(&mode);
        return;
    }
    for mode in ["default", "custom"] {
        let out = run_self(TEST, &[(MODE, mode.to_owned())], None).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{mode}: {}", show(&out));
        let (during, after) = stderr
            .split_once("AFTER-FFI\n")
            .unwrap_or_else(|| panic!("{mode}: no marker: {}", show(&out)));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("FFI-PANICS-REPORTED 2"),
            "{mode}: {}",
            show(&out)
        );
        assert_eq!(during, "", "{mode}: a caught panic printed on stderr");
        let expect = if mode == "custom" {
            "HOST-HOOK: the host's own panic"
        } else {
            "the host's own panic"
        };
        assert!(after.contains(expect), "{mode}: the hook did not run: {}", show(&out));
        if mode == "default" {
            assert!(after.contains("panicked at"), "{}", show(&out));
        }
    }
}

fn panic_child(mode: &str) {
    use std::ffi::{c_char, CString};
    use std::io::Write;
    use std::sync::Arc;
    use wsprune::ffi::{self, wsprune_status};
    if mode == "custom" {
        std::panic::set_hook(Box::new(|info| {
            let msg = info.payload().downcast_ref::<&str>().copied().unwrap_or("?");
            eprintln!("HOST-HOOK: {msg}");
        }));
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    for _ in 0..4 {
        session(&root, 48.0);
    }
    let croot = CString::new(root.to_str().unwrap()).unwrap();
    let panic_on = |name: &'static str| {
        wsprune::events::set_handler(Some(Arc::new(move |e: &wsprune::Event| {
            if e.name == name {
                panic!("injected panic at {name}");
            }
        })));
    };
    let mut reported = 0;
    // SAFETY: C strings and out pointers are live locals for each call; every error and result is freed once.
    unsafe {
        panic_on("session.metadata.created");
        let mut err = std::ptr::null_mut();
        let mut out = [0 as c_char; 37];
        let st = ffi::wsprune_session_create(croot.as_ptr(), std::ptr::null(), out.as_mut_ptr(), 37, &mut err);
        if st == wsprune_status::WSPRUNE_STATUS_PANIC {
            reported += 1;
        }
        ffi::wsprune_error_free(err);
        panic_on("session.prune.deleted");
        let mut err = std::ptr::null_mut();
        let r = ffi::wsprune_prune_sessions(croot.as_ptr(), 24.0, false, &mut err);
        if r.is_null() && ffi::wsprune_error_status(err) == wsprune_status::WSPRUNE_STATUS_PANIC {
            reported += 1;
        }
        ffi::wsprune_error_free(err);
    }
    wsprune::events::set_handler(None);
    println!("FFI-PANICS-REPORTED {reported}");
    let mut e = std::io::stderr();
    e.write_all(b"AFTER-FFI\n").unwrap();
    e.flush().unwrap();
    let r = std::panic::catch_unwind(|| panic!("the host's own panic"));
    assert!(r.is_err());
}

/// A workspace with `n` stale sessions (one small file each), owned by
/// uid 65534 so an unprivileged child can prune it.
fn stale_workspace_for_nobody(n: usize) -> (tempfile::TempDir, std::path::PathBuf, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    open_up(tmp.path(), 0o755);
    let root = tmp.path().join("ws");
    let mut ids: Vec<String> = (0..n).map(|_| session(&root, 48.0)).collect();
    for id in &ids {
        write_file(&root.join(id).join("data"), 10);
    }
    ids.sort();
    let st = Command::new("chown")
        .arg("-R")
        .arg("65534:65534")
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success());
    (tmp, root, ids)
}

/// `cmd` runs as uid 65534 with RLIMIT_NPROC 1: it can create no thread.
fn without_threads(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    cmd.uid(65534).gid(65534);
    // Runs after the uid change, so the limit applies to uid 65534 (root is exempt).
    // SAFETY: the pre_exec closure only calls setrlimit (async-signal-safe) with a valid rlimit.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1,
                rlim_max: 1,
            };
            if libc::setrlimit(libc::RLIMIT_NPROC, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// When no thread can be created (RLIMIT_NPROC as uid 65534), `ls`
/// and a default (multi-job) prune through the CLI and through the C ABI
/// run on the calling thread: no panic, no "internal error", and the result
/// reports all 20 stale sessions deleted.
#[test]
fn no_panic_when_no_thread_can_be_created() {
    const TEST: &str = "no_panic_when_no_thread_can_be_created";
    const ROOT: &str = "WSPRUNE_RES_NPROC_ROOT";
    if let Ok(root) = std::env::var(ROOT) {
        // Prove the limit bites here, or the test proves nothing.
        let spawned = std::thread::Builder::new().spawn(|| ());
        println!("SPAWN-FAILED {}", spawned.is_err());
        let croot = std::ffi::CString::new(root).unwrap();
        // SAFETY: C strings and out pointers are live locals for each call; every error and result is freed once.
        unsafe {
            use wsprune::ffi;
            let mut err = std::ptr::null_mut();
            let r = ffi::wsprune_prune_sessions(croot.as_ptr(), 24.0, false, &mut err);
            assert!(
                !r.is_null(),
                "NULL result: {:?}",
                std::ffi::CStr::from_ptr(ffi::wsprune_error_message(err))
            );
            let json = ffi::wsprune_prune_result_to_json(r);
            println!("\n{RESULT_MARKER}{}", std::ffi::CStr::from_ptr(json).to_str().unwrap());
            ffi::wsprune_string_free(json);
            ffi::wsprune_prune_result_free(r);
        }
        return;
    }
    let _g = exclusive();
    if let Err(why) = can_run_unprivileged() {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    // The CLI: ls, then a default prune.
    let (_tmp, root, ids) = stale_workspace_for_nobody(20);
    let r = root.to_str().unwrap();
    let out = without_threads(Command::new(env!("CARGO_BIN_EXE_wsprune")).args(["ls", r, "--json"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "ls: {}", show(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(20), "{}", show(&out));
    let out = without_threads(Command::new(env!("CARGO_BIN_EXE_wsprune")).args(["prune", r, "--json"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "prune: {}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json_ids(&v, "deleted_sessions"), ids, "{}", show(&out));
    assert!(names(&root).is_empty(), "{:?}", names(&root));

    // The C ABI.
    let (_tmp, root, ids) = stale_workspace_for_nobody(20);
    let out = without_threads(&mut self_command(TEST, &[(ROOT, root.display().to_string())], None))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("SPAWN-FAILED true"),
        "threads could still be created: {}",
        show(&out)
    );
    let v = &child_results(&out)[0];
    assert_eq!(json_ids(v, "deleted_sessions"), ids, "{}", show(&out));
    assert!(json_keys(v, "errors").is_empty(), "{v}");
    assert!(names(&root).is_empty(), "{:?}", names(&root));
}

/// What the log callback of the re-entry test saw.
#[derive(Default)]
struct Nested {
    root: std::ffi::CString,
    other_root: std::ffi::CString,
    /// (status of the nested prune of the same root, its message, how long it took)
    same: Option<(wsprune::ffi::wsprune_status, String, Duration)>,
    /// Sessions the nested prune of another root deleted.
    other_deleted: Option<usize>,
    nested_dry_run_ok: Option<bool>,
    /// A fresh session of the same root, deleted from the callback.
    fresh: std::ffi::CString,
    fresh_deleted: Option<wsprune::ffi::wsprune_status>,
}

unsafe extern "C" fn reentering_callback(
    user_data: *mut std::ffi::c_void,
    _level: wsprune::ffi::wsprune_level,
    event: *const std::ffi::c_char,
    _fields: *const std::ffi::c_char,
) {
    use wsprune::ffi;
    let n = &mut *(user_data as *mut Nested);
    if std::ffi::CStr::from_ptr(event).to_bytes() != b"session.prune.deleted" || n.same.is_some() {
        return;
    }
    // The same root: must be BUSY at once, not after the lock timeout (3 s
    // here, so that the test fails rather than hangs where this is broken).
    let mut opts: ffi::wsprune_prune_options = std::mem::zeroed();
    ffi::wsprune_prune_options_init(&mut opts, std::mem::size_of::<ffi::wsprune_prune_options>());
    opts.lock_timeout_ms = 3000;
    opts.use_older_than = true;
    opts.older_than_hours = 24.0;
    let start = std::time::Instant::now();
    let mut err = std::ptr::null_mut();
    let r = ffi::wsprune_prune_sessions_with_options(n.root.as_ptr(), &opts, &mut err);
    let took = start.elapsed();
    if r.is_null() {
        let msg = std::ffi::CStr::from_ptr(ffi::wsprune_error_message(err))
            .to_string_lossy()
            .into_owned();
        n.same = Some((ffi::wsprune_error_status(err), msg, took));
        ffi::wsprune_error_free(err);
    } else {
        n.same = Some((ffi::wsprune_status::WSPRUNE_STATUS_OK, String::new(), took));
        ffi::wsprune_prune_result_free(r);
    }
    // Deleting a session of the same root works from the callback (no workspace lock).
    n.fresh_deleted = Some(ffi::wsprune_session_delete(
        n.root.as_ptr(),
        n.fresh.as_ptr(),
        0,
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    ));
    // Another root works from the same callback.
    let r = ffi::wsprune_prune_sessions(n.other_root.as_ptr(), 24.0, false, std::ptr::null_mut());
    n.other_deleted = (!r.is_null()).then(|| ffi::wsprune_prune_result_deleted_count(r));
    ffi::wsprune_prune_result_free(r);
}

unsafe extern "C" fn dry_run_reentering_callback(
    user_data: *mut std::ffi::c_void,
    _level: wsprune::ffi::wsprune_level,
    event: *const std::ffi::c_char,
    _fields: *const std::ffi::c_char,
) {
    use wsprune::ffi;
    let n = &mut *(user_data as *mut Nested);
    if std::ffi::CStr::from_ptr(event).to_bytes() != b"session.prune.deleted" || n.nested_dry_run_ok.is_some() {
        return;
    }
    n.nested_dry_run_ok = Some(false);
    let r = ffi::wsprune_prune_sessions(n.root.as_ptr(), 24.0, true, std::ptr::null_mut());
    n.nested_dry_run_ok = Some(!r.is_null());
    ffi::wsprune_prune_result_free(r);
}

/// A prune started from inside the log callback of a prune of the
/// same root, on the same thread, is BUSY at once (not after its lock
/// timeout, which may be up to 49 days) with a message that says why; the outer prune
/// completes. A prune of another root and a delete of a session of the same
/// root from the same callback work, and a dry run inside a dry run (they
/// share the lock) works too.
#[test]
fn a_prune_reentered_from_its_log_callback_is_busy_at_once() {
    use wsprune::ffi;
    let _g = exclusive(); // the log callback is process-wide
    let tmp = tempfile::tempdir().unwrap();
    let (root, other) = (tmp.path().join("ws"), tmp.path().join("other"));
    let stale: Vec<String> = (0..3).map(|_| session(&root, 48.0)).collect();
    session(&other, 48.0);
    let fresh = session(&root, 1.0);
    let mut nested = Nested {
        fresh: std::ffi::CString::new(fresh).unwrap(),
        root: std::ffi::CString::new(root.to_str().unwrap()).unwrap(),
        other_root: std::ffi::CString::new(other.to_str().unwrap()).unwrap(),
        ..Nested::default()
    };
    let ud = &mut nested as *mut Nested as *mut std::ffi::c_void;
    // SAFETY: `ud` points at `nested`, which outlives the callback (removed before it goes); results are freed once.
    unsafe {
        ffi::wsprune_set_log_callback(Some(dry_run_reentering_callback), ud);
        let r = ffi::wsprune_prune_sessions(nested.root.as_ptr(), 24.0, true, std::ptr::null_mut());
        assert!(!r.is_null());
        ffi::wsprune_prune_result_free(r);
        ffi::wsprune_set_log_callback(Some(reentering_callback), ud);
        let r = ffi::wsprune_prune_sessions(nested.root.as_ptr(), 24.0, false, std::ptr::null_mut());
        ffi::wsprune_set_log_callback(None, std::ptr::null_mut());
        assert!(!r.is_null());
        assert_eq!(ffi::wsprune_prune_result_deleted_count(r), stale.len());
        ffi::wsprune_prune_result_free(r);
    }
    assert_eq!(
        nested.nested_dry_run_ok,
        Some(true),
        "a dry run inside a dry run failed"
    );
    let (status, msg, took) = nested.same.expect("the callback never ran");
    assert_eq!(status, ffi::wsprune_status::WSPRUNE_STATUS_BUSY, "{msg}");
    // Waiting would take the 30 s lock timeout; 10 s leaves room for a loaded machine.
    assert!(took < Duration::from_secs(10), "the nested prune waited {took:?}");
    assert!(msg.contains("log callback"), "{msg}");
    assert_eq!(
        nested.other_deleted,
        Some(1),
        "a prune of another root from the callback"
    );
    assert!(names(&root).is_empty() && names(&other).is_empty());
}

/// Run unprivileged (uid 65534), a prune meets a mode-000 tmpfs
/// mounted inside a stale session, owned by that uid: the mount is found
/// on the O_PATH descriptor before anything is changed, so the mounted
/// directory keeps its mode 000 (it used to be left 0700), its contents are
/// untouched, and the session is an error naming the mount point. The
/// dry run says the same. The other stale session goes.
#[test]
fn nothing_on_another_mount_is_ever_chmodded() {
    const TEST: &str = "nothing_on_another_mount_is_ever_chmodded";
    const ROOT: &str = "WSPRUNE_RES_MOUNT_ROOT";
    if let Ok(root) = std::env::var(ROOT) {
        let root = std::path::Path::new(&root);
        print_result(&prune(root, 24.0, true));
        print_result(&prune(root, 24.0, false));
        return;
    }
    let Some(setup) = unprivileged_setup(TEST) else {
        return;
    };
    let root = setup.root.clone();
    let _unmount = UnmountAll(setup.tmp.path().to_path_buf());
    let s = session(&root, 48.0);
    let other = session(&root, 48.0);
    let mnt = root.join(&s).join("sub").join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let st = Command::new("chown")
        .arg("-R")
        .arg("65534:65534")
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success());
    if let Err(why) = mount_tmpfs(&mnt, "size=1m,mode=700,uid=65534,gid=65534") {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    write_file(&mnt.join("inside"), 10);
    std::fs::set_permissions(&mnt, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = run_self(TEST, &[(ROOT, root.display().to_string())], Some(65534)).unwrap();
    let results = child_results(&out);
    assert_eq!(results.len(), 2, "{}", show(&out));
    for (r, what) in results.iter().zip(["dry run", "prune"]) {
        assert_eq!(json_ids(r, "deleted_sessions"), vec![other.clone()], "{what}: {r}");
        assert_eq!(json_keys(r, "errors"), vec![s.clone()], "{what}: {r}");
        let msg = r["errors"][&s].as_str().unwrap();
        assert!(msg.contains("mount point"), "{what}: {msg}");
    }
    let moved = mounts_under(&root);
    assert_eq!(moved.len(), 1, "{moved:?}");
    let mode = std::fs::metadata(&moved[0]).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o000, "the mounted directory was chmod-ed to {mode:o}");
    assert!(exists(&moved[0].join("inside")));
}

/// The descriptor budget holds for the whole process. In a child
/// limited to 100 descriptors, 8 stale sessions 100 levels deep (more than
/// one walk may keep open) are pruned by one default prune (8 workers at
/// once): all 8 deleted, no error, nothing left in trash. (Each walk used to
/// keep up to 48 directories open, and 6 of 8 failed with EMFILE.) The dry
/// run before it measures them all too.
#[test]
fn descriptor_budget_is_shared_by_the_workers() {
    const TEST: &str = "descriptor_budget_is_shared_by_the_workers";
    const ROOT: &str = "WSPRUNE_RES_NOFILE_ROOT";
    if let Ok(root) = std::env::var(ROOT) {
        let lim = libc::rlimit {
            rlim_cur: 100,
            rlim_max: 100,
        };
        // SAFETY: `lim` is a valid `rlimit` for the call.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
        let root = std::path::Path::new(&root);
        print_result(&prune(root, 24.0, true));
        print_result(&prune(root, 24.0, false));
        return;
    }
    let _g = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let mut ids: Vec<String> = (0..8).map(|_| session(&root, 48.0)).collect();
    ids.sort();
    for id in &ids {
        let mut deep = root.join(id);
        for _ in 0..100 {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        write_file(&deep.join("leaf"), 7);
    }
    let out = run_self(TEST, &[(ROOT, root.display().to_string())], None).unwrap();
    let results = child_results(&out);
    assert_eq!(results.len(), 2, "{}", show(&out));
    for (r, what) in results.iter().zip(["dry run", "prune"]) {
        assert_eq!(json_keys(r, "errors"), Vec::<String>::new(), "{what}: {r}");
        assert_eq!(json_ids(r, "deleted_sessions"), ids, "{what}: {r}");
    }
    assert!(names(&root).is_empty(), "left: {:?}", names(&root));
}

/// Memory does not grow with the entries of one directory. A stale
/// session holds one directory of 150 000 entries with 200-byte names
/// (hard links to four empty files: no data, few inodes). In a child,
/// `session_info` (which sizes it), a dry run and the prune each raise the
/// peak resident memory by less than 8 MiB (listing it whole took about
/// 40 MiB), and every entry is counted, then deleted.
#[test]
fn memory_does_not_grow_with_the_entries_of_a_directory() {
    const TEST: &str = "memory_does_not_grow_with_the_entries_of_a_directory";
    const ROOT: &str = "WSPRUNE_RES_MANY_ROOT";
    const ENTRIES: usize = 150_000;
    if let Ok(root) = std::env::var(ROOT) {
        let root = std::path::Path::new(&root);
        let id = std::env::var("WSPRUNE_RES_MANY_ID").unwrap();
        let before = peak_rss_kib();
        let info = wsprune::session_info(root, &id).unwrap();
        let dry = prune(root, 24.0, true);
        let real = prune(root, 24.0, false);
        let grew = peak_rss_kib() - before;
        println!(
            "\n{RESULT_MARKER}{}",
            serde_json::json!({"grew_kib": grew, "info_bytes": info.size_bytes, "dry": dry.to_json(), "real": real.to_json()})
        );
        return;
    }
    let _g = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let s = session(&root, 48.0);
    let many = root.join(&s).join("many");
    std::fs::create_dir(&many).unwrap();
    let dir = open_dir(&many);
    let pad = "n".repeat(190);
    for k in 0..4 {
        write_file(&many.join(format!("src{k}")), 0);
    }
    for i in 0..ENTRIES - 4 {
        let (from, to) = (
            cstr(format!("src{}", i % 4).as_bytes()),
            cstr(format!("{pad}{i:010}").as_bytes()),
        );
        // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
        let rc = unsafe {
            libc::linkat(
                std::os::fd::AsRawFd::as_raw_fd(&dir),
                from.as_ptr(),
                std::os::fd::AsRawFd::as_raw_fd(&dir),
                to.as_ptr(),
                0,
            )
        };
        assert_eq!(rc, 0, "link {i}: {}", std::io::Error::last_os_error());
    }
    drop(dir);
    let expected = du_bytes(&root.join(&s));
    let out = run_self(
        TEST,
        &[(ROOT, root.display().to_string()), ("WSPRUNE_RES_MANY_ID", s.clone())],
        None,
    )
    .unwrap();
    let v = &child_results(&out)[0];
    assert_eq!(v["info_bytes"].as_u64(), Some(expected), "{v}");
    for what in ["dry", "real"] {
        let r: serde_json::Value = v[what].clone();
        assert_eq!(json_ids(&r, "deleted_sessions"), vec![s.clone()], "{what}: {r}");
        assert_eq!(json_keys(&r, "errors"), Vec::<String>::new(), "{what}: {r}");
    }
    let grew = v["grew_kib"].as_i64().unwrap();
    println!("peak memory grew by {grew} KiB");
    assert!(grew < 8 * 1024, "peak memory grew by {grew} KiB for {ENTRIES} entries");
    assert!(names(&root).is_empty(), "{:?}", names(&root));
}

/// Streaming skips nothing: one directory holding 1 000
/// subdirectories (each with a file and a nested directory) and 1 000 files,
/// with long names so that it takes many getdents batches, and the walk
/// descends from the middle of each batch and resumes after. The dry run
/// counts every byte exactly; the prune removes everything, with no error.
#[test]
fn streaming_skips_no_entry_when_descending_mid_batch() {
    let _g = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let s = session(&root, 48.0);
    let d = root.join(&s).join("mixed");
    std::fs::create_dir(&d).unwrap();
    let pad = "x".repeat(150);
    for i in 0..1000usize {
        let sub = d.join(format!("{pad}-dir-{i}"));
        std::fs::create_dir_all(sub.join("inner")).unwrap();
        write_file(&sub.join("inner").join("f"), i % 7);
        write_file(&d.join(format!("{pad}-file-{i}")), i % 5);
    }
    let expected = du_bytes(&root.join(&s));
    let dry = prune(&root, 24.0, true);
    assert!(dry.errors.is_empty(), "{:?}", dry.errors);
    assert_eq!(dry.reclaimed_bytes, expected);
    assert_eq!(
        std::fs::read_dir(&d).unwrap().count(),
        2000,
        "the dry run deleted something"
    );
    let real = prune(&root, 24.0, false);
    assert!(real.errors.is_empty(), "{:?}", real.errors);
    assert_eq!(real.deleted_sessions, vec![s]);
    assert_eq!(real.reclaimed_bytes, expected);
    assert!(names(&root).is_empty(), "{:?}", names(&root));
}
