//! Pruning: which sessions go (see [`crate::policy`]), and the locked, atomic
//! way they go.
//!
//! A prune holds the workspace lock (an exclusive `flock` on the host
//! directory's lock file, see [`crate::host_state`]; shared for a dry run),
//! so two prunes of one root never both count the same bytes as theirs to
//! free. What a prune decides about a registered session rests on its record
//! and its lock file, both host-owned; nothing the guest writes in its
//! directory changes it (see [`crate::entry`]). It finishes trash left by an interrupted prune. With
//! the age rule alone, each session (a real directory on the root's mount
//! named by a UUID, or by a custom id and holding `.metadata.json`) is then handled in one pass on one of `jobs` worker
//! threads. With size or count rules, every session is first scanned
//! (reading only `updated_at` from its metadata, and its size) and sessions
//! are selected oldest first; each selected session is then handled by a
//! worker. Handling a session means: locked exclusively without blocking (a
//! lease makes it `in_use`); checked to still be the directory of that name;
//! its metadata read under the lock (a touch before the lock, or since the
//! scan, rescues it); renamed to a
//! hidden trash name in the root (from that instant it is no longer a
//! session: it cannot look alive while half deleted); and only then emptied
//! through directory descriptors, measuring what it frees in the same pass.
//! Results and events are produced on the calling thread.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::control::{self, PruneControl};
use crate::entry::{self, Examined, Known, Lock, Session};
use crate::error::{Error, Result, Status};
use crate::events::{self, Level};
use crate::fd::{self, DirId};
use crate::fields;
use crate::host_state::{self, HostDir};
use crate::lock_holders;
use crate::metadata::{self, MetadataError};
use crate::parallel;
use crate::policy::{DeleteOptions, PruneOptions, Rule};
use crate::remove::{self, Mode, Outcome};
use crate::result::{PruneResult, Record, SkipReason, Skipped};
use crate::session;
use crate::session_id;

/// Prefix of the hidden name a session is renamed to while it is deleted.
/// Hidden, so never a session id (UUID or custom) and never mistaken for a session.
pub const TRASH_PREFIX: &str = ".wsprune-trash.";

