//! The `wsprune_prune_result` object and its accessors.

use super::*;

/// The result of a prune. Owned by the caller; free it with
/// `wsprune_prune_result_free`. Immutable: any number of threads may read it
/// at once. Strings returned by its accessors are owned by it and live until
/// it is freed.
pub struct wsprune_prune_result {
    result: PruneResult,
    deleted: Vec<CString>,
    skipped_ids: Vec<CString>,
    skipped_reasons: Vec<CString>,
    error_ids: Vec<CString>,
    error_messages: Vec<CString>,
    interrupted: Vec<CString>,
    summary: CString,
}

pub(crate) fn wrap_result(result: PruneResult) -> wsprune_prune_result {
    let deleted = result.deleted_sessions.iter().map(|s| c_string(s.as_str())).collect();
    let skipped_ids = result
        .skipped_sessions
        .iter()
        .map(|s| c_string(s.session_id.as_str()))
        .collect();
    let skipped_reasons = result
        .skipped_sessions
        .iter()
        .map(|s| c_string(s.reason.as_str()))
        .collect();
    let error_ids = result.errors.iter().map(|(id, _)| c_string(id.as_str())).collect();
    let error_messages = result.errors.iter().map(|(_, m)| c_string(m.as_str())).collect();
    let interrupted = result.interrupted.iter().map(|s| c_string(s.as_str())).collect();
    let summary = c_string(result.summary());
    wsprune_prune_result {
        interrupted,
        result,
        deleted,
        skipped_ids,
        skipped_reasons,
        error_ids,
        error_messages,
        summary,
    }
}

/// Runs an accessor on a result that may be NULL, with a panic boundary.
pub(crate) unsafe fn with_result<T>(
    r: *const wsprune_prune_result,
    default: T,
    f: impl FnOnce(&wsprune_prune_result) -> T,
) -> T {
    if r.is_null() {
        return default;
    }
    let r = &*r;
    super::caught(|| f(r)).unwrap_or(default)
}

pub(crate) unsafe fn nth(v: &[CString], i: usize) -> *const c_char {
    v.get(i).map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Number of deleted (or, in a dry run, would-be-deleted) sessions; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_deleted_count(r: *const wsprune_prune_result) -> usize {
    with_result(r, 0, |r| r.deleted.len())
}

/// The i-th deleted session id; NULL if `r` is NULL or `i` is out of range.
/// Owned by `r`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_deleted_id(r: *const wsprune_prune_result, i: usize) -> *const c_char {
    with_result(r, std::ptr::null(), |r| nth(&r.deleted, i))
}

/// Number of skipped sessions; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_skipped_count(r: *const wsprune_prune_result) -> usize {
    with_result(r, 0, |r| r.skipped_ids.len())
}

/// The i-th skipped session id; NULL if `r` is NULL or `i` is out of range.
/// Owned by `r`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_skipped_id(r: *const wsprune_prune_result, i: usize) -> *const c_char {
    with_result(r, std::ptr::null(), |r| nth(&r.skipped_ids, i))
}

/// Why the i-th skipped session stayed: "missing_metadata",
/// "corrupted_metadata", "corrupted_timestamp", "in_use" or "pinned" (since
/// 0.4.0; a caller should expect reasons it does not know); NULL if `r` is
/// NULL or `i` is out of range. Owned by `r`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_skipped_reason(
    r: *const wsprune_prune_result,
    i: usize,
) -> *const c_char {
    with_result(r, std::ptr::null(), |r| nth(&r.skipped_reasons, i))
}

/// Number of sessions that failed; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_error_count(r: *const wsprune_prune_result) -> usize {
    with_result(r, 0, |r| r.error_ids.len())
}

/// The i-th failed session id; NULL if `r` is NULL or `i` is out of range.
/// Owned by `r`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_error_id(r: *const wsprune_prune_result, i: usize) -> *const c_char {
    with_result(r, std::ptr::null(), |r| nth(&r.error_ids, i))
}

