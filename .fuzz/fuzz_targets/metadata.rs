//! Fuzzes the `.metadata.json` reader and writers (`wsprune::metadata`).
//!
//! Whatever the bytes (guest code can write anything into a session's
//! metadata file), nothing may panic, and:
//! 1. `parse`, `SessionMetadata::from_json`, `validate_for_touch` (what a
//!    touch uses) and `parse_updated_at` (what a prune's scan uses) agree:
//!    what `parse` accepts they accept with the same values, and an error
//!    about a known field is the same error from all of them (with the
//!    `strict` feature: they agree on every input);
//! 2. an in-place offset, when given, points at the 27 canonical bytes of the
//!    top-level `updated_at` value, and overwriting exactly those bytes (what
//!    a touch does with one `pwrite`) gives metadata that still parses, with
//!    every other field unchanged;
//! 3. the canonical rewrite (`to_json`, what create and repair write) parses
//!    back to the same metadata and is a fixed point, for every timestamp the
//!    27-byte form can hold (years 1 to 9999; unknown floats may move by an
//!    ulp unless the `strict` feature is on), and its fast path for metadata
//!    without unknown fields gives exactly the general JSON-map path's text;
//! 4. `with_updated_at` (a touch of a foreign-format file) parses back with
//!    only `updated_at` changed, the top-level field order kept, and an
//!    in-place offset for the next touch;
//! 5. a string in canonical shape that parses as a timestamp formats back to
//!    itself.
#![no_main]

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use wsprune::metadata::{self, MetadataError, SessionMetadata, TIMESTAMP_LEN};

/// Whether the canonical 27-byte form holds `t` exactly (to the microsecond):
/// a four-digit year from 1, and no leap second.
fn representable(t: DateTime<Utc>) -> bool {
    (1..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000
}

/// A timestamp derived from the input (FNV-1a), between 1970 and 9999, in whole microseconds.
fn timestamp_from(data: &[u8]) -> DateTime<Utc> {
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    const MAX_MICROS: u64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999Z
    Utc.timestamp_micros((hash % MAX_MICROS) as i64)
        .single()
        .expect("in range")
}

/// Whether two unknown-field maps hold the same values. Without the `strict`
/// feature a float may differ in its last bit: serde_json's default float
/// parsing is not always correctly rounded, so a rewrite can move a float by
/// one ulp (see docs/fuzzing.md, "Known differences").
fn same_extra(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) if !cfg!(feature = "strict") && x.is_f64() && y.is_f64() => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                x == y || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
            }
            (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }
    same(&Value::Object(a.clone()), &Value::Object(b.clone()))
}

fn top_level_keys(json: &[u8]) -> Vec<String> {
    let map: Map<String, Value> = serde_json::from_slice(json).expect("valid JSON object");
    map.keys().cloned().collect()
}

