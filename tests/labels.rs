//! Label selectors and per-owner caps on real workspaces: what a prune
//! deletes when it is given a selector or per-owner caps, that labels are
//! read only from the host-owned record (never from the guest's mirror),
//! and the races: a label changed between the scan and the deletion keeps
//! the session.

#[path = "prune_support/mod.rs"]
mod prune_support;

use std::path::Path;
use std::sync::{Arc, Mutex};

use prune_support::*;
use wsprune::labels::Selector;
use wsprune::{PruneOptions, PruneResult, Rule, SkipReason};

/// Serializes the tests that install the process-wide event handler.
static HANDLER: Mutex<()> = Mutex::new(());

/// Gives registered session `id` the record labels `labels` (`k=v` each),
/// keeping the rest of its record, as the host's own label update does.
fn set_labels(root: &Path, id: &str, labels: &[&str]) {
    let path = record_path(root, id);
    let mut record: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let map: serde_json::Map<_, _> = labels
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_owned(), serde_json::Value::from(v))
        })
        .collect();
    record.insert("labels".into(), serde_json::Value::Object(map));
    let mut text = serde_json::to_string_pretty(&record).unwrap();
    text.push('\n');
    std::fs::write(&path, text).unwrap();
}

/// Changes session `id`'s labels through the library, as a runtime would.
fn relabel(root: &Path, id: &str, change: &str) {
    let change = wsprune::labels::LabelChange::parse(change).unwrap();
    wsprune::set_session_labels(root, id, &[change]).unwrap();
}

/// A registered session last used `age_hours` ago with `labels` and a file of `bytes`.
fn labelled(root: &Path, age_hours: f64, labels: &[&str], bytes: usize) -> String {
    let id = registered_session(root, age_hours);
    set_labels(root, &id, labels);
    if bytes > 0 {
        write_file(&root.join(&id).join("data.bin"), bytes);
    }
    id
}

/// A guest's forgery: `.metadata.json` of session `id` claims owner=bob.
fn claim_bob_in_the_mirror(root: &Path, id: &str) {
    let text = std::fs::read_to_string(root.join(id).join(".metadata.json"))
        .unwrap()
        .replacen(
            "\"version\": 1",
            "\"version\": 1,\n  \"labels\": {\"owner\": \"bob\"}",
            1,
        );
    write_metadata_raw(&root.join(id), &text);
}

fn sel(text: &str) -> Option<Selector> {
    Some(Selector::parse(text).unwrap())
}

fn run(root: &Path, opts: PruneOptions) -> PruneResult {
    wsprune::prune_sessions(root, &opts).unwrap_or_else(|e| panic!("prune failed: {e}"))
}

fn deleted(r: &PruneResult) -> Vec<String> {
    sorted(&r.deleted_sessions)
}

fn rules_of(r: &PruneResult) -> Vec<(String, Rule)> {
    let mut v: Vec<_> = r
        .deleted_sessions
        .iter()
        .cloned()
        .zip(r.deleted_rules.iter().copied())
        .collect();
    v.sort();
    v
}

/// Per-owner options without an age rule and without a floor.
fn per_owner(sessions: Option<u64>, bytes: Option<u64>) -> PruneOptions {
    PruneOptions {
        older_than_hours: None,
        min_age_hours: 0.0,
        per_owner: Some("owner".into()),
        max_sessions_per_owner: sessions,
        max_bytes_per_owner: bytes,
        ..Default::default()
    }
}

