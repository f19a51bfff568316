//! Filesystem traversal of one session: sizing (dry run) and deletion in a
//! single pass through directory file descriptors.
//!
//! The walk uses an explicit stack, so a tree thousands of levels deep cannot
//! overflow the thread's stack. Directory entries are streamed: each
//! directory is read in fixed-size getdents64 batches into the walk's one
//! buffer and every entry is handled (deleted) as it is read, so memory does
//! not grow with the entries of a directory; descending into a subdirectory
//! drops the rest of the batch and records the position to resume reading at.
//!
//! Descriptors: a walk holds its current directory's descriptor, and keeps
//! ancestors open only with a slot of a budget shared by every walk in the
//! process ([`shared_capacity`]: a quarter of `RLIMIT_NOFILE`, at most
//! [`MAX_SHARED_DIRS`]) and at most [`MAX_OPEN_DIRS`] per walk; an ancestor
//! whose descriptor was closed is reopened through `..` and accepted only if
//! its (device, inode) is the one recorded on the way down.
//!
//! Resuming a directory at a recorded position after deleting entries in it
//! is exact on filesystems with stable directory cookies (ext4, xfs, btrfs,
//! tmpfs since Linux 6.6); so that no entry is ever skipped elsewhere, a
//! directory in which the walk both deleted something and resumed is read
//! once more from the start before it is removed (what is left then are the
//! entries that failed). At most [`MAX_PASSES`] times: a guest that keeps
//! creating subdirectories would otherwise keep the deletion (and a prune
//! holding the workspace lock) going for as long as it likes; what it adds
//! after that is left, reported, and retried by the next prune.
//!
//! A deletion also leaves every entry born after it began (birth time after
//! the walk's start, on filesystems that record one): nothing legitimate
//! writes into a directory being deleted (it is already trash), and a guest
//! that keeps creating entries would otherwise keep one pass going for as
//! long as it is faster than the walk. Skipping costs no system call (the
//! birth time comes with the stat the walk makes anyway), so each pass ends;
//! what the guest added is reported and retried by the next prune. A guest
//! cannot set a birth time. A wall clock stepped back can only make the
//! walk leave more, never delete more.
//!
//! A directory renamed during the walk comes back under its new name, and
//! on a hash-ordered filesystem (ext4) a guest that renames one each time the
//! walk enters it can put it ahead of the reading position again and again,
//! so that one pass never ends. A rename sets the directory's status-change
//! time (ctime), which no one can set back, and the walk already has it: a
//! deletion never enters a directory changed after it began (it is left and
//! reported; nothing legitimate changes trash), and a measurement (of a
//! session that may be live) enters each such directory, and each directory
//! below one, at most once (the only per-walk state that grows: one inode
//! number per directory entered in or under a directory changed during the
//! walk). Below too: a guest renaming the levels of a deep chain one after
//! the other would otherwise have the rest of the chain walked again after
//! each rename.

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::fd::{self, DirId};

/// Most directory descriptors one walk keeps open at once.
pub const MAX_OPEN_DIRS: usize = 48;

/// Most ancestor descriptors all walks of the process keep open together,
/// whatever `RLIMIT_NOFILE` is (an embedding host keeps its descriptors).
pub const MAX_SHARED_DIRS: usize = 64;

/// Most passes over one directory in a deletion (see the module documentation).
pub const MAX_PASSES: u32 = 8;

/// Size of the one getdents64 buffer of a walk.
const BATCH_BYTES: usize = 16 * 1024;

/// Ancestor descriptors held by all walks of the process right now.
static SHARED_IN_USE: AtomicUsize = AtomicUsize::new(0);

/// How many ancestor descriptors all walks may keep open together: a
/// quarter of the soft `RLIMIT_NOFILE`, at most [`MAX_SHARED_DIRS`]. Beyond
/// these, a walk holds one directory descriptor (and one more for a moment).
pub fn shared_capacity() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable `rlimit` for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 0;
    }
    usize::try_from(lim.rlim_cur / 4)
        .unwrap_or(usize::MAX)
        .min(MAX_SHARED_DIRS)
}

