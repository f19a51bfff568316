//! Pruning: which sessions go, and the locked, atomic way they go.
//!
//! A prune runs in phases, each in its own file of `src/prune/`:
//! 1. `lock.rs`: take the workspace lock (an exclusive `flock` on the host
//!    directory's lock file, see [`crate::host_state`]; shared for a dry
//!    run), so two prunes of one root never both count the same bytes as
//!    theirs to free.
//! 2. `scan.rs` lists the root; `trash.rs` finishes the trash left by an
//!    interrupted prune.
//! 3. With the age rule alone, each session (a real directory on the root's
//!    mount: registered, or named by a UUID, or by a custom id and holding
//!    `.metadata.json`) is handled in one pass on one of `jobs` worker
//!    threads (`delete.rs`). With size or count rules, every session is
//!    first scanned (`scan.rs`: reading only `updated_at` from its metadata,
//!    and its size), `select.rs` picks the sessions that go, oldest first,
//!    and each is then handled by a worker (`delete.rs`).
//!
//! What a prune decides about a registered session rests on its record and
//! its lock file, both host-owned; nothing the guest writes in its directory
//! changes it (see [`crate::entry`]). Handling a session locks it, checks it
//! is still the session seen, and renames it to trash before emptying it
//! (see [`delete_session`], which deletes one session the same way). Results
//! and events are produced on the calling thread (`record.rs`).

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::control::{self, PruneControl};
use crate::error::{Error, Result, Status};
use crate::events::{self, Level};
use crate::fd::{self, DirId};
use crate::fields;
use crate::fs_usage::FsUsage;
use crate::host_state::{self, HostDir};
use crate::policy::PruneOptions;
use crate::result::{PruneResult, SkipReason};
use crate::session;

mod delete;
mod lock;
mod owners;
mod record;
mod scan;
mod select;
mod trash;

pub use delete::{delete_session, delete_session_with};
pub(crate) use lock::lock_workspace_for;
pub use trash::TRASH_PREFIX;

/// Prunes the sessions under `root` that `opts` selects (see the module
/// documentation for how). A missing root gives an empty result. Invalid
/// options (a negative, NaN or infinite number of hours, a cap or limit of
/// `Some(0)`) or an empty root are [`Status::InvalidArgument`]; another prune of the same root running
/// for longer than `opts.lock_timeout` is [`Status::Busy`], and so, at once,
/// is a prune started from an event handler of a prune of the same root on
/// the same thread (it would wait for that prune's lock; nested dry runs share
/// the lock and run). An error on one
/// session is recorded in the result and the prune carries on. The result's
/// lists are sorted by session id; capacity targets still out of reach at the
/// end are in its `unmet_targets`.
pub fn prune_sessions(root: &Path, opts: &PruneOptions) -> Result<PruneResult> {
    prune_sessions_with(root, opts, &PruneControl::default())
}

/// [`prune_sessions`] under `control`: cancellable between sessions, and
/// reporting each session to a hook as it is recorded (see [`PruneControl`]).
pub fn prune_sessions_with(root: &Path, opts: &PruneOptions, control: &PruneControl) -> Result<PruneResult> {
    control::scoped(control, || prune_controlled(root, opts))
}

/// The whole prune, under the caller's control: validate, announce, open and
/// lock the root, run the phases, announce the totals.
fn prune_controlled(root: &Path, opts: &PruneOptions) -> Result<PruneResult> {
    opts.validate()?;
    session::check_root(root)?;
    let jobs = opts.effective_jobs();
    emit_started(root, opts, jobs);
    let mut result = PruneResult::new(opts.dry_run);
    match session::open_root(root) {
        Ok(root_fd) => {
            let rfd = root_fd.as_fd();
            crate::shared_fs::check_root(rfd, root, opts.single_host, "prune")?;
            let root_id = fd::dir_id(rfd).map_err(|e| Error::io("cannot stat workspace root", e))?;
            let host = open_host(rfd, root, opts.dry_run)?;
            let _held = lock::lock_workspace(rfd, &root_id, host.as_ref(), opts.dry_run, opts.lock_timeout, root)?;
            let mut pruner = Pruner {
                rfd,
                host: host.as_ref(),
                root_id,
                opts,
                jobs,
                // The look-ahead decides as of its time (a dry run only: validated).
                now: opts.as_of.unwrap_or_else(Utc::now),
                result: &mut result,
                deletions: 0,
                relabelled: Vec::new(),
            };
            pruner.run()?;
            // root_fd closes here, releasing the workspace lock (and `_held` forgets it).
        }
        Err(e) if e.status() == Status::NotFound => {}
        Err(e) => return Err(e),
    }
    result.sort();
    emit_completed(&result);
    Ok(result)
}

