//! Pruning behaviour (an error on one session goes into `errors`, the prune
//! carries on): enumeration, age and
//! thresholds, sizes, dry runs, skip reasons, leases, custom roots, the
//! result's summary and JSON, invalid arguments, per-session errors
//! (immutable files, bind mounts, permissions) and crash recovery.

#[path = "prune_support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use chrono::{FixedOffset, SecondsFormat, TimeZone, Utc};
use support::*;
use wsprune::{PruneOptions, SessionMetadata, SkipReason, Status};

fn opts(hours: f64, dry_run: bool) -> PruneOptions {
    PruneOptions::older_than(hours, dry_run)
}

// ---------------------------------------------------------------- 3.2 enumeration

/// "Enumeration with mixed directory types": only real directories
/// named by a UUID (or, see tests/session_names.rs, by a custom id and
/// holding metadata) are sessions; everything else (non-UUID names without
/// metadata, `site-packages` even with metadata, hidden entries, files,
/// symlinks, FIFOs) is ignored, not reported, and left exactly as it was
/// (including a symlink's target outside the root).
#[test]
fn enumeration_only_real_uuid_directories_are_sessions() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();

    // The one real stale session.
    let stale = session(&root, 48.0);
    write_file(&root.join(&stale).join("data.txt"), 100);
    // An upper-case UUID is a UUID too.
    let upper = new_id().to_uppercase();
    session_at(&root, &upper, 48.0);

    // Directories whose names are not UUIDs and which hold no metadata.
    let not_uuid = [
        "notes",
        "0f8fad5b-d9cb-469f-a165-70867728950",
        "0f8fad5b-d9cb-469f-a165-70867728950e0",
        "tmp-session",
    ];
    for name in not_uuid {
        let d = root.join(name);
        std::fs::create_dir(&d).unwrap();
        write_file(&d.join("f"), 10);
    }
    // The reference's vendored packages: never a session, even with stale metadata.
    let d = root.join("site-packages");
    std::fs::create_dir(&d).unwrap();
    write_metadata_raw(&d, &metadata_text(&new_id(), hours_ago(48.0)));
    write_file(&d.join("f"), 10);
    // Hidden directories, one with a UUID after the dot.
    for name in [".cache".to_string(), format!(".{}", new_id())] {
        let d = root.join(&name);
        std::fs::create_dir(&d).unwrap();
        write_metadata_raw(&d, &metadata_text(&new_id(), hours_ago(48.0)));
    }
    // A regular file named like a session, holding stale metadata.
    let file_id = new_id();
    std::fs::write(root.join(&file_id), metadata_text(&file_id, hours_ago(48.0))).unwrap();
    // A symlink named like a session pointing at a stale session directory outside.
    let target = outside.join("stale-target");
    std::fs::create_dir(&target).unwrap();
    write_metadata_raw(&target, &metadata_text(&new_id(), hours_ago(48.0)));
    write_file(&target.join("precious.bin"), 4096);
    let link_id = new_id();
    symlink(&target, root.join(&link_id)).unwrap();
    // A dangling symlink and a FIFO named like sessions.
    symlink(tmp.path().join("nowhere"), root.join(new_id())).unwrap();
    let fifo = root.join(new_id());
    let c = cstr(fifo.as_os_str().as_encoded_bytes());
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);

    let outside_before = snapshot(&outside);
    let root_before = snapshot(&root);
    let stale_bytes = tree_bytes(&root.join(&stale)) + tree_bytes(&root.join(&upper));

    let dry = prune(&root, 24.0, true);
    assert_eq!(sorted(&dry.deleted_sessions), ids(&[&stale, &upper]));
    assert!(dry.skipped_sessions.is_empty(), "{:?}", dry.skipped_sessions);
    assert!(dry.errors.is_empty(), "{:?}", dry.errors);
    assert_eq!(dry.reclaimed_bytes, stale_bytes);
    assert_eq!(snapshot(&root), root_before, "a dry run changed the root");

    let r = prune(&root, 24.0, false);
    assert_eq!(sorted(&r.deleted_sessions), ids(&[&stale, &upper]));
    assert!(
        r.skipped_sessions.is_empty(),
        "non-sessions must not be reported: {:?}",
        r.skipped_sessions
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.reclaimed_bytes, stale_bytes);

    // Everything but the two sessions is exactly as before.
    let mut expected = root_before.clone();
    expected.retain(|p, _| !p.starts_with(&stale) && !p.starts_with(&upper));
    assert_eq!(snapshot(&root), expected);
    assert_eq!(
        snapshot(&outside),
        outside_before,
        "the symlink target outside the root was modified"
    );
}

/// "Empty workspace".
#[test]
fn empty_workspace_gives_empty_result() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    for dry_run in [true, false] {
        let r = prune(tmp.path(), 24.0, dry_run);
        assert!(r.deleted_sessions.is_empty() && r.skipped_sessions.is_empty() && r.errors.is_empty());
        assert_eq!(r.reclaimed_bytes, 0);
        assert_eq!(r.dry_run, dry_run);
    }
    assert_eq!(
        prune(tmp.path(), 0.0, false).summary(),
        "Pruned 0 sessions (0 skipped, 0 errors), reclaimed 0 B"
    );
    assert!(names(tmp.path()).is_empty());
}

/// A missing root is an empty result (and is not created).
#[test]
fn missing_root_gives_empty_result() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("does/not/exist");
    for dry_run in [true, false] {
        let r = prune(&root, 0.0, dry_run);
        assert_eq!(r, wsprune::PruneResult::new(dry_run));
    }
    assert!(!exists(&tmp.path().join("does")), "prune created the missing root");
}

