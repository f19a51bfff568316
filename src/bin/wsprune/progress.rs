//! What a prune's events tell the tool: each deleted session's size and age
//! (the result has only ids and rules), how far each unreached capacity
//! target is, and a running count for the progress line shown on a terminal.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wsprune::events::{self, Event};
use wsprune::result::format_bytes;

/// A deleted session as its `session.prune.deleted` event described it, or
/// a finished trash directory as its `session.prune.interrupted` event did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deleted {
    pub bytes: u64,
    /// `None` for leftover trash (no age is known).
    pub age_hours: Option<f64>,
}

/// Collects a prune's events. Installed as the process-wide event handler
/// for the duration of one prune.
#[derive(Default)]
pub struct Collector {
    deleted: Mutex<HashMap<String, Deleted>>,
    deleted_count: AtomicU64,
    deleted_bytes: AtomicU64,
    skipped_count: AtomicU64,
    error_count: AtomicU64,
    /// `actual` of each `session.prune.target_unmet` event, by rule.
    unmet: Mutex<HashMap<String, u64>>,
}

impl Collector {
    fn on_event(&self, e: &Event) {
        let id = || e.fields.get("session_id").and_then(|v| v.as_str()).unwrap_or_default();
        match e.name {
            "session.prune.deleted" => {
                let d = Deleted {
                    bytes: e.fields.get("reclaimed_bytes").and_then(|v| v.as_u64()).unwrap_or(0),
                    age_hours: e.fields.get("age_hours").and_then(|v| v.as_f64()),
                };
                self.deleted_count.fetch_add(1, Ordering::Relaxed);
                self.deleted_bytes.fetch_add(d.bytes, Ordering::Relaxed);
                self.deleted
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id().to_owned(), d);
            }
            "session.prune.interrupted" => {
                let name = e.fields.get("trash").and_then(|v| v.as_str()).unwrap_or_default();
                let d = Deleted {
                    bytes: e.fields.get("reclaimed_bytes").and_then(|v| v.as_u64()).unwrap_or(0),
                    age_hours: None,
                };
                self.deleted_bytes.fetch_add(d.bytes, Ordering::Relaxed);
                self.deleted
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(name.to_owned(), d);
            }
            "session.prune.skipped" => {
                self.skipped_count.fetch_add(1, Ordering::Relaxed);
            }
            "session.prune.error" => {
                self.error_count.fetch_add(1, Ordering::Relaxed);
            }
            "session.prune.target_unmet" => {
                let rule = e.fields.get("rule").and_then(|v| v.as_str()).unwrap_or_default();
                if let Some(actual) = e.fields.get("actual").and_then(|v| v.as_u64()) {
                    self.unmet
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(rule.to_owned(), actual);
                }
            }
            _ => {}
        }
    }

    /// What the events said about deleted session `id`.
    pub fn deleted(&self, id: &str) -> Option<Deleted> {
        self.deleted.lock().unwrap_or_else(|p| p.into_inner()).get(id).copied()
    }

    /// The value a capacity rule had when the prune ended without reaching it.
    pub fn unmet_actual(&self, rule: &str) -> Option<u64> {
        self.unmet.lock().unwrap_or_else(|p| p.into_inner()).get(rule).copied()
    }

    fn line(&self, dry_run: bool, spin: char) -> String {
        let n = self.deleted_count.load(Ordering::Relaxed) as usize;
        let bytes = format_bytes(self.deleted_bytes.load(Ordering::Relaxed));
        let (skipped, errors) = (
            self.skipped_count.load(Ordering::Relaxed),
            self.error_count.load(Ordering::Relaxed),
        );
        let verb = if dry_run { "would delete" } else { "deleted" };
        // Nothing deleted yet: most likely still scanning (the events carry no
        // count of selected sessions, so there is no total to show).
        let mut line = if n == 0 {
            format!("{spin} wsprune: scanning sessions")
        } else {
            format!("{spin} wsprune: {verb} {}, {bytes}", crate::units::plural(n, "session"))
        };
        if skipped > 0 || errors > 0 {
            line.push_str(&format!(" ({skipped} skipped, {errors} errors)"));
        }
        line
    }
}

/// Installs a new [`Collector`] as the event handler until dropped.
pub struct Collecting(pub Arc<Collector>);

impl Collecting {
    pub fn install() -> Self {
        let c = Arc::new(Collector::default());
        let handler = c.clone();
        events::set_handler(Some(Arc::new(move |e: &Event| handler.on_event(e))));
        Collecting(c)
    }
}

impl Drop for Collecting {
    fn drop(&mut self) {
        events::set_handler(None);
    }
}

/// Only after this long does the progress line appear (short prunes stay quiet).
const SHOW_AFTER: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(125);

/// The progress line on stderr: drawn only when stderr is a terminal and the
/// prune has run for [`SHOW_AFTER`]; erased when the prune ends.
pub struct Progress {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Progress {
    /// Starts the progress line, or returns `None` if stderr is not a terminal
    /// or no thread can be created.
    pub fn start(collector: Arc<Collector>, dry_run: bool) -> Option<Progress> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let started = Instant::now();
        // No thread (RLIMIT_NPROC, a pids cgroup): no progress line, the prune goes on.
        let thread = std::thread::Builder::new().spawn(move || {
            let mut drawn = false;
            let mut frame = 0usize;
            // Until finish() sends (or the sender is dropped).
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                if started.elapsed() < SHOW_AFTER {
                    continue;
                }
                let spin = ['|', '/', '-', '\\'][frame % 4];
                frame += 1;
                // \r and "erase line": the line is redrawn in place.
                let _ = write!(std::io::stderr(), "\r\x1b[2K{}", collector.line(dry_run, spin));
                drawn = true;
            }
            if drawn {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            }
        });
        Some(Progress {
            stop,
            thread: thread.ok()?,
        })
    }

    /// Stops and erases the progress line (before the report is printed).
    pub fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
