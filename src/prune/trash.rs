//! The move to trash, and the recovery of deletions that were interrupted.
//!
//! A session is renamed to a hidden trash name in the root before it is
//! emptied: from that instant it is no longer a session, so it can never
//! look alive while half deleted. A deletion interrupted after the rename (a
//! crash, a kill, a full disk) leaves its trash directory behind; the next
//! prune finishes it and reports it in [`PruneResult::interrupted`].

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use super::record::{fail, failure_message};
use super::Pruner;
use crate::control;
use crate::error::{Error, Result, Status};
use crate::events::{self, Level};
use crate::fd::{self, DirId};
use crate::fields;
use crate::parallel;
use crate::remove::{self, Mode, Outcome};
use crate::result::{PruneResult, Record};
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

/// Whether `name` is one of our trash names (see [`trash_name`]):
/// `.wsprune-trash.<uuid>.<pid>.<stamp>` (every version) or
/// `.wsprune-trash.<pid>.<stamp>.<n>` (custom ids, since 0.3.0). Any other
/// name, hidden or not, is never touched.
pub(super) fn is_trash_name(name: &str) -> bool {
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

/// Renames the locked session directory to a fresh trash name (the caller
/// has checked that the name refers to it), insisting that what was renamed
/// is it. Returns the trash name.
pub(super) fn move_to_trash(rfd: BorrowedFd<'_>, id: &str, stamp: i64, dir_id: &DirId) -> Result<String> {
    let cid = fd::cname(id);
    let mut attempt = 0;
    let (trash, ctrash) = loop {
        let trash = trash_name(id, stamp, attempt);
        let ctrash = fd::cname(&trash);
        match fd::renameat(rfd, &cid, &ctrash, true) {
            Ok(()) => break (trash, ctrash),
            // Left by a crashed process with our pid: never replaced, take the next name.
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) && attempt < 1000 => attempt += 1,
            Err(e) => return Err(Error::io("cannot move session to trash", e)),
        }
    };
    if fd::is_named(rfd, &ctrash, dir_id) {
        Ok(trash)
    } else {
        // Someone swapped the name between our check and the rename: put it back.
        let _ = fd::renameat(rfd, &ctrash, &cid, true);
        Err(Error::new(
            Status::Io,
            "session directory was replaced during the prune; left in place",
        ))
    }
}

/// Removes the emptied trash directory `trash`, if the walk that emptied it
/// (`outcome`) left nothing behind; a failure is added to the outcome.
pub(super) fn remove_trash_dir(rfd: BorrowedFd<'_>, trash: &str, mut outcome: Outcome) -> Outcome {
    if outcome.failures == 0 {
        if let Err(e) = fd::unlinkat(rfd, &fd::cname(trash), libc::AT_REMOVEDIR) {
            outcome.failures += 1;
            outcome.first_error = Some(format!("cannot remove directory: {e}"));
        }
    }
    outcome
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

impl Pruner<'_> {
    /// Finishes the trash directories left by interrupted deletions, reporting
    /// each in [`PruneResult::interrupted`] by its trash name (never as a
    /// session: the runtime may have re-created a live session of the same id
    /// meanwhile), and a failure under the trash name. One that another
    /// process holds locked (its deletion in progress, or a process still
    /// using the directory) is left in place and reported as an error under
    /// its trash name, so that the operator learns the space is still taken.
    pub(super) fn finish_trash(&mut self, names: &[String]) {
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
