//! The host-owned session state (docs/host-state.md): what a prune, `ls`,
//! `rm`, a lease and create-or-open decide rests on records and lock files
//! in the root's host directory, never on what a guest can write or lock in
//! its session. One test per hole the attack review reproduced, each failing
//! on wsprune 0.3, plus the migration of 0.3 and reference-implementation
//! directories and the write paths on filesystems without RENAME_NOREPLACE.

#[path = "prune_support/mod.rs"]
mod support;

use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;
use wsprune::{PruneOptions, SessionOptions, SessionState, Status};

fn adopt() -> SessionOptions {
    SessionOptions {
        adopt: true,
        ..Default::default()
    }
}

/// A session idle 48 h by the host's record is pruned whatever its guest did
/// to its `.metadata.json`: deleted it, dated it 2099, wrote garbage, put a
/// directory in its place. A fresh session whose guest dated its file 2000 is
/// kept. Until the prune, every one of them is listed (none is invisible)
/// and can be deleted by `rm` (none is "not found").
#[test]
fn what_the_guest_writes_in_its_metadata_changes_nothing() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let tampered = |id: &str, how: &str| {
        let created = wsprune::create_session(&root, Some(id)).unwrap();
        set_record(&root, &created, hours_ago(48.0));
        write_file(&root.join(id).join("work.bin"), 4096);
        let meta = root.join(id).join(".metadata.json");
        std::fs::remove_file(&meta).unwrap();
        match how {
            "deleted" => {}
            "future" => std::fs::write(&meta, metadata_text(id, hours_ago(-24.0 * 365.0 * 70.0))).unwrap(),
            "garbage" => std::fs::write(&meta, b"\x00\xffnot json").unwrap(),
            "directory" => std::fs::create_dir(&meta).unwrap(),
            _ => unreachable!(),
        }
    };
    for how in ["deleted", "future", "garbage", "directory"] {
        tampered(&format!("guest-{how}"), how);
    }
    let fresh = wsprune::create_session(&root, Some("guest-fresh")).unwrap();
    write_metadata_raw(
        &root.join(&fresh),
        &metadata_text(&fresh, hours_ago(24.0 * 365.0 * 26.0)),
    );
    let rm_me = wsprune::create_session(&root, Some("guest-rm")).unwrap();
    write_file(&root.join(&rm_me).join("work.bin"), 4096);
    std::fs::remove_file(root.join(&rm_me).join(".metadata.json")).unwrap();

    let listed: Vec<(String, SessionState)> = wsprune::list_sessions(&root, 2)
        .unwrap()
        .into_iter()
        .map(|s| (s.session_id, s.state))
        .collect();
    let expected: Vec<(String, SessionState)> = [
        "guest-deleted",
        "guest-directory",
        "guest-fresh",
        "guest-future",
        "guest-garbage",
        "guest-rm",
    ]
    .iter()
    .map(|id| (id.to_string(), SessionState::Ok))
    .collect();
    assert_eq!(
        listed, expected,
        "a session the guest tampered with is invisible or misread"
    );
    let info = wsprune::session_info(&root, "guest-future").unwrap();
    assert!(info.age_hours(chrono::Utc::now()).unwrap() > 47.0, "{info:?}");

    assert!(wsprune::delete_session(&root, &rm_me, None).unwrap() > 0);
    assert!(!exists(&root.join(&rm_me)));
    assert!(!record_path(&root, &rm_me).exists(), "rm left the record");

    let r = prune(&root, 24.0, false);
    assert_eq!(
        r.deleted_sessions,
        vec!["guest-deleted", "guest-directory", "guest-future", "guest-garbage"],
        "{r:?}"
    );
    assert!(r.skipped_sessions.is_empty() && r.errors.is_empty(), "{r:?}");
    assert!(r.reclaimed_bytes >= 4 * 4096);
    assert_eq!(names(&root), vec![fresh.clone()]);
    for id in &r.deleted_sessions {
        assert!(!record_path(&root, id).exists(), "{id}: its record outlived it");
    }
}

