//! Pruning: which sessions go, and the locked, atomic way they go.
//!
//! For each session directory (a direct child of the root, a real directory,
//! named by a UUID) the metadata is read; a stale one (`age >= threshold`) is
//! locked exclusively without blocking (a lease makes it `in_use`), its
//! metadata is read again under the lock (a touch in between rescues it), it
//! is renamed to a hidden trash name in the root (from that instant it is no
//! longer a session: it cannot look alive while half deleted), and only then
//! is its content removed through directory descriptors. A trash directory
//! left by a crashed prune is finished, and reported, by the next one.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::{Error, Result, Status};
use crate::events::{self, Level};
use crate::fd::{self, DirId};
use crate::fields;
use crate::metadata::MetadataError;
use crate::policy::PruneOptions;
use crate::remove::{self, Mode, Outcome};
use crate::result::{PruneResult, SkipReason, Skipped};
use crate::session::{self, MetadataState};
use crate::session_id;

/// Prefix of the hidden name a session is renamed to while it is deleted.
/// Never a UUID, so never mistaken for a session.
pub const TRASH_PREFIX: &str = ".wsprune-trash.";

/// Deletes the sessions under `root` not used for `opts.older_than_hours`
/// (see the module documentation for how). A missing root gives an empty
/// result. A negative, NaN or infinite threshold, or an empty root, is
/// [`Status::InvalidArgument`]. An error on one session is recorded in the
/// result and the prune carries on.
pub fn prune_sessions(root: &Path, opts: &PruneOptions) -> Result<PruneResult> {
    opts.validate()?;
    let hours = opts.older_than_hours.unwrap_or(f64::INFINITY);
    session::check_root(root)?;
    let dry_run = opts.dry_run;
    events::emit(Level::Info, "session.prune.started", || {
        fields! {"threshold_hours" => hours, "workspace_root" => root.to_string_lossy(), "dry_run" => dry_run}
    });
    let mut result = PruneResult::new(dry_run);
    match session::open_root(root) {
        Ok(root_fd) => prune_root(root_fd, hours, &mut result)?,
        Err(e) if e.status() == Status::NotFound => {}
        Err(e) => return Err(e),
    }
    events::emit(Level::Info, "session.prune.completed", || {
        fields! {
            "deleted_count" => result.deleted_sessions.len(),
            "skipped_count" => result.skipped_sessions.len(),
            "error_count" => result.errors.len(),
            "reclaimed_bytes" => result.reclaimed_bytes,
            "dry_run" => dry_run,
        }
    });
    Ok(result)
}

fn prune_root(root_fd: OwnedFd, hours: f64, result: &mut PruneResult) -> Result<()> {
    let rfd = root_fd.as_raw_fd();
    let root_id = fd::dir_id(rfd).map_err(|e| Error::io("cannot stat workspace root", e))?;
    let mut entries = fd::read_dir(rfd).map_err(|e| Error::io("cannot list workspace root", e))?;
    // Deterministic order for results and events (trash, starting with '.', first).
    entries.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let now = Utc::now();
    for entry in entries {
        let Ok(name) = entry.name.to_str() else { continue };
        if let Some(rest) = name.strip_prefix(TRASH_PREFIX) {
            finish_trash(rfd, &root_id, name, rest, result);
            continue;
        }
        if !session_id::is_session_id(name.as_bytes()) || !matches!(entry.kind, libc::DT_DIR | libc::DT_UNKNOWN) {
            continue;
        }
        prune_one(rfd, &root_id, name, hours, now, result);
    }
    Ok(())
}

fn skip(result: &mut PruneResult, id: &str, reason: SkipReason) {
    events::emit(
        Level::Info,
        "session.prune.skipped",
        || fields! {"session_id" => id, "reason" => reason.as_str()},
    );
    result.skipped_sessions.push(Skipped {
        session_id: id.to_owned(),
        reason,
    });
}

fn fail(result: &mut PruneResult, id: &str, message: String) {
    events::emit(
        Level::Error,
        "session.prune.error",
        || fields! {"session_id" => id, "error" => message.as_str()},
    );
    result.errors.push((id.to_owned(), message));
}

/// Decides from metadata whether a session is stale: `Ok(Some(age))` to
/// delete, `Ok(None)` to keep silently, `Err(reason)` to skip.
fn staleness(state: MetadataState, hours: f64, now: DateTime<Utc>) -> Result<Option<f64>, SkipReason> {
    match state {
        MetadataState::Missing => Err(SkipReason::MissingMetadata),
        MetadataState::Invalid(MetadataError::Corrupted(_)) => Err(SkipReason::CorruptedMetadata),
        MetadataState::Invalid(MetadataError::BadTimestamp(_)) => Err(SkipReason::CorruptedTimestamp),
        MetadataState::Valid(m) => {
            let age = m.age_hours(now);
            // A future timestamp (negative age) never goes, whatever the threshold.
            Ok((age >= 0.0 && age >= hours).then_some(age))
        }
    }
}

