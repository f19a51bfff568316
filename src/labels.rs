//! Session labels and label selectors (docs/contract.md, "Labels").
//!
//! A session may carry a small map of labels (`owner=alice`, `tier=pro`),
//! kept in its host-owned record, never read from the guest-writable
//! `.metadata.json` mirror: a guest that could rename its owner would dodge
//! a per-owner cap. The syntax is Kubernetes' (a key is an optional
//! DNS-subdomain prefix and `/`, then a name; a value is empty or a name),
//! so labels copied from a pod spec or a docker `--label` work unchanged,
//! and every label prints as itself: no spaces, quotes, controls or
//! invisible characters can be in one. A selector is Kubernetes' and
//! docker's equality syntax: `owner=alice`, `owner==alice`, `tier!=pro`,
//! `gpu` (present), `!gpu` (absent), comma-separated terms all of which
//! must hold.
//!
//! Everything here is pure: no filesystem, no clock.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, Result, Status};
use crate::escape;

/// Most labels one session may carry.
pub const MAX_LABELS: usize = 32;
/// Longest key name (the part after any `/`), in bytes.
pub const MAX_NAME_LEN: usize = 63;
/// Longest key prefix (the DNS subdomain before a `/`), in bytes.
pub const MAX_PREFIX_LEN: usize = 253;
/// Longest value, in bytes.
pub const MAX_VALUE_LEN: usize = 63;

/// A session's labels, ordered by key (the order they are written and listed in).
pub type Labels = BTreeMap<String, String>;

fn invalid(message: String) -> Error {
    Error::new(Status::InvalidArgument, message)
}

/// How much of a refused key or term a message quotes: enough to find it,
/// not a caller's megabytes echoed back.
const SHOWN_MAX_CHARS: usize = 80;

/// The key as it may be printed in a message: escaped and quoted, since a
/// refused key may hold anything, and cut after [`SHOWN_MAX_CHARS`]
/// characters (then `…` and its length follow the quote).
fn shown(key: &str) -> String {
    match key.char_indices().nth(SHOWN_MAX_CHARS) {
        Some((end, _)) => format!("{}… ({} bytes)", escape::quoted(&key[..end]), key.len()),
        None => escape::quoted(key),
    }
}

/// Checks one key: `[prefix/]name`, the name 1 to 63 characters of
/// `[A-Za-z0-9._-]` beginning and ending with a letter or digit, the prefix
/// (optional) a lowercase DNS subdomain of at most 253 characters.
pub fn validate_key(key: &str) -> Result<()> {
    let bad = |why: &str| Err(invalid(format!("label key {}: {why}", shown(key))));
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return bad("the prefix before '/' is empty");
        }
        if prefix.len() > MAX_PREFIX_LEN {
            return bad(&format!("the prefix is longer than {MAX_PREFIX_LEN} bytes"));
        }
        if !is_dns_subdomain(prefix) {
            return bad("the prefix must be a lowercase DNS subdomain (a-z, 0-9, '-' and '.', each dot-separated part beginning and ending with a letter or digit)");
        }
    }
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad(&format!("the name is longer than {MAX_NAME_LEN} bytes"));
    }
    if !is_name(name) {
        return bad("a name is letters, digits, '-', '_' and '.', beginning and ending with a letter or digit");
    }
    Ok(())
}

/// Checks the value of label `key`: empty, or 1 to 63 characters of
/// `[A-Za-z0-9._-]` beginning and ending with a letter or digit.
pub fn validate_value(key: &str, value: &str) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(invalid(format!(
            "label {}: the value is longer than {MAX_VALUE_LEN} bytes",
            shown(key)
        )));
    }
    if !value.is_empty() && !is_name(value) {
        return Err(invalid(format!(
            "label {}: the value {} is not empty and not letters, digits, '-', '_' and '.' beginning and ending with a letter or digit",
            shown(key),
            shown(value)
        )));
    }
    Ok(())
}