/// Hole 1: a guest that can open another session's directory (a runtime
/// that makes them 0755) takes an exclusive `flock` on it. On 0.3 that
/// session was then skipped `in_use` by every prune, and `rm` and its own
/// runtime's acquire were BUSY. Directory locks decide nothing now: the
/// lease, the deletion and the prune use the host's lock file. And by
/// default a session directory is 0700, so the guest cannot even open it.
#[test]
fn a_guest_lock_on_another_session_blocks_nothing() {
    const TEST: &str = "a_guest_lock_on_another_session_blocks_nothing";
    let _serial = exclusive();
    if let Err(why) = can_run_unprivileged() {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    if Command::new("flock").arg("--version").output().is_err() {
        eprintln!("SKIPPED {TEST}: needs flock(1)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    open_up(tmp.path(), 0o755);
    let root = tmp.path().join("ws");
    let readable = SessionOptions {
        dir_mode: Some(0o755),
        ..Default::default()
    };
    let alice = wsprune::create_session_with(&root, Some("alice"), &readable).unwrap();
    let carol = wsprune::create_session_with(&root, Some("carol"), &readable).unwrap();
    let private = wsprune::create_session(&root, Some("bob")).unwrap();
    assert_eq!(
        std::fs::metadata(root.join(&private)).unwrap().permissions().mode() & 0o777,
        0o700,
        "a session directory is 0700 by default"
    );
    set_record(&root, &alice, hours_ago(48.0));

    // The guest (uid 65534, as a sandbox runs it) locks alice's and carol's
    // directories, and cannot open bob's.
    let guest = |dir: &Path| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "flock", "-xn"])
            .arg(dir)
            .args(["sleep", "30"])
            .spawn()
            .expect("setpriv flock")
    };
    let mut holders = vec![guest(&root.join(&alice)), guest(&root.join(&carol))];
    let mut denied = guest(&root.join(&private));
    assert!(
        !denied.wait().unwrap().success(),
        "the guest opened a 0700 session of another"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let locked = |id: &str| {
        let d = std::fs::File::open(root.join(id)).unwrap();
        // SAFETY: flock takes no pointers; a bad descriptor would only be an error.
        let free = unsafe { libc::flock(d.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        !free
    };
    while !(locked(&alice) && locked(&carol)) {
        assert!(Instant::now() < deadline, "the guest never took its locks");
        std::thread::sleep(Duration::from_millis(20));
    }

    // carol's own runtime leases and touches it; rm of carol waits for that lease only.
    let lease = wsprune::acquire(&root, &carol).expect("a guest's lock made acquire BUSY");
    assert_eq!(
        wsprune::delete_session(&root, &carol, None).unwrap_err().status(),
        Status::Busy,
        "a deletion ignored a lease"
    );
    lease.release(true).unwrap();
    // alice is stale by her record: the prune deletes her, the guest's lock notwithstanding.
    let r = wsprune::prune_sessions(&root, &PruneOptions::older_than(24.0, false)).unwrap();
    assert_eq!(r.deleted_sessions, vec![alice.clone()], "{r:?}");
    assert!(
        wsprune::delete_session(&root, &carol, None).is_ok(),
        "a guest's lock made rm BUSY"
    );
    for h in &mut holders {
        let _ = h.kill();
        let _ = h.wait();
    }
}

/// Hole 3: create-or-open adopted any directory named like the id (an
/// operator's `pip-cache`), wrote metadata into it and handed it out; the
/// next prune deleted it with the operator's data. Now only a registered
/// session or a directory with valid metadata is opened; anything else needs
/// `adopt`, and an operator can reserve names outright.
#[test]
fn open_adopts_only_sessions() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir_all(root.join("pip-cache/wheels")).unwrap();
    write_file(&root.join("pip-cache/wheels/numpy.whl"), 1000);
    let before = snapshot(&root.join("pip-cache"));

    let e = wsprune::create_or_open_session(&root, Some("pip-cache")).unwrap_err();
    assert_eq!(e.status(), Status::NotFound, "{e:?}");
    assert!(e.message().contains("--adopt"), "{}", e.message());
    assert_eq!(
        snapshot(&root.join("pip-cache")),
        before,
        "a refused open wrote into the directory"
    );
    assert_eq!(
        wsprune::acquire(&root, "pip-cache").unwrap_err().status(),
        Status::NotFound
    );
    assert!(wsprune::list_sessions(&root, 1).unwrap().is_empty());
    let r = prune(&root, 0.0, false);
    assert!(r.deleted_sessions.is_empty() && exists(&root.join("pip-cache/wheels/numpy.whl")));

    // Reserved by the operator: never a session, adopt or not, in any case.
    let reserve = SessionOptions {
        adopt: true,
        reserved: vec!["pip-cache".into()],
        ..Default::default()
    };
    for id in ["pip-cache", "site-packages"] {
        let e = wsprune::create_or_open_session_with(&root, Some(id), &reserve).unwrap_err();
        assert_eq!(e.status(), Status::InvalidSessionId, "{e:?}");
        assert_eq!(
            wsprune::create_session_with(&root, Some(id), &reserve)
                .unwrap_err()
                .status(),
            Status::InvalidSessionId
        );
    }
    assert_eq!(snapshot(&root.join("pip-cache")), before);

    // Adopted when asked: a session from then on, registered dated now.
    assert_eq!(
        wsprune::create_or_open_session_with(&root, Some("pip-cache"), &adopt()).unwrap(),
        ("pip-cache".to_owned(), false)
    );
    assert!(record_path(&root, "pip-cache").exists());
    assert_eq!(
        wsprune::session_info(&root, "pip-cache").unwrap().state,
        SessionState::Ok
    );

    // A bad directory mode is refused before anything is made.
    for mode in [0o7777, 0o1700, 0o600, 0o055] {
        let bad = SessionOptions {
            dir_mode: Some(mode),
            ..Default::default()
        };
        let e = wsprune::create_session_with(&root, Some("never"), &bad).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{mode:o}");
    }
    assert!(!exists(&root.join("never")));
}

/// Hole 4: on a case-insensitive (casefold) directory, `Site-Packages` names
/// the reserved `site-packages`; reserved names compare as the directory
/// does. Needs ext4 with the casefold feature (a loop mount); this kernel may
/// not have it, in which case the test says so.
#[test]
fn reserved_names_compare_as_a_casefold_directory_does() {
    const TEST: &str = "reserved_names_compare_as_a_casefold_directory_does";
    let _serial = exclusive();
    if !Path::new("/sys/fs/ext4/features/casefold").exists() {
        eprintln!("SKIPPED {TEST}: this kernel's ext4 has no casefold feature (CONFIG_UNICODE)");
        return;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED {TEST}: needs root for a loop mount");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let image = tmp.path().join("fs.img");
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
    assert!(ok(Command::new("truncate").arg("-s").arg("16M").arg(&image)));
    if !ok(Command::new("mkfs.ext4").args(["-q", "-O", "casefold"]).arg(&image)) {
        eprintln!("SKIPPED {TEST}: mkfs.ext4 -O casefold failed");
        return;
    }
    if !ok(Command::new("mount").args(["-o", "loop"]).arg(&image).arg(&mnt)) {
        eprintln!("SKIPPED {TEST}: cannot loop-mount");
        return;
    }
    struct Umount(std::path::PathBuf);
    impl Drop for Umount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _umount = Umount(mnt.clone());
    let root = mnt.join("ws");
    std::fs::create_dir(&root).unwrap();
    assert!(ok(Command::new("chattr").arg("+F").arg(&root)));
    std::fs::create_dir(root.join("site-packages")).unwrap();
    let reserve = SessionOptions {
        adopt: true,
        reserved: vec!["pip-cache".into()],
        ..Default::default()
    };
    for id in ["Site-Packages", "SITE-PACKAGES", "Pip-Cache"] {
        let e = wsprune::create_or_open_session_with(&root, Some(id), &reserve).unwrap_err();
        assert_eq!(e.status(), Status::InvalidSessionId, "{id}: {e:?}");
    }
    assert_eq!(
        wsprune::create_session(&root, Some("Alice")).unwrap(),
        "Alice".to_owned()
    );
    assert_eq!(
        wsprune::create_session(&root, Some("alice")).unwrap_err().status(),
        Status::AlreadyExists
    );
}

/// `migrate` registers what wsprune 0.3 and the reference implementation
/// left, trusting their metadata once: a dry run writes nothing; directories
/// with corrupted metadata and directories a 0.3 runtime holds locked are
/// skipped; a custom-id directory without metadata is not a session. After
/// it, what a guest writes into its `.metadata.json` changes nothing.
#[test]
fn migrate_registers_older_sessions_once() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir(&root).unwrap();
    let old = session_at(&root, &new_id(), 48.0)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let custom = session_at(&root, "from-reference", 2.0);
    let legacy = legacy_session(&root);
    std::fs::create_dir(root.join("broken")).unwrap();
    write_metadata_raw(&root.join("broken"), "{oops");
    let leased = session_at(&root, &new_id(), 48.0)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    std::fs::create_dir(root.join("not-a-session")).unwrap();
    let held = std::fs::File::open(root.join(&leased)).unwrap();
    // SAFETY: flock takes no pointers; a bad descriptor would only be an error.
    assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_SH) }, 0);

    let dry = wsprune::migrate_sessions(&root, true).unwrap();
    let ids = |r: &wsprune::MigrateResult| r.registered.iter().map(|m| m.session_id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&dry),
        sorted(&[old.clone(), "from-reference".into(), legacy.clone()])
    );
    assert!(!record_path(&root, &old).exists(), "a dry run registered");
    assert!(!root.join(HOST_DIR).exists(), "a dry run made the host directory");
    let skipped: Vec<&str> = dry.skipped.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(skipped, sorted(&["broken".into(), leased.clone()]));

    let r = wsprune::migrate_sessions(&root, false).unwrap();
    assert_eq!(ids(&r), ids(&dry));
    assert!(r.registered.iter().any(|m| m.session_id == legacy && !m.had_metadata));
    assert!(custom.exists() && record_path(&root, "from-reference").exists());
    // Registered: the guest's rewrite to look fresh (or its deletion) changes nothing.
    write_metadata_raw(&root.join(&old), &metadata_text(&old, hours_ago(0.0)));
    std::fs::remove_file(root.join("from-reference/.metadata.json")).unwrap();
    drop(held);
    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, sorted(&[old.clone(), leased.clone()]), "{r:?}");
    assert!(exists(&root.join("from-reference")) && exists(&root.join(&legacy)));
    // A second migration has nothing left to do but the broken one.
    let again = wsprune::migrate_sessions(&root, false).unwrap();
    assert!(again.registered.is_empty(), "{again:?}");
}

