//! Live control of a running prune: a cancellation flag, checked between
//! sessions, and a hook that hears of each session as the prune records it.
//!
//! Both ride on the calling thread for the duration of one
//! [`crate::prune::prune_sessions_with`] call: the prune's results are
//! recorded on the calling thread, and its worker pool reads the flag when
//! it starts (the pool in `parallel.rs`).

use std::cell::RefCell;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::result::Record;

/// A hook called with each [`Record`] of a running prune.
pub type OnRecord = Arc<dyn Fn(&Record<'_>) + Send + Sync>;

/// What a caller can do to a prune while it runs.
#[derive(Clone, Default)]
pub struct PruneControl {
    /// Once set (from any thread, or a signal handler: it is one atomic
    /// store), the prune handles no further session: the deletions under way
    /// finish (a session is never left half deleted under its own name), and
    /// the prune returns the result of what it did. Sessions it did not reach
    /// are not reported at all.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Called on the calling thread with each session deleted, skipped or
    /// failed, each leftover trash directory finished and each target not
    /// reached, as the prune records it (completion order), so that a tool
    /// can show them as they happen. The same values end up in the result.
    pub on_record: Option<OnRecord>,
}

impl std::fmt::Debug for PruneControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PruneControl")
            .field("cancel", &self.cancel)
            .field("on_record", &self.on_record.is_some())
            .finish()
    }
}

thread_local! {
    /// The control of the prune running on this thread, if any.
    static CURRENT: RefCell<Option<PruneControl>> = const { RefCell::new(None) };
}

/// Runs `f` with `control` as this thread's prune control (restoring the
/// previous one after, so that a prune started from a hook keeps its own).
pub(crate) fn scoped<R>(control: &PruneControl, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<PruneControl>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| *c.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.borrow_mut().replace(control.clone())));
    f()
}

/// The cancellation flag of the prune running on this thread, if any.
pub(crate) fn cancel_flag() -> Option<Arc<AtomicBool>> {
    CURRENT.with(|c| c.borrow().as_ref().and_then(|c| c.cancel.clone()))
}

/// Hands `record` to the running prune's hook, if it has one.
pub(crate) fn notify(record: Record<'_>) {
    let hook = CURRENT.with(|c| c.borrow().as_ref().and_then(|c| c.on_record.clone()));
    if let Some(h) = hook {
        h(&record);
    }
}
