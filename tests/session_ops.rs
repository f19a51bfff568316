//! Session operations on a real filesystem: create, touch, read, leases, and
//! crash safety under SIGKILL (seed tasks 1.2, 1.4, 2.1, 5.1, 5.3).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use wsprune::metadata::{self, METADATA_FILE};
use wsprune::{
    acquire, create_session, read_metadata, touch_session, MetadataState, SessionMetadata, Status, TouchOutcome,
};

const CHILD_ENV: &str = "WSPRUNE_SESSION_OPS_CHILD";

fn meta_path(root: &Path, id: &str) -> std::path::PathBuf {
    root.join(id).join(METADATA_FILE)
}

fn valid(root: &Path, id: &str) -> SessionMetadata {
    match read_metadata(root, id).unwrap() {
        MetadataState::Valid(m) => m,
        other => panic!("{id}: {other:?}"),
    }
}

/// Runs one test of this binary in a child process with `CHILD_ENV=mode`.
fn child(test: &str, mode: &str, dir: &Path) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .env("WSPRUNE_DIR", dir);
    c
}

#[test]
fn create_writes_private_canonical_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("a/b/workspaces");
    let id = create_session(&root, None).unwrap();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
    let p = meta_path(&root, &id);
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 4, "{v}");
    assert_eq!(obj["session_id"], id.as_str());
    assert_eq!(obj["version"], 1);
    assert_eq!(obj["created_at"], obj["updated_at"]);
    let ts = obj["created_at"].as_str().unwrap();
    assert!(metadata::is_canonical_timestamp(ts.as_bytes()), "{ts}");
    let age = valid(&root, &id).age_hours(chrono::Utc::now());
    assert!((0.0..0.01).contains(&age), "{age}");
    // no temporary file is left behind
    let names: Vec<_> = std::fs::read_dir(root.join(&id))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from(METADATA_FILE)]);
}

#[test]
fn create_with_id_and_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    // A UUID is created under its canonical spelling.
    let id = "0F8FAD5B-D9CB-469F-A165-70867728950E";
    let canon = id.to_lowercase();
    assert_eq!(create_session(tmp.path(), Some(id)).unwrap(), canon);
    assert_eq!(valid(tmp.path(), &canon).session_id, canon);
    let e = create_session(tmp.path(), Some(id)).unwrap_err();
    assert_eq!(e.status(), Status::AlreadyExists);
    assert!(e.message().contains(&canon));
    for bad in [
        "",
        "..",
        "../x",
        "/etc",
        "0f8fad5b-d9cb-469f-a165-70867728950e/..",
        ".x",
    ] {
        assert_eq!(
            create_session(tmp.path(), Some(bad)).unwrap_err().status(),
            Status::InvalidSessionId,
            "{bad:?}"
        );
    }
    // The session and the host directory (.wsprune) holding its record.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 2);
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let e = create_session(&file.join("ws"), None).unwrap_err();
    assert_eq!(e.status(), Status::Io);
    assert!(e.message().contains("file/ws"), "{}", e.message());
    // The root itself a file: not a directory, not "already exists".
    let e = create_session(&file, None).unwrap_err();
    assert_eq!(e.status(), Status::Io);
    assert!(e.message().contains("not a directory"), "{}", e.message());
    assert_eq!(
        create_session(Path::new(""), None).unwrap_err().status(),
        Status::InvalidArgument
    );
}

/// No dropped write errors: with RLIMIT_FSIZE at 0 the directory can be made
/// but no byte of metadata can be written. The reference implementation (and
/// wsprune 0.3) then created a session without metadata, which no age rule
/// ever deletes; creation now fails with the error and leaves nothing
/// behind (no directory, no record, no lock file). Runs in a child because
/// the limit is process-wide.
#[test]
fn metadata_write_failure_fails_creation_and_leaves_nothing() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        if mode != "fsize" {
            return;
        }
        let root = std::path::PathBuf::from(std::env::var("WSPRUNE_DIR").unwrap());
        // SAFETY: signal and setrlimit take only integers and a valid rlimit.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: libc::RLIM_INFINITY,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
        }
        let e = create_session(&root, Some("never-half-made")).expect_err("a creation that could not write");
        println!("CHILD-ERR {:?} {}", e.status(), e.message());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = child(
        "metadata_write_failure_fails_creation_and_leaves_nothing",
        "fsize",
        tmp.path(),
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("CHILD-ERR Io cannot create session never-half-made"),
        "{stdout}"
    );
    assert!(stdout.contains("File too large"), "{stdout}");
    assert!(
        !tmp.path().join("never-half-made").exists(),
        "a half-made session was left"
    );
    let left = |sub: &str| {
        std::fs::read_dir(tmp.path().join(".wsprune").join(sub))
            .unwrap()
            .count()
    };
    assert_eq!(
        (left("sessions"), left("locks")),
        (0, 0),
        "a record or lock file was left"
    );
    assert_eq!(
        read_metadata(tmp.path(), "never-half-made").unwrap_err().status(),
        Status::NotFound
    );
}