/// A record whose directory is gone (removed by hand, or a deletion killed
/// between its rename and its unregistering) is removed by the next prune;
/// a session whose record was written by a killed process is never half
/// registered: its lock file and record come and go together with it.
#[test]
fn orphan_records_are_removed_by_the_next_prune() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let gone = wsprune::create_session(&root, None).unwrap();
    let kept = wsprune::create_session(&root, None).unwrap();
    std::fs::remove_dir_all(root.join(&gone)).unwrap();
    let dry = wsprune::prune_sessions(&root, &PruneOptions::older_than(24.0, true)).unwrap();
    assert!(dry.deleted_sessions.is_empty() && record_path(&root, &gone).exists());
    let r = prune(&root, 24.0, false);
    assert!(r.deleted_sessions.is_empty() && r.errors.is_empty(), "{r:?}");
    assert!(!record_path(&root, &gone).exists(), "the orphan record stayed");
    assert!(
        !root.join(".wsprune/locks").join(&gone).exists(),
        "its lock file stayed"
    );
    assert!(record_path(&root, &kept).exists());
    // The id can be created again.
    assert_eq!(wsprune::create_session(&root, Some(&gone)).unwrap(), gone);
}

/// A prune run as root on a root owned by the runtime's user (a systemd
/// timer) must not leave the host directory, records or lock files to root
/// alone: the runtime, running as the root's owner, keeps creating,
/// touching and leasing afterwards.
#[test]
fn a_prune_as_root_leaves_the_host_state_to_the_roots_owner() {
    const TEST: &str = "a_prune_as_root_leaves_the_host_state_to_the_roots_owner";
    const CHILD: &str = "WSPRUNE_HOST_STATE_CHILD";
    if let Ok(root) = std::env::var(CHILD) {
        let root = Path::new(&root);
        let id = wsprune::create_session(root, None).unwrap();
        wsprune::touch_session(root, "registered-by-owner").unwrap();
        let lease = wsprune::acquire(root, "registered-by-owner").unwrap();
        lease.release(true).unwrap();
        println!("WSPRUNE_RESULT {{\"created\": \"{id}\"}}");
        return;
    }
    let Some(setup) = unprivileged_setup(TEST) else {
        return;
    };
    let root = setup.root.clone();
    std::fs::create_dir(&root).unwrap();
    let c = std::ffi::CString::new(root.to_str().unwrap()).unwrap();
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
    // Root registers one session (an operator's `wsprune open`) and prunes.
    let id = wsprune::create_session(&root, Some("registered-by-owner")).unwrap();
    let c = std::ffi::CString::new(root.join(&id).to_str().unwrap()).unwrap();
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
    prune(&root, 24.0, false);
    for p in [
        "",
        "lock",
        "sessions",
        "locks",
        "sessions/registered-by-owner",
        "locks/registered-by-owner",
    ] {
        let md = std::fs::metadata(root.join(HOST_DIR).join(p)).unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::uid(&md),
            65534,
            "{p} is not the root owner's"
        );
    }
    let out = run_self(TEST, &[(CHILD, root.display().to_string())], Some(65534)).unwrap();
    let j = &child_results(&out)[0];
    assert!(j["created"].is_string(), "{j}");
}

