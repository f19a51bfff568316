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
    let _serial = shared();
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