#[test]
fn a_selector_limits_the_age_rule_to_the_sessions_it_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let alice = labelled(root, 48.0, &["owner=alice", "tier=free"], 0);
    let alice_pro = labelled(root, 48.0, &["owner=alice", "tier=pro"], 0);
    let bob = labelled(root, 48.0, &["owner=bob"], 0);
    let nobody = registered_session(root, 48.0);
    let legacy_dir = session(root, 48.0); // unregistered: no labels
    let fresh_alice = labelled(root, 1.0, &["owner=alice"], 0);
    let dry = |s: &str| {
        deleted(&run(
            root,
            PruneOptions {
                selector: sel(s),
                ..PruneOptions::older_than(24.0, true)
            },
        ))
    };
    assert_eq!(dry("owner=alice"), sorted(&[alice.clone(), alice_pro.clone()]));
    assert_eq!(dry("owner=alice,tier!=pro"), vec![alice.clone()]);
    assert_eq!(
        dry("tier!=pro"),
        sorted(&[alice.clone(), bob.clone(), nobody.clone(), legacy_dir.clone()])
    );
    assert_eq!(dry("!owner"), sorted(&[nobody.clone(), legacy_dir.clone()]));
    assert_eq!(dry("tier"), sorted(&[alice.clone(), alice_pro.clone()]));
    assert_eq!(dry("owner=carol"), Vec::<String>::new());
    // The real prune deletes what the dry run said, and nothing else.
    let r = run(
        root,
        PruneOptions {
            selector: sel("owner=alice"),
            ..PruneOptions::older_than(24.0, false)
        },
    );
    assert_eq!(deleted(&r), sorted(&[alice.clone(), alice_pro.clone()]));
    assert_eq!(
        names(root),
        sorted(&[bob, nobody, legacy_dir, fresh_alice]),
        "sessions outside the selector stay, stale or not"
    );
}

#[test]
fn labels_come_from_the_record_never_from_the_guests_mirror() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // A registered session whose guest wrote other labels into its mirror.
    let forged = labelled(root, 48.0, &["owner=alice"], 0);
    claim_bob_in_the_mirror(root, &forged);
    // An unregistered directory (reference implementation) whose metadata claims labels.
    let unregistered = session(root, 48.0);
    claim_bob_in_the_mirror(root, &unregistered);
    let r = run(
        root,
        PruneOptions {
            selector: sel("owner=bob"),
            ..PruneOptions::older_than(24.0, false)
        },
    );
    assert!(r.deleted_sessions.is_empty(), "{:?}", r.deleted_sessions);
    // Per-owner caps count the record's owner: the forged "bob" owns nothing.
    let bob_old = labelled(root, 30.0, &["owner=bob"], 0);
    let bob_new = labelled(root, 20.0, &["owner=bob"], 0);
    let r = run(root, per_owner(Some(1), None));
    assert_eq!(rules_of(&r), vec![(bob_old, Rule::MaxSessionsPerOwner)]);
    assert!(root.join(&forged).exists() && root.join(&unregistered).exists() && root.join(&bob_new).exists());
}

#[test]
fn a_record_whose_labels_cannot_be_read_matches_no_selector_and_has_no_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let bad = labelled(root, 48.0, &["owner=alice"], 0);
    // A value no label may hold (edited by hand): the labels are unreadable.
    set_labels(root, &bad, &["owner=al ice", "tier=pro"]);
    for s in ["owner", "!owner", "tier!=free", "!spot"] {
        let r = run(
            root,
            PruneOptions {
                selector: sel(s),
                ..PruneOptions::older_than(24.0, true)
            },
        );
        assert!(r.deleted_sessions.is_empty(), "{s}: {:?}", r.deleted_sessions);
    }
    let r = run(root, per_owner(Some(1), None));
    assert!(r.deleted_sessions.is_empty() && r.unmet.is_empty());
    // Without a selector it is an ordinary stale session.
    assert_eq!(deleted(&run(root, PruneOptions::older_than(24.0, true))), vec![bad]);
}

#[test]
fn per_owner_caps_evict_each_owners_least_recently_used_only() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let alice: Vec<String> = [10.0, 9.0, 8.0, 7.0]
        .iter()
        .map(|&h| labelled(root, h, &["owner=alice"], 0))
        .collect();
    let bob: Vec<String> = [30.0, 29.0]
        .iter()
        .map(|&h| labelled(root, h, &["owner=bob"], 0))
        .collect();
    // No owner: older than all, never evicted by a per-owner cap (also an empty value).
    let unowned = [registered_session(root, 50.0), labelled(root, 50.0, &["owner="], 0)];
    let r = run(root, per_owner(Some(2), None));
    assert_eq!(
        rules_of(&r),
        sorted(&alice[..2])
            .into_iter()
            .map(|id| (id, Rule::MaxSessionsPerOwner))
            .collect::<Vec<_>>()
    );
    assert!(r.unmet.is_empty());
    for id in alice[2..].iter().chain(&bob).chain(&unowned) {
        assert!(root.join(id).exists(), "{id}");
    }
}