/// One unit of the shared descriptor budget, given back when dropped.
struct Slot;

impl Slot {
    fn take(capacity: usize) -> Option<Slot> {
        SHARED_IN_USE
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < capacity).then_some(n + 1))
            .ok()
            .map(|_| Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        SHARED_IN_USE.fetch_sub(1, Ordering::AcqRel);
    }
}

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
            // `path` is made of guest-chosen names: escaped, it cannot forge a line of the message.
            self.first_error = Some(format!("{what} {}: {err}", crate::escape::escape(path)));
        }
    }
}

struct Frame {
    /// Open descriptor (always for the top frame; frame 0 borrows `start`
    /// and has none); `None` for an ancestor closed to save descriptors.
    fd: Option<OwnedFd>,
    /// The budget unit that lets an ancestor keep `fd` open.
    slot: Option<Slot>,
    id: DirId,
    /// Name within the parent (empty for the starting directory).
    name: CString,
    /// Whether we already granted ourselves u+rwx on it.
    opened_up: bool,
    /// The getdents64 position to go on reading at (after the entry being
    /// visited below), once we are back.
    resume: Option<i64>,
    /// This pass over the directory deleted something.
    removed: bool,
    /// This pass resumed reading at a recorded position.
    resumed: bool,
    /// `Outcome::failures` when this pass began (a second pass counts its own).
    failures_before: u64,
    /// Passes over this directory so far, this one included.
    passes: u32,
    /// A measurement records the directories entered below this one (it is,
    /// or is below, a directory changed since the walk began).
    tracked: bool,
}

impl Frame {
    fn new(fd: Option<OwnedFd>, id: DirId, name: CString, failures: u64) -> Frame {
        Frame {
            fd,
            slot: None,
            id,
            name,
            opened_up: false,
            resume: None,
            removed: false,
            resumed: false,
            failures_before: failures,
            passes: 1,
            tracked: false,
        }
    }
}

/// What every visit of one walk needs to know.
struct Context {
    start_id: DirId,
    euid: u32,
    mode: Mode,
    /// When the walk began: what was born or changed after is the guest's doing.
    began: fd::Timestamp,
    /// (device, inode) of the directories a measurement entered in or under
    /// a directory changed after `began` (each is entered once).
    tracked_entered: HashSet<(u64, u64)>,
}

/// What visiting one entry asks of the walk.
enum Visit {
    Done,
    /// A subdirectory on the same mount, open: go down into it (with
    /// `Frame::tracked`).
    Descend(OwnedFd, DirId, bool),
}

