//! The subcommands. Each builds its whole output in a string, written to
//! stdout once at the end (a reader that went away, as `| head` does, is not
//! an error), and returns the exit status or a [`Fatal`] error.

use std::cmp::Reverse;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use chrono::Utc;
use serde_json::{json, Map, Value};
use wsprune::result::format_bytes;
use wsprune::{PruneOptions, PruneResult, Rule, SessionInfo, SessionState, Status, TouchOutcome};

use crate::progress::{Collecting, Progress};
use crate::units::{format_age, format_time, format_time_json, hours, plural};
use crate::{complain, Command, Fatal, LsArgs, PruneArgs, SortKey};

/// Exit status 1: the operation ran, but some sessions could not be handled.
const SOME_FAILED: u8 = 1;

pub fn run(command: Command) -> Result<ExitCode, Fatal> {
    match command {
        Command::Prune(a) => prune(a),
        Command::Ls(a) => ls(a),
        Command::Create { root, id } => create(&root, id.as_deref()),
        Command::Open { root, id, json } => open(&root, id.as_deref(), json),
        Command::Touch { root, id } => touch(&root, &id),
        Command::Rm { root, id, wait, json } => rm(&root, &id, wait, json),
        Command::Info { root, id, json } => info(&root, &id, json),
        Command::Repair { root, dry_run, json } => repair(&root, dry_run, json),
    }
}

/// Writes the command's output to stdout. A closed pipe is not an error.
fn print(out: &str) -> Result<(), Fatal> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Fatal(format!("cannot write to standard output: {e}"))),
    }
}

/// The workspace root must be an existing directory: the library treats a
/// missing root as empty for a prune, but for an operator it is a typo.
fn require_root(root: &Path) -> Result<(), Fatal> {
    if root.as_os_str().is_empty() {
        return Err(Fatal("workspace root is empty".into()));
    }
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Fatal(format!("workspace root {} is not a directory", root.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Fatal(format!("workspace root {} does not exist", root.display())))
        }
        Err(e) => Err(Fatal(format!("cannot access workspace root {}: {e}", root.display()))),
    }
}

// ------------------------------------------------------------------- prune

fn prune(a: PruneArgs) -> Result<ExitCode, Fatal> {
    require_root(&a.root)?;
    // Every default is the library's (docs/contract.md): the age rule stays
    // on beside size and count rules unless --no-age-rule turns it off.
    let defaults = PruneOptions::default();
    let opts = PruneOptions {
        older_than_hours: match a.older_than {
            _ if a.no_age_rule => None,
            Some(d) => Some(hours(d)),
            None => defaults.older_than_hours,
        },
        max_total_bytes: a.max_total_size,
        max_sessions: a.max_sessions,
        min_free_bytes: a.min_free,
        max_deletions: a.max_deletions,
        min_age_hours: a.min_age.map_or(defaults.min_age_hours, hours),
        dry_run: a.dry_run,
        jobs: a.jobs.map_or(0, usize::from),
        lock_timeout: a.lock_timeout,
    };
    let collecting = Collecting::install();
    let progress = Progress::start(collecting.0.clone(), a.dry_run);
    let result = wsprune::prune_sessions(&a.root, &opts);
    if let Some(p) = progress {
        p.finish();
    }
    let result = result?;

    let out = if a.json {
        format!("{}\n", result.to_json())
    } else {
        prune_report(&result, &collecting, a.quiet)
    };
    print(&out)?;
    let unmet = report_unmet(&result, &opts, &collecting);
    drop(collecting);
    if result.errors.is_empty() {
        return Ok(if unmet {
            ExitCode::from(SOME_FAILED)
        } else {
            ExitCode::SUCCESS
        });
    }
    let n = plural(result.errors.len(), "session");
    let what = if a.dry_run {
        "could not be checked"
    } else {
        "could not be deleted"
    };
    let see = if a.json {
        "see \"errors\" in the output"
    } else {
        "listed above"
    };
    complain("error", &format!("{n} {what} ({see})"));
    Ok(ExitCode::from(SOME_FAILED))
}