/// A root that is a regular file is an error naming the problem.
#[test]
fn root_that_is_a_regular_file_is_an_error() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, b"data").unwrap();
    for dry_run in [true, false] {
        let err = wsprune::prune_sessions(&file, &opts(24.0, dry_run)).unwrap_err();
        assert_ne!(err.status(), Status::Ok);
        assert!(
            err.message().contains("not a directory"),
            "unclear message: {}",
            err.message()
        );
        assert!(
            err.message().contains(&*file.to_string_lossy()),
            "message does not name the root: {}",
            err.message()
        );
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"data");
}

// ---------------------------------------------------------------- 3.3 age

/// "Age calculation with various timestamps" and "timezone-aware/naive
/// datetimes", checked exactly against a fixed `now`.
#[test]
fn age_calculation_with_various_timestamps() {
    let _serial = shared();
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap();
    let doc = |ts: &str| {
        format!(
            r#"{{"session_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "created_at": "{ts}", "updated_at": "{ts}", "version": 1}}"#
        )
    };
    let cases = [
        ("2026-01-01T08:00:00.000000Z", 2.0),
        ("2026-01-01T08:00:00+00:00", 2.0),
        ("2026-01-01T10:00:00+02:00", 2.0),
        ("2026-01-01T03:00:00-05:00", 2.0),
        ("2026-01-01T08:00:00", 2.0),
        ("2026-01-01T08:00:00.000000", 2.0),
        ("2025-12-31T10:00:00Z", 24.0),
        ("2026-01-01T09:30:00Z", 0.5),
        ("2026-01-01T10:00:00Z", 0.0),
        ("2026-01-01T11:30:00Z", -1.5),
        ("2026-01-01T13:30:00+02:00", -1.5),
        ("2025-12-30T10:00:00+05:30", 48.0 + 5.5),
    ];
    for (ts, want) in cases {
        let m = SessionMetadata::from_json(doc(ts).as_bytes()).unwrap_or_else(|e| panic!("{ts}: {e}"));
        let age = m.age_hours(now);
        assert!((age - want).abs() < 1e-9, "{ts}: age {age}, want {want}");
    }
    // Microseconds count.
    let m = SessionMetadata::from_json(doc("2026-01-01T09:59:59.999999Z").as_bytes()).unwrap();
    assert!((m.age_hours(now) - 1e-6 / 3600.0).abs() < 1e-12);
}

/// Delete when age >= threshold; 25 h goes and 23 h stays with 24 h.
#[test]
fn threshold_boundary_age_at_least_threshold_goes() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let old25 = session(root, 25.0);
    let exactly24 = session(root, 24.0); // at least 24 h by the time the prune runs
    let young23 = session(root, 23.0);
    let almost = session(root, 23.99);

    let r = prune(root, 24.0, false);
    assert_eq!(sorted(&r.deleted_sessions), ids(&[&old25, &exactly24]));
    assert!(
        r.skipped_sessions.is_empty(),
        "recent sessions are kept silently: {:?}",
        r.skipped_sessions
    );
    assert!(r.errors.is_empty());
    assert!(!exists(&root.join(&old25)) && !exists(&root.join(&exactly24)));
    assert!(root.join(&young23).join(".metadata.json").is_file());
    assert!(root.join(&almost).join(".metadata.json").is_file());
}

/// Threshold 0 deletes everything not in the future; a future updated_at is never deleted.
#[test]
fn threshold_zero_deletes_all_but_future_sessions() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let fresh1 = wsprune::create_session(root, None).unwrap();
    let fresh2 = wsprune::create_session(root, None).unwrap();
    let old = session(root, 1000.0);
    let soon = session(root, -0.02); // ~1 minute in the future
    let far = session(root, -24.0 * 365.0);

    let dry = prune(root, 0.0, true);
    assert_eq!(sorted(&dry.deleted_sessions), ids(&[&fresh1, &fresh2, &old]));
    let r = prune(root, 0.0, false);
    assert_eq!(sorted(&r.deleted_sessions), ids(&[&fresh1, &fresh2, &old]));
    assert!(r.skipped_sessions.is_empty() && r.errors.is_empty());
    assert_eq!(names(root), ids(&[&soon, &far]));

    // Still never, however often we try.
    for dry_run in [true, false] {
        let r = prune(root, 0.0, dry_run);
        assert!(
            r.deleted_sessions.is_empty(),
            "future session deleted: {:?}",
            r.deleted_sessions
        );
    }
    assert_eq!(names(root), ids(&[&soon, &far]));
}

fn python_style(id: &str, updated_at: &str) -> String {
    // What the reference Python implementation writes: json.dumps(..., indent=2), isoformat().
    format!(
        "{{\n  \"session_id\": \"{id}\",\n  \"created_at\": \"{updated_at}\",\n  \"updated_at\": \"{updated_at}\",\n  \"version\": 1\n}}"
    )
}

/// "Timezone-aware/naive datetimes" through a real prune:
/// offsets are honoured (ignoring them would flip these decisions) and naive
/// timestamps are UTC.
#[test]
fn timezone_aware_and_naive_timestamps_in_metadata() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let plus2 = FixedOffset::east_opt(2 * 3600).unwrap();
    let minus5 = FixedOffset::west_opt(5 * 3600).unwrap();
    let aware = |h: f64, tz: FixedOffset| {
        hours_ago(h)
            .with_timezone(&tz)
            .to_rfc3339_opts(SecondsFormat::Micros, false)
    };
    let naive = |h: f64| hours_ago(h).naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f").to_string();

    let mut expect_deleted = Vec::new();
    let mut expect_kept = Vec::new();
    let cases: Vec<(String, bool)> = vec![
        (aware(3.0, plus2), true), // read as UTC it would be 1 h old
        (aware(2.0, plus2), false),
        (aware(3.0, minus5), true),
        (aware(2.0, minus5), false), // read as UTC it would be 7 h old
        (aware(3.0, FixedOffset::east_opt(0).unwrap()), true), // "+00:00", Python's form
        (aware(2.0, FixedOffset::east_opt(0).unwrap()), false),
        (naive(3.0), true),
        (naive(2.0), false),
    ];
    for (ts, deleted) in &cases {
        let id = new_id();
        let d = root.join(&id);
        std::fs::create_dir(&d).unwrap();
        write_metadata_raw(&d, &python_style(&id, ts));
        if *deleted {
            expect_deleted.push(id)
        } else {
            expect_kept.push(id)
        }
    }
    assert!(cases[0].0.ends_with("+02:00") && cases[2].0.ends_with("-05:00") && cases[4].0.ends_with("+00:00"));

    let r = prune(root, 2.5, false);
    assert_eq!(sorted(&r.deleted_sessions), sorted(&expect_deleted), "cases: {cases:?}");
    assert!(r.skipped_sessions.is_empty(), "{:?}", r.skipped_sessions);
    assert!(r.errors.is_empty());
    assert_eq!(names(root), sorted(&expect_kept));
}