/// Every write reports its error and leaves nothing half made: on a full
/// filesystem (a 1 MiB tmpfs) creation fails with the error and leaves no
/// directory, record or lock file; a prune still runs there and frees space.
#[test]
fn a_full_filesystem_fails_creation_cleanly_and_is_still_pruned() {
    const TEST: &str = "a_full_filesystem_fails_creation_cleanly_and_is_still_pruned";
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("small");
    if let Err(why) = mount_tmpfs(&mnt, "size=1m,nr_inodes=64") {
        eprintln!("SKIPPED {TEST}: {why}");
        return;
    }
    struct Umount(std::path::PathBuf);
    impl Drop for Umount {
        fn drop(&mut self) {
            umount(&self.0);
        }
    }
    let _umount = Umount(mnt.clone());
    let root = mnt.join("ws");
    let stale = wsprune::create_session(&root, Some("stale")).unwrap();
    set_record(&root, &stale, hours_ago(48.0));
    // Fill the data blocks.
    let _ = std::fs::write(root.join(&stale).join("fill"), vec![7u8; 2 << 20]);
    let mut failures = 0;
    for n in 0..80 {
        match wsprune::create_session(&root, Some(&format!("s{n}"))) {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.status(), Status::Io, "{e:?}");
                failures += 1;
                let id = format!("s{n}");
                assert!(!exists(&root.join(&id)), "{id}: a failed create left its directory");
                assert!(
                    !record_path(&root, &id).exists(),
                    "{id}: a failed create left its record"
                );
                assert!(
                    !root.join(".wsprune/locks").join(&id).exists(),
                    "{id}: a failed create left its lock"
                );
            }
        }
    }
    assert!(failures > 0, "the filesystem never filled up");
    let r = prune(&root, 24.0, false);
    assert!(r.deleted_sessions.contains(&stale), "{r:?}");
}

