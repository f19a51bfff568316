//! The C ABI: a thin layer over the Rust API.
//!
//! Every exported function catches panics (giving `WSPRUNE_STATUS_PANIC` or
//! NULL), checks every pointer, and states in its doc comment (copied into
//! `include/wsprune.h` by cbindgen) what it owns, what it borrows and its
//! thread-safety. Errors are returned as owned `wsprune_error` objects, never
//! through thread-local state.
//!
//! Nothing taken from C is a Rust enum, whose out-of-range values would be
//! undefined behaviour on arrival: a status a caller passes is a `c_int`
//! (`wsprune_status_name`). A `bool` parameter is C's `_Bool`, with which
//! Rust's `bool` is ABI-compatible and which holds only 0 or 1 in C; the
//! `bool` fields of a struct the caller fills are read as bytes
//! (`RawPruneOptions`), since the caller may have written any byte there.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // the safety contract of each function is its doc comment

use crate::error::{Error, Result, Status};
use crate::events::{Event, Level};
use crate::inspect::{list_sessions, session_info, SessionState};
use crate::policy::{DeleteOptions, PruneOptions, Rule};
use crate::prune::{delete_session_with, prune_sessions};
use crate::repair::repair_sessions;
use crate::result::PruneResult;
use crate::session::Lease;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

mod error;
mod events;
mod labels;
mod lease;
mod migrate;
mod options;
mod prune;
mod prune_result;
mod repair;
mod retention;
mod session;
mod session_options;
mod stats;

pub use error::*;
pub use events::*;
pub use labels::*;
pub use lease::*;
pub use migrate::*;
pub use options::*;
pub use prune::*;
pub use prune_result::*;
pub use repair::*;
pub use retention::*;
pub use session::*;
pub use session_options::*;
pub use stats::*;

/// A C string for text that may contain NUL (error messages built from file names).
pub(crate) fn c_string(s: impl Into<Vec<u8>>) -> CString {
    let mut v: Vec<u8> = s.into();
    v.retain(|&b| b != 0);
    CString::new(v).expect("NULs removed")
}

pub(crate) fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error (panic) in wsprune: {what}")
}

/// Stores the outcome into `*error` (when `error` is not NULL) and returns its status.
pub(crate) unsafe fn report(error: *mut *mut wsprune_error, r: Result<()>) -> wsprune_status {
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

/// The panic boundary: runs `f`, turning a panic into a PANIC error. The
/// panic prints nothing (see `crate::panic_hook`): its message is in the error.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    caught(f).unwrap_or_else(|p| Err(Error::new(Status::Panic, panic_message(p))))
}

/// `catch_unwind` for the C boundary, with the panic's default report silenced.
pub(crate) fn caught<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    crate::panic_hook::quietly(true, || catch_unwind(AssertUnwindSafe(f)))
}

/// Borrows a C string argument, which must be non-NULL and UTF-8.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::new(Status::InvalidArgument, format!("{what} is NULL")));
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| Error::new(Status::InvalidArgument, format!("{what} is not valid UTF-8")))
}

/// Borrows `count` C strings from the array `p` (`what` names it in
/// messages): each non-NULL and UTF-8; `p` may be NULL only when `count` is 0.
pub(crate) unsafe fn arg_str_array(p: *const *const c_char, count: usize, what: &str) -> Result<Vec<String>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(Error::new(
            Status::InvalidArgument,
            format!("{what} is NULL but its count is {count}"),
        ));
    }
    let mut out = Vec::with_capacity(count.min(1024));
    for i in 0..count {
        out.push(arg_str(*p.add(i), &format!("{what}[{i}]"))?.to_owned());
    }
    Ok(out)
}

/// Hands the JSON `f` makes to the caller through `out_json`, which must not
/// be NULL: set to NULL first, then to a string the caller owns (freed with
/// `wsprune_string_free`) when `f` succeeds.
pub(crate) unsafe fn json_out(out_json: *mut *mut c_char, f: impl FnOnce() -> Result<serde_json::Value>) -> Result<()> {
    if out_json.is_null() {
        return Err(Error::new(Status::InvalidArgument, "out_json is NULL"));
    }
    *out_json = std::ptr::null_mut();
    *out_json = c_string(f()?.to_string()).into_raw();
    Ok(())
}

