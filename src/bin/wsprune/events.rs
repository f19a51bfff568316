//! `--events json`: the library's structured events, as they happen, one
//! JSON object a line on stderr: `{"time", "level", "event", "fields"}`
//! (docs/schemas/event.schema.json). Only shown, never read back: results
//! come from the library's result.

use std::sync::Arc;

use serde_json::json;
use wsprune::events::{self, Event, Level};

use crate::output::{self, Priority};

/// The stderr event stream, installed as the process-wide handler until dropped.
pub struct Streaming;

impl Streaming {
    pub fn install() -> Streaming {
        events::set_handler(Some(Arc::new(|e: &Event| {
            let p = match e.level {
                Level::Debug | Level::Info => Priority::Info,
                Level::Warning => Priority::Warning,
                Level::Error => Priority::Err,
            };
            let v = json!({
                "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "level": e.level.name(),
                "event": e.name,
                "fields": e.fields,
            });
            output::err_json(p, &v);
        })));
        Streaming
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        events::set_handler(None);
    }
}