/// As the reference implementation's test_prune_custom_threshold: 0.5 h, 1 h, 24 h, 48 h.
#[test]
fn custom_thresholds() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ages = [0.25, 0.75, 1.5, 30.0, 47.0, 49.0];
    let sid: Vec<String> = ages.iter().map(|&a| session(root, a)).collect();
    let older_than = |h: f64| -> Vec<String> {
        sorted(
            &ages
                .iter()
                .zip(&sid)
                .filter(|(&a, _)| a >= h)
                .map(|(_, s)| s.clone())
                .collect::<Vec<_>>(),
        )
    };
    for h in [0.5, 1.0, 24.0, 48.0] {
        assert_eq!(
            sorted(&prune(root, h, true).deleted_sessions),
            older_than(h),
            "dry run, threshold {h}"
        );
    }
    assert_eq!(names(root).len(), ages.len());
    // Real prunes, largest threshold first: each removes exactly one band.
    let mut remaining: BTreeSet<String> = sid.iter().cloned().collect();
    for (h, band) in [(48.0, vec![5]), (24.0, vec![3, 4]), (1.0, vec![2]), (0.5, vec![1])] {
        let r = prune(root, h, false);
        let want: Vec<String> = sorted(&band.iter().map(|&i| sid[i].clone()).collect::<Vec<_>>());
        assert_eq!(sorted(&r.deleted_sessions), want, "threshold {h}");
        for w in &want {
            remaining.remove(w);
        }
        assert_eq!(names(root), remaining.iter().cloned().collect::<Vec<_>>());
    }
    assert_eq!(names(root), vec![sid[0].clone()]);
}

// ---------------------------------------------------------------- 3.4 / 3.5 size and prune

/// As the reference implementation's test_prune_calculates_size: reclaimed_bytes is the exact sum
/// of st_size of every non-directory entry of the deleted sessions (metadata
/// included; a symlink counts itself, never its target; each hard link name counts).
#[test]
fn reclaimed_bytes_is_exact() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let big = outside.join("big.bin");
    write_file(&big, 1 << 20);

    let s1 = session(&root, 30.0);
    let d = root.join(&s1);
    write_file(&d.join("empty"), 0);
    write_file(&d.join("one"), 1);
    write_file(&d.join("page"), 4096);
    std::fs::create_dir_all(d.join("sub/deeper")).unwrap();
    std::fs::create_dir(d.join("empty-dir")).unwrap();
    write_file(&d.join("sub/d"), 10_000);
    write_file(&d.join("sub/deeper/e"), 123_457);
    symlink(&big, d.join("link_big")).unwrap();
    symlink("sub/d", d.join("rel")).unwrap();
    std::fs::hard_link(d.join("one"), d.join("one_again")).unwrap();
    let s2 = session(&root, 30.0);
    write_file(&root.join(&s2).join("x"), 777);
    let recent = session(&root, 1.0);
    write_file(&root.join(&recent).join("keep"), 5000);

    // What `du -sB1` says the two stale sessions take: allocated blocks,
    // "one" and its hard link "one_again" once, symlinks as themselves.
    let expected = du_bytes(&d) + du_bytes(&root.join(&s2));
    assert_eq!(
        expected,
        tree_bytes(&d) + tree_bytes(&root.join(&s2)),
        "the test's own count agrees with du"
    );

    let dry = prune(&root, 24.0, true);
    assert_eq!(dry.reclaimed_bytes, expected);
    let r = prune(&root, 24.0, false);
    assert_eq!(sorted(&r.deleted_sessions), ids(&[&s1, &s2]));
    assert_eq!(r.reclaimed_bytes, expected);
    assert_eq!(
        std::fs::metadata(&big).unwrap().len(),
        1 << 20,
        "symlink target touched"
    );
    assert_eq!(names(&root), vec![recent]);
}

/// As the reference implementation's test_prune_dry_run: a dry run deletes and changes nothing,
/// and reports exactly what the following real prune does.
#[test]
fn dry_run_deletes_nothing_and_matches_the_real_prune() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut stale = Vec::new();
    for i in 0..5 {
        let id = session(root, 24.0 + i as f64 * 10.0);
        std::fs::create_dir(root.join(&id).join("out")).unwrap();
        write_file(&root.join(&id).join("out/result.csv"), 1000 * (i + 1));
        stale.push(id);
    }
    let recent = session(root, 2.0);
    let legacy = legacy_session(root);
    write_file(&root.join(&legacy).join("old"), 50);
    let before = snapshot(root);

    let dry = prune(root, 12.0, true);
    assert!(dry.dry_run);
    assert_eq!(snapshot(root), before, "the dry run changed something");
    assert!(
        dry.summary()
            .starts_with("Would prune 5 sessions (1 skipped, 0 errors), would reclaim "),
        "{}",
        dry.summary()
    );

    let real = prune(root, 12.0, false);
    assert!(!real.dry_run);
    assert_eq!(dry.deleted_sessions, real.deleted_sessions);
    assert_eq!(sorted(&real.deleted_sessions), sorted(&stale));
    assert_eq!(dry.reclaimed_bytes, real.reclaimed_bytes);
    assert_eq!(skipped(&dry), skipped(&real));
    assert_eq!(skipped(&real), vec![(legacy.clone(), SkipReason::MissingMetadata)]);
    assert_eq!(names(root), sorted(&[recent, legacy]));
}