/// Makes custom-id trash names unique within this process (a prune deletes
/// many sessions with the same stamp).
static TRASH_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A trash name for session `id`, unique to this deletion (`stamp` is the
/// prune's, or the deletion's, time in microseconds; `attempt` counts names
/// already taken). A UUID session keeps its id in the name for diagnosis:
/// `.wsprune-trash.<uuid>.<pid>.<stamp + attempt>` (at most 84 bytes, the
/// form of every version). A custom id may itself be 255 bytes (the longest
/// name) and may contain dots, so its trash is
/// `.wsprune-trash.<pid>.<stamp>.<n>` with a per-process counter `n`. Both
/// forms are recognised by [`is_trash_name`] and never overlap (a UUID is
/// never all digits). The rename into a trash name never replaces anything:
/// a name left by a crashed process with the same pid is skipped.
fn trash_name(id: &str, stamp: i64, attempt: i64) -> String {
    let pid = std::process::id();
    if session_id::is_uuid(id.as_bytes()) {
        format!("{TRASH_PREFIX}{id}.{pid}.{}", stamp.saturating_add(attempt))
    } else {
        let n = TRASH_COUNTER.fetch_add(1, Ordering::Relaxed);
        format!("{TRASH_PREFIX}{pid}.{stamp}.{n}")
    }
}

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

fn prune_controlled(root: &Path, opts: &PruneOptions) -> Result<PruneResult> {
    opts.validate()?;
    session::check_root(root)?;
    let dry_run = opts.dry_run;
    let jobs = opts.effective_jobs();
    let opt = |v: Option<u64>| v.map(Value::from).unwrap_or(Value::Null);
    events::emit(Level::Info, "session.prune.started", || {
        fields! {
            "threshold_hours" => opts.older_than_hours.map(Value::from).unwrap_or(Value::Null),
            "workspace_root" => root.to_string_lossy(),
            "dry_run" => dry_run,
            "max_total_bytes" => opt(opts.max_total_bytes),
            "max_sessions" => opt(opts.max_sessions),
            "min_free_bytes" => opt(opts.min_free_bytes),
            "max_deletions" => opt(opts.max_deletions),
            "min_age_hours" => opts.min_age_hours,
            "jobs" => jobs,
        }
    });
    let mut result = PruneResult::new(dry_run);
    match session::open_root(root) {
        Ok(root_fd) => {
            let rfd = root_fd.as_fd();
            crate::shared_fs::check_root(rfd, root, opts.single_host, "prune")?;
            let root_id = fd::dir_id(rfd).map_err(|e| Error::io("cannot stat workspace root", e))?;
            // A dry run changes nothing, so it creates no host directory either.
            let host = if dry_run {
                session::host_dir(rfd)?
            } else {
                match HostDir::open_or_create(rfd) {
                    Ok(h) => Some(h),
                    // A full (or read-only) filesystem is where a prune is
                    // needed most: prune it with what is there.
                    Err(e) if host_state::is_no_room(&e) => session::host_dir(rfd)?,
                    Err(e) => {
                        return Err(Error::io(
                            format_args!("cannot create the host directory of {}", root.display()),
                            e,
                        ))
                    }
                }
            };
            let _held = lock_workspace(rfd, &root_id, host.as_ref(), dry_run, opts.lock_timeout, root)?;
            let mut pruner = Pruner {
                rfd,
                host: host.as_ref(),
                root_id,
                opts,
                jobs,
                now: Utc::now(),
                result: &mut result,
                deletions: 0,
            };
            pruner.run()?;
            // root_fd closes here, releasing the workspace lock (and `_held` forgets it).
        }
        Err(e) if e.status() == Status::NotFound => {}
        Err(e) => return Err(e),
    }
    result.sort();
    events::emit(Level::Info, "session.prune.completed", || {
        fields! {
            "deleted_count" => result.deleted_sessions.len(),
            "skipped_count" => result.skipped_sessions.len(),
            "error_count" => result.errors.len(),
            "interrupted_count" => result.interrupted.len(),
            "reclaimed_bytes" => result.reclaimed_bytes,
            "dry_run" => dry_run,
        }
    });
    Ok(result)
}

thread_local! {
    /// The workspace locks this thread holds: (device, inode) of the root,
    /// and whether the lock is shared (a dry run).
    static HELD: std::cell::RefCell<Vec<(u64, u64, bool)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// This thread's hold on a workspace lock: the lock file (closed, and so
/// released, when dropped) and the entry in [`HELD`], forgotten then.
struct Held(u64, u64, bool, #[allow(dead_code)] Option<OwnedFd>);

impl Drop for Held {
    fn drop(&mut self) {
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            if let Some(i) = h.iter().rposition(|e| *e == (self.0, self.1, self.2)) {
                h.remove(i);
            }
        });
    }
}

/// [`lock_workspace`] for another whole-root operation (a migration), with
/// the default lock timeout.
pub(crate) fn lock_workspace_for(
    rfd: BorrowedFd<'_>,
    host: Option<&HostDir>,
    shared: bool,
    root: &Path,
) -> Result<impl Drop> {
    let root_id = fd::dir_id(rfd).map_err(|e| Error::io("cannot stat workspace root", e))?;
    lock_workspace(rfd, &root_id, host, shared, PruneOptions::default().lock_timeout, root)
}

/// Takes the workspace lock of the open root (the host directory's lock
/// file, which only the host can open: no guest can hold it), waiting up to
/// `timeout`. A dry run of a root without a host directory has nothing to
/// lock. A prune started on a thread that already holds a conflicting lock on
/// this root (from inside the log callback of that prune) would wait for its
/// own lock: it is [`Status::Busy`] at once, saying why. Nested dry runs
/// share the lock and run.
///
/// wsprune 0.3 locked the root directory itself. That lock is taken too,
/// without waiting, so that a 0.3 prune started later waits for this one; it
/// is never waited for (a guest that can open the root could hold it).
fn lock_workspace(
    rfd: BorrowedFd<'_>,
    root_id: &DirId,
    host: Option<&HostDir>,
    shared: bool,
    timeout: Duration,
    root: &Path,
) -> Result<Held> {
    let reentered = HELD.with(|h| {
        h.borrow()
            .iter()
            .any(|&(dev, ino, held_shared)| (dev, ino) == (root_id.dev, root_id.ino) && !(shared && held_shared))
    });
    if reentered {
        return Err(Error::new(
            Status::Busy,
            format!(
                "a prune of {} is already running on this thread: this prune was started from inside its \
                 log callback (event handler) and would wait for that prune's workspace lock; start it after \
                 that prune returns",
                root.display()
            ),
        ));
    }
    let op = if shared { libc::LOCK_SH } else { libc::LOCK_EX };
    let lock_err = |e| Error::io("cannot lock the workspace", e);
    let lock = match host.map(HostDir::workspace_lock) {
        Some(Ok(l)) => Some(l),
        Some(Err(e)) if host_state::is_no_room(&e) => None,
        Some(Err(e)) => return Err(lock_err(e)),
        None => None,
    };
    if lock.is_none() && !shared {
        // No lock file, and none can be made (a full or read-only
        // filesystem): the root directory itself, as wsprune 0.3 locked it.
        if !fd::flock_wait(rfd, op, timeout).map_err(lock_err)? {
            let holders = lock_holders::holders(root_id);
            let mut msg = format!(
                "another prune of {} is running (waited {:.1} s for the workspace lock)",
                root.display(),
                timeout.as_secs_f64()
            );
            if let Some(who) = lock_holders::describe(&holders) {
                msg.push_str(&format!("; held by {who}"));
            }
            // SAFETY: geteuid has no preconditions and cannot fail.
            let euid = unsafe { libc::geteuid() };
            msg.push_str(&format!("; {}", lock_holders::remedy(&holders, euid)));
            return Err(Error::new(Status::Busy, msg));
        }
    }
    if let Some(l) = &lock {
        if !fd::flock_wait(l.as_fd(), op, timeout).map_err(lock_err)? {
            let mut msg = format!(
                "another prune of {} is running (waited {:.1} s for the workspace lock): wait for it to finish, or give this prune a longer lock timeout",
                root.display(),
                timeout.as_secs_f64()
            );
            // Only the host can open the lock file: its holders are the host's processes.
            if let Some(who) = fd::dir_id(l.as_fd())
                .ok()
                .and_then(|id| lock_holders::describe(&lock_holders::holders(&id)))
            {
                msg.push_str(&format!("; held by {who}"));
            }
            return Err(Error::new(Status::Busy, msg));
        }
    }
    let _ = fd::try_flock(rfd, op);
    HELD.with(|h| h.borrow_mut().push((root_id.dev, root_id.ino, shared)));
    Ok(Held(root_id.dev, root_id.ino, shared, lock))
}

/// Deletes session `id` now, whatever its age or metadata, with the same
/// locked, atomic deletion as a prune (lock, rename to trash, delete through
/// descriptors). Returns the bytes freed. A leased session is
/// [`Status::Busy`] unless `wait` is given, in which case the call waits up
/// to that long for the leases to go. A missing session (or root) is
/// [`Status::NotFound`], and so is a directory named like a custom id without
/// metadata (not a session: never deleted). A UUID is found under any
/// spelling. A failure part-way is [`Status::Io`] and what remains is left in
/// a trash directory that the next prune finishes (reporting it in
/// [`PruneResult::interrupted`]). Emits `session.deleted`. A root on a
/// filesystem shared between hosts is refused (see [`delete_session_with`]).
pub fn delete_session(root: &Path, id: &str, wait: Option<Duration>) -> Result<u64> {
    delete_session_with(
        root,
        id,
        &DeleteOptions {
            wait,
            single_host: false,
        },
    )
}

/// [`delete_session`] with [`DeleteOptions`]: `opts.wait` as its `wait`; a
/// root on a filesystem whose directory locks reach this host only (NFS,
/// SMB, 9p, FUSE: see [`crate::shared_fs`]) is [`Status::InvalidArgument`]
/// unless `opts.single_host`, which proceeds with a
/// `workspace.shared_filesystem` warning event.
pub fn delete_session_with(root: &Path, id: &str, opts: &DeleteOptions) -> Result<u64> {
    let wait = opts.wait;
    session::check_root(root)?;
    session_id::validate(id)?;
    let not_found = |id: &str| {
        Error::new(
            Status::NotFound,
            format!("session {id} not found in {}", root.display()),
        )
    };
    let root_fd = session::open_root(root).map_err(|e| match e.status() {
        Status::NotFound => not_found(id),
        _ => e,
    })?;
    let rfd = root_fd.as_fd();
    crate::shared_fs::check_root(rfd, root, opts.single_host, "delete")?;
    let host = session::host_dir(rfd)?;
    let (session, id) = session::resolve(id, |name| {
        match entry::examine(rfd, host.as_ref(), name, Lock::None, |_| Ok(())) {
            Examined::Session(s, _) => Ok(s),
            Examined::NotASession if session_id::is_uuid(name.as_bytes()) => Err(not_found(name)),
            Examined::NotASession => match fd::lstat_at(rfd, &fd::cname(name)) {
                // A directory named like a custom id, neither registered nor holding metadata.
                Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => Err(session::not_a_session(name)),
                _ => Err(not_found(name)),
            },
            Examined::Failed(msg) => Err(Error::new(Status::Io, format!("session {name}: {msg}"))),
        }
    })?;
    let id = id.as_str();
    if !fd::flock_wait(session.lock_fd(), libc::LOCK_EX, wait.unwrap_or_default())
        .map_err(|e| Error::io(format_args!("cannot lock session {id}"), e))?
    {
        return Err(Error::new(
            Status::Busy,
            format!("session {id} is in use (leased, or being deleted by a prune)"),
        ));
    }
    let current = match (&host, &session.lock_file) {
        (Some(h), Some(l)) => h.lock_is_current(id, l.as_fd()),
        _ => true,
    };
    if !current || !fd::is_named(rfd, &fd::cname(id), &session.dir_id) {
        return Err(not_found(id));
    }
    let trash = move_to_trash(rfd, id, Utc::now().timestamp_micros(), &session.dir_id)
        .map_err(|m| Error::new(Status::Io, format!("session {id}: {m}")))?;
    let unregistered = unregister(host.as_ref(), &session, id);
    let outcome = remove_trash_dir(
        rfd,
        &trash,
        remove::walk(session.dir.as_fd(), session.dir_id, Mode::Delete),
    );
    if let Err(msg) = unregistered {
        return Err(Error::new(Status::Io, format!("session {id}: {msg}")));
    }
    if outcome.failures > 0 {
        let msg = format!(
            "session {id} was only partly deleted: {} ({} entries could not be handled; what remains is in {trash} and the next prune retries it)",
            outcome.first_error.unwrap_or_default(),
            outcome.failures
        );
        events::emit(Level::Error, "session.delete.error", || {
            fields! {"session_id" => id, "error" => msg.as_str(), "operation" => "delete"}
        });
        return Err(Error::new(Status::Io, msg));
    }
    events::emit(Level::Info, "session.deleted", || {
        fields! {"session_id" => id, "reclaimed_bytes" => outcome.bytes, "operation" => "delete"}
    });
    Ok(outcome.bytes)
}

/// Removes the record and lock file of the registered `session` (named
/// `id`), which the caller holds locked and has moved to trash: from now on
/// it is no longer a session, and a lease waiting on its lock finds it gone.
fn unregister(host: Option<&HostDir>, session: &Session, id: &str) -> Result<(), String> {
    match host {
        Some(h) if session.registered() => h
            .unregister(id)
            .map_err(|e| format!("moved to trash, but its record could not be removed: {e}")),
        _ => Ok(()),
    }
}

/// A session the scan found with valid metadata.
struct Scanned {
    id: String,
    updated_at: DateTime<Utc>,
    /// Its size, measured only when a size rule needs it.
    size: u64,
}

/// What the scan found about one session directory.
enum Scan {
    Valid(Scanned),
    /// Left in place with a reason; its size still counts towards the workspace.
    Skip(SkipReason, u64),
    Fail(String),
    /// Not a session (any more): vanished, a symlink, being deleted by someone else.
    Gone,
}

/// What handling one selected session did.
enum Done {
    /// Deleted (or measured, in a dry run); failures inside are in the outcome.
    Deleted(Outcome, Option<String>),
    /// Touched since the scan: kept, silently.
    Rescued,
    Skipped(SkipReason),
    Failed(String),
    Gone,
}

/// The workspace's size, session count and free space as the capacity rules see them.
#[derive(Clone, Copy)]
struct Capacity {
    total: u64,
    count: u64,
    free: u64,
}

impl Capacity {
    /// The first capacity rule not yet satisfied.
    fn unmet(&self, o: &PruneOptions) -> Option<Rule> {
        self.shortfalls(o).first().map(|&(rule, _, _)| rule)
    }

    /// Every capacity rule not satisfied, with its target and the actual value.
    fn shortfalls(&self, o: &PruneOptions) -> Vec<(Rule, u64, u64)> {
        [
            (Rule::MaxTotalBytes, o.max_total_bytes, self.total),
            (Rule::MaxSessions, o.max_sessions, self.count),
            (Rule::MinFreeBytes, o.min_free_bytes, self.free),
        ]
        .into_iter()
        .filter_map(|(rule, target, actual)| target.map(|t| (rule, t, actual)))
        .filter(|&(rule, target, actual)| {
            if rule == Rule::MinFreeBytes {
                actual < target
            } else {
                actual > target
            }
        })
        .collect()
    }

    fn remove(&mut self, bytes: u64) {
        self.total = self.total.saturating_sub(bytes);
        self.count = self.count.saturating_sub(1);
        self.free = self.free.saturating_add(bytes);
    }
}

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
}

