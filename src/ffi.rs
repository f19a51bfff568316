//! The C ABI: a thin layer over the Rust API.
//!
//! Every exported function catches panics (giving `WSPRUNE_STATUS_PANIC` or
//! NULL), checks every pointer, and states in its doc comment (copied into
//! `include/wsprune.h` by cbindgen) what it owns, what it borrows and its
//! thread-safety. Errors are returned as owned `wsprune_error` objects, never
//! through thread-local state.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // the safety contract of each function is its doc comment

use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result, Status};
use crate::events::{self, Event, Level};
use crate::inspect::{session_info, SessionState};
use crate::policy::{PruneOptions, Rule};
use crate::prune::{delete_session, prune_sessions};
use crate::repair::repair_sessions;
use crate::result::PruneResult;
use crate::session::{self, Lease};

/// Status of a wsprune call. The numeric values are stable: they are part
/// of the ABI and will never be renumbered.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum wsprune_status {
    /// Success.
    WSPRUNE_STATUS_OK = 0,
    /// A NULL pointer where one is not allowed, a string that is not UTF-8,
    /// an empty workspace root, a NaN, negative or infinite number of hours,
    /// or an output buffer that is too small.
    WSPRUNE_STATUS_INVALID_ARGUMENT = 1,
    /// The session id is not a UUID. Every path-traversal attempt lands here.
    WSPRUNE_STATUS_INVALID_SESSION_ID = 2,
    /// The session (or, for touch and acquire, the workspace root) does not exist.
    WSPRUNE_STATUS_NOT_FOUND = 3,
    /// A session with that id already exists.
    WSPRUNE_STATUS_ALREADY_EXISTS = 4,
    /// The session is locked exclusively by a prune that is deleting it.
    WSPRUNE_STATUS_BUSY = 5,
    /// An operating-system error; the message names the operation and errno text.
    WSPRUNE_STATUS_IO = 6,
    /// A panic inside wsprune was caught at the boundary (a bug: please report it).
    WSPRUNE_STATUS_PANIC = 7,
}

impl From<Status> for wsprune_status {
    fn from(s: Status) -> Self {
        use wsprune_status::*;
        match s {
            Status::Ok => WSPRUNE_STATUS_OK,
            Status::InvalidArgument => WSPRUNE_STATUS_INVALID_ARGUMENT,
            Status::InvalidSessionId => WSPRUNE_STATUS_INVALID_SESSION_ID,
            Status::NotFound => WSPRUNE_STATUS_NOT_FOUND,
            Status::AlreadyExists => WSPRUNE_STATUS_ALREADY_EXISTS,
            Status::Busy => WSPRUNE_STATUS_BUSY,
            Status::Io => WSPRUNE_STATUS_IO,
            Status::Panic => WSPRUNE_STATUS_PANIC,
        }
    }
}

/// Severity of an event passed to a `wsprune_log_fn`. Stable numbering.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum wsprune_level {
    /// Per-operation detail: session.metadata.updated, session.prune.candidate.
    WSPRUNE_LEVEL_DEBUG = 0,
    /// Normal progress: creations, deletions, skips, prune start and end.
    WSPRUNE_LEVEL_INFO = 1,
    /// The operation carried on despite a problem (corrupted metadata, a metadata write failure).
    WSPRUNE_LEVEL_WARNING = 2,
    /// A session could not be handled (session.prune.error).
    WSPRUNE_LEVEL_ERROR = 3,
}

impl From<Level> for wsprune_level {
    fn from(l: Level) -> Self {
        match l {
            Level::Debug => wsprune_level::WSPRUNE_LEVEL_DEBUG,
            Level::Info => wsprune_level::WSPRUNE_LEVEL_INFO,
            Level::Warning => wsprune_level::WSPRUNE_LEVEL_WARNING,
            Level::Error => wsprune_level::WSPRUNE_LEVEL_ERROR,
        }
    }
}

