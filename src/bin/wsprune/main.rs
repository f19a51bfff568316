//! `wsprune`: the command-line tool over the wsprune library, for operators
//! who prune session workspaces from cron or a systemd timer, inspect them,
//! or handle one session by hand. See docs/cli.md.
//!
//! Exit status: 0 success; 1 some sessions could not be handled (prune,
//! repair, ls) or a prune's capacity target was not reached; 2 a usage error
//! or a fatal error. Errors are one line on stderr,
//! `wsprune: error: ...`; never a panic message or a backtrace.

mod commands;
mod progress;
mod units;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use units::{parse_cap_count, parse_cap_size, parse_duration};

const AFTER_HELP: &str = "\
Exit status: 0 success; 1 some sessions could not be handled (prune, repair,
ls) or a prune target was not reached; 2 usage error or fatal error (bad arguments, workspace root missing or not a
directory, busy, I/O error). Errors are printed as one line on stderr.";

const PRUNE_AFTER_HELP: &str = "\
Rules: a session goes if any rule selects it. --older-than deletes sessions
not used for that long. --max-total-size, --max-sessions and --min-free evict
the least recently used sessions until they are satisfied, but never a session
that is in use (leased), used within --min-age (default 1h; --min-age 0 for no
floor), or without readable metadata. Unless --older-than or --no-age-rule is
given, the age rule is --older-than 24h, also alongside size or count rules:
add --no-age-rule to prune by size or count alone. A size or count of 0 is
refused: leave the option out to turn the rule off. Sessions without metadata
(legacy) or with corrupted metadata are never deleted: see `wsprune repair`.

A size or count target that cannot be reached (every evictable session went
and it is still not met) is a line on stderr, `wsprune: target not reached:
RULE (wanted ..., have ...)`, and exit status 1.

DURATION: a number and a unit, ms, s, m, h, d or w (1.5h, 90m, 7d; sums such
as 3d4h too). SIZE: a number and a unit, B, K, M, G, T or P (also KB/KiB, ...,
any case); every unit is a power of 1024, as wsprune prints sizes. A number
without a unit is rejected (but a duration of 0).

Output: a line per deleted (or, with --dry-run, would-be-deleted), skipped and
failed session, a line per leftover trash directory finished (what an
interrupted deletion left; never reported as a session), then a summary line.
--json prints one JSON object instead: deleted_sessions (ids), deleted_rules
(id -> older_than | max_total_bytes | max_sessions | min_free_bytes),
skipped_sessions (ids), skipped_reasons (id -> missing_metadata |
corrupted_metadata | corrupted_timestamp | in_use), reclaimed_bytes, errors
(id, or trash directory name, -> message), interrupted (trash directory
names), dry_run, unmet_targets (rules not reached). On a terminal, a progress
line is shown on stderr after one second.

A workspace root that does not exist is an error (exit 2), so that a typo in a
cron line does not silently prune nothing.";

const ID_AFTER_HELP: &str = "\
Session ids: a UUID, hyphenated or 32 hex digits, any case (a new session is
named by its canonical spelling, lowercase hyphenated, which is printed; every
command finds it by any spelling), or a custom id: 1 to 255 bytes of UTF-8
without '/' or control characters, not starting with '.', not site-packages.
A directory named by a custom id is a session only when it holds
.metadata.json.";

