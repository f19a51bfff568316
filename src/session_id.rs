//! Session ids: the only names under the workspace root wsprune will act on.

use crate::error::{Error, Result, Status};

/// Whether `name` is a session id: a UUID in hyphenated (36 characters) or
/// simple (32 hex digits) form, any case. Braced and `urn:uuid:` forms are
/// refused because they are not plain directory names. Anything accepted here
/// consists of hex digits and hyphens only, so it can never contain `/`, `..`
/// or a NUL and cannot escape the workspace root.
pub fn is_session_id(name: &[u8]) -> bool {
    match name.len() {
        32 => name.iter().all(u8::is_ascii_hexdigit),
        36 => name.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        }),
        _ => false,
    }
}

/// Checks `id` with [`is_session_id`], giving [`Status::InvalidSessionId`] when it is not one.
pub fn validate(id: &str) -> Result<()> {
    if is_session_id(id.as_bytes()) {
        Ok(())
    } else {
        Err(Error::new(
            Status::InvalidSessionId,
            format!("invalid session id {id:?}: expected a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e"),
        ))
    }
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
        assert!(is_session_id(b"0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(is_session_id(b"0F8FAD5B-D9CB-469F-A165-70867728950E"));
        assert!(is_session_id(b"0f8fad5bd9cb469fa16570867728950e"));
        assert!(is_session_id(generate().as_bytes()));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "..",
            ".",
            "../0f8fad5b-d9cb-469f-a165-70867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950e/..",
            "0f8fad5b-d9cb-469f-a165-70867728950",
            "0f8fad5b-d9cb-469f-a165-70867728950e0",
            "0f8fad5b_d9cb_469f_a165_70867728950e",
            "{0f8fad5b-d9cb-469f-a165-70867728950e}",
            "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
            "0f8fad5bd9cb469fa16570867728950e/",
            "0f8fad5b-d9cb-469f-a165-7086772895\0e",
            "not-a-uuid",
        ] {
            assert!(!is_session_id(bad.as_bytes()), "{bad:?} accepted");
            assert_eq!(validate(bad).unwrap_err().status(), Status::InvalidSessionId);
        }
    }
}
