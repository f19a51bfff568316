//! `wsprune prune`: each session's line as it is handled (results on stdout,
//! failures on stderr), the summary naming the root, a JSON object for
//! machines, and SIGTERM/SIGINT that stop after the session under way.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use wsprune::escape::escape;
use wsprune::result::format_bytes;
use wsprune::{PruneControl, PruneOptions, PruneResult, Record, Rule};

use crate::exit::{Exit, Fatal};
use crate::output::{self, Priority};
use crate::progress::{Counts, Progress};
use crate::rules::RuleArgs;
use crate::units::{format_age, plural};
use crate::{metrics, root, signals};

pub const AFTER_HELP: &str = "\
Rules: a session goes if any rule selects it. --older-than deletes sessions
not used for that long. --max-total-size, --max-sessions and --min-free evict
the least recently used sessions until they are satisfied, but never a session
that is in use (leased), used within --min-age (default 1h; --min-age 0 for no
floor), or without readable metadata. Unless --older-than or --no-age-rule is
given, the age rule is --older-than 24h, also alongside size or count rules:
add --no-age-rule to prune by size or count alone. --no-age-rule with no size
or count rule selects nothing: a usage error (exit 64) unless --allow-no-rule
asks for it (the run then only finishes leftover trash). A size or count of 0
is refused: leave the option out to turn the rule off. Sessions without
metadata (legacy) or with corrupted metadata are never deleted: see `wsprune
repair`.

A size or count target that cannot be reached (every evictable session went
and it is still not met) is a line on stderr, `wsprune: target not reached:
RULE in ROOT (wanted ..., have ...)`, and exit status 3.

DURATION: a number and a unit, ms, s, m, h, d or w (1.5h, 90m, 7d; sums such
as 3d4h too). SIZE: a number and a unit, B, K, M, G, T or P (also KB/KiB, ...,
any case); every unit is a power of 1024, as wsprune prints sizes. A number
without a unit is rejected (but a duration of 0).

Output, as the prune goes: on stdout a line per deleted (with --dry-run,
would-be-deleted) and skipped session and per leftover trash directory
finished; on stderr a line per session that could not be handled, `wsprune:
error: ID: MESSAGE`. Then the summary on stdout, `ROOT: Pruned N sessions
(...)`. -q keeps the summary and the errors. Names a guest chose are escaped
(\\n, \\x1b, \\u{202e}, ...). --json prints one JSON object instead of the
stdout lines (docs/schemas/prune.schema.json): schema_version, tool_version,
root, started_at, duration_seconds, dry_run, free_bytes_before,
free_bytes_after, deleted [{session_id, rule, bytes, age_hours}],
deleted_sessions, deleted_rules, skipped_sessions, skipped_reasons,
reclaimed_bytes, errors, interrupted, interrupted_bytes, unmet_targets
[{rule, target, actual}], signal, exit_code; a fatal error prints
{schema_version, tool_version, error: {status, exit_code, message}}.
--events json streams the library's events to stderr, one JSON object a line.
When stdout or stderr is the journal ($JOURNAL_STREAM), lines carry sd-daemon
priority prefixes (<3> errors, <4> warnings, <5> the summary, <6> the rest).
On a terminal, a progress line is shown on stderr after one second.

SIGTERM or SIGINT: the sessions being deleted are finished, no other is
started, the summary is printed and the exit status is 143 (130 for SIGINT);
the rest is left for the next prune. A second signal ends the run at once.

A workspace root that does not exist is an error (exit 66), so that a typo in
a cron line does not silently prune nothing; a root that is not writable
(read-only filesystem) is one error (exit 77), not one per session.";

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Workspace root (the directory holding one directory per session)
    pub root: PathBuf,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Report what would be deleted; delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as one JSON object (fields below)
    #[arg(long)]
    pub json: bool,
    /// Print only the summary line and errors
    #[arg(short, long, conflicts_with = "json")]
    pub quiet: bool,
    /// Stream the library's events to stderr as they happen, one JSON object a line
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub events: Option<EventFormat>,
    /// After the prune, write the root's metrics and the prune's outcome to FILE (Prometheus text
    /// format, replaced atomically; for node_exporter's textfile collector)
    #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
    pub metrics_file: Option<PathBuf>,
    /// With --dry-run: what a prune at TIME would delete (+DURATION from now, or a timestamp)
    #[arg(long, value_name = "TIME", value_parser = crate::units::parse_time)]
    pub as_of: Option<chrono::DateTime<Utc>>,
}

/// How `--events` writes the library's events.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventFormat {
    /// One JSON object a line: {"time", "level", "event", "fields"}
    Json,
}