impl Pruner<'_> {
    fn run(&mut self) -> Result<()> {
        let rfd = self.rfd;
        let mut entries = fd::read_dir(rfd).map_err(|e| Error::io("cannot list workspace root", e))?;
        entries.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        let (mut trash, mut names) = (Vec::new(), Vec::new());
        for entry in entries {
            let Ok(name) = entry.name.into_string() else { continue };
            if is_trash_name(&name) {
                trash.push(name);
            } else if session_id::is_session_id(name.as_bytes())
                && matches!(entry.kind, libc::DT_DIR | libc::DT_UNKNOWN)
            {
                names.push(name);
            }
        }
        self.finish_trash(&trash);
        self.add_registered(&mut names)?;
        if !self.opts.has_capacity_rules() && self.opts.max_deletions.is_none() {
            self.age_only(&names);
            return Ok(());
        }

        let need_size = self.opts.has_capacity_rules();
        let mut valid = Vec::with_capacity(names.len());
        let mut cap = Capacity {
            total: 0,
            count: 0,
            free: 0,
        };
        parallel::run(
            &names,
            self.jobs,
            |id| scan(rfd, self.host, id, need_size),
            |i, scan| {
                let id = &names[i];
                match scan {
                    Scan::Valid(s) => {
                        cap.total += s.size;
                        cap.count += 1;
                        valid.push(s);
                    }
                    Scan::Skip(reason, size) => {
                        cap.total += size;
                        cap.count += 1;
                        skip(self.result, id, reason);
                    }
                    Scan::Fail(msg) => {
                        cap.count += 1;
                        fail(self.result, id, msg);
                    }
                    Scan::Gone => {}
                }
            },
        );
        if self.opts.min_free_bytes.is_some() {
            cap.free = available_bytes(rfd)?;
        }

        // Oldest first, so that `max_deletions` and the capacity rules take the least recently used.
        valid.sort_unstable_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
        let (mut by_age, mut pool) = (Vec::new(), Vec::new());
        for s in valid {
            let age = metadata::age_hours(s.updated_at, self.now);
            // A future timestamp (negative age) never goes, whatever the rules.
            if age < 0.0 {
                continue;
            }
            if self.opts.older_than_hours.is_some_and(|h| age >= h) {
                by_age.push((s, Rule::OlderThan));
            } else if age >= self.opts.min_age_hours {
                pool.push(s);
            }
        }
        self.execute(by_age, &mut cap);

        // Capacity rules: pick just enough of the oldest to satisfy them, assuming
        // success; sessions that turn out leased or touched are replaced by the next.
        let mut pool = pool.into_iter().peekable();
        loop {
            let mut projected = cap;
            let mut batch = Vec::new();
            while let Some(rule) = projected.unmet(self.opts) {
                if self.budget() <= batch.len() as u64 {
                    break;
                }
                let Some(s) = pool.next() else { break };
                projected.remove(s.size);
                batch.push((s, rule));
            }
            if batch.is_empty() {
                break;
            }
            self.execute(batch, &mut cap);
        }
        self.report_unmet(&cap);
        Ok(())
    }

    /// Adds the registered sessions to `names` (the root's session-like
    /// entries, sorted), so that a registered session is handled whatever
    /// its directory holds. A record whose directory is gone (a deletion
    /// interrupted between its rename and its unregistering, or a directory
    /// removed by hand) is removed, under the session's lock.
    fn add_registered(&mut self, names: &mut Vec<String>) -> Result<()> {
        let Some(host) = self.host else { return Ok(()) };
        let ids = host
            .registered_ids()
            .map_err(|e| Error::io("cannot list the registered sessions", e))?;
        let mut added = false;
        for id in ids {
            if names.binary_search(&id).is_ok() {
                continue;
            }
            match fd::lstat_at(self.rfd, &fd::cname(&id)) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    if !self.opts.dry_run {
                        remove_orphan_record(host, self.rfd, &id);
                    }
                }
                _ => {
                    names.push(id);
                    added = true;
                }
            }
        }
        if added {
            names.sort_unstable();
        }
        Ok(())
    }

    /// Records the capacity targets still not met (every evictable session
    /// went, or `max_deletions` stopped the prune), so that a caller never
    /// mistakes an unreachable target for a reached one.
    fn report_unmet(&mut self, cap: &Capacity) {
        for (rule, target, actual) in cap.shortfalls(self.opts) {
            events::emit(Level::Warning, "session.prune.target_unmet", || {
                fields! {"rule" => rule.as_str(), "target" => target, "actual" => actual, "dry_run" => self.opts.dry_run}
            });
            self.result.push_unmet(rule, target, actual);
            control::notify(Record::Unmet(&self.result.unmet[self.result.unmet.len() - 1]));
        }
    }

    /// The common case, age rule only: one pass in which each worker locks a
    /// session, reads its metadata once under the lock and deletes it if
    /// stale, with no global scan first (no per-session state is kept).
    fn age_only(&mut self, names: &[String]) {
        let hours = self.opts.older_than_hours.unwrap_or(f64::INFINITY);
        let (rfd, host, dry_run, now) = (self.rfd, self.host, self.opts.dry_run, self.now);
        let stamp = now.timestamp_micros();
        parallel::run(
            names,
            self.jobs,
            |id| age_one(rfd, host, id, hours, now, stamp, dry_run),
            |i, (done, age)| {
                let id = &names[i];
                match done {
                    Done::Deleted(outcome, trash) => {
                        events::emit(Level::Debug, "session.prune.candidate", || {
                            fields! {"session_id" => id.as_str(), "age_hours" => age, "threshold_hours" => hours, "rule" => Rule::OlderThan.as_str()}
                        });
                        record(self.result, id, Some(age), Rule::OlderThan, outcome, trash.as_deref());
                    }
                    Done::Rescued | Done::Gone => {}
                    Done::Skipped(reason) => skip(self.result, id, reason),
                    Done::Failed(msg) => fail(self.result, id, msg),
                }
            },
        );
    }

    /// How many more sessions `max_deletions` allows.
    fn budget(&self) -> u64 {
        self.opts
            .max_deletions
            .map_or(u64::MAX, |m| m.saturating_sub(self.deletions))
    }

    /// Deletes the selected sessions (in order of selection, `jobs` at a time),
    /// never more than `max_deletions` allows in total.
    fn execute(&mut self, selected: Vec<(Scanned, Rule)>, cap: &mut Capacity) {
        let mut rest = &selected[..];
        while !rest.is_empty() {
            let n = (self.budget().min(rest.len() as u64)) as usize;
            if n == 0 {
                return;
            }
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            for (s, rule) in chunk {
                events::emit(Level::Debug, "session.prune.candidate", || {
                    fields! {
                        "session_id" => s.id.as_str(),
                        "age_hours" => metadata::age_hours(s.updated_at, self.now),
                        "threshold_hours" => self.opts.older_than_hours.map(Value::from).unwrap_or(Value::Null),
                        "rule" => rule.as_str(),
                    }
                });
            }
            let (rfd, host, dry_run) = (self.rfd, self.host, self.opts.dry_run);
            let stamp = self.now.timestamp_micros();
            parallel::run(
                chunk,
                self.jobs,
                |(s, _)| delete_one(rfd, host, &s.id, s.updated_at, stamp, dry_run),
                |i, done| {
                    let (s, rule) = &chunk[i];
                    match done {
                        Done::Deleted(outcome, trash) => {
                            let age = metadata::age_hours(s.updated_at, self.now);
                            let bytes = outcome.bytes;
                            if record(self.result, &s.id, Some(age), *rule, outcome, trash.as_deref()) {
                                self.deletions += 1;
                                cap.remove(bytes);
                            }
                        }
                        Done::Rescued | Done::Gone => {}
                        Done::Skipped(reason) => skip(self.result, &s.id, reason),
                        Done::Failed(msg) => fail(self.result, &s.id, msg),
                    }
                },
            );
        }
    }

    /// Finishes the trash directories left by interrupted deletions, reporting
    /// each in [`PruneResult::interrupted`] by its trash name (never as a
    /// session: the runtime may have re-created a live session of the same id
    /// meanwhile), and a failure under the trash name. One that another
    /// process holds locked (its deletion in progress, or a process still
    /// using the directory) is left in place and reported as an error under
    /// its trash name, so that the operator learns the space is still taken.
    fn finish_trash(&mut self, names: &[String]) {
        let (rfd, root_id, dry_run) = (self.rfd, self.root_id, self.opts.dry_run);
        parallel::run(
            names,
            self.jobs,
            |name| finish_one(rfd, &root_id, name, dry_run),
            |i, done| match done {
                TrashDone::Finished(outcome) => record_trash(self.result, &names[i], outcome, dry_run),
                TrashDone::Held => fail(self.result, &names[i], TRASH_HELD.to_owned()),
                TrashDone::Ignored => {}
            },
        );
    }
}

