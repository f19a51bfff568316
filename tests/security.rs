//! Security: a prune never deletes, changes
//! or chmods anything outside the workspace root or outside the session it
//! deletes (symlinks, hard links, unreadable directories, a symlink race);
//! every API refuses session ids that could traverse; metadata is private to
//! the runtime's user.

#[path = "prune_support/mod.rs"]
mod support;

use std::ffi::{c_char, CString};
use std::os::unix::fs::symlink;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;
use wsprune::ffi::{self, wsprune_status};
use wsprune::{SkipReason, Status};

/// A directory outside the root with files, a subdirectory, odd modes and a
/// stale-looking session inside, so that following anything into it would show.
fn canary(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("nested/deeper")).unwrap();
    write_file(&dir.join("precious.txt"), 1000);
    write_file(&dir.join("nested/deeper/more.bin"), 3000);
    write_file(&dir.join("readonly.txt"), 10);
    std::fs::set_permissions(dir.join("readonly.txt"), std::fs::Permissions::from_mode(0o400)).unwrap();
    std::fs::set_permissions(dir.join("nested"), std::fs::Permissions::from_mode(0o555)).unwrap();
    write_metadata_raw(dir, &metadata_text(&new_id(), hours_ago(1000.0)));
    dir.to_path_buf()
}

/// As the reference implementation's test_prune_respects_workspace_boundary: symlinks to a directory
/// outside (absolute, relative, nested) are removed as links; the canary is intact.
#[test]
fn symlink_to_directory_outside_is_not_followed() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let canary = canary(&tmp.path().join("outside/canary"));
    let before = snapshot(&tmp.path().join("outside"));

    let s = session(&root, 48.0);
    let d = root.join(&s);
    symlink(&canary, d.join("escape")).unwrap();
    symlink("../../outside/canary", d.join("escape_rel")).unwrap();
    assert!(
        d.join("escape_rel/precious.txt").is_file(),
        "the relative link resolves to the canary"
    );
    std::fs::create_dir_all(d.join("a/b")).unwrap();
    symlink(&canary, d.join("a/b/deep_escape")).unwrap();
    symlink(canary.join("nested"), d.join("a/nested_escape")).unwrap();
    let expected = tree_bytes(&d);
    assert_eq!(
        expected,
        du_bytes(&d),
        "a link must count its own blocks only, as du does"
    );

    for dry_run in [true, false] {
        let r = prune(&root, 24.0, dry_run);
        assert_eq!(r.deleted_sessions, vec![s.clone()]);
        assert_eq!(r.reclaimed_bytes, expected);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
    assert!(names(&root).is_empty());
    assert_eq!(
        snapshot(&tmp.path().join("outside")),
        before,
        "something outside the root changed"
    );
}

/// A symlink to a file outside: the link goes, the file stays (content and mode).
#[test]
fn symlink_to_file_outside_is_not_followed() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let secret = outside.join("secret.key");
    write_file(&secret, 2048);
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o400)).unwrap();
    let before = snapshot(&outside);

    let s = session(&root, 48.0);
    symlink(&secret, root.join(&s).join("key")).unwrap();
    // The link even replaces the metadata-less subtree of a directory.
    std::fs::create_dir(root.join(&s).join("etc")).unwrap();
    symlink("/etc/hostname", root.join(&s).join("etc/hostname")).unwrap();
    let expected = du_bytes(&root.join(&s));
    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![s.clone()]);
    assert_eq!(r.reclaimed_bytes, expected);
    assert_eq!(snapshot(&outside), before);
}