/// On a filesystem without RENAME_NOREPLACE (a FUSE mount such as bindfs,
/// which answers EINVAL), wsprune 0.3 dropped the error: `create` printed an
/// id and wrote no metadata, so the session was legacy forever. Every write
/// now succeeds there (a hard link keeps the no-replace guarantee) or
/// reports its error.
#[test]
fn a_filesystem_without_rename_noreplace_still_gets_every_write() {
    const TEST: &str = "a_filesystem_without_rename_noreplace_still_gets_every_write";
    let _serial = exclusive();
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 || Command::new("bindfs").arg("--version").output().is_err() {
        eprintln!("SKIPPED {TEST}: needs root and bindfs (apt-get install bindfs)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (src, mnt) = (tmp.path().join("src"), tmp.path().join("mnt"));
    std::fs::create_dir(&src).unwrap();
    std::fs::create_dir(&mnt).unwrap();
    assert!(Command::new("bindfs").arg(&src).arg(&mnt).status().unwrap().success());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("fusermount").arg("-u").arg(&self.0).status();
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    let root = mnt.join("ws");
    let id = wsprune::create_session(&root, Some("over-fuse")).unwrap();
    assert!(
        root.join(&id).join(".metadata.json").is_file(),
        "the mirror was not written"
    );
    assert!(record_path(&root, &id).is_file(), "the record was not written");
    assert!(matches!(
        wsprune::read_metadata(&root, &id).unwrap(),
        wsprune::MetadataState::Valid(_)
    ));
    // A 0.3-style directory: a touch that must rewrite its metadata, and a repair.
    std::fs::create_dir(root.join("older")).unwrap();
    write_metadata_raw(
        &root.join("older"),
        &metadata_text("older", hours_ago(1.0)).replace('Z', "+00:00"),
    );
    assert!(matches!(
        wsprune::touch_session(&root, "older").unwrap(),
        wsprune::TouchOutcome::Updated(_)
    ));
    set_record(&root, &id, hours_ago(48.0));
    // FUSE keeps directory locks on this host only: the prune must be told so.
    let opts = PruneOptions {
        single_host: true,
        ..PruneOptions::older_than(24.0, false)
    };
    let r = wsprune::prune_sessions(&root, &opts).unwrap();
    assert_eq!(r.deleted_sessions, vec![id], "{r:?}");
    assert!(r.errors.is_empty(), "{r:?}");
}

/// Looking writes nothing: `info` and `ls` of a registered session whose
/// lock file is gone (removed by hand, or lost in a crash) do not create it,
/// and call the session not in use (a lease creates the lock file before it
/// locks it). `rm`, which waits for the lock, creates it and deletes.
#[test]
fn looking_at_a_session_creates_no_lock_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let id = wsprune::create_session(&root, None).unwrap();
    let lock = root.join(HOST_DIR).join("locks").join(&id);
    std::fs::remove_file(&lock).unwrap();

    let info = wsprune::session_info(&root, &id).unwrap();
    assert_eq!((info.state, info.in_use), (SessionState::Ok, false));
    let listed = wsprune::list_sessions(&root, 1).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].in_use);
    assert!(!lock.exists(), "info or ls created the lock file");

    wsprune::delete_session(&root, &id, None).unwrap();
    assert!(!root.join(&id).exists());
    assert!(!record_path(&root, &id).exists());
}