/// The error recorded for leftover trash that another process holds locked.
const TRASH_HELD: &str =
    "leftover trash is locked by another process (a deletion in progress, or a process still using the directory); left for the next prune";

/// What became of one leftover trash directory.
enum TrashDone {
    /// Deleted (measured, in a dry run), perhaps partly.
    Finished(Outcome),
    /// Another process holds its lock; left in place.
    Held,
    /// Vanished, not a directory, on another mount or renamed meanwhile: not ours to report.
    Ignored,
}

/// Records one finished (or, in a dry run, measured) trash directory.
fn record_trash(result: &mut PruneResult, name: &str, outcome: Outcome, dry_run: bool) {
    result.reclaimed_bytes += outcome.bytes;
    if outcome.failures > 0 {
        let msg = failure_message(outcome, (!dry_run).then_some(name));
        fail(result, name, msg);
        return;
    }
    events::emit(Level::Info, "session.prune.interrupted", || {
        fields! {"trash" => name, "reclaimed_bytes" => outcome.bytes, "dry_run" => dry_run}
    });
    result.push_interrupted(name, outcome.bytes);
    control::notify(Record::Interrupted {
        name,
        bytes: outcome.bytes,
    });
}

/// Whether `name` is one of our trash names (see [`trash_name`]):
/// `.wsprune-trash.<uuid>.<pid>.<stamp>` (every version) or
/// `.wsprune-trash.<pid>.<stamp>.<n>` (custom ids, since 0.3.0). Any other
/// name, hidden or not, is never touched.
fn is_trash_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(TRASH_PREFIX) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('.').collect();
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    match parts[..] {
        [a, b, c] if digits(a) => digits(b) && digits(c),
        [id, pid, micros] => session_id::is_uuid(id.as_bytes()) && digits(pid) && digits(micros),
        _ => false,
    }
}

