//! Watermarks and percentages on real, size-limited filesystems: a private
//! tmpfs per test (its size and inode count fixed by mount options), whose
//! fullness no other process changes. Skipped, saying so, where tmpfs cannot
//! be mounted (not root, no CAP_SYS_ADMIN).

#[path = "prune_support/mod.rs"]
mod support;

use std::path::Path;

use support::*;
use wsprune::{FsUsage, PruneOptions, PruneResult, Rule, SkipReason, Status};

const MIB: usize = 1 << 20;

/// A session `age_hours` old holding one file of `bytes` bytes.
fn sized_session(root: &Path, age_hours: f64, bytes: usize) -> String {
    let id = session(root, age_hours);
    write_file(&root.join(&id).join("blob"), bytes);
    id
}

/// A session `age_hours` old holding `files` empty files (inodes, no blocks).
fn many_files_session(root: &Path, age_hours: f64, files: usize) -> String {
    let id = session(root, age_hours);
    for i in 0..files {
        std::fs::write(root.join(&id).join(format!("f{i}")), b"").unwrap();
    }
    id
}

fn usage(root: &Path) -> FsUsage {
    FsUsage::of_root(root).unwrap()
}

fn run(root: &Path, opts: &PruneOptions) -> PruneResult {
    wsprune::prune_sessions(root, opts).unwrap_or_else(|e| panic!("prune failed: {e}"))
}

/// A dry run, then the real prune, which must delete what the dry run projected.
fn dry_then_real(root: &Path, opts: &PruneOptions) -> PruneResult {
    let dry = run(
        root,
        &PruneOptions {
            dry_run: true,
            ..opts.clone()
        },
    );
    let r = run(root, opts);
    assert_eq!(
        dry.deleted_sessions, r.deleted_sessions,
        "the dry run projected otherwise"
    );
    r
}

/// Watermarks only: the age rule off, no floor unless a test sets one.
/// Writes `file` until its filesystem is full (ENOSPC).
fn fill_up(file: &Path) {
    let mut f = std::fs::File::create(file).unwrap();
    let chunk = vec![7u8; 64 << 10];
    while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
}

fn watermark(high: f64, low: Option<f64>) -> PruneOptions {
    PruneOptions {
        older_than_hours: None,
        high_watermark_percent: Some(high),
        low_watermark_percent: low,
        ..Default::default()
    }
}

#[test]
fn a_crossed_watermark_evicts_the_least_recently_used_down_to_the_low_one_and_no_further() {
    let _serial = exclusive(); // mounts
    let Some(fs) = tmpfs("size=16m") else { return };
    let root = &fs.root;
    // Five 2 MiB sessions, oldest first, and one used a minute ago: ~75% full.
    let old: Vec<String> = [50.0, 40.0, 30.0, 20.0, 10.0]
        .iter()
        .map(|&h| sized_session(root, h, 2 * MIB))
        .collect();
    let fresh = sized_session(root, 0.02, 2 * MIB);
    let before = usage(root);
    assert!(before.used_percent() > 70.0, "{before:?}");

    // Below the high mark nothing happens, however far above the low one.
    let r = run(root, &watermark(90.0, Some(10.0)));
    assert!(r.deleted_sessions.is_empty() && r.unmet_targets.is_empty(), "{r:?}");

    // Above it: the oldest go until at most 40% is used. The dry run projects
    // exactly what the real prune then does.
    let opts = watermark(70.0, Some(40.0));
    let r = dry_then_real(root, &opts);
    assert!(r.deleted_rules.iter().all(|&x| x == Rule::Watermark), "{r:?}");
    let after = usage(root);
    assert!(after.used_percent() <= 40.0, "{after:?}");
    let k = r.deleted_sessions.len();
    let mut expected = old[..k].to_vec();
    expected.sort();
    assert_eq!(r.deleted_sessions, expected, "not the least recently used");
    // No further than needed: keeping the last one evicted would be above 40%.
    let last = r.deleted_bytes[r.deleted_sessions.iter().position(|id| *id == old[k - 1]).unwrap()];
    assert!(
        after.used_bytes() + last > after.size_bytes * 40 / 100,
        "{after:?}, last {last}"
    );
    assert!(r.unmet_targets.is_empty());

    // Hysteresis: filled again to between the marks, nothing goes.
    write_file(&root.join(&old[k]).join("more"), 3 * MIB);
    let between = usage(root).used_percent();
    assert!(between > 40.0 && between < 70.0, "{between}");
    let r = run(root, &opts);
    assert!(r.deleted_sessions.is_empty(), "{r:?}");
    assert!(names(root).contains(&fresh));
}