/// The i-th failure's message; NULL if `r` is NULL or `i` is out of range.
/// Owned by `r`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_error_message(r: *const wsprune_prune_result, i: usize) -> *const c_char {
    with_result(r, std::ptr::null(), |r| nth(&r.error_messages, i))
}

/// Number of leftover trash directories (left by an interrupted deletion)
/// this prune finished (or, in a dry run, would finish); 0 for NULL. They are
/// never counted as deleted sessions: a live session of the same id may
/// exist again. Their bytes are in `wsprune_prune_result_reclaimed_bytes`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_interrupted_count(r: *const wsprune_prune_result) -> usize {
    with_result(r, 0, |r| r.interrupted.len())
}

/// The i-th finished trash directory's name (".wsprune-trash...."); NULL if
/// `r` is NULL or `i` is out of range. Owned by `r`. A failure to finish one
/// is among the errors, keyed by this name, and so is leftover trash that
/// another process holds locked (left in place; since 0.3.0).
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_interrupted_name(
    r: *const wsprune_prune_result,
    i: usize,
) -> *const c_char {
    with_result(r, std::ptr::null(), |r| nth(&r.interrupted, i))
}

/// Bytes reclaimed (or that would be, in a dry run): the sizes of the files
/// removed, symlinks counting themselves; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_reclaimed_bytes(r: *const wsprune_prune_result) -> u64 {
    with_result(r, 0, |r| r.result.reclaimed_bytes)
}

/// Whether the result is from a dry run; false for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_dry_run(r: *const wsprune_prune_result) -> bool {
    with_result(r, false, |r| r.result.dry_run)
}

/// The human summary, e.g. "Pruned 2 sessions (1 skipped, 1 error), reclaimed
/// 1.4 MB" ("Would prune ..., would reclaim ..." for a dry run), followed by
/// "; target not reached: min_free_bytes" when a capacity target was not
/// reached; NULL for a NULL `r`. Owned by `r`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_summary(r: *const wsprune_prune_result) -> *const c_char {
    with_result(r, std::ptr::null(), |r| r.summary.as_ptr())
}

/// The result as a JSON object with the fields deleted_sessions,
/// deleted_rules (id to rule), skipped_sessions, skipped_reasons (id to
/// reason), reclaimed_bytes, errors (id, or trash directory name, to
/// message), interrupted (finished trash directory names; since 0.3.0),
/// dry_run and unmet_targets (rule names; since 0.3.0). Returns a new string owned by the caller, to
/// free with `wsprune_string_free`; NULL for a NULL `r`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_to_json(r: *const wsprune_prune_result) -> *mut c_char {
    with_result(r, std::ptr::null_mut(), |r| {
        c_string(r.result.to_json().to_string()).into_raw()
    })
}

/// Frees a prune result and every string it owns. NULL is a no-op. Takes
/// ownership of `r`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_free(r: *mut wsprune_prune_result) {
    if !r.is_null() {
        let _ = super::caught(|| drop(Box::from_raw(r)));
    }
}

/// The rule that selected the i-th deleted session: "older_than",
/// "max_total_bytes", "max_sessions", "min_free_bytes", or (since 0.4.0)
/// "watermark", "inode_watermark", "max_sessions_per_owner",
/// "max_bytes_per_owner" or "ttl" (the session's own TTL). ("interrupted" is
/// no longer produced since 0.3.0: finished trash is reported by
/// `wsprune_prune_result_interrupted_name`, never as a deleted session.) NULL if `r` is NULL or `i` is
/// out of range. Static string: never free it.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_deleted_rule(r: *const wsprune_prune_result, i: usize) -> *const c_char {
    with_result(r, std::ptr::null(), |r| {
        r.result
            .deleted_rules
            .get(i)
            .map_or(std::ptr::null(), |rule| rule_name(*rule).as_ptr())
    })
}