/// As the reference implementation's test_prune_old_sessions / test_prune_preserves_recent.
#[test]
fn old_sessions_deleted_recent_preserved() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let old: Vec<String> = [25.0, 48.0, 1000.0].iter().map(|&h| session(root, h)).collect();
    let created = wsprune::create_session(root, None).unwrap();
    let hour_old = session(root, 1.0);
    for id in old.iter().chain([&created, &hour_old]) {
        write_file(&root.join(id).join("work.py"), 321);
    }
    let keep_before = (snapshot(&root.join(&created)), snapshot(&root.join(&hour_old)));

    let r = prune(root, 24.0, false);
    assert_eq!(sorted(&r.deleted_sessions), sorted(&old));
    assert!(r.errors.is_empty() && r.skipped_sessions.is_empty());
    assert_eq!(names(root), sorted(&[created.clone(), hour_old.clone()]));
    assert_eq!(
        (snapshot(&root.join(&created)), snapshot(&root.join(&hour_old))),
        keep_before,
        "recent sessions modified"
    );
    assert!(root.is_dir(), "the root itself must stay");
}

/// As the reference implementation's test_prune_skips_no_metadata, and backwards compatibility, plus
/// the issue's other skip reasons: nothing skipped is deleted, even with threshold 0.
#[test]
fn skip_reasons_for_legacy_corrupted_and_bad_timestamps() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let mut want = Vec::new();

    let legacy = legacy_session(&root);
    write_file(&root.join(&legacy).join("notebook.ipynb"), 2000);
    want.push((legacy.clone(), SkipReason::MissingMetadata));

    let old_ts = wsprune::metadata::format_timestamp(hours_ago(100.0));
    let corrupted_docs = [
        "not json at all".to_string(),
        String::new(),
        "[1, 2, 3]".to_string(),
        "{\"session_id\": \"x\"".to_string(),
        format!("{{\"session_id\": \"x\", \"created_at\": \"{old_ts}\"}}"),
        format!("{{\"session_id\": 5, \"created_at\": \"{old_ts}\", \"updated_at\": \"{old_ts}\", \"version\": 1}}"),
        format!("{{\"session_id\": \"x\", \"created_at\": \"{old_ts}\", \"updated_at\": 1700000000, \"version\": 1}}"),
    ];
    for doc in &corrupted_docs {
        let id = new_id();
        std::fs::create_dir_all(root.join(&id)).unwrap();
        write_metadata_raw(&root.join(&id), doc);
        want.push((id, SkipReason::CorruptedMetadata));
    }
    // Metadata that is a directory, or a symlink to valid stale metadata outside.
    let id = new_id();
    std::fs::create_dir_all(root.join(&id).join(".metadata.json")).unwrap();
    want.push((id, SkipReason::CorruptedMetadata));
    let id = new_id();
    std::fs::create_dir_all(root.join(&id)).unwrap();
    std::fs::write(outside.join("meta.json"), metadata_text(&id, hours_ago(100.0))).unwrap();
    symlink(outside.join("meta.json"), root.join(&id).join(".metadata.json")).unwrap();
    want.push((id, SkipReason::CorruptedMetadata));

    for (created, updated) in [
        (old_ts.as_str(), "yesterday"),
        ("not-a-date", old_ts.as_str()),
        (old_ts.as_str(), "2026-13-45T99:99:99Z"),
        (old_ts.as_str(), ""),
    ] {
        let id = new_id();
        std::fs::create_dir_all(root.join(&id)).unwrap();
        write_metadata_raw(
            &root.join(&id),
            &format!("{{\"session_id\": \"{id}\", \"created_at\": \"{created}\", \"updated_at\": \"{updated}\", \"version\": 1}}"),
        );
        want.push((id, SkipReason::CorruptedTimestamp));
    }
    want.sort_by(|a, b| a.0.cmp(&b.0));
    let before = snapshot(&root);

    for dry_run in [true, false] {
        let r = prune(&root, 0.0, dry_run);
        assert!(r.deleted_sessions.is_empty(), "{:?}", r.deleted_sessions);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(skipped(&r), want);
        assert_eq!(r.reclaimed_bytes, 0);
        let verb = if dry_run { "Would prune" } else { "Pruned" };
        assert!(
            r.summary()
                .starts_with(&format!("{verb} 0 sessions ({} skipped, 0 errors)", want.len())),
            "{}",
            r.summary()
        );
        let j = r.to_json();
        assert_eq!(j["skipped_reasons"][&legacy], "missing_metadata");
    }
    assert_eq!(snapshot(&root), before, "a skipped session was modified");
}