#[test]
fn a_watermark_honours_leases_the_min_age_floor_and_max_deletions_and_reports_what_it_missed() {
    let _serial = exclusive(); // mounts
    let Some(fs) = tmpfs("size=16m") else { return };
    let root = &fs.root;
    let oldest = sized_session(root, 50.0, 3 * MIB);
    let second = sized_session(root, 40.0, 3 * MIB);
    let third = sized_session(root, 30.0, 3 * MIB);
    let fresh = sized_session(root, 0.5, 3 * MIB); // under the default 1 h floor
    let lease = wsprune::acquire(root, &oldest).unwrap();

    // max_deletions 1: only the oldest unleased one goes; 10% is out of
    // reach and said so, with the bytes used and allowed.
    let r = run(
        root,
        &PruneOptions {
            max_deletions: Some(1),
            min_age_hours: 1.0,
            ..watermark(50.0, Some(10.0))
        },
    );
    assert_eq!(r.deleted_sessions, vec![second.clone()]);
    let skipped: Vec<_> = r
        .skipped_sessions
        .iter()
        .map(|s| (s.session_id.clone(), s.reason))
        .collect();
    assert_eq!(skipped, vec![(oldest.clone(), SkipReason::InUse)]);
    assert_eq!(r.unmet_targets, vec![Rule::Watermark]);
    let u = usage(root);
    assert_eq!(r.unmet[0].target, u.size_bytes * 10 / 100);
    assert_eq!(r.unmet[0].actual, u.used_bytes());
    assert!(
        r.summary().ends_with("; target not reached: watermark"),
        "{}",
        r.summary()
    );

    // Without the limit: the third goes too, never the leased one nor the fresh one.
    let r = run(root, &watermark(10.0, None));
    assert_eq!(r.deleted_sessions, vec![third]);
    assert_eq!(r.unmet_targets, vec![Rule::Watermark]);
    let mut left = vec![oldest, fresh];
    left.sort();
    assert_eq!(names(root), left);
    drop(lease);
}

#[test]
fn a_full_filesystem_reaches_the_100_percent_watermark() {
    let _serial = exclusive(); // mounts
    let Some(fs) = tmpfs("size=8m") else { return };
    let root = &fs.root;
    let a = sized_session(root, 30.0, 2 * MIB);
    let b = sized_session(root, 20.0, 2 * MIB);
    let opts = watermark(100.0, Some(75.0));
    let r = run(root, &opts);
    assert!(r.deleted_sessions.is_empty(), "not full yet: {r:?}");
    // Fill it to the last block from inside a session (a guest's writes).
    fill_up(&root.join(&b).join("fill"));
    assert_eq!(usage(root).available_bytes, 0);
    let r = run(root, &opts);
    assert_eq!(r.deleted_sessions, vec![a]);
    assert!(usage(root).used_percent() <= 75.0 || r.unmet_targets == vec![Rule::Watermark]);
}

/// Without a low mark, a 100% mark reached evicts until the filesystem is
/// just below it (a block free), not nothing: "just below the mark" holds at
/// 100% too.
#[test]
fn a_100_percent_watermark_without_a_low_mark_frees_a_full_filesystem() {
    let _serial = exclusive(); // mounts
    let Some(fs) = tmpfs("size=8m") else { return };
    let root = &fs.root;
    let a = sized_session(root, 30.0, 2 * MIB);
    let b = sized_session(root, 20.0, 2 * MIB);
    fill_up(&root.join(&b).join("fill"));
    assert_eq!(usage(root).available_bytes, 0);
    let r = run(root, &watermark(100.0, None));
    assert_eq!(r.deleted_sessions, vec![a], "{r:?}");
    assert!(r.unmet_targets.is_empty(), "{r:?}");
    assert!(usage(root).available_bytes > 0);
}

