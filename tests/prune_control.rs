//! What a prune's result carries about each session it handled (bytes, idle
//! age, rule; each unmet target's target and actual value), and the live
//! control of a prune: the per-record hook and cancellation between sessions.

#[path = "prune_support/mod.rs"]
mod prune_support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use prune_support::*;
use wsprune::{PruneControl, PruneOptions, Record, Rule};

#[test]
fn the_result_carries_each_deleted_sessions_bytes_age_and_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let old = session(root, 50.0);
    write_file(&root.join(&old).join("data.bin"), 40_000);
    let evicted = session(root, 10.0);
    write_file(&root.join(&evicted).join("data.bin"), 8_192);
    let _fresh = session(root, 2.0);
    let opts = PruneOptions {
        older_than_hours: Some(24.0),
        max_sessions: Some(1),
        ..Default::default()
    };
    let r = wsprune::prune_sessions(root, &opts).unwrap();
    assert_eq!(r.deleted_sessions.len(), 2, "{r:?}");
    assert_eq!(r.deleted_bytes.len(), 2);
    assert_eq!(r.deleted_age_hours.len(), 2);
    for (i, id) in r.deleted_sessions.iter().enumerate() {
        let (want_rule, want_age, min_bytes) = if *id == old {
            (Rule::OlderThan, 50.0, 40_000)
        } else {
            (Rule::MaxSessions, 10.0, 8_192)
        };
        assert_eq!(r.deleted_rules[i], want_rule);
        assert!((r.deleted_age_hours[i] - want_age).abs() < 0.1, "{r:?}");
        assert!(r.deleted_bytes[i] >= min_bytes, "{r:?}");
    }
    assert_eq!(r.deleted_bytes.iter().sum::<u64>(), r.reclaimed_bytes);
}

#[test]
fn an_unmet_target_carries_its_target_and_actual_value() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for _ in 0..3 {
        session(root, 0.0); // too young for the capacity rules' 1 h floor
    }
    let opts = PruneOptions {
        max_sessions: Some(1),
        ..Default::default()
    };
    let r = wsprune::prune_sessions(root, &opts).unwrap();
    assert_eq!(r.unmet_targets, vec![Rule::MaxSessions]);
    assert_eq!(r.unmet.len(), 1);
    assert_eq!(
        (r.unmet[0].rule, r.unmet[0].target, r.unmet[0].actual),
        (Rule::MaxSessions, 1, 3)
    );
}

#[test]
fn the_hook_hears_every_record_the_result_ends_with() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ids: Vec<String> = (0..6).map(|_| session(root, 30.0)).collect();
    let _legacy = legacy_session(root);
    let heard = Arc::new(Mutex::new(Vec::new()));
    let h = heard.clone();
    let control = PruneControl {
        on_record: Some(Arc::new(move |r: &Record| {
            let line = match r {
                Record::Deleted { session_id, bytes, .. } => format!("deleted {session_id} {bytes}"),
                Record::Skipped(s) => format!("skipped {}", s.session_id),
                other => format!("{other:?}"),
            };
            h.lock().unwrap().push(line);
        })),
        ..Default::default()
    };
    let r = wsprune::prune_sessions_with(root, &PruneOptions::default(), &control).unwrap();
    let mut heard = heard.lock().unwrap().clone();
    heard.sort();
    let mut want: Vec<String> = r
        .deleted_sessions
        .iter()
        .zip(&r.deleted_bytes)
        .map(|(id, b)| format!("deleted {id} {b}"))
        .chain(r.skipped_sessions.iter().map(|s| format!("skipped {}", s.session_id)))
        .collect();
    want.sort();
    assert_eq!(heard, want);
    assert_eq!(sorted(&r.deleted_sessions), sorted(&ids));
}

/// A cancel set while the prune runs: the session under way is finished
/// (deleted whole, never left half deleted under its name), no further
/// session is started, and the result tells exactly what went.
#[test]
fn a_cancelled_prune_finishes_the_session_under_way_and_starts_no_other() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ids: Vec<String> = (0..20).map(|_| session(root, 30.0)).collect();
    let cancel = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicUsize::new(0));
    let (c, s) = (cancel.clone(), seen.clone());
    let control = PruneControl {
        cancel: Some(cancel.clone()),
        // Cancel at the third record, as a signal handler would.
        on_record: Some(Arc::new(move |_: &Record| {
            if s.fetch_add(1, Ordering::SeqCst) == 2 {
                c.store(true, Ordering::SeqCst);
            }
        })),
    };
    let opts = PruneOptions {
        jobs: 1,
        ..Default::default()
    };
    let r = wsprune::prune_sessions_with(root, &opts, &control).unwrap();
    assert_eq!(r.deleted_sessions.len(), 3, "{r:?}");
    let left = names(root);
    assert_eq!(left.len(), ids.len() - 3, "{left:?}");
    for id in &r.deleted_sessions {
        assert!(!left.contains(id));
    }
    assert!(left.iter().all(|n| !n.starts_with('.')), "no trash left: {left:?}");
    // Not cancelled: the next prune takes the rest.
    let r = wsprune::prune_sessions(root, &opts).unwrap();
    assert_eq!(r.deleted_sessions.len(), ids.len() - 3);
}
