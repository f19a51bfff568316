//! Retention: the record's optional fields (pin, TTL, labels),
//! kept by every operation that does not own them, honoured only in the
//! host's record, never in the guest-writable mirror.

#[path = "prune_support/mod.rs"]
mod support;

use support::*;
use wsprune::{SessionOptions, SessionState};

/// A record with every retention field and unknown keys, as a later
/// version (or the labels engineer's code) writes it.
fn full_record(id: &str, updated: &str) -> String {
    format!(
        r#"{{
  "session_id": "{id}",
  "created_at": "2026-01-01T00:00:00.000000Z",
  "updated_at": "{updated}",
  "version": 1,
  "pinned": true,
  "pinned_until": "2099-01-01T00:00:00.000000Z",
  "idle_ttl_seconds": 3600,
  "expires_at": "2098-01-01T00:00:00.000000Z",
  "labels": {{"owner": "alice", "tier": "pro"}},
  "future_field": {{"nested": [1, 2, 3]}},
  "another": "kept"
}}
"#
    )
}

fn record_json(root: &std::path::Path, id: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(record_path(root, id)).unwrap()).unwrap()
}

/// Every key but `updated_at`, as a JSON object.
fn without_updated_at(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut().unwrap().remove("updated_at");
    v
}

/// Touch (in place, and the rewrite of a record not in canonical layout),
/// open, a lease's touch and repair keep every field of the record they do
/// not own, unknown ones included; the mirror carries them.
#[test]
fn touch_open_lease_and_repair_keep_every_field_they_do_not_own() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    for (id, updated) in [
        // Canonical: patched in place.
        ("canonical", "2026-01-01T00:00:00.000000Z"),
        // Not canonical: rewritten (under the update lock).
        ("foreign", "2026-01-01T00:00:00+00:00"),
    ] {
        wsprune::create_session(&root, Some(id)).unwrap();
        std::fs::write(record_path(&root, id), full_record(id, updated)).unwrap();
        let before = without_updated_at(record_json(&root, id));

        let first = record_json(&root, id)["updated_at"].clone();
        wsprune::touch_session(&root, id).unwrap();
        let after_touch = record_json(&root, id);
        assert_ne!(after_touch["updated_at"], first, "{id}: the touch wrote");
        assert_eq!(without_updated_at(after_touch), before, "{id}: touch");

        let (name, created) = wsprune::create_or_open_session(&root, Some(id)).unwrap();
        assert_eq!((name.as_str(), created), (id, false));
        assert_eq!(without_updated_at(record_json(&root, id)), before, "{id}: open");

        let lease = wsprune::acquire(&root, id).unwrap();
        lease.release(true).unwrap();
        assert_eq!(without_updated_at(record_json(&root, id)), before, "{id}: lease");

        let repaired = wsprune::repair_sessions(&root, false).unwrap();
        assert!(repaired.repaired.is_empty(), "{id}: nothing to repair");
        assert_eq!(without_updated_at(record_json(&root, id)), before, "{id}: repair");

        let meta = wsprune::read_metadata(&root, id).unwrap();
        let wsprune::MetadataState::Valid(m) = meta else {
            panic!("{id}: {meta:?}")
        };
        assert!(m.retention.pinned);
        assert_eq!(m.retention.idle_ttl_seconds, Some(3600));
        assert_eq!(m.labels().get("owner").map(String::as_str), Some("alice"));
        assert_eq!(m.extra["another"], "kept");
    }
    // The mirror carries the record's fields (written from the record by
    // the first touch in a minute when it is missing).
    std::fs::write(
        record_path(&root, "canonical"),
        full_record("canonical", "2026-01-01T00:00:00.000000Z"),
    )
    .unwrap();
    std::fs::remove_file(root.join("canonical/.metadata.json")).unwrap();
    wsprune::touch_session(&root, "canonical").unwrap();
    let mirror: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("canonical/.metadata.json")).unwrap()).unwrap();
    assert_eq!(mirror["labels"]["owner"], "alice");
    assert_eq!(mirror["pinned"], true);
}

