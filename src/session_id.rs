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
/// no `/`, no NUL or other control character, no invisible or
/// line-breaking character ([`is_invisible`]), not `.` or `..`, not
/// starting with `.` (so never hidden and never our trash prefix), and not
/// [`RESERVED`]. Such a name is one path component inside the root: it
/// cannot traverse anywhere, and it prints as what it is.
pub fn is_custom_id(name: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(name) else { return false };
    !s.is_empty()
        && s.len() <= MAX_LEN
        && !s.starts_with('.')
        && s != RESERVED
        && !s.contains('/')
        && !s.chars().any(|c| c.is_control() || is_invisible(c))
}

/// Code points that show nothing, or break a line, where an id is printed:
/// Unicode's format characters (general category Cf: bidi controls such as
/// U+202E, U+200B zero width space, U+FEFF, U+00AD soft hyphen, tags), the
/// line and paragraph separators (Zl U+2028, Zp U+2029) and the rest of the
/// Default_Ignorable_Code_Point property (variation selectors, Hangul
/// fillers, the combining grapheme joiner, and the ranges Unicode reserves
/// for future ignorables), from Unicode 15.1. Sorted, disjoint, inclusive.
const INVISIBLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// Whether `c` may not appear in a custom id although it is no control
/// character: one of [`INVISIBLE`], or a noncharacter (U+FDD0..U+FDEF and
/// the last two code points of every plane), which has no meaning to print.
pub fn is_invisible(c: char) -> bool {
    let c = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&c)
        || c & 0xFFFE == 0xFFFE
        || INVISIBLE
            .binary_search_by(|&(lo, hi)| {
                if hi < c {
                    std::cmp::Ordering::Less
                } else if lo > c {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
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
            // Visible letters and marks stay ids, NFC or not (see docs/contract.md).
            "caf\u{E9}",
            "cafe\u{301}",
            "heart\u{2764}",
            "\u{1F600}",
            "nbsp\u{A0}ok",
            "ideographic\u{3000}space",
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
            // Invisible or line-breaking: they would print as another id.
            "alice\u{200B}",
            "evil\u{202E}txt.exe",
            "line\u{2028}sep",
            "para\u{2029}sep",
            "soft\u{AD}hyphen",
            "\u{FEFF}bom",
            "lrm\u{200E}",
            "isolate\u{2066}x\u{2069}",
            "word\u{2060}joiner",
            "heart\u{2764}\u{FE0F}",
            "hangul\u{3164}filler",
            "tag\u{E0041}",
            "cgj\u{34F}",
            "arabic\u{600}mark",
            "nonchar\u{FFFF}",
            "nonchar\u{FDD0}",
            "plane\u{1FFFE}",
            &long,
        ] {
            assert!(!is_session_id(bad.as_bytes()), "{bad:?} accepted");
            assert_eq!(validate(bad).unwrap_err().status(), Status::InvalidSessionId);
        }
        assert!(!is_session_id(b"\xff\xfe"), "non-UTF-8 accepted");
        // Lone surrogates are not UTF-8 (a binding's WTF-8 or CESU-8 bytes).
        assert!(!is_session_id(b"t\xed\xa0\x80"), "a lone surrogate accepted");
    }

    #[test]
    fn invisible_table_is_sorted_and_disjoint() {
        for w in INVISIBLE.windows(2) {
            assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{w:x?}");
        }
        // Every format character and separator below U+10000 Unicode 15.1 has.
        for c in [
            0xAD, 0x200B, 0x200F, 0x202A, 0x202E, 0x2028, 0x2029, 0x2066, 0x2069, 0xFEFF, 0xFFF9, 0x180E,
        ] {
            assert!(is_invisible(char::from_u32(c).unwrap()), "{c:x}");
        }
        for c in [
            'a',
            ' ',
            '\u{A0}',
            '\u{E9}',
            '\u{301}',
            '\u{2764}',
            '\u{1F600}',
            '\u{FFFD}',
        ] {
            assert!(!is_invisible(c), "{c:?}");
        }
    }
}
