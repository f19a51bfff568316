//! Fuzzes session-id validation (`wsprune::session_id`), the check that
//! stands between a caller's string and a path under the workspace root.
//!
//! `is_session_id` and `validate` must accept exactly what two independent
//! oracles accept, a UUID written as 36 characters (8-4-4-4-12 hex digits with
//! hyphens) or as 32 hex digits, in any case; and anything accepted must be
//! a plain ASCII name without '/', '.' or NUL, so it can never leave the root.
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

fuzz_target!(|data: &[u8]| {
    let accepted = session_id::is_session_id(data);
    let oracle = groups_accept(data);
    assert_eq!(
        uuid_crate_accepts(data),
        oracle,
        "the two oracles disagree on {:?}",
        String::from_utf8_lossy(data)
    );
    assert_eq!(
        accepted,
        oracle,
        "is_session_id({:?}) = {accepted}, expected {oracle}",
        String::from_utf8_lossy(data)
    );

    if accepted {
        assert!(data.is_ascii());
        assert!(!data.contains(&b'/') && !data.contains(&b'.') && !data.contains(&0));
        assert!(data.len() == 32 || data.len() == 36);
    }

    // validate() on the same text, and on the lossy decoding of non-UTF-8 input
    // (whose replacement characters must never be accepted).
    let lossy = String::from_utf8_lossy(data);
    match session_id::validate(&lossy) {
        Ok(()) => assert!(accepted, "validate accepted {lossy:?} but is_session_id did not"),
        Err(e) => {
            assert!(!session_id::is_session_id(lossy.as_bytes()));
            assert_eq!(e.status(), Status::InvalidSessionId);
        }
    }
    if std::str::from_utf8(data).is_ok() {
        assert_eq!(session_id::validate(&lossy).is_ok(), accepted);
    }
});