/// A leased session is skipped "in_use" and survives; shared
/// leases all have to go before it can be pruned.
#[test]
fn leased_session_is_skipped_in_use_and_survives() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let leased = session(root, 48.0);
    write_file(&root.join(&leased).join("running.py"), 99);
    let free = session(root, 48.0);

    let lease1 = wsprune::acquire(root, &leased).unwrap();
    let lease2 = wsprune::acquire(root, &leased).unwrap();
    assert_eq!(lease1.session_id(), leased);
    for dry_run in [true, false] {
        let r = prune(root, 24.0, dry_run);
        assert_eq!(skipped(&r), vec![(leased.clone(), SkipReason::InUse)]);
        assert_eq!(r.to_json()["skipped_reasons"][&leased], "in_use");
        assert!(!r.deleted_sessions.contains(&leased));
    }
    assert!(!exists(&root.join(&free)));
    assert!(root.join(&leased).join("running.py").is_file());

    assert_eq!(lease1.release(false).unwrap(), None);
    let r = prune(root, 24.0, false);
    assert_eq!(
        skipped(&r),
        vec![(leased.clone(), SkipReason::InUse)],
        "the second lease still holds it"
    );
    drop(lease2);
    let r = prune(root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![leased.clone()]);
    assert!(names(root).is_empty());

    // Releasing with touch: the session is fresh afterwards and stays.
    let s = session(root, 48.0);
    let lease = wsprune::acquire(root, &s).unwrap();
    assert!(matches!(
        lease.release(true).unwrap(),
        Some(wsprune::TouchOutcome::Updated(_))
    ));
    let r = prune(root, 1.0, false);
    assert!(r.deleted_sessions.is_empty() && r.skipped_sessions.is_empty());
    assert!(root.join(&s).is_dir());
}

/// As the reference implementation's test_prune_custom_workspace: a nested custom root (created by
/// create_session), given in several spellings, and a sibling root left alone.
#[test]
fn custom_workspace_root() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("a/b/c/workspaces");
    let other = tmp.path().join("a/b/other");
    let in_root = wsprune::create_session(&root, None).unwrap();
    let in_other = wsprune::create_session(&other, None).unwrap();
    for (r, id) in [(&root, &in_root), (&other, &in_other)] {
        set_record(r, id, hours_ago(72.0));
        write_file(&r.join(id).join("f"), 10);
    }
    let other_before = snapshot(&other);

    // Spelled with "." components and a trailing slash.
    let spelled = tmp.path().join("a/./b/c/workspaces/");
    let r = prune(&spelled, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![in_root.clone()]);
    assert!(names(&root).is_empty());
    assert_eq!(snapshot(&other), other_before, "a different root was touched");

    // A root reached through a symlink (the root path is the caller's and trusted).
    let via = tmp.path().join("via-link");
    symlink(&other, &via).unwrap();
    let r = prune(&via, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![in_other]);
    assert!(names(&other).is_empty());
    assert!(std::fs::symlink_metadata(&via).unwrap().file_type().is_symlink());
}

/// The summary text (reference wording, human-readable bytes) and JSON fields.
#[test]
fn prune_result_summary_and_json() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let a = session(root, 30.0);
    let b = session(root, 30.0);
    write_file(&root.join(&a).join("blob"), 768 * 1024);
    write_file(&root.join(&b).join("blob"), 768 * 1024);
    let legacy = legacy_session(root);
    let total = tree_bytes(&root.join(&a)) + tree_bytes(&root.join(&b));

    let dry = prune(root, 24.0, true);
    assert_eq!(
        dry.summary(),
        "Would prune 2 sessions (1 skipped, 0 errors), would reclaim 1.5 MB"
    );
    assert_eq!(dry.to_string(), dry.summary());
    let r = prune(root, 24.0, false);
    assert_eq!(r.summary(), "Pruned 2 sessions (1 skipped, 0 errors), reclaimed 1.5 MB");
    assert_eq!(format!("{r}"), r.summary());

    let j: serde_json::Value = serde_json::from_str(&r.to_json().to_string()).unwrap();
    let keys: BTreeSet<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "deleted_rules",
            "deleted_sessions",
            "dry_run",
            "errors",
            "interrupted",
            "reclaimed_bytes",
            "skipped_reasons",
            "skipped_sessions",
            "unmet_targets"
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(json_ids(&j, "deleted_sessions"), ids(&[&a, &b]));
    assert_eq!(json_ids(&j, "skipped_sessions"), vec![legacy.clone()]);
    assert_eq!(
        j["skipped_reasons"],
        serde_json::json!({ legacy.clone(): "missing_metadata" })
    );
    assert_eq!(j["reclaimed_bytes"].as_u64(), Some(total));
    assert_eq!(j["errors"], serde_json::json!({}));
    assert_eq!(j["dry_run"], false);
    assert_eq!(dry.to_json()["dry_run"], true);

    // Singular and small sizes.
    let c = session(root, 30.0);
    write_file(&root.join(&c).join("x"), 10);
    // Sizes are allocated blocks: under 1 KiB only where directories and
    // small files take none (tmpfs), a few KiB elsewhere.
    let bytes = tree_bytes(&root.join(&c));
    assert!(bytes < 1 << 20);
    let size = if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    };
    let r = prune(root, 24.0, false);
    assert_eq!(
        r.summary(),
        format!("Pruned 1 session (1 skipped, 0 errors), reclaimed {size}")
    );
}

/// NaN, negative or infinite thresholds and an empty root are InvalidArgument.
#[test]
fn invalid_arguments() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let s = session(root, 48.0);
    for h in [f64::NAN, -1.0, -0.001, f64::INFINITY, f64::NEG_INFINITY, f64::MIN] {
        for dry_run in [true, false] {
            let e = wsprune::prune_sessions(root, &opts(h, dry_run)).unwrap_err();
            assert_eq!(e.status(), Status::InvalidArgument, "threshold {h}: {e}");
        }
    }
    let e = wsprune::prune_sessions(Path::new(""), &opts(24.0, false)).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(
        root.join(&s).join(".metadata.json").is_file(),
        "an invalid prune deleted something"
    );
    // Huge but finite is fine (nothing is that old).
    assert!(prune(root, f64::MAX, false).deleted_sessions.is_empty());
}

// ---------------------------------------------------------------- errors