#[test]
fn touch_changes_only_the_timestamp_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let id = create_session(root, None).unwrap();
    // The host's record: what a touch of a registered session writes in place.
    let p = root.join(".wsprune/sessions").join(&id);
    // Add unknown fields (including a nested updated_at) in canonical layout.
    let mut m = valid(root, &id);
    m.updated_at -= chrono::Duration::hours(5);
    m.extra.insert(
        "owner".into(),
        serde_json::json!({"name": "alice", "updated_at": "1999"}),
    );
    m.extra.insert("tags".into(), serde_json::json!(["a", "b"]));
    std::fs::write(&p, m.to_json()).unwrap();
    let before = std::fs::read(&p).unwrap();
    assert!(matches!(touch_session(root, &id).unwrap(), TouchOutcome::Updated(_)));
    let after = std::fs::read(&p).unwrap();
    assert_eq!(before.len(), after.len());
    let changed: Vec<usize> = (0..before.len()).filter(|&i| before[i] != after[i]).collect();
    assert!(!changed.is_empty());
    let off = metadata::parse(&before).unwrap().updated_at_offset.unwrap();
    assert!(
        changed
            .iter()
            .all(|&i| (off..off + metadata::TIMESTAMP_LEN).contains(&i)),
        "{changed:?}"
    );
    let now = valid(root, &id);
    assert_eq!(now.created_at, m.created_at);
    assert_eq!(now.extra, m.extra);
    assert!(now.updated_at > m.updated_at);
}

#[test]
fn python_format_is_upgraded_once_keeping_every_field() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let id = "9b2e3c4d-1111-4222-8333-444455556666";
    std::fs::create_dir(root.join(id)).unwrap();
    let python = format!(
        "{{\n  \"session_id\": \"{id}\",\n  \"created_at\": \"2025-06-01T12:00:00.000001+00:00\",\n  \"updated_at\": \"2025-06-01T12:00:00.000001+00:00\",\n  \"version\": 1,\n  \"runtime\": {{\"image\": \"py3.12\"}}\n}}"
    );
    let p = meta_path(root, id);
    std::fs::write(&p, &python).unwrap();
    assert!(matches!(touch_session(root, id).unwrap(), TouchOutcome::Updated(_)));
    let text = std::fs::read_to_string(&p).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["created_at"], "2025-06-01T12:00:00.000001+00:00",
        "created_at kept as written"
    );
    assert_eq!(v["runtime"]["image"], "py3.12");
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["session_id", "created_at", "updated_at", "version", "runtime"]);
    assert!(metadata::is_canonical_timestamp(
        v["updated_at"].as_str().unwrap().as_bytes()
    ));
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    // Now canonical: the next touch patches in place, same length.
    let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&p).unwrap());
    touch_session(root, id).unwrap();
    let again = std::fs::read_to_string(&p).unwrap();
    assert_eq!(again.len(), text.len());
    assert_eq!(
        ino,
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&p).unwrap()),
        "patched in place"
    );
}

#[test]
fn multi_turn_timestamps_strictly_increase() {
    let tmp = tempfile::tempdir().unwrap();
    let id = create_session(tmp.path(), None).unwrap();
    let mut last = valid(tmp.path(), &id).updated_at;
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(2));
        let TouchOutcome::Updated(t) = touch_session(tmp.path(), &id).unwrap() else {
            panic!("not updated")
        };
        let stored = valid(tmp.path(), &id).updated_at;
        assert_eq!(stored, t);
        assert!(stored > last, "{stored} <= {last}");
        last = stored;
    }
}

