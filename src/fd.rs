//! Thin, safe wrappers over the `*at` system calls wsprune is built on.
//!
//! Everything below the workspace root is reached from an open directory file
//! descriptor, one path component at a time, with `O_NOFOLLOW`: no path string
//! is ever re-resolved, so a symlink swapped in concurrently cannot redirect us.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Flags for opening a directory we may read, lock or delete from. O_NONBLOCK
/// because a FIFO swapped in for a directory must fail, not hang (as systemd's rm_rf).
pub const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;

/// `CString` for a path; a path with a NUL byte is an `InvalidInput` error.
pub fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// `CString` for a name known to contain no NUL (session ids, our own names).
pub fn cname(s: &str) -> CString {
    CString::new(s).expect("names built by wsprune contain no NUL")
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Retries a call interrupted by a signal.
fn retry<T: Copy + PartialOrd + Default>(mut f: impl FnMut() -> T) -> io::Result<T> {
    loop {
        let r = f();
        if r >= T::default() {
            return Ok(r);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// Opens a path given by the caller (the workspace root, trusted: it may
/// itself be or contain a symlink) as a directory.
pub fn open_root(path: &Path) -> io::Result<OwnedFd> {
    let c = cpath(path)?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call.
    let fd = retry(|| unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) })?;
    // SAFETY: `open` just returned this descriptor (>= 0): it is open and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `open(path, flags, mode)` of an absolute path (such as `/proc/self/fd/N`).
pub fn open(path: &CStr, flags: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    let fd = retry(|| unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) })?;
    // SAFETY: `open` just returned this descriptor (>= 0): it is open and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `openat(dir, name, flags, mode)`.
pub fn openat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    let fd = retry(|| unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })?;
    // SAFETY: `openat` just returned this descriptor (>= 0): it is open and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens `name` in `dir` as a directory, never following a symlink and never
/// opening anything that is not a directory.
pub fn open_dir_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    openat(dir, name, DIR_FLAGS, 0)
}