/// The prune; with --metrics-file, its outcome is written to the metrics
/// file whether it succeeded or failed.
pub fn run(a: PruneArgs) -> Result<Exit, Fatal> {
    let started_at = Utc::now();
    let clock = Instant::now();
    let mut metrics_written = false;
    let outcome = prune(&a, started_at, clock, &mut metrics_written);
    if let (Err(fatal), Some(path), false) = (&outcome, &a.metrics_file, metrics_written) {
        // It failed before it had a result: the file says so.
        let run = metrics::PruneRun {
            result: None,
            finished_at: Utc::now(),
            duration: clock.elapsed(),
            interrupted: signals::received().is_some(),
        };
        metrics::write_or_report(path, &a.root, &run, fatal.exit);
    }
    outcome
}

fn prune(a: &PruneArgs, started_at: DateTime<Utc>, clock: Instant, metrics_written: &mut bool) -> Result<Exit, Fatal> {
    output::set_json(a.json);
    root::require(&a.root)?;
    let mut opts = a.rules.options(a.dry_run)?;
    opts.as_of = a.as_of;
    // Checked as the library would: a look-ahead needs a dry run.
    opts.validate().map_err(|e| Fatal::new(Exit::Usage, e.message()))?;
    if !a.dry_run {
        root::require_writable(&a.root, "nothing was pruned")?;
    }
    crate::shared_fs::warn_if_declared(&a.root, a.rules.single_host);
    let free_before = root::free_bytes(&a.root);

    let counts = Arc::new(Counts::default());
    let lines = !a.json && !a.quiet;
    let control = PruneControl {
        cancel: Some(signals::install()),
        on_record: Some(Arc::new({
            let counts = counts.clone();
            let dry_run = a.dry_run;
            move |r: &Record| {
                counts.add(r);
                show(r, dry_run, lines);
            }
        })),
    };
    let _events = a.events.map(|_| crate::events::Streaming::install());
    let progress = Progress::start(counts, a.dry_run, lines);
    let result = wsprune::prune_sessions_with(&a.root, &opts, &control);
    if let Some(p) = progress {
        p.finish();
    }
    drop(_events);
    let result = result?;
    let signal = signals::received();
    let mut exit = exit_of(&result, signal);
    if let Some(path) = &a.metrics_file {
        // Before the summary, so that the summary's exit status is the run's.
        let run = metrics::PruneRun {
            result: Some(&result),
            finished_at: Utc::now(),
            duration: clock.elapsed(),
            interrupted: signal.is_some(),
        };
        exit = metrics::write_or_report(path, &a.root, &run, exit);
        *metrics_written = true;
    }

    if a.json {
        let v = json_of(
            a,
            &result,
            JsonRun {
                started_at,
                duration: clock.elapsed(),
                free_before,
                free_after: root::free_bytes(&a.root),
                signal,
                exit,
            },
        );
        output::out(&format!("{v}\n"))?;
    } else {
        output::out_with(
            Priority::Notice,
            &format!("{}: {}\n", root::shown(&a.root), result.summary()),
        )?;
    }
    report_on_stderr(a, &result, &opts, signal);
    Ok(exit)
}

/// A signal first, then failed sessions, then unreached targets.
fn exit_of(r: &PruneResult, signal: Option<i32>) -> Exit {
    if let Some(s) = signal {
        Exit::Signal(s)
    } else if !r.errors.is_empty() {
        Exit::SomeFailed
    } else if !r.unmet_targets.is_empty() {
        Exit::TargetNotReached
    } else {
        Exit::Ok
    }
}

/// One record as the prune makes it: a result line on stdout (unless
/// `lines` is off: `-q`, `--json`), a failure on stderr always.
fn show(r: &Record, dry_run: bool, lines: bool) {
    let mut line = String::new();
    match r {
        Record::Error { id, message } => {
            output::error(&format!("{}: {message}", escape(id)));
            return;
        }
        Record::Unmet(_) => return,
        _ if !lines => return,
        Record::Deleted {
            session_id,
            rule,
            bytes,
            age_hours,
        } => {
            let verb = if dry_run { "would delete" } else { "deleted" };
            let idle = if age_hours.is_finite() {
                format!("idle {}", format_age(*age_hours))
            } else {
                String::new()
            };
            let _ = write!(
                line,
                "{verb:<12}  {:<36}  {:<15}  {:>9}  {idle}",
                escape(session_id),
                rule.as_str(),
                format_bytes(*bytes)
            );
        }
        Record::Skipped(s) => {
            let _ = write!(
                line,
                "{:<12}  {:<36}  {}",
                "skipped",
                escape(&s.session_id),
                s.reason.as_str()
            );
        }
        Record::Interrupted { name, bytes } => {
            // Leftover trash: by its directory name, never as a session.
            let verb = if dry_run { "would finish" } else { "finished" };
            let _ = write!(
                line,
                "{verb:<12}  {:<36}  {:<15}  {:>9}",
                escape(name),
                "interrupted",
                format_bytes(*bytes)
            );
        }
    }
    // A failure to write stdout shows again, and ends the run, at the summary.
    let _ = output::out(&format!("{}\n", line.trim_end()));
}