/// Checks a whole label map: every key and value, and at most [`MAX_LABELS`] labels.
pub fn validate(labels: &Labels) -> Result<()> {
    for (k, v) in labels {
        validate_key(k)?;
        validate_value(k, v)?;
    }
    if labels.len() > MAX_LABELS {
        return Err(invalid(format!(
            "{} labels: a session carries at most {MAX_LABELS}",
            labels.len()
        )));
    }
    Ok(())
}

/// Parses `key=value` (the CLI's `--label`, the C ABI's label strings),
/// checked. The first `=` splits; the value may be empty (`key=`).
pub fn parse_label(text: &str) -> Result<(String, String)> {
    let Some((k, v)) = text.split_once('=') else {
        return Err(invalid(format!("label {}: expected key=value", shown(text))));
    };
    validate_key(k)?;
    validate_value(k, v)?;
    Ok((k.to_owned(), v.to_owned()))
}

/// Builds a label map from `key=value` strings; a key given twice is
/// InvalidArgument (which of the two was meant cannot be told).
pub fn from_assignments<S: AsRef<str>>(items: &[S]) -> Result<Labels> {
    let mut labels = Labels::new();
    for item in items {
        let (k, v) = parse_label(item.as_ref())?;
        if labels.contains_key(&k) {
            return Err(invalid(format!("label {} is given twice", shown(&k))));
        }
        labels.insert(k, v);
    }
    validate(&labels)?;
    Ok(labels)
}

/// One change to a session's labels (`wsprune label ROOT ID key=value key-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelChange {
    /// Set `key` to `value`, adding or replacing it.
    Set(String, String),
    /// Remove `key` (nothing happens when it is absent).
    Remove(String),
}

impl LabelChange {
    /// Parses `key=value` (set) or `key-` (remove), as `kubectl label` does.
    pub fn parse(text: &str) -> Result<LabelChange> {
        if text.contains('=') {
            let (k, v) = parse_label(text)?;
            return Ok(LabelChange::Set(k, v));
        }
        match text.strip_suffix('-') {
            Some(k) => {
                validate_key(k)?;
                Ok(LabelChange::Remove(k.to_owned()))
            }
            None => Err(invalid(format!(
                "label change {}: expected key=value (set) or key- (remove)",
                shown(text)
            ))),
        }
    }
}

/// Checks the keys and values of `changes` (not what they would leave: that
/// depends on the labels they apply to, see [`apply`]).
pub fn validate_changes(changes: &[LabelChange]) -> Result<()> {
    for change in changes {
        match change {
            LabelChange::Set(k, v) => {
                validate_key(k)?;
                validate_value(k, v)?;
            }
            LabelChange::Remove(k) => validate_key(k)?,
        }
    }
    Ok(())
}

/// `labels` with `changes` applied in order, checked as a whole (a change
/// that would leave more than [`MAX_LABELS`] is InvalidArgument and nothing
/// is changed).
pub fn apply(labels: &Labels, changes: &[LabelChange]) -> Result<Labels> {
    validate_changes(changes)?;
    let mut out = labels.clone();
    for change in changes {
        match change {
            LabelChange::Set(k, v) => {
                out.insert(k.clone(), v.clone());
            }
            LabelChange::Remove(k) => {
                out.remove(k);
            }
        }
    }
    validate(&out)?;
    Ok(out)
}

/// The labels a session holds, as a prune and `ls` see them: a registered
/// session's are its record's (`Some`, empty without a `labels` field;
/// `None` when they are not all valid: such a session matches no selector
/// and has no owner); an unregistered directory has none, whatever its
/// guest-writable `.metadata.json` says.
pub(crate) fn of_session(registered: bool, record: &crate::metadata::SessionMetadata) -> Option<Labels> {
    if !registered {
        return Some(Labels::new());
    }
    let labels = record.labels();
    validate(labels).ok().map(|()| labels.clone())
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?`
fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && is_alnum(b[0])
        && is_alnum(b[b.len() - 1])
        && b.iter().all(|&c| is_alnum(c) || matches!(c, b'-' | b'_' | b'.'))
}

/// A lowercase DNS subdomain: dot-separated parts of `[a-z0-9-]`, each
/// beginning and ending with a letter or digit.
fn is_dns_subdomain(s: &str) -> bool {
    s.split('.').all(|part| {
        let b = part.as_bytes();
        let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        !b.is_empty() && edge(b[0]) && edge(b[b.len() - 1]) && b.iter().all(|&c| edge(c) || c == b'-')
    })
}

/// One term of a [`Selector`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value` or `key==value`: the label is present with that value.
    Equals(String, String),
    /// `key!=value`: the label is absent or has another value.
    NotEquals(String, String),
    /// `key`: the label is present (any value).
    Exists(String),
    /// `!key`: the label is absent.
    Absent(String),
}