#[test]
fn a_byte_cap_per_owner_counts_each_owners_sessions_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let a_old = labelled(root, 5.0, &["owner=alice"], 64 * 1024);
    let a_mid = labelled(root, 4.0, &["owner=alice"], 64 * 1024);
    let a_new = labelled(root, 3.0, &["owner=alice"], 64 * 1024);
    let b_big = labelled(root, 9.0, &["owner=bob"], 100 * 1024);
    let one = du_bytes(&root.join(&a_new));
    let cap = one * 2; // alice holds three of them, bob one bigger one
    let r = run(root, per_owner(None, Some(cap)));
    assert_eq!(rules_of(&r), vec![(a_old.clone(), Rule::MaxBytesPerOwner)]);
    assert!(root.join(&a_mid).exists() && root.join(&a_new).exists() && root.join(&b_big).exists());
    assert_eq!(r.reclaimed_bytes, one);
}

#[test]
fn per_owner_caps_honour_leases_the_floor_and_max_deletions() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let a: Vec<String> = [10.0, 9.0, 8.0, 0.1, 0.05]
        .iter()
        .map(|&h| labelled(root, h, &["owner=alice"], 0))
        .collect();
    // Leased: skipped, the next oldest goes in its place.
    let lease = wsprune::acquire(root, &a[0]).unwrap();
    let opts = PruneOptions {
        min_age_hours: 1.0,
        ..per_owner(Some(2), None)
    };
    let r = run(
        root,
        PruneOptions {
            dry_run: true,
            ..opts.clone()
        },
    );
    assert_eq!(deleted(&r), sorted(&[a[1].clone(), a[2].clone()]));
    assert_eq!(skipped(&r), vec![(a[0].clone(), SkipReason::InUse)]);
    // Under the floor only the leased one and the two young ones are left:
    // alice still has 3 > 2, reported as unmet.
    assert_eq!(r.unmet_targets, vec![Rule::MaxSessionsPerOwner]);
    assert_eq!((r.unmet[0].target, r.unmet[0].actual), (2, 3));
    // max_deletions stops the owner's evictions too.
    let r = run(
        root,
        PruneOptions {
            max_deletions: Some(1),
            ..opts.clone()
        },
    );
    assert_eq!(deleted(&r), vec![a[1].clone()]);
    lease.release(false).unwrap();
    let r = run(root, opts);
    assert_eq!(deleted(&r), sorted(&[a[0].clone(), a[2].clone()]));
    assert!(r.unmet.is_empty());
}

#[test]
fn owners_go_first_then_the_workspace_rules_see_what_they_freed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let heavy: Vec<String> = [5.0, 4.0, 3.0, 2.0]
        .iter()
        .map(|&h| labelled(root, h, &["owner=heavy"], 0))
        .collect();
    let light_old = labelled(root, 9.0, &["owner=light"], 0);
    // 5 sessions, at most 3 in all and 2 per owner: the heavy owner's two
    // oldest go for its own cap and the workspace is then within its cap, so
    // the light owner's older session stays.
    let r = run(
        root,
        PruneOptions {
            max_sessions: Some(3),
            ..per_owner(Some(2), None)
        },
    );
    assert_eq!(deleted(&r), sorted(&heavy[..2]));
    assert!(root.join(&light_old).exists());
}

#[test]
fn with_a_selector_the_capacity_rules_count_only_the_selected_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let alice: Vec<String> = [3.0, 2.0, 1.5]
        .iter()
        .map(|&h| labelled(root, h, &["owner=alice"], 0))
        .collect();
    let bob: Vec<String> = [9.0, 8.0]
        .iter()
        .map(|&h| labelled(root, h, &["owner=bob"], 0))
        .collect();
    let r = run(
        root,
        PruneOptions {
            older_than_hours: None,
            max_sessions: Some(1),
            selector: sel("owner=alice"),
            ..Default::default()
        },
    );
    assert_eq!(deleted(&r), sorted(&alice[..2]));
    assert!(bob.iter().all(|id| root.join(id).exists()));
}