/// One stderr line per capacity target the prune did not reach, e.g.
/// `wsprune: target not reached: min_free_bytes (wanted 100.0 TB free, have 3.1 GB free)`;
/// true if there was any.
fn report_unmet(r: &PruneResult, opts: &PruneOptions, collecting: &Collecting) -> bool {
    for rule in &r.unmet_targets {
        let actual = collecting.0.unmet_actual(rule.as_str());
        let (wanted, have) = match rule {
            Rule::MaxTotalBytes => (
                opts.max_total_bytes.map(|t| format!("at most {}", format_bytes(t))),
                actual.map(format_bytes),
            ),
            Rule::MaxSessions => (
                opts.max_sessions
                    .map(|t| format!("at most {}", plural(t as usize, "session"))),
                actual.map(|n| plural(n as usize, "session")),
            ),
            Rule::MinFreeBytes => (
                opts.min_free_bytes.map(|t| format!("{} free", format_bytes(t))),
                actual.map(|n| format!("{} free", format_bytes(n))),
            ),
            Rule::OlderThan | Rule::Interrupted => (None, None),
        };
        let mut detail: Vec<String> = Vec::new();
        if let Some(w) = wanted {
            detail.push(format!("wanted {w}"));
        }
        if let Some(h) = have {
            let when = if r.dry_run { "would have" } else { "have" };
            detail.push(format!("{when} {h}"));
        }
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", detail.join(", "))
        };
        complain("target not reached", &format!("{rule}{detail}"));
    }
    !r.unmet_targets.is_empty()
}

/// The human report: deleted sessions (least recently used first), skipped
/// ones, errors, and the summary line. `quiet` keeps only errors and the summary.
fn prune_report(r: &PruneResult, collecting: &Collecting, quiet: bool) -> String {
    let mut out = String::new();
    if !quiet {
        let mut deleted: Vec<_> = r
            .deleted_sessions
            .iter()
            .zip(&r.deleted_rules)
            .map(|(id, rule)| (id, rule, collecting.0.deleted(id)))
            .collect();
        // Least recently used first (the order the size and count rules take them).
        deleted.sort_by(|a, b| {
            let age = |d: &Option<crate::progress::Deleted>| d.and_then(|d| d.age_hours).unwrap_or(f64::INFINITY);
            age(&b.2).total_cmp(&age(&a.2)).then_with(|| a.0.cmp(b.0))
        });
        let verb = if r.dry_run { "would delete" } else { "deleted" };
        for (id, rule, d) in deleted {
            let size = d.map_or("?".to_owned(), |d| format_bytes(d.bytes));
            let idle = d
                .and_then(|d| d.age_hours)
                .map_or(String::new(), |h| format!("idle {}", format_age(h)));
            let _ = writeln!(out, "{verb:<12}  {id:<36}  {:<15}  {size:>9}  {idle}", rule.as_str());
        }
        for s in &r.skipped_sessions {
            let _ = writeln!(out, "{:<12}  {:<36}  {}", "skipped", s.session_id, s.reason.as_str());
        }
        // Leftover trash: by its directory name, never as a session.
        let verb = if r.dry_run { "would finish" } else { "finished" };
        for name in &r.interrupted {
            let size = collecting
                .0
                .deleted(name)
                .map_or("?".to_owned(), |d| format_bytes(d.bytes));
            let _ = writeln!(out, "{verb:<12}  {name:<36}  {:<15}  {size:>9}", "interrupted");
        }
    }
    for (id, msg) in &r.errors {
        let _ = writeln!(out, "{:<12}  {id:<36}  {msg}", "error");
    }
    let _ = writeln!(out, "{}", r.summary());
    out.lines().map(|l| format!("{}\n", l.trim_end())).collect()
}

// ---------------------------------------------------------------------- ls