/// An error: a status and a message. Owned by the caller once returned
/// through a `wsprune_error **` argument; free it with `wsprune_error_free`.
/// Immutable, so it may be read from any thread.
pub struct wsprune_error {
    status: wsprune_status,
    message: CString,
}

/// A lease on a session: a shared lock on the session directory, held while
/// code runs in it. Owned by the caller; `wsprune_lease_release` releases and
/// frees it. Must not be used from two threads at once.
pub struct wsprune_lease {
    lease: Lease,
}

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
    summary: CString,
}

/// Receives structured events. `user_data` is the pointer given to
/// `wsprune_set_log_callback`; `event` is the event name (e.g.
/// "session.prune.deleted") and `fields_json` a JSON object of its fields.
/// Both strings are borrowed for the duration of the call only. The callback
/// runs synchronously on the thread performing the operation, possibly on
/// several threads at once, so it must be thread-safe; it must not unwind
/// (throw a C++ exception or longjmp) out of the call. It may call any
/// wsprune function, including wsprune_set_log_callback.
pub type wsprune_log_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: wsprune_level,
        event: *const c_char,
        fields_json: *const c_char,
    ),
>;

/// A C string for text that may contain NUL (error messages built from file names).
fn c_string(s: impl Into<Vec<u8>>) -> CString {
    let mut v: Vec<u8> = s.into();
    v.retain(|&b| b != 0);
    CString::new(v).expect("NULs removed")
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error (panic) in wsprune: {what}")
}

/// Stores the outcome into `*error` (when `error` is not NULL) and returns its status.
unsafe fn report(error: *mut *mut wsprune_error, r: Result<()>) -> wsprune_status {
    match r {
        Ok(()) => {
            if !error.is_null() {
                *error = std::ptr::null_mut();
            }
            wsprune_status::WSPRUNE_STATUS_OK
        }
        Err(e) => {
            let status = wsprune_status::from(e.status());
            if !error.is_null() {
                *error = Box::into_raw(Box::new(wsprune_error {
                    status,
                    message: c_string(e.message()),
                }));
            }
            status
        }
    }
}

/// The panic boundary: runs `f`, turning a panic into a PANIC error.
fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(Error::new(Status::Panic, panic_message(p))))
}

/// Borrows a C string argument, which must be non-NULL and UTF-8.
unsafe fn arg_str<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::new(Status::InvalidArgument, format!("{what} is NULL")));
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| Error::new(Status::InvalidArgument, format!("{what} is not valid UTF-8")))
}

unsafe fn arg_root<'a>(p: *const c_char) -> Result<&'a Path> {
    arg_str(p, "workspace_root").map(Path::new)
}

/// The name of a status, e.g. "WSPRUNE_STATUS_NOT_FOUND"; "WSPRUNE_STATUS_UNKNOWN"
/// for a value that is not a status. The string is static: never free it.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn wsprune_status_name(status: wsprune_status) -> *const c_char {
    // A C caller may pass any integer; read it as one (opaque to the optimizer)
    // rather than trusting it to be a valid Rust enum value.
    let raw: u32 = std::hint::black_box(unsafe { std::mem::transmute::<wsprune_status, u32>(status) });
    let name: &'static CStr = match raw {
        0 => c"WSPRUNE_STATUS_OK",
        1 => c"WSPRUNE_STATUS_INVALID_ARGUMENT",
        2 => c"WSPRUNE_STATUS_INVALID_SESSION_ID",
        3 => c"WSPRUNE_STATUS_NOT_FOUND",
        4 => c"WSPRUNE_STATUS_ALREADY_EXISTS",
        5 => c"WSPRUNE_STATUS_BUSY",
        6 => c"WSPRUNE_STATUS_IO",
        7 => c"WSPRUNE_STATUS_PANIC",
        _ => c"WSPRUNE_STATUS_UNKNOWN",
    };
    name.as_ptr()
}

