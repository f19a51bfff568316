//! Fuzzes session-id validation (`wsprune::session_id`), the check that
//! stands between a caller's string and a path under the workspace root.
//!
//! `is_uuid` must accept exactly what two independent oracles accept, a UUID
//! written as 36 characters (8-4-4-4-12 hex digits with hyphens) or as 32 hex
//! digits, in any case, and `canonical` must give its lowercase hyphenated
//! spelling. `is_session_id` and `validate` must accept exactly the UUIDs and
//! the custom ids an independent oracle accepts (one normal path component of
//! 1 to 255 bytes of UTF-8, no control character, not hidden, not
//! `site-packages`): a name that can never leave the root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsprune::session_id;
use wsprune::Status;

/// Oracle 1: the uuid crate's parser, restricted to the two plain forms
/// (it also takes braced and `urn:uuid:` forms, which are 38 and 45 long).
fn uuid_crate_accepts(b: &[u8]) -> bool {
    matches!(b.len(), 32 | 36) && uuid::Uuid::try_parse_ascii(b).is_ok()
}

/// Oracle 2: split on '-' and check the group lengths.
fn groups_accept(b: &[u8]) -> bool {
    let hex = |g: &[u8]| g.iter().all(|c| c.is_ascii_hexdigit());
    let groups: Vec<&[u8]> = b.split(|&c| c == b'-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    (lens == [8, 4, 4, 4, 12] || lens == [32]) && groups.iter().all(|g| hex(g))
}

/// Oracle 3 (custom ids): the standard library's path parsing sees exactly
/// one normal component, the name itself.
fn custom_accepts(b: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(b) else { return false };
    let mut comps = std::path::Path::new(s).components();
    let one = matches!(comps.next(), Some(std::path::Component::Normal(c)) if c == s) && comps.next().is_none();
    // Invisible and line-breaking characters (format characters, separators,
    // noncharacters) are refused too: the list is the library's own.
    one && s.len() <= 255
        && !s.starts_with('.')
        && s != "site-packages"
        && !s.chars().any(char::is_control)
        && !s.chars().any(session_id::is_invisible)
}

fuzz_target!(|data: &[u8]| {
    let uuid = session_id::is_uuid(data);
    let oracle = groups_accept(data);
    assert_eq!(
        uuid_crate_accepts(data),
        oracle,
        "the two oracles disagree on {:?}",
        String::from_utf8_lossy(data)
    );
    assert_eq!(
        uuid,
        oracle,
        "is_uuid({:?}) = {uuid}, expected {oracle}",
        String::from_utf8_lossy(data)
    );
    if uuid {
        assert!(data.is_ascii());
        assert!(!data.contains(&b'/') && !data.contains(&b'.') && !data.contains(&0));
        let text = std::str::from_utf8(data).unwrap();
        let canon = session_id::canonical(text).expect("a UUID has a canonical spelling");
        assert_eq!(canon, uuid::Uuid::try_parse(text).unwrap().hyphenated().to_string());
        assert_eq!(session_id::candidates(text)[0], canon);
    }

    let accepted = session_id::is_session_id(data);
    assert_eq!(
        accepted,
        uuid || custom_accepts(data),
        "is_session_id({:?}) = {accepted}",
        String::from_utf8_lossy(data)
    );
    if accepted {
        assert!(!data.contains(&b'/') && !data.contains(&0) && !data.is_empty() && data.len() <= 255);
        assert!(data != b"." && data != b".." && !data.starts_with(b".wsprune-trash."));
    }

    // validate() agrees with is_session_id on the text; bytes that are not
    // UTF-8 are never a session id (their lossy decoding may be one: a
    // replacement character is a printable character).
    let lossy = String::from_utf8_lossy(data);
    match session_id::validate(&lossy) {
        Ok(()) => assert!(session_id::is_session_id(lossy.as_bytes())),
        Err(e) => {
            assert!(!session_id::is_session_id(lossy.as_bytes()));
            assert_eq!(e.status(), Status::InvalidSessionId);
        }
    }
    if std::str::from_utf8(data).is_ok() {
        assert_eq!(session_id::validate(&lossy).is_ok(), accepted);
    } else {
        assert!(!accepted, "bytes that are not UTF-8 accepted");
    }
});