/// A record whose timestamp is damaged is repaired keeping what can be
/// read: the pin, the labels, unknown keys; a retention field that cannot be
/// read is dropped. Metadata without the new fields reads as before.
#[test]
fn repair_keeps_what_a_damaged_record_still_says() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    wsprune::create_session(&root, Some("damaged")).unwrap();
    let text =
        full_record("damaged", "yesterday").replace(r#""idle_ttl_seconds": 3600"#, r#""idle_ttl_seconds": "soon""#);
    std::fs::write(record_path(&root, "damaged"), text).unwrap();
    assert_eq!(
        wsprune::session_info(&root, "damaged").unwrap().state,
        SessionState::Corrupted
    );
    let r = wsprune::repair_sessions(&root, false).unwrap();
    assert_eq!(r.repaired.len(), 1, "{r:?}");
    let rec = record_json(&root, "damaged");
    assert_eq!(rec["pinned"], true);
    assert_eq!(rec["labels"]["tier"], "pro");
    assert_eq!(rec["future_field"]["nested"][2], 3);
    assert!(rec.get("idle_ttl_seconds").is_none(), "{rec}");
    assert_eq!(wsprune::session_info(&root, "damaged").unwrap().state, SessionState::Ok);

    // Plain metadata (what 0.3 and the reference implementation write): no pin, no TTL.
    let plain = wsprune::create_session(&root, None).unwrap();
    let wsprune::MetadataState::Valid(m) = wsprune::read_metadata(&root, &plain).unwrap() else {
        panic!()
    };
    assert!(m.retention.is_empty());
    assert!(!std::fs::read_to_string(record_path(&root, &plain))
        .unwrap()
        .contains("pinned"));
}

/// A pin, a TTL or labels that a guest wrote into the `.metadata.json` of
/// an unregistered directory are dropped when it is registered (open,
/// migrate): only the host sets them. Unknown keys are kept.
#[test]
fn registration_drops_host_fields_a_guest_wrote() {
    // Spawns the tool: a child forked while another test holds a lock
    // holds it too until it execs, so these tests run alone.
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir_all(&root).unwrap();
    for id in ["opened", "migrated"] {
        std::fs::create_dir(root.join(id)).unwrap();
        std::fs::write(
            root.join(id).join(".metadata.json"),
            full_record(id, "2026-01-01T00:00:00.000000Z"),
        )
        .unwrap();
    }
    wsprune::create_or_open_session_with(&root, Some("opened"), &SessionOptions::default()).unwrap();
    wsprune::migrate_sessions(&root, false).unwrap();
    for id in ["opened", "migrated"] {
        let rec = record_json(&root, id);
        for key in ["pinned", "pinned_until", "idle_ttl_seconds", "expires_at", "labels"] {
            assert!(rec.get(key).is_none(), "{id}: {key} kept: {rec}");
        }
        assert_eq!(rec["another"], "kept", "{id}");
    }
}

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use wsprune::{DeleteOptions, PruneOptions, Rule, SkipReason, Status, Ttl};