/// The library version, e.g. "0.1.0". Static: never free it. Thread-safe.
#[no_mangle]
pub extern "C" fn wsprune_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// The status of an error; WSPRUNE_STATUS_INVALID_ARGUMENT if `error` is NULL.
/// `error` is borrowed. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_error_status(error: *const wsprune_error) -> wsprune_status {
    if error.is_null() {
        return wsprune_status::WSPRUNE_STATUS_INVALID_ARGUMENT;
    }
    (*error).status
}

/// The message of an error (UTF-8, never NULL for a non-NULL `error`; NULL if
/// `error` is NULL). Owned by `error`: valid until `wsprune_error_free(error)`.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_error_message(error: *const wsprune_error) -> *const c_char {
    if error.is_null() {
        return std::ptr::null();
    }
    (*error).message.as_ptr()
}

/// Frees an error. NULL is a no-op. Takes ownership of `error`, which must
/// not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn wsprune_error_free(error: *mut wsprune_error) {
    if !error.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(error))));
    }
}

/// Frees a string returned by wsprune (such as `wsprune_prune_result_to_json`).
/// NULL is a no-op. Takes ownership of `s`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_string_free(s: *mut c_char) {
    if !s.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(CString::from_raw(s))));
    }
}

/// Creates session `session_id` (a UUID; NULL for a new random UUIDv4) under
/// `workspace_root`, creating the root if it is missing, and writes its
/// metadata with created_at == updated_at. If `out_id` is not NULL, the
/// session id and a terminating NUL are written to it; `out_id_len` must then
/// be at least 37, else WSPRUNE_STATUS_INVALID_ARGUMENT and nothing is created.
/// An existing session gives WSPRUNE_STATUS_ALREADY_EXISTS. A failure to write
/// the metadata does not fail the creation (a "session.metadata.write_failed"
/// warning event is emitted instead).
///
/// Strings are borrowed for the call. On failure `*error` (if `error` is not
/// NULL) receives an owned error to free with `wsprune_error_free`; on success
/// it is set to NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_create(
    workspace_root: *const c_char,
    session_id: *const c_char,
    out_id: *mut c_char,
    out_id_len: usize,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let id = if session_id.is_null() {
            None
        } else {
            Some(arg_str(session_id, "session_id")?)
        };
        if !out_id.is_null() && out_id_len < 37 {
            return Err(Error::new(
                Status::InvalidArgument,
                format!("out_id_len is {out_id_len}; at least 37 bytes are needed for a session id"),
            ));
        }
        let created = session::create_session(root, id)?;
        if !out_id.is_null() {
            let bytes = created.as_bytes();
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), out_id as *mut u8, bytes.len());
            *out_id.add(bytes.len()) = 0;
        }
        Ok(())
    });
    report(error, r)
}

/// Sets updated_at of the session to now, preserving every other field.
/// A legacy session without metadata is WSPRUNE_STATUS_OK (silently);
/// corrupted metadata is WSPRUNE_STATUS_OK, left untouched, with a
/// "session.metadata.corrupted" warning event; a missing session is
/// WSPRUNE_STATUS_NOT_FOUND. Strings are borrowed. Error ownership as for
/// `wsprune_session_create`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_touch(
    workspace_root: *const c_char,
    session_id: *const c_char,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let id = arg_str(session_id, "session_id")?;
        session::touch_session(root, id).map(drop)
    });
    report(error, r)
}

/// Takes a lease (a shared flock on the session directory) for as long as
/// code runs in the session; a prune skips a leased session as "in_use".
/// Leases are shared: several may be held on one session. Waits up to 2
/// seconds while a prune is deciding about the session, then gives
/// WSPRUNE_STATUS_BUSY; WSPRUNE_STATUS_NOT_FOUND if the session does not
/// exist (or was pruned meanwhile).
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
        let lease = session::acquire(root, id)?;
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
    let r = guarded(|| {
        if lease.is_null() {
            return Err(Error::new(Status::InvalidArgument, "lease is NULL"));
        }
        let lease = Box::from_raw(lease);
        lease.lease.release(touch).map(drop)
    });
    report(error, r)
}

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

