//! `wsprune migrate`: register the sessions wsprune 0.3 or the reference implementation left.

use std::path::Path;

use wsprune::escape::escape;

use crate::exit::{Exit, Fatal};
use crate::output;
use crate::root;

pub const AFTER_HELP: &str = "\
A directory made by wsprune 0.3 or the reference implementation has only the
.metadata.json inside it, which its guest can write. migrate registers each
such session in the host-owned state (.wsprune/ in the root), trusting its
metadata this once; a UUID directory without metadata is registered dated now.
Directories with corrupted metadata (run wsprune repair first) and directories
locked by a runtime are skipped. Exit status 1 if any was skipped.";

pub fn run(root: &Path, dry_run: bool, as_json: bool) -> Result<Exit, Fatal> {
    output::set_json(as_json);
    root::require(root)?;
    let r = wsprune::migrate_sessions(root, dry_run)?;
    let out = if as_json {
        format!("{}\n", r.to_json())
    } else {
        let verb = if dry_run { "would register" } else { "registered" };
        let mut out = String::new();
        for m in &r.registered {
            let from = if m.had_metadata {
                "its metadata"
            } else {
                "no metadata: dated now"
            };
            out.push_str(&format!("{verb} {} ({from})\n", escape(&m.session_id)));
        }
        for (id, why) in &r.skipped {
            out.push_str(&format!("skipped {}: {}\n", escape(id), escape(why)));
        }
        out.push_str(&format!(
            "{} {} sessions in {} ({} skipped)\n",
            if dry_run { "Would register" } else { "Registered" },
            r.registered.len(),
            escape(&root.display().to_string()),
            r.skipped.len()
        ));
        out
    };
    output::out(&out)?;
    Ok(if r.skipped.is_empty() {
        Exit::Ok
    } else {
        Exit::SomeFailed
    })
}
