//! The locked, atomic deletion of a session, by a prune (`jobs` at a time,
//! each session's outcome recorded on the calling thread) or on its own
//! ([`delete_session`]).
//!
//! Deleting a session means: locked exclusively without blocking (a lease
//! makes it `in_use`); checked to still be the directory of that name; its
//! metadata read under the lock (a touch before the lock, or since the scan,
//! rescues it); renamed to a trash name (see `trash.rs`); its record
//! removed; and only then emptied through directory descriptors, measuring
//! what it frees in the same pass.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::record::{fail, record, skip, skip_reason};
use super::scan::{retention_of, Scanned};
use super::select::{own_rule, Capacity};
use super::trash::{move_to_trash, remove_trash_dir};
use super::Pruner;
use crate::entry::{self, Examined, Known, Lock, Session};
use crate::error::{Error, Result, Status};
use crate::events::{self, Level};
use crate::fd;
use crate::fields;
use crate::host_state::HostDir;
use crate::labels;
use crate::metadata::{self, SessionMetadata};
use crate::parallel;
use crate::policy::{DeleteOptions, PruneOptions, Rule};
use crate::remove::{self, Mode, Outcome};
use crate::result::SkipReason;
use crate::session;
use crate::session_id;

/// What handling one selected session did.
enum Done {
    /// Deleted (or measured, in a dry run); failures inside are in the
    /// outcome, and what remains is in the trash directory named, if any.
    Deleted(Outcome, Option<String>),
    /// Touched since the scan (or, by the age rule, not old enough): kept, silently.
    Rescued,
    /// Its labels changed since the scan (it may no longer match the
    /// selector, or belong to another owner): kept, silently.
    Relabelled,
    /// Left in place for a reason the result reports.
    Skipped(SkipReason),
    /// An error on this session; the prune carries on.
    Failed(String),
    /// Not a session (any more): nothing to report.
    Gone,
}

impl Pruner<'_> {
    /// The common case, age rule only: one pass in which each worker locks a
    /// session, reads its metadata once under the lock and deletes it if
    /// stale, with no global scan first (no per-session state is kept).
    pub(super) fn age_only(&mut self, names: &[String]) {
        let hours = self.opts.older_than_hours.unwrap_or(f64::INFINITY);
        let (rfd, host, opts, now) = (self.rfd, self.host, self.opts, self.now);
        let stamp = Utc::now().timestamp_micros();
        parallel::run(
            names,
            self.jobs,
            |id| age_one(rfd, host, id, opts, now, stamp),
            |i, (done, age, rule)| {
                let id = &names[i];
                match done {
                    Done::Deleted(outcome, trash) => {
                        events::emit(Level::Debug, "session.prune.candidate", || {
                            fields! {"session_id" => id.as_str(), "age_hours" => age, "threshold_hours" => hours, "rule" => rule.as_str()}
                        });
                        record(self.result, id, Some(age), rule, outcome, trash.as_deref());
                    }
                    Done::Rescued | Done::Relabelled | Done::Gone => {}
                    Done::Skipped(reason) => skip(self.result, id, reason),
                    Done::Failed(msg) => fail(self.result, id, msg),
                }
            },
        );
    }

    /// Deletes the selected sessions (in order of selection, `jobs` at a time),
    /// never more than `max_deletions` allows in total.
    pub(super) fn execute(&mut self, selected: Vec<(Scanned, Rule)>, cap: &mut Capacity) {
        let mut rest = &selected[..];
        while !rest.is_empty() {
            let n = (self.budget().min(rest.len() as u64)) as usize;
            if n == 0 {
                return;
            }
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            self.announce(chunk);
            let (rfd, host, dry_run, now) = (self.rfd, self.host, self.opts.dry_run, self.now);
            let check_labels = self.opts.selector.is_some() || self.opts.has_owner_caps();
            let stamp = Utc::now().timestamp_micros();
            parallel::run(
                chunk,
                self.jobs,
                |(s, rule)| delete_one(rfd, host, s, *rule, check_labels, now, stamp, dry_run),
                |i, done| {
                    let (s, rule) = &chunk[i];
                    match done {
                        Done::Deleted(outcome, trash) => {
                            let age = metadata::age_hours(s.updated_at, self.now);
                            let (bytes, inodes) = (outcome.bytes, outcome.inodes);
                            if record(self.result, &s.id, Some(age), *rule, outcome, trash.as_deref()) {
                                self.deletions += 1;
                                cap.remove(bytes, inodes);
                            }
                        }
                        Done::Rescued | Done::Gone => {}
                        Done::Relabelled => self.relabelled.push(s.id.clone()),
                        Done::Skipped(reason) => skip(self.result, &s.id, reason),
                        Done::Failed(msg) => fail(self.result, &s.id, msg),
                    }
                },
            );
        }
    }

    /// Emits a `session.prune.candidate` event for each session about to be handled.
    fn announce(&self, chunk: &[(Scanned, Rule)]) {
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
    }
}