/// The root never holds a UUID-named directory that is not a complete session.
fn assert_no_half_sessions(root: &Path, complete: &[&String]) {
    for n in names(root) {
        if is_uuid_name(&n) {
            assert!(
                complete.iter().any(|c| **c == n),
                "{n} looks like a live session but should be gone or in trash"
            );
        }
    }
}

/// As the reference implementation's test_prune_handles_errors: an undeletable (immutable)
/// file puts its session in errors; the prune carries on; the leftover lives
/// under a trash name, not as a half-deleted session; the next prune finishes it.
#[test]
fn immutable_file_is_an_error_and_a_later_prune_retries() {
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let _guard = ClearImmutable(tmp.path().to_path_buf());
    if let Err(why) = chattr_works(tmp.path()) {
        eprintln!("SKIPPED immutable_file_is_an_error_and_a_later_prune_retries: {why}");
        return;
    }
    let root = tmp.path().join("ws");
    let a = session(&root, 48.0);
    let b = session(&root, 48.0);
    let c = session(&root, 48.0);
    for id in [&a, &b, &c] {
        std::fs::create_dir(root.join(id).join("out")).unwrap();
        write_file(&root.join(id).join("out/1.bin"), 1000);
        write_file(&root.join(id).join("out/2.bin"), 2000);
    }
    let stuck = root.join(&a).join("out/stuck.bin");
    write_file(&stuck, 4321);
    let total: u64 = [&a, &b, &c].iter().map(|id| tree_bytes(&root.join(id))).sum();
    chattr("+i", &stuck);

    let r = prune(&root, 24.0, false);
    assert_eq!(
        sorted(&r.deleted_sessions),
        ids(&[&b, &c]),
        "the prune must carry on after the error"
    );
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(r.errors[0].0, a);
    assert!(
        r.errors[0].1.contains("stuck.bin"),
        "message should name the file: {}",
        r.errors[0].1
    );
    assert!(r.summary().contains("1 error"), "{}", r.summary());
    assert_eq!(r.to_json()["errors"].as_object().unwrap().len(), 1);
    // What is left is not a session.
    assert!(
        !exists(&root.join(&a)),
        "half-deleted session still under its UUID name"
    );
    assert_no_half_sessions(&root, &[]);
    let trash = trash_of(&root, &a).expect("leftover in a trash directory");
    assert!(trash.join("out/stuck.bin").is_file());
    assert_eq!(wsprune::acquire(&root, &a).unwrap_err().status(), Status::NotFound);
    assert_eq!(
        wsprune::touch_session(&root, &a).unwrap_err().status(),
        Status::NotFound
    );

    // Still stuck: retried, still an error (keyed by the trash directory's
    // name, never by the session's id), nothing lost.
    let trash_name = trash.file_name().unwrap().to_str().unwrap().to_owned();
    let r2 = prune(&root, 24.0, false);
    assert!(r2.deleted_sessions.is_empty());
    assert_eq!(r2.errors.iter().map(|e| &e.0).collect::<Vec<_>>(), vec![&trash_name]);
    assert!(trash.join("out/stuck.bin").is_file());

    chattr("-i", &trash.join("out/stuck.bin"));
    let dry = prune(&root, 24.0, true);
    assert!(dry.deleted_sessions.is_empty());
    assert_eq!(dry.interrupted, vec![trash_name.clone()]);
    assert!(trash.is_dir());
    let r3 = prune(&root, 24.0, false);
    assert!(r3.deleted_sessions.is_empty());
    assert_eq!(r3.interrupted, vec![trash_name], "{:?}", r3.errors);
    assert!(r3.errors.is_empty());
    assert_eq!(r3.reclaimed_bytes, dry.reclaimed_bytes);
    assert_eq!(
        r.reclaimed_bytes + r3.reclaimed_bytes,
        total,
        "every byte reclaimed exactly once"
    );
    assert!(names(&root).is_empty(), "{:?}", names(&root));
}

/// A session directory that is itself immutable cannot be moved away: it is
/// an error and the session stays complete (nothing inside was deleted).
#[test]
fn immutable_session_directory_is_an_error_and_stays_whole() {
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let _guard = ClearImmutable(tmp.path().to_path_buf());
    if let Err(why) = chattr_works(tmp.path()) {
        eprintln!("SKIPPED immutable_session_directory_is_an_error_and_stays_whole: {why}");
        return;
    }
    let root = tmp.path().join("ws");
    let a = session(&root, 48.0);
    write_file(&root.join(&a).join("data"), 500);
    let b = session(&root, 48.0);
    let before = snapshot(&root.join(&a));
    chattr("+i", &root.join(&a));

    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![b]);
    assert_eq!(r.errors.iter().map(|e| &e.0).collect::<Vec<_>>(), vec![&a]);
    assert_eq!(snapshot(&root.join(&a)), before, "the session was partly deleted");
    assert!(trash_of(&root, &a).is_none());

    chattr("-i", &root.join(&a));
    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![a]);
    assert!(names(&root).is_empty());
}