/// Runs the `wsprune` tool under libfaketime, its clock `offset` away
/// (`-48h`: created 48 hours ago through the real code); panics on failure.
fn wsprune_at(offset: &str, args: &[&str]) -> String {
    let out = Command::new("faketime")
        .args(["-f", offset, env!("CARGO_BIN_EXE_wsprune")])
        .args(args)
        .output()
        .expect("faketime (libfaketime) is needed: apt-get install faketime (.ci/run installs it)");
    assert!(
        out.status.success(),
        "wsprune {args:?} at {offset}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Creates session `id` in `root` as if `hours` ago (its record dated then).
fn created_ago(root: &Path, id: &str, hours: u32, extra: &[&str]) {
    let r = root.to_str().unwrap();
    let mut args = vec!["create", r, id];
    args.extend_from_slice(extra);
    wsprune_at(&format!("-{hours}h"), &args);
}

fn rules(r: &wsprune::PruneResult) -> Vec<(String, Rule)> {
    r.deleted_sessions
        .iter()
        .cloned()
        .zip(r.deleted_rules.iter().copied())
        .collect()
}

/// A pinned session is never deleted by the age rule, a capacity rule or
/// its own TTL; a prune reports it skipped `pinned`; a capacity rule evicts
/// the next candidate instead, and reports its target unmet when the pins
/// alone exceed it. `delete` needs force. Unpinned, it goes.
#[test]
fn a_pinned_session_is_never_deleted_by_any_rule() {
    // Spawns the tool: a child forked while another test holds a lock
    // holds it too until it execs, so these tests run alone.
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    created_ago(&root, "pinned-old", 72, &[]);
    created_ago(&root, "pinned-ttl", 3, &["--idle-ttl", "1h"]);
    created_ago(&root, "old", 48, &[]);
    created_ago(&root, "middle", 10, &[]);
    created_ago(&root, "young", 5, &[]);
    wsprune::pin_session(&root, "pinned-old", None).unwrap();
    wsprune::pin_session(&root, "pinned-ttl", Some(Utc::now() + chrono::Duration::hours(1))).unwrap();

    // Age rule and TTL, dry run then real.
    for dry_run in [true, false] {
        let r = wsprune::prune_sessions(&root, &PruneOptions::older_than(24.0, dry_run)).unwrap();
        assert_eq!(rules(&r), [("old".to_owned(), Rule::OlderThan)], "{r:?}");
        assert_eq!(
            skipped(&r),
            [
                ("pinned-old".to_owned(), SkipReason::Pinned),
                ("pinned-ttl".to_owned(), SkipReason::Pinned)
            ]
        );
    }
    // Capacity: the oldest is pinned, so the next oldest unpinned goes.
    let opts = PruneOptions {
        older_than_hours: None,
        max_sessions: Some(3),
        ..Default::default()
    };
    let r = wsprune::prune_sessions(&root, &opts).unwrap();
    assert_eq!(rules(&r), [("middle".to_owned(), Rule::MaxSessions)], "{r:?}");
    assert!(
        skipped(&r).contains(&("pinned-old".to_owned(), SkipReason::Pinned)),
        "{r:?}"
    );
    assert!(r.unmet_targets.is_empty());
    // The pins alone exceed the target: unmet, and nothing pinned goes.
    let opts = PruneOptions {
        older_than_hours: None,
        max_sessions: Some(1),
        ..Default::default()
    };
    let r = wsprune::prune_sessions(&root, &opts).unwrap();
    assert_eq!(rules(&r), [("young".to_owned(), Rule::MaxSessions)], "{r:?}");
    assert_eq!(r.unmet_targets, [Rule::MaxSessions]);
    assert_eq!(r.unmet[0].actual, 2);
    assert_eq!(names(&root), ["pinned-old", "pinned-ttl"]);

    // Delete needs force.
    let e = wsprune::delete_session(&root, "pinned-old", None).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    assert!(e.message().contains("pinned") && e.message().contains("force"), "{e}");
    let force = DeleteOptions {
        force: true,
        ..Default::default()
    };
    assert!(wsprune::delete_session_with(&root, "pinned-old", &force).is_ok());

    // Unpinned: its TTL (1 h idle, 3 h idle) takes it.
    wsprune::unpin_session(&root, "pinned-ttl").unwrap();
    let r = wsprune::prune_sessions(&root, &PruneOptions::default()).unwrap();
    assert_eq!(rules(&r), [("pinned-ttl".to_owned(), Rule::Ttl)]);
    assert!(names(&root).is_empty());
}

/// `pinned_until` ends the pin: a session pinned for an hour is deleted by
/// a prune two hours later (the tool under libfaketime), and a look-ahead
/// (`as_of`, dry run) predicts exactly that. A look-ahead that is not a dry
/// run is refused.
#[test]
fn a_pin_ends_at_its_time_and_the_look_ahead_sees_it() {
    // Spawns the tool: a child forked while another test holds a lock
    // holds it too until it execs, so these tests run alone.
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let r = root.to_str().unwrap();
    created_ago(&root, "pinned-1h", 48, &[]);
    created_ago(&root, "ttl-30m", 0, &["--idle-ttl", "30m"]);
    created_ago(&root, "expires-3h", 0, &["--expires-at", "+3h"]);
    created_ago(&root, "fresh", 0, &[]);
    wsprune_at("+0", &["pin", r, "pinned-1h", "--until", "+1h"]);

    let now = wsprune::prune_sessions(&root, &PruneOptions::older_than(24.0, true)).unwrap();
    assert!(now.deleted_sessions.is_empty(), "{now:?}");
    let ahead = |hours: i64| {
        let opts = PruneOptions {
            dry_run: true,
            as_of: Some(Utc::now() + chrono::Duration::hours(hours)),
            ..Default::default()
        };
        wsprune::prune_sessions(&root, &opts).unwrap()
    };
    let in_2h = ahead(2);
    assert_eq!(
        rules(&in_2h),
        [
            ("pinned-1h".to_owned(), Rule::OlderThan),
            ("ttl-30m".to_owned(), Rule::Ttl)
        ]
    );
    assert_eq!(rules(&ahead(4)).len(), 3, "expires-3h too");
    let e = wsprune::prune_sessions(
        &root,
        &PruneOptions {
            as_of: Some(Utc::now()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert_eq!(names(&root).len(), 4, "nothing deleted so far");

    // The operator's look-ahead: ls --expiring-within, as a table and as JSON.
    let listed: serde_json::Value =
        serde_json::from_str(&wsprune_at("+0", &["ls", r, "--expiring-within", "150m", "--json"])).unwrap();
    let mut expiring: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["session_id"].as_str().unwrap(), s["expiring_rule"].as_str().unwrap()))
        .collect();
    expiring.sort();
    assert_eq!(expiring, [("pinned-1h", "older_than"), ("ttl-30m", "ttl")]);
    let table = wsprune_at("+0", &["ls", r, "--expiring-within", "150m", "--no-age-rule"]);
    assert!(table.lines().next().unwrap().ends_with("STATE  RULE"), "{table}");
    assert!(
        table.contains("ttl-30m") && !table.contains("pinned-1h") && !table.contains("fresh"),
        "{table}"
    );
    // Two hours later, for real: what the look-ahead said.
    let out = wsprune_at("+2h", &["prune", r, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["deleted_rules"],
        serde_json::json!({"pinned-1h": "older_than", "ttl-30m": "ttl"})
    );
    assert_eq!(names(&root), ["expires-3h", "fresh"]);
}

/// A session's own TTL deletes it whatever the age rule says (none, or
/// 24 h) and below the capacity rules' 1 h floor, but never while it is
/// leased; `set_session_ttl` replaces it (or removes it); open with a TTL
/// sets it; a guest's TTL or pin in its `.metadata.json` decides nothing.
#[test]
fn a_session_ttl_deletes_it_whatever_the_age_rule_but_never_a_leased_one() {
    // Spawns the tool: a child forked while another test holds a lock
    // holds it too until it execs, so these tests run alone.
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    created_ago(&root, "ttl-idle", 2, &["--idle-ttl", "1h"]);
    created_ago(&root, "ttl-leased", 2, &["--idle-ttl", "1h"]);
    created_ago(&root, "ttl-floor", 0, &["--idle-ttl", "1s"]);
    created_ago(&root, "ttl-removed", 2, &["--idle-ttl", "1h"]);
    created_ago(&root, "ttl-opened", 2, &[]);
    created_ago(&root, "guest-pinned", 48, &[]);
    std::thread::sleep(Duration::from_millis(1100));
    wsprune::set_session_ttl(&root, "ttl-removed", &Ttl::default()).unwrap();
    let opts = SessionOptions {
        expires_at: Some(Utc::now() - chrono::Duration::minutes(1)),
        ..Default::default()
    };
    wsprune::create_or_open_session_with(&root, Some("ttl-opened"), &opts).unwrap();
    // The guest pins itself and gives itself a year in its mirror.
    let mirror = root.join("guest-pinned/.metadata.json");
    let forged = std::fs::read_to_string(&mirror).unwrap().replace(
        "\"version\": 1",
        "\"version\": 1,\n  \"pinned\": true,\n  \"idle_ttl_seconds\": 31536000",
    );
    std::fs::write(&mirror, forged).unwrap();
    let lease = wsprune::acquire(&root, "ttl-leased").unwrap();

    let no_age_rule = PruneOptions {
        older_than_hours: None,
        ..Default::default()
    };
    let r = wsprune::prune_sessions(&root, &no_age_rule).unwrap();
    assert_eq!(
        rules(&r),
        [
            ("ttl-floor".to_owned(), Rule::Ttl),
            ("ttl-idle".to_owned(), Rule::Ttl),
            ("ttl-opened".to_owned(), Rule::Ttl)
        ]
    );
    assert_eq!(skipped(&r), [("ttl-leased".to_owned(), SkipReason::InUse)]);
    lease.release(false).unwrap();
    let r = wsprune::prune_sessions(&root, &PruneOptions::default()).unwrap();
    assert_eq!(
        rules(&r),
        [
            ("guest-pinned".to_owned(), Rule::OlderThan),
            ("ttl-leased".to_owned(), Rule::Ttl)
        ]
    );
    assert_eq!(names(&root), ["ttl-removed"]);
    // What info and ls show: the record's pin and TTL, never the mirror's.
    wsprune::set_session_ttl(
        &root,
        "ttl-removed",
        &Ttl {
            idle: Some(Duration::from_secs(7200)),
            expires_at: None,
        },
    )
    .unwrap();
    wsprune::pin_session(&root, "ttl-removed", None).unwrap();
    let info = wsprune::session_info(&root, "ttl-removed").unwrap();
    let v = info.to_json(Utc::now());
    assert_eq!(
        (v["pinned"].as_bool(), v["idle_ttl_seconds"].as_u64()),
        (Some(true), Some(7200))
    );
    assert_eq!(
        info.ttl_deadline(),
        info.updated_at.map(|t| t + chrono::Duration::hours(2))
    );
    assert!(v["pinned_until"].is_null() && v["expires_at"].is_null(), "{v}");
    let legacy = session(&root, 1.0);
    let mirror = root.join(&legacy).join(".metadata.json");
    let forged = std::fs::read_to_string(&mirror).unwrap().replace(
        "\"version\": 1",
        "\"version\": 1,\n  \"pinned\": true,\n  \"idle_ttl_seconds\": 60",
    );
    std::fs::write(&mirror, forged).unwrap();
    let v = wsprune::session_info(&root, &legacy).unwrap().to_json(Utc::now());
    assert_eq!(
        (v["pinned"].as_bool(), v["idle_ttl_seconds"].is_null()),
        (Some(false), true),
        "{v}"
    );
    // Bad TTLs are refused on every path.
    let zero = Ttl {
        idle: Some(Duration::ZERO),
        ..Default::default()
    };
    assert_eq!(
        wsprune::set_session_ttl(&root, "ttl-removed", &zero)
            .unwrap_err()
            .status(),
        Status::InvalidArgument
    );
    let bad = SessionOptions {
        idle_ttl: Some(Duration::from_millis(10)),
        ..Default::default()
    };
    assert_eq!(
        wsprune::create_session_with(&root, Some("x"), &bad)
            .unwrap_err()
            .status(),
        Status::InvalidArgument
    );
}

/// An unregistered (0.3) directory cannot be pinned (it has no record to
/// hold the pin); a missing session is not found; a past `until` is refused.
#[test]
fn only_a_registered_session_can_be_pinned() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let legacy = session(&root, 1.0);
    let e = wsprune::pin_session(&root, &legacy, None).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("migrate"), "{e}");
    assert_eq!(
        wsprune::pin_session(&root, "missing", None).unwrap_err().status(),
        Status::NotFound
    );
    wsprune::create_session(&root, Some("s")).unwrap();
    let past = Some(Utc::now() - chrono::Duration::seconds(1));
    assert_eq!(
        wsprune::pin_session(&root, "s", past).unwrap_err().status(),
        Status::InvalidArgument
    );
}

static RACE_ROOT: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);

/// Races, made deterministic: a pin (or a TTL removed) between a capacity
/// scan and the deletion is seen under the session's lock; a pin set while
/// a touch patches the record in place is kept and so is the touch.
#[test]
fn a_pin_or_ttl_change_during_a_prune_or_a_touch_is_never_lost() {
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    created_ago(&root, "pinned-late", 48, &[]);
    created_ago(&root, "ttl-late", 3, &["--idle-ttl", "1h"]);
    created_ago(&root, "other", 30, &[]);
    *RACE_ROOT.lock().unwrap() = Some(root.clone());
    // The candidate event is emitted on the prune's thread after the scan,
    // before the session is locked for its deletion.
    wsprune::events::set_handler(Some(std::sync::Arc::new(|e: &wsprune::Event| {
        if e.name != "session.prune.candidate" {
            return;
        }
        let root = RACE_ROOT.lock().unwrap().clone().unwrap();
        match e.fields["session_id"].as_str() {
            Some("pinned-late") => wsprune::pin_session(&root, "pinned-late", None).unwrap(),
            Some("ttl-late") => wsprune::set_session_ttl(&root, "ttl-late", &Ttl::default()).unwrap(),
            _ => {}
        }
    })));
    let opts = PruneOptions {
        max_deletions: Some(10),
        ..Default::default()
    };
    let r = wsprune::prune_sessions(&root, &opts);
    wsprune::events::set_handler(None);
    let r = r.unwrap();
    assert_eq!(rules(&r), [("other".to_owned(), Rule::OlderThan)], "{r:?}");
    assert_eq!(skipped(&r), [("pinned-late".to_owned(), SkipReason::Pinned)]);
    assert_eq!(names(&root), ["pinned-late", "ttl-late"]);

    // A touch whose record is replaced (pinned) between its read and its write.
    fn pin_in_touch(id: &str) {
        let root = RACE_ROOT.lock().unwrap().clone().unwrap();
        wsprune::session::set_touch_hook(None);
        wsprune::pin_session(&root, id, None).unwrap();
    }
    wsprune::unpin_session(&root, "pinned-late").unwrap();
    let before = record_json(&root, "pinned-late")["updated_at"].clone();
    wsprune::session::set_touch_hook(Some(pin_in_touch));
    let touched = wsprune::touch_session(&root, "pinned-late");
    wsprune::session::set_touch_hook(None);
    let wsprune::TouchOutcome::Updated(at) = touched.unwrap() else {
        panic!()
    };
    let rec = record_json(&root, "pinned-late");
    assert_eq!(rec["pinned"], true, "{rec}");
    assert_ne!(rec["updated_at"], before, "{rec}");
    assert_eq!(rec["updated_at"], wsprune::metadata::format_timestamp(at));
}

/// Pins, touches and prunes at once, for real: a prune deleting every idle
/// session runs in a loop while this thread pins and unpins a session and
/// another touches it. Whenever a pin returned OK, the session is there
/// until the unpin (a pinned session is never deleted, whatever the
/// interleaving), and a touch either updates it or finds it deleted (never
/// another error: a record replaced by a pin is patched again). Found a
/// real race: a prune meeting a session while it was being created (its
/// mirror written, not yet its record) judged it as an unregistered
/// directory and deleted it under a pin taken just after; creation now
/// holds the directory's lock until its record is written, and a prune
/// that finds a directory registered once it holds that lock leaves it.
#[test]
fn pins_touches_and_prunes_at_once_never_lose_a_pinned_session() {
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir_all(&root).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let every_idle = PruneOptions::older_than(0.0, false);
    let pruner = {
        let (root, stop, opts) = (root.clone(), stop.clone(), every_idle.clone());
        std::thread::spawn(move || {
            let mut deleted = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                deleted += wsprune::prune_sessions(&root, &opts).unwrap().deleted_sessions.len();
            }
            deleted
        })
    };
    let toucher = {
        let (root, stop) = (root.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut touched = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match wsprune::touch_session(&root, "s") {
                    Ok(_) => touched += 1,
                    Err(e) => assert_eq!(e.status(), Status::NotFound, "{e}"),
                }
            }
            touched
        })
    };
    let (mut pinned_rounds, mut gone_before_pin) = (0, 0);
    for _ in 0..60 {
        let _ = wsprune::create_session(&root, Some("s"));
        match wsprune::pin_session(&root, "s", None) {
            Ok(()) => {
                pinned_rounds += 1;
                for _ in 0..20 {
                    assert!(root.join("s").is_dir(), "a pinned session was deleted");
                    std::thread::yield_now();
                }
                wsprune::unpin_session(&root, "s").unwrap();
            }
            Err(e) if matches!(e.status(), Status::NotFound | Status::Busy) => gone_before_pin += 1,
            Err(e) => panic!("{e}"),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let deleted = pruner.join().unwrap();
    let touched = toucher.join().unwrap();
    assert!(
        pinned_rounds > 0 && touched > 0,
        "{pinned_rounds} {deleted} {touched} {gone_before_pin}"
    );
    // The same prune deletes the session once nothing pins it (the pin, not
    // a quirk of the setup, is what kept it).
    let _ = wsprune::create_session(&root, Some("s"));
    wsprune::pin_session(&root, "s", None).unwrap();
    assert!(wsprune::prune_sessions(&root, &every_idle)
        .unwrap()
        .deleted_sessions
        .is_empty());
    wsprune::unpin_session(&root, "s").unwrap();
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(
        wsprune::prune_sessions(&root, &every_idle).unwrap().deleted_sessions,
        ["s"]
    );
}

/// A change of a session whose record is unreadable (a disk fault) is `IO`,
/// names the cure and writes nothing, for a pin, a TTL and labels alike; an
/// unregistered directory cannot be changed at all (`INVALID_ARGUMENT`).
#[test]
fn a_change_to_an_unreadable_or_unregistered_session_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let id = wsprune::create_session(&root, None).unwrap();
    std::fs::write(record_path(&root, &id), "{damaged").unwrap();
    let changes = [wsprune::labels::LabelChange::Set("owner".into(), "alice".into())];
    let outcomes = [
        ("pin", wsprune::pin_session(&root, &id, None)),
        ("unpin", wsprune::unpin_session(&root, &id)),
        ("set the TTL of", wsprune::set_session_ttl(&root, &id, &Ttl::default())),
        ("label", wsprune::set_session_labels(&root, &id, &changes).map(|_| ())),
    ];
    for (what, r) in outcomes {
        let e = r.unwrap_err();
        assert_eq!(e.status(), Status::Io, "{what}: {e}");
        assert!(
            e.message()
                .starts_with(&format!("cannot {what} session {id}: its record is unusable")),
            "{e}"
        );
        assert!(e.message().contains("wsprune repair"), "{e}");
    }
    assert_eq!(std::fs::read_to_string(record_path(&root, &id)).unwrap(), "{damaged");

    let legacy = legacy_session(&root);
    let e = wsprune::set_session_labels(&root, &legacy, &changes).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument, "{e}");
    assert!(e.message().contains("not registered"), "{e}");
}

