//! What one name in the workspace root is, and what is known about it: the
//! one decision that a prune (its scan, its age rule, its deletions), `info`,
//! `ls` and repair all make, made here once.
//!
//! A name is a session if its directory is registered (it has a record in
//! the host directory, [`crate::host_state`]), whatever the directory holds;
//! otherwise (reference implementation, wsprune 0.3) if it is a UUID, or a
//! custom id whose directory holds `.metadata.json`. What a registered
//! session's times are comes from its record, never from its
//! `.metadata.json`; an unregistered directory's come from `.metadata.json`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::chase::{self, ChaseError};
use crate::fd::{self, DirId};
use crate::host_state::HostDir;
use crate::metadata::MetadataError;
use crate::session::{self, MetadataState};
use crate::session_id;

/// What [`examine`] does with the session's lock. Only what takes or waits
/// for the lock creates a missing lock file: a look writes nothing, and a
/// scan does not even open it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    /// Look without opening the lock file (a prune's scan): then
    /// [`Session::in_use`] cannot be asked.
    None,
    /// Open the lock file if there is one, without locking, so that
    /// [`Session::in_use`] can probe it (`info`, `ls`, stats).
    Probe,
    /// Open the lock file, creating it if missing, without locking: the
    /// caller then waits for the lock (`delete`).
    Open,
    /// Open the lock file, creating it if missing, and try the exclusive
    /// lock without waiting (a prune's deletion, repair, migrate).
    Exclusive,
}

/// A session directory, open, with what locks it.
pub(crate) struct Session {
    /// The session directory.
    pub dir: OwnedFd,
    /// Its identity when opened.
    pub dir_id: DirId,
    /// A registered session's lock file; `None` for an unregistered directory
    /// (locked, as by wsprune 0.3, through the directory itself), and for a
    /// registered one examined with [`Lock::None`], or with [`Lock::Probe`]
    /// and no lock file yet.
    pub lock_file: Option<OwnedFd>,
    /// Whether the session is registered (its truth is its record).
    pub registered: bool,
    /// Whether this call holds the session's exclusive lock.
    pub locked: bool,
}

impl Session {
    /// What locks this session: its lock file, or its directory.
    pub fn lock_fd(&self) -> BorrowedFd<'_> {
        self.lock_file.as_ref().unwrap_or(&self.dir).as_fd()
    }

    /// Whether the session is registered (its truth is its record).
    pub fn registered(&self) -> bool {
        self.registered
    }

    /// Whether someone else holds the session's lock (a lease, or a
    /// deletion): probed with a non-blocking exclusive lock released at once.
    /// A registered session without a lock file is not in use: a lease
    /// creates the lock file before it locks it.
    pub fn in_use(&self) -> std::io::Result<bool> {
        if self.locked || (self.registered && self.lock_file.is_none()) {
            return Ok(false);
        }
        let fd = self.lock_fd();
        let free = fd::try_flock(fd, libc::LOCK_EX)?;
        if free {
            let _ = fd::unlock(fd);
        }
        Ok(!free)
    }
}

/// What the session's record (or, unregistered, its `.metadata.json`) says,
/// decoded: `Missing` only for an unregistered UUID directory without
/// metadata (a legacy session of the reference implementation).
pub(crate) type Known<T> = MetadataState<T>;

/// What [`examine`] found.
pub(crate) enum Examined<T> {
    /// A session, and what is known about it.
    Session(Session, Known<T>),
    /// Not a session (any more): vanished, a symlink or not a directory, a
    /// custom-id directory without metadata, deleted by someone else meanwhile.
    NotASession,
    /// Something the caller reports.
    Failed(String),
}

/// Examines the name `id` in the open root `rfd` (whose host directory is
/// `host`): opens it the checked way ([`chase::open_session_dir`]), tells
/// whether it is a session, takes its lock if asked, and decodes its record
/// or metadata with `decode`.
pub(crate) fn examine<T>(
    rfd: BorrowedFd<'_>,
    host: Option<&HostDir>,
    id: &str,
    lock: Lock,
    decode: impl FnOnce(&[u8]) -> Result<T, MetadataError>,
) -> Examined<T> {
    let registered = match host.map(|h| h.is_registered(id)) {
        Some(Ok(r)) => r,
        Some(Err(e)) => return Examined::Failed(format!("cannot read the session's record: {e}")),
        None => false,
    };
    let (dir, dir_id) = match chase::open_session_dir(rfd, &fd::cname(id), fd::DIR_FLAGS) {
        Ok(d) => d,
        // Vanished, or a symlink / non-directory: not a session, not reported.
        Err(ChaseError::NotASession) => return Examined::NotASession,
        Err(ChaseError::MountPoint) => {
            return Examined::Failed("session directory is a mount point; left in place".into())
        }
        Err(ChaseError::Io(e)) => return Examined::Failed(format!("cannot open session directory: {e}")),
    };
    match host {
        Some(host) if registered => examine_registered(rfd, host, id, lock, dir, dir_id, decode),
        _ => examine_unregistered(rfd, host, id, lock, dir, dir_id, decode),
    }
}

