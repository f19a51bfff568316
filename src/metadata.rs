//! The `.metadata.json` format: parsing (ours, the reference Python
//! implementation's, naive timestamps) and canonical serialization.
//!
//! Canonical files are written with a fixed-width 27-byte `updated_at`
//! (`2026-11-25T01:47:00.123456Z`) placed near the start of the file, so that a
//! touch can overwrite just those bytes in place (see `session.rs`).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Name of the metadata file inside a session directory.
pub const METADATA_FILE: &str = ".metadata.json";
/// The metadata format version this library writes.
pub const FORMAT_VERSION: u32 = 1;
/// Width of a canonical timestamp: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub const TIMESTAMP_LEN: usize = 27;
/// Metadata files larger than this are treated as corrupted rather than read.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// Room a record keeps for the host's retention fields: the largest label
/// set (32 labels of a 253-byte prefix, a 63-byte name and a 63-byte value,
/// quoted and indented: under 13 KiB), a pin and a TTL.
pub const RETENTION_ROOM: usize = 16 * 1024;

/// The metadata of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionMetadata {
    /// The session id (the directory name when written by wsprune).
    pub session_id: String,
    /// When the session was created.
    pub created_at: DateTime<Utc>,
    /// When the session was last used (touched).
    pub updated_at: DateTime<Utc>,
    /// The format version (1).
    pub version: u32,
    /// The host-owned retention fields (pin, TTL, labels; since 0.4.0). They
    /// count only in a registered session's record: the same keys in a
    /// guest-writable `.metadata.json` decide nothing, and are dropped when
    /// such a file is trusted to register a session (docs/host-state.md).
    pub retention: Retention,
    /// Fields this library does not know, kept as they are on every rewrite.
    pub extra: Map<String, Value>,
}

/// The optional retention fields of a session's record (docs/host-state.md,
/// "Record format"). Every field is optional: metadata without them (what
/// wsprune 0.3 and the reference implementation write) reads as the default,
/// no pin, no TTL, no label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// `pinned`: no rule deletes the session while the pin holds.
    pub pinned: bool,
    /// `pinned_until`: the pin holds until this instant (exclusive); `None`:
    /// until unpinned. Meaningful only with `pinned`.
    pub pinned_until: Option<DateTime<Utc>>,
    /// `idle_ttl_seconds`: the session's own idle timeout; it expires once
    /// `updated_at + idle_ttl_seconds` has passed. At least 1.
    pub idle_ttl_seconds: Option<u64>,
    /// `expires_at`: the session expires at this instant, used or not.
    pub expires_at: Option<DateTime<Utc>>,
    /// `labels`: a JSON object of strings, stored and preserved as it is
    /// (its limits are checked where labels are set, see src/labels.rs when
    /// present). Empty: no `labels` key is written.
    pub labels: BTreeMap<String, String>,
}

/// The record keys of [`Retention`], in the order they are written.
pub const RETENTION_FIELDS: [&str; 5] = ["pinned", "pinned_until", "idle_ttl_seconds", "expires_at", "labels"];

impl Retention {
    /// Whether every field is unset (nothing to write).
    pub fn is_empty(&self) -> bool {
        *self == Retention::default()
    }

    /// Whether the pin holds at `at`: `pinned`, and `pinned_until` absent or later than `at`.
    pub fn pin_holds(&self, at: DateTime<Utc>) -> bool {
        self.pinned && self.pinned_until.is_none_or(|until| at < until)
    }