#[test]
fn touch_of_legacy_corrupted_and_missing_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let legacy = "aaaaaaaa-1111-4222-8333-444455556666";
    std::fs::create_dir(root.join(legacy)).unwrap();
    assert_eq!(touch_session(root, legacy).unwrap(), TouchOutcome::Legacy);
    assert!(!meta_path(root, legacy).exists(), "touch never creates metadata");

    // An unregistered directory (wsprune 0.3, the reference) with corrupted metadata.
    let bad = "dddddddd-1111-4222-8333-444455556666";
    std::fs::create_dir(root.join(bad)).unwrap();
    std::fs::write(meta_path(root, bad), "{\"session_id\": oops").unwrap();
    assert!(matches!(touch_session(root, bad).unwrap(), TouchOutcome::Corrupted(_)));
    assert_eq!(
        std::fs::read_to_string(meta_path(root, bad)).unwrap(),
        "{\"session_id\": oops"
    );
    // A registered session whose record is damaged: reported, left as it is.
    let damaged = create_session(root, None).unwrap();
    let record = root.join(".wsprune/sessions").join(&damaged);
    std::fs::write(&record, "{\"session_id\": oops").unwrap();
    assert!(matches!(
        touch_session(root, &damaged).unwrap(),
        TouchOutcome::Corrupted(_)
    ));
    assert_eq!(std::fs::read_to_string(&record).unwrap(), "{\"session_id\": oops");
    // A registered session whose guest corrupted its mirror: the record is the truth.
    let mirror_bad = create_session(root, None).unwrap();
    std::fs::write(meta_path(root, &mirror_bad), "{\"session_id\": oops").unwrap();
    assert!(matches!(
        touch_session(root, &mirror_bad).unwrap(),
        TouchOutcome::Updated(_)
    ));

    let e = touch_session(root, "bbbbbbbb-1111-4222-8333-444455556666").unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert_eq!(
        touch_session(&root.join("nope"), legacy).unwrap_err().status(),
        Status::NotFound
    );
    assert_eq!(
        touch_session(root, "../etc").unwrap_err().status(),
        Status::InvalidSessionId
    );

    // A UUID-named symlink to a real session elsewhere is not a session.
    let other = tempfile::tempdir().unwrap();
    let real = create_session(other.path(), None).unwrap();
    let before = std::fs::read(meta_path(other.path(), &real)).unwrap();
    let link = "cccccccc-1111-4222-8333-444455556666";
    std::os::unix::fs::symlink(other.path().join(&real), root.join(link)).unwrap();
    assert_eq!(touch_session(root, link).unwrap_err().status(), Status::NotFound);
    assert_eq!(std::fs::read(meta_path(other.path(), &real)).unwrap(), before);
}

#[test]
fn leases_share_refresh_and_release() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let id = create_session(root, None).unwrap();
    let t0 = valid(root, &id).updated_at;
    let a = acquire(root, &id).unwrap();
    let b = acquire(root, &id).unwrap();
    assert_eq!(a.session_id(), id);
    let dir = std::fs::File::open(root.join(&id)).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&dir);
    assert_ne!(
        // SAFETY: takes no pointers; a bad descriptor would only be an error.
        unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) },
        0,
        "leased: no exclusive lock"
    );
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(a.release(false).unwrap(), None);
    assert_eq!(valid(root, &id).updated_at, t0, "release(false) does not touch");
    assert!(matches!(b.release(true).unwrap(), Some(TouchOutcome::Updated(_))));
    assert!(valid(root, &id).updated_at > t0);
    assert_eq!(
        // SAFETY: takes no pointers; a bad descriptor would only be an error.
        unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) },
        0,
        "all leases released"
    );
    // SAFETY: takes no pointers; a bad descriptor would only be an error.
    assert_eq!(unsafe { libc::flock(fd, libc::LOCK_UN) }, 0);
    {
        let _dropped = acquire(root, &id).unwrap();
    }
    assert_eq!(
        // SAFETY: takes no pointers; a bad descriptor would only be an error.
        unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) },
        0,
        "drop releases"
    );
    // SAFETY: takes no pointers; a bad descriptor would only be an error.
    assert_eq!(unsafe { libc::flock(fd, libc::LOCK_UN) }, 0);
    assert_eq!(
        acquire(root, "dddddddd-1111-4222-8333-444455556666")
            .unwrap_err()
            .status(),
        Status::NotFound
    );
}

