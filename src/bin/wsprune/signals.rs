//! SIGTERM and SIGINT: a prune finishes the session under way, prints what it
//! did and exits 128+N; `lease` passes the signal on to its command. A second
//! signal acts at once (the handler is one-shot: `SA_RESETHAND`), so a stuck
//! run can still be stopped.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};

/// The first SIGTERM or SIGINT received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The flag handed to the library's prune ([`wsprune::PruneControl::cancel`]).
static CANCEL: OnceLock<Arc<AtomicBool>> = OnceLock::new();
/// The process `lease` runs (0: none).
static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only atomics and kill(2) here: both are async-signal-safe.
    let _ = SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    if let Some(c) = CANCEL.get() {
        c.store(true, Ordering::SeqCst);
    }
    let child = CHILD.load(Ordering::SeqCst);
    if child > 0 {
        // SAFETY: kill has no memory preconditions.
        unsafe { libc::kill(child, sig) };
    }
}

/// Installs the one-shot handler for SIGTERM and SIGINT; returns the cancel
/// flag it sets.
pub fn install() -> Arc<AtomicBool> {
    let flag = CANCEL.get_or_init(|| Arc::new(AtomicBool::new(false))).clone();
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction is valid; the handler only touches atomics and calls kill.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    flag
}

/// The signal received, if any.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// Names `sig` for messages: `SIGTERM`, `SIGINT`.
pub fn name(sig: i32) -> String {
    match sig {
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        n => format!("signal {n}"),
    }
}

/// Signals received from now on are passed on to process `pid` (`lease`'s command).
pub fn forward_to(pid: u32) {
    CHILD.store(pid as i32, Ordering::SeqCst);
}