    /// When a session last used at `updated_at` expires by its own TTL: the
    /// earlier of `updated_at + idle_ttl_seconds` and `expires_at`; `None`
    /// without a TTL.
    pub fn deadline(&self, updated_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let idle = self.idle_ttl_seconds.map(|s| {
            i64::try_from(s)
                .ok()
                .and_then(chrono::Duration::try_seconds)
                .and_then(|d| updated_at.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        });
        match (idle, self.expires_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether a session last used at `updated_at` has outlived its own TTL at `at`.
    pub fn expired(&self, updated_at: DateTime<Utc>, at: DateTime<Utc>) -> bool {
        self.deadline(updated_at).is_some_and(|d| d <= at)
    }

    /// Decodes the retention keys of a metadata object (`map`), removing
    /// them from it. A key present with the wrong type is
    /// [`MetadataError::Corrupted`], naming it: a record the host cannot read
    /// is never deleted by a guess.
    fn take_from(map: &mut Map<String, Value>) -> Result<Retention, MetadataError> {
        let bad = |key: &str, what: &str| MetadataError::Corrupted(format!("{key} must be {what}"));
        let time = |key: &str, v: Value| match v {
            Value::String(s) => parse_timestamp(&s).ok_or_else(|| MetadataError::BadTimestamp(format!("{key} {s:?}"))),
            _ => Err(bad(key, "a timestamp string")),
        };
        let mut r = Retention::default();
        if let Some(v) = map.remove("pinned") {
            r.pinned = v.as_bool().ok_or_else(|| bad("pinned", "true or false"))?;
        }
        if let Some(v) = map.remove("pinned_until") {
            r.pinned_until = Some(time("pinned_until", v)?);
        }
        if let Some(v) = map.remove("idle_ttl_seconds") {
            r.idle_ttl_seconds = Some(
                v.as_u64()
                    .filter(|&s| s >= 1)
                    .ok_or_else(|| bad("idle_ttl_seconds", "a whole number >= 1"))?,
            );
        }
        if let Some(v) = map.remove("expires_at") {
            r.expires_at = Some(time("expires_at", v)?);
        }
        if let Some(v) = map.remove("labels") {
            let Value::Object(labels) = v else {
                return Err(bad("labels", "an object of strings"));
            };
            for (k, v) in labels {
                let Value::String(v) = v else {
                    return Err(bad("labels", "an object of strings"));
                };
                r.labels.insert(k, v);
            }
        }
        Ok(r)
    }

    /// Writes the fields that are set into `map`, in [`RETENTION_FIELDS`] order.
    fn put_into(&self, map: &mut Map<String, Value>) {
        if self.pinned {
            map.insert("pinned".into(), Value::Bool(true));
            if let Some(t) = self.pinned_until {
                map.insert("pinned_until".into(), Value::String(format_timestamp(t)));
            }
        }
        if let Some(s) = self.idle_ttl_seconds {
            map.insert("idle_ttl_seconds".into(), Value::from(s));
        }
        if let Some(t) = self.expires_at {
            map.insert("expires_at".into(), Value::String(format_timestamp(t)));
        }
        if !self.labels.is_empty() {
            let labels = self.labels.iter().map(|(k, v)| (k.clone(), Value::String(v.clone())));
            map.insert("labels".into(), Value::Object(labels.collect()));
        }
    }
}

/// Why a metadata file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataError {
    /// Not JSON, not an object, a required field missing or of the wrong type.
    Corrupted(String),
    /// Valid JSON whose `created_at` or `updated_at` is not a timestamp.
    BadTimestamp(String),
}

impl std::fmt::Display for MetadataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetadataError::Corrupted(m) => write!(f, "corrupted metadata: {m}"),
            MetadataError::BadTimestamp(m) => write!(f, "corrupted timestamp: {m}"),
        }
    }
}

/// The known fields, borrowed from the file's bytes: `updated_at` borrowing
/// tells exactly where the timestamp lies, for the in-place touch.
#[derive(Deserialize)]
struct Borrowed<'a> {
    #[serde(borrow)]
    session_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    created_at: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    updated_at: std::borrow::Cow<'a, str>,
    #[serde(default = "default_version")]
    version: u32,
}

fn default_version() -> u32 {
    FORMAT_VERSION
}

/// A parsed metadata file and, when the file is in canonical layout, the byte
/// offset of its `updated_at` value (what a touch may overwrite in place).
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The decoded metadata.
    pub metadata: SessionMetadata,
    /// Offset of the 27 timestamp bytes, if they are canonical and unescaped.
    pub updated_at_offset: Option<usize>,
}

