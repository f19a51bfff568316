//! `wsprune repair`: metadata for legacy and corrupted sessions, dated by their newest file.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Map, Value};
use wsprune::escape::escape;

use crate::exit::{Exit, Fatal};
use crate::output;
use crate::root;
use crate::units::{format_time, format_time_json, plural};

pub fn run(root: &Path, dry_run: bool, as_json: bool) -> Result<Exit, Fatal> {
    output::set_json(as_json);
    root::require(root)?;
    let r = wsprune::repair_sessions(root, dry_run)?;
    let out = if as_json {
        let repaired: Vec<Value> = r
            .repaired
            .iter()
            .map(|x| {
                json!({
                    "session_id": x.session_id,
                    "previous_state": x.previous.as_str(),
                    "updated_at": format_time_json(x.updated_at),
                })
            })
            .collect();
        let errors: Map<String, Value> = r
            .errors
            .iter()
            .map(|(id, m)| (id.clone(), Value::from(m.as_str())))
            .collect();
        format!(
            "{}\n",
            json!({"repaired": repaired, "errors": errors, "dry_run": r.dry_run})
        )
    } else {
        let mut out = String::new();
        let verb = if dry_run { "would repair" } else { "repaired" };
        for x in &r.repaired {
            let _ = writeln!(
                out,
                "{verb:<12}  {:<36}  was {:<9}  last used {}",
                escape(&x.session_id),
                x.previous.as_str(),
                format_time(x.updated_at)
            );
        }
        for (id, msg) in &r.errors {
            let _ = writeln!(out, "{:<12}  {:<36}  {msg}", "error", escape(id));
        }
        let verb = if dry_run { "Would repair" } else { "Repaired" };
        let _ = writeln!(
            out,
            "{verb} {} ({})",
            plural(r.repaired.len(), "session"),
            plural(r.errors.len(), "error")
        );
        out
    };
    output::out(&out)?;
    if r.errors.is_empty() {
        return Ok(Exit::Ok);
    }
    let see = if as_json {
        "see \"errors\" in the output"
    } else {
        "listed above"
    };
    output::error(&format!(
        "{} could not be repaired ({see})",
        plural(r.errors.len(), "session")
    ));
    Ok(Exit::SomeFailed)
}