/// Free bytes for unprivileged users on the root's filesystem.
fn available_bytes(rfd: BorrowedFd<'_>) -> Result<u64> {
    // SAFETY: `libc::statvfs` is plain integers, for which all zeroes is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable `statvfs` for the call.
    if unsafe { libc::fstatvfs(rfd.as_raw_fd(), &mut st) } != 0 {
        return Err(Error::io(
            "cannot read free space of the workspace filesystem",
            std::io::Error::last_os_error(),
        ));
    }
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

fn skip(result: &mut PruneResult, id: &str, reason: SkipReason) {
    events::emit(
        Level::Info,
        "session.prune.skipped",
        || fields! {"session_id" => id, "reason" => reason.as_str()},
    );
    let skipped = Skipped {
        session_id: id.to_owned(),
        reason,
    };
    control::notify(Record::Skipped(&skipped));
    result.skipped_sessions.push(skipped);
}

fn fail(result: &mut PruneResult, id: &str, message: String) {
    events::emit(
        Level::Error,
        "session.prune.error",
        || fields! {"session_id" => id, "error" => message.as_str()},
    );
    control::notify(Record::Error { id, message: &message });
    result.errors.push((id.to_owned(), message));
}

fn skip_reason(bad: &MetadataError) -> SkipReason {
    match bad {
        MetadataError::Corrupted(_) => SkipReason::CorruptedMetadata,
        MetadataError::BadTimestamp(_) => SkipReason::CorruptedTimestamp,
    }
}

/// Removes the record of registered session `id` whose directory is gone,
/// if its lock is free and its directory is still missing once it is held.
fn remove_orphan_record(host: &HostDir, rfd: BorrowedFd<'_>, id: &str) {
    let Ok(Some(lock)) = host.open_lock(id, true) else {
        return;
    };
    if !matches!(fd::try_flock(lock.as_fd(), libc::LOCK_EX), Ok(true)) || !host.lock_is_current(id, lock.as_fd()) {
        return;
    }
    if matches!(fd::lstat_at(rfd, &fd::cname(id)), Err(e) if e.raw_os_error() == Some(libc::ENOENT)) {
        match host.unregister(id) {
            Ok(()) => events::emit(Level::Info, "session.record.removed", || {
                fields! {"session_id" => id, "reason" => "directory_missing"}
            }),
            Err(e) => events::emit(Level::Warning, "session.record.remove_failed", || {
                fields! {"session_id" => id, "error" => e.to_string()}
            }),
        }
    }
}

/// What `examine` found about one session, as a [`Scan`] (its size measured
/// if `need_size`, also for sessions left in place: they take room too).
fn scan(rfd: BorrowedFd<'_>, host: Option<&HostDir>, id: &str, need_size: bool) -> Scan {
    let (session, known) = match entry::examine(rfd, host, id, Lock::None, metadata::parse_updated_at) {
        Examined::Session(s, k) => (s, k),
        Examined::NotASession => return Scan::Gone,
        Examined::Failed(msg) => return Scan::Fail(msg),
    };
    let size = || {
        if need_size {
            remove::walk(session.dir.as_fd(), session.dir_id, Mode::Measure).bytes
        } else {
            0
        }
    };
    match known {
        Known::Valid(updated_at) => Scan::Valid(Scanned {
            id: id.to_owned(),
            updated_at,
            size: size(),
        }),
        Known::Missing => Scan::Skip(SkipReason::MissingMetadata, size()),
        Known::Invalid(bad) => Scan::Skip(skip_reason(&bad), size()),
    }
}

/// The age rule on one session, in one pass: lock it, read `updated_at`
/// under the lock, delete it if it is at least `hours` old. A session whose
/// lock is held (leased) is read without the lock and reported `in_use` only
/// if stale. Returns what happened and the age (NaN if unknown); `Rescued`
/// here means "fresh, kept".
fn age_one(
    rfd: BorrowedFd<'_>,
    host: Option<&HostDir>,
    id: &str,
    hours: f64,
    now: DateTime<Utc>,
    stamp: i64,
    dry_run: bool,
) -> (Done, f64) {
    let (session, known) = match entry::examine(rfd, host, id, Lock::Exclusive, metadata::parse_updated_at) {
        Examined::Session(s, k) => (s, k),
        Examined::NotASession => return (Done::Gone, f64::NAN),
        Examined::Failed(msg) => return (Done::Failed(msg), f64::NAN),
    };
    let age = match known {
        Known::Valid(t) => metadata::age_hours(t, now),
        Known::Missing => return (Done::Skipped(SkipReason::MissingMetadata), f64::NAN),
        Known::Invalid(bad) => return (Done::Skipped(skip_reason(&bad)), f64::NAN),
    };
    // A future timestamp (negative age) never goes, whatever the threshold.
    if age < 0.0 || age < hours {
        return (Done::Rescued, age);
    }
    if !session.locked {
        return (Done::Skipped(SkipReason::InUse), age);
    }
    (delete_locked(rfd, host, session, id, stamp, dry_run), age)
}

/// Deletes one selected session (measures it, in a dry run) if it is still
/// the session the scan saw, unleased and not touched since (`updated_at`
/// unchanged). `stamp` makes the trash name unique to this prune.
fn delete_one(
    rfd: BorrowedFd<'_>,
    host: Option<&HostDir>,
    id: &str,
    expected: DateTime<Utc>,
    stamp: i64,
    dry_run: bool,
) -> Done {
    let (session, known) = match entry::examine(rfd, host, id, Lock::Exclusive, metadata::parse_updated_at) {
        Examined::Session(s, k) => (s, k),
        Examined::NotASession => return Done::Gone,
        Examined::Failed(msg) => return Done::Failed(msg),
    };
    if !session.locked {
        return Done::Skipped(SkipReason::InUse);
    }
    // Under the lock: a touch since the scan rescues the session.
    match known {
        Known::Valid(t) if t == expected => delete_locked(rfd, host, session, id, stamp, dry_run),
        Known::Valid(_) => Done::Rescued,
        Known::Missing => Done::Skipped(SkipReason::MissingMetadata),
        Known::Invalid(bad) => Done::Skipped(skip_reason(&bad)),
    }
}

/// Deletes the exclusively locked `session`: renames it to a trash name,
/// unregisters it, then empties and removes it. In a dry run, unlocks it
/// (the lock only told us it is not leased; measuring must not hold off
/// leases) and measures it.
fn delete_locked(
    rfd: BorrowedFd<'_>,
    host: Option<&HostDir>,
    session: Session,
    id: &str,
    stamp: i64,
    dry_run: bool,
) -> Done {
    let dfd = session.dir.as_fd();
    if dry_run {
        let _ = fd::unlock(session.lock_fd());
        return Done::Deleted(remove::walk(dfd, session.dir_id, Mode::Measure), None);
    }
    let trash = match move_to_trash(rfd, id, stamp, &session.dir_id) {
        Ok(t) => t,
        Err(msg) => return Done::Failed(msg),
    };
    let unregistered = unregister(host, &session, id);
    let outcome = remove::walk(dfd, session.dir_id, Mode::Delete);
    let outcome = remove_trash_dir(rfd, &trash, outcome);
    // `session` closes here, releasing the lock, once the directory is gone.
    match unregistered {
        Ok(()) => Done::Deleted(outcome, Some(trash)),
        Err(msg) => Done::Failed(msg),
    }
}

/// Finishes (measures, in a dry run) one trash directory. A dry run takes
/// the same exclusive lock (for an instant), so that it reports a held trash
/// directory as the real prune would.
fn finish_one(rfd: BorrowedFd<'_>, root_id: &DirId, name: &str, dry_run: bool) -> TrashDone {
    let cname = fd::cname(name);
    let Ok(dir) = fd::open_dir_at(rfd, &cname) else {
        return TrashDone::Ignored;
    };
    let dfd = dir.as_fd();
    let Ok(dir_id) = fd::dir_id(dfd) else {
        return TrashDone::Ignored;
    };
    if !dir_id.same_mount(root_id) {
        return TrashDone::Ignored;
    }
    match fd::try_flock(dfd, libc::LOCK_EX) {
        Ok(true) => {}
        Ok(false) => {
            return if fd::is_named(rfd, &cname, &dir_id) {
                TrashDone::Held
            } else {
                TrashDone::Ignored
            };
        }
        Err(_) => return TrashDone::Ignored,
    }
    if !fd::is_named(rfd, &cname, &dir_id) {
        return TrashDone::Ignored;
    }
    if dry_run {
        let _ = fd::unlock(dfd);
        return TrashDone::Finished(remove::walk(dfd, dir_id, Mode::Measure));
    }
    let outcome = remove::walk(dfd, dir_id, Mode::Delete);
    TrashDone::Finished(remove_trash_dir(rfd, name, outcome))
}

/// Renames the locked session directory to a fresh trash name (the caller
/// has checked that the name refers to it), insisting that what was renamed
/// is it. Returns the trash name.
fn move_to_trash(rfd: BorrowedFd<'_>, id: &str, stamp: i64, dir_id: &DirId) -> Result<String, String> {
    let cid = fd::cname(id);
    let mut attempt = 0;
    let (trash, ctrash) = loop {
        let trash = trash_name(id, stamp, attempt);
        let ctrash = fd::cname(&trash);
        match fd::renameat(rfd, &cid, &ctrash, true) {
            Ok(()) => break (trash, ctrash),
            // Left by a crashed process with our pid: never replaced, take the next name.
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) && attempt < 1000 => attempt += 1,
            Err(e) => return Err(format!("cannot move session to trash: {e}")),
        }
    };
    if fd::is_named(rfd, &ctrash, dir_id) {
        Ok(trash)
    } else {
        // Someone swapped the name between our check and the rename: put it back.
        let _ = fd::renameat(rfd, &ctrash, &cid, true);
        Err("session directory was replaced during the prune; left in place".into())
    }
}

