//! Filesystem traversal of one session: sizing (dry run) and deletion in a
//! single pass through directory file descriptors.
//!
//! The walk uses an explicit stack, so a tree thousands of levels deep cannot
//! overflow the thread's stack, and keeps at most [`MAX_OPEN_DIRS`] directories
//! open; an ancestor whose descriptor was closed is reopened through `..` and
//! accepted only if its (device, inode) is the one recorded on the way down.
//! Each directory's listing is read in full before its entries are touched.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::fd::{self, DirId, Entry};

/// Most directory descriptors one walk keeps open at once.
pub const MAX_OPEN_DIRS: usize = 48;

/// What a walk does to what it visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Sum sizes only.
    Measure,
    /// Sum sizes and delete everything below the starting directory.
    Delete,
}

/// What a walk did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Bytes of the non-directory entries seen (Measure) or removed (Delete):
    /// `st_size` of each, a symlink counting itself, never its target.
    pub bytes: u64,
    /// Files and directories that could not be measured or removed.
    pub failures: u64,
    /// The first failure, with the path relative to the starting directory.
    pub first_error: Option<String>,
    /// The newest modification time (Unix seconds, nanoseconds) of the
    /// non-directory entries seen, if any: when a legacy session was last written.
    pub newest_mtime: Option<(i64, i64)>,
}

impl Outcome {
    fn fail(&mut self, path: &str, what: &str, err: &io::Error) {
        self.failures += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("{what} {path}: {err}"));
        }
    }
}

struct Frame {
    fd: Option<OwnedFd>,
    id: DirId,
    entries: Vec<Entry>,
    /// Name within the parent (empty for the starting directory).
    name: CString,
    /// Whether we already granted ourselves u+rwx on it.
    opened_up: bool,
}

/// Walks everything below the open directory `start` (whose identity is
/// `start_id`), never leaving the mount it is on and never following a
/// symlink. In [`Mode::Delete`] it removes every entry below `start` but not
/// `start` itself. A mount point found below is a failure and is left alone.
pub fn walk(start: RawFd, start_id: DirId, mode: Mode) -> Outcome {
    let mut out = Outcome::default();
    let entries = match fd::read_dir(start) {
        Ok(e) => e,
        Err(e) => {
            out.fail(".", "cannot list", &e);
            return out;
        }
    };
    let euid = unsafe { libc::geteuid() };
    // Frame 0 borrows `start`: it is never closed by the walk.
    let mut stack = vec![Frame {
        fd: None,
        id: start_id,
        entries,
        name: CString::default(),
        opened_up: false,
    }];
    let fd_of = |stack: &[Frame], i: usize| -> RawFd {
        if i == 0 {
            start
        } else {
            stack[i]
                .fd
                .as_ref()
                .map(AsRawFd::as_raw_fd)
                .expect("frame descriptor is open")
        }
    };

    loop {
        let top = stack.len() - 1;
        let Some(entry) = stack[top].entries.pop() else {
            // Directory finished: go back up and remove it from its parent.
            if top == 0 {
                return out;
            }
            let frame = stack.pop().expect("non-empty");
            let parent = top - 1;
            if parent != 0 && stack[parent].fd.is_none() {
                let child = frame.fd.as_ref().expect("top frame is open").as_raw_fd();
                match reopen_parent(child, &stack[parent].id) {
                    Ok(pfd) => stack[parent].fd = Some(pfd),
                    Err(e) => {
                        out.fail(&path_of(&stack, &frame.name), "lost the way back up from", &e);
                        return out;
                    }
                }
            }
            drop(frame.fd);
            if mode == Mode::Delete {
                let pfd = fd_of(&stack, parent);
                let res = with_write_access(&mut stack[parent], pfd, euid, || {
                    fd::unlinkat(pfd, &frame.name, libc::AT_REMOVEDIR)
                });
                match res {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                    // Its contents already produced a failure; do not count it twice.
                    Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) && out.failures > 0 => {}
                    Err(e) => out.fail(&path_of(&stack, &frame.name), "cannot remove directory", &e),
                }
            }
            continue;
        };

        let dfd = fd_of(&stack, top);
        if entry.kind == libc::DT_DIR || entry.kind == libc::DT_UNKNOWN {
            match open_subdir(dfd, &entry.name, &start_id, euid, mode) {
                Ok(Some(child)) => {
                    let child_id = match fd::dir_id(child.as_raw_fd()) {
                        Ok(id) => id,
                        Err(e) => {
                            out.fail(&path_of(&stack, &entry.name), "cannot stat", &e);
                            continue;
                        }
                    };
                    if !child_id.same_mount(&start_id) {
                        out.fail(&path_of(&stack, &entry.name), "not descending into", &mount_point());
                        continue;
                    }
                    let entries = match fd::read_dir(child.as_raw_fd()) {
                        Ok(e) => e,
                        Err(e) => {
                            out.fail(&path_of(&stack, &entry.name), "cannot list", &e);
                            continue;
                        }
                    };
                    stack.push(Frame {
                        fd: Some(child),
                        id: child_id,
                        entries,
                        name: entry.name,
                        opened_up: false,
                    });
                    // Bound open descriptors: close the oldest open ancestor (never frame 0).
                    if stack.len() > MAX_OPEN_DIRS {
                        let victim = stack.len() - MAX_OPEN_DIRS;
                        if victim > 0 {
                            stack[victim].fd = None;
                        }
                    }
                    continue;
                }
                Ok(None) => continue, // vanished
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR) | Some(libc::ELOOP)) => {
                    // Not a directory after all (DT_UNKNOWN, or swapped): handle as a file below.
                }
                Err(e)
                    if mode == Mode::Measure
                        && e.raw_os_error() == Some(libc::EACCES)
                        && owned_by(dfd, &entry.name, euid) =>
                {
                    // Deletion will grant itself access to its own directory; a dry
                    // run changes nothing, so it cannot see inside (bytes undercounted).
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Other => {
                    out.fail(&path_of(&stack, &entry.name), "not descending into", &e);
                    continue;
                }
                Err(e) => {
                    out.fail(&path_of(&stack, &entry.name), "cannot open directory", &e);
                    continue;
                }
            }
        }

        // A non-directory: regular file, symlink, FIFO, socket or device node.
        let size = match fd::lstat_at(dfd, &entry.name) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
                // Became a directory since the listing: visit it as one.
                stack[top].entries.push(Entry {
                    name: entry.name,
                    kind: libc::DT_DIR,
                });
                continue;
            }
            Ok(st) => {
                let mtime = (st.st_mtime, st.st_mtime_nsec);
                if out.newest_mtime.map_or(true, |m| mtime > m) {
                    out.newest_mtime = Some(mtime);
                }
                st.st_size.max(0) as u64
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => {
                out.fail(&path_of(&stack, &entry.name), "cannot stat", &e);
                continue;
            }
        };
        if mode == Mode::Measure {
            out.bytes += size;
            continue;
        }
        match with_write_access(&mut stack[top], dfd, euid, || fd::unlinkat(dfd, &entry.name, 0)) {
            Ok(()) => out.bytes += size,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) => {
                stack[top].entries.push(Entry {
                    name: entry.name,
                    kind: libc::DT_DIR,
                });
            }
            Err(e) => out.fail(&path_of(&stack, &entry.name), "cannot remove", &e),
        }
    }
}