const OPEN_AFTER_HELP: &str = "\
An existing session is opened (a directory without metadata, such as a legacy
session, gets fresh metadata dated now); otherwise it is created. Prints the
session id (the directory's name). Session ids as for `wsprune create`.";

/// Safe pruning and inspection of session workspaces (<ROOT>/<session id>/.metadata.json).
#[derive(Parser, Debug)]
#[command(name = "wsprune", version, arg_required_else_help = true, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Delete stale sessions: by idle time (default: --older-than 24h), total size, count or free space
    #[command(after_long_help = PRUNE_AFTER_HELP)]
    Prune(PruneArgs),
    /// List the sessions: id, created, last used, age, size, state
    #[command(after_long_help = LS_AFTER_HELP)]
    Ls(LsArgs),
    /// Create a session (and the root, if missing); prints its id
    #[command(after_long_help = ID_AFTER_HELP)]
    Create {
        /// Workspace root
        root: PathBuf,
        /// Session id (a UUID in any spelling, or a custom id); a new random UUID if omitted
        id: Option<String>,
    },
    /// Open a session, creating it if it does not exist (create-or-open); prints its id
    #[command(after_long_help = OPEN_AFTER_HELP)]
    Open {
        /// Workspace root
        root: PathBuf,
        /// Session id (a UUID in any spelling, or a custom id); a new random UUID if omitted
        id: Option<String>,
        /// Print a JSON object: {"session_id": ..., "created": true|false}
        #[arg(long)]
        json: bool,
    },
    /// Mark a session as just used (sets updated_at to now)
    Touch {
        /// Workspace root
        root: PathBuf,
        /// Session id
        id: String,
    },
    /// Delete one session now, whatever its age (a leased session is busy)
    Rm {
        /// Workspace root
        root: PathBuf,
        /// Session id
        id: String,
        /// Wait up to DURATION for the session's leases to be released [default: do not wait]
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        wait: Option<Duration>,
        /// Print {"session_id", "reclaimed_bytes"} as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Show one session
    Info {
        /// Workspace root
        root: PathBuf,
        /// Session id
        id: String,
        /// Print a JSON object (the fields of `ls --json`)
        #[arg(long)]
        json: bool,
    },
    /// Give sessions without (or with corrupted) metadata a .metadata.json dated by their newest file
    Repair {
        /// Workspace root
        root: PathBuf,
        /// Report what would be repaired; write nothing
        #[arg(long)]
        dry_run: bool,
        /// Print a JSON object: repaired [{session_id, previous_state, updated_at}], errors {id: message}, dry_run
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
struct PruneArgs {
    /// Workspace root (the directory holding one directory per session)
    root: PathBuf,
    /// Delete sessions not used for DURATION or more, e.g. 24h, 7d [default: 24h]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    older_than: Option<Duration>,
    /// Turn the age rule off (prune by size or count rules alone)
    #[arg(long, conflicts_with = "older_than")]
    no_age_rule: bool,
    /// Evict least recently used sessions until all sessions total at most SIZE, e.g. 50G
    #[arg(long, value_name = "SIZE", value_parser = parse_cap_size)]
    max_total_size: Option<u64>,
    /// Keep at most N sessions (the most recently used)
    #[arg(long, value_name = "N", value_parser = parse_cap_count)]
    max_sessions: Option<u64>,
    /// Evict least recently used sessions until the filesystem has SIZE available, e.g. 10G
    #[arg(long, value_name = "SIZE", value_parser = parse_cap_size)]
    min_free: Option<u64>,
    /// Delete at most N sessions in this run, the least recently used first
    #[arg(long, value_name = "N", value_parser = parse_cap_count)]
    max_deletions: Option<u64>,
    /// Size and count rules never evict a session used within DURATION (0: no floor) [default: 1h]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    min_age: Option<Duration>,
    /// Report what would be deleted; delete nothing
    #[arg(long)]
    dry_run: bool,
    /// Print the result as one JSON object (fields below)
    #[arg(long)]
    json: bool,
    /// Print only the summary line and errors
    #[arg(short, long, conflicts_with = "json")]
    quiet: bool,
    /// Sessions handled in parallel, 1 to 64; 0 picks the default [default: 4 per core, 4 to 16]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=64))]
    jobs: Option<u16>,
    /// Wait up to DURATION for another prune of the same root to finish, then fail as busy
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    lock_timeout: Duration,
}

const LS_AFTER_HELP: &str = "\
Times are UTC. AGE is the time since last use. STATE is ok, legacy (no
metadata), corrupted or unreadable (the session could not be read, e.g. no
permission: its size is unknown, shown as ?), with \", in use\" while a lease
is held. --json prints an array of objects: session_id, created_at and
updated_at (RFC 3339 UTC strings, or null), age_hours (number, or null;
negative if updated_at is in the future), size_bytes (number, or null when
unknown), state (ok | legacy | corrupted | unreadable), in_use (bool), problem
(string, or null). Unreadable sessions are counted in the totals line, and
make the exit status 1 with a warning on stderr.";

#[derive(Args, Debug)]
struct LsArgs {
    /// Workspace root
    root: PathBuf,
    /// Print a JSON array of objects instead of a table
    #[arg(long)]
    json: bool,
    /// Order: age (least recently used first; unknown ages last), size (largest first) or id
    #[arg(long, value_enum, default_value_t = SortKey::Age)]
    sort: SortKey,
    /// Reverse the order
    #[arg(short, long)]
    reverse: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum SortKey {
    Age,
    Size,
    Id,
}

/// A failure that ends the tool with exit status 2: one line on stderr.
#[derive(Debug)]
struct Fatal(String);

impl From<wsprune::Error> for Fatal {
    fn from(e: wsprune::Error) -> Self {
        Fatal(e.message().to_owned())
    }
}

/// Prints `wsprune: <kind>: <msg>` on stderr, ignoring a closed stderr.
fn complain(kind: &str, msg: &str) {
    let _ = writeln!(std::io::stderr(), "wsprune: {kind}: {msg}");
}

fn main() -> ExitCode {
    // A bug must still end as one line and exit status 2: no panic message, no backtrace.
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        complain("error", &format!("internal error (a bug in wsprune): {msg}{at}"));
        std::process::exit(2);
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match commands::run(cli.command) {
        Ok(code) => code,
        Err(Fatal(msg)) => {
            complain("error", &msg);
            ExitCode::from(2)
        }
    }
}

/// Help and version go to stdout with status 0; anything else is a usage
/// error, printed as one line (clap's message with its context and tips) with status 2.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        _ => {}
    }
    complain("error", &one_line(&e.render().to_string()));
    ExitCode::from(2)
}

/// Folds clap's multi-line error into one line: the message, its context
/// (`[possible values: ...]`) and tips, and which `--help` to read.
fn one_line(rendered: &str) -> String {
    let mut msg = String::new();
    for line in rendered.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with("Usage: ") || line.starts_with("For more information") {
            continue;
        }
        let line = line.strip_prefix("error: ").unwrap_or(line);
        if !msg.is_empty() {
            // "...not provided:" + "<ROOT>", "invalid value ..." + "[possible values: ...]": one phrase.
            msg.push_str(if msg.ends_with(':') || line.starts_with('[') {
                " "
            } else {
                "; "
            });
        }
        msg.push_str(line);
    }
    format!("{msg} (see '{} --help')", command_path(std::env::args().skip(1)))
}

/// `wsprune` and the subcommand named in `args`, if any.
fn command_path(args: impl Iterator<Item = String>) -> String {
    let cmd = Cli::command();
    let sub = args
        .take_while(|a| a != "--")
        .find(|a| cmd.find_subcommand(a).is_some() && a != "help");
    match sub {
        Some(s) => format!("wsprune {s}"),
        None => "wsprune".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn clap_errors_become_one_line() {
        let e = Cli::try_parse_from(["wsprune", "prune", "/x", "--dry"]).unwrap_err();
        let line = one_line(&e.render().to_string());
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("'--dry'") && line.contains("--dry-run"), "{line}");
        let args = ["/x", "prune", "--older-than", "3x"].map(String::from);
        assert_eq!(command_path(args.into_iter()), "wsprune prune");
    }
}
