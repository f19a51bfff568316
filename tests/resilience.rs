//! Issue 10: resource limits and edge cases that must end in a clear result,
//! never a panic, a hang or damage outside the workspace. Each test names
//! its item; SECURITY.md maps the items to these tests.

#[path = "prune_support/mod.rs"]
mod support;

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

/// Item 10: a lock timeout or wait too long for `Instant + Duration`
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

/// Item 11: metadata dated in a year that cannot be printed back in four
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