/// Opens a subdirectory; `Ok(None)` if it vanished. An unreadable one is
/// looked at through an O_PATH descriptor of that very directory (never a
/// file: a hard link would carry a change outside the workspace): a mount
/// point is a [`mount_point`] error, whatever the mode (nothing on another
/// mount is ever changed); one that is ours, on the start's mount, is
/// granted u+rwx when deleting, and opened again.
fn open_subdir(pfd: RawFd, name: &CStr, start_id: &DirId, euid: u32, mode: Mode) -> io::Result<Option<OwnedFd>> {
    match fd::open_dir_at(pfd, name) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
            let path_fd = fd::openat(pfd, name, libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0)?;
            // Mount first, owner second, and only then a change.
            let id = fd::dir_id(path_fd.as_raw_fd())?;
            if !id.same_mount(start_id) {
                return Err(mount_point());
            }
            if id.uid != euid || mode == Mode::Measure {
                return Err(e);
            }
            let proc = CString::new(format!("/proc/self/fd/{}", path_fd.as_raw_fd())).expect("no NUL");
            if unsafe { libc::chmod(proc.as_ptr(), (id.mode & 0o7777) | 0o700) } != 0 {
                return Err(e);
            }
            fd::open_dir_at(pfd, name).map(Some)
        }
        Err(e) => Err(e),
    }
}

/// The error for a mount point found below the start: never entered, never changed.
fn mount_point() -> io::Error {
    io::Error::other("a mount point; its contents were left in place")
}

/// Whether the entry `name` in `dir` belongs to `euid` (so deletion may open it up).
fn owned_by(dir: RawFd, name: &CStr, euid: u32) -> bool {
    matches!(fd::lstat_at(dir, name), Ok(st) if st.st_uid == euid)
}

/// Runs `op` (an unlink inside `frame`'s directory); on EACCES/EPERM, if the
/// directory is ours and not yet opened up, grants u+rwx through its
/// descriptor and runs `op` once more.
fn with_write_access(
    frame: &mut Frame,
    dfd: RawFd,
    euid: u32,
    mut op: impl FnMut() -> io::Result<()>,
) -> io::Result<()> {
    match op() {
        Err(e)
            if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM))
                && !frame.opened_up
                && frame.id.uid == euid =>
        {
            frame.opened_up = true;
            if fd::fchmod(dfd, (frame.id.mode & 0o7777) | 0o700).is_err() {
                return Err(e);
            }
            op()
        }
        r => r,
    }
}

/// Reopens a closed ancestor through `..` of its child, insisting that it is
/// the directory recorded on the way down.
fn reopen_parent(child: RawFd, expected: &DirId) -> io::Result<OwnedFd> {
    let pfd = fd::open_dir_at(child, c"..")?;
    let id = fd::dir_id(pfd.as_raw_fd())?;
    if id.same_inode(expected) {
        Ok(pfd)
    } else {
        Err(io::Error::other("a directory was moved during removal"))
    }
}

/// The path of `name` inside the top of `stack`, relative to the start, for messages.
fn path_of(stack: &[Frame], name: &CStr) -> String {
    let mut p = String::new();
    for f in stack.iter().skip(1) {
        p.push_str(&f.name.to_string_lossy());
        p.push('/');
    }
    p.push_str(&name.to_string_lossy());
    p
}
