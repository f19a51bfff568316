//! Structured events (the seed's structured logging): a name, a level and
//! JSON fields, delivered synchronously to one process-wide handler.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

/// Severity of an event. Numbering is part of the C ABI (`wsprune_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum Level {
    /// Per-operation detail (touches, candidates).
    Debug = 0,
    /// Normal progress (creations, deletions, prune start and end).
    Info = 1,
    /// Something was wrong but the operation carried on (corrupted metadata).
    Warning = 2,
    /// A session could not be handled.
    Error = 3,
}

impl Level {
    /// Lower-case name, e.g. `"warning"`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// One structured event, e.g. `session.prune.deleted` with
/// `{session_id, age_hours, reclaimed_bytes}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Severity.
    pub level: Level,
    /// Dotted event name, e.g. `session.metadata.updated`.
    pub name: &'static str,
    /// The event's fields.
    pub fields: Map<String, Value>,
}

/// A handler for events. Called synchronously on the thread doing the work,
/// possibly from several threads at once.
pub type Handler = Arc<dyn Fn(&Event) + Send + Sync>;

static INSTALLED: AtomicBool = AtomicBool::new(false);
static HANDLER: RwLock<Option<Handler>> = RwLock::new(None);

thread_local! {
    /// Handlers running on this thread (a handler may emit or replace itself).
    static RUNNING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

fn key(h: &Handler) -> usize {
    Arc::as_ptr(h) as *const () as usize
}

/// Installs `handler` as the process-wide event handler (`None` removes it).
///
/// When it returns, the previous handler is no longer running on any other
/// thread and will never be called again, so whatever it borrows may be
/// freed. (Called from inside the previous handler, the call on this thread
/// is the one exception: it is still running and returns to its caller.)
pub fn set_handler(handler: Option<Handler>) {
    let old = {
        let mut slot = HANDLER.write().unwrap_or_else(|p| p.into_inner());
        INSTALLED.store(handler.is_some(), Ordering::Release);
        std::mem::replace(&mut *slot, handler)
    };
    let Some(old) = old else { return };
    // Every running call holds a clone taken under the read lock; none can be
    // taken any more, so the count only falls. Wait for the other threads' calls.
    let own = RUNNING.with(|r| r.borrow().iter().filter(|&&k| k == key(&old)).count());
    let mut spins = 0u32;
    while Arc::strong_count(&old) > 1 + own {
        spins += 1;
        if spins < 100 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(std::time::Duration::from_micros(50));
        }
    }
}

/// Whether a handler is installed; lets hot paths skip building fields.
#[inline]
pub fn enabled() -> bool {
    INSTALLED.load(Ordering::Acquire)
}

/// Emits an event built by `fields` if a handler is installed. The handler
/// is cloned out of the lock before it runs, so it may replace itself.
#[inline]
pub fn emit(level: Level, name: &'static str, fields: impl FnOnce() -> Map<String, Value>) {
    if !enabled() {
        return;
    }
    let handler = HANDLER.read().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(h) = handler {
        struct Running(usize);
        impl Drop for Running {
            fn drop(&mut self) {
                RUNNING.with(|r| {
                    let mut r = r.borrow_mut();
                    if let Some(i) = r.iter().rposition(|&k| k == self.0) {
                        r.remove(i);
                    }
                });
            }
        }
        RUNNING.with(|r| r.borrow_mut().push(key(&h)));
        let _running = Running(key(&h));
        h(&Event {
            level,
            name,
            fields: fields(),
        });
        // `_running` is dropped before `h`: the count falls only after the call is marked done.
    }
}

/// Builds a field map: `fields!{"session_id" => id, "age_hours" => 1.5}`.
#[macro_export]
#[doc(hidden)]
macro_rules! fields {
    ($($k:expr => $v:expr),* $(,)?) => {{
        let mut m = ::serde_json::Map::new();
        $( m.insert(($k).to_string(), ::serde_json::Value::from($v)); )*
        m
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    // The handler is process-wide: these tests take turns (the lib's other unit tests emit nothing).
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn a_replaced_handler_is_never_called_after_set_handler_returns() {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let late = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let emitters: Vec<_> = (0..3)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        emit(Level::Debug, "test.event", Map::new);
                    }
                })
            })
            .collect();
        // At least 2000 swaps, and on until the emitters (which a loaded machine
        // may starve) have actually called handlers, so the check means something.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut swaps = 0;
        while swaps < 2000 || (calls.load(Ordering::Relaxed) < 100 && std::time::Instant::now() < deadline) {
            swaps += 1;
            let (retired_now, late, calls) = (Arc::new(AtomicBool::new(false)), late.clone(), calls.clone());
            let flag = retired_now.clone();
            set_handler(Some(Arc::new(move |_e: &Event| {
                calls.fetch_add(1, Ordering::Relaxed);
                std::thread::yield_now();
                if flag.load(Ordering::SeqCst) {
                    late.fetch_add(1, Ordering::SeqCst);
                }
            })));
            set_handler(None);
            retired_now.store(true, Ordering::SeqCst);
        }
        stop.store(true, Ordering::Relaxed);
        emitters.into_iter().for_each(|t| t.join().unwrap());
        assert!(
            calls.load(Ordering::Relaxed) > 0,
            "the handlers were never called: the test proves nothing"
        );
        assert_eq!(
            late.load(Ordering::SeqCst),
            0,
            "a handler ran after set_handler had replaced it"
        );
    }

    #[test]
    fn a_handler_may_replace_itself() {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let hits = Arc::new(AtomicUsize::new(0));
        let h2 = hits.clone();
        set_handler(Some(Arc::new(move |_e: &Event| {
            h2.fetch_add(1, Ordering::SeqCst);
            set_handler(None); // must not deadlock
        })));
        emit(Level::Info, "test.self_replace", Map::new);
        emit(Level::Info, "test.self_replace", Map::new);
        assert!(hits.load(Ordering::SeqCst) >= 1);
        assert!(!enabled());
    }
}