type VisitResult = Result<Visit, (&'static str, io::Error)>;

/// Walks everything below the open directory `start` (whose identity is
/// `start_id`), never leaving the mount it is on and never following a
/// symlink. In [`Mode::Delete`] it removes every entry below `start` but not
/// `start` itself. A mount point found below is a failure and is left alone.
pub fn walk(start: RawFd, start_id: DirId, mode: Mode) -> Outcome {
    let mut out = Outcome::default();
    let mut buf: Vec<u8> = Vec::new();
    if let Err(e) = buf.try_reserve_exact(BATCH_BYTES) {
        out.fail(".", "cannot list", &io::Error::other(e));
        return out;
    }
    buf.resize(BATCH_BYTES, 0);
    // SAFETY: geteuid takes nothing and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let capacity = shared_capacity();
    // Read before anything is listed: every entry born (or changed) before
    // has a birth time (ctime) at most this.
    let mut ctx = Context {
        start_id,
        euid,
        mode,
        began: fd::now(),
        tracked_entered: HashSet::new(),
    };
    // Frame 0 borrows `start`: it is never closed by the walk. Read it from the start.
    let mut stack = vec![Frame::new(None, start_id, CString::default(), 0)];
    stack[0].resume = Some(0);
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

    'frames: loop {
        let top = stack.len() - 1;
        let dfd = fd_of(&stack, top);
        if let Some(pos) = stack[top].resume.take() {
            if pos != 0 {
                stack[top].resumed = true;
            }
            if let Err(e) = seek_dir(dfd, pos) {
                out.fail(&path_of(&stack, c""), "cannot list", &e);
                if !finish_dir(&mut stack, start, &mut out, &ctx) {
                    return out;
                }
                continue;
            }
        }
        let n = match fd::getdents(dfd, &mut buf) {
            Ok(n) => n,
            Err(e) => {
                out.fail(&path_of(&stack, c""), "cannot list", &e);
                0
            }
        };
        if n == 0 {
            // End of the directory: once more from the start if this pass
            // may have skipped something, else go back up.
            let f = &mut stack[top];
            if mode == Mode::Delete && f.removed && f.resumed && f.passes < MAX_PASSES {
                out.failures = f.failures_before;
                (f.removed, f.resumed, f.resume) = (false, false, Some(0));
                f.passes += 1;
                continue;
            }
            if top == 0 || !finish_dir(&mut stack, start, &mut out, &ctx) {
                return out;
            }
            continue;
        }
        for (next, kind, name) in fd::dirents(&buf[..n]) {
            let b = name.to_bytes();
            if b == b"." || b == b".." {
                continue;
            }
            let visited = loop {
                let r = visit(dfd, &mut stack[top], name, kind, &mut ctx, &mut out);
                // Out of descriptors: give back this walk's ancestors and try once more.
                match &r {
                    Err((_, e)) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                        if close_ancestors(&mut stack) == 0 {
                            break r;
                        }
                    }
                    _ => break r,
                }
            };
            match visited {
                Ok(Visit::Done) => {}
                Err((what, e)) => out.fail(&path_of(&stack, name), what, &e),
                Ok(Visit::Descend(child, child_id, tracked)) => {
                    if stack.try_reserve(1).is_err() {
                        let e = io::Error::from_raw_os_error(libc::ENOMEM);
                        out.fail(&path_of(&stack, name), "too deep to descend into", &e);
                        continue;
                    }
                    stack[top].resume = Some(next);
                    keep_as_ancestor(&mut stack, capacity);
                    let failures = out.failures;
                    let mut frame = Frame::new(Some(child), child_id, name.to_owned(), failures);
                    frame.tracked = tracked;
                    stack.push(frame);
                    continue 'frames;
                }
            }
        }
    }
}

