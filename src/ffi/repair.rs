//! Repair of sessions without usable metadata.

use super::*;

/// Repair (explicit, never implicit): writes metadata for every session
/// under `workspace_root` that has none or has corrupted metadata, dated by
/// the newest modification time found in the session. Leased sessions are
/// left alone and listed as errors. With `dry_run`, writes nothing and
/// reports what it would do. On success, `*out_repaired` (if not NULL)
/// receives the number of sessions repaired, and `*out_json` (if not NULL) a
/// JSON object `{"repaired": [{"session_id", "previous_state", "updated_at"}],
/// "errors": {id: message}, "dry_run": bool}` owned by the caller (free with
/// `wsprune_string_free`). A missing root is WSPRUNE_STATUS_NOT_FOUND.
/// Strings are borrowed; error ownership as for `wsprune_session_create`.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_repair_sessions(
    workspace_root: *const c_char,
    dry_run: bool,
    out_repaired: *mut usize,
    out_json: *mut *mut c_char,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    if !out_json.is_null() {
        *out_json = std::ptr::null_mut();
    }
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let result = repair_sessions(root, dry_run)?;
        if !out_repaired.is_null() {
            *out_repaired = result.repaired.len();
        }
        if !out_json.is_null() {
            *out_json = c_string(result.to_json().to_string()).into_raw();
        }
        Ok(())
    });
    report(error, r)
}