impl SessionMetadata {
    /// New metadata for `session_id` with `created_at == updated_at == now`.
    pub fn new(session_id: impl Into<String>, now: DateTime<Utc>) -> Self {
        let now = truncate_to_micros(now);
        SessionMetadata {
            session_id: session_id.into(),
            created_at: now,
            updated_at: now,
            version: FORMAT_VERSION,
            retention: Retention::default(),
            extra: Map::new(),
        }
    }

    /// The labels (the record's `labels` object; empty when it has none).
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.retention.labels
    }

    /// Valid metadata for session `id` dated `when` (created and updated),
    /// made from the unusable metadata `bytes` (a corrupted record or file):
    /// every field it had that can be read is kept, unknown ones included;
    /// the timestamps, the id and the version are replaced, and a retention
    /// field that cannot be read is dropped. What repair writes.
    pub fn repaired(bytes: &[u8], id: &str, when: DateTime<Utc>) -> Self {
        let mut meta = SessionMetadata::new(id, when);
        let Ok(mut map) = serde_json::from_slice::<Map<String, Value>>(bytes) else {
            return meta;
        };
        for key in RETENTION_FIELDS {
            if let Some(v) = map.get(key) {
                let mut one = Map::new();
                one.insert(key.to_owned(), v.clone());
                if Retention::take_from(&mut one).is_err() {
                    map.remove(key);
                }
            }
        }
        meta.retention = Retention::take_from(&mut map).unwrap_or_default();
        map.retain(|k, _| !is_known_field(k));
        meta.extra = map;
        meta
    }

    /// Drops the host-owned fields ([`Retention`]): what registering a
    /// session from a guest-writable `.metadata.json` does, since a guest
    /// could have written them there (pinned itself, say).
    pub fn without_host_fields(mut self) -> Self {
        self.retention = Retention::default();
        self
    }

    /// Drops the unknown fields if with them the record would leave no room
    /// for the host's own fields ([`RETENTION_ROOM`]) under the most a
    /// record may be ([`MAX_METADATA_BYTES`]): what registering a session
    /// from a guest-writable `.metadata.json` also does, since a guest's
    /// compact file can grow past the limit when written canonically
    /// (indented), and a record that cannot be read back would make the
    /// session undeletable by any rule (one too full to take a pin, a TTL
    /// or labels would escape them).
    pub fn fit_for_record(mut self) -> Self {
        if !self.extra.is_empty() && self.to_json().len() > MAX_METADATA_BYTES - RETENTION_ROOM {
            self.extra = Map::new();
        }
        self
    }

    /// What registering session `name` from a guest-writable
    /// `.metadata.json` keeps of it, at `now`: its times, but none later
    /// than now (a guest's `updated_at` in 9999 would outlive every age rule
    /// and TTL the host sets afterwards); no host-owned field
    /// ([`Self::without_host_fields`]); its unknown fields while they fit
    /// ([`Self::fit_for_record`]); `name` as its id.
    pub fn registered_from_guest(self, name: &str, now: DateTime<Utc>) -> Self {
        let mut m = self.without_host_fields().fit_for_record();
        m.session_id = name.to_owned();
        let now = truncate_to_micros(now);
        m.created_at = m.created_at.min(now);
        m.updated_at = m.updated_at.min(now);
        m
    }

    /// Parses a metadata file's bytes (see [`parse`]).
    pub fn from_json(bytes: &[u8]) -> Result<Self, MetadataError> {
        parse(bytes).map(|p| p.metadata)
    }

    /// The canonical JSON text: known fields first (so `updated_at` sits at a
    /// small fixed offset), unknown fields after, indent 2, trailing newline.
    pub fn to_json(&self) -> String {
        if self.extra.is_empty() && self.retention.is_empty() {
            // Fresh metadata (every create): the same text, without building a JSON map.
            let id = serde_json::to_string(&self.session_id).expect("a string always serializes");
            let (c, u) = (timestamp_bytes(self.created_at), timestamp_bytes(self.updated_at));
            let (c, u) = (
                std::str::from_utf8(&c).expect("ASCII"),
                std::str::from_utf8(&u).expect("ASCII"),
            );
            return format!(
                "{{\n  \"session_id\": {id},\n  \"created_at\": \"{c}\",\n  \"updated_at\": \"{u}\",\n  \"version\": {}\n}}\n",
                self.version
            );
        }
        let mut map = Map::new();
        map.insert("session_id".into(), Value::String(self.session_id.clone()));
        map.insert("created_at".into(), Value::String(format_timestamp(self.created_at)));
        map.insert("updated_at".into(), Value::String(format_timestamp(self.updated_at)));
        map.insert("version".into(), Value::from(self.version));
        self.retention.put_into(&mut map);
        for (k, v) in &self.extra {
            if !is_known_field(k) {
                map.insert(k.clone(), v.clone());
            }
        }
        let mut text = serde_json::to_string_pretty(&Value::Object(map))
            .expect("a JSON map of strings and values always serializes");
        text.push('\n');
        text
    }

    /// The fields as a JSON object (what the reference implementation's `to_dict` gives).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.to_json()).expect("to_json emits valid JSON")
    }

    /// Hours between `updated_at` and `now`; negative for a future timestamp.
    pub fn age_hours(&self, now: DateTime<Utc>) -> f64 {
        age_hours(self.updated_at, now)
    }
}