/// A hard link to a file outside the root: the outside file survives with its
/// content, mode and owner unchanged, even inside read-only and unreadable directories.
#[test]
fn hard_link_to_file_outside_keeps_the_file_and_its_mode() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let victim = outside.join("passwd-like");
    write_file(&victim, 777);
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o444)).unwrap();
    let content = std::fs::read(&victim).unwrap();

    let s = session(&root, 48.0);
    let d = root.join(&s);
    std::fs::hard_link(&victim, d.join("top_link")).unwrap();
    std::fs::create_dir_all(d.join("ro")).unwrap();
    std::fs::hard_link(&victim, d.join("ro/inner_link")).unwrap();
    std::fs::create_dir_all(d.join("closed")).unwrap();
    std::fs::hard_link(&victim, d.join("closed/hidden_link")).unwrap();
    std::fs::set_permissions(d.join("ro"), std::fs::Permissions::from_mode(0o500)).unwrap();
    std::fs::set_permissions(d.join("closed"), std::fs::Permissions::from_mode(0o000)).unwrap();
    assert_eq!(std::fs::metadata(&victim).unwrap().nlink(), 4);
    let md_before = std::fs::metadata(&victim).unwrap();
    // The links free nothing: the file lives on outside.
    let expected = tree_bytes(&d) - md_before.blocks() * 512;

    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![s.clone()], "{:?}", r.errors);
    assert_eq!(r.reclaimed_bytes, expected);
    let md = std::fs::metadata(&victim).unwrap();
    assert_eq!(md.nlink(), 1);
    assert_eq!(
        md.mode(),
        md_before.mode(),
        "the outside file was chmod'ed through its hard link"
    );
    assert_eq!((md.uid(), md.gid()), (md_before.uid(), md_before.gid()));
    assert_eq!(std::fs::read(&victim).unwrap(), content);
    assert!(names(&root).is_empty());
}

/// Directories with mode 0o000 and 0o500 (nested in each other) are deleted,
/// and nothing outside changes.
#[test]
fn unreadable_and_read_only_directories_are_deleted() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    canary(&tmp.path().join("outside"));
    let before = snapshot(&tmp.path().join("outside"));

    let s = session(&root, 48.0);
    let d = root.join(&s);
    std::fs::create_dir_all(d.join("locked/inside")).unwrap();
    std::fs::create_dir_all(d.join("ro/closed")).unwrap();
    write_file(&d.join("locked/a"), 11);
    write_file(&d.join("locked/inside/b"), 22);
    write_file(&d.join("ro/c"), 33);
    write_file(&d.join("ro/closed/d"), 44);
    symlink("../../outside", d.join("ro/closed/out")).unwrap();
    let expected = tree_bytes(&d);
    for (p, m) in [
        ("locked/inside", 0o000),
        ("locked", 0o000),
        ("ro/closed", 0o000),
        ("ro", 0o500),
    ] {
        std::fs::set_permissions(d.join(p), std::fs::Permissions::from_mode(m)).unwrap();
    }

    let dry = prune(&root, 24.0, true);
    assert_eq!(dry.reclaimed_bytes, expected);
    assert!(dry.errors.is_empty(), "{:?}", dry.errors);
    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![s], "{:?}", r.errors);
    assert_eq!(r.reclaimed_bytes, expected);
    assert!(names(&root).is_empty());
    assert_eq!(snapshot(&tmp.path().join("outside")), before);
}

/// A symlink named like a session in the root, pointing at a stale session
/// outside, is never followed by a prune (dry or real).
#[test]
fn uuid_named_symlink_in_root_is_never_followed() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir_all(&root).unwrap();
    let outside_session = canary(&tmp.path().join("outside").join(new_id()));
    let before = snapshot(&tmp.path().join("outside"));
    let link = new_id();
    symlink(&outside_session, root.join(&link)).unwrap();

    for h in [0.0, 24.0] {
        for dry_run in [true, false] {
            let r = prune(&root, h, dry_run);
            assert!(
                r.deleted_sessions.is_empty() && r.skipped_sessions.is_empty() && r.errors.is_empty(),
                "{r:?}"
            );
        }
    }
    assert_eq!(snapshot(&tmp.path().join("outside")), before);
    // Nor can it be used as a session by the other calls.
    assert_eq!(
        wsprune::touch_session(&root, &link).unwrap_err().status(),
        Status::NotFound
    );
    assert_eq!(wsprune::acquire(&root, &link).unwrap_err().status(), Status::NotFound);
    assert_eq!(
        wsprune::read_metadata(&root, &link).unwrap_err().status(),
        Status::NotFound
    );
    assert_eq!(
        wsprune::create_session(&root, Some(&link)).unwrap_err().status(),
        Status::AlreadyExists
    );
    assert_eq!(snapshot(&tmp.path().join("outside")), before);
}

