//! Host-owned session state: the truth about every registered session, kept
//! where no guest can write (docs/host-state.md).
//!
//! A guest owns the bytes inside its session directory, `.metadata.json`
//! included: it can delete that file, date it 2099 or replace it with a
//! directory. So the record a prune decides on lives beside the sessions, in
//! a hidden directory of the workspace root that only the host can open:
//!
//! ```text
//! <root>/.wsprune/             0700, owned by the root's owner (or uid 0)
//! <root>/.wsprune/lock         the workspace lock (prune: exclusive, dry run: shared)
//! <root>/.wsprune/sessions/ID  the session's record, in the .metadata.json format, 0600
//! <root>/.wsprune/locks/ID     the session's lock file: a lease shares it,
//!                              a deletion holds it exclusively
//! ```
//!
//! A session with a record is *registered*: its record is the truth, and the
//! `.metadata.json` in its directory is only a mirror for the reference
//! implementation and other readers, never read back. Directories without a
//! record (made by the reference implementation or wsprune 0.3) keep the
//! behaviour of 0.3 until they are registered (`wsprune migrate`, or an open
//! of a directory with valid metadata).
//!
//! Records are written crash-safely (a temporary file in `sessions/`, fsync,
//! rename over the record): a SIGKILL at any point leaves the old record or
//! the new one. A touch overwrites the fixed-width `updated_at` in place, as
//! for `.metadata.json` (see [`crate::session`]). Lock files are regular
//! files that are never replaced while a session lives; a deletion unlinks
//! its record and then its lock file while it holds that lock exclusively,
//! so whoever waited on the lock finds it unlinked ([`HostDir::lock_is_current`])
//! and knows the session is gone. Regular lock files are also what a future
//! cross-host lease needs: NFSv4 carries byte-range locks on regular files to
//! the server, never `flock` on a directory.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::fd;
use crate::metadata::MAX_METADATA_BYTES;
use crate::session_id;

/// Name of the host-owned directory in the workspace root. Hidden, so never
/// a session id, never listed and never pruned.
pub const HOST_DIR: &str = ".wsprune";
/// The directory of session records inside [`HOST_DIR`].
const RECORDS: &str = "sessions";
/// The directory of per-session lock files inside [`HOST_DIR`].
const LOCKS: &str = "locks";
/// The workspace lock file inside [`HOST_DIR`].
const WORKSPACE_LOCK: &str = "lock";
/// Mode of the host directory and its subdirectories: the host's alone.
const HOST_DIR_MODE: libc::mode_t = 0o700;
/// Mode of records and lock files.
const FILE_MODE: libc::mode_t = 0o600;

/// The open host directory of one workspace root.
#[derive(Debug)]
pub(crate) struct HostDir {
    dir: OwnedFd,
    records: OwnedFd,
    locks: OwnedFd,
    /// Whom the files this process creates here are given to (see
    /// [`give_to_owner`]): the host directory's owner when this process is
    /// root and the directory is another user's; `None` otherwise.
    owner: Option<(u32, u32)>,
}

/// What opening a record for a touch found.
pub(crate) enum RecordFile {
    /// Not registered.
    Missing,
    /// The record, open for reading and writing, and its bytes.
    Open(OwnedFd, Vec<u8>),
}

impl HostDir {
    /// Opens the host directory of the open root `rfd`; `None` when there is
    /// none (no session is registered). A host directory that is not a
    /// directory, is a symlink, or belongs to someone other than the root's
    /// owner, uid 0 or this process's user, or that others may write, is
    /// refused: only the host can have made a trustworthy one.
    pub(crate) fn open(rfd: BorrowedFd<'_>) -> io::Result<Option<HostDir>> {
        match fd::open_dir_at(rfd, &fd::cname(HOST_DIR)) {
            Ok(dir) => match Self::from_dir(rfd, dir, false) {
                // Being created by another process this instant: nothing is
                // registered in it yet.
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
                other => other.map(Some),
            },
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(refused(e)),
        }
    }

