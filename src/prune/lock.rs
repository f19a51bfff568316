//! The workspace lock: one prune (or migration) of a root at a time.
//!
//! The lock is an `flock` on the host directory's lock file (see
//! [`crate::host_state`]), exclusive for a prune and shared for a dry run, so
//! two prunes of one root never both count the same bytes as theirs to free.
//! Only the host can open that file, so no guest can hold it. The root
//! directory itself, which wsprune 0.3 locked, is locked too without waiting,
//! and is waited for only when no lock file can be made (a full or read-only
//! filesystem). A thread that already holds the lock (a prune started from an
//! event handler of a prune of the same root) is refused at once.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result, Status};
use crate::fd::{self, DirId};
use crate::host_state::{self, HostDir};
use crate::lock_holders;
use crate::policy::PruneOptions;

thread_local! {
    /// The workspace locks this thread holds: (device, inode) of the root,
    /// and whether the lock is shared (a dry run).
    static HELD: std::cell::RefCell<Vec<(u64, u64, bool)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// This thread's hold on a workspace lock: the lock file (closed, and so
/// released, when dropped) and the entry in [`HELD`], forgotten then.
pub(super) struct Held(u64, u64, bool, #[allow(dead_code)] Option<OwnedFd>);

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
pub(super) fn lock_workspace(
    rfd: BorrowedFd<'_>,
    root_id: &DirId,
    host: Option<&HostDir>,
    shared: bool,
    timeout: Duration,
    root: &Path,
) -> Result<Held> {
    refuse_reentry(root_id, shared, root)?;
    let op = if shared { libc::LOCK_SH } else { libc::LOCK_EX };
    let lock = open_lock_file(host)?;
    if lock.is_none() && !shared {
        // No lock file, and none can be made (a full or read-only
        // filesystem): the root directory itself, as wsprune 0.3 locked it.
        wait_for_root_dir(rfd, root_id, op, timeout, root)?;
    }
    if let Some(l) = &lock {
        wait_for_lock_file(l.as_fd(), op, timeout, root)?;
    }
    // For wsprune 0.3 prunes started later; never waited for (see above).
    let _ = fd::try_flock(rfd, op);
    HELD.with(|h| h.borrow_mut().push((root_id.dev, root_id.ino, shared)));
    Ok(Held(root_id.dev, root_id.ino, shared, lock))
}

/// [`Status::Busy`] if this thread already holds a lock on the root that
/// this one conflicts with: waiting would wait for ourselves.
fn refuse_reentry(root_id: &DirId, shared: bool, root: &Path) -> Result<()> {
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
    Ok(())
}

fn lock_err(e: std::io::Error) -> Error {
    Error::io("cannot lock the workspace", e)
}

/// The host directory's lock file, or none if there is no host directory or
/// the file cannot be made for want of room.
fn open_lock_file(host: Option<&HostDir>) -> Result<Option<OwnedFd>> {
    match host.map(HostDir::workspace_lock) {
        Some(Ok(l)) => Ok(Some(l)),
        Some(Err(e)) if host_state::is_no_room(&e) => Ok(None),
        Some(Err(e)) => Err(lock_err(e)),
        None => Ok(None),
    }
}

/// The fallback: waits for the root directory's own lock, naming its holders
/// (and what to do about them) if the wait times out.
fn wait_for_root_dir(rfd: BorrowedFd<'_>, root_id: &DirId, op: i32, timeout: Duration, root: &Path) -> Result<()> {
    if fd::flock_wait(rfd, op, timeout).map_err(lock_err)? {
        return Ok(());
    }
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
    Err(Error::new(Status::Busy, msg))
}

/// Waits for the host directory's lock file, naming its holders if the wait
/// times out.
fn wait_for_lock_file(lock: BorrowedFd<'_>, op: i32, timeout: Duration, root: &Path) -> Result<()> {
    if fd::flock_wait(lock, op, timeout).map_err(lock_err)? {
        return Ok(());
    }
    let mut msg = format!(
        "another prune of {} is running (waited {:.1} s for the workspace lock): wait for it to finish, or give this prune a longer lock timeout",
        root.display(),
        timeout.as_secs_f64()
    );
    // Only the host can open the lock file: its holders are the host's processes.
    if let Some(who) = fd::dir_id(lock)
        .ok()
        .and_then(|id| lock_holders::describe(&lock_holders::holders(&id)))
    {
        msg.push_str(&format!("; held by {who}"));
    }
    Err(Error::new(Status::Busy, msg))
}