/// `.metadata.json` that is a symlink or an extra hard link to a file outside
/// is not trusted: the session is skipped as corrupted, touch does not write
/// through it, and the outside file is unchanged.
#[test]
fn metadata_linked_outside_is_not_trusted() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let sym = new_id();
    let hard = new_id();
    std::fs::create_dir_all(root.join(&sym)).unwrap();
    std::fs::create_dir_all(root.join(&hard)).unwrap();
    std::fs::write(outside.join("sym.json"), metadata_text(&sym, hours_ago(100.0))).unwrap();
    std::fs::write(outside.join("hard.json"), metadata_text(&hard, hours_ago(100.0))).unwrap();
    symlink(outside.join("sym.json"), root.join(&sym).join(".metadata.json")).unwrap();
    std::fs::hard_link(outside.join("hard.json"), root.join(&hard).join(".metadata.json")).unwrap();
    let before = snapshot(&outside);

    let r = prune(&root, 0.0, false);
    assert!(r.deleted_sessions.is_empty());
    assert_eq!(skipped(&r), {
        let mut v = vec![
            (sym.clone(), SkipReason::CorruptedMetadata),
            (hard.clone(), SkipReason::CorruptedMetadata),
        ];
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    });
    for id in [&sym, &hard] {
        assert!(matches!(
            wsprune::touch_session(&root, id).unwrap(),
            wsprune::TouchOutcome::Corrupted(_)
        ));
        let lease = wsprune::acquire(&root, id).unwrap();
        assert!(matches!(
            lease.release(true).unwrap(),
            Some(wsprune::TouchOutcome::Corrupted(_))
        ));
    }
    assert_eq!(
        snapshot(&outside),
        before,
        "metadata outside the root was written through a link"
    );
}

fn traversal_ids() -> Vec<String> {
    let u = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let v = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
    vec![
        "".into(),
        ".".into(),
        "..".into(),
        "../..".into(),
        "../../..".into(),
        "../outside".into(),
        "/".into(),
        "/etc".into(),
        "/tmp".into(),
        format!("{u}/.."),
        format!("{u}/../.."),
        format!("{u}/../{v}"),
        format!("../{u}"),
        format!("./{u}"),
        format!("{u}/"),
        format!("/{u}"),
        format!("{u}/.metadata.json"),
        format!("{u}\n"),
        format!("\t{u}"),
        format!("{u}\x7f"),
        format!(".{u}"),
        format!(".wsprune-trash.{u}.1.2"),
        "site-packages".into(),
        "x".repeat(256),
        "..%2f..".into(),
        "....//....//".into(),
        "0f8fad5b-d9cb-469f-a165-70867728950/".into(),
        "0f8fad5b/d9cb/469f/a165/70867728950e".into(),
    ]
}