fn prune_one(rfd: RawFd, root_id: &DirId, id: &str, hours: f64, now: DateTime<Utc>, result: &mut PruneResult) {
    let cid = fd::cname(id);
    let dir = match fd::open_dir_at(rfd, &cid) {
        Ok(d) => d,
        // Vanished, or a symlink / non-directory: not a session, not reported.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP)
            ) =>
        {
            return
        }
        Err(e) => return fail(result, id, format!("cannot open session directory: {e}")),
    };
    let dfd = dir.as_raw_fd();
    let dir_id = match fd::dir_id(dfd) {
        Ok(d) => d,
        Err(e) => return fail(result, id, format!("cannot stat session directory: {e}")),
    };
    if !dir_id.same_mount(root_id) {
        return fail(result, id, "session directory is a mount point; left in place".into());
    }
    let read = |dfd| session::read_metadata_at(dfd).map_err(|e| format!("cannot read metadata: {e}"));
    // Unlocked, a concurrent prune may be emptying this very directory (it
    // renames before it unlinks): report nothing about one whose name is gone.
    let gone = || !still_named(rfd, &cid, &dir_id);
    let age = match read(dfd).map(|s| staleness(s, hours, now)) {
        Err(_) | Ok(Err(_)) if gone() => return,
        Err(msg) => return fail(result, id, msg),
        Ok(Err(reason)) => return skip(result, id, reason),
        Ok(Ok(None)) => return,
        Ok(Ok(Some(age))) => age,
    };
    events::emit(Level::Debug, "session.prune.candidate", || {
        fields! {"session_id" => id, "age_hours" => age, "threshold_hours" => hours}
    });
    match fd::try_flock(dfd, libc::LOCK_EX) {
        Ok(true) => {}
        Ok(false) if gone() => return,
        Ok(false) => return skip(result, id, SkipReason::InUse),
        Err(e) => return fail(result, id, format!("cannot lock session directory: {e}")),
    }
    if gone() {
        return; // another prune deleted it between our open and our lock
    }
    // Under the lock: a touch since the first read rescues the session.
    let age = match read(dfd).map(|s| staleness(s, hours, now)) {
        Err(msg) => return fail(result, id, msg),
        Ok(Err(reason)) => return skip(result, id, reason),
        Ok(Ok(None)) => return,
        Ok(Ok(Some(age))) => age,
    };
    if result.dry_run {
        // The lock only told us it is not leased; measuring must not hold off leases.
        let _ = fd::unlock(dfd);
        let outcome = remove::walk(dfd, dir_id, Mode::Measure);
        return record(result, id, Some(age), outcome, None);
    }
    let trash = format!("{TRASH_PREFIX}{id}.{}.{}", std::process::id(), now.timestamp_micros());
    if let Err(msg) = move_to_trash(rfd, &cid, &fd::cname(&trash), &dir_id) {
        return fail(result, id, msg);
    }
    let outcome = remove::walk(dfd, dir_id, Mode::Delete);
    let outcome = remove_trash_dir(rfd, &trash, outcome);
    record(result, id, Some(age), outcome, Some(&trash));
    drop(dir); // releases the lock only now that the directory is gone
}

/// Whether `name` in the root still refers to the directory `dir_id`.
fn still_named(rfd: RawFd, name: &std::ffi::CStr, dir_id: &DirId) -> bool {
    matches!(fd::lstat_at(rfd, name), Ok(st) if st.st_dev == dir_id.dev && st.st_ino == dir_id.ino)
}

/// Renames the locked session directory to its trash name (the caller has
/// checked that the name refers to it), insisting that what was renamed is it.
fn move_to_trash(rfd: RawFd, cid: &std::ffi::CStr, trash: &std::ffi::CStr, dir_id: &DirId) -> Result<(), String> {
    fd::renameat(rfd, cid, trash, true).map_err(|e| format!("cannot move session to trash: {e}"))?;
    if still_named(rfd, trash, dir_id) {
        Ok(())
    } else {
        // Someone swapped the name between our check and the rename: put it back.
        let _ = fd::renameat(rfd, trash, cid, true);
        Err("session directory was replaced during the prune; left in place".into())
    }
}

fn remove_trash_dir(rfd: RawFd, trash: &str, mut outcome: Outcome) -> Outcome {
    if outcome.failures == 0 {
        if let Err(e) = fd::unlinkat(rfd, &fd::cname(trash), libc::AT_REMOVEDIR) {
            outcome.failures += 1;
            outcome.first_error = Some(format!("cannot remove directory: {e}"));
        }
    }
    outcome
}

fn record(result: &mut PruneResult, id: &str, age: Option<f64>, outcome: Outcome, trash: Option<&str>) {
    if outcome.failures > 0 {
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
        result.reclaimed_bytes += outcome.bytes;
        return fail(result, id, msg);
    }
    let dry_run = result.dry_run;
    events::emit(Level::Info, "session.prune.deleted", || {
        fields! {
            "session_id" => id,
            "age_hours" => age.map(Value::from).unwrap_or(Value::Null),
            "reclaimed_bytes" => outcome.bytes,
            "dry_run" => dry_run,
        }
    });
    result.deleted_sessions.push(id.to_owned());
    result.reclaimed_bytes += outcome.bytes;
}

/// Finishes a trash directory left by an interrupted prune (reported as a
/// deleted session, with `age_hours` null). One being deleted right now by
/// another prune is locked and left to it.
fn finish_trash(rfd: RawFd, root_id: &DirId, name: &str, rest: &str, result: &mut PruneResult) {
    let id = rest
        .split('.')
        .next()
        .filter(|s| session_id::is_session_id(s.as_bytes()))
        .unwrap_or(name);
    let Ok(dir) = fd::open_dir_at(rfd, &fd::cname(name)) else {
        return;
    };
    let dfd = dir.as_raw_fd();
    let Ok(dir_id) = fd::dir_id(dfd) else { return };
    if !dir_id.same_mount(root_id)
        || !matches!(fd::try_flock(dfd, libc::LOCK_EX), Ok(true))
        || !still_named(rfd, &fd::cname(name), &dir_id)
    {
        return; // another prune holds it, or finished it between our open and our lock
    }
    let mode = if result.dry_run { Mode::Measure } else { Mode::Delete };
    let outcome = remove::walk(dfd, dir_id, mode);
    if result.dry_run {
        return record(result, id, None, outcome, None);
    }
    let outcome = remove_trash_dir(rfd, name, outcome);
    record(result, id, None, outcome, Some(name));
}
