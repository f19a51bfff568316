//! Statuses, the opaque `wsprune_error` object, and the static strings (status names, version).

use super::*;

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
    /// The session id is neither a UUID nor a safe custom id. Every path-traversal attempt lands here.
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
    /// Its message is in the error object; nothing is printed on stderr.
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

/// An error: a status and a message. Owned by the caller once returned
/// through a `wsprune_error **` argument; free it with `wsprune_error_free`.
/// Immutable, so it may be read from any thread.
pub struct wsprune_error {
    pub(crate) status: wsprune_status,
    pub(crate) message: CString,
}

/// The name of a status, e.g. "WSPRUNE_STATUS_NOT_FOUND"; "WSPRUNE_STATUS_UNKNOWN"
/// for any other value (negative, or a status this version does not know).
/// `status` is an `int` (before 0.4.0 it was declared `wsprune_status`, which
/// converts to `int` implicitly, so callers compile unchanged): a caller may
/// pass any integer it holds. The string is static: never free it.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn wsprune_status_name(status: c_int) -> *const c_char {
    // An integer, not the `wsprune_status` enum: a Rust enum holding a value
    // outside its variants is undefined behaviour at the call itself, and a C
    // enum (or Go's Status) may hold any integer.
    let name: &'static CStr = match status {
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
        let _ = super::caught(|| drop(Box::from_raw(error)));
    }
}

/// Frees a string returned by wsprune (such as `wsprune_prune_result_to_json`).
/// NULL is a no-op. Takes ownership of `s`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_string_free(s: *mut c_char) {
    if !s.is_null() {
        let _ = super::caught(|| drop(CString::from_raw(s)));
    }
}