/// As the reference implementation's test_prune_validates_session_id: every API refuses names that are
/// neither UUIDs nor safe custom ids (every traversal attempt, hidden and
/// trash names, control characters, `site-packages`, 256 bytes) with
/// InvalidSessionId, and touches nothing. (Names such as `urn:uuid:<u>` or
/// `<u>x` are custom ids now: tests/session_names.rs.)
#[test]
fn traversal_session_ids_are_rejected_by_every_api() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    // A real session so that "<uuid>/.." style ids have something to resolve through.
    let u = "0f8fad5b-d9cb-469f-a165-70867728950e";
    session_at(&root, u, 100.0);
    // Something outside that "../outside" would hit.
    let outside = tmp.path().join("outside");
    session_at(tmp.path(), "outside", 100.0);
    write_file(&outside.join("f"), 10);
    let before = snapshot(tmp.path());

    let mut all = traversal_ids();
    all.push(format!("{u}\0"));
    all.push("..\0".into());
    for id in &all {
        let check = |what: &str, e: wsprune::Error| {
            assert_eq!(
                e.status(),
                Status::InvalidSessionId,
                "{what}({id:?}) gave {:?}: {e}",
                e.status()
            );
        };
        check("create_session", wsprune::create_session(&root, Some(id)).unwrap_err());
        check("touch_session", wsprune::touch_session(&root, id).unwrap_err());
        check("acquire", wsprune::acquire(&root, id).unwrap_err());
        check("read_metadata", wsprune::read_metadata(&root, id).unwrap_err());
        // Also with a root that does not exist (validation comes first).
        check(
            "create_session",
            wsprune::create_session(&tmp.path().join("new-root"), Some(id)).unwrap_err(),
        );
    }

    // The C ABI, for every id that can be a C string.
    let croot = CString::new(root.to_str().unwrap()).unwrap();
    for id in traversal_ids() {
        let cid = CString::new(id.clone()).unwrap();
        // SAFETY: C strings and out pointers are live locals for each call; every error is freed once.
        unsafe {
            let expect = |what: &str, st: wsprune_status, err: *mut ffi::wsprune_error| {
                assert_eq!(st, wsprune_status::WSPRUNE_STATUS_INVALID_SESSION_ID, "{what}({id:?})");
                assert!(!err.is_null(), "{what}({id:?}) set no error");
                assert_eq!(
                    ffi::wsprune_error_status(err),
                    wsprune_status::WSPRUNE_STATUS_INVALID_SESSION_ID
                );
                ffi::wsprune_error_free(err);
            };
            let mut err = std::ptr::null_mut();
            let mut out = [0 as c_char; 64];
            let st = ffi::wsprune_session_create(croot.as_ptr(), cid.as_ptr(), out.as_mut_ptr(), out.len(), &mut err);
            expect("wsprune_session_create", st, err);
            let mut err = std::ptr::null_mut();
            let st = ffi::wsprune_session_touch(croot.as_ptr(), cid.as_ptr(), &mut err);
            expect("wsprune_session_touch", st, err);
            let mut err = std::ptr::null_mut();
            let mut lease = std::ptr::null_mut();
            let st = ffi::wsprune_session_acquire(croot.as_ptr(), cid.as_ptr(), &mut lease, &mut err);
            expect("wsprune_session_acquire", st, err);
            assert!(lease.is_null());
        }
    }
    assert_eq!(snapshot(tmp.path()), before, "a rejected id changed the filesystem");
}

