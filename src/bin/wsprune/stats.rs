//! `wsprune stats`: a root's statistics (sessions by state, leases, idle
//! times, sizes, the filesystem), as text or one JSON object.

use std::path::{Path, PathBuf};

use clap::Args;
use wsprune::result::format_bytes;
use wsprune::{workspace_stats, StatsOptions, WorkspaceStats};

use crate::exit::{Exit, Fatal};
use crate::output;
use crate::root;
use crate::units::format_age;

pub const AFTER_HELP: &str = "\
Idle times are counted for sessions whose last use is known (state ok), in
fixed buckets: at most 1h, 6h, 24h, 7d, 30d, and longer. --json prints one
object: collected_at, sessions {ok, legacy, corrupted, unreadable}, leased,
total_bytes (null without --sizes), idle [{le_seconds (null for the last
bucket), sessions, bytes (null without --sizes)}], oldest_idle_seconds (or
null), filesystem {size_bytes, available_bytes, inodes, free_inodes}.";

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Workspace root
    pub root: PathBuf,
    /// Also walk every session to sum its size (costs what `wsprune ls` costs)
    #[arg(long)]
    pub sizes: bool,
    /// Print one JSON object (fields below)
    #[arg(long)]
    pub json: bool,
}

/// The root's statistics (after the usual root checks), with the sizing
/// walk if `sizes`.
pub fn gather(root: &Path, sizes: bool) -> Result<WorkspaceStats, Fatal> {
    root::require(root)?;
    let opts = StatsOptions {
        measure_sizes: sizes,
        jobs: 0,
    };
    Ok(workspace_stats(root, &opts)?)
}

pub fn run(a: StatsArgs) -> Result<Exit, Fatal> {
    output::set_json(a.json);
    let s = gather(&a.root, a.sizes)?;
    if a.json {
        output::out(&format!("{}\n", s.to_json()))?;
        return Ok(Exit::Ok);
    }
    let bytes = |b: Option<u64>| b.map_or_else(|| "-".to_owned(), format_bytes);
    let mut text = format!(
        "{}: {} sessions ({} ok, {} legacy, {} corrupted, {} unreadable), {} leased, {}\n",
        root::shown(&a.root),
        s.sessions(),
        s.ok,
        s.legacy,
        s.corrupted,
        s.unreadable,
        s.leased,
        bytes(s.total_bytes)
    );
    for b in &s.idle {
        let le = if b.upper_seconds.is_finite() {
            format!("<= {}", format_age(b.upper_seconds / 3600.0))
        } else {
            "longer".to_owned()
        };
        text.push_str(&format!(
            "  idle {le:>7}  {:>6} sessions  {:>10}\n",
            b.sessions,
            bytes(b.bytes)
        ));
    }
    if let Some(o) = s.oldest_idle_seconds {
        text.push_str(&format!("  oldest idle {}\n", format_age(o / 3600.0)));
    }
    let f = &s.filesystem;
    text.push_str(&format!(
        "  filesystem {} of {} available, {} of {} inodes free\n",
        format_bytes(f.available_bytes),
        format_bytes(f.size_bytes),
        f.free_inodes,
        f.inodes
    ));
    output::out(&text)?;
    Ok(Exit::Ok)
}