/// A time a caller passed in microseconds since the Unix epoch (`what`
/// names the argument); 0 is none. One beyond the years 0000 to 9999 is
/// WSPRUNE_STATUS_INVALID_ARGUMENT.
pub(crate) fn time_from_us(us: i64, what: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    if us == 0 {
        return Ok(None);
    }
    chrono::DateTime::from_timestamp_micros(us)
        .filter(|t| crate::metadata::is_storable(*t))
        .map(Some)
        .ok_or_else(|| {
            Error::new(
                Status::InvalidArgument,
                format!("{what} {us} is not a time wsprune can store"),
            )
        })
}

pub(crate) unsafe fn arg_root<'a>(p: *const c_char) -> Result<&'a Path> {
    arg_str(p, "workspace_root").map(Path::new)
}

/// `sizeof(wsprune_prune_options)` in 0.2.0, the first version: the
/// smallest `struct_size` ever accepted. Pinned: it must not follow the struct's growth.
pub(crate) const PRUNE_OPTIONS_V1: usize = 72;
/// `sizeof(wsprune_session_details)` in 0.2.0, likewise pinned.
pub(crate) const SESSION_DETAILS_V1: usize = 40;
/// `sizeof(wsprune_session_options)` in 0.4.0, its first version, likewise pinned.
pub(crate) const SESSION_OPTIONS_V1: usize = 32;
const _: () = assert!(std::mem::size_of::<wsprune_session_options>() >= SESSION_OPTIONS_V1);
const _: () = assert!(std::mem::size_of::<wsprune_prune_options>() >= PRUNE_OPTIONS_V1);
const _: () = assert!(std::mem::size_of::<wsprune_session_details>() >= SESSION_DETAILS_V1);
/// Largest `struct_size` accepted (a newer caller's struct, whose unknown tail must be zero).
pub(crate) const MAX_STRUCT_SIZE: usize = 4096;

/// Checks a caller's `struct_size`; `field` is how the caller spells it
/// (`out->struct_size`), `what` the struct's type.
pub(crate) fn check_struct_size(size: usize, min: usize, field: &str, what: &str) -> Result<()> {
    if (min..=MAX_STRUCT_SIZE).contains(&size) {
        Ok(())
    } else {
        Err(Error::new(
            Status::InvalidArgument,
            format!("{field} is {size}; expected sizeof({what}) (at least {min}, at most {MAX_STRUCT_SIZE})"),
        ))
    }
}

/// Copies `value` into the caller's struct of `size` bytes: the fields that
/// fit; a newer caller's bytes beyond ours are zeroed.
pub(crate) unsafe fn write_struct<T: Copy>(out: *mut T, size: usize, value: T) {
    let ours = std::mem::size_of::<T>();
    let dst = out as *mut u8;
    std::ptr::copy_nonoverlapping(&value as *const T as *const u8, dst, ours.min(size));
    if size > ours {
        std::ptr::write_bytes(dst.add(ours), 0, size - ours);
    }
}

/// Reads a versioned struct a caller filled (`p`, its first field the
/// caller's `struct_size`) as `R`, the raw form of this version's struct:
/// an older caller's missing fields read as zero, which keeps their old
/// behaviour; a newer caller's fields this version does not know must be
/// zero. `what` is the struct's type, `init` the function that fills it.
pub(crate) unsafe fn read_caller_struct<R: Copy>(p: *const u8, min: usize, what: &str, init: &str) -> Result<R> {
    let size = std::ptr::read_unaligned(p as *const usize);
    check_struct_size(size, min, "options->struct_size", what).map_err(|e| {
        Error::new(
            Status::InvalidArgument,
            format!("{} (initialize it with {init})", e.message()),
        )
    })?;
    // `sizeof` of any version of the struct is a multiple of its alignment;
    // another size would end inside a field, and half a pointer copied
    // would be a wild one.
    if !size.is_multiple_of(std::mem::align_of::<R>()) {
        return Err(Error::new(
            Status::InvalidArgument,
            format!(
                "options->struct_size is {size}, not the size of any version of {what} (initialize it with {init})"
            ),
        ));
    }
    let ours = std::mem::size_of::<R>();
    let mut o: R = std::mem::zeroed();
    std::ptr::copy_nonoverlapping(p, &mut o as *mut R as *mut u8, size.min(ours));
    let tail = std::slice::from_raw_parts(p.add(size.min(ours)), size - size.min(ours));
    if tail.iter().any(|&b| b != 0) {
        return Err(Error::new(
            Status::InvalidArgument,
            format!(
                "options set fields this version of wsprune ({}) does not know",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    Ok(o)
}
