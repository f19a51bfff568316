//! Session ids: the only names under the workspace root wsprune will act on.
//!
//! A session id is a UUID (any spelling: hyphenated or 32 hex digits, any
//! case) or a *custom id*, a safe directory name (see [`is_custom_id`]). A new
//! session with a UUID id is created under the UUID's canonical spelling
//! (lowercase, hyphenated, see [`canonical`]); lookups try that spelling
//! first and then the name as given (see [`candidates`]), so one UUID is one
//! session whatever spelling a caller uses.

use crate::error::{Error, Result, Status};

/// Longest session id, in bytes (the filesystem's `NAME_MAX`).
pub const MAX_LEN: usize = 255;

/// A name that is never a session: the reference implementation keeps
/// vendored packages there.
pub const RESERVED: &str = "site-packages";

/// Whether `name` is a UUID in hyphenated (36 characters) or simple (32 hex
/// digits) form, any case. Braced and `urn:uuid:` forms are refused because
/// they are not plain directory names. Anything accepted here consists of hex
/// digits and hyphens only, so it can never contain `/`, `..` or a NUL.
pub fn is_uuid(name: &[u8]) -> bool {
    match name.len() {
        32 => name.iter().all(u8::is_ascii_hexdigit),
        36 => name.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        }),
        _ => false,
    }
}

/// Whether `name` is a custom session id: 1 to [`MAX_LEN`] bytes of UTF-8,
/// no `/`, no NUL or other control character, not `.` or `..`, not starting
/// with `.` (so never hidden and never our trash prefix), and not
/// [`RESERVED`]. Such a name is one path component inside the root: it cannot
/// traverse anywhere.
pub fn is_custom_id(name: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(name) else { return false };
    !s.is_empty()
        && s.len() <= MAX_LEN
        && !s.starts_with('.')
        && s != RESERVED
        && !s.contains('/')
        && !s.chars().any(char::is_control)
}

/// Whether `name` is a session id: a UUID or a custom id.
pub fn is_session_id(name: &[u8]) -> bool {
    is_uuid(name) || is_custom_id(name)
}

/// Checks `id` with [`is_session_id`], giving [`Status::InvalidSessionId`] when it is not one.
pub fn validate(id: &str) -> Result<()> {
    if is_session_id(id.as_bytes()) {
        Ok(())
    } else {
        Err(Error::new(
            Status::InvalidSessionId,
            format!(
                "invalid session id {}: expected a UUID or a name of 1 to {MAX_LEN} bytes without '/' or control characters, not starting with '.', not {RESERVED:?}",
                crate::escape::quoted(id)
            ),
        ))
    }
}

/// The canonical spelling (lowercase, hyphenated) of a UUID id; `None` for a custom id.
pub fn canonical(id: &str) -> Option<String> {
    if !is_uuid(id.as_bytes()) {
        return None;
    }
    uuid::Uuid::try_parse(id).ok().map(|u| u.hyphenated().to_string())
}

/// The directory names that may hold session `id`, in lookup order: the
/// canonical spelling of a UUID, then the name as given (once if they are the
/// same). No directory scan: other spellings made by other tools are found
/// only under their own name.
pub fn candidates(id: &str) -> Vec<String> {
    match canonical(id) {
        Some(c) if c != id => vec![c, id.to_owned()],
        _ => vec![id.to_owned()],
    }
}

/// The name a new session with id `id` gets: the canonical spelling of a
/// UUID, a custom id as it is.
pub fn new_name(id: &str) -> String {
    canonical(id).unwrap_or_else(|| id.to_owned())
}

/// A fresh random (version 4) session id, lower-case hyphenated.
pub fn generate() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_uuids_in_plain_forms() {
        assert!(is_uuid(b"0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(is_uuid(b"0F8FAD5B-D9CB-469F-A165-70867728950E"));
        assert!(is_uuid(b"0f8fad5bd9cb469fa16570867728950e"));
        assert!(is_uuid(generate().as_bytes()));
        assert!(!is_uuid(b"not-a-uuid"));
    }

    #[test]
    fn canonicalizes_every_spelling() {
        let c = "abcdef01-2345-6789-abcd-ef0123456789";
        for s in [
            "ABCDEF0123456789ABCDEF0123456789",
            "abcdef0123456789abcdef0123456789",
            "abcdef01-2345-6789-abcd-ef0123456789",
            "ABCDEF01-2345-6789-ABCD-EF0123456789",
        ] {
            assert_eq!(canonical(s).as_deref(), Some(c), "{s}");
            assert_eq!(new_name(s), c);
            assert_eq!(candidates(s)[0], c);
        }
        assert_eq!(candidates(c), vec![c.to_owned()]);
        assert_eq!(candidates("ABCDEF0123456789ABCDEF0123456789").len(), 2);
        assert_eq!(canonical("my-session"), None);
        assert_eq!(candidates("my-session"), vec!["my-session".to_owned()]);
    }

    #[test]
    fn accepts_safe_custom_ids() {
        for good in [
            "my-session",
            "a",
            "user 42",
            "Ünïcødé-名前",
            "a..b",
            "x.",
            "site-packages2",
            "-leading-dash",
            &"x".repeat(255),
        ] {
            assert!(is_custom_id(good.as_bytes()), "{good:?} refused");
            assert!(validate(good).is_ok());
        }
    }

    #[test]
    fn refuses_everything_else() {
        let long = "x".repeat(256);
        for bad in [
            "",
            "..",
            ".",
            ".hidden",
            ".wsprune-trash.0f8fad5b-d9cb-469f-a165-70867728950e.1.2",
            "site-packages",
            "../0f8fad5b-d9cb-469f-a165-70867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950e/..",
            "a/b",
            "/abs",
            "trailing/",
            "new\nline",
            "tab\there",
            "nul\0byte",
            "del\x7f",
            "c1\u{85}control",
            &long,
        ] {
            assert!(!is_session_id(bad.as_bytes()), "{bad:?} accepted");
            assert_eq!(validate(bad).unwrap_err().status(), Status::InvalidSessionId);
        }
        assert!(!is_session_id(b"\xff\xfe"), "non-UTF-8 accepted");
    }
}