fn wrap_result(result: PruneResult) -> wsprune_prune_result {
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
    let summary = c_string(result.summary());
    wsprune_prune_result {
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
unsafe fn with_result<T>(r: *const wsprune_prune_result, default: T, f: impl FnOnce(&wsprune_prune_result) -> T) -> T {
    if r.is_null() {
        return default;
    }
    let r = &*r;
    catch_unwind(AssertUnwindSafe(|| f(r))).unwrap_or(default)
}

unsafe fn nth(v: &[CString], i: usize) -> *const c_char {
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
/// "corrupted_metadata", "corrupted_timestamp" or "in_use"; NULL if `r` is
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
/// 1.4 MB" ("Would prune ..., would reclaim ..." for a dry run); NULL for a
/// NULL `r`. Owned by `r`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_result_summary(r: *const wsprune_prune_result) -> *const c_char {
    with_result(r, std::ptr::null(), |r| r.summary.as_ptr())
}

/// The result as a JSON object with the fields deleted_sessions,
/// skipped_sessions, skipped_reasons (id to reason), reclaimed_bytes, errors
/// (id to message) and dry_run. Returns a new string owned by the caller, to
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
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(r))));
    }
}

struct CCallback {
    cb: unsafe extern "C" fn(*mut c_void, wsprune_level, *const c_char, *const c_char),
    user_data: *mut c_void,
}
// The caller of wsprune_set_log_callback promises the callback and user_data
// may be used from any thread (documented there).
unsafe impl Send for CCallback {}
unsafe impl Sync for CCallback {}

impl CCallback {
    fn call(&self, e: &Event) {
        let name = c_string(e.name);
        let fields = c_string(serde_json::Value::Object(e.fields.clone()).to_string());
        unsafe { (self.cb)(self.user_data, e.level.into(), name.as_ptr(), fields.as_ptr()) };
    }
}

/// Installs `cb` as the process-wide event callback, with `user_data` passed
/// back on every call (see `wsprune_log_fn`); NULL turns events off.
///
/// Replaces any previous callback. When this function returns, the previous
/// callback is no longer running on any other thread and will never be called
/// again, so its `user_data` may be freed at once: the function waits for
/// calls already in progress to finish. (If it is called from inside the
/// previous callback, that one call on this thread is the exception: it is
/// still running.) So do not call it while holding a lock that the callback
/// itself takes. `user_data` is borrowed until the callback is replaced: the
/// caller keeps it alive and thread-safe until then. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_set_log_callback(cb: wsprune_log_fn, user_data: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| match cb {
        None => events::set_handler(None),
        Some(cb) => {
            let c = CCallback { cb, user_data };
            events::set_handler(Some(Arc::new(move |e: &Event| c.call(e))));
        }
    }));
}

/// Options of `wsprune_prune_sessions_with_options`. Always start from
/// `wsprune_prune_options_init(&opts, sizeof opts)`, which sets
/// `struct_size` and the defaults, then change fields. Later versions of
/// wsprune only append fields, whose zero value keeps this version's
/// behaviour; `struct_size` tells the library which version the caller was
/// built with, so an older caller keeps working with a newer library, and a
/// newer caller with an older library as long as it leaves the newer fields
/// zero. A zero-filled struct (apart from `struct_size`) deletes nothing but
/// interrupted deletions: every rule is off. A session goes if any enabled
/// rule selects it; size and count rules evict the least recently updated
/// sessions first and never evict one that is leased, updated less than
/// `min_age_hours` ago, or without readable metadata.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wsprune_prune_options {
    /// `sizeof(wsprune_prune_options)` as the caller compiled it.
    pub struct_size: usize,
    /// Age rule threshold in hours (0 allowed; NaN, negative and infinite are
    /// WSPRUNE_STATUS_INVALID_ARGUMENT); applies only if `use_older_than`.
    pub older_than_hours: f64,
    /// Floor for the size and count rules, in hours (default 0).
    pub min_age_hours: f64,
    /// Evict until the sessions total at most this many bytes; 0: no such rule.
    pub max_total_bytes: u64,
    /// Keep at most this many sessions; 0: no such rule (to delete every idle
    /// session, use the age rule with 0 hours).
    pub max_sessions: u64,
    /// Evict until the filesystem has this many bytes available; 0: no such rule.
    pub min_free_bytes: u64,
    /// Delete at most this many sessions in this call (oldest first); 0: no limit.
    pub max_deletions: u64,
    /// Sessions handled concurrently; 0 picks a default for the machine.
    pub jobs: u32,
    /// How long to wait, in milliseconds, for another prune of the same root
    /// to finish before failing with WSPRUNE_STATUS_BUSY (default 30000; 0: do not wait).
    pub lock_timeout_ms: u32,
    /// Whether the age rule (`older_than_hours`) is on (default true).
    pub use_older_than: bool,
    /// Report what would go, delete nothing (default false).
    pub dry_run: bool,
}