/// The age rule and the session's own TTL on one session, in one pass:
/// lock it, read its record (or metadata) under the lock, delete it if
/// either selects it at `now` (see [`own_rule`]) and it is not pinned. A
/// session whose lock is held (leased) is read without the lock and
/// reported `in_use` only if selected. Returns what happened, the age (NaN
/// if unknown) and the rule; `Rescued` here means "not selected, kept".
fn age_one(
    rfd: BorrowedFd<'_>,
    host: Option<&HostDir>,
    id: &str,
    opts: &PruneOptions,
    now: DateTime<Utc>,
    stamp: i64,
) -> (Done, f64, Rule) {
    let unknown = |done| (done, f64::NAN, Rule::OlderThan);
    let (session, known) = match entry::examine(rfd, host, id, Lock::Exclusive, SessionMetadata::from_json) {
        Examined::Session(s, k) => (s, k),
        Examined::NotASession => return unknown(Done::Gone),
        Examined::Failed(msg) => return unknown(Done::Failed(msg)),
    };
    let m = match known {
        Known::Valid(m) => m,
        Known::Missing => return unknown(Done::Skipped(SkipReason::MissingMetadata)),
        Known::Invalid(bad) => return unknown(Done::Skipped(skip_reason(&bad))),
    };
    let age = metadata::age_hours(m.updated_at, now);
    let retention = retention_of(&session, &m);
    let Some(rule) = own_rule(m.updated_at, &retention, now, opts) else {
        return (Done::Rescued, age, Rule::OlderThan);
    };
    if retention.pin_holds(now) {
        return (Done::Skipped(SkipReason::Pinned), age, rule);
    }
    if !session.locked {
        return (Done::Skipped(SkipReason::InUse), age, rule);
    }
    (delete_locked(rfd, host, session, id, stamp, opts.dry_run), age, rule)
}

