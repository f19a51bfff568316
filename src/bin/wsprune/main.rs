//! `wsprune`: the command-line tool over the wsprune library, for operators
//! who prune session workspaces from cron or a systemd timer, inspect them,
//! or handle one session by hand. See docs/cli.md.
//!
//! One file per subcommand (its arguments, help and code); `exit.rs` has the
//! exit statuses, `output.rs` where lines go. Errors are one line on stderr,
//! `wsprune: error: ...`; never a panic message or a backtrace.

mod events;
mod exit;
mod lease;
mod ls;
mod metrics;
mod migrate;
mod output;
mod progress;
mod prune;
mod repair;
mod root;
mod rules;
mod sessions;
mod shared_fs;
mod signals;
mod stats;
mod units;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};

use exit::{Exit, Fatal};
use units::parse_duration;

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

const LABEL_AFTER_HELP: &str = "\
Labels live in the session's host-owned record (never in .metadata.json, which
the guest can write). A key is [PREFIX/]NAME: NAME 1 to 63 letters, digits,
'-', '_' or '.', beginning and ending with a letter or digit; PREFIX a
lowercase DNS name. A value is empty or like NAME. At most 32 labels. Every
change is checked before any is made. Prune and ls select by them (--label
SELECTOR); prune caps owners by one (--per-owner KEY).";