/// `sizeof(wsprune_prune_options)` in 0.2.0, the first version: the
/// smallest `struct_size` ever accepted. Pinned: it must not follow the struct's growth.
const PRUNE_OPTIONS_V1: usize = 72;
/// `sizeof(wsprune_session_details)` in 0.2.0, likewise pinned.
const SESSION_DETAILS_V1: usize = 40;
const _: () = assert!(std::mem::size_of::<wsprune_prune_options>() >= PRUNE_OPTIONS_V1);
const _: () = assert!(std::mem::size_of::<wsprune_session_details>() >= SESSION_DETAILS_V1);
/// Largest `struct_size` accepted (a newer caller's struct, whose unknown tail must be zero).
const MAX_STRUCT_SIZE: usize = 4096;

/// Checks a caller's `struct_size`.
fn check_struct_size(size: usize, min: usize, what: &str) -> Result<()> {
    if (min..=MAX_STRUCT_SIZE).contains(&size) {
        Ok(())
    } else {
        Err(Error::new(
            Status::InvalidArgument,
            format!("{what} size is {size}; expected sizeof({what}) (at least {min}, at most {MAX_STRUCT_SIZE})"),
        ))
    }
}

/// Copies `value` into the caller's struct of `size` bytes: the fields that
/// fit; a newer caller's bytes beyond ours are zeroed.
unsafe fn write_struct<T: Copy>(out: *mut T, size: usize, value: T) {
    let ours = std::mem::size_of::<T>();
    let dst = out as *mut u8;
    std::ptr::copy_nonoverlapping(&value as *const T as *const u8, dst, ours.min(size));
    if size > ours {
        std::ptr::write_bytes(dst.add(ours), 0, size - ours);
    }
}

/// Fills the caller's options struct `*opts`, of `size` bytes (pass
/// `sizeof *opts`), with the defaults: `struct_size = size`, the age rule on
/// at 24 hours, no size or count rule, `min_age_hours` 0, `jobs` 0
/// (automatic), `lock_timeout_ms` 30000, not a dry run. Writes at most `size`
/// bytes (fields of a newer version than this library are zeroed). `opts` is
/// borrowed; NULL or a `size` smaller than the first version's struct gives
/// WSPRUNE_STATUS_INVALID_ARGUMENT. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_prune_options_init(opts: *mut wsprune_prune_options, size: usize) -> wsprune_status {
    if opts.is_null() || check_struct_size(size, PRUNE_OPTIONS_V1, "wsprune_prune_options").is_err() {
        return wsprune_status::WSPRUNE_STATUS_INVALID_ARGUMENT;
    }
    let d = PruneOptions::default();
    write_struct(
        opts,
        size,
        wsprune_prune_options {
            struct_size: size,
            older_than_hours: d.older_than_hours.unwrap_or(24.0),
            min_age_hours: d.min_age_hours,
            max_total_bytes: 0,
            max_sessions: 0,
            min_free_bytes: 0,
            max_deletions: 0,
            jobs: 0,
            lock_timeout_ms: d.lock_timeout.as_millis() as u32,
            use_older_than: true,
            dry_run: false,
        },
    );
    wsprune_status::WSPRUNE_STATUS_OK
}