#[test]
fn an_inode_watermark_counts_inodes_not_bytes() {
    let _serial = exclusive(); // mounts
    let Some(fs) = tmpfs("size=16m,nr_inodes=400") else {
        return;
    };
    let root = &fs.root;
    let old: Vec<String> = [50.0, 40.0, 30.0, 20.0]
        .iter()
        .map(|&h| many_files_session(root, h, 70))
        .collect();
    let before = usage(root);
    assert_eq!(before.inodes, 400);
    assert!(before.inode_used_percent() > 70.0, "{before:?}");
    assert!(before.used_percent() < 5.0, "empty files take no blocks: {before:?}");

    // The byte watermark is not reached: nothing goes by it.
    let r = run(root, &watermark(50.0, Some(10.0)));
    assert!(r.deleted_sessions.is_empty(), "{r:?}");

    let opts = PruneOptions {
        older_than_hours: None,
        high_inode_watermark_percent: Some(70.0),
        low_inode_watermark_percent: Some(40.0),
        ..Default::default()
    };
    let r = dry_then_real(root, &opts);
    assert!(r.deleted_rules.iter().all(|&x| x == Rule::InodeWatermark), "{r:?}");
    let after = usage(root);
    assert!(after.inode_used_percent() <= 40.0, "{after:?}");
    // Each session is 72 inodes (directory, metadata, 70 files): two must go, not three.
    let mut expected = old[..2].to_vec();
    expected.sort();
    assert_eq!(r.deleted_sessions, expected);
}

#[test]
fn min_free_percent_is_one_rule_with_min_free_bytes() {
    let _serial = exclusive(); // mounts
    let Some(fs) = tmpfs("size=16m") else { return };
    let root = &fs.root;
    let ids: Vec<String> = [40.0, 30.0, 20.0, 10.0]
        .iter()
        .map(|&h| sized_session(root, h, 3 * MIB))
        .collect();
    // 50% free asked: the oldest go until 8 MiB are available.
    let opts = PruneOptions {
        older_than_hours: None,
        min_free_percent: Some(50.0),
        ..Default::default()
    };
    let r = run(root, &opts);
    assert!(r.deleted_rules.iter().all(|&x| x == Rule::MinFreeBytes));
    let u = usage(root);
    assert!(u.available_bytes * 2 >= u.size_bytes, "{u:?}");
    assert_eq!(r.deleted_sessions.len(), 2, "{r:?}");
    assert!(!names(root).contains(&ids[0]) && !names(root).contains(&ids[1]));
    // With a larger byte target beside it (12 MiB, while 50% is 8), the larger one wins.
    let r = run(
        root,
        &PruneOptions {
            min_free_bytes: Some(12 * MIB as u64),
            ..opts.clone()
        },
    );
    assert_eq!(r.deleted_sessions, vec![ids[2].clone()]);
    assert!(usage(root).available_bytes >= 12 * MIB as u64);
    // Out of reach while the last session is leased: reported as
    // min_free_bytes, with the target 100% is.
    let lease = wsprune::acquire(root, &ids[3]).unwrap();
    let r = run(
        root,
        &PruneOptions {
            min_free_percent: Some(100.0),
            ..opts
        },
    );
    assert!(r.deleted_sessions.is_empty(), "{r:?}");
    assert_eq!(r.unmet_targets, vec![Rule::MinFreeBytes]);
    assert_eq!(r.unmet[0].target, usage(root).size_bytes);
    drop(lease);
}

#[test]
fn percentages_outside_0_to_100_and_a_low_mark_above_the_high_one_are_invalid() {
    let tmp = tempfile::tempdir().unwrap();
    let none = PruneOptions {
        older_than_hours: None,
        ..Default::default()
    };
    let bad = [
        PruneOptions {
            high_watermark_percent: Some(0.0),
            ..none.clone()
        },
        PruneOptions {
            high_watermark_percent: Some(100.5),
            ..none.clone()
        },
        PruneOptions {
            high_watermark_percent: Some(f64::NAN),
            ..none.clone()
        },
        PruneOptions {
            high_watermark_percent: Some(80.0),
            low_watermark_percent: Some(85.0),
            ..none.clone()
        },
        PruneOptions {
            low_watermark_percent: Some(80.0),
            ..none.clone()
        },
        PruneOptions {
            high_inode_watermark_percent: Some(-1.0),
            ..none.clone()
        },
        PruneOptions {
            high_inode_watermark_percent: Some(50.0),
            low_inode_watermark_percent: Some(60.0),
            ..none.clone()
        },
        PruneOptions {
            min_free_percent: Some(0.0),
            ..none.clone()
        },
        PruneOptions {
            min_free_percent: Some(f64::INFINITY),
            ..none.clone()
        },
    ];
    for o in bad {
        let e = wsprune::prune_sessions(tmp.path(), &o).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{o:?}: {e}");
    }
    // The edges that are valid: 100%, low equal to high.
    for o in [
        PruneOptions {
            high_watermark_percent: Some(100.0),
            low_watermark_percent: Some(100.0),
            min_free_percent: Some(100.0),
            ..none.clone()
        },
        PruneOptions {
            high_inode_watermark_percent: Some(0.5),
            low_inode_watermark_percent: Some(0.5),
            ..none
        },
    ] {
        o.validate().unwrap();
    }
}