impl Requirement {
    fn matches(&self, labels: &Labels) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::Absent(k) => !labels.contains_key(k),
        }
    }

    fn parse(term: &str) -> Result<Requirement> {
        let t = term.trim();
        if t.is_empty() {
            return Err(invalid(
                "label selector: an empty term (two commas, or a comma at an end)".into(),
            ));
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        if t.contains('(') || (words.len() > 1 && matches!(words[1], "in" | "notin")) {
            return Err(invalid(format!(
                "label selector term {}: set-based terms (in, notin) are not supported; use key=value, key!=value, key or !key",
                shown(t)
            )));
        }
        let checked = |k: &str, v: Option<&str>| -> Result<(String, String)> {
            let k = k.trim();
            validate_key(k)?;
            let v = v.map(str::trim).unwrap_or("");
            validate_value(k, v)?;
            Ok((k.to_owned(), v.to_owned()))
        };
        if let Some((k, v)) = t.split_once("!=") {
            let (k, v) = checked(k, Some(v))?;
            return Ok(Requirement::NotEquals(k, v));
        }
        if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
            let (k, v) = checked(k, Some(v))?;
            return Ok(Requirement::Equals(k, v));
        }
        if let Some(k) = t.strip_prefix('!') {
            let (k, _) = checked(k, None)?;
            return Ok(Requirement::Absent(k));
        }
        let (k, _) = checked(t, None)?;
        Ok(Requirement::Exists(k))
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::Equals(k, v) => write!(f, "{k}={v}"),
            Requirement::NotEquals(k, v) => write!(f, "{k}!={v}"),
            Requirement::Exists(k) => write!(f, "{k}"),
            Requirement::Absent(k) => write!(f, "!{k}"),
        }
    }
}

/// A label selector: terms that must all hold (docs/contract.md, "Labels").
///
/// An empty selector (`""`, only spaces) is InvalidArgument rather than
/// "every session": an unset shell variable in `--label "$SEL"` must not
/// widen a prune meant for one owner to all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    terms: Vec<Requirement>,
}

impl Selector {
    /// Parses `owner=alice,tier!=pro,gpu,!spot`. Spaces around terms and
    /// operators are ignored; keys and values are checked as labels are, so
    /// a selector that could match nothing by its syntax (`owner=a b`) is
    /// refused, naming the key.
    pub fn parse(text: &str) -> Result<Selector> {
        if text.trim().is_empty() {
            return Err(invalid(
                "label selector is empty (to select every session, give no selector)".into(),
            ));
        }
        let terms = text.split(',').map(Requirement::parse).collect::<Result<Vec<_>>>()?;
        Ok(Selector { terms })
    }

    /// Whether `labels` satisfy every term.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.terms.iter().all(|t| t.matches(labels))
    }

    /// Whether a session whose labels could not be read matches: never, so
    /// that a damaged record is kept, whatever the terms.
    pub fn matches_unreadable(&self) -> bool {
        false
    }

    /// The terms, in the order given.
    pub fn requirements(&self) -> &[Requirement] {
        &self.terms
    }
}

impl std::str::FromStr for Selector {
    type Err = Error;
    fn from_str(s: &str) -> Result<Selector> {
        Selector::parse(s)
    }
}

