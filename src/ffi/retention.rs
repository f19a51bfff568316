//! Pins and per-session TTLs: `wsprune_session_pin`, `wsprune_session_unpin`,
//! `wsprune_session_set_ttl` (docs/contract.md, "Pins" and "Per-session TTL").

use super::*;
use crate::retention::{pin_session, set_session_ttl, unpin_session, Ttl};

/// Pins session `session_id`: no prune rule (age, capacity, TTL) deletes it
/// while the pin holds (a prune reports it skipped, reason "pinned"), and
/// `wsprune_session_delete_with_flags` deletes it only with
/// `WSPRUNE_FLAG_FORCE`. `until_us` (microseconds since the Unix epoch) ends
/// the pin then, and must be later than now; 0 pins until
/// `wsprune_session_unpin`. Pinning a pinned session replaces its end. The
/// pin is kept in the session's record in the host directory, never in
/// `.metadata.json`. A missing session is WSPRUNE_STATUS_NOT_FOUND; one
/// being deleted WSPRUNE_STATUS_BUSY (after up to 2 s) or NOT_FOUND; an
/// unregistered directory (wsprune 0.3, reference implementation: run
/// `wsprune migrate`) or a passed `until_us` WSPRUNE_STATUS_INVALID_ARGUMENT;
/// an unusable record WSPRUNE_STATUS_IO. Event "session.pinned". Strings are
/// borrowed; error ownership as for `wsprune_session_create`. Thread-safe.
/// Since 0.4.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_pin(
    workspace_root: *const c_char,
    session_id: *const c_char,
    until_us: i64,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let id = arg_str(session_id, "session_id")?;
        pin_session(root, id, time_from_us(until_us, "until_us")?)
    });
    report(error, r)
}

/// Removes session `session_id`'s pin (an unpinned session is
/// WSPRUNE_STATUS_OK). Statuses as `wsprune_session_pin`. Event
/// "session.unpinned". Strings are borrowed; error ownership as for
/// `wsprune_session_create`. Thread-safe. Since 0.4.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_unpin(
    workspace_root: *const c_char,
    session_id: *const c_char,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let id = arg_str(session_id, "session_id")?;
        unpin_session(root, id)
    });
    report(error, r)
}

/// Sets session `session_id`'s own TTL, replacing what it had: a prune
/// deletes the session once it has been idle `idle_ttl_seconds` (0: no idle
/// TTL; at most 100 years) or once `expires_at_us` (microseconds since the
/// Unix epoch; 0: none) has passed, whichever comes first, whatever its age
/// rule says; never while it is leased or pinned. Both 0 removes the TTL.
/// Statuses as `wsprune_session_pin` (a bad value is
/// WSPRUNE_STATUS_INVALID_ARGUMENT). Event "session.ttl.set". Strings are
/// borrowed; error ownership as for `wsprune_session_create`. Thread-safe.
/// Since 0.4.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_set_ttl(
    workspace_root: *const c_char,
    session_id: *const c_char,
    idle_ttl_seconds: u64,
    expires_at_us: i64,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let id = arg_str(session_id, "session_id")?;
        let ttl = Ttl {
            idle: (idle_ttl_seconds != 0).then(|| std::time::Duration::from_secs(idle_ttl_seconds)),
            expires_at: time_from_us(expires_at_us, "expires_at_us")?,
        };
        set_session_ttl(root, id, &ttl)
    });
    report(error, r)
}