/// Deletes one selected session (measures it, in a dry run) if it is still
/// the session the scan saw (`seen`): not touched since (`updated_at`
/// unchanged), not pinned since, selected by its TTL (`rule`) still expired
/// at `now` (its TTL may have changed since), if `check_labels` (a selector
/// or per-owner caps chose it) with the labels it had, and unleased.
/// `stamp` makes the trash name unique to this prune.
#[allow(clippy::too_many_arguments)]
fn delete_one(
    rfd: BorrowedFd<'_>,
    host: Option<&HostDir>,
    seen: &Scanned,
    rule: Rule,
    check_labels: bool,
    now: DateTime<Utc>,
    stamp: i64,
    dry_run: bool,
) -> Done {
    let id = seen.id.as_str();
    let (session, known) = match entry::examine(rfd, host, id, Lock::Exclusive, SessionMetadata::from_json) {
        Examined::Session(s, k) => (s, k),
        Examined::NotASession => return Done::Gone,
        Examined::Failed(msg) => return Done::Failed(msg),
    };
    // Under the lock: a touch since the scan rescues the session, and so
    // do a pin, a TTL no longer passed and a change of its labels.
    let m = match known {
        Known::Valid(m) if m.updated_at != seen.updated_at => return Done::Rescued,
        Known::Valid(m) => m,
        Known::Missing => return Done::Skipped(SkipReason::MissingMetadata),
        Known::Invalid(bad) => return Done::Skipped(skip_reason(&bad)),
    };
    let retention = retention_of(&session, &m);
    if retention.pin_holds(now) {
        return Done::Skipped(SkipReason::Pinned);
    }
    if rule == Rule::Ttl && !retention.expired(m.updated_at, now) {
        return Done::Rescued;
    }
    if !session.locked {
        return Done::Skipped(SkipReason::InUse);
    }
    if check_labels && labels::of_session(session.registered(), &m) != seen.labels {
        return Done::Relabelled;
    }
    delete_locked(rfd, host, session, id, stamp, dry_run)
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
        Err(e) => return Done::Failed(e.into_message()),
    };
    let unregistered = unregister(host, &session, id);
    let outcome = remove::walk(dfd, session.dir_id, Mode::Delete);
    let outcome = remove_trash_dir(rfd, &trash, outcome);
    // `session` closes here, releasing the lock, once the directory is gone.
    match unregistered {
        Ok(()) => Done::Deleted(outcome, Some(trash)),
        Err(e) => Done::Failed(e.into_message()),
    }
}

/// Removes the record and lock file of the registered `session` (named
/// `id`), which the caller holds locked and has moved to trash: from now on
/// it is no longer a session, and a lease waiting on its lock finds it gone.
fn unregister(host: Option<&HostDir>, session: &Session, id: &str) -> Result<()> {
    match host {
        Some(h) if session.registered() => h
            .unregister(id)
            .map_err(|e| Error::io("moved to trash, but its record could not be removed", e)),
        _ => Ok(()),
    }
}

/// Deletes session `id` now, whatever its age or metadata (but not a
/// pinned one: [`Status::InvalidArgument`]; see [`delete_session_with`]), with the same
/// locked, atomic deletion as a prune (lock, rename to trash, delete through
/// descriptors). Returns the bytes freed. A leased session is
/// [`Status::Busy`] unless `wait` is given, in which case the call waits up
/// to that long for the leases to go. A missing session (or root) is
/// [`Status::NotFound`], and so is a directory named like a custom id without
/// metadata (not a session: never deleted). A UUID is found under any
/// spelling. A failure part-way is [`Status::Io`] and what remains is left in
/// a trash directory that the next prune finishes (reporting it in
/// [`crate::PruneResult::interrupted`]). Emits `session.deleted`. A root on a
/// filesystem shared between hosts is refused (see [`delete_session_with`]).
pub fn delete_session(root: &Path, id: &str, wait: Option<Duration>) -> Result<u64> {
    delete_session_with(
        root,
        id,
        &DeleteOptions {
            wait,
            ..Default::default()
        },
    )
}

/// [`delete_session`] with [`DeleteOptions`]: `opts.wait` as its `wait`; a
/// root on a filesystem whose directory locks reach this host only (NFS,
/// SMB, 9p, FUSE: see [`crate::shared_fs`]) is [`Status::InvalidArgument`]
/// unless `opts.single_host`, which proceeds with a
/// `workspace.shared_filesystem` warning event; a pinned session is
/// [`Status::InvalidArgument`] (decided under its lock) unless `opts.force`.
pub fn delete_session_with(root: &Path, id: &str, opts: &DeleteOptions) -> Result<u64> {
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
    let (session, id) = find_session(rfd, host.as_ref(), id, &not_found)?;
    let id = id.as_str();
    lock_for_delete(rfd, host.as_ref(), &session, id, opts.wait, &not_found)?;
    if !opts.force {
        refuse_pinned(host.as_ref(), &session, id)?;
    }
    let trash = move_to_trash(rfd, id, Utc::now().timestamp_micros(), &session.dir_id).map_err(|e| e.of_session(id))?;
    let unregistered = unregister(host.as_ref(), &session, id);
    let outcome = remove_trash_dir(
        rfd,
        &trash,
        remove::walk(session.dir.as_fd(), session.dir_id, Mode::Delete),
    );
    unregistered.map_err(|e| e.of_session(id))?;
    report_deleted(id, outcome, &trash)
}