/// A guest's compact `.metadata.json` under the 64 KiB limit can grow past
/// it when written as an indented record (a large unknown field). Registered
/// as it was, the record would read back as corrupted and no rule would ever
/// delete the session. Registration keeps unknown fields only while the
/// record fits: the sessions stay readable, and stale ones are pruned.
#[test]
fn a_guest_file_that_would_grow_past_the_limit_still_makes_a_readable_record() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir(&root).unwrap();
    let two_days_ago = wsprune::metadata::format_timestamp(chrono::Utc::now() - chrono::Duration::hours(48));
    let nested = vec!["[]"; 20_000].join(",");
    let plant = |id: &str| {
        std::fs::create_dir(root.join(id)).unwrap();
        let compact = format!(
            r#"{{"session_id":"{id}","created_at":"{two_days_ago}","updated_at":"{two_days_ago}","version":1,"x":[{nested}]}}"#
        );
        assert!(compact.len() < wsprune::metadata::MAX_METADATA_BYTES);
        std::fs::write(root.join(id).join(".metadata.json"), compact).unwrap();
    };
    // Registered by migrate, and by an open of the directory.
    plant("migrated");
    let migrated = wsprune::migrate_sessions(&root, false).unwrap();
    assert_eq!(migrated.registered.len(), 1, "{migrated:?}");
    plant("opened");
    let (id, created) = wsprune::create_or_open_session(&root, Some("opened")).unwrap();
    assert_eq!((id.as_str(), created), ("opened", false));
    for id in ["migrated", "opened"] {
        let record = std::fs::read(record_path(&root, id)).unwrap();
        assert!(
            record.len() <= wsprune::metadata::MAX_METADATA_BYTES,
            "{id}: {}",
            record.len()
        );
        assert_eq!(
            wsprune::session_info(&root, id).unwrap().state,
            SessionState::Ok,
            "{id}"
        );
    }
    let r = wsprune::prune_sessions(&root, &PruneOptions::older_than(24.0, false)).unwrap();
    let mut deleted = r.deleted_sessions.clone();
    deleted.sort();
    assert_eq!(deleted, ["migrated", "opened"], "{r:?}");
}