fn remove_trash_dir(rfd: BorrowedFd<'_>, trash: &str, mut outcome: Outcome) -> Outcome {
    if outcome.failures == 0 {
        if let Err(e) = fd::unlinkat(rfd, &fd::cname(trash), libc::AT_REMOVEDIR) {
            outcome.failures += 1;
            outcome.first_error = Some(format!("cannot remove directory: {e}"));
        }
    }
    outcome
}

/// Records a deletion (or its failure); true if the session went entirely.
fn record(
    result: &mut PruneResult,
    id: &str,
    age: Option<f64>,
    rule: Rule,
    outcome: Outcome,
    trash: Option<&str>,
) -> bool {
    result.reclaimed_bytes += outcome.bytes;
    if outcome.failures > 0 {
        let msg = failure_message(outcome, trash);
        fail(result, id, msg);
        return false;
    }
    let dry_run = result.dry_run;
    events::emit(Level::Info, "session.prune.deleted", || {
        fields! {
            "session_id" => id,
            "age_hours" => age.map(Value::from).unwrap_or(Value::Null),
            "reclaimed_bytes" => outcome.bytes,
            "rule" => rule.as_str(),
            "dry_run" => dry_run,
        }
    });
    let age_hours = age.unwrap_or(f64::NAN);
    result.push_deleted(id, rule, outcome.bytes, age_hours);
    control::notify(Record::Deleted {
        session_id: id,
        rule,
        bytes: outcome.bytes,
        age_hours,
    });
    true
}

/// The message for a deletion that left entries behind (in `trash`, if known).
fn failure_message(outcome: Outcome, trash: Option<&str>) -> String {
    let first = outcome.first_error.unwrap_or_default();
    let n = outcome.failures;
    let mut msg = format!(
        "{first} ({n} {} could not be handled",
        if n == 1 { "entry" } else { "entries" }
    );
    if let Some(t) = trash {
        msg.push_str(&format!("; what remains is in {t} and the next prune retries it"));
    }
    msg.push(')');
    msg
}