/// Finds session `id` (a UUID under any spelling), telling a directory that
/// is not a session apart from a missing one. Returns it and its id as named
/// in the root.
fn find_session(
    rfd: BorrowedFd<'_>,
    host: Option<&HostDir>,
    id: &str,
    not_found: &dyn Fn(&str) -> Error,
) -> Result<(Session, String)> {
    session::resolve(id, |name| {
        match entry::examine(rfd, host, name, Lock::Open, |_| Ok(())) {
            Examined::Session(s, _) => Ok(s),
            Examined::NotASession if session_id::is_uuid(name.as_bytes()) => Err(not_found(name)),
            Examined::NotASession => match fd::lstat_at(rfd, &fd::cname(name)) {
                // A directory named like a custom id, neither registered nor holding metadata.
                Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => Err(session::not_a_session(name)),
                _ => Err(not_found(name)),
            },
            Examined::Failed(msg) => Err(Error::new(Status::Io, format!("session {name}: {msg}"))),
        }
    })
}

/// Locks `session` exclusively, waiting up to `wait` for its leases to go,
/// and checks, under the lock, that it is still the session named `id`.
fn lock_for_delete(
    rfd: BorrowedFd<'_>,
    host: Option<&HostDir>,
    session: &Session,
    id: &str,
    wait: Option<Duration>,
    not_found: &dyn Fn(&str) -> Error,
) -> Result<()> {
    if !fd::flock_wait(session.lock_fd(), libc::LOCK_EX, wait.unwrap_or_default())
        .map_err(|e| Error::io(format_args!("cannot lock session {id}"), e))?
    {
        return Err(Error::new(
            Status::Busy,
            format!("session {id} is in use (leased, or being deleted by a prune)"),
        ));
    }
    let current = match (host, &session.lock_file) {
        (Some(h), Some(l)) => h.lock_is_current(id, l.as_fd()),
        _ => true,
    };
    if !current || !fd::is_named(rfd, &fd::cname(id), &session.dir_id) {
        return Err(not_found(id));
    }
    Ok(())
}

/// Refuses to delete the locked `session` (named `id`) if its record pins
/// it now: [`Status::InvalidArgument`], saying how to delete it anyway.
fn refuse_pinned(host: Option<&HostDir>, session: &Session, id: &str) -> Result<()> {
    let Some(host) = host.filter(|_| session.registered()) else {
        return Ok(());
    };
    let record = host
        .read_record(id)
        .map_err(|e| Error::io(format_args!("cannot read the record of session {id}"), e))?;
    // An unusable record pins nothing: a deletion works whatever the metadata.
    let Some(Ok(m)) = record.map(|b| SessionMetadata::from_json(&b)) else {
        return Ok(());
    };
    if !m.retention.pin_holds(Utc::now()) {
        return Ok(());
    }
    let until = m.retention.pinned_until.map_or_else(
        || " until unpinned".to_owned(),
        |t| format!(" until {}", metadata::format_timestamp(t)),
    );
    Err(Error::new(
        Status::InvalidArgument,
        format!("session {id} is pinned{until}: unpin it first, or delete it with force (`wsprune rm --force`)"),
    ))
}

/// The result of a single deletion that got as far as emptying its trash
/// directory: the bytes freed, or an error saying where what remains is.
fn report_deleted(id: &str, outcome: Outcome, trash: &str) -> Result<u64> {
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