/// After the summary, on stderr: how many failed, each unreached target, an
/// interruption; each naming the root.
fn report_on_stderr(a: &PruneArgs, r: &PruneResult, opts: &PruneOptions, signal: Option<i32>) {
    let root = root::shown(&a.root);
    for u in &r.unmet {
        let (wanted, have) = match u.rule {
            Rule::MaxTotalBytes => (format!("at most {}", format_bytes(u.target)), format_bytes(u.actual)),
            Rule::MaxSessions => (
                format!("at most {}", plural(u.target as usize, "session")),
                plural(u.actual as usize, "session"),
            ),
            Rule::MinFreeBytes => (
                format!("{} free", format_bytes(u.target)),
                format!("{} free", format_bytes(u.actual)),
            ),
            Rule::Watermark => (
                format!("at most {} used", format_bytes(u.target)),
                format!("{} used", format_bytes(u.actual)),
            ),
            Rule::InodeWatermark => (
                format!("at most {} inodes used", u.target),
                format!("{} inodes used", u.actual),
            ),
            Rule::MaxSessionsPerOwner => (
                format!("at most {} per owner", plural(u.target as usize, "session")),
                format!("{} (the largest owner)", plural(u.actual as usize, "session")),
            ),
            Rule::MaxBytesPerOwner => (
                format!("at most {} per owner", format_bytes(u.target)),
                format!("{} (the largest owner)", format_bytes(u.actual)),
            ),
            Rule::OlderThan | Rule::Interrupted | Rule::Ttl => continue,
        };
        let when = if r.dry_run { "would have" } else { "have" };
        output::say(
            Priority::Warning,
            "target not reached",
            &format!("{} in {root} (wanted {wanted}, {when} {have})", u.rule),
        );
    }
    if !r.errors.is_empty() {
        let what = if opts.dry_run {
            "could not be checked"
        } else {
            "could not be deleted"
        };
        let see = if a.json {
            "see \"errors\" in the output"
        } else {
            "listed above"
        };
        output::error(&format!(
            "{} {what} in {root} ({see})",
            plural(r.errors.len(), "session")
        ));
    }
    if let Some(s) = signal {
        output::warning(&format!(
            "interrupted by {} in {root}: the sessions under way were finished, no other was started; the next prune \
             takes the rest",
            signals::name(s)
        ));
    }
}

/// What `--json` adds to the library's result.
struct JsonRun {
    started_at: chrono::DateTime<Utc>,
    duration: Duration,
    free_before: Option<u64>,
    free_after: Option<u64>,
    signal: Option<i32>,
    exit: Exit,
}

/// The `--json` object (docs/schemas/prune.schema.json).
fn json_of(a: &PruneArgs, r: &PruneResult, run: JsonRun) -> Value {
    let mut m = output::envelope();
    let lib = r.to_json();
    m.insert("root".into(), json!(a.root.to_string_lossy()));
    m.insert(
        "started_at".into(),
        json!(run.started_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
    );
    m.insert("duration_seconds".into(), json!(run.duration.as_secs_f64()));
    m.insert("dry_run".into(), json!(r.dry_run));
    m.insert("free_bytes_before".into(), json!(run.free_before));
    m.insert("free_bytes_after".into(), json!(run.free_after));
    let deleted: Vec<Value> = (0..r.deleted_sessions.len())
        .map(|i| {
            json!({
                "session_id": r.deleted_sessions[i],
                "rule": r.deleted_rules[i].as_str(),
                "bytes": r.deleted_bytes[i],
                "age_hours": finite(r.deleted_age_hours[i]),
            })
        })
        .collect();
    m.insert("deleted".into(), Value::Array(deleted));
    for key in [
        "deleted_sessions",
        "deleted_rules",
        "skipped_sessions",
        "skipped_reasons",
        "reclaimed_bytes",
        "errors",
        "interrupted",
    ] {
        m.insert(key.into(), lib[key].clone());
    }
    let interrupted_bytes: Map<String, Value> = r
        .interrupted
        .iter()
        .zip(&r.interrupted_bytes)
        .map(|(n, b)| (n.clone(), json!(b)))
        .collect();
    m.insert("interrupted_bytes".into(), Value::Object(interrupted_bytes));
    let unmet: Vec<Value> = r
        .unmet
        .iter()
        .map(|u| json!({"rule": u.rule.as_str(), "target": u.target, "actual": u.actual}))
        .collect();
    m.insert("unmet_targets".into(), Value::Array(unmet));
    m.insert("signal".into(), json!(run.signal.map(signals::name)));
    m.insert("exit_code".into(), json!(run.exit.code()));
    Value::Object(m)
}

/// A number JSON can hold (NaN, for an age not known, is null).
fn finite(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}