/// The canonical text: terms joined by `,`, with `=` and no spaces.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(items: &[&str]) -> Labels {
        from_assignments(items).unwrap()
    }

    fn err(r: Result<impl fmt::Debug>) -> String {
        let e = r.unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument, "{e}");
        e.message().to_owned()
    }

    #[test]
    fn kubernetes_keys_and_values_are_accepted() {
        for k in [
            "owner",
            "a",
            "Owner_1.x-y",
            "example.com/owner",
            "app.kubernetes.io/name",
            "x1/y",
            &"k".repeat(63),
        ] {
            validate_key(k).unwrap_or_else(|e| panic!("{k}: {e}"));
        }
        let long_prefix = format!("{}/{}", vec!["a".repeat(63); 3].join(".") + ".bcd", "n");
        assert_eq!(long_prefix.split_once('/').unwrap().0.len(), 195);
        validate_key(&long_prefix).unwrap();
        for v in ["", "alice", "A-1_b.c", &"v".repeat(63)] {
            validate_value("k", v).unwrap();
        }
    }

    #[test]
    fn bad_keys_are_refused_naming_the_key() {
        for (k, why) in [
            ("", "empty"),
            ("-a", "beginning and ending"),
            ("a-", "beginning and ending"),
            ("a b", "letters, digits"),
            ("a=b", "letters, digits"),
            ("owner@x", "letters, digits"),
            ("/name", "prefix before '/' is empty"),
            ("Example.com/name", "lowercase DNS"),
            ("a..b/name", "lowercase DNS"),
            ("a/b/c", "letters, digits"),
            ("prefix/", "name is empty"),
            ("café", "letters, digits"),
        ] {
            let m = err(validate_key(k));
            assert!(m.contains(&format!("\"{k}\"")) && m.contains(why), "{k:?}: {m}");
        }
        let m = err(validate_key(&"k".repeat(64)));
        assert!(m.contains("longer than 63"), "{m}");
        let m = err(validate_key(&format!("{}/n", "a".repeat(254))));
        assert!(m.contains("longer than 253"), "{m}");
    }

    #[test]
    fn a_huge_key_is_cut_in_the_message() {
        let key = "k".repeat(120_000);
        let m = err(validate_key(&key));
        assert!(m.len() < 300, "{} bytes: {}", m.len(), &m[..300]);
        assert!(
            m.contains(&format!("\"{}\"… (120000 bytes)", "k".repeat(SHOWN_MAX_CHARS))),
            "{m}"
        );
    }

    #[test]
    fn an_unprintable_key_is_escaped_in_the_message() {
        for (k, shown) in [
            ("owner\u{200b}", "owner\\u{200b}"),
            ("own\ner", "own\\ner"),
            ("a\x1b[31m", "a\\x1b[31m"),
            ("a\"b", "a\\\"b"),
        ] {
            let m = err(validate_key(k));
            assert!(m.contains(shown), "{m}");
            assert!(!m.chars().any(|c| c.is_control() || escape::is_invisible(c)), "{m:?}");
        }
        let m = err(validate_value("owner", "al\u{202e}ice"));
        assert!(m.contains("\"owner\"") && m.contains("al\\u{202e}ice"), "{m}");
    }

    #[test]
    fn bad_values_and_too_many_labels_are_refused() {
        for v in ["a b", "-a", "a-", "x=y", "alice@example.com", "ü"] {
            let m = err(validate_value("owner", v));
            assert!(m.contains("\"owner\""), "{m}");
        }
        let m = err(validate_value("owner", &"v".repeat(64)));
        assert!(m.contains("longer than 63"), "{m}");
        let many: Vec<String> = (0..=MAX_LABELS).map(|i| format!("k{i}=v")).collect();
        assert!(err(from_assignments(&many)).contains("at most 32"));
        assert_eq!(from_assignments(&many[..MAX_LABELS]).unwrap().len(), MAX_LABELS);
    }

    #[test]
    fn assignments_parse_and_a_key_given_twice_is_refused() {
        assert_eq!(parse_label("owner=alice").unwrap(), ("owner".into(), "alice".into()));
        assert_eq!(parse_label("owner=").unwrap(), ("owner".into(), "".into()));
        assert!(err(parse_label("owner")).contains("expected key=value"));
        assert!(err(parse_label("owner=a=b")).contains("\"owner\""));
        assert!(err(from_assignments(&["a=1", "a=2"])).contains("\"a\" is given twice"));
    }

    #[test]
    fn changes_set_and_remove_and_are_checked_as_a_whole() {
        let base = labels(&["owner=alice", "tier=pro"]);
        let changes = ["tier-", "owner=bob", "gpu=", "absent-"]
            .iter()
            .map(|c| LabelChange::parse(c).unwrap())
            .collect::<Vec<_>>();
        assert_eq!(apply(&base, &changes).unwrap(), labels(&["owner=bob", "gpu="]));
        assert!(err(LabelChange::parse("tier")).contains("key- (remove)"));
        assert!(err(LabelChange::parse("-")).contains("name is empty"));
        let full: Labels = (0..MAX_LABELS).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(apply(&full, &[LabelChange::Set("k0".into(), "x".into())]).is_ok());
        assert!(err(apply(&full, &[LabelChange::Set("new".into(), "x".into())])).contains("at most 32"));
    }

    #[test]
    fn selectors_match_as_kubernetes_does() {
        let alice_pro = labels(&["owner=alice", "tier=pro", "gpu="]);
        let bob = labels(&["owner=bob"]);
        let none = Labels::new();
        let cases: &[(&str, [bool; 3])] = &[
            ("owner=alice", [true, false, false]),
            ("owner==alice", [true, false, false]),
            ("owner!=alice", [false, true, true]),
            ("tier!=pro", [false, true, true]),
            ("owner", [true, true, false]),
            ("!owner", [false, false, true]),
            ("gpu", [true, false, false]),
            ("gpu=", [true, false, false]),
            ("owner,tier!=pro", [false, true, false]),
            (" owner = alice , !spot ", [true, false, false]),
            ("owner=alice,owner=bob", [false, false, false]),
            ("example.com/team=x", [false, false, false]),
        ];
        for (text, want) in cases {
            let s = Selector::parse(text).unwrap();
            let got = [s.matches(&alice_pro), s.matches(&bob), s.matches(&none)];
            assert_eq!(&got, want, "{text}");
            assert!(!s.matches_unreadable(), "{text}");
            // The canonical text parses back to the same selector.
            assert_eq!(Selector::parse(&s.to_string()).unwrap(), s, "{text}");
        }
        assert_eq!(
            Selector::parse(" owner == alice ,!spot").unwrap().to_string(),
            "owner=alice,!spot"
        );
    }

    #[test]
    fn bad_selectors_are_refused_with_the_reason() {
        for (text, why) in [
            ("", "empty"),
            ("  ", "empty"),
            ("owner=alice,", "empty term"),
            (",owner", "empty term"),
            ("a,,b", "empty term"),
            ("env in (a,b)", "set-based"),
            ("env notin (a)", "set-based"),
            ("owner=al ice", "\"owner\""),
            ("label=owner=alice", "\"label\""),
            ("!", "name is empty"),
            ("!owner=alice", "\"!owner\""),
            ("=alice", "name is empty"),
            ("own\u{200b}er", "own\\u{200b}er"),
        ] {
            let m = err(Selector::parse(text));
            assert!(m.contains(why), "{text:?}: {m}");
        }
    }

    #[test]
    fn record_labels_count_only_when_registered_and_all_valid() {
        let record = |labels: &str| {
            let text = format!(
                r#"{{"session_id": "x", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "labels": {labels}}}"#
            );
            crate::metadata::SessionMetadata::from_json(text.as_bytes()).unwrap()
        };
        let good = record(r#"{"owner": "alice", "tier": "pro"}"#);
        assert_eq!(of_session(true, &good), Some(labels(&["owner=alice", "tier=pro"])));
        // An unregistered directory's metadata is the guest's: no labels.
        assert_eq!(of_session(false, &good), Some(Labels::new()));
        for bad in [r#"{"owner": "a b"}"#, r#"{"bad key": "x"}"#, r#"{"owner": "x\u200b"}"#] {
            assert_eq!(of_session(true, &record(bad)), None, "{bad}");
        }
        let many: Vec<String> = (0..=MAX_LABELS).map(|i| format!(r#""k{i}": """#)).collect();
        assert_eq!(of_session(true, &record(&format!("{{{}}}", many.join(", ")))), None);
    }
}