    /// Opens the host directory of the open root `rfd`, creating it (and its
    /// parts) when missing.
    pub(crate) fn open_or_create(rfd: BorrowedFd<'_>) -> io::Result<HostDir> {
        // It usually exists: open it without trying to make anything first.
        if let Some(host) = Self::open(rfd)? {
            return Ok(host);
        }
        let name = fd::cname(HOST_DIR);
        let made = match fd::mkdirat(rfd, &name, HOST_DIR_MODE) {
            Ok(()) => true,
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => false,
            Err(e) => return Err(e),
        };
        let dir = fd::open_dir_at(rfd, &name).map_err(refused)?;
        give_to_owner(dir.as_fd(), rfd)?;
        let host = Self::from_dir(rfd, dir, true)?;
        if made {
            host.workspace_lock()?;
        }
        Ok(host)
    }

    fn from_dir(rfd: BorrowedFd<'_>, dir: OwnedFd, create: bool) -> io::Result<HostDir> {
        let root = fd::fstat(rfd)?;
        let st = fd::fstat(dir.as_fd())?;
        // The root's owner, root, or this process (a host running as its own
        // user in a root it does not own): whoever else made it could be a guest.
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        let trusted_owner = st.st_uid == root.st_uid || st.st_uid == 0 || st.st_uid == euid;
        if !trusted_owner || st.st_mode & 0o022 != 0 || st.st_dev != root.st_dev {
            return Err(io::Error::other(format!(
                "{HOST_DIR} in the workspace root is not the host's (owner uid {}, mode {:o}; the root's owner is uid {}): refused",
                st.st_uid,
                st.st_mode & 0o7777,
                root.st_uid
            )));
        }
        let owner = (euid == 0 && st.st_uid != 0).then_some((st.st_uid, st.st_gid));
        let sub = |name: &str| -> io::Result<OwnedFd> {
            let c = fd::cname(name);
            match fd::open_dir_at(dir.as_fd(), &c) {
                Err(e) if create && e.raw_os_error() == Some(libc::ENOENT) => {}
                other => return other,
            }
            match fd::mkdirat(dir.as_fd(), &c, HOST_DIR_MODE) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) => return Err(e),
            }
            let sub = fd::open_dir_at(dir.as_fd(), &c)?;
            give_to_owner(sub.as_fd(), dir.as_fd())?;
            Ok(sub)
        };
        let records = sub(RECORDS)?;
        let locks = sub(LOCKS)?;
        Ok(HostDir {
            dir,
            records,
            locks,
            owner,
        })
    }

    /// Opens (creating) the workspace lock file.
    pub(crate) fn workspace_lock(&self) -> io::Result<OwnedFd> {
        let f = fd::openat(
            self.dir.as_fd(),
            &fd::cname(WORKSPACE_LOCK),
            libc::O_RDONLY | libc::O_CREAT | libc::O_NOFOLLOW,
            FILE_MODE,
        )?;
        self.give(f.as_fd())?;
        Ok(f)
    }

    /// Whether session `id` is registered (has a record).
    pub(crate) fn is_registered(&self, id: &str) -> io::Result<bool> {
        match fd::lstat_at(self.records.as_fd(), &fd::cname(id)) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The bytes of session `id`'s record; `None` if it is not registered.
    pub(crate) fn read_record(&self, id: &str) -> io::Result<Option<Vec<u8>>> {
        let file = match open_file(self.records.as_fd(), &fd::cname(id), libc::O_RDONLY) {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut buf = Vec::new();
        let size = fd::fstat(file.as_fd())?.st_size.max(0) as usize;
        fd::read_to_end(file.as_fd(), &mut buf, MAX_METADATA_BYTES, size)?;
        Ok(Some(buf))
    }

    /// Writes session `id`'s record crash-safely: a temporary file, fsync,
    /// then a rename over the record. Readers see the old record or the new one.
    /// `sync` makes the new record durable before it replaces the old one
    /// (a rewrite); a first record has nothing to lose and need not wait.
    pub(crate) fn write_record(&self, id: &str, data: &[u8], sync: bool) -> io::Result<()> {
        write_record_with(self.records.as_fd(), id, data, sync, false, |f| self.give(f))
    }

    /// Writes session `id`'s first record, crash-safely, only if it has
    /// none: `Ok(false)` when someone registered it meanwhile (their record,
    /// and whatever pin, TTL or labels it has since, is kept).
    pub(crate) fn write_first_record(&self, id: &str, data: &[u8]) -> io::Result<bool> {
        match write_record_with(self.records.as_fd(), id, data, true, true, |f| self.give(f)) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Rewrites session `id`'s record to what `change` makes of its bytes,
    /// one writer at a time (see [`update_record_at`]). `Ok(false)`: not registered.
    pub(crate) fn update_record(
        &self,
        id: &str,
        change: impl FnOnce(&[u8]) -> io::Result<Vec<u8>>,
    ) -> io::Result<bool> {
        update_record_at(self.records.as_fd(), id, change)
    }

    /// Gives a file this process just made here to the host directory's
    /// owner, when it must (see [`give_to_owner`]; the owner is known already).
    fn give(&self, file: BorrowedFd<'_>) -> io::Result<()> {
        match self.owner {
            Some((uid, gid)) => fd::fchown(file, uid, gid),
            None => Ok(()),
        }
    }

    /// Opens session `id`'s record for a touch (read and write).
    pub(crate) fn open_record_rw(&self, id: &str) -> io::Result<RecordFile> {
        open_record_rw_at(self.records.as_fd(), &fd::cname(id))
    }

    /// Opens session `id`'s lock file, creating it when `create`; `None`
    /// when it does not exist (and `create` is false).
    pub(crate) fn open_lock(&self, id: &str, create: bool) -> io::Result<Option<OwnedFd>> {
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | if create { libc::O_CREAT } else { 0 };
        match fd::openat(self.locks.as_fd(), &fd::cname(id), flags, FILE_MODE) {
            Ok(f) if create => self.give(f.as_fd()).map(|()| Some(f)),
            Ok(f) => Ok(Some(f)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && !create => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether `lock` (an open lock file of session `id`) is still the one
    /// under its name: a deletion unlinks it while holding it, so a waiter
    /// that then gets the lock learns the session is gone.
    pub(crate) fn lock_is_current(&self, id: &str, lock: BorrowedFd<'_>) -> bool {
        match (fd::fstat(lock), fd::lstat_at(self.locks.as_fd(), &fd::cname(id))) {
            (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
            _ => false,
        }
    }

    /// Unregisters session `id`: removes its record, then its lock file (the
    /// caller holds that lock exclusively). A record already gone is fine.
    pub(crate) fn unregister(&self, id: &str) -> io::Result<()> {
        let name = fd::cname(id);
        for dir in [&self.records, &self.locks] {
            match fd::unlinkat(dir.as_fd(), &name, 0) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The ids of every registered session, unsorted.
    pub(crate) fn registered_ids(&self) -> io::Result<Vec<String>> {
        Ok(fd::read_dir(self.records.as_fd())?
            .into_iter()
            .filter_map(|e| e.name.into_string().ok())
            .filter(|n| session_id::is_session_id(n.as_bytes()))
            .collect())
    }

    /// A duplicate of the records directory's descriptor.
    pub(crate) fn records_dup(&self) -> io::Result<OwnedFd> {
        self.records.try_clone()
    }
}

/// How long a record update waits for another one of the same root.
const UPDATE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Rewrites session `id`'s record in the records directory `records` to what
/// `change` makes of its current bytes (crash-safely, as [`HostDir::write_record`]),
/// holding an exclusive `flock` on the records directory (a fresh open of
/// it: a lock is per open file description) for the read, the change and
/// the write. Every read-change-write of a record (a pin, a TTL, labels, a
/// touch that cannot patch in place) goes through here, so none loses
/// another's change. A touch's in-place patch does not take the lock (it
/// stays a handful of system calls): one that lands on the old file after
/// the rename finds it unlinked and patches the new one ([`crate::touch`]);
/// one that landed before the rename is carried over to the new record
/// ([`carry_touch_over`]). `Ok(false)`: the session is not registered.
pub(crate) fn update_record_at(
    records: BorrowedFd<'_>,
    id: &str,
    change: impl FnOnce(&[u8]) -> io::Result<Vec<u8>>,
) -> io::Result<bool> {
    let lock = fd::open_dir_at(records, c".")?;
    if !fd::flock_wait(lock.as_fd(), libc::LOCK_EX, UPDATE_TIMEOUT)? {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "another update of the session records held their lock for 10 s",
        ));
    }
    let old = match open_file(records, &fd::cname(id), libc::O_RDONLY) {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    fd::read_to_end(old.as_fd(), &mut bytes, MAX_METADATA_BYTES, usize::MAX)?;
    let new = change(&bytes)?;
    write_record_with(records, id, &new, true, false, |f| give_to_owner(f, records))?;
    carry_touch_over(records, id, old.as_fd(), &bytes, &new)?;
    Ok(true)
    // `lock` closes here, releasing the lock.
}

/// After [`update_record_at`] replaced session `id`'s record (`read` is what
/// it read of the old one, still open as `old`; `written` the new one): a
/// touch that patched the old file in place between that read and the
/// rename saw it still linked and returned OK, so its `updated_at` is
/// written into the new record here. A touch after the rename finds the old
/// file unlinked and patches the new one itself: every touch is in one
/// record or the other, none lost.
fn carry_touch_over(
    records: BorrowedFd<'_>,
    id: &str,
    old: BorrowedFd<'_>,
    read: &[u8],
    written: &[u8],
) -> io::Result<()> {
    let mut now = Vec::new();
    fd::rewind(old)?;
    fd::read_to_end(old, &mut now, MAX_METADATA_BYTES, usize::MAX)?;
    // Nothing patched it meanwhile (almost always): nothing to parse.
    if now == read {
        return Ok(());
    }
    let (Ok(before), Ok(touched), Ok(in_new)) = (
        crate::metadata::parse_updated_at(read),
        crate::metadata::parse_updated_at(&now),
        crate::metadata::parse_updated_at(written),
    ) else {
        return Ok(());
    };
    if touched <= before || touched <= in_new {
        return Ok(());
    }
    match crate::metadata::validate_for_touch(written) {
        Ok(Some(off)) => {
            let file = open_file(records, &fd::cname(id), libc::O_WRONLY)?;
            fd::pwrite_all(file.as_fd(), &crate::metadata::timestamp_bytes(touched), off as u64)
        }
        _ => {
            let Ok(mut m) = crate::metadata::SessionMetadata::from_json(written) else {
                return Ok(());
            };
            m.updated_at = touched;
            write_record_with(records, id, m.to_json().as_bytes(), true, false, |f| {
                give_to_owner(f, records)
            })
        }
    }
}

/// Writes the record `id` in the records directory `dir` (see
/// [`HostDir::write_record`]), giving the new file away with `give`.
fn write_record_with(
    dir: BorrowedFd<'_>,
    id: &str,
    data: &[u8],
    sync: bool,
    noreplace: bool,
    give: impl FnOnce(BorrowedFd<'_>) -> io::Result<()>,
) -> io::Result<()> {
    // A record longer than a reader accepts would read as corrupted, and no
    // rule deletes a corrupted session: refuse to write it.
    if data.len() > MAX_METADATA_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a record of {} bytes is longer than the {MAX_METADATA_BYTES} allowed",
                data.len()
            ),
        ));
    }
    // Hidden temporary name: never a session id, so never mistaken for a record.
    let how = fd::AtomicWrite {
        tmp_prefix: ".tmp.",
        mode: FILE_MODE,
        sync,
        noreplace,
    };
    fd::write_atomically(dir, id, data, how, give)
}

/// Opens the record `name` in the records directory `records` for a touch.
pub(crate) fn open_record_rw_at(records: BorrowedFd<'_>, name: &CStr) -> io::Result<RecordFile> {
    let file = match open_file(records, name, libc::O_RDWR) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(RecordFile::Missing),
        Err(e) => return Err(e),
    };
    let mut buf = Vec::with_capacity(512);
    fd::read_to_end(file.as_fd(), &mut buf, MAX_METADATA_BYTES, usize::MAX)?;
    Ok(RecordFile::Open(file, buf))
}

/// The record of session `id` opened for a touch straight from the root, in
/// one `openat2` beneath the root that follows no symlink: the touch fast
/// path. `Ok(None)` when this cannot be done here (no `openat2`) or the
/// session is not registered; the caller then takes the full path.
pub(crate) fn open_record_beneath(rfd: BorrowedFd<'_>, id: &str) -> io::Result<Option<(OwnedFd, Vec<u8>)>> {
    let rel = fd::cname(&format!("{HOST_DIR}/{RECORDS}/{id}"));
    let file = match crate::chase::openat2_beneath(rfd, &rel, libc::O_RDWR | libc::O_NOFOLLOW | libc::O_NONBLOCK) {
        Some(Ok(f)) => f,
        Some(Err(e)) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => return Ok(None),
        Some(Err(e)) => return Err(e),
        None => return Ok(None),
    };
    let mut buf = Vec::with_capacity(512);
    fd::read_to_end(file.as_fd(), &mut buf, MAX_METADATA_BYTES, usize::MAX)?;
    Ok(Some((file, buf)))
}

/// Whether the open record `file` was unregistered (unlinked by a deletion).
pub(crate) fn is_unlinked(file: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(fd::fstat(file)?.st_nlink == 0)
}

fn open_file(dir: BorrowedFd<'_>, name: &CStr, access: libc::c_int) -> io::Result<OwnedFd> {
    // O_NONBLOCK: nothing but the host writes here, but a record must never
    // be able to stall a call (a FIFO would; it is then refused below).
    let f = fd::openat(dir, name, access | libc::O_NOFOLLOW | libc::O_NONBLOCK, 0)?;
    let st = fd::fstat(f.as_fd())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(io::Error::other("a session record that is not a regular file"));
    }
    Ok(f)
}

/// Gives `file`, just made by this process in the host directory (or that
/// directory itself, `dir` being its parent), to the owner of `dir` when this
/// process is root and `dir` is someone else's: a prune run as root (from a
/// systemd timer) must not leave records and lock files that the runtime,
/// running as the root's owner, can no longer open. Otherwise a no-op.
fn give_to_owner(file: BorrowedFd<'_>, dir: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let owner = fd::fstat(dir)?;
    if owner.st_uid == 0 || fd::fstat(file)?.st_uid == owner.st_uid {
        return Ok(());
    }
    fd::fchown(file, owner.st_uid, owner.st_gid)
}

/// Whether `e` says the filesystem has no room (space, inodes or quota) or
/// cannot be written at all: the host directory cannot be made there.
pub(crate) fn is_no_room(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EROFS)
    )
}