/// A 0.3 session directory (no record) holding valid `.metadata.json`
/// with `updated_at`, for the registration tests below.
fn plant_unregistered(root: &Path, id: &str, updated_at: &str) -> std::fs::File {
    std::fs::create_dir_all(root.join(id)).unwrap();
    std::fs::write(
        root.join(id).join(".metadata.json"),
        format!(r#"{{"session_id":"{id}","created_at":"{updated_at}","updated_at":"{updated_at}","version":1}}"#),
    )
    .unwrap();
    std::fs::File::open(root.join(id)).unwrap()
}

/// Takes `op` (LOCK_EX, LOCK_SH) on `dir` without waiting; panics if held.
fn flock_now(dir: &std::fs::File, op: libc::c_int) {
    // SAFETY: takes no pointers; `dir` is open for the call.
    assert_eq!(unsafe { libc::flock(dir.as_raw_fd(), op | libc::LOCK_NB) }, 0);
}

/// Registering an existing directory (an open of a 0.3 session) is a short
/// lease on it: while a deletion holds it (an exclusive flock on the
/// directory, then the move to trash), the open waits as a lease does and
/// finds the session gone (create-or-open then makes a new one), so that a
/// prune never
/// deletes a session a caller was just told is open (and may pin). A lock
/// held longer than a lease waits is not a deletion's (a guest's own flock):
/// the open registers the session anyway, or a guest could keep itself
/// unregistered, and never pruned, by locking its directory.
#[test]
fn an_open_registering_a_directory_waits_for_its_deletion() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let now = wsprune::metadata::format_timestamp(chrono::Utc::now());
    let id = "legacy-0.3";
    let dir = plant_unregistered(&root, id, &now);
    flock_now(&dir, libc::LOCK_EX);
    let deleter = {
        let root = root.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::rename(root.join(id), root.join(".trash-deleted")).unwrap();
            drop(dir);
        })
    };
    // The session it found went (to trash): create-or-open makes a new one.
    let opened = wsprune::create_or_open_session(&root, Some(id)).unwrap();
    deleter.join().unwrap();
    assert_eq!(opened, (id.to_owned(), true));
    assert!(
        root.join(".trash-deleted/.metadata.json").exists(),
        "the deleted one was touched"
    );

    // A guest's own lock, held for good: registered after the lease's wait.
    let guest = "guest-locked";
    let dir = plant_unregistered(&root, guest, &now);
    flock_now(&dir, libc::LOCK_EX);
    let started = Instant::now();
    assert_eq!(
        wsprune::create_or_open_session(&root, Some(guest)).unwrap(),
        (guest.to_owned(), false)
    );
    assert!(started.elapsed() >= Duration::from_millis(1500), "did not wait");
    assert!(record_path(&root, guest).exists());
}