fn check(data: &[u8]) {
    let parsed = metadata::parse(data);
    let from_json = SessionMetadata::from_json(data);
    let for_touch = metadata::validate_for_touch(data);
    let updated_at = metadata::parse_updated_at(data);

    // 1. The prune decides with parse_updated_at, which must refuse exactly
    // what the full parse refuses, for the same reason.
    assert_eq!(
        parsed.as_ref().err(),
        updated_at.as_ref().err(),
        "parse and parse_updated_at disagree on {:?}",
        String::from_utf8_lossy(data)
    );
    // 2. What the full parse accepts, touch's check accepts identically, and
    // the errors they share (on the known fields) are the same error.
    if parsed.is_ok() || cfg!(feature = "strict") {
        assert_eq!(
            parsed.as_ref().err(),
            for_touch.as_ref().err(),
            "parse and validate_for_touch disagree on {:?}",
            String::from_utf8_lossy(data)
        );
    } else if for_touch.is_ok() {
        // Touch's check skips unknown fields without decoding them, so it
        // takes some files the full parse refuses (see docs/fuzzing.md, "Known
        // differences"); the refusal must then be about the file as a whole,
        // never about a known field.
        assert!(
            matches!(parsed, Err(MetadataError::Corrupted(_))),
            "touch's check accepted what parse refused for a known field: {parsed:?}"
        );
    } else {
        assert_eq!(
            parsed.as_ref().err(),
            for_touch.as_ref().err(),
            "parse and validate_for_touch refuse for different reasons"
        );
    }
    assert_eq!(
        parsed.as_ref().map(|p| &p.metadata).ok(),
        from_json.as_ref().ok(),
        "parse and from_json disagree"
    );
    assert_eq!(parsed.as_ref().err(), from_json.as_ref().err());

    let Ok(p) = parsed else { return };
    let m = &p.metadata;
    assert_eq!(for_touch.as_ref().ok(), Some(&p.updated_at_offset));
    assert_eq!(updated_at.as_ref().ok(), Some(&m.updated_at));
    assert!(!m.age_hours(timestamp_from(data)).is_nan());
    assert!(
        m.extra
            .keys()
            .all(|k| !matches!(k.as_str(), "session_id" | "created_at" | "updated_at" | "version")),
        "a known field leaked into extra"
    );

    // 3. The in-place offset and the touch's pwrite.
    let ts = timestamp_from(data);
    if let Some(off) = p.updated_at_offset {
        let end = off + TIMESTAMP_LEN;
        assert!(end < data.len(), "offset {off} out of bounds");
        assert_eq!(data[off - 1], b'"');
        assert_eq!(data[end], b'"');
        let stamp = &data[off..end];
        assert!(metadata::is_canonical_timestamp(stamp));
        let stamp = std::str::from_utf8(stamp).expect("canonical bytes are ASCII");
        assert_eq!(metadata::parse_timestamp(stamp), Some(m.updated_at));

        let mut patched = data.to_vec();
        patched[off..end].copy_from_slice(&metadata::timestamp_bytes(ts));
        let q = metadata::parse(&patched).expect("an in-place touch broke the file");
        assert_eq!(q.metadata.session_id, m.session_id);
        assert_eq!(q.metadata.created_at, m.created_at);
        assert_eq!(q.metadata.version, m.version);
        assert_eq!(q.metadata.extra, m.extra);
        assert_eq!(q.metadata.updated_at, ts);
        assert_eq!(q.updated_at_offset, Some(off));
    }

    // 4. The canonical rewrite.
    let text = m.to_json();
    let _ = m.to_value();
    if m.extra.is_empty() {
        // to_json's fast path for fresh metadata must give exactly the JSON map's text.
        let mut map = Map::new();
        map.insert("session_id".into(), Value::String(m.session_id.clone()));
        map.insert(
            "created_at".into(),
            Value::String(metadata::format_timestamp(m.created_at)),
        );
        map.insert(
            "updated_at".into(),
            Value::String(metadata::format_timestamp(m.updated_at)),
        );
        map.insert("version".into(), Value::from(m.version));
        let mut general = serde_json::to_string_pretty(&Value::Object(map)).expect("serializes");
        general.push('\n');
        assert_eq!(text, general, "to_json's fast path differs from the JSON map");
    }
    if representable(m.created_at) && representable(m.updated_at) {
        let q = metadata::parse(text.as_bytes()).expect("the canonical rewrite does not parse");
        assert_eq!(q.metadata.session_id, m.session_id);
        assert_eq!(q.metadata.version, m.version);
        assert!(
            same_extra(&q.metadata.extra, &m.extra),
            "{:?} != {:?}",
            q.metadata.extra,
            m.extra
        );
        assert_eq!(q.metadata.created_at, metadata::truncate_to_micros(m.created_at));
        assert_eq!(q.metadata.updated_at, metadata::truncate_to_micros(m.updated_at));
        let off = q.updated_at_offset.expect("a canonical file has an in-place offset");
        assert_eq!(text[off..off + TIMESTAMP_LEN], metadata::format_timestamp(m.updated_at));
        if cfg!(feature = "strict") || q.metadata.extra == m.extra {
            assert_eq!(q.metadata.to_json(), text, "the canonical form is not a fixed point");
        }
    }

    // 5. The rewrite of a touch when no in-place patch is possible.
    let rewritten = metadata::with_updated_at(data, ts).expect("with_updated_at refused parsed metadata");
    let q = metadata::parse(rewritten.as_bytes()).expect("with_updated_at output does not parse");
    assert_eq!(q.metadata.session_id, m.session_id);
    assert_eq!(q.metadata.created_at, m.created_at);
    assert_eq!(q.metadata.version, m.version);
    assert!(
        same_extra(&q.metadata.extra, &m.extra),
        "{:?} != {:?}",
        q.metadata.extra,
        m.extra
    );
    assert_eq!(q.metadata.updated_at, ts);
    let off = q.updated_at_offset.expect("a rewritten file has an in-place offset");
    assert_eq!(rewritten[off..off + TIMESTAMP_LEN], metadata::format_timestamp(ts));
    assert_eq!(
        top_level_keys(rewritten.as_bytes()),
        top_level_keys(data),
        "field order changed"
    );
}

fuzz_target!(|data: &[u8]| {
    check(data);

    // 6. Canonical-shaped timestamps round-trip through the hand-written formatter.
    if metadata::is_canonical_timestamp(data) {
        let s = std::str::from_utf8(data).expect("canonical bytes are ASCII");
        if let Some(t) = metadata::parse_timestamp(s) {
            if representable(t) {
                assert_eq!(metadata::format_timestamp(t), s);
                assert_eq!(&metadata::timestamp_bytes(t)[..], data);
            }
        }
    } else if let Ok(s) = std::str::from_utf8(data) {
        if let Some(t) = metadata::parse_timestamp(s) {
            let _ = metadata::format_timestamp(t);
        }
    }
});
