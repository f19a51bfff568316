//! Changing a session's labels (`wsprune_session_set_labels`).

use super::*;

/// Applies `changes_count` label changes to session `session_id`, in order:
/// each a NUL-terminated UTF-8 string, "key=value" (set, replacing) or
/// "key-" (remove; an absent key is fine), as `kubectl label` takes them
/// (docs/contract.md, "Labels"). Checked as a whole first: a bad key or
/// value, or a change leaving more than 32 labels, is
/// WSPRUNE_STATUS_INVALID_ARGUMENT naming the key, and nothing is changed.
/// The labels live in the session's host-owned record: an unregistered
/// directory (wsprune 0.3, the reference implementation) is
/// WSPRUNE_STATUS_INVALID_ARGUMENT (`wsprune_migrate_sessions` or an open
/// registers it); a missing session WSPRUNE_STATUS_NOT_FOUND; one being
/// deleted WSPRUNE_STATUS_BUSY or NOT_FOUND. The change holds a lease on the
/// session while it writes, so a prune sees the labels before or after it,
/// never half. When `out_json` is not NULL, on success `*out_json` receives
/// the session's labels as a JSON object owned by the caller (free with
/// `wsprune_string_free`; NULL on failure). Strings are borrowed; error
/// ownership as for `wsprune_session_create`. Emits "session.labels.set".
/// Thread-safe. Since 0.4.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_set_labels(
    workspace_root: *const c_char,
    session_id: *const c_char,
    changes: *const *const c_char,
    changes_count: usize,
    out_json: *mut *mut c_char,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    if !out_json.is_null() {
        *out_json = std::ptr::null_mut();
    }
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let id = arg_str(session_id, "session_id")?;
        let changes = arg_str_array(changes, changes_count, "changes")?
            .iter()
            .map(|c| crate::labels::LabelChange::parse(c))
            .collect::<Result<Vec<_>>>()?;
        let labels = crate::session_labels::set_session_labels(root, id, &changes)?;
        if !out_json.is_null() {
            *out_json = c_string(serde_json::to_string(&labels).expect("a map of strings serializes")).into_raw();
        }
        Ok(())
    });
    report(error, r)
}
