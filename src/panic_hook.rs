//! Silence for panics the C ABI catches.
//!
//! A panic caught at the C boundary becomes a `WSPRUNE_STATUS_PANIC` error
//! object with its message; the host owns its stderr, so nothing is printed.
//! The process-wide panic hook is not replaced: the first C call wraps the
//! hook in place then (the default one, or a Rust host's own) in one that is
//! silent only while the panicking thread is inside a C ABI call (or is a
//! worker of one), and otherwise calls the wrapped hook unchanged. A hook a
//! host installs *after* its first C call replaces the wrapper, and then
//! sees wsprune's caught panics too.

use std::cell::Cell;
use std::sync::Once;

thread_local! {
    /// How many C ABI calls are running on this thread (they may nest
    /// through the log callback).
    static QUIET: Cell<u32> = const { Cell::new(0) };
}

static WRAP: Once = Once::new();

/// Whether panics on this thread are caught by a C ABI call.
pub(crate) fn is_quiet() -> bool {
    QUIET.with(Cell::get) > 0
}

/// Runs `f` with panics on this thread silenced, installing the wrapping hook
/// the first time. Used by the C boundary, and by worker threads of a C call
/// (passed `quiet == is_quiet()` of the thread that spawned them).
pub(crate) fn quietly<T>(quiet: bool, f: impl FnOnce() -> T) -> T {
    if !quiet {
        return f();
    }
    WRAP.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !is_quiet() {
                previous(info);
            }
        }));
    });
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            QUIET.with(|q| q.set(q.get() - 1));
        }
    }
    QUIET.with(|q| q.set(q.get() + 1));
    let _leave = Leave;
    f()
}