/// A time a record cannot hold (after 9999-12-31T23:59:59.999999Z) is
/// refused by every setter and by the look-ahead, never stored with its year
/// clamped (a pin that then reads as corrupted protects nothing); a
/// fractional idle TTL is refused, not cut to whole seconds.
#[test]
fn times_a_record_cannot_hold_and_fractional_idle_ttls_are_refused() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    wsprune::create_session(&root, Some("s")).unwrap();
    let before = std::fs::read(record_path(&root, "s")).unwrap();
    let latest = wsprune::metadata::latest_timestamp();
    assert_eq!(
        wsprune::metadata::format_timestamp(latest),
        "9999-12-31T23:59:59.999999Z"
    );
    let beyond = latest + chrono::Duration::microseconds(1);
    let far = Utc::now() + chrono::Duration::days(3_058_260);
    let early = wsprune::metadata::earliest_timestamp() - chrono::Duration::microseconds(1);
    let invalid = |r: wsprune::Result<()>, what: &str| {
        let e = r.unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{what}: {e}");
        assert!(e.message().contains("can store"), "{what}: {e}");
    };
    for t in [beyond, far] {
        invalid(wsprune::pin_session(&root, "s", Some(t)), "pin until");
        let ttl = wsprune::Ttl {
            idle: None,
            expires_at: Some(t),
        };
        invalid(wsprune::set_session_ttl(&root, "s", &ttl), "expires_at");
    }
    let ttl = wsprune::Ttl {
        idle: None,
        expires_at: Some(early),
    };
    invalid(wsprune::set_session_ttl(&root, "s", &ttl), "expires_at before year 0");
    let opts = SessionOptions {
        expires_at: Some(far),
        ..Default::default()
    };
    invalid(
        wsprune::create_session_with(&root, Some("n"), &opts).map(drop),
        "create",
    );
    assert!(!root.join("n").exists());
    for t in [beyond, early] {
        let o = wsprune::PruneOptions {
            dry_run: true,
            as_of: Some(t),
            ..Default::default()
        };
        invalid(wsprune::prune_sessions(&root, &o).map(drop), "as_of");
    }
    let fraction = wsprune::Ttl {
        idle: Some(Duration::from_millis(1900)),
        expires_at: None,
    };
    let e = wsprune::set_session_ttl(&root, "s", &fraction).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("whole number of seconds"), "{e}");
    assert_eq!(
        std::fs::read(record_path(&root, "s")).unwrap(),
        before,
        "a refused change wrote"
    );
    // The limits themselves are accepted and read back as themselves.
    wsprune::pin_session(&root, "s", Some(latest)).unwrap();
    let whole = wsprune::Ttl {
        idle: Some(Duration::from_secs(2)),
        expires_at: Some(latest),
    };
    wsprune::set_session_ttl(&root, "s", &whole).unwrap();
    let v = record_json(&root, "s");
    assert_eq!(v["pinned_until"], "9999-12-31T23:59:59.999999Z");
    assert_eq!(v["expires_at"], "9999-12-31T23:59:59.999999Z");
    assert_eq!(v["idle_ttl_seconds"], 2);
    let o = wsprune::PruneOptions {
        dry_run: true,
        as_of: Some(latest),
        ..Default::default()
    };
    wsprune::prune_sessions(&root, &o).unwrap();
}