#[test]
fn acquire_is_busy_while_a_prune_holds_the_session() {
    let tmp = tempfile::tempdir().unwrap();
    let id = create_session(tmp.path(), None).unwrap();
    // A deletion holds the session's lock file (in the host directory) exclusively.
    let dir = std::fs::File::open(tmp.path().join(".wsprune/locks").join(&id)).unwrap();
    assert_eq!(
        // SAFETY: takes no pointers; a bad descriptor would only be an error.
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&dir), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    // A lock on the session directory (a guest's, say) holds off nothing.
    let guest = std::fs::File::open(tmp.path().join(&id)).unwrap();
    assert_eq!(
        // SAFETY: flock takes no pointers; a bad descriptor would only be an error.
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&guest), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let start = Instant::now();
    let e = acquire(tmp.path(), &id).unwrap_err();
    assert_eq!(e.status(), Status::Busy);
    assert!(start.elapsed() >= wsprune::session::ACQUIRE_TIMEOUT);
    drop(dir);
    acquire(tmp.path(), &id).unwrap().release(false).unwrap();
}

/// Kills a child that touches (or creates) in a tight loop at a random moment,
/// many times: every metadata file left behind parses (seed: crash-safe metadata).
#[test]
fn sigkill_during_touch_and_create_never_leaves_unparsable_metadata() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        let root = std::path::PathBuf::from(std::env::var("WSPRUNE_DIR").unwrap());
        match mode.as_str() {
            "touch" => {
                let id = std::env::var("WSPRUNE_ID").unwrap();
                println!("READY");
                loop {
                    touch_session(&root, &id).unwrap();
                }
            }
            "create" => {
                println!("READY");
                loop {
                    create_session(&root, None).unwrap();
                }
            }
            _ => return,
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ids: Vec<String> = (0..3).map(|_| create_session(root, None).unwrap()).collect();
    // Python layout: the first touch after it rewrites through a temporary file.
    let py = &ids[1];
    std::fs::write(
        meta_path(root, py),
        format!("{{\"session_id\": \"{py}\", \"created_at\": \"2025-01-01T00:00:00+00:00\", \"updated_at\": \"2025-01-01T00:00:00+00:00\", \"version\": 1}}"),
    )
    .unwrap();
    let create_root = root.join("created");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut kills = 0;
    while kills < 60 && Instant::now() < deadline {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mode = if kills % 3 == 2 { "create" } else { "touch" };
        let mut cmd = child(
            "sigkill_during_touch_and_create_never_leaves_unparsable_metadata",
            mode,
            if mode == "create" { &create_root } else { root },
        );
        let mut c = cmd
            .env("WSPRUNE_ID", &ids[kills % ids.len()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait for the child to start its loop, then a random 0-20 ms more.
        let mut out = c.stdout.take().unwrap();
        let mut buf = [0u8; 64];
        let _ = std::io::Read::read(&mut out, &mut buf);
        std::thread::sleep(Duration::from_micros(seed % 20_000));
        // SAFETY: kill takes no pointers; the pid is this test's own child.
        unsafe { libc::kill(c.id() as i32, libc::SIGKILL) };
        c.wait().unwrap();
        kills += 1;
        for id in &ids {
            let text = std::fs::read(meta_path(root, id)).unwrap();
            metadata::parse(&text).unwrap_or_else(|e| panic!("after kill {kills}: {id}: {e}: {text:?}"));
        }
    }
    assert!(kills >= 10, "only {kills} kills in the time allowed");
    let mut created = 0;
    if create_root.exists() {
        for e in std::fs::read_dir(&create_root).unwrap() {
            let e = e.unwrap();
            let p = e.path().join(METADATA_FILE);
            if p.exists() {
                metadata::parse(&std::fs::read(&p).unwrap()).unwrap_or_else(|err| panic!("{}: {err}", p.display()));
                created += 1;
            }
        }
    }
    assert!(
        created > 0,
        "the create children never created anything: the test proves nothing"
    );
    eprintln!("sigkill: {kills} kills, {created} created sessions checked");
}