fn is_known_field(k: &str) -> bool {
    matches!(k, "session_id" | "created_at" | "updated_at" | "version") || RETENTION_FIELDS.contains(&k)
}

/// Hours from `then` to `now` (negative when `then` is in the future).
pub fn age_hours(then: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    let d = now.signed_duration_since(then);
    // Microsecond precision is what the files hold; nanoseconds cannot overflow i64 here
    // for any realistic span but microseconds never can.
    d.num_microseconds()
        .map(|us| us as f64 / 3_600_000_000.0)
        .unwrap_or_else(|| d.num_seconds() as f64 / 3600.0)
}

/// Parses metadata bytes. Accepts wsprune's canonical files, the reference
/// Python implementation's (`+00:00` offsets, `indent=2`, any field order),
/// naive timestamps (taken as UTC) and unknown fields (kept in `extra`).
pub fn parse(bytes: &[u8]) -> Result<Parsed, MetadataError> {
    let (known, created_at, updated_at, updated_at_offset) = parse_known(bytes)?;
    let mut extra: Map<String, Value> =
        serde_json::from_slice(bytes).map_err(|e| MetadataError::Corrupted(e.to_string()))?;
    let retention = Retention::take_from(&mut extra)?;
    extra.retain(|k, _| !is_known_field(k));
    Ok(Parsed {
        metadata: SessionMetadata {
            session_id: known.session_id.into_owned(),
            created_at,
            updated_at,
            version: known.version,
            retention,
            extra,
        },
        updated_at_offset,
    })
}

/// Validates metadata bytes as [`parse`] does, without decoding unknown
/// fields: what a touch needs. Returns the offset of a canonical,
/// unescaped `updated_at` (see [`Parsed::updated_at_offset`]).
pub fn validate_for_touch(bytes: &[u8]) -> Result<Option<usize>, MetadataError> {
    parse_known(bytes).map(|(_, _, _, offset)| offset)
}

/// Validates metadata bytes exactly as [`parse`] does and returns only
/// `updated_at`: what a prune decides by. It must call corrupted exactly what
/// [`parse`] (so `read_metadata`, `session_info`, `repair`) calls corrupted,
/// so it decodes unknown fields too (skipping them would let, say, a lone
/// surrogate or an out-of-range number pass; found by fuzzing).
pub fn parse_updated_at(bytes: &[u8]) -> Result<DateTime<Utc>, MetadataError> {
    parse(bytes).map(|p| p.metadata.updated_at)
}

type Known<'a> = (Borrowed<'a>, DateTime<Utc>, DateTime<Utc>, Option<usize>);

