//! The one checked way to open a session directory and its metadata file
//! (systemd's chase/xopenat model). Every caller (prune, delete, repair,
//! touch, acquire, read, info, list) goes through here, so a fix lands once.
//!
//! A session directory is opened beneath the root's descriptor, never
//! following a symlink, only if it is a directory (`O_DIRECTORY` is checked
//! by the kernel before anything is opened, so a FIFO in its place is never
//! opened) and only on the root's own mount: with `openat2` and
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV` where the kernel
//! has it (Linux 5.6), otherwise `openat(O_NOFOLLOW)` and a comparison of
//! `statx` mount ids. The caller validates the name (see
//! [`crate::session_id`]) and, once it has written or decided, checks the name
//! still refers to the directory ([`crate::fd::is_named`]).
//!
//! `.metadata.json` is first opened with `O_PATH` (which opens nothing: no
//! FIFO writer is released, no device driver is called), its type and link
//! count are checked on that descriptor, and only the verified inode is then
//! opened for reading or writing, through `/proc/self/fd/N`: there is no
//! window in which the name could be swapped for something else.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU8, Ordering};

use crate::fd::{self, DirId};
use crate::metadata::{MetadataError, METADATA_FILE};

/// Why a session directory was not opened.
#[derive(Debug)]
pub enum ChaseError {
    /// No session by that name: missing, a symlink or not a directory
    /// (none of these is ever a session).
    NotASession,
    /// A mount point: another filesystem, or a bind mount, in the session's place.
    MountPoint,
    /// Any other error from the system.
    Io(io::Error),
}

impl From<io::Error> for ChaseError {
    fn from(e: io::Error) -> Self {
        ChaseError::Io(e)
    }
}

const OPENAT2_UNKNOWN: u8 = 0;
const OPENAT2_YES: u8 = 1;
const OPENAT2_NO: u8 = 2;
/// Whether `openat2` works here (kernels before 5.6 and some seccomp filters refuse it).
static OPENAT2: AtomicU8 = AtomicU8::new(OPENAT2_UNKNOWN);

const RESOLVE: u64 = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_XDEV;

/// `openat2(dir, name, flags, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV)`;
/// `None` if the kernel does not offer it (the caller then does the same checks itself).
pub(crate) fn openat2_beneath(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> Option<io::Result<OwnedFd>> {
    if OPENAT2.load(Ordering::Relaxed) == OPENAT2_NO {
        return None;
    }
    // SAFETY: `libc::open_how` is plain integers, for which all zeroes is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = RESOLVE;
    loop {
        // SAFETY: `name` is NUL-terminated and `how` a valid `open_how` of the
        // size passed, both for the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                name.as_ptr(),
                &mut how as *mut libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if r >= 0 {
            OPENAT2.store(OPENAT2_YES, Ordering::Relaxed);
            // SAFETY: openat2 just returned this descriptor (>= 0): it is open and nothing else owns it.
            return Some(Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) }));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            // Not implemented, or refused by a seccomp filter: never try again.
            Some(libc::ENOSYS) | Some(libc::EPERM) | Some(libc::E2BIG)
                if OPENAT2.load(Ordering::Relaxed) != OPENAT2_YES =>
            {
                OPENAT2.store(OPENAT2_NO, Ordering::Relaxed);
                return None;
            }
            _ => return Some(Err(e)),
        }
    }
}

/// Opens the session directory `name` beneath the root `rfd` with `flags`
/// (`O_PATH` for a touch; [`fd::DIR_FLAGS`] to lock, read or delete), with
/// every check of the module documentation. Returns it and its identity.
pub fn open_session_dir(rfd: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> Result<(OwnedFd, DirId), ChaseError> {
    let flags = flags | libc::O_DIRECTORY | libc::O_NOFOLLOW;
    let classify = |e: io::Error| match e.raw_os_error() {
        Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP) => ChaseError::NotASession,
        Some(libc::EXDEV) => ChaseError::MountPoint,
        _ => ChaseError::Io(e),
    };
    let (dir, checked_mount) = match openat2_beneath(rfd, name, flags) {
        Some(r) => (r.map_err(classify)?, true),
        None => (fd::openat(rfd, name, flags, 0).map_err(classify)?, false),
    };
    let id = fd::dir_id(dir.as_fd())?;
    if !checked_mount && !id.same_mount(&fd::dir_id(rfd)?) {
        return Err(ChaseError::MountPoint);
    }
    Ok((dir, id))
}

/// `.metadata.json` of a session, opened after its checks.
#[derive(Debug)]
pub enum Metadata {
    /// There is none (a legacy session).
    Missing,
    /// There is one, but it is not a file wsprune may read or write (the
    /// reason is in the error); it was never opened.
    Unusable(MetadataError),
    /// The verified file, open for reading (or reading and writing), with its size.
    Open(OwnedFd, usize),
}

fn unusable(why: &str) -> Metadata {
    Metadata::Unusable(MetadataError::Corrupted(why.into()))
}

/// Opens `.metadata.json` in the open session directory `dir` for reading
/// (or, if `write`, reading and writing) only if it is a regular file with no
/// other hard link (another link could be a file outside the workspace), not
/// a symlink and not a mount point. Nothing else is ever opened.
pub fn open_metadata(dir: BorrowedFd<'_>, write: bool) -> io::Result<Metadata> {
    let name = c".metadata.json";
    debug_assert_eq!(name.to_bytes(), METADATA_FILE.as_bytes());
    let flags = libc::O_PATH | libc::O_NOFOLLOW;
    let (path, checked_mount) = match openat2_beneath(dir, name, flags) {
        Some(r) => (r, true),
        None => (fd::openat(dir, name, flags, 0), false),
    };
    let path = match path {
        Ok(p) => p,
        Err(e) => {
            return match e.raw_os_error() {
                Some(libc::ENOENT) => Ok(Metadata::Missing),
                Some(libc::ELOOP) => Ok(unusable("metadata file is a symlink")),
                Some(libc::EXDEV) => Ok(unusable("metadata file is a mount point")),
                _ => Err(e),
            }
        }
    };
    let st = match check_file(&path)? {
        Checked::Regular(st) => st,
        Checked::Refused(why) => return Ok(unusable(why)),
    };
    if !checked_mount && !fd::dir_id(path.as_fd())?.same_mount(&fd::dir_id(dir)?) {
        return Ok(unusable("metadata file is a mount point"));
    }
    let file = reopen(&path, dir, name, write, &st)?;
    Ok(Metadata::Open(file, st.st_size.max(0) as usize))
}

/// What [`check_file`] found.
enum Checked {
    /// A regular file with one link, and its `stat`.
    Regular(libc::stat),
    /// Anything else, and why it is refused.
    Refused(&'static str),
}

/// The type and link-count checks on an `O_PATH` descriptor.
fn check_file(path: &OwnedFd) -> io::Result<Checked> {
    let st = fd::fstat(path.as_fd())?;
    Ok(match st.st_mode & libc::S_IFMT {
        // O_PATH|O_NOFOLLOW opens a symlink itself (openat fallback).
        libc::S_IFLNK => Checked::Refused("metadata file is a symlink"),
        libc::S_IFREG if st.st_nlink > 1 => Checked::Refused("metadata file has other hard links"),
        libc::S_IFREG => Checked::Regular(st),
        _ => Checked::Refused("metadata file is not a regular file"),
    })
}

/// The fast path of a touch, in as few system calls as the checks allow:
/// opens `rel` (`<id>/.metadata.json`) beneath the root `rfd` in one
/// `openat2` (no symlink, no mount crossing, nothing opened but an
/// `O_PATH` descriptor), checks it as [`open_metadata`] does, and opens the
/// verified inode for reading and writing. `None` whenever anything is not
/// as in a healthy session (no `openat2`, no session, no metadata, not a
/// regular file, a mount...): the caller then takes the full path, which
/// repeats every check and says precisely what is wrong. Returns the file
/// and its `stat` (whose identity [`still_named`] checks after the write).
pub fn open_metadata_beneath(rfd: BorrowedFd<'_>, rel: &CStr) -> io::Result<Option<(OwnedFd, libc::stat)>> {
    let path = match openat2_beneath(rfd, rel, libc::O_PATH | libc::O_NOFOLLOW) {
        Some(Ok(p)) => p,
        Some(Err(_)) | None => return Ok(None),
    };
    let Checked::Regular(st) = check_file(&path)? else {
        return Ok(None);
    };
    let file = reopen(&path, rfd, rel, true, &st)?;
    Ok(Some((file, st)))
}

/// Whether `rel` (`<id>/.metadata.json`) beneath the root `rfd` is still the
/// file `st` (the final component not followed). The fast path's form of
/// "the session is still the directory of that name": a session moved to
/// trash (or replaced) no longer has this file under its name.
pub fn still_named(rfd: BorrowedFd<'_>, rel: &CStr, st: &libc::stat) -> bool {
    matches!(fd::lstat_at(rfd, rel), Ok(now) if now.st_dev == st.st_dev && now.st_ino == st.st_ino)
}

/// Opens the inode behind the `O_PATH` descriptor `path` for reading (and writing if `write`),
/// through `/proc/self/fd/N` (what systemd's `fd_reopen` does): the very
/// inode that was checked, whatever the name refers to by now. Without
/// /proc (a bare chroot), falls back to opening `name` in `dir` without
/// blocking and insisting it is the same inode (a file swapped in for that
/// instant would then have been opened, non-blocking; it is never read or
/// written).
fn reopen(path: &OwnedFd, dir: BorrowedFd<'_>, name: &CStr, write: bool, st: &libc::stat) -> io::Result<OwnedFd> {
    // O_NONBLOCK: a lease the file's owner (a guest may own its metadata)
    // holds on it would otherwise block this open for the kernel's whole
    // lease-break time (45 s); with it the open fails at once (EWOULDBLOCK).
    // A regular file's reads and writes are unaffected.
    let mode = (if write { libc::O_RDWR } else { libc::O_RDONLY }) | libc::O_NONBLOCK;
    let proc_path = fd::ProcFdPath::new(path.as_fd());
    // No O_NOFOLLOW: the magic link is what leads to the verified inode.
    match fd::open(proc_path.as_cstr(), mode | libc::O_NOCTTY, 0) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && !proc_mounted() => {
            let f = fd::openat(dir, name, mode | libc::O_NOFOLLOW | libc::O_NOCTTY, 0)?;
            let now = fd::fstat(f.as_fd())?;
            if now.st_dev != st.st_dev || now.st_ino != st.st_ino {
                return Err(io::Error::other("metadata file was replaced while it was opened"));
            }
            Ok(f)
        }
        other => other,
    }
}

fn proc_mounted() -> bool {
    fd::open(c"/proc/self/fd", libc::O_PATH | libc::O_DIRECTORY, 0).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn open(p: &std::path::Path) -> OwnedFd {
        fd::open_root(p).unwrap()
    }

    #[test]
    fn reopen_path_names_the_descriptor() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(METADATA_FILE), b"{}").unwrap();
        let d = open(tmp.path());
        match open_metadata(d.as_fd(), false).unwrap() {
            Metadata::Open(f, size) => {
                assert_eq!(size, 2);
                let mut buf = Vec::new();
                fd::read_to_end(f.as_fd(), &mut buf, 10, size).unwrap();
                assert_eq!(buf, b"{}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn special_files_symlinks_and_links_are_unusable_without_being_opened() {
        let tmp = tempfile::tempdir().unwrap();
        let d = open(tmp.path());
        let meta = tmp.path().join(METADATA_FILE);
        let cmeta = fd::cpath(&meta).unwrap();
        // FIFO: opening it O_RDWR would succeed, so "unusable" proves the type check came first.
        // SAFETY: `cmeta` is a NUL-terminated string that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(cmeta.as_ptr(), 0o600) }, 0);
        for write in [false, true] {
            match open_metadata(d.as_fd(), write).unwrap() {
                Metadata::Unusable(e) => assert!(e.to_string().contains("not a regular file"), "{e}"),
                other => panic!("{other:?}"),
            }
        }
        std::fs::remove_file(&meta).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &meta).unwrap();
        match open_metadata(d.as_fd(), true).unwrap() {
            Metadata::Unusable(e) => assert!(e.to_string().contains("symlink"), "{e}"),
            other => panic!("{other:?}"),
        }
        std::fs::remove_file(&meta).unwrap();
        std::fs::write(&meta, b"{}").unwrap();
        std::fs::hard_link(&meta, tmp.path().join("other")).unwrap();
        match open_metadata(d.as_fd(), true).unwrap() {
            Metadata::Unusable(e) => assert!(e.to_string().contains("hard links"), "{e}"),
            other => panic!("{other:?}"),
        }
        std::fs::remove_file(tmp.path().join("other")).unwrap();
        std::fs::remove_file(&meta).unwrap();
        assert!(matches!(open_metadata(d.as_fd(), true).unwrap(), Metadata::Missing));
    }

    #[test]
    fn fast_path_opens_only_a_healthy_file_and_sees_a_move() {
        let tmp = tempfile::tempdir().unwrap();
        let r = open(tmp.path());
        std::fs::create_dir(tmp.path().join("s")).unwrap();
        std::fs::write(tmp.path().join("s").join(METADATA_FILE), b"{}").unwrap();
        let (_f, st) = open_metadata_beneath(r.as_fd(), c"s/.metadata.json")
            .unwrap()
            .expect("healthy");
        assert!(still_named(r.as_fd(), c"s/.metadata.json", &st));
        std::fs::rename(tmp.path().join("s"), tmp.path().join("trash")).unwrap();
        assert!(!still_named(r.as_fd(), c"s/.metadata.json", &st), "moved away");
        // A symlink in the session's place, a FIFO as metadata: not opened, left to the full path.
        std::os::unix::fs::symlink("trash", tmp.path().join("s")).unwrap();
        assert!(open_metadata_beneath(r.as_fd(), c"s/.metadata.json").unwrap().is_none());
        let fifo = fd::cpath(&tmp.path().join("trash").join("fifo")).unwrap();
        // SAFETY: `fifo` is a NUL-terminated string that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(open_metadata_beneath(r.as_fd(), c"trash/fifo").unwrap().is_none());
    }

    #[test]
    fn session_dir_refuses_symlinks_files_and_fifos() {
        let tmp = tempfile::tempdir().unwrap();
        let r = open(tmp.path());
        std::fs::create_dir(tmp.path().join("dir")).unwrap();
        std::os::unix::fs::symlink("dir", tmp.path().join("link")).unwrap();
        std::fs::write(tmp.path().join("file"), b"").unwrap();
        let fifo = fd::cpath(&tmp.path().join("fifo")).unwrap();
        // SAFETY: `fifo` is a NUL-terminated string that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let (_, id) = open_session_dir(r.as_fd(), c"dir", fd::DIR_FLAGS).unwrap();
        assert!(fd::is_named(r.as_fd(), c"dir", &id));
        for name in ["link", "file", "fifo", "missing"] {
            let c = std::ffi::CString::new(std::ffi::OsStr::new(name).as_bytes()).unwrap();
            for flags in [fd::DIR_FLAGS, libc::O_PATH] {
                assert!(
                    matches!(open_session_dir(r.as_fd(), &c, flags), Err(ChaseError::NotASession)),
                    "{name}"
                );
            }
        }
    }
}