#[test]
fn bad_label_options_are_invalid_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    for opts in [
        PruneOptions {
            max_sessions_per_owner: Some(2),
            ..Default::default()
        },
        PruneOptions {
            per_owner: Some("owner".into()),
            ..Default::default()
        },
        PruneOptions {
            per_owner: Some("bad key".into()),
            max_sessions_per_owner: Some(1),
            ..Default::default()
        },
        per_owner(Some(0), None),
        per_owner(None, Some(0)),
    ] {
        let e = wsprune::prune_sessions(tmp.path(), &opts).unwrap_err();
        assert_eq!(e.status(), wsprune::Status::InvalidArgument, "{opts:?}: {e}");
    }
}

/// Runs `prune` with an event handler that, when the prune announces
/// `victim` as a candidate (after its scan, before its deletion), calls `change`.
fn with_change_at_candidate(
    victim: &str,
    change: impl Fn() + Send + Sync + 'static,
    prune: impl FnOnce() -> PruneResult,
) -> PruneResult {
    let _g = HANDLER.lock().unwrap_or_else(|e| e.into_inner());
    let victim = victim.to_owned();
    let change = Arc::new(change);
    wsprune::events::set_handler(Some(Arc::new(move |e: &wsprune::Event| {
        if e.name == "session.prune.candidate" && e.fields.get("session_id").and_then(|v| v.as_str()) == Some(&victim) {
            change();
        }
    })));
    let r = prune();
    wsprune::events::set_handler(None);
    r
}

#[test]
fn a_label_update_during_a_capacity_scan_keeps_the_session() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let a: Vec<String> = [10.0, 9.0, 8.0]
        .iter()
        .map(|&h| labelled(&root, h, &["owner=alice"], 0))
        .collect();
    // The oldest is handed to bob after the scan counted it as alice's:
    // alice then holds two, within her cap, so nothing of hers goes.
    let (r2, v) = (root.clone(), a[0].clone());
    let r = with_change_at_candidate(
        &a[0],
        move || relabel(&r2, &v, "owner=bob"),
        || run(&root, per_owner(Some(2), None)),
    );
    assert!(r.deleted_sessions.is_empty(), "{:?}", r.deleted_sessions);
    assert!(a.iter().all(|id| root.join(id).exists()));
    // A selector's match is re-checked under the lock too.
    let (r2, v) = (root.clone(), a[1].clone());
    let opts = PruneOptions {
        selector: sel("owner=alice"),
        ..PruneOptions::older_than(1.0, false)
    };
    let r = with_change_at_candidate(&a[1], move || relabel(&r2, &v, "owner=carol"), || run(&root, opts));
    assert_eq!(deleted(&r), vec![a[2].clone()]);
    assert!(root.join(&a[0]).exists() && root.join(&a[1]).exists());
}

#[test]
fn listing_shows_the_records_labels_never_the_mirrors() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let alice = labelled(root, 1.0, &["owner=alice"], 0);
    claim_bob_in_the_mirror(root, &alice);
    let unregistered = session(root, 1.0);
    claim_bob_in_the_mirror(root, &unregistered);
    let bad = labelled(root, 1.0, &["owner=al ice"], 0);
    let listed: std::collections::BTreeMap<String, Option<wsprune::labels::Labels>> = wsprune::list_sessions(root, 0)
        .unwrap()
        .into_iter()
        .map(|s| (s.session_id, s.labels))
        .collect();
    let owner = |v: &str| Some([("owner".to_owned(), v.to_owned())].into_iter().collect());
    assert_eq!(listed[&alice], owner("alice"));
    assert_eq!(listed[&unregistered], Some(Default::default()));
    assert_eq!(listed[&bad], None);
    let info = wsprune::session_info(root, &alice).unwrap();
    assert_eq!(info.labels, owner("alice"));
    assert_eq!(
        info.to_json(chrono::Utc::now())["labels"],
        serde_json::json!({"owner": "alice"})
    );
}