fn parse_known(bytes: &[u8]) -> Result<Known<'_>, MetadataError> {
    if bytes.len() > MAX_METADATA_BYTES {
        return Err(MetadataError::Corrupted(format!(
            "file is {} bytes, more than the {MAX_METADATA_BYTES} allowed",
            bytes.len()
        )));
    }
    // serde would also read the fields from a JSON array: metadata is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(MetadataError::Corrupted("metadata is not a JSON object".into()));
    }
    let known: Borrowed<'_> = serde_json::from_slice(bytes).map_err(|e| MetadataError::Corrupted(e.to_string()))?;
    let created_at = parse_timestamp(&known.created_at)
        .ok_or_else(|| MetadataError::BadTimestamp(format!("created_at {:?}", known.created_at)))?;
    let updated_at = parse_timestamp(&known.updated_at)
        .ok_or_else(|| MetadataError::BadTimestamp(format!("updated_at {:?}", known.updated_at)))?;
    let offset = match &known.updated_at {
        std::borrow::Cow::Borrowed(s) if is_canonical_timestamp(s.as_bytes()) => {
            Some(s.as_ptr() as usize - bytes.as_ptr() as usize)
        }
        _ => None,
    };
    Ok((known, created_at, updated_at, offset))
}

/// The file's text with only the top-level `updated_at` replaced by `ts`
/// (canonical form): every other field keeps its value, representation and
/// order. Used when the in-place patch is not possible (foreign format).
pub fn with_updated_at(bytes: &[u8], ts: DateTime<Utc>) -> Result<String, MetadataError> {
    let mut map: Map<String, Value> =
        serde_json::from_slice(bytes).map_err(|e| MetadataError::Corrupted(e.to_string()))?;
    map.insert("updated_at".into(), Value::String(format_timestamp(ts)));
    let mut text = serde_json::to_string_pretty(&Value::Object(map)).expect("a JSON map always serializes");
    text.push('\n');
    Ok(text)
}

/// Parses an ISO 8601 timestamp: with `Z` or a numeric offset (converted to
/// UTC), or naive (taken as UTC); `T` or space between date and time; any
/// number of fractional digits. Only years 0000 to 9999 (in UTC) are
/// timestamps: anything else (`-0001-...`, `+10000-...`, or `0000-01-01`
/// with a positive offset) could not be written back in the canonical
/// four-digit form, so it is not one (a corrupted timestamp), rather than
/// printed clamped while its age says otherwise.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let printable = |t: DateTime<Utc>| (0..=9999).contains(&t.year()).then_some(t);
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return printable(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return printable(naive.and_utc());
        }
    }
    None
}

/// Whether `b` has exactly the canonical 27-byte shape (digits and separators in place).
pub fn is_canonical_timestamp(b: &[u8]) -> bool {
    b.len() == TIMESTAMP_LEN
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            26 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// `t` truncated to whole microseconds, the precision the files hold.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = t.nanosecond() % 1_000_000_000;
    t.with_nanosecond(nanos - nanos % 1000).unwrap_or(t)
}

/// The earliest instant a record can hold, `0000-01-01T00:00:00.000000Z`:
/// timestamps have four-digit years (see [`parse_timestamp`]).
pub fn earliest_timestamp() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(0, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a valid date")
        .and_utc()
}

/// The latest instant a record can hold, `9999-12-31T23:59:59.999999Z`.
pub fn latest_timestamp() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
        .expect("a valid date")
        .and_utc()
}

/// Whether `t` can be stored in a record and read back as itself (to the
/// microsecond): between [`earliest_timestamp`] and [`latest_timestamp`].
/// Every surface refuses other times rather than storing them clamped.
pub fn is_storable(t: DateTime<Utc>) -> bool {
    (earliest_timestamp()..=latest_timestamp()).contains(&t)
}

