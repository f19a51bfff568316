//! Registering the sessions older writers left (`wsprune migrate`).

use super::*;

/// Registers every unregistered session under `workspace_root` (made by the
/// reference implementation or by wsprune 0.3): one with valid
/// `.metadata.json` keeps its times (that metadata is trusted this once), a
/// UUID directory without metadata is dated now; one with corrupted metadata
/// or whose directory is locked is skipped and listed. With `dry_run`,
/// writes nothing and reports what it would do. Runs under the workspace
/// lock (WSPRUNE_STATUS_BUSY while a prune holds it). On success
/// `*out_json` receives a JSON object owned by the caller (free with
/// `wsprune_string_free`): `{"registered": [{"session_id", "had_metadata",
/// "updated_at"}], "skipped": {id: reason}, "dry_run": bool}`, the form of
/// `wsprune migrate --json`. A missing root is WSPRUNE_STATUS_NOT_FOUND.
/// `out_json` must not be NULL; it is set to NULL on failure. Strings are borrowed; error ownership as for
/// `wsprune_session_create`. Thread-safe. Since 0.4.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_migrate_sessions(
    workspace_root: *const c_char,
    dry_run: bool,
    out_json: *mut *mut c_char,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    if !out_json.is_null() {
        *out_json = std::ptr::null_mut();
    }
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        json_out(out_json, || {
            Ok(crate::migrate::migrate_sessions(root, dry_run)?.to_json())
        })
    });
    report(error, r)
}
