//! Structured events (the seed's structured logging): a name, a level and
//! JSON fields, delivered synchronously to one process-wide handler.

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

/// Installs `handler` as the process-wide event handler (`None` removes it).
/// The handler may itself call `set_handler`.
pub fn set_handler(handler: Option<Handler>) {
    let mut slot = HANDLER.write().unwrap_or_else(|p| p.into_inner());
    INSTALLED.store(handler.is_some(), Ordering::Release);
    *slot = handler;
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
        h(&Event {
            level,
            name,
            fields: fields(),
        });
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
