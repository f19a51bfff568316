//! The `wsprune_lease` object: acquire and release.

use super::*;

/// A lease on a session: a shared lock on the session directory, held while
/// code runs in it. Owned by the caller; `wsprune_lease_release` releases and
/// frees it. Must not be used from two threads at once.
pub struct wsprune_lease {
    lease: Lease,
}

/// Takes a lease (a shared flock on the session directory) for as long as
/// code runs in the session; a prune skips a leased session as "in_use".
/// Leases are shared: several may be held on one session. Waits up to 2
/// seconds while a prune is deciding about the session, then gives
/// WSPRUNE_STATUS_BUSY; WSPRUNE_STATUS_NOT_FOUND if the session does not
/// exist (or was pruned meanwhile); WSPRUNE_STATUS_IO for a session
/// directory that is a mount point (refused).
///
/// On success `*out_lease` receives a lease owned by the caller, to be given
/// to `wsprune_lease_release` exactly once; on failure it is set to NULL.
/// `out_lease` must not be NULL. Strings are borrowed. Error ownership as for
/// `wsprune_session_create`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_acquire(
    workspace_root: *const c_char,
    session_id: *const c_char,
    out_lease: *mut *mut wsprune_lease,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    if !out_lease.is_null() {
        *out_lease = std::ptr::null_mut();
    }
    let r = guarded(|| {
        if out_lease.is_null() {
            return Err(Error::new(Status::InvalidArgument, "out_lease is NULL"));
        }
        let root = arg_root(workspace_root)?;
        let id = arg_str(session_id, "session_id")?;
        let lease = crate::session::acquire(root, id)?;
        *out_lease = Box::into_raw(Box::new(wsprune_lease { lease }));
        Ok(())
    });
    report(error, r)
}

/// Releases and frees a lease. If `touch` is true, first refreshes the
/// session's updated_at while the lease still protects it (the runtime's
/// "after successful execution" hook); legacy and corrupted metadata are OK
/// as for `wsprune_session_touch`. The lease is always released and freed,
/// even when the touch fails. Takes ownership of `lease`; NULL gives
/// WSPRUNE_STATUS_INVALID_ARGUMENT. Error ownership as for
/// `wsprune_session_create`. Must not race with another use of the same lease.
#[no_mangle]
pub unsafe extern "C" fn wsprune_lease_release(
    lease: *mut wsprune_lease,
    touch: bool,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    wsprune_lease_release_outcome(lease, touch, std::ptr::null_mut(), error)
}

/// `wsprune_lease_release`, also telling what the touch did: on
/// WSPRUNE_STATUS_OK, `*out_outcome` (if `out_outcome` is not NULL) is
/// WSPRUNE_TOUCH_UPDATED, WSPRUNE_TOUCH_LEGACY or WSPRUNE_TOUCH_CORRUPTED,
/// or WSPRUNE_TOUCH_NONE when `touch` is false; on an error it is left as it
/// was. Ownership (the lease is always released and freed), statuses and
/// error ownership as for `wsprune_lease_release`. Must not race with another
/// use of the same lease. Since 0.4.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_lease_release_outcome(
    lease: *mut wsprune_lease,
    touch: bool,
    out_outcome: *mut i32,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        if lease.is_null() {
            return Err(Error::new(Status::InvalidArgument, "lease is NULL"));
        }
        let lease = Box::from_raw(lease);
        let outcome = lease.lease.release(touch)?;
        if !out_outcome.is_null() {
            *out_outcome = super::session::touch_code(outcome.as_ref());
        }
        Ok(())
    });
    report(error, r)
}