/// [`examine`] of a registered session: its lock file and its record.
fn examine_registered<T>(
    rfd: BorrowedFd<'_>,
    host: &HostDir,
    id: &str,
    lock: Lock,
    dir: OwnedFd,
    dir_id: DirId,
    decode: impl FnOnce(&[u8]) -> Result<T, MetadataError>,
) -> Examined<T> {
    let lock_file = match lock {
        Lock::None => None,
        Lock::Probe => match host.open_lock(id, false) {
            Ok(f) => f,
            Err(e) => return Examined::Failed(format!("cannot open the session's lock file: {e}")),
        },
        Lock::Open | Lock::Exclusive => match host.open_lock(id, true) {
            Ok(Some(f)) => Some(f),
            Ok(None) => return Examined::NotASession,
            Err(e) => return Examined::Failed(format!("cannot open the session's lock file: {e}")),
        },
    };
    let locked = match (lock, &lock_file) {
        (Lock::Exclusive, Some(f)) => match fd::try_flock(f.as_fd(), libc::LOCK_EX) {
            Ok(l) => l,
            Err(e) => return Examined::Failed(format!("cannot lock session: {e}")),
        },
        _ => false,
    };
    // Locked: a lock file no longer under its name is a session someone else
    // deleted between our open and our lock.
    if let (true, Some(f)) = (locked, &lock_file) {
        if !host.lock_is_current(id, f.as_fd()) {
            return Examined::NotASession;
        }
    }
    let known = match host.read_record(id) {
        Ok(Some(bytes)) => Known::decoded(decode(&bytes)),
        // Unregistered meanwhile: deleted.
        Ok(None) => return Examined::NotASession,
        Err(e) => return Examined::Failed(format!("cannot read the session's record: {e}")),
    };
    if !fd::is_named(rfd, &fd::cname(id), &dir_id) {
        return Examined::NotASession;
    }
    let session = Session {
        dir,
        dir_id,
        lock_file,
        registered: true,
        locked,
    };
    Examined::Session(session, known)
}

/// [`examine`] of a directory without a record, as wsprune 0.3 did: the
/// directory's own lock and its `.metadata.json`.
fn examine_unregistered<T>(
    rfd: BorrowedFd<'_>,
    host: Option<&HostDir>,
    id: &str,
    lock: Lock,
    dir: OwnedFd,
    dir_id: DirId,
    decode: impl FnOnce(&[u8]) -> Result<T, MetadataError>,
) -> Examined<T> {
    let dfd = dir.as_fd();
    let gone = || !fd::is_named(rfd, &fd::cname(id), &dir_id);
    let locked = match lock {
        Lock::None | Lock::Probe | Lock::Open => false,
        Lock::Exclusive => match fd::try_flock(dfd, libc::LOCK_EX) {
            Ok(l) => l,
            Err(e) => return Examined::Failed(format!("cannot lock session directory: {e}")),
        },
    };
    // Locked: a directory renamed away between our open and our lock is
    // someone else's deletion. Unlocked: so is one whose metadata vanished.
    if locked && gone() {
        return Examined::NotASession;
    }
    // Locked: a directory registered since we looked (a creation or an open
    // that held its lock until its record was written) is now locked and
    // decided through its record, not through this lock and its mirror:
    // left for the next look, which sees it registered.
    if locked && host.is_some_and(|h| matches!(h.is_registered(id), Ok(true))) {
        return Examined::NotASession;
    }
    let known = match session::read_metadata_with(dfd, decode) {
        Ok(Known::Valid(t)) => Known::Valid(t),
        _ if !locked && gone() => return Examined::NotASession,
        // A custom-id directory without metadata is not a session.
        Ok(Known::Missing) if !session_id::is_uuid(id.as_bytes()) => return Examined::NotASession,
        Ok(known) => known,
        Err(e) => return Examined::Failed(format!("cannot read metadata: {e}")),
    };
    let session = Session {
        dir,
        dir_id,
        lock_file: None,
        registered: false,
        locked,
    };
    Examined::Session(session, known)
}