/// Safe pruning and inspection of session workspaces (<ROOT>/<session id>/.metadata.json).
#[derive(Parser, Debug)]
#[command(name = "wsprune", version, arg_required_else_help = true, after_help = exit::HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Delete stale sessions: by idle time (default: --older-than 24h), total size, count or free space
    #[command(after_long_help = prune::AFTER_HELP)]
    Prune(Box<prune::PruneArgs>),
    /// Keep pruning one root: a capacity prune as soon as a high watermark is reached, the age rule periodically
    #[command(after_long_help = watch::AFTER_HELP)]
    Watch(Box<watch::WatchArgs>),
    /// List the sessions: id, created, last used, age, size, state
    #[command(after_long_help = ls::AFTER_HELP)]
    Ls(ls::LsArgs),
    /// Show a root's statistics: sessions by state, leases, idle times, sizes, free space
    #[command(after_long_help = stats::AFTER_HELP)]
    Stats(stats::StatsArgs),
    /// Print a root's statistics as Prometheus metrics (text format)
    #[command(after_long_help = metrics::AFTER_HELP)]
    Metrics(metrics::MetricsArgs),
    /// Hold a lease on a session while COMMAND runs, then touch it (flock(1) for sessions)
    #[command(after_long_help = lease::AFTER_HELP)]
    Lease(lease::LeaseArgs),
    /// Create a session (and the root, if missing); prints its id
    #[command(after_long_help = ID_AFTER_HELP)]
    Create {
        /// Workspace root
        root: PathBuf,
        /// Session id (a UUID in any spelling, or a custom id); a new random UUID if omitted
        id: Option<String>,
        #[command(flatten)]
        session: sessions::SessionArgs,
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
        /// Adopt an existing directory that is neither a registered session nor holds valid metadata
        #[arg(long)]
        adopt: bool,
        #[command(flatten)]
        session: sessions::SessionArgs,
    },
    /// Register the sessions that only have a .metadata.json (made by wsprune 0.3 or the reference implementation)
    #[command(after_long_help = migrate::AFTER_HELP)]
    Migrate {
        /// Workspace root
        root: PathBuf,
        /// Report what would be registered; write nothing
        #[arg(long)]
        dry_run: bool,
        /// Print a JSON object: registered [{session_id, had_metadata, updated_at}], skipped {id: reason}, dry_run
        #[arg(long)]
        json: bool,
    },
    /// Set (KEY=VALUE) or remove (KEY-) labels of a session; prints its labels
    #[command(after_long_help = LABEL_AFTER_HELP)]
    Label {
        /// Workspace root
        root: PathBuf,
        /// Session id
        id: String,
        /// KEY=VALUE sets a label, KEY- removes one (applied in order)
        #[arg(required = true, value_name = "CHANGE")]
        changes: Vec<String>,
        /// Print a JSON object: {"session_id", "labels": {key: value}}
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
        /// Declare that no other host uses ROOT: delete on NFS, SMB, 9p or FUSE (refused
        /// without it: a lease there is kept by one host only) with a warning
        #[arg(long)]
        single_host: bool,
        /// Delete the session even if it is pinned
        #[arg(long)]
        force: bool,
    },
    /// Pin a session: no rule deletes it while pinned; rm needs --force
    Pin {
        /// Workspace root
        root: PathBuf,
        /// Session id
        id: String,
        /// End the pin at TIME: +DURATION from now or a timestamp [default: until unpinned]
        #[arg(long, value_name = "TIME", value_parser = units::parse_time)]
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Remove a session's pin
    Unpin {
        /// Workspace root
        root: PathBuf,
        /// Session id
        id: String,
    },
    /// Set (replace) a session's own TTL: --idle-ttl, --expires-at, both, or --clear
    #[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["idle_ttl", "expires_at", "clear"])))]
    Ttl {
        /// Workspace root
        root: PathBuf,
        /// Session id
        id: String,
        /// Delete the session once idle this long, whatever the age rule (e.g. 1h)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        idle_ttl: Option<Duration>,
        /// Delete the session at TIME: +DURATION from now or a timestamp
        #[arg(long, value_name = "TIME", value_parser = units::parse_time)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        /// Remove the session's TTL
        #[arg(long, conflicts_with_all = ["idle_ttl", "expires_at"])]
        clear: bool,
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

fn main() -> ExitCode {
    // A bug must still end as one line and its exit status: no panic message, no backtrace.
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
        output::fatal(&Fatal::new(
            Exit::Software,
            format!("internal error (a bug in wsprune): {msg}{at}"),
        ));
        std::process::exit(Exit::Software.code().into());
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match run(cli.command) {
        Ok(exit) => exit.into(),
        Err(f) => {
            output::fatal(&f);
            f.exit.into()
        }
    }
}

fn run(command: Command) -> Result<Exit, Fatal> {
    match command {
        Command::Prune(a) => prune::run(*a),
        Command::Watch(a) => watch::run(*a),
        Command::Ls(a) => ls::run(a),
        Command::Stats(a) => stats::run(a),
        Command::Metrics(a) => metrics::run(a),
        Command::Lease(a) => lease::run(a),
        Command::Create { root, id, session } => sessions::create(&root, id.as_deref(), &session.options(false)?),
        Command::Open {
            root,
            id,
            json,
            adopt,
            session,
        } => sessions::open(&root, id.as_deref(), json, &session.options(adopt)?),
        Command::Migrate { root, dry_run, json } => migrate::run(&root, dry_run, json),
        Command::Label {
            root,
            id,
            changes,
            json,
        } => sessions::label(&root, &id, &changes, json),
        Command::Touch { root, id } => sessions::touch(&root, &id),
        Command::Rm {
            root,
            id,
            wait,
            json,
            single_host,
            force,
        } => sessions::rm(&root, &id, wait, json, single_host, force),
        Command::Info { root, id, json } => sessions::info(&root, &id, json),
        Command::Pin { root, id, until } => sessions::pin(&root, &id, until),
        Command::Unpin { root, id } => sessions::unpin(&root, &id),
        Command::Ttl {
            root,
            id,
            idle_ttl,
            expires_at,
            clear: _,
        } => sessions::ttl(
            &root,
            &id,
            &wsprune::Ttl {
                idle: idle_ttl,
                expires_at,
            },
        ),
        Command::Repair { root, dry_run, json } => repair::run(&root, dry_run, json),
    }
}

/// Help and version go to stdout with status 0; anything else is a usage
/// error, printed as one line (clap's message with its context and tips) with status 64.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return Exit::Usage.into();
        }
        _ => {}
    }
    output::error(&one_line(&e.render().to_string()));
    Exit::Usage.into()
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