/// A mount inside a session is an error for that session, its
/// contents stay, the prune carries on; after unmounting, a prune finishes it.
#[test]
fn bind_mount_inside_session_is_an_error_and_its_contents_survive() {
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let _guard = UnmountAll(tmp.path().to_path_buf());
    if let Err(why) = bind_mount_works(tmp.path()) {
        eprintln!("SKIPPED bind_mount_inside_session_is_an_error_and_its_contents_survive: {why}");
        return;
    }
    let root = tmp.path().join("ws");
    let shared = tmp.path().join("shared-data");
    std::fs::create_dir_all(shared.join("nested")).unwrap();
    write_file(&shared.join("dataset.csv"), 5000);
    write_file(&shared.join("nested/model.bin"), 7000);
    let shared_before = snapshot(&shared);

    let a = session(&root, 48.0);
    write_file(&root.join(&a).join("own.txt"), 10);
    let mnt = root.join(&a).join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let b = session(&root, 48.0);
    bind_mount(&shared, &mnt);

    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![b.clone()], "the prune must carry on");
    assert_eq!(r.errors.iter().map(|e| &e.0).collect::<Vec<_>>(), vec![&a]);
    assert!(
        r.errors[0].1.contains("mount"),
        "message should say why: {}",
        r.errors[0].1
    );
    assert_eq!(snapshot(&shared), shared_before, "files behind the mount were deleted");
    assert!(!exists(&root.join(&a)));
    assert_no_half_sessions(&root, &[]);
    let trash = trash_of(&root, &a).expect("leftover in trash");
    let moved_mnt = trash.join("mnt");
    assert_eq!(
        mounts_under(&root),
        vec![moved_mnt.clone()],
        "the mount is still there, inside the trash directory"
    );
    assert!(moved_mnt.join("nested/model.bin").is_file());

    umount(&moved_mnt);
    let trash_name = trash.file_name().unwrap().to_str().unwrap().to_owned();
    let r = prune(&root, 24.0, false);
    assert!(r.deleted_sessions.is_empty() && r.errors.is_empty(), "{r:?}");
    assert_eq!(r.interrupted, vec![trash_name]);
    assert!(names(&root).is_empty());
    assert_eq!(snapshot(&shared), shared_before);
}

/// A session directory that is itself a mount point is an error and stays.
#[test]
fn session_directory_that_is_a_mount_point_is_an_error() {
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let _guard = UnmountAll(tmp.path().to_path_buf());
    if let Err(why) = bind_mount_works(tmp.path()) {
        eprintln!("SKIPPED session_directory_that_is_a_mount_point_is_an_error: {why}");
        return;
    }
    let root = tmp.path().join("ws");
    let backing = tmp.path().join("backing");
    let a = new_id();
    session_at(&backing, &a, 48.0);
    write_file(&backing.join(&a).join("data"), 300);
    let backing_before = snapshot(&backing);
    let mountpoint = root.join(&a);
    std::fs::create_dir_all(&mountpoint).unwrap();
    let b = session(&root, 48.0);
    bind_mount(&backing.join(&a), &mountpoint);

    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![b]);
    assert_eq!(r.errors.iter().map(|e| &e.0).collect::<Vec<_>>(), vec![&a]);
    assert_eq!(snapshot(&backing), backing_before);
    assert!(mountpoint.join("data").is_file());
    umount(&mountpoint);
}

const PERM_CHILD_ENV: &str = "WSPRUNE_TEST_PERM_ROOT";

