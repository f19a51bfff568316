//! The prune entry points.

use super::*;

/// Deletes the sessions under `workspace_root` whose updated_at is at least
/// `older_than_hours` old (0 is allowed; NaN, negative and infinite are
/// WSPRUNE_STATUS_INVALID_ARGUMENT). With `dry_run`, deletes nothing and
/// reports what would go and the bytes that would be reclaimed. A missing
/// root gives an empty result. Leased sessions are skipped ("in_use"), as are
/// sessions without metadata ("missing_metadata"), with unparsable metadata
/// ("corrupted_metadata") or a bad timestamp ("corrupted_timestamp"). An
/// error on one session is recorded in the result and the prune carries on.
///
/// Returns a result owned by the caller (free with `wsprune_prune_result_free`),
/// or NULL with `*error` set (if `error` is not NULL) to an owned error. On
/// success `*error` is set to NULL. `workspace_root` is borrowed. Thread-safe:
/// concurrent prunes of one root take turns; one that waits more than 30 s
/// for another fails with WSPRUNE_STATUS_BUSY. Sessions are handled
/// concurrently by a default number of worker threads (see
/// `wsprune_prune_sessions_with_options` to choose); events are delivered on
/// the calling thread.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_sessions(
    workspace_root: *const c_char,
    older_than_hours: f64,
    dry_run: bool,
    error: *mut *mut wsprune_error,
) -> *mut wsprune_prune_result {
    let mut out = std::ptr::null_mut();
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let result = prune_sessions(root, &PruneOptions::older_than(older_than_hours, dry_run))?;
        out = Box::into_raw(Box::new(wrap_result(result)));
        Ok(())
    });
    report(error, r);
    out
}

/// Prunes the sessions under `workspace_root` that the rules in `*options`
/// select (see `wsprune_prune_options`), with `options->jobs` sessions
/// handled concurrently. Each deleted session records the rule that selected
/// it (`wsprune_prune_result_deleted_rule`). Concurrent prunes of one root
/// take turns (a dry run may run beside other dry runs); one that waits
/// longer than `options->lock_timeout_ms` fails with WSPRUNE_STATUS_BUSY.
/// Invalid options (NULL, a bad `struct_size`, NaN or negative hours) are
/// WSPRUNE_STATUS_INVALID_ARGUMENT. Otherwise as `wsprune_prune_sessions`.
///
/// Returns a result owned by the caller (free with `wsprune_prune_result_free`),
/// or NULL with `*error` set (if `error` is not NULL) to an owned error.
/// `workspace_root` and `options` are borrowed for the call. Thread-safe.
/// Events are delivered on the calling thread.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_sessions_with_options(
    workspace_root: *const c_char,
    options: *const wsprune_prune_options,
    error: *mut *mut wsprune_error,
) -> *mut wsprune_prune_result {
    let mut out = std::ptr::null_mut();
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let opts = read_prune_options(options)?;
        let result = prune_sessions(root, &opts)?;
        out = Box::into_raw(Box::new(wrap_result(result)));
        Ok(())
    });
    report(error, r);
    out
}
