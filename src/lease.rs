//! Leases: the shared lock a runtime holds on a session while code runs in
//! it. A prune never deletes a leased session (it is skipped as `in_use`),
//! and a deletion waits for, or refuses, a leased one.
//!
//! For a registered session the lease is a shared `flock` on the session's
//! lock file in the host directory ([`crate::host_state`]), which no guest can
//! open, so no guest can take or block it. A shared `flock` on the session
//! directory is also taken when it can be without waiting, so that tools
//! that honour directory locks (systemd-tmpfiles, wsprune 0.3) skip a leased
//! session too; that lock decides nothing for wsprune. An unregistered
//! directory (reference implementation, wsprune 0.3) is leased as 0.3 did:
//! a shared `flock` on the directory.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result, Status};
use crate::fd;
use crate::session::{self, host_dir, is_session_dir, not_a_session, resolve};
use crate::touch::{self, TouchOutcome};

/// How long [`acquire`] waits for a prune that is deciding about the session.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// A lease on a session, held until it is dropped or released. Any number
/// of leases may share a session. Dropping a lease releases it without
/// touching.
#[derive(Debug)]
pub struct Lease {
    dir: OwnedFd,
    /// For a registered session: its lock file (held shared) and the records directory.
    host: Option<(OwnedFd, OwnedFd)>,
    session_id: String,
    root: PathBuf,
}

/// Takes a lease on session `id`. Waits up to [`ACQUIRE_TIMEOUT`] while a
/// prune or a deletion holds the session's exclusive lock, then gives
/// [`Status::Busy`]. If the session was deleted meanwhile, gives
/// [`Status::NotFound`]. A UUID is found under any spelling; the lease's
/// [`Lease::session_id`] is the name it was found under. A directory named
/// like a custom id that is neither registered nor holds metadata is not a
/// session: [`Status::NotFound`].
pub fn acquire(root: &Path, id: &str) -> Result<Lease> {
    let ((root_fd, dir, dir_id), id) = resolve(id, |n| session::open_session(root, n, fd::DIR_FLAGS))?;
    let (rfd, dfd) = (root_fd.as_fd(), dir.as_fd());
    let name = fd::cname(&id);
    let busy = || {
        Error::new(
            Status::Busy,
            format!("session {id} is locked exclusively (being pruned or deleted)"),
        )
    };
    let gone = || Error::new(Status::NotFound, format!("session {id} was deleted while acquiring it"));
    let lock_err = |e| Error::io(format_args!("cannot lock session {id}"), e);
    let registered = match host_dir(rfd)? {
        Some(h) if h.is_registered(&id).map_err(lock_err)? => Some(h),
        _ => None,
    };
    let host = match registered {
        Some(h) => {
            let lock = h.open_lock(&id, true).map_err(lock_err)?.expect("created when missing");
            if !fd::flock_wait(lock.as_fd(), libc::LOCK_SH, ACQUIRE_TIMEOUT).map_err(lock_err)? {
                return Err(busy());
            }
            // A deletion unlinks the record and the lock file while holding
            // it: a lock file no longer under its name is a deleted session.
            if !h.lock_is_current(&id, lock.as_fd()) || !h.is_registered(&id).map_err(lock_err)? {
                return Err(gone());
            }
            // For tools that honour directory locks; never waited for (a
            // guest owning its directory may hold it), and deciding nothing.
            let _ = fd::try_flock(dfd, libc::LOCK_SH);
            Some((lock, h.records_dup().map_err(lock_err)?))
        }
        None => {
            if !is_session_dir(dfd, &id).map_err(|e| Error::io(format_args!("cannot read session {id}"), e))? {
                return Err(not_a_session(&id));
            }
            if !fd::flock_wait(dfd, libc::LOCK_SH, ACQUIRE_TIMEOUT).map_err(lock_err)? {
                return Err(busy());
            }
            None
        }
    };
    // A deletion may have renamed it away between our open and our lock.
    if !fd::is_named(rfd, &name, &dir_id) {
        return Err(gone());
    }
    Ok(Lease {
        dir,
        host,
        session_id: id,
        root: root.to_owned(),
    })
}

impl Lease {
    /// The leased session's id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The records directory, for a registered session.
    pub(crate) fn records(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.host.as_ref().map(|(_, records)| records.as_fd())
    }

    /// The workspace root the lease was taken in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Touches the session through the lease (no path is re-resolved).
    pub fn touch(&self) -> Result<TouchOutcome> {
        match &self.host {
            Some((_, records)) => touch::touch_leased(records.as_fd(), self.dir.as_fd(), &self.session_id),
            None => touch::touch_at(self.dir.as_fd(), &self.session_id),
        }
    }

    /// Releases the lease, first touching the session if `touch` (the runtime's
    /// "after successful execution" hook: the touch happens while the lease
    /// still protects the session). The lease is released even if the touch fails.
    pub fn release(self, touch: bool) -> Result<Option<TouchOutcome>> {
        if touch {
            self.touch().map(Some)
        } else {
            Ok(None)
        }
    }
}