/// As the reference implementation's test_metadata_hidden_from_guest: `.metadata.json` is 0600, so a
/// guest running as another user cannot read it (checked by really trying as
/// uid 65534), also after touches (in place, and after rewriting a
/// Python-format file).
#[test]
fn metadata_is_hidden_from_guest_user() {
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    open_up(tmp.path(), 0o755);
    let root = tmp.path().join("ws");
    let id = wsprune::create_session(&root, None).unwrap();
    let d = root.join(&id);
    let meta = d.join(".metadata.json");
    assert_eq!(std::fs::metadata(&meta).unwrap().mode() & 0o777, 0o600);
    wsprune::touch_session(&root, &id).unwrap();
    assert_eq!(
        std::fs::metadata(&meta).unwrap().mode() & 0o777,
        0o600,
        "after an in-place touch"
    );

    let py = wsprune::create_session(&root, None).unwrap();
    let py_meta = root.join(&py).join(".metadata.json");
    std::fs::write(
        &py_meta,
        format!("{{\n  \"session_id\": \"{py}\",\n  \"created_at\": \"2025-01-01T00:00:00+00:00\",\n  \"updated_at\": \"2025-01-01T00:00:00+00:00\",\n  \"version\": 1\n}}"),
    )
    .unwrap();
    std::fs::set_permissions(&py_meta, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ino = std::fs::metadata(&py_meta).unwrap().ino();
    wsprune::touch_session(&root, &py).unwrap();
    let md = std::fs::metadata(&py_meta).unwrap();
    assert_eq!(
        md.mode() & 0o777,
        0o600,
        "after a rewriting touch (inode changed: {})",
        md.ino() != ino
    );

    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED the guest-read part of metadata_is_hidden_from_guest_user: not root, cannot switch to another user");
        return;
    }
    write_file(&d.join("guest-visible.txt"), 5);
    let as_guest = |p: &Path| {
        use std::os::unix::process::CommandExt;
        std::process::Command::new("cat")
            .arg(p)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap()
    };
    let control = as_guest(&d.join("guest-visible.txt"));
    if !control.status.success() {
        eprintln!(
            "SKIPPED the guest-read part of metadata_is_hidden_from_guest_user: uid 65534 cannot read even a 0644 file ({})",
            String::from_utf8_lossy(&control.stderr).trim()
        );
        return;
    }
    for m in [&meta, &py_meta] {
        let o = as_guest(m);
        assert!(
            !o.status.success(),
            "guest read {}: {}",
            m.display(),
            String::from_utf8_lossy(&o.stdout)
        );
        assert!(String::from_utf8_lossy(&o.stderr).contains("Permission denied"));
    }
}

/// The CVE-2022-21658 class: while a prune runs, an attacker keeps
/// swapping directories of the stale session (and the session itself) for
/// symlinks to a canary outside the root. The canary must never be touched.
#[test]
fn symlink_swap_race_never_reaches_outside() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    let canary_dir = canary(&outside.join("canary"));
    let before = snapshot(&outside);
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut rounds = 0;
    let swaps = Arc::new(AtomicUsize::new(0));
    while Instant::now() < deadline || rounds < 20 {
        let root = tmp.path().join(format!("ws{rounds}"));
        let s = session(&root, 48.0);
        let d = root.join(&s);
        for sub in ["sub", "sub/inner", "other"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
            for i in 0..4 {
                write_file(&d.join(sub).join(format!("f{i}")), 100);
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let attacker = {
            let (d, root, s, canary_dir, stop, swaps) = (
                d.clone(),
                root.clone(),
                s.clone(),
                canary_dir.clone(),
                stop.clone(),
                swaps.clone(),
            );
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    // Swap a subdirectory for a symlink to the canary, then back.
                    let (real, away) = if n.is_multiple_of(2) {
                        ("sub", "sub.away")
                    } else {
                        ("sub/inner", "sub/inner.away")
                    };
                    if std::fs::rename(d.join(real), d.join(away)).is_ok() {
                        if symlink(&canary_dir, d.join(real)).is_ok() {
                            swaps.fetch_add(1, Ordering::Relaxed);
                        }
                        std::thread::yield_now();
                        let _ = std::fs::remove_file(d.join(real));
                        let _ = std::fs::rename(d.join(away), d.join(real));
                    }
                    // Swap the session directory itself.
                    if n.is_multiple_of(5) && std::fs::rename(root.join(&s), root.join("moved")).is_ok() {
                        let _ = symlink(&canary_dir, root.join(&s));
                        std::thread::yield_now();
                        let _ = std::fs::remove_file(root.join(&s));
                        let _ = std::fs::rename(root.join("moved"), root.join(&s));
                    }
                }
            })
        };
        for _ in 0..3 {
            let _ = prune(&root, 24.0, false);
        }
        stop.store(true, Ordering::Relaxed);
        attacker.join().unwrap();
        assert_eq!(
            snapshot(&outside),
            before,
            "round {rounds}: the canary outside the root was changed"
        );
        rounds += 1;
    }
    eprintln!(
        "symlink_swap_race_never_reaches_outside: {rounds} rounds, {} swaps",
        swaps.load(Ordering::Relaxed)
    );
}