/// `wsprune_prune_options` as read from a caller: bytes for the `bool`s,
/// which a C caller could have set to a value Rust's `bool` must never hold.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawPruneOptions {
    struct_size: usize,
    older_than_hours: f64,
    min_age_hours: f64,
    max_total_bytes: u64,
    max_sessions: u64,
    min_free_bytes: u64,
    max_deletions: u64,
    jobs: u32,
    lock_timeout_ms: u32,
    use_older_than: u8,
    dry_run: u8,
}
const _: () = assert!(std::mem::size_of::<RawPruneOptions>() == std::mem::size_of::<wsprune_prune_options>());

/// Reads a caller's options struct, whatever version it was built with.
unsafe fn read_prune_options(p: *const wsprune_prune_options) -> Result<PruneOptions> {
    if p.is_null() {
        return Err(Error::new(Status::InvalidArgument, "options is NULL"));
    }
    let size = std::ptr::read_unaligned(p as *const usize);
    check_struct_size(size, PRUNE_OPTIONS_V1, "wsprune_prune_options").map_err(|e| {
        Error::new(
            Status::InvalidArgument,
            format!("options->struct_{e} (initialize it with wsprune_prune_options_init)"),
        )
    })?;
    let ours = std::mem::size_of::<RawPruneOptions>();
    // An older caller's struct: the fields it lacks are zero, which keeps their old behaviour.
    let mut o: RawPruneOptions = std::mem::zeroed();
    std::ptr::copy_nonoverlapping(
        p as *const u8,
        &mut o as *mut RawPruneOptions as *mut u8,
        size.min(ours),
    );
    // A newer caller's fields that this version does not know must be unset.
    let tail = std::slice::from_raw_parts((p as *const u8).add(size.min(ours)), size - size.min(ours));
    if tail.iter().any(|&b| b != 0) {
        return Err(Error::new(
            Status::InvalidArgument,
            format!(
                "options set fields this version of wsprune ({}) does not know",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    let nonzero = |v: u64| (v != 0).then_some(v);
    Ok(PruneOptions {
        older_than_hours: (o.use_older_than != 0).then_some(o.older_than_hours),
        max_total_bytes: nonzero(o.max_total_bytes),
        max_sessions: nonzero(o.max_sessions),
        min_free_bytes: nonzero(o.min_free_bytes),
        max_deletions: nonzero(o.max_deletions),
        min_age_hours: o.min_age_hours,
        dry_run: o.dry_run != 0,
        jobs: o.jobs as usize,
        lock_timeout: std::time::Duration::from_millis(o.lock_timeout_ms.into()),
    })
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

/// The rule that selected the i-th deleted session: "older_than",
/// "max_total_bytes", "max_sessions", "min_free_bytes" or "interrupted" (a
/// deletion an interrupted prune had started). NULL if `r` is NULL or `i` is
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

fn rule_name(rule: Rule) -> &'static CStr {
    match rule {
        Rule::OlderThan => c"older_than",
        Rule::MaxTotalBytes => c"max_total_bytes",
        Rule::MaxSessions => c"max_sessions",
        Rule::MinFreeBytes => c"min_free_bytes",
        Rule::Interrupted => c"interrupted",
    }
}

/// Deletes session `session_id` now, whatever its age or metadata, with the
/// same locked, atomic deletion as a prune. A leased session is
/// WSPRUNE_STATUS_BUSY, after waiting up to `wait_ms` milliseconds for its
/// leases to be released (0: do not wait). A missing session or root is
/// WSPRUNE_STATUS_NOT_FOUND; a failure part-way is WSPRUNE_STATUS_IO (what
/// remains is in a hidden trash directory that the next prune finishes).
/// On success, `*out_reclaimed_bytes` (if not NULL) receives the bytes freed.
/// Strings are borrowed; error ownership as for `wsprune_session_create`.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_delete(
    workspace_root: *const c_char,
    session_id: *const c_char,
    wait_ms: u32,
    out_reclaimed_bytes: *mut u64,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let id = arg_str(session_id, "session_id")?;
        let wait = (wait_ms > 0).then(|| std::time::Duration::from_millis(wait_ms.into()));
        let bytes = delete_session(root, id, wait)?;
        if !out_reclaimed_bytes.is_null() {
            *out_reclaimed_bytes = bytes;
        }
        Ok(())
    });
    report(error, r)
}

/// The state of a session's metadata. Stable numbering.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum wsprune_session_state {
    /// Valid metadata: the timestamps are known.
    WSPRUNE_SESSION_STATE_OK = 0,
    /// No metadata file (a session from before metadata existed).
    WSPRUNE_SESSION_STATE_LEGACY = 1,
    /// A metadata file that cannot be used.
    WSPRUNE_SESSION_STATE_CORRUPTED = 2,
    /// The session directory or its metadata could not be read (permissions, I/O).
    WSPRUNE_SESSION_STATE_UNREADABLE = 3,
}