fn state_text(s: &SessionInfo) -> String {
    if s.in_use {
        format!("{}, in use", s.state.as_str())
    } else {
        s.state.as_str().to_owned()
    }
}

fn ls(a: LsArgs) -> Result<ExitCode, Fatal> {
    require_root(&a.root)?;
    let mut sessions = wsprune::list_sessions(&a.root, 0)?;
    let now = Utc::now();
    match a.sort {
        // Least recently used first; sessions with no known age (legacy, corrupted) last.
        SortKey::Age => sessions.sort_by(|x, y| {
            (x.updated_at.is_none(), x.updated_at, &x.session_id).cmp(&(
                y.updated_at.is_none(),
                y.updated_at,
                &y.session_id,
            ))
        }),
        // Largest first; unknown sizes last.
        SortKey::Size => sessions.sort_by(|x, y| {
            (x.known_size().is_none(), Reverse(x.known_size()), &x.session_id).cmp(&(
                y.known_size().is_none(),
                Reverse(y.known_size()),
                &y.session_id,
            ))
        }),
        SortKey::Id => sessions.sort_by(|x, y| x.session_id.cmp(&y.session_id)),
    }
    if a.reverse {
        sessions.reverse();
    }
    let unreadable = sessions.iter().filter(|s| s.state == SessionState::Unreadable).count();
    if a.json {
        let arr: Vec<Value> = sessions.iter().map(|s| s.to_json(now)).collect();
        print(&format!("{}\n", Value::Array(arr)))?;
        return Ok(warn_unreadable(unreadable, "\"problem\" in the output"));
    }
    let dash = || "-".to_owned();
    let mut rows = vec![[
        "SESSION ID".to_owned(),
        "CREATED".into(),
        "LAST USED".into(),
        "AGE".into(),
        "SIZE".into(),
        "STATE".into(),
    ]];
    for s in &sessions {
        rows.push([
            s.session_id.clone(),
            s.created_at.map_or_else(dash, format_time),
            s.updated_at.map_or_else(dash, format_time),
            s.age_hours(now).map_or_else(dash, format_age),
            s.known_size().map_or_else(|| "?".to_owned(), format_bytes),
            state_text(s),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let [id, created, used, age, size, state] = row;
        let [wi, wc, wu, wa, ws, _] = widths;
        let line = format!("{id:<wi$}  {created:<wc$}  {used:<wu$}  {age:>wa$}  {size:>ws$}  {state}");
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let total: u64 = sessions.iter().filter_map(SessionInfo::known_size).sum();
    let count = |f: &dyn Fn(&SessionInfo) -> bool| sessions.iter().filter(|s| f(s)).count();
    let notes: Vec<String> = [
        (count(&|s| s.state == SessionState::Legacy), "legacy"),
        (count(&|s| s.state == SessionState::Corrupted), "corrupted"),
        (count(&|s| s.in_use), "in use"),
        (unreadable, "unreadable, size unknown"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let _ = write!(
        out,
        "{}, {} total",
        plural(sessions.len(), "session"),
        format_bytes(total)
    );
    if !notes.is_empty() {
        let _ = write!(out, " ({})", notes.join(", "));
    }
    out.push('\n');
    print(&out)?;
    Ok(warn_unreadable(
        unreadable,
        "`wsprune info ROOT ID` or `ls --json` tells why",
    ))
}

/// Unreadable sessions are not a silent success: a warning on stderr and exit status 1.
fn warn_unreadable(n: usize, see: &str) -> ExitCode {
    if n == 0 {
        return ExitCode::SUCCESS;
    }
    complain(
        "warning",
        &format!(
            "{} could not be read (unreadable, size unknown; {see})",
            plural(n, "session")
        ),
    );
    ExitCode::from(SOME_FAILED)
}

// ------------------------------------------------------- single sessions

/// A missing root is created (the first session of a new workspace); something else in its place is an error.
fn creatable_root(root: &Path) -> Result<(), Fatal> {
    if root.exists() && !root.is_dir() {
        return Err(Fatal(format!("workspace root {} is not a directory", root.display())));
    }
    Ok(())
}

fn create(root: &Path, id: Option<&str>) -> Result<ExitCode, Fatal> {
    creatable_root(root)?;
    let id = wsprune::create_session(root, id)?;
    print(&format!("{id}\n"))?;
    Ok(ExitCode::SUCCESS)
}

fn open(root: &Path, id: Option<&str>, as_json: bool) -> Result<ExitCode, Fatal> {
    creatable_root(root)?;
    let (id, created) = wsprune::create_or_open_session(root, id)?;
    if as_json {
        print(&format!("{}\n", json!({"session_id": id, "created": created})))?;
    } else {
        print(&format!("{id}\n"))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn touch(root: &Path, id: &str) -> Result<ExitCode, Fatal> {
    require_root(root)?;
    match wsprune::touch_session(root, id)? {
        TouchOutcome::Updated(_) => {}
        TouchOutcome::Legacy if !wsprune::session_id::is_uuid(id.as_bytes()) => complain(
            "warning",
            &format!(
                "{id} has no metadata, so it is not a session; nothing to update (`wsprune open` gives it metadata)"
            ),
        ),
        TouchOutcome::Legacy => complain(
            "warning",
            &format!("session {id} has no metadata (legacy); nothing to update (`wsprune repair` gives it metadata)"),
        ),
        TouchOutcome::Corrupted(msg) => complain(
            "warning",
            &format!("session {id} has corrupted metadata, left as it is: {msg}"),
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn rm(root: &Path, id: &str, wait: Option<std::time::Duration>, as_json: bool) -> Result<ExitCode, Fatal> {
    require_root(root)?;
    let bytes = wsprune::delete_session(root, id, wait).map_err(|e| {
        if e.status() == Status::Busy && wait.is_none() {
            Fatal(format!("{} (--wait DURATION waits for it)", e.message()))
        } else {
            Fatal::from(e)
        }
    })?;
    if as_json {
        print(&format!(
            "{}\n",
            serde_json::json!({"session_id": id, "reclaimed_bytes": bytes})
        ))?;
    } else {
        print(&format!("Deleted {id}, reclaimed {}\n", format_bytes(bytes)))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn info(root: &Path, id: &str, as_json: bool) -> Result<ExitCode, Fatal> {
    require_root(root)?;
    let s = wsprune::session_info(root, id)?;
    let now = Utc::now();
    if as_json {
        print(&format!("{}\n", s.to_json(now)))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    let time = |t: Option<chrono::DateTime<Utc>>| t.map_or("-".to_owned(), format_time);
    let _ = writeln!(out, "session    {}", s.session_id);
    let _ = writeln!(out, "state      {}", state_text(&s));
    let _ = writeln!(out, "created    {}", time(s.created_at));
    match s.age_hours(now) {
        Some(h) => {
            let _ = writeln!(out, "last used  {} ({} ago)", time(s.updated_at), format_age(h));
        }
        None => {
            let _ = writeln!(out, "last used  -");
        }
    }
    let _ = writeln!(
        out,
        "size       {} ({} bytes)",
        format_bytes(s.size_bytes),
        s.size_bytes
    );
    if let Some(p) = &s.problem {
        let _ = writeln!(out, "problem    {p}");
    }
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn repair(root: &Path, dry_run: bool, as_json: bool) -> Result<ExitCode, Fatal> {
    require_root(root)?;
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
                x.session_id,
                x.previous.as_str(),
                format_time(x.updated_at)
            );
        }
        for (id, msg) in &r.errors {
            let _ = writeln!(out, "{:<12}  {id:<36}  {msg}", "error");
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
    print(&out)?;
    if r.errors.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let see = if as_json {
        "see \"errors\" in the output"
    } else {
        "listed above"
    };
    complain(
        "error",
        &format!("{} could not be repaired ({see})", plural(r.errors.len(), "session")),
    );
    Ok(ExitCode::from(SOME_FAILED))
}