#[test]
fn labels_are_set_at_create_and_open_and_changed_in_the_record_only() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let opts = |labels: &[&str]| wsprune::SessionOptions {
        labels: wsprune::labels::from_assignments(labels).unwrap(),
        ..Default::default()
    };
    let id = wsprune::create_session_with(root, None, &opts(&["owner=alice", "tier=free"])).unwrap();
    let record = |id: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(record_path(root, id)).unwrap()).unwrap()
    };
    assert_eq!(
        record(&id)["labels"],
        serde_json::json!({"owner": "alice", "tier": "free"})
    );
    // An open sets the labels it is given and keeps the others.
    let (same, created) = wsprune::create_or_open_session_with(root, Some(&id), &opts(&["tier=pro"])).unwrap();
    assert_eq!((same.as_str(), created), (id.as_str(), false));
    assert_eq!(
        record(&id)["labels"],
        serde_json::json!({"owner": "alice", "tier": "pro"})
    );
    // An open without labels leaves them.
    wsprune::create_or_open_session(root, Some(&id)).unwrap();
    assert_eq!(
        record(&id)["labels"],
        serde_json::json!({"owner": "alice", "tier": "pro"})
    );
    let parse = |c: &[&str]| {
        c.iter()
            .map(|c| wsprune::labels::LabelChange::parse(c).unwrap())
            .collect::<Vec<_>>()
    };
    let now = wsprune::set_session_labels(root, &id, &parse(&["tier-", "owner=bob", "gpu="])).unwrap();
    assert_eq!(now, wsprune::labels::from_assignments(&["owner=bob", "gpu="]).unwrap());
    assert_eq!(record(&id)["labels"], serde_json::json!({"owner": "bob", "gpu": ""}));
    // A change that would leave 33 labels changes nothing.
    let many: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let e = wsprune::set_session_labels(root, &id, &parse(&many)).unwrap_err();
    assert_eq!(e.status(), wsprune::Status::InvalidArgument, "{e}");
    assert_eq!(record(&id)["labels"], serde_json::json!({"owner": "bob", "gpu": ""}));
}

#[test]
fn bad_labels_are_refused_before_anything_is_made_or_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let bad = wsprune::SessionOptions {
        labels: [("own er".to_owned(), "x".to_owned())].into_iter().collect(),
        ..Default::default()
    };
    let e = wsprune::create_session_with(root, Some("s1"), &bad).unwrap_err();
    assert_eq!(e.status(), wsprune::Status::InvalidArgument);
    assert!(e.message().contains("\"own er\""), "{e}");
    assert!(!root.join("s1").exists());
    let e = wsprune::create_or_open_session_with(root, Some("s1"), &bad).unwrap_err();
    assert_eq!(e.status(), wsprune::Status::InvalidArgument);
    assert!(!root.join("s1").exists());
    // Only registered sessions have labels; a missing one is not found.
    let unregistered = session(root, 1.0);
    let set = [wsprune::labels::LabelChange::Set("owner".into(), "alice".into())];
    let e = wsprune::set_session_labels(root, &unregistered, &set).unwrap_err();
    assert_eq!(e.status(), wsprune::Status::InvalidArgument, "{e}");
    assert!(e.message().contains("not registered"), "{e}");
    let e = wsprune::set_session_labels(root, "missing", &set).unwrap_err();
    assert_eq!(e.status(), wsprune::Status::NotFound, "{e}");
    let e = wsprune::set_session_labels(
        root,
        "missing",
        &[wsprune::labels::LabelChange::Remove("bad key".into())],
    )
    .unwrap_err();
    assert_eq!(
        e.status(),
        wsprune::Status::InvalidArgument,
        "bad input is refused first: {e}"
    );
}

