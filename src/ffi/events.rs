//! Event levels and the process-wide log callback.

use super::*;

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

/// Receives structured events. `user_data` is the pointer given to
/// `wsprune_set_log_callback`; `event` is the event name (e.g.
/// "session.prune.deleted") and `fields_json` a JSON object of its fields.
/// Both strings are borrowed for the duration of the call only. The callback
/// runs synchronously on the thread performing the operation, possibly on
/// several threads at once, so it must be thread-safe; it must not unwind
/// (throw a C++ exception or longjmp) out of the call. It may call any
/// wsprune function, including wsprune_set_log_callback, with one exception:
/// a prune of the same workspace root started from inside the callback of a
/// prune that holds that root's workspace lock (events between
/// "session.prune.started" and "session.prune.completed", which are emitted
/// without it) cannot take the lock; it fails at once with
/// WSPRUNE_STATUS_BUSY and a message saying it was started from inside the
/// log callback (a dry run inside a dry run shares the lock and runs). Only
/// re-entry on the same thread is detected: a callback that waits for a
/// prune of the same root on another thread waits for its lock timeout.
pub type wsprune_log_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: wsprune_level,
        event: *const c_char,
        fields_json: *const c_char,
    ),
>;

pub(crate) struct CCallback {
    cb: unsafe extern "C" fn(*mut c_void, wsprune_level, *const c_char, *const c_char),
    user_data: *mut c_void,
}
// SAFETY: the caller of wsprune_set_log_callback promises that the callback
// and user_data may be used from any thread, also at once (documented there).
unsafe impl Send for CCallback {}
// SAFETY: as for Send: the callback is called from several threads at once by contract.
unsafe impl Sync for CCallback {}

impl CCallback {
    fn call(&self, e: &Event) {
        let name = c_string(e.name);
        let fields = c_string(serde_json::Value::Object(e.fields.clone()).to_string());
        // SAFETY: the caller of wsprune_set_log_callback gave a callback of this
        // signature and a user_data valid until the callback is replaced (which
        // waits for calls in progress); both strings are NUL-terminated and
        // live for the call.
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
    let _ = super::caught(|| match cb {
        None => crate::events::set_handler(None),
        Some(cb) => {
            let c = CCallback { cb, user_data };
            crate::events::set_handler(Some(Arc::new(move |e: &Event| c.call(e))));
        }
    });
}