/// Number of capacity targets (`max_total_bytes`, `max_sessions`,
/// `min_free_bytes`, and since 0.4.0 a crossed `watermark` or `inode_watermark`) the prune could not reach: every evictable session went
/// (or `max_deletions` stopped it) and the rule is still not satisfied; in a
/// dry run, projected. 0 when every target was met, and for NULL. Since 0.3.0.
/// Thread-safe: `r` is only read.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_unmet_target_count(r: *const wsprune_prune_result) -> usize {
    with_result(r, 0, |r| r.result.unmet_targets.len())
}

/// The i-th unmet capacity target, by rule name: "max_total_bytes",
/// "max_sessions", "min_free_bytes", or (since 0.4.0) "watermark" or
/// "inode_watermark" (in that order). NULL if `r` is NULL or
/// `i` is out of range. Static string: never free it; it outlives `r`.
/// Since 0.3.0. Thread-safe: `r` is only read.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_unmet_target(r: *const wsprune_prune_result, i: usize) -> *const c_char {
    with_result(r, std::ptr::null(), |r| {
        r.result
            .unmet_targets
            .get(i)
            .map_or(std::ptr::null(), |rule| rule_name(*rule).as_ptr())
    })
}

pub(crate) fn rule_name(rule: Rule) -> &'static CStr {
    match rule {
        Rule::OlderThan => c"older_than",
        Rule::MaxTotalBytes => c"max_total_bytes",
        Rule::MaxSessions => c"max_sessions",
        Rule::MinFreeBytes => c"min_free_bytes",
        Rule::Interrupted => c"interrupted",
        Rule::Watermark => c"watermark",
        Rule::InodeWatermark => c"inode_watermark",
        Rule::MaxSessionsPerOwner => c"max_sessions_per_owner",
        Rule::MaxBytesPerOwner => c"max_bytes_per_owner",
        Rule::Ttl => c"ttl",
    }
}

/// Bytes the i-th deleted session freed (or, in a dry run, would free), as
/// counted into `wsprune_prune_result_reclaimed_bytes`; 0 if `r` is NULL or
/// `i` is out of range (compare `i` with `wsprune_prune_result_deleted_count`).
/// Since 0.4.0. Thread-safe: `r` is only read.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_deleted_bytes(r: *const wsprune_prune_result, i: usize) -> u64 {
    with_result(r, 0, |r| r.result.deleted_bytes.get(i).copied().unwrap_or(0))
}

/// Hours since the i-th deleted session was last used (its idle age when
/// the prune decided); NaN if `r` is NULL or `i` is out of range. Since
/// 0.4.0. Thread-safe: `r` is only read.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_deleted_age_hours(r: *const wsprune_prune_result, i: usize) -> f64 {
    with_result(r, f64::NAN, |r| {
        r.result.deleted_age_hours.get(i).copied().unwrap_or(f64::NAN)
    })
}

/// Bytes the i-th finished trash directory freed (or would free); 0 if `r`
/// is NULL or `i` is out of range (see `wsprune_prune_result_interrupted_count`).
/// Since 0.4.0. Thread-safe: `r` is only read.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_interrupted_bytes(r: *const wsprune_prune_result, i: usize) -> u64 {
    with_result(r, 0, |r| r.result.interrupted_bytes.get(i).copied().unwrap_or(0))
}

/// What the i-th unmet capacity target asked for: bytes for
/// "max_total_bytes" and "min_free_bytes", a session count for
/// "max_sessions" (the option's value); 0 if `r` is NULL or `i` is out of
/// range (see `wsprune_prune_result_unmet_target_count`). Since 0.4.0.
/// Thread-safe: `r` is only read.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_unmet_target_value(r: *const wsprune_prune_result, i: usize) -> u64 {
    with_result(r, 0, |r| r.result.unmet.get(i).map_or(0, |u| u.target))
}

/// What there was of the i-th unmet capacity target when the prune ended
/// (projected, in a dry run): the sessions' total bytes, their count, or
/// the filesystem's free bytes; 0 if `r` is NULL or `i` is out of range.
/// Since 0.4.0. Thread-safe: `r` is only read.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_unmet_actual(r: *const wsprune_prune_result, i: usize) -> u64 {
    with_result(r, 0, |r| r.result.unmet.get(i).map_or(0, |u| u.actual))
}
