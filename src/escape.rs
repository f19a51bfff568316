//! The one way to print a guest-controlled string (a file name, a session
//! id, a process name): every character that could break a line, move the
//! cursor, recolour the terminal or hide itself is escaped, as `ls -b` and
//! systemd's `cescape` do, so that a guest can neither forge a line of the
//! tool's output nor look like something it is not. JSON output never goes
//! through here: serde's escaping keeps it exact.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` with backslash, C0 and C1 controls, DEL and invisible or
/// direction-changing characters (see [`is_invisible`]) escaped:
/// `\\`, `\n`, `\t`, `\r`, `\xNN` for the other C0 controls and DEL (ESC is
/// `\x1b`), `\u{NNNN}` for the rest. Printable text, non-ASCII letters
/// included, is left as it is; an unchanged string is not copied.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Like [`escape`] for bytes that may not be UTF-8 (a file name): each byte
/// of an invalid sequence is `\xNN`.
pub fn escape_bytes(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => escape(s),
        Err(_) => {
            let mut out = String::with_capacity(b.len() + 8);
            for chunk in b.utf8_chunks() {
                for c in chunk.valid().chars() {
                    push_escaped(&mut out, c);
                }
                for byte in chunk.invalid() {
                    let _ = write!(out, "\\x{byte:02x}");
                }
            }
            Cow::Owned(out)
        }
    }
}

/// `s` escaped and in double quotes, a `"` inside escaped too (`\"`): for a
/// structured field such as `comm="..."`, which then always ends where it seems to.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' {
            out.push_str("\\\"");
        } else {
            push_escaped(&mut out, c);
        }
    }
    out.push('"');
    out
}

fn needs_escape(c: char) -> bool {
    c == '\\' || c.is_control() || is_invisible(c)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x20 || c == '\x7f' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if c.is_control() || is_invisible(c) => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Characters that print as nothing or change how the text around them is
/// shown: Unicode format characters (category Cf: bidi controls such as
/// U+202E, zero-width characters such as U+200B, U+00AD soft hyphen, tag
/// characters), the line and paragraph separators (Zl, Zp, which some
/// terminals and log viewers break lines at) and the Hangul fillers and
/// U+3164, which render as blank. `alice` followed by U+200B must never
/// print as `alice`.
pub fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD
        | 0x0600..=0x0605
        | 0x061C
        | 0x06DD
        | 0x070F
        | 0x0890..=0x0891
        | 0x08E2
        | 0x115F..=0x1160
        | 0x180E
        | 0x200B..=0x200F
        | 0x2028..=0x202E
        | 0x2060..=0x2064
        | 0x2066..=0x206F
        | 0x3164
        | 0xFEFF
        | 0xFFA0
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_is_unchanged_and_not_copied() {
        for s in [
            "alice",
            "11111111-1111-4111-8111-111111111111",
            "café 日本 ✓",
            "a b.c-d_e",
        ] {
            assert!(matches!(escape(s), Cow::Borrowed(x) if x == s));
        }
    }

    #[test]
    fn controls_escape_and_newlines_cannot_break_a_line() {
        assert_eq!(
            escape("x\n<fake deleted>\r\t\x1b[8m\x07\x7f"),
            "x\\n<fake deleted>\\r\\t\\x1b[8m\\x07\\x7f"
        );
        assert_eq!(escape("a\\x1b"), "a\\\\x1b"); // a literal backslash is told from an escape
        assert_eq!(escape("\u{85}\u{9b}31m"), "\\u{0085}\\u{009b}31m"); // C1: NEL, CSI
    }

    #[test]
    fn invisible_and_direction_changing_characters_escape() {
        assert_eq!(escape("alice\u{200b}"), "alice\\u{200b}");
        assert_eq!(escape("\u{202e}gnp.exe"), "\\u{202e}gnp.exe");
        for c in ['\u{2028}', '\u{2029}', '\u{00ad}', '\u{2066}', '\u{feff}', '\u{e0041}'] {
            let e = escape(&c.to_string()).into_owned();
            assert!(e.starts_with("\\u{") && e.is_ascii(), "{c:?} -> {e}");
        }
    }

    #[test]
    fn every_escaped_string_is_one_printable_line() {
        let all: String = (0u32..0x11_0000).filter_map(char::from_u32).collect();
        let e = escape(&all);
        assert!(!e.chars().any(|c| c.is_control() || is_invisible(c)));
    }

    #[test]
    fn bytes_that_are_not_utf8_escape_per_byte() {
        assert_eq!(escape_bytes(b"a\xff\xfeb\n"), "a\\xff\\xfeb\\n");
        assert_eq!(escape_bytes(b"ok"), "ok");
    }

    #[test]
    fn quoted_fields_end_where_they_seem_to() {
        assert_eq!(quoted("wsprune, uid 0)"), "\"wsprune, uid 0)\"");
        assert_eq!(quoted("a\" uid=0 x=\"\n"), "\"a\\\" uid=0 x=\\\"\\n\"");
    }
}