/// An open that waited for a directory someone else registered meanwhile
/// (a create finishing, another open, migrate; then a pin) keeps their
/// record: it never writes its own over it from the directory's
/// `.metadata.json`, which would drop the pin.
#[test]
fn an_open_keeps_a_record_written_while_it_waited() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let now = wsprune::metadata::format_timestamp(chrono::Utc::now());
    let id = "raced";
    let dir = plant_unregistered(&root, id, &now);
    // Someone holds the directory (as a create does until its record is written).
    flock_now(&dir, libc::LOCK_EX);
    let opener = {
        let root = root.clone();
        std::thread::spawn(move || wsprune::create_or_open_session(&root, Some(id)))
    };
    std::thread::sleep(Duration::from_millis(300));
    // ... registers the session, pinned, and lets go.
    let record = format!(
        "{{\n  \"session_id\": \"{id}\",\n  \"created_at\": \"{now}\",\n  \"updated_at\": \"{now}\",\n  \"version\": 1,\n  \"pinned\": true\n}}\n"
    );
    let host = root.join(HOST_DIR);
    std::fs::write(host.join("locks").join(id), "").unwrap();
    std::fs::write(record_path(&root, id), &record).unwrap();
    drop(dir);
    assert_eq!(opener.join().unwrap().unwrap(), (id.to_owned(), false));
    assert_eq!(std::fs::read_to_string(record_path(&root, id)).unwrap(), record);
}

/// A guest's `.metadata.json` dated in the future is trusted at registration
/// only up to now: an `updated_at` in 9999 would otherwise outlive every
/// age rule and TTL the host sets afterwards.
#[test]
fn a_registration_dates_nothing_later_than_now() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir(&root).unwrap();
    plant_unregistered(&root, "opened", "9999-12-31T00:00:00.000000Z");
    plant_unregistered(&root, "migrated", "9999-12-31T00:00:00.000000Z");
    let before = chrono::Utc::now();
    wsprune::create_or_open_session(&root, Some("opened")).unwrap();
    assert_eq!(wsprune::migrate_sessions(&root, false).unwrap().registered.len(), 1);
    let after = chrono::Utc::now();
    for id in ["opened", "migrated"] {
        let info = wsprune::session_info(&root, id).unwrap();
        let (c, u) = (info.created_at.unwrap(), info.updated_at.unwrap());
        assert!(u <= after && u >= before - chrono::Duration::seconds(1), "{id}: {u}");
        assert!(c <= u, "{id}: {c}");
    }
}

/// A guest's file just under the limit (a long unknown string) leaves the
/// record room for what the host adds later: with the largest label set, a
/// pin and a TTL the record still fits, so no guest can fill its record to
/// escape a TTL or a per-owner cap.
#[test]
fn a_registered_record_keeps_room_for_the_hosts_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let now = wsprune::metadata::format_timestamp(chrono::Utc::now());
    let id = "full";
    std::fs::create_dir_all(root.join(id)).unwrap();
    let filler = "a".repeat(wsprune::metadata::MAX_METADATA_BYTES - 400);
    std::fs::write(
        root.join(id).join(".metadata.json"),
        format!(r#"{{"session_id":"{id}","created_at":"{now}","updated_at":"{now}","version":1,"x":"{filler}"}}"#),
    )
    .unwrap();
    wsprune::create_or_open_session(&root, Some(id)).unwrap();
    let prefix = format!(
        "{}.{}.{}.{}",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61)
    );
    let changes: Vec<wsprune::labels::LabelChange> = (0..wsprune::labels::MAX_LABELS)
        .map(|i| wsprune::labels::LabelChange::Set(format!("{prefix}/n{i:02}{}", "x".repeat(60)), "v".repeat(63)))
        .collect();
    wsprune::set_session_labels(&root, id, &changes).unwrap();
    wsprune::pin_session(&root, id, None).unwrap();
    wsprune::set_session_ttl(
        &root,
        id,
        &wsprune::Ttl {
            idle: Some(Duration::from_secs(3600)),
            expires_at: None,
        },
    )
    .unwrap();
    let record = std::fs::read(record_path(&root, id)).unwrap();
    assert!(
        record.len() <= wsprune::metadata::MAX_METADATA_BYTES,
        "{}",
        record.len()
    );
    assert_eq!(wsprune::session_info(&root, id).unwrap().state, SessionState::Ok);
}