/// `fstat`.
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    // SAFETY: `libc::stat` is plain integers, for which all zeroes is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable `stat` for the call.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(st)
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`: the entry itself, never a link target.
pub fn lstat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<libc::stat> {
    // SAFETY: `libc::stat` is plain integers, for which all zeroes is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated and `st` a valid, writable `stat`, both for the call.
    cvt(unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(st)
}

/// Identity of an open directory: device, inode and mount id. The mount id
/// tells bind mounts apart, which share `st_dev` with the filesystem they show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
    /// Mount id from statx, when the kernel reports it.
    pub mnt_id: Option<u64>,
    /// Owner, for deciding whether we may grant ourselves u+rwx.
    pub uid: u32,
    /// Permission bits.
    pub mode: u32,
    /// Birth time (seconds, nanoseconds), when the filesystem reports one.
    pub btime: Option<Timestamp>,
    /// Status-change time: set by every rename, link count or mode change
    /// and by every entry added to or removed from the directory.
    pub ctime: Timestamp,
    /// `st_size`: for a directory, how much its entries take, in the
    /// filesystem's own unit (see `remove.rs`, which bounds a pass with it).
    pub size: u64,
    /// `st_blocks`: 512-byte units allocated to it.
    pub blocks: u64,
}

/// A file time: Unix seconds and nanoseconds.
pub type Timestamp = (i64, u32);

const STATX_BTIME: u32 = 0x0000_0800;

/// The fields of an entry a deletion walk needs, read with one statx (or
/// fstatat where statx is missing) without following a symlink.
#[derive(Debug, Clone, Copy)]
pub struct EntryStat {
    /// `st_mode` (type and permission bits).
    pub mode: u32,
    /// `st_blocks`: 512-byte units allocated to it (what it takes on disk:
    /// a sparse file's holes take none).
    pub blocks: u64,
    /// `st_nlink`: how many names the inode has.
    pub nlink: u64,
    /// `st_dev` and `st_ino`: which inode it is.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
    /// Modification time.
    pub mtime: Timestamp,
    /// Birth time, when the filesystem reports one.
    pub btime: Option<Timestamp>,
}

/// [`EntryStat`] of `name` in `dir`, never following a symlink.
pub fn entry_stat(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<EntryStat> {
    // SAFETY: `libc::statx` is plain integers, for which all zeroes is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let mask = libc::STATX_TYPE
        | libc::STATX_MODE
        | libc::STATX_NLINK
        | libc::STATX_INO
        | libc::STATX_BLOCKS
        | libc::STATX_MTIME
        | STATX_BTIME;
    // SAFETY: `name` is NUL-terminated and `stx` a valid, writable `statx`, both for the call.
    let r = unsafe { statx(dir, name.as_ptr(), libc::AT_SYMLINK_NOFOLLOW, mask, &mut stx) };
    if r == 0 {
        return Ok(EntryStat {
            mode: u32::from(stx.stx_mode),
            blocks: stx.stx_blocks,
            nlink: u64::from(stx.stx_nlink),
            dev: libc::makedev(stx.stx_dev_major, stx.stx_dev_minor),
            ino: stx.stx_ino,
            mtime: (stx.stx_mtime.tv_sec, stx.stx_mtime.tv_nsec),
            btime: birth(&stx),
        });
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOSYS) {
        return Err(err);
    }
    let st = lstat_at(dir, name)?;
    Ok(EntryStat {
        mode: st.st_mode,
        blocks: st.st_blocks.max(0) as u64,
        nlink: st.st_nlink,
        dev: st.st_dev,
        ino: st.st_ino,
        mtime: (st.st_mtime, st.st_mtime_nsec as u32),
        btime: None,
    })
}

/// The birth time in a statx result, if the filesystem filled it in.
fn birth(stx: &libc::statx) -> Option<Timestamp> {
    (stx.stx_mask & STATX_BTIME != 0).then_some((stx.stx_btime.tv_sec, stx.stx_btime.tv_nsec))
}

/// The current (fine-grained) wall-clock time, as file times are written.
pub fn now() -> Timestamp {
    // SAFETY: `libc::timespec` is plain integers, for which all zeroes is a valid value.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is a valid, writable `timespec` for the call (which cannot
    // fail for CLOCK_REALTIME; on failure `ts` would stay zero).
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec, ts.tv_nsec as u32)
}

impl DirId {
    /// Whether `other` is on the same mount as `self` (mount id when both have
    /// one, `st_dev` otherwise and always).
    pub fn same_mount(&self, other: &DirId) -> bool {
        self.dev == other.dev
            && match (self.mnt_id, other.mnt_id) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }

    /// Whether `other` is the same directory.
    pub fn same_inode(&self, other: &DirId) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }
}

const STATX_MNT_ID: u32 = 0x0000_1000;

/// [`DirId`] of an open file descriptor, via statx (falling back to fstat).
pub fn dir_id(fd: BorrowedFd<'_>) -> io::Result<DirId> {
    // SAFETY: `libc::statx` is plain integers, for which all zeroes is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let empty = c"";
    // SAFETY: `empty` is a NUL-terminated (static) string and `stx` a valid,
    // writable `statx`, both for the call.
    let r = unsafe {
        statx(
            fd,
            empty.as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_BASIC_STATS | STATX_MNT_ID | STATX_BTIME,
            &mut stx,
        )
    };
    if r == 0 {
        let dev = libc::makedev(stx.stx_dev_major, stx.stx_dev_minor);
        return Ok(DirId {
            dev,
            ino: stx.stx_ino,
            mnt_id: (stx.stx_mask & STATX_MNT_ID != 0).then_some(stx.stx_mnt_id),
            uid: stx.stx_uid,
            mode: u32::from(stx.stx_mode),
            btime: birth(&stx),
            ctime: (stx.stx_ctime.tv_sec, stx.stx_ctime.tv_nsec),
            size: stx.stx_size,
            blocks: stx.stx_blocks,
        });
    }
    let st = fstat(fd)?;
    Ok(DirId {
        dev: st.st_dev,
        ino: st.st_ino,
        mnt_id: None,
        uid: st.st_uid,
        mode: st.st_mode,
        btime: None,
        ctime: (st.st_ctime, st.st_ctime_nsec as u32),
        size: st.st_size.max(0) as u64,
        blocks: st.st_blocks.max(0) as u64,
    })
}

/// The path `/proc/self/fd/N` of descriptor `fd`, built without allocating:
/// opening it reaches the very inode behind the descriptor (what systemd's
/// `fd_reopen` does), whatever name it has by now.
pub struct ProcFdPath([u8; 25]);

impl ProcFdPath {
    /// The path of `fd`.
    pub fn new(fd: BorrowedFd<'_>) -> ProcFdPath {
        // "/proc/self/fd/" and up to 10 digits and a NUL.
        let mut buf = *b"/proc/self/fd/\0\0\0\0\0\0\0\0\0\0\0";
        let mut n = fd.as_raw_fd().max(0) as u32;
        let mut digits = [0u8; 10];
        let mut len = 0;
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for (i, d) in digits[..len].iter().rev().enumerate() {
            buf[14 + i] = *d;
        }
        ProcFdPath(buf)
    }

    /// The path, NUL-terminated.
    pub fn as_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.0).expect("NUL-terminated by construction")
    }
}

/// The filesystem type (`f_type` of `fstatfs`, a magic number) of the
/// filesystem holding `fd`.
pub fn fs_type(fd: BorrowedFd<'_>) -> io::Result<i64> {
    // SAFETY: `libc::statfs` is plain integers, for which all zeroes is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable `statfs` for the call.
    cvt(unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) })?;
    Ok(st.f_type as i64)
}

/// `flock(fd, op | LOCK_NB)`; `Ok(false)` when someone else holds a conflicting lock.
pub fn try_flock(fd: BorrowedFd<'_>, op: libc::c_int) -> io::Result<bool> {
    // SAFETY: flock takes no pointers; `fd` is open for the call.
    match retry(|| unsafe { libc::flock(fd.as_raw_fd(), op | libc::LOCK_NB) }) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `Instant::now() + timeout`, saturating: a timeout too long to represent
/// (`Duration::MAX`, `15500000000000w`) means "about forever", never a panic.
pub fn deadline_after(timeout: std::time::Duration) -> std::time::Instant {
    use std::time::{Duration, Instant};
    let now = Instant::now();
    // Instant has no MAX: halve the step until it fits (at most ~64 tries).
    let mut step = timeout;
    loop {
        if let Some(d) = now.checked_add(step) {
            return d;
        }
        step /= 2;
        if step < Duration::from_secs(1) {
            return now;
        }
    }
}

/// `try_flock` retried with a growing pause until `timeout` has passed
/// (saturating, see [`deadline_after`]); `Ok(false)` if the lock is still
/// held by someone else then.
pub fn flock_wait(fd: BorrowedFd<'_>, op: libc::c_int, timeout: std::time::Duration) -> io::Result<bool> {
    use std::time::{Duration, Instant};
    let deadline = deadline_after(timeout);
    let mut pause = Duration::from_micros(100);
    while !try_flock(fd, op)? {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    Ok(true)
}

/// `flock(fd, LOCK_UN)`.
pub fn unlock(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: flock takes no pointers; `fd` is open for the call.
    retry(|| unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_UN) }).map(drop)
}

/// Whether `name` in `dir` (not followed) is the directory `id`.
pub fn is_named(dir: BorrowedFd<'_>, name: &CStr, id: &DirId) -> bool {
    matches!(lstat_at(dir, name), Ok(st) if st.st_dev == id.dev && st.st_ino == id.ino)
}

/// `unlinkat(dir, name, flags)`.
pub fn unlinkat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

/// `mkdirat(dir, name, mode)`.
pub fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) }).map(drop)
}

/// `renameat2(dir, from, dir, to, RENAME_NOREPLACE)` (when `noreplace`) or a plain replacing `renameat`.
///
/// Some filesystems (FUSE ones such as bindfs, older NFS) refuse
/// `RENAME_NOREPLACE` with `EINVAL`. Never silently replacing is then kept
/// another way: a file is hard-linked to its new name (`linkat` fails with
/// `EEXIST` when the name is taken) and its old name unlinked; a directory
/// (which cannot be linked) is renamed only after `to` was seen missing. That
/// check and the rename are two steps, but only the root's owner can create
/// names in the directories wsprune renames in (the workspace root, the host
/// directory, a session's own `.metadata.json` temporary), so nobody wsprune
/// defends against can slip a name in between.
pub fn renameat(dir: BorrowedFd<'_>, from: &CStr, to: &CStr, noreplace: bool) -> io::Result<()> {
    if !noreplace {
        // SAFETY: `from` and `to` are NUL-terminated strings that outlive the call.
        return cvt(unsafe { libc::renameat(dir.as_raw_fd(), from.as_ptr(), dir.as_raw_fd(), to.as_ptr()) }).map(drop);
    }
    // The system call, not glibc's renameat2 wrapper (glibc 2.28): the
    // released library and tool run on glibc 2.17 (docs/packaging.md).
    // SAFETY: `from` and `to` are NUL-terminated strings that outlive the call;
    // the other arguments are integers.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            dir.as_raw_fd(),
            from.as_ptr(),
            dir.as_raw_fd(),
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    match cvt(r as libc::c_int) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => rename_noreplace_fallback(dir, from, to),
        r => r.map(drop),
    }
}

/// [`renameat`] with no replace where the filesystem has no `RENAME_NOREPLACE`.
fn rename_noreplace_fallback(dir: BorrowedFd<'_>, from: &CStr, to: &CStr) -> io::Result<()> {
    let st = lstat_at(dir, from)?;
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        match lstat_at(dir, to) {
            Ok(_) => return Err(io::Error::from_raw_os_error(libc::EEXIST)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        // SAFETY: `from` and `to` are NUL-terminated strings that outlive the call.
        return cvt(unsafe { libc::renameat(dir.as_raw_fd(), from.as_ptr(), dir.as_raw_fd(), to.as_ptr()) }).map(drop);
    }
    // SAFETY: `from` and `to` are NUL-terminated strings that outlive the call.
    cvt(unsafe { libc::linkat(dir.as_raw_fd(), from.as_ptr(), dir.as_raw_fd(), to.as_ptr(), 0) })?;
    unlinkat(dir, from, 0)
}

/// `fchown(fd, uid, gid)`.
pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: fchown only reads its integer arguments.
    cvt(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }).map(drop)
}

/// `fsync(fd)`.
pub fn fsync(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fsync only reads its integer argument.
    cvt(unsafe { libc::fsync(fd.as_raw_fd()) }).map(drop)
}

/// The statx system call. Not glibc's wrapper, which only glibc 2.28 and
/// later have: the released library and tool run on glibc 2.17
/// (docs/packaging.md). Without the wrapper's emulation an old kernel answers
/// ENOSYS, which the callers handle with fstatat.
///
/// # Safety
/// `path` must be NUL-terminated and `buf` valid for writing a `statx`.
unsafe fn statx(
    dirfd: BorrowedFd<'_>,
    path: *const libc::c_char,
    flags: libc::c_int,
    mask: libc::c_uint,
    buf: *mut libc::statx,
) -> libc::c_int {
    // SAFETY: the caller's contract above is the system call's.
    unsafe { libc::syscall(libc::SYS_statx, dirfd.as_raw_fd(), path, flags, mask, buf) as libc::c_int }
}

/// `fchmod`.
pub fn fchmod(fd: BorrowedFd<'_>, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: fchmod takes no pointers; `fd` is open for the call.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode) }).map(drop)
}

/// Moves `fd`'s file offset back to the start, so that [`read_to_end`] reads
/// the file again.
pub fn rewind(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: lseek takes no pointers; `fd` is open for the call.
    if unsafe { libc::lseek(fd.as_raw_fd(), 0, libc::SEEK_SET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reads the whole (small) file behind `fd` into `buf`, up to `limit + 1`
/// bytes so an oversized file is recognisable by its length. `size` is the
/// file's size from `fstat`: once that much is read, the read that would
/// only confirm the end of the file is skipped (a file that grew since is
/// then read short, and fails to parse like any truncated file).
pub fn read_to_end(fd: BorrowedFd<'_>, buf: &mut Vec<u8>, limit: usize, size: usize) -> io::Result<()> {
    buf.clear();
    buf.reserve(size.clamp(512, 4096).min(limit + 1));
    loop {
        if buf.len() > limit || (size > 0 && buf.len() == size) {
            return Ok(());
        }
        if buf.capacity() == buf.len() {
            buf.reserve(buf.len().min(limit + 1 - buf.len()).max(1));
        }
        let spare = buf.capacity() - buf.len();
        // SAFETY: the `spare` bytes from `buf.len()` on are `buf`'s allocated,
        // unused capacity (`spare = capacity - len`), writable for the call.
        let n = retry(|| unsafe {
            libc::read(
                fd.as_raw_fd(),
                buf.as_mut_ptr().add(buf.len()) as *mut libc::c_void,
                spare,
            )
        })?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: `read` initialised `n` (<= `spare`) bytes after the old length.
        unsafe { buf.set_len(buf.len() + n as usize) };
    }
}

/// Writes all of `data` at `offset`.
pub fn pwrite_all(fd: BorrowedFd<'_>, mut data: &[u8], mut offset: u64) -> io::Result<()> {
    while !data.is_empty() {
        // SAFETY: `data` is `data.len()` readable bytes for the call.
        let n = retry(|| unsafe {
            libc::pwrite(
                fd.as_raw_fd(),
                data.as_ptr() as *const libc::c_void,
                data.len(),
                offset as libc::off_t,
            )
        })?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "pwrite wrote nothing"));
        }
        data = &data[n as usize..];
        offset += n as u64;
    }
    Ok(())
}

/// One directory entry: its name and the type readdir reported (`DT_UNKNOWN`
/// on filesystems that do not fill it in, then the caller must stat).
#[derive(Debug)]
pub struct Entry {
    /// The name, without `.` and `..` ever appearing.
    pub name: CString,
    /// `d_type`.
    pub kind: u8,
}

/// One `getdents64` call into `buf`: the number of bytes of records read,
/// 0 at the end of the directory. Go through them with [`dirents`].
pub fn getdents(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is `buf.len()` writable bytes for the call; the kernel
    // writes at most that many.
    retry(|| unsafe { libc::syscall(libc::SYS_getdents64, fd.as_raw_fd(), buf.as_mut_ptr(), buf.len()) as isize })
        .map(|n| n as usize)
}

/// The records of a [`getdents`] batch: for each, the position after it
/// (`d_off`, to `lseek` to and read on from), `d_type` and the name (`.` and
/// `..` included). A malformed record ends the batch.
pub fn dirents(batch: &[u8]) -> impl Iterator<Item = (i64, u8, &CStr)> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
        let rec = batch.get(pos..)?;
        if rec.len() < 19 {
            return None;
        }
        let off = i64::from_ne_bytes(rec[8..16].try_into().expect("8 bytes"));
        let reclen = u16::from_ne_bytes([rec[16], rec[17]]) as usize;
        let name = CStr::from_bytes_until_nul(rec.get(19..reclen)?).ok()?;
        pos += reclen;
        Some((off, rec[18], name))
    })
}

/// Reads every entry of the open directory `fd` (except `.` and `..`) with
/// getdents64: for the workspace root, whose entries (sessions) the operator
/// bounds. Inside sessions the walk of `remove.rs` streams instead.
pub fn read_dir(fd: BorrowedFd<'_>) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = getdents(fd, &mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        for (_, kind, name) in dirents(&buf[..n]) {
            let b = name.to_bytes();
            if b != b"." && b != b".." {
                out.push(Entry {
                    name: name.to_owned(),
                    kind,
                });
            }
        }
    }
}

/// Whether the directory `dir` compares names ignoring case (ext4's or
/// f2fs's casefold attribute, `chattr +F`). False when it cannot be told.
pub fn is_casefold(dir: BorrowedFd<'_>) -> bool {
    const FS_CASEFOLD_FL: libc::c_long = 0x4000_0000;
    let mut flags: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one long into `flags`, which outlives the call.
    let r = unsafe { libc::ioctl(dir.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags as *mut libc::c_long) };
    r == 0 && flags & FS_CASEFOLD_FL != 0
}

/// How [`write_atomically`] writes a file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AtomicWrite<'a> {
    /// Prefix of the temporary file's name (`<prefix><pid>.<n>.tmp`), chosen
    /// by the caller so that no reader of `dir` mistakes it for a real file.
    pub tmp_prefix: &'a str,
    /// Mode of the new file.
    pub mode: libc::mode_t,
    /// fsync the new file before it replaces the old one (a rewrite that must
    /// not lose data); a first write has nothing to lose and need not wait.
    pub sync: bool,
    /// Fail with `EEXIST` instead of replacing an existing `target`.
    pub noreplace: bool,
}

/// Exclusive-creation counter for temporary names; unique within the process.
static TEMP_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Writes `data` to `target` in `dir` crash-safely: a fresh temporary file
/// (created exclusively, never following a symlink), `prepare` (for example a
/// chown) and the write, then a rename over `target`. Readers see the old file
/// or the whole new one; on any failure the temporary file is removed and the
/// error returned.
pub(crate) fn write_atomically(
    dir: BorrowedFd<'_>,
    target: &str,
    data: &[u8],
    how: AtomicWrite<'_>,
    prepare: impl FnOnce(BorrowedFd<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let (tmp, file) = loop {
        let n = TEMP_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = cname(&format!("{}{}.{n}.tmp", how.tmp_prefix, std::process::id()));
        match openat(
            dir,
            &tmp,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
            how.mode,
        ) {
            Ok(f) => break (tmp, f),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(e) => return Err(e),
        }
    };
    let written = prepare(file.as_fd())
        .and_then(|()| pwrite_all(file.as_fd(), data, 0))
        .and_then(|()| if how.sync { fsync(file.as_fd()) } else { Ok(()) });
    drop(file);
    let renamed = written.and_then(|()| renameat(dir, &tmp, &cname(target), how.noreplace));
    if renamed.is_err() {
        let _ = unlinkat(dir, &tmp, 0);
    }
    renamed
}
