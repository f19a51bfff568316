//! The progress line on a terminal: sessions deleted so far and their size,
//! counted from the records the prune hands the tool as it goes.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wsprune::result::format_bytes;
use wsprune::Record;

use crate::output::STDERR;

/// Running counts of a prune.
#[derive(Default)]
pub struct Counts {
    deleted: AtomicU64,
    bytes: AtomicU64,
    skipped: AtomicU64,
    errors: AtomicU64,
}

impl Counts {
    pub fn add(&self, r: &Record) {
        match r {
            Record::Deleted { bytes, .. } => {
                self.deleted.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(*bytes, Ordering::Relaxed);
            }
            Record::Interrupted { bytes, .. } => {
                self.bytes.fetch_add(*bytes, Ordering::Relaxed);
            }
            Record::Skipped(_) => {
                self.skipped.fetch_add(1, Ordering::Relaxed);
            }
            Record::Error { .. } => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
            Record::Unmet(_) => {}
        }
    }

    fn line(&self, dry_run: bool, spin: char) -> String {
        let n = self.deleted.load(Ordering::Relaxed) as usize;
        let bytes = format_bytes(self.bytes.load(Ordering::Relaxed));
        let (skipped, errors) = (
            self.skipped.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        );
        let verb = if dry_run { "would delete" } else { "deleted" };
        // Nothing deleted yet: most likely still scanning (no total is known before).
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

/// Only after this long does the progress line appear (short prunes stay quiet).
const SHOW_AFTER: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(125);

/// The progress line on stderr, redrawn in place; erased when the prune ends
/// and before any other stderr line (see [`crate::output`]).
pub struct Progress {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Progress {
    /// Starts the progress line, or returns `None` if stderr is not a
    /// terminal, stdout already shows each session on the same terminal, or
    /// no thread can be created.
    pub fn start(counts: Arc<Counts>, dry_run: bool, lines_on_terminal: bool) -> Option<Progress> {
        if !std::io::stderr().is_terminal() || (lines_on_terminal && std::io::stdout().is_terminal()) {
            return None;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let started = Instant::now();
        // No thread (RLIMIT_NPROC, a pids cgroup): no progress line, the prune goes on.
        let thread = std::thread::Builder::new().spawn(move || {
            let mut frame = 0usize;
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                if started.elapsed() < SHOW_AFTER {
                    continue;
                }
                let spin = ['|', '/', '-', '\\'][frame % 4];
                frame += 1;
                let mut drawn = STDERR.lock().unwrap_or_else(|p| p.into_inner());
                // \r and "erase line": the line is redrawn in place.
                let _ = write!(std::io::stderr(), "\r\x1b[2K{}", counts.line(dry_run, spin));
                *drawn = true;
            }
            let mut drawn = STDERR.lock().unwrap_or_else(|p| p.into_inner());
            if *drawn {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
                *drawn = false;
            }
        });
        Some(Progress {
            stop,
            thread: thread.ok()?,
        })
    }

    /// Stops and erases the progress line.
    pub fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