/// Emits `session.prune.started` with the options the prune runs with.
fn emit_started(root: &Path, opts: &PruneOptions, jobs: usize) {
    let opt = |v: Option<u64>| v.map(Value::from).unwrap_or(Value::Null);
    let pct = |v: Option<f64>| v.map(Value::from).unwrap_or(Value::Null);
    events::emit(Level::Info, "session.prune.started", || {
        fields! {
            "threshold_hours" => opts.older_than_hours.map(Value::from).unwrap_or(Value::Null),
            "workspace_root" => root.to_string_lossy(),
            "dry_run" => opts.dry_run,
            "max_total_bytes" => opt(opts.max_total_bytes),
            "max_sessions" => opt(opts.max_sessions),
            "min_free_bytes" => opt(opts.min_free_bytes),
            "min_free_percent" => pct(opts.min_free_percent),
            "high_watermark_percent" => pct(opts.high_watermark_percent),
            "low_watermark_percent" => pct(opts.low_watermark()),
            "high_inode_watermark_percent" => pct(opts.high_inode_watermark_percent),
            "low_inode_watermark_percent" => pct(opts.low_inode_watermark()),
            "max_deletions" => opt(opts.max_deletions),
            "min_age_hours" => opts.min_age_hours,
            "jobs" => jobs,
            "as_of" => opts.as_of.map_or(Value::Null, |t| crate::metadata::format_timestamp(t).into()),
        }
    });
}

/// Emits `session.prune.completed` with the prune's totals.
fn emit_completed(result: &PruneResult) {
    events::emit(Level::Info, "session.prune.completed", || {
        fields! {
            "deleted_count" => result.deleted_sessions.len(),
            "skipped_count" => result.skipped_sessions.len(),
            "error_count" => result.errors.len(),
            "interrupted_count" => result.interrupted.len(),
            "reclaimed_bytes" => result.reclaimed_bytes,
            "dry_run" => result.dry_run,
        }
    });
}

/// The root's host directory, created unless this is a dry run (a dry run
/// changes nothing, so it creates no host directory either) or there is no
/// room for it.
fn open_host(rfd: BorrowedFd<'_>, root: &Path, dry_run: bool) -> Result<Option<HostDir>> {
    if dry_run {
        return session::host_dir(rfd);
    }
    match HostDir::open_or_create(rfd) {
        Ok(h) => Ok(Some(h)),
        // A full (or read-only) filesystem is where a prune is needed most:
        // prune it with what is there.
        Err(e) if host_state::is_no_room(&e) => session::host_dir(rfd),
        Err(e) => Err(Error::io(
            format_args!("cannot create the host directory of {}", root.display()),
            e,
        )),
    }
}

/// One prune of an open, locked root, and what it has done so far. The
/// phases are methods, each in the module of its phase.
struct Pruner<'a> {
    rfd: BorrowedFd<'a>,
    /// The root's host directory (none in a dry run of a root that has none).
    host: Option<&'a HostDir>,
    root_id: DirId,
    opts: &'a PruneOptions,
    jobs: usize,
    now: DateTime<Utc>,
    result: &'a mut PruneResult,
    /// Sessions deleted so far (for `max_deletions`; interrupted trash does not count).
    deletions: u64,
    /// Sessions kept because their labels changed between the scan and
    /// their deletion (see `owners.rs`).
    relabelled: Vec<String>,
}

impl Pruner<'_> {
    /// Runs the phases in order (see the module documentation).
    fn run(&mut self) -> Result<()> {
        let listing = scan::list_root(self.rfd)?;
        self.finish_trash(&listing.trash);
        let mut names = listing.sessions;
        self.add_registered(&mut names)?;
        // One statvfs decides the free-space target and whether a watermark
        // was reached; below its high mark a watermark costs no scan.
        let fs_rules = self.opts.has_free_space_rules() || self.opts.has_watermarks();
        let usage = if fs_rules {
            Some(FsUsage::of_fd(self.rfd)?)
        } else {
            None
        };
        let targets = select::Targets::new(self.opts, usage.as_ref());
        if !targets.any() && self.opts.max_deletions.is_none() && !self.opts.has_label_rules() {
            self.age_only(&names);
            return Ok(());
        }
        let need_size = targets.any() || self.opts.max_bytes_per_owner.is_some();
        let (valid, mut cap) = self.scan_all(&names, need_size, fs_rules)?;
        let mut owners = owners::Owners::tally(self.opts, &valid);
        let split = select::by_age(valid, self.now, self.opts);
        for id in &split.pinned {
            record::skip(self.result, id, SkipReason::Pinned);
        }
        self.execute(split.selected, &mut cap);
        let pool = self.evict_per_owner(&mut owners, split.pool, &mut cap);
        self.evict_for_capacity(pool, &mut cap, &targets);
        self.report_unmet(&targets, &cap);
        self.report_owners_unmet(&owners);
        Ok(())
    }
}