/// What `wsprune_session_info` reports. Set `struct_size` to
/// `sizeof(wsprune_session_details)` before the call; the library fills the
/// fields that fit in `struct_size` bytes (a newer caller's extra fields are
/// zeroed). Later versions only append fields.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wsprune_session_details {
    /// `sizeof(wsprune_session_details)` as the caller compiled it.
    pub struct_size: usize,
    /// created_at, in microseconds since the Unix epoch (0 unless state is OK).
    pub created_at_us: i64,
    /// updated_at (last use), in microseconds since the Unix epoch (0 unless state is OK).
    pub updated_at_us: i64,
    /// Sum of the sizes of the files in the session: what deleting it frees.
    pub size_bytes: u64,
    /// The metadata's state: a `wsprune_session_state` value (a fixed-width
    /// integer, so the layout does not depend on the compiler's enum size).
    pub state: i32,
    /// Whether a lease (or a prune) holds the session right now.
    pub in_use: bool,
}

/// Fills `*out` with what is known about session `session_id`: timestamps,
/// size, metadata state and whether it is in use. `out->struct_size` must be
/// set by the caller (at least the size of this version's struct, otherwise
/// WSPRUNE_STATUS_INVALID_ARGUMENT). A missing session or root is
/// WSPRUNE_STATUS_NOT_FOUND. `in_use` is probed with a non-blocking exclusive
/// lock released at once. Strings are borrowed, `out` is borrowed for the
/// call; error ownership as for `wsprune_session_create`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_session_info(
    workspace_root: *const c_char,
    session_id: *const c_char,
    out: *mut wsprune_session_details,
    error: *mut *mut wsprune_error,
) -> wsprune_status {
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        let id = arg_str(session_id, "session_id")?;
        if out.is_null() {
            return Err(Error::new(Status::InvalidArgument, "out is NULL"));
        }
        let size = std::ptr::read_unaligned(out as *const usize);
        check_struct_size(size, SESSION_DETAILS_V1, "wsprune_session_details")
            .map_err(|e| Error::new(Status::InvalidArgument, format!("out->struct_{e}")))?;
        let info = session_info(root, id)?;
        let us = |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or(0, |t| t.timestamp_micros());
        let state = match info.state {
            SessionState::Ok => wsprune_session_state::WSPRUNE_SESSION_STATE_OK,
            SessionState::Legacy => wsprune_session_state::WSPRUNE_SESSION_STATE_LEGACY,
            SessionState::Corrupted => wsprune_session_state::WSPRUNE_SESSION_STATE_CORRUPTED,
            SessionState::Unreadable => wsprune_session_state::WSPRUNE_SESSION_STATE_UNREADABLE,
        };
        write_struct(
            out,
            size,
            wsprune_session_details {
                struct_size: size,
                created_at_us: us(info.created_at),
                updated_at_us: us(info.updated_at),
                size_bytes: info.size_bytes,
                state: state as i32,
                in_use: info.in_use,
            },
        );
        Ok(())
    });
    report(error, r)
}

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