/// [`Status::InvalidArgument`](crate::error::Status::InvalidArgument)
/// naming `what` unless [`is_storable`]`(t)`.
pub(crate) fn check_storable(t: DateTime<Utc>, what: &str) -> crate::error::Result<()> {
    if is_storable(t) {
        return Ok(());
    }
    Err(crate::error::Error::new(
        crate::error::Status::InvalidArgument,
        format!(
            "{what} {t}: not a time wsprune can store (from {} to {})",
            format_timestamp(earliest_timestamp()),
            format_timestamp(latest_timestamp())
        ),
    ))
}

/// The canonical 27-byte form, e.g. `2026-11-25T01:47:00.123456Z`. Written by
/// hand because it runs on every touch and chrono's formatter is far slower.
pub fn timestamp_bytes(t: DateTime<Utc>) -> [u8; TIMESTAMP_LEN] {
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    // Parsed timestamps are always within 0..=9999 (see parse_timestamp), and
    // every time given to be stored is checked (check_storable); the clamp
    // only guards times made in code.
    let year = t.year().clamp(0, 9999) as u32;
    let micros = (t.nanosecond() % 1_000_000_000) / 1000;
    let mut put = |pos: usize, width: usize, mut v: u32| {
        for i in (0..width).rev() {
            out[pos + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second().min(59));
    put(20, 6, micros);
    out
}

/// [`timestamp_bytes`] as a `String`.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    String::from_utf8(timestamp_bytes(t).to_vec()).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn what_parse_calls_corrupted_the_prune_and_touch_checks_do_too() {
        let ts = "2026-01-01T00:00:00.000000Z";
        let array = format!(r#"["x", "{ts}", "{ts}", 1]"#);
        assert!(parse(array.as_bytes()).is_err());
        assert!(parse_updated_at(array.as_bytes()).is_err());
        assert!(validate_for_touch(array.as_bytes()).is_err());
        // Unknown fields that only a full decode rejects (found by fuzzing).
        for extra in [r#""\ud800""#, "1e400"] {
            let text = format!(r#"{{"session_id": "x", "created_at": "{ts}", "updated_at": "{ts}", "x": {extra}}}"#);
            assert!(parse(text.as_bytes()).is_err(), "{text}");
            assert!(parse_updated_at(text.as_bytes()).is_err(), "{text}");
        }
    }

    #[test]
    fn fresh_metadata_text_is_what_the_json_map_gives() {
        for id in ["0f8fad5b-d9cb-469f-a165-70867728950e", "odd \"id\"\n\u{1}"] {
            let m = SessionMetadata::new(id, Utc::now());
            let mut with_extra = m.clone();
            // An extra field forces the general path; remove it from its text to compare.
            with_extra.extra.insert("x".into(), Value::from(1));
            let general = with_extra.to_json().replace(",\n  \"x\": 1", "");
            assert_eq!(m.to_json(), general);
            assert_eq!(SessionMetadata::from_json(m.to_json().as_bytes()).unwrap(), m);
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn canonical_round_trip_keeps_every_field() {
        let mut m = SessionMetadata::new(
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            at("2026-01-02T03:04:05.123456Z"),
        );
        m.extra.insert("owner".into(), Value::from("alice"));
        let text = m.to_json();
        assert!(
            text.contains(r#""updated_at": "2026-01-02T03:04:05.123456Z""#),
            "{text}"
        );
        let p = parse(text.as_bytes()).unwrap();
        assert_eq!(p.metadata, m);
        let off = p.updated_at_offset.unwrap();
        assert_eq!(&text[off..off + TIMESTAMP_LEN], "2026-01-02T03:04:05.123456Z");
        assert!(off + TIMESTAMP_LEN < 512, "updated_at must sit in the first sector");
    }

    #[test]
    fn retention_fields_round_trip_after_the_known_ones_and_bad_ones_are_corrupted() {
        let mut m = SessionMetadata::new("x", at("2026-01-02T03:04:05.123456Z"));
        m.retention = Retention {
            pinned: true,
            pinned_until: Some(at("2026-02-01T00:00:00Z")),
            idle_ttl_seconds: Some(3600),
            expires_at: Some(at("2026-01-03T00:00:00Z")),
            labels: [("owner".to_owned(), "alice".to_owned())].into(),
        };
        m.extra.insert("zzz".into(), Value::from(1));
        let text = m.to_json();
        let p = parse(text.as_bytes()).unwrap();
        assert_eq!(p.metadata, m);
        assert!(p.updated_at_offset.unwrap() < 512);
        let keys: Vec<String> = serde_json::from_str::<Map<String, Value>>(&text)
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys[4..9], RETENTION_FIELDS.map(String::from));
        assert_eq!(keys[9], "zzz");
        // Times: the pin holds before `pinned_until`; the TTL's deadline is
        // the earlier of updated_at + idle TTL and expires_at.
        let r = &m.retention;
        assert!(r.pin_holds(at("2026-01-31T23:59:59Z")) && !r.pin_holds(at("2026-02-01T00:00:00Z")));
        assert_eq!(r.deadline(m.updated_at), Some(at("2026-01-02T04:04:05.123456Z")));
        assert!(!r.expired(m.updated_at, at("2026-01-02T04:04:05Z")));
        assert!(r.expired(m.updated_at, at("2026-01-02T04:04:05.123456Z")));
        let huge = Retention {
            idle_ttl_seconds: Some(u64::MAX),
            ..Default::default()
        };
        assert!(!huge.expired(m.updated_at, at("9999-12-31T23:59:59Z")));
        let ts = "2026-01-01T00:00:00.000000Z";
        for (field, bad) in [
            ("pinned", "1"),
            ("pinned_until", "3"),
            ("idle_ttl_seconds", "0"),
            ("idle_ttl_seconds", "-5"),
            ("idle_ttl_seconds", "1.5"),
            ("expires_at", "\"tomorrow\""),
            ("labels", "[]"),
            ("labels", "{\"a\": 1}"),
        ] {
            let text = format!(r#"{{"session_id":"x","created_at":"{ts}","updated_at":"{ts}","{field}":{bad}}}"#);
            assert!(parse(text.as_bytes()).is_err(), "{text}");
            let fixed = SessionMetadata::repaired(text.as_bytes(), "x", at(ts));
            assert!(
                fixed.retention.is_empty() && fixed.extra.is_empty(),
                "{text}: {fixed:?}"
            );
        }
    }

    #[test]
    fn reads_reference_python_format() {
        let text = r#"{
  "session_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
  "created_at": "2025-06-01T12:00:00.000001+00:00",
  "updated_at": "2025-06-01T14:30:00+02:00",
  "version": 1
}"#;
        let p = parse(text.as_bytes()).unwrap();
        assert_eq!(
            p.metadata.created_at,
            Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap() + chrono::Duration::microseconds(1)
        );
        assert_eq!(
            p.metadata.updated_at,
            Utc.with_ymd_and_hms(2025, 6, 1, 12, 30, 0).unwrap()
        );
        assert_eq!(
            p.updated_at_offset, None,
            "non-canonical timestamps are never patched in place"
        );
    }

    #[test]
    fn naive_timestamps_are_utc_and_version_defaults() {
        let text = r#"{"session_id":"x","created_at":"2025-06-01 12:00:00","updated_at":"2025-06-01T12:00:00.5"}"#;
        let m = SessionMetadata::from_json(text.as_bytes()).unwrap();
        assert_eq!(m.created_at, Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap());
        assert_eq!(
            m.updated_at,
            Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap() + chrono::Duration::milliseconds(500)
        );
        assert_eq!(m.version, 1);
    }

    #[test]
    fn corrupted_and_bad_timestamps_are_told_apart() {
        for bad in [
            "",
            "{",
            "[]",
            "null",
            r#"{"session_id":"x"}"#,
            r#"{"session_id":1,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}"#,
        ] {
            assert!(
                matches!(parse(bad.as_bytes()), Err(MetadataError::Corrupted(_))),
                "{bad:?}"
            );
        }
        let bad_ts = r#"{"session_id":"x","created_at":"2025-01-01T00:00:00Z","updated_at":"yesterday"}"#;
        assert!(matches!(parse(bad_ts.as_bytes()), Err(MetadataError::BadTimestamp(_))));
        let bad_date = r#"{"session_id":"x","created_at":"2025-02-31T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}"#;
        assert!(matches!(
            parse(bad_date.as_bytes()),
            Err(MetadataError::BadTimestamp(_))
        ));
        let huge = format!(r#"{{"session_id":"{}"}}"#, "x".repeat(MAX_METADATA_BYTES));
        assert!(matches!(parse(huge.as_bytes()), Err(MetadataError::Corrupted(_))));
    }

    /// A year that cannot be printed back in four digits is a
    /// corrupted timestamp, not a clamped one; every accepted timestamp prints
    /// back as the same instant.
    #[test]
    fn years_outside_0000_to_9999_are_corrupted_timestamps() {
        for bad in [
            "-0001-06-01T00:00:00",
            "-0001-06-01 00:00:00.5",
            "+10000-01-01T00:00:00",
            "10000-01-01T00:00:00",
            "0000-01-01T00:30:00+01:00",
            "9999-12-31T23:30:00-01:00",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
            let text = format!(r#"{{"session_id":"x","created_at":"2025-01-01T00:00:00Z","updated_at":"{bad}"}}"#);
            assert!(
                matches!(parse(text.as_bytes()), Err(MetadataError::BadTimestamp(_))),
                "{bad}"
            );
            assert!(matches!(
                parse_updated_at(text.as_bytes()),
                Err(MetadataError::BadTimestamp(_))
            ));
            assert!(matches!(
                validate_for_touch(text.as_bytes()),
                Err(MetadataError::BadTimestamp(_))
            ));
        }
        for good in [
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999Z",
            "0000-01-01T00:30:00-01:00",
        ] {
            let t = parse_timestamp(good).expect(good);
            assert_eq!(parse_timestamp(&format_timestamp(t)), Some(t), "{good}");
        }
    }

    #[test]
    fn escaped_timestamp_is_parsed_but_not_patchable() {
        let text =
            r#"{"session_id":"x","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00.000000\u005a"}"#;
        let p = parse(text.as_bytes()).unwrap();
        assert_eq!(p.updated_at_offset, None);
    }

    #[test]
    fn nested_updated_at_is_not_mistaken_for_the_top_level_one() {
        let text = r#"{"extra":{"updated_at":"1999-01-01T00:00:00.000000Z"},"session_id":"x","created_at":"2025-01-01T00:00:00.000000Z","updated_at":"2025-01-01T00:00:00.000000Z"}"#;
        let p = parse(text.as_bytes()).unwrap();
        let off = p.updated_at_offset.unwrap();
        assert_eq!(&text[off..off + 4], "2025");
        assert!(p.metadata.extra.contains_key("extra"));
    }

    #[test]
    fn timestamp_formatting_matches_chrono() {
        for s in [
            "2026-11-25T01:47:00.123456Z",
            "0001-01-01T00:00:00.000000Z",
            "2024-02-29T23:59:59.999999Z",
        ] {
            let t = at(s);
            assert_eq!(format_timestamp(t), s);
            assert_eq!(format_timestamp(t), t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
        }
        let t = at("2026-11-25T01:47:00.123456789Z");
        assert_eq!(format_timestamp(t), "2026-11-25T01:47:00.123456Z");
        assert_eq!(truncate_to_micros(t), at("2026-11-25T01:47:00.123456Z"));
    }

    #[test]
    fn age_is_hours_and_negative_in_the_future() {
        let now = at("2026-01-02T00:00:00Z");
        assert_eq!(age_hours(at("2026-01-01T00:00:00Z"), now), 24.0);
        assert_eq!(age_hours(at("2026-01-01T23:30:00Z"), now), 0.5);
        assert!(age_hours(at("2026-01-03T00:00:00Z"), now) < 0.0);
        // timezone-aware and naive forms of the same instant agree
        assert_eq!(at("2026-01-01T01:00:00+01:00"), at("2026-01-01T00:00:00"));
    }
}