#[test]
fn a_pinned_session_counts_towards_its_owner_but_is_never_evicted_by_the_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let a: Vec<String> = [10.0, 9.0, 8.0]
        .iter()
        .map(|&h| labelled(root, h, &["owner=alice"], 0))
        .collect();
    wsprune::pin_session(root, &a[0], None).unwrap();
    let r = run(root, per_owner(Some(2), None));
    assert_eq!(rules_of(&r), vec![(a[1].clone(), Rule::MaxSessionsPerOwner)]);
    assert_eq!(skipped(&r), vec![(a[0].clone(), SkipReason::Pinned)]);
    assert!(r.unmet.is_empty(), "{:?}", r.unmet);
    // Pins alone over the cap: unmet, nothing else of the owner's goes.
    wsprune::pin_session(root, &a[2], None).unwrap();
    let r = run(root, per_owner(Some(1), None));
    assert!(r.deleted_sessions.is_empty(), "{:?}", r.deleted_sessions);
    assert_eq!(
        (r.unmet[0].rule, r.unmet[0].target, r.unmet[0].actual),
        (Rule::MaxSessionsPerOwner, 1, 2)
    );
}

/// A session through its life: created with an owner and a TTL, pinned,
/// unpinned, previewed by the look-ahead, then pruned; only the owner's
/// sessions are ever considered.
#[test]
fn a_session_through_its_life_with_an_owner_a_ttl_and_a_pin() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let opts = wsprune::SessionOptions {
        labels: wsprune::labels::from_assignments(&["owner=alice"]).unwrap(),
        idle_ttl: Some(std::time::Duration::from_secs(3600)),
        ..Default::default()
    };
    let id = wsprune::create_session_with(root, None, &opts).unwrap();
    let bobs = labelled(root, 0.0, &["owner=bob"], 0);
    let in_two_hours = chrono::Utc::now() + chrono::Duration::hours(2);
    let look_ahead = PruneOptions {
        older_than_hours: None,
        dry_run: true,
        as_of: Some(in_two_hours),
        selector: sel("owner=alice"),
        ..Default::default()
    };
    // Now: nothing of alice's goes; pinned, the look-ahead keeps it too.
    assert!(run(
        root,
        PruneOptions {
            as_of: None,
            ..look_ahead.clone()
        }
    )
    .deleted_sessions
    .is_empty());
    wsprune::pin_session(root, &id, None).unwrap();
    let r = run(root, look_ahead.clone());
    assert!(r.deleted_sessions.is_empty());
    assert_eq!(skipped(&r), vec![(id.clone(), SkipReason::Pinned)]);
    // Unpinned, the look-ahead says its own TTL takes it in two hours.
    wsprune::unpin_session(root, &id).unwrap();
    assert_eq!(rules_of(&run(root, look_ahead)), vec![(id.clone(), Rule::Ttl)]);
    // Two hours later (its record says so), a prune of alice's sessions deletes it; bob's stays.
    let path = record_path(root, &id);
    let mut record: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    record["updated_at"] = wsprune::metadata::format_timestamp(hours_ago(2.0)).into();
    std::fs::write(&path, serde_json::to_string_pretty(&record).unwrap()).unwrap();
    let r = run(
        root,
        PruneOptions {
            older_than_hours: None,
            selector: sel("owner=alice"),
            ..Default::default()
        },
    );
    assert_eq!(rules_of(&r), vec![(id.clone(), Rule::Ttl)]);
    assert_eq!(names(root), vec![bobs]);
}

/// An open asked for a TTL and labels changes the record once, checked as a
/// whole: labels that would exceed the limit refuse the open and leave the
/// TTL unset too (it was written before the labels were refused, and the
/// next prune deleted the session by it).
#[test]
fn a_refused_open_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let full: wsprune::labels::Labels = (0..wsprune::labels::MAX_LABELS - 1)
        .map(|i| (format!("k{i}"), "v".to_owned()))
        .collect();
    let opts = wsprune::SessionOptions {
        labels: full,
        ..Default::default()
    };
    let id = wsprune::create_session_with(&root, None, &opts).unwrap();
    let before = std::fs::read(root.join(".wsprune/sessions").join(&id)).unwrap();
    let more = wsprune::SessionOptions {
        idle_ttl: Some(std::time::Duration::from_secs(1)),
        labels: [("x1", "a"), ("x2", "b")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let e = wsprune::create_or_open_session_with(&root, Some(&id), &more).unwrap_err();
    assert_eq!(e.status(), wsprune::Status::InvalidArgument, "{e}");
    assert_eq!(std::fs::read(root.join(".wsprune/sessions").join(&id)).unwrap(), before);
}