fn refused(e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::ENOTDIR) => io::Error::other(format!(
            "{HOST_DIR} in the workspace root is not a directory (or is a symlink): refused"
        )),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{parse_updated_at, SessionMetadata};
    use chrono::Utc;

    /// A touch that patches the record in place between an update's read
    /// and its rename (it finds the file still linked, so returns OK) is
    /// carried over into the new record, not lost under the old
    /// `updated_at` the update read (found by an attack review: a label
    /// change during a touch made a just-used session look idle).
    #[test]
    fn a_touch_landing_during_an_update_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("ws");
        let id = crate::create_session(&root, None).unwrap();
        let rfd = crate::session::open_root(&root).unwrap();
        let host = HostDir::open(rfd.as_fd()).unwrap().unwrap();
        let records = host.records.as_fd();
        let hour_ago = crate::metadata::truncate_to_micros(Utc::now() - chrono::Duration::hours(1));
        let aged = |bytes: &[u8]| {
            let mut m = SessionMetadata::from_json(bytes).map_err(|e| io::Error::other(e.to_string()))?;
            m.updated_at = hour_ago;
            Ok(m.to_json().into_bytes())
        };
        assert!(update_record_at(records, &id, aged).unwrap());
        let before_touch = Utc::now();
        let changed = update_record_at(records, &id, |bytes| {
            assert_eq!(parse_updated_at(bytes).unwrap(), hour_ago);
            crate::touch_session(&root, &id).unwrap();
            // A change that keeps the bytes it read (say, labels set again).
            Ok(bytes.to_vec())
        });
        assert!(changed.unwrap());
        let record = host.read_record(&id).unwrap().unwrap();
        let updated = parse_updated_at(&record).unwrap();
        assert!(
            updated >= crate::metadata::truncate_to_micros(before_touch),
            "touch lost: {updated}"
        );
    }
}