/// Moves the read position of a directory descriptor.
fn seek_dir(dfd: RawFd, pos: i64) -> io::Result<()> {
    // SAFETY: lseek takes no pointers; a bad descriptor is an EBADF error.
    if unsafe { libc::lseek(dfd, pos as libc::off_t, libc::SEEK_SET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The top directory is done: goes back up to its parent (reopening it
/// through `..` if it was closed) and, when deleting, removes it there.
/// False if the way back up is lost (the walk must end).
fn finish_dir(stack: &mut Vec<Frame>, start: RawFd, out: &mut Outcome, ctx: &Context) -> bool {
    let (mode, euid) = (ctx.mode, ctx.euid);
    let top = stack.len() - 1;
    if top == 0 {
        return false;
    }
    let frame = stack.pop().expect("non-empty");
    let parent = top - 1;
    if parent != 0 && stack[parent].fd.is_none() {
        let child = frame.fd.as_ref().expect("top frame is open").as_raw_fd();
        let mut reopened = reopen_parent(child, &stack[parent].id);
        if matches!(&reopened, Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)))
            && close_ancestors(stack.as_mut_slice()) > 0
        {
            reopened = reopen_parent(child, &stack[parent].id);
        }
        match reopened {
            Ok(pfd) => stack[parent].fd = Some(pfd),
            Err(e) => {
                out.fail(&path_of(stack, &frame.name), "lost the way back up from", &e);
                return false;
            }
        }
    }
    drop(frame.fd);
    // The parent is the current directory again: it needs no budget.
    stack[parent].slot = None;
    if mode == Mode::Delete {
        let pfd = match &stack[parent].fd {
            Some(f) => f.as_raw_fd(),
            None => start, // frame 0: the only frame without a descriptor once on top
        };
        let res = with_write_access(&mut stack[parent], pfd, euid, || {
            fd::unlinkat(pfd, &frame.name, libc::AT_REMOVEDIR)
        });
        match res {
            Ok(()) => stack[parent].removed = true,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            // Its contents already produced a failure; do not count it twice.
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) && out.failures > 0 => {}
            Err(e) => out.fail(&path_of(stack, &frame.name), "cannot remove directory", &e),
        }
    }
    true
}

/// The parent (current top) is about to become an ancestor: it stays open
/// with a budget slot (its own, or the oldest open ancestor's), or is closed.
fn keep_as_ancestor(stack: &mut [Frame], capacity: usize) {
    let top = stack.len() - 1;
    if top == 0 {
        return; // frame 0 borrows the caller's descriptor
    }
    let open = (1..top).filter(|&i| stack[i].fd.is_some()).count();
    if open + 2 < MAX_OPEN_DIRS {
        if let Some(slot) = Slot::take(capacity) {
            stack[top].slot = Some(slot);
            return;
        }
    }
    if let Some(oldest) = (1..top).find(|&i| stack[i].fd.is_some()) {
        stack[oldest].fd = None;
        stack[top].slot = stack[oldest].slot.take();
        return;
    }
    stack[top].fd = None;
}

/// Closes every open ancestor of the walk (not frame 0, not the top);
/// returns how many.
fn close_ancestors(stack: &mut [Frame]) -> usize {
    let top = stack.len() - 1;
    let mut n = 0;
    for f in stack.iter_mut().take(top).skip(1) {
        if f.fd.take().is_some() {
            n += 1;
        }
        f.slot = None;
    }
    n
}

/// Handles one entry of the directory `dfd` (the top frame): measures and,
/// when deleting, removes a non-directory; opens a subdirectory to descend into.
fn visit(dfd: RawFd, frame: &mut Frame, name: &CStr, kind: u8, ctx: &mut Context, out: &mut Outcome) -> VisitResult {
    let (start_id, euid, mode, began) = (&ctx.start_id, ctx.euid, ctx.mode, ctx.began);
    let mut as_dir = kind == libc::DT_DIR || kind == libc::DT_UNKNOWN;
    // An entry swapped between a file and a directory is retried a few times.
    for _ in 0..4 {
        if as_dir {
            match open_subdir(dfd, name, start_id, euid, mode, began) {
                Ok(Some((child, granted))) => {
                    let child_id = fd::dir_id(child.as_raw_fd()).map_err(|e| ("cannot stat", e))?;
                    if !child_id.same_mount(start_id) {
                        return Err(("not descending into", mount_point()));
                    }
                    // (A directory we granted access to has our own change in
                    // its ctime; open_subdir checked it before that change.)
                    let changed = !granted && child_id.ctime > began;
                    if changed && mode == Mode::Delete {
                        return Err(("not deleting", changed_during_deletion()));
                    }
                    let tracked = mode == Mode::Measure && (changed || frame.tracked);
                    if tracked && !ctx.tracked_entered.insert((child_id.dev, child_id.ino)) {
                        return Ok(Visit::Done); // measured already, under another name
                    }
                    return Ok(Visit::Descend(child, child_id, tracked));
                }
                Ok(None) => return Ok(Visit::Done), // vanished
                // Not a directory after all (DT_UNKNOWN, or swapped): handle as a file below.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR) | Some(libc::ELOOP)) => {}
                Err(e)
                    if mode == Mode::Measure && e.raw_os_error() == Some(libc::EACCES) && owned_by(dfd, name, euid) =>
                {
                    // Deletion will grant itself access to its own directory; a dry
                    // run changes nothing, so it cannot see inside (bytes undercounted).
                    return Ok(Visit::Done);
                }
                Err(e) if e.kind() == io::ErrorKind::Other => return Err(("not descending into", e)),
                Err(e) => return Err(("cannot open directory", e)),
            }
        }
        // A non-directory: regular file, symlink, FIFO, socket or device node.
        let st = match fd::entry_stat(dfd, name) {
            Ok(st) if st.mode & libc::S_IFMT == libc::S_IFDIR => {
                as_dir = true; // became a directory since it was listed
                continue;
            }
            Ok(st) => st,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(Visit::Done),
            Err(e) => return Err(("cannot stat", e)),
        };
        let mtime = (st.mtime.0, i64::from(st.mtime.1));
        if out.newest_mtime.is_none_or(|m| mtime > m) {
            out.newest_mtime = Some(mtime);
        }
        let size = st.size;
        if mode == Mode::Measure {
            out.bytes += size;
            return Ok(Visit::Done);
        }
        if born_after(st.btime, began) {
            return Err(("not deleting", born_during_deletion()));
        }
        match with_write_access(frame, dfd, euid, || fd::unlinkat(dfd, name, 0)) {
            Ok(()) => {
                out.bytes += size;
                frame.removed = true;
                return Ok(Visit::Done);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(Visit::Done),
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) => as_dir = true,
            Err(e) => return Err(("cannot remove", e)),
        }
    }
    Err((
        "cannot handle",
        io::Error::other("it kept changing between a file and a directory"),
    ))
}

/// Opens a subdirectory; `Ok(None)` if it vanished; with `true` if it was
/// granted access. An unreadable one is looked at through an O_PATH
/// descriptor of that very directory (never a file: a hard link would carry
/// a change outside the workspace): a mount point is a [`mount_point`]
/// error, whatever the mode (nothing on another mount is ever changed); one
/// that is ours, on the start's mount and not changed since the deletion
/// `began`, is granted u+rwx when deleting, and opened again (it must be
/// the same directory).
fn open_subdir(
    pfd: RawFd,
    name: &CStr,
    start_id: &DirId,
    euid: u32,
    mode: Mode,
    began: fd::Timestamp,
) -> io::Result<Option<(OwnedFd, bool)>> {
    match fd::open_dir_at(pfd, name) {
        Ok(f) => Ok(Some((f, false))),
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
            if id.ctime > began {
                return Err(changed_during_deletion());
            }
            let proc = CString::new(format!("/proc/self/fd/{}", path_fd.as_raw_fd())).expect("no NUL");
            // SAFETY: `proc` is a NUL-terminated string that outlives the call.
            if unsafe { libc::chmod(proc.as_ptr(), (id.mode & 0o7777) | 0o700) } != 0 {
                return Err(e);
            }
            let dir = fd::open_dir_at(pfd, name)?;
            if !fd::dir_id(dir.as_raw_fd())?.same_inode(&id) {
                return Err(changed_during_deletion());
            }
            Ok(Some((dir, true)))
        }
        Err(e) => Err(e),
    }
}

/// Whether a birth time (if known) is after the deletion began.
fn born_after(btime: Option<fd::Timestamp>, began: fd::Timestamp) -> bool {
    btime.is_some_and(|b| b > began)
}

/// The error for a directory renamed or changed while the deletion ran.
fn changed_during_deletion() -> io::Error {
    io::Error::other("renamed or changed after the deletion began; left for the next prune")
}

/// The error for an entry created while its directory was being deleted.
fn born_during_deletion() -> io::Error {
    io::Error::other("created after the deletion began; left for the next prune")
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

/// The path of `name` inside the top of `stack` (of the top itself if `name`
/// is empty), relative to the start, for messages.
fn path_of(stack: &[Frame], name: &CStr) -> String {
    let mut p = String::new();
    for f in stack.iter().skip(1) {
        p.push_str(&f.name.to_string_lossy());
        p.push('/');
    }
    p.push_str(&name.to_string_lossy());
    // An empty name means the directory itself.
    if name.is_empty() {
        p.pop();
        if p.is_empty() {
            p.push('.');
        }
    }
    p
}