/// "Permission errors", for real: an unprivileged process prunes a
/// root holding sessions it may not delete. Those go into errors (one before
/// it could be moved, one after), its own sessions are deleted, including
/// ones with read-only and unreadable directories it owns; a privileged prune
/// later finishes the rest.
#[test]
fn permission_errors_as_unprivileged_user() {
    if let Ok(root) = std::env::var(PERM_CHILD_ENV) {
        print_result(&prune(Path::new(&root), 24.0, false));
        return;
    }
    let Some(setup) = unprivileged_setup("permission_errors_as_unprivileged_user") else {
        return;
    };
    let root = setup.root.clone();
    std::fs::create_dir(&root).unwrap();
    open_up(&root, 0o777);
    let nobody = 65534;

    // Root's session with readable metadata: locked and moved, then unlinks fail.
    let foreign = session(&root, 48.0);
    std::fs::set_permissions(
        root.join(&foreign).join(".metadata.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::create_dir(root.join(&foreign).join("sub")).unwrap();
    write_file(&root.join(&foreign).join("sub/f"), 100);
    // Root's session with 0600 metadata: cannot even be read.
    let unreadable = session(&root, 48.0);
    write_file(&root.join(&unreadable).join("g"), 100);
    let unreadable_before = snapshot(&root.join(&unreadable));
    // The unprivileged user's own sessions, one with awkward permissions.
    let own = session(&root, 48.0);
    write_file(&root.join(&own).join("h"), 100);
    let own_locked = session(&root, 48.0);
    let d = root.join(&own_locked);
    std::fs::create_dir_all(d.join("ro/inner")).unwrap();
    std::fs::create_dir_all(d.join("closed/inner")).unwrap();
    write_file(&d.join("ro/inner/x"), 10);
    write_file(&d.join("ro/y"), 10);
    write_file(&d.join("closed/inner/z"), 10);
    write_file(&d.join("closed/w"), 10);
    for id in [&own, &own_locked] {
        let out = std::process::Command::new("chown")
            .arg("-R")
            .arg("65534:65534")
            .arg(root.join(id))
            .status()
            .unwrap();
        assert!(out.success());
    }
    let own_bytes = tree_bytes(&root.join(&own)) + tree_bytes(&d);
    std::fs::set_permissions(d.join("ro"), std::fs::Permissions::from_mode(0o500)).unwrap();
    std::fs::set_permissions(d.join("closed/inner"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(d.join("closed"), std::fs::Permissions::from_mode(0o000)).unwrap();

    let out = run_self(
        "permission_errors_as_unprivileged_user",
        &[(PERM_CHILD_ENV, root.display().to_string())],
        Some(nobody),
    )
    .unwrap();
    let j = &child_results(&out)[0];
    assert_eq!(json_ids(j, "deleted_sessions"), ids(&[&own, &own_locked]), "{j}");
    assert_eq!(json_keys(j, "errors"), ids(&[&foreign, &unreadable]), "{j}");
    assert!(
        j["errors"][&foreign].as_str().unwrap().contains("ermission denied"),
        "{j}"
    );
    assert!(
        j["errors"][&unreadable].as_str().unwrap().contains("ermission denied"),
        "{j}"
    );
    assert!(j["reclaimed_bytes"].as_u64().unwrap() >= own_bytes, "{j}");
    assert_eq!(
        snapshot(&root.join(&unreadable)),
        unreadable_before,
        "the unreadable session was changed"
    );
    assert!(!exists(&root.join(&foreign)));
    assert_no_half_sessions(&root, &[&unreadable]);
    let trash = trash_of(&root, &foreign).expect("the foreign session's remains are in trash");
    assert!(trash.join("sub/f").is_file());

    // The unprivileged prune made the host directory in this world-writable
    // root: a privileged process refuses a host directory that neither the
    // root's owner nor root made (a guest could have planted it).
    let e = wsprune::prune_sessions(&root, &wsprune::PruneOptions::older_than(24.0, false)).unwrap_err();
    assert!(e.message().contains("is not the host's"), "{}", e.message());
    std::fs::remove_dir_all(root.join(HOST_DIR)).unwrap();

    // A privileged prune finishes both (the foreign one from its trash).
    let trash_name = trash.file_name().unwrap().to_str().unwrap().to_owned();
    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![unreadable.clone()], "{:?}", r.errors);
    assert_eq!(r.interrupted, vec![trash_name]);
    assert!(names(&root).is_empty(), "{:?}", names(&root));
}

const DRY_CHILD_ENV: &str = "WSPRUNE_TEST_UNPRIV_DRY_ROOT";

/// "Dry-run mode" for an unprivileged runtime: a session of its own
/// holding a directory it made unreadable (mode 0, as sandboxed code may do)
/// is deleted by the real prune (it may grant itself access to its own
/// directories); the dry run before it must report the same session as one
/// that would go, not as an error.
#[test]
fn unprivileged_dry_run_reports_what_the_real_prune_deletes() {
    if let Ok(root) = std::env::var(DRY_CHILD_ENV) {
        print_result(&prune(Path::new(&root), 24.0, true));
        print_result(&prune(Path::new(&root), 24.0, false));
        return;
    }
    let Some(setup) = unprivileged_setup("unprivileged_dry_run_reports_what_the_real_prune_deletes") else {
        return;
    };
    let root = setup.root.clone();
    std::fs::create_dir(&root).unwrap();
    open_up(&root, 0o777);
    let plain = session(&root, 48.0);
    write_file(&root.join(&plain).join("a"), 10);
    let closed = session(&root, 48.0);
    std::fs::create_dir(root.join(&closed).join("secret")).unwrap();
    write_file(&root.join(&closed).join("secret/b"), 20);
    for id in [&plain, &closed] {
        let st = std::process::Command::new("chown")
            .arg("-R")
            .arg("65534:65534")
            .arg(root.join(id))
            .status()
            .unwrap();
        assert!(st.success());
    }
    std::fs::set_permissions(
        root.join(&closed).join("secret"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();

    let out = run_self(
        "unprivileged_dry_run_reports_what_the_real_prune_deletes",
        &[(DRY_CHILD_ENV, root.display().to_string())],
        Some(65534),
    )
    .unwrap();
    let results = child_results(&out);
    let (dry, real) = (&results[0], &results[1]);
    assert_eq!(json_ids(real, "deleted_sessions"), ids(&[&plain, &closed]), "{real}");
    assert_eq!(real["errors"], serde_json::json!({}), "{real}");
    assert!(names(&root).is_empty());
    assert_eq!(
        json_ids(dry, "deleted_sessions"),
        json_ids(real, "deleted_sessions"),
        "the dry run did not report what the real prune then deleted:\n dry:  {dry}\n real: {real}"
    );
    assert_eq!(dry["errors"], serde_json::json!({}), "{dry}");
}

// ---------------------------------------------------------------- crash recovery

/// A trash directory left by a crashed prune is finished by the
/// next prune and reported by its trash name in `interrupted` (never as the
/// session it was); a dry run reports it and leaves it.
#[test]
fn trash_left_by_a_crashed_prune_is_finished_and_reported() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let id = new_id();
    let trash = root.join(format!(".wsprune-trash.{id}.123.456"));
    std::fs::create_dir_all(trash.join("half/way")).unwrap();
    write_file(&trash.join("a"), 1234);
    write_file(&trash.join("half/way/b"), 4321);
    symlink("/etc/passwd", trash.join("half/link")).unwrap();
    let bytes = tree_bytes(&trash);
    let recent = session(root, 1.0);

    // Not a session any more.
    assert_eq!(wsprune::acquire(root, &id).unwrap_err().status(), Status::NotFound);
    assert_eq!(
        wsprune::touch_session(root, &id).unwrap_err().status(),
        Status::NotFound
    );

    let name = format!(".wsprune-trash.{id}.123.456");
    let dry = prune(root, 24.0, true);
    assert!(dry.deleted_sessions.is_empty(), "{dry:?}");
    assert_eq!(dry.interrupted, vec![name.clone()]);
    assert_eq!(dry.reclaimed_bytes, bytes);
    assert!(trash.join("half/way/b").is_file(), "a dry run removed trash");

    let r = prune(root, 24.0, false);
    assert!(r.deleted_sessions.is_empty(), "{r:?}");
    assert_eq!(r.interrupted, vec![name]);
    assert_eq!(r.reclaimed_bytes, bytes);
    assert!(r.errors.is_empty() && r.skipped_sessions.is_empty());
    assert_eq!(names(root), vec![recent]);
    assert!(std::fs::metadata("/etc/passwd").is_ok());

    // Whatever the threshold: trash is never a live session.
    let id2 = new_id();
    std::fs::create_dir(root.join(format!(".wsprune-trash.{id2}.1.2"))).unwrap();
    let r = prune(root, 1e9, false);
    assert!(r.deleted_sessions.is_empty());
    assert_eq!(r.interrupted, vec![format!(".wsprune-trash.{id2}.1.2")]);
}
