//! Filesystem traversal of one session: measuring (dry run, `ls`, `info`,
//! the capacity rules) and deletion, in one walk through directory file
//! descriptors, shaped like systemd's `rm_rf_children`: an explicit stack
//! of open directories (a tree thousands of levels deep cannot overflow the
//! thread's stack), entries streamed from one getdents64 buffer and handled
//! as they are read, and the extra effort (granting ourselves access to our
//! own directory) in one place, [`Walk::unlinkat_harder`] and
//! [`Walk::open_dir_harder`].
//!
//! # What a walk counts
//! Sizes are what the entries take on disk, as `du -sB1` counts them:
//! allocated blocks (`st_blocks * 512`, so a sparse file's holes count
//! nothing), directories and the starting directory included, and each
//! inode once: a file with more than one link is remembered by (device,
//! inode) the first time, up to [`MAX_LINKED_INODES`] of them per walk;
//! beyond that each further link counts its share (`blocks / nlink`), so
//! memory stays bounded and a guest's links never count more than the
//! file. A deletion counts what it frees: a file whose link count was 1
//! just before we unlinked it (one with links elsewhere frees nothing, and
//! its last link inside the session is the one counted), and each directory
//! it removed. All of it comes with the statx the walk makes anyway.
//!
//! # What a walk visits
//! A walk works from what existed when it began. Entries born after that
//! (birth time, on filesystems that record one) are left, and a directory
//! changed after that (status-change time: a rename, an entry added or
//! removed, a mode change; no one can set it back) is not entered: a
//! deletion reports them as failures, retried by the next prune (nothing
//! legitimate writes into trash); a measurement leaves them out of the size
//! and counts them in [`Outcome::left`]. A rename changes the renamed
//! directory's ctime, so no directory is entered twice under two names, and
//! a walk keeps no set of the directories it entered.
//!
//! Each pass over a directory handles at most as many entries as the
//! directory held when the pass began, and a later pass of a deletion no
//! more than the first: a bound read from its size at that moment ([`Walk::pass_cap`]: tmpfs accounts 20 bytes per entry, ext4 at
//! least 12, xfs 8, btrfs 2; on other filesystems the size in bytes, and at
//! least [`UNKNOWN_FS_PASS_CAP`]). A guest creating entries faster than a
//! slowed walk handles them (each needs a statx to be recognised as new)
//! would otherwise keep one pass going for as long as it likes, holding a
//! prune and the workspace lock. A pass cut short is a failure (deletion)
//! or counted in `left` (measurement).
//!
//! Resuming a directory at a recorded position after deleting entries in it
//! is exact on filesystems with stable directory cookies (ext4, xfs, btrfs,
//! tmpfs since Linux 6.6); so that no entry is ever skipped elsewhere, a
//! directory in which the deletion both removed something and resumed is
//! read once more from the start, at most [`MAX_PASSES`] times.
//!
//! So a walk ends after at most `MAX_PASSES` passes, of at most their cap,
//! over the directories that existed unchanged when it began, whatever the
//! guest does meanwhile; and its memory is the stack (one frame per level
//! of such directories), one 16 KiB buffer and the bounded inode set.
//!
//! # Descriptors
//! A walk holds its current directory's descriptor, and keeps ancestors open
//! only with a slot of a budget shared by every walk in the process
//! ([`shared_capacity`]: a quarter of `RLIMIT_NOFILE`, at most
//! [`MAX_SHARED_DIRS`]) and at most [`MAX_OPEN_DIRS`] per walk; an ancestor
//! whose descriptor was closed is reopened through `..` and accepted only if
//! its (device, inode) is the one recorded on the way down.

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::fd::{self, DirId};

/// Most directory descriptors one walk keeps open at once.
pub const MAX_OPEN_DIRS: usize = 48;

/// Most ancestor descriptors all walks of the process keep open together,
/// whatever `RLIMIT_NOFILE` is (an embedding host keeps its descriptors).
pub const MAX_SHARED_DIRS: usize = 64;

/// Most passes over one directory in a deletion (see the module documentation).
pub const MAX_PASSES: u32 = 8;

/// Most multiply-linked inodes one walk remembers (16 bytes each).
pub const MAX_LINKED_INODES: usize = 16 * 1024;

/// The fewest entries a pass over a directory handles on a filesystem whose
/// directory sizes say nothing known about their entries (FUSE, overlayfs,
/// network filesystems).
pub const UNKNOWN_FS_PASS_CAP: u64 = 64 * 1024;

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
    /// Sum what is freed and delete everything below the starting directory.
    Delete,
}

/// What a walk did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Measure: bytes allocated to the starting directory and everything in
    /// it, each inode once (`du -sB1`). Delete: bytes freed, the starting
    /// directory's own blocks included once nothing failed (the caller
    /// removes it next). See the module documentation.
    pub bytes: u64,
    /// Measure: inodes that deleting would free (directories, and files
    /// with one link: a file linked elsewhere frees none). Delete: inodes
    /// freed. For the inode watermark.
    pub inodes: u64,
    /// Files and directories that could not be measured or removed.
    pub failures: u64,
    /// The first failure, with the path relative to the starting directory.
    pub first_error: Option<String>,
    /// The newest modification time (Unix seconds, nanoseconds) of the
    /// non-directory entries seen, if any: when a legacy session was last written.
    pub newest_mtime: Option<(i64, i64)>,
    /// Measure: entries left out because they were born or changed after
    /// the walk began, or came after a pass's cap (a deletion counts these
    /// as failures).
    pub left: u64,
}

impl Outcome {
    fn fail(&mut self, path: &str, what: &str, err: &dyn fmt::Display) {
        self.failures += 1;
        if self.first_error.is_none() {
            // `path` is made of guest-chosen names: escaped, it cannot forge a line of the message.
            self.first_error = Some(format!("{what} {}: {err}", crate::escape::escape(path)));
        }
    }
}

/// One pass over a directory: reading it from the start to its end (or its cap).
#[derive(Default)]
struct Pass {
    /// Passes over this directory so far, this one included.
    number: u32,
    /// Most entries this pass handles (see [`Walk::pass_cap`]).
    cap: u64,
    /// The first pass's cap: no later pass handles more.
    first_cap: u64,
    /// Entries read so far in this pass.
    seen: u64,
    /// This pass deleted something.
    removed: bool,
    /// This pass resumed reading at a recorded position.
    resumed: bool,
    /// `Outcome::failures` when this pass began (a new pass counts its own).
    failures_before: u64,
}

/// One directory on the walk's stack.
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
    /// The getdents64 position to read at next (`Some(0)`: from the start).
    resume: Option<i64>,
    pass: Pass,
}

/// What visiting one entry asks of the walk.
enum Visit {
    Done,
    /// A subdirectory on the same mount, open and not changed since the
    /// walk began: go down into it.
    Descend(OwnedFd, DirId),
    /// The entry turned out to be of the other kind (file or directory): again, as that.
    Retry {
        as_dir: bool,
    },
}

/// An entry the walk could not handle: what it was doing, and why.
struct Failure {
    doing: &'static str,
    why: Why,
}

fn failure(doing: &'static str, why: impl Into<Why>) -> Failure {
    Failure { doing, why: why.into() }
}

type VisitResult = Result<Visit, Failure>;

/// Why the walk left an entry: a system call's error, or one of the walk's
/// own rules (told apart by variant, never by the error's text or kind).
#[derive(Debug)]
enum Why {
    /// A system call failed.
    Os(io::Error),
    /// A mount point below the start: never entered, never changed.
    MountPoint,
    /// A directory renamed or changed after the walk began.
    Changed,
    /// An entry created after the walk began.
    Born,
    /// An entry that kept changing between a file and a directory.
    Unsettled,
    /// A closed ancestor that is no longer the parent it was on the way down.
    Moved,
    /// A directory holding more entries than when the pass over it began.
    Grew,
}

impl Why {
    fn raw_os_error(&self) -> Option<i32> {
        match self {
            Why::Os(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

impl From<io::Error> for Why {
    fn from(e: io::Error) -> Self {
        Why::Os(e)
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Why::Os(e) => return e.fmt(f),
            Why::MountPoint => "a mount point; its contents were left in place",
            Why::Changed => "renamed or changed after the walk began; left for the next prune",
            Why::Born => "created after the walk began; left for the next prune",
            Why::Unsettled => "it kept changing between a file and a directory",
            Why::Moved => "a directory was moved during removal",
            Why::Grew => "it holds more entries than when this pass over it began; the rest is left for the next prune",
        })
    }
}

/// What reading one batch of a directory asks of the walk.
enum Step {
    /// Read the next batch.
    More,
    /// Go down into this directory first.
    Descend(Frame),
    /// This pass over the directory is over (its end, or its cap).
    EndOfPass,
}

/// Multiply-linked inodes a measurement has counted (bounded, see the module documentation).
#[derive(Default)]
struct LinkedInodes(HashSet<(u64, u64)>);

impl LinkedInodes {
    /// The bytes one link of `st` adds to a measurement.
    fn charge(&mut self, st: &fd::EntryStat) -> u64 {
        let bytes = st.blocks.saturating_mul(512);
        if st.nlink <= 1 {
            return bytes;
        }
        let key = (st.dev, st.ino);
        if self.0.contains(&key) {
            return 0;
        }
        if self.0.len() < MAX_LINKED_INODES && self.0.try_reserve(1).is_ok() {
            self.0.insert(key);
            return bytes;
        }
        bytes / st.nlink
    }
}

/// How many bytes of a directory's `st_size` one entry takes at least, on
/// the filesystem of type `magic`; `None` if unknown.
fn bytes_per_entry(magic: i64) -> Option<u64> {
    const TMPFS: i64 = 0x0102_1994; // BOGO_DIRENT_SIZE per entry, "." and ".." included
    const EXT234: i64 = 0xEF53; // the smallest dirent record
    const XFS: i64 = 0x5846_5342;
    const BTRFS: i64 = 0x9123_683E; // twice the name's length
    match magic {
        TMPFS => Some(20),
        EXT234 => Some(12),
        XFS => Some(8),
        BTRFS => Some(2),
        _ => None,
    }
}

/// One walk: what every step needs to know, the stack and the outcome.
struct Walk<'a> {
    start: BorrowedFd<'a>,
    start_id: DirId,
    euid: u32,
    mode: Mode,
    /// When the walk began: what was born or changed after is the guest's doing.
    began: fd::Timestamp,
    /// See [`bytes_per_entry`].
    bytes_per_entry: Option<u64>,
    /// Ancestor descriptors all walks may hold (see [`shared_capacity`]).
    capacity: usize,
    links: LinkedInodes,
    stack: Vec<Frame>,
    out: Outcome,
}

/// Walks everything below the open directory `start` (whose identity is
/// `start_id`), never leaving the mount it is on and never following a
/// symlink. In [`Mode::Delete`] it removes every entry below `start` but not
/// `start` itself. A mount point found below is a failure and is left alone.
pub fn walk(start: BorrowedFd<'_>, start_id: DirId, mode: Mode) -> Outcome {
    let mut buf: Vec<u8> = Vec::new();
    if let Err(e) = buf.try_reserve_exact(BATCH_BYTES) {
        let mut out = Outcome::default();
        out.fail(".", "cannot list", &e);
        return out;
    }
    buf.resize(BATCH_BYTES, 0);
    // Read before anything is listed: every entry born (or changed) before
    // has a birth time (ctime) at most this.
    let began = fd::now();
    // The start as it is now (its size bounds the first pass), not as it was opened.
    let now_id = fd::dir_id(start).unwrap_or(start_id);
    let mut w = Walk {
        start,
        start_id,
        // SAFETY: geteuid takes nothing and cannot fail.
        euid: unsafe { libc::geteuid() },
        mode,
        began,
        bytes_per_entry: fd::fs_type(start).ok().and_then(bytes_per_entry),
        capacity: shared_capacity(),
        links: LinkedInodes::default(),
        stack: Vec::new(),
        out: Outcome::default(),
    };
    let mut frame = w.frame(None, now_id, CString::default());
    frame.resume = Some(0);
    w.stack.push(frame);
    if mode == Mode::Measure {
        w.out.bytes += now_id.blocks.saturating_mul(512);
        w.out.inodes += 1;
    }
    w.run(&mut buf);
    if mode == Mode::Delete && w.out.failures == 0 {
        w.out.bytes += now_id.blocks.saturating_mul(512);
        w.out.inodes += 1;
    }
    w.out
}

impl<'a> Walk<'a> {
    /// The explicit-stack loop: read the top directory a batch at a time,
    /// going down into subdirectories as they come, and back up (removing
    /// the directory, when deleting) at the end of its last pass.
    fn run(&mut self, buf: &mut [u8]) {
        while let Some(top) = self.stack.len().checked_sub(1) {
            let dfd = self.fd_of(top);
            if let Some(pos) = self.stack[top].resume.take() {
                self.stack[top].pass.resumed |= pos != 0;
                if let Err(e) = seek_dir(dfd, pos) {
                    self.out.fail(&self.path_of(c""), "cannot list", &e);
                    if !self.leave_dir() {
                        return;
                    }
                    continue;
                }
            }
            let step = match fd::getdents(dfd, buf) {
                Ok(0) => Step::EndOfPass,
                Ok(n) => self.handle_batch(dfd, &buf[..n]),
                Err(e) => {
                    self.out.fail(&self.path_of(c""), "cannot list", &e);
                    Step::EndOfPass
                }
            };
            match step {
                Step::More => {}
                Step::Descend(frame) => self.stack.push(frame),
                Step::EndOfPass => {
                    if !self.end_pass() {
                        return;
                    }
                }
            }
        }
    }

    /// Handles the entries of one batch of the top directory `dfd`.
    fn handle_batch(&mut self, dfd: BorrowedFd<'_>, batch: &[u8]) -> Step {
        let top = self.stack.len() - 1;
        for (next, kind, name) in fd::dirents(batch) {
            let b = name.to_bytes();
            if b == b"." || b == b".." {
                continue;
            }
            let pass = &mut self.stack[top].pass;
            if pass.seen >= pass.cap {
                self.over_cap();
                return Step::EndOfPass;
            }
            pass.seen += 1;
            match self.visit_retrying(dfd, name, kind) {
                // (visit_retrying resolves every Retry itself.)
                Ok(Visit::Done | Visit::Retry { .. }) => {}
                Err(f) => self.out.fail(&self.path_of(name), f.doing, &f.why),
                Ok(Visit::Descend(child, child_id)) => {
                    if self.stack.try_reserve(1).is_err() {
                        let e = io::Error::from_raw_os_error(libc::ENOMEM);
                        self.out.fail(&self.path_of(name), "too deep to descend into", &e);
                        continue;
                    }
                    // Back here later, reading on after this entry.
                    self.stack[top].resume = Some(next);
                    self.keep_as_ancestor();
                    let mut frame = self.frame(Some(child), child_id, name.to_owned());
                    frame.resume = Some(0);
                    return Step::Descend(frame);
                }
            }
        }
        Step::More
    }

    /// A new frame, at its first pass.
    fn frame(&self, fd: Option<OwnedFd>, id: DirId, name: CString) -> Frame {
        let mut f = Frame {
            fd,
            slot: None,
            id,
            name,
            opened_up: false,
            resume: None,
            pass: Pass::default(),
        };
        f.pass = self.new_pass(&id, 1);
        f
    }

    /// Pass number `number` over the directory `id` (as it is now).
    fn new_pass(&self, id: &DirId, number: u32) -> Pass {
        let cap = self.pass_cap(id);
        Pass {
            number,
            cap,
            first_cap: cap,
            failures_before: self.out.failures,
            ..Pass::default()
        }
    }

    /// Most entries a pass over the directory `id` handles: as many as its
    /// size says it held when the pass began (see the module documentation).
    fn pass_cap(&self, id: &DirId) -> u64 {
        // Two more than the size says: rounding, and "." and ".." on
        // filesystems whose size does not count them.
        match self.bytes_per_entry {
            Some(per) => id.size / per + 2,
            None => id.size.max(UNKNOWN_FS_PASS_CAP),
        }
    }

    /// The top directory holds more than its pass may handle: the rest is left.
    fn over_cap(&mut self) {
        match self.mode {
            Mode::Measure => self.out.left += 1,
            Mode::Delete => {
                self.out.fail(&self.path_of(c""), "stopped reading", &Why::Grew);
            }
        }
    }

    /// The top directory's pass is over: another pass if a deletion may have
    /// skipped something, else back up. False when the walk is over.
    fn end_pass(&mut self) -> bool {
        let top = self.stack.len() - 1;
        let pass = &self.stack[top].pass;
        if self.mode == Mode::Delete && pass.removed && pass.resumed && pass.number < MAX_PASSES {
            let number = pass.number + 1;
            self.out.failures = pass.failures_before;
            let dfd = self.fd_of(top);
            let id = fd::dir_id(dfd).unwrap_or(self.stack[top].id);
            // Never more than the first pass: a later pass is only there for
            // entries the first may have skipped, which the first's cap counted.
            let first_cap = self.stack[top].pass.first_cap;
            let mut next = self.new_pass(&id, number);
            next.cap = next.cap.min(first_cap);
            next.first_cap = first_cap;
            self.stack[top].pass = next;
            self.stack[top].resume = Some(0);
            return true;
        }
        self.leave_dir()
    }

    /// Visits one entry, again as the other kind when it changed between
    /// a file and a directory (a few times); out of descriptors, gives back
    /// this walk's ancestors and tries once more.
    fn visit_retrying(&mut self, dfd: BorrowedFd<'_>, name: &CStr, kind: u8) -> VisitResult {
        let mut as_dir = kind == libc::DT_DIR || kind == libc::DT_UNKNOWN;
        let mut freed_fds = false;
        for _ in 0..4 {
            let r = if as_dir {
                self.visit_dir(dfd, name)
            } else {
                self.visit_file(dfd, name)
            };
            match r {
                Ok(Visit::Retry { as_dir: d }) => as_dir = d,
                Err(ref f)
                    if matches!(f.why.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
                        && !freed_fds
                        && self.close_ancestors() > 0 =>
                {
                    freed_fds = true;
                }
                r => return r,
            }
        }
        Err(failure("cannot handle", Why::Unsettled))
    }

    /// A subdirectory: opened to descend into, unless it is on another
    /// mount or changed since the walk began.
    fn visit_dir(&mut self, dfd: BorrowedFd<'_>, name: &CStr) -> VisitResult {
        let (child, granted) = match self.open_dir_harder(dfd, name) {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(Visit::Done), // vanished
            // Not a directory after all (DT_UNKNOWN, or swapped).
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR) | Some(libc::ELOOP)) => {
                return Ok(Visit::Retry { as_dir: false })
            }
            Err(Why::Os(e))
                if self.mode == Mode::Measure
                    && e.raw_os_error() == Some(libc::EACCES)
                    && owned_by(dfd, name, self.euid) =>
            {
                // Deletion will grant itself access to its own directory; a dry
                // run changes nothing, so it cannot see inside (bytes undercounted).
                return Ok(Visit::Done);
            }
            Err(why @ (Why::MountPoint | Why::Changed)) => return Err(failure("not descending into", why)),
            Err(why) => return Err(failure("cannot open directory", why)),
        };
        let child_id = fd::dir_id(child.as_fd()).map_err(|e| failure("cannot stat", e))?;
        if !child_id.same_mount(&self.start_id) {
            return Err(failure("not descending into", Why::MountPoint));
        }
        // (A directory we granted access to has our own change in its
        // ctime; open_dir_harder checked it before that change.)
        if !granted && child_id.ctime > self.began {
            return self.left_for_later(Why::Changed);
        }
        if self.mode == Mode::Measure {
            self.out.bytes += child_id.blocks.saturating_mul(512);
            self.out.inodes += 1;
        }
        Ok(Visit::Descend(child, child_id))
    }

    /// A non-directory (regular file, symlink, FIFO, socket or device node):
    /// measured, and removed when deleting.
    fn visit_file(&mut self, dfd: BorrowedFd<'_>, name: &CStr) -> VisitResult {
        let st = match fd::entry_stat(dfd, name) {
            Ok(st) if st.mode & libc::S_IFMT == libc::S_IFDIR => return Ok(Visit::Retry { as_dir: true }),
            Ok(st) => st,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(Visit::Done),
            Err(e) => return Err(failure("cannot stat", e)),
        };
        if st.btime.is_some_and(|b| b > self.began) {
            return self.left_for_later(Why::Born);
        }
        let mtime = (st.mtime.0, i64::from(st.mtime.1));
        if self.out.newest_mtime.is_none_or(|m| mtime > m) {
            self.out.newest_mtime = Some(mtime);
        }
        if self.mode == Mode::Measure {
            self.out.bytes += self.links.charge(&st);
            self.out.inodes += u64::from(st.nlink <= 1);
            return Ok(Visit::Done);
        }
        match self.unlinkat_harder(dfd, name, 0) {
            Ok(()) => {
                // Freed only if this was its last link.
                if st.nlink <= 1 {
                    self.out.bytes += st.blocks.saturating_mul(512);
                    self.out.inodes += 1;
                }
                self.stack.last_mut().expect("non-empty").pass.removed = true;
                Ok(Visit::Done)
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(Visit::Done),
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) => Ok(Visit::Retry { as_dir: true }),
            Err(e) => Err(failure("cannot remove", e)),
        }
    }

    /// An entry born or changed after the walk began: a deletion's failure
    /// (retried by the next prune), a measurement's `left`.
    fn left_for_later(&mut self, why: Why) -> VisitResult {
        match self.mode {
            Mode::Delete => Err(failure("not deleting", why)),
            Mode::Measure => {
                self.out.left += 1;
                Ok(Visit::Done)
            }
        }
    }

    /// The top directory is done: goes back up to its parent (reopening it
    /// through `..` if it was closed) and, when deleting, removes it there.
    /// False if there is no parent or the way back up is lost (the walk ends).
    fn leave_dir(&mut self) -> bool {
        let top = self.stack.len() - 1;
        if top == 0 {
            return false;
        }
        let frame = self.stack.pop().expect("non-empty");
        let parent = top - 1;
        if parent != 0 && self.stack[parent].fd.is_none() {
            let child = frame.fd.as_ref().expect("top frame is open").as_fd();
            let expected = self.stack[parent].id;
            let mut reopened = reopen_parent(child, &expected);
            if matches!(&reopened, Err(why) if matches!(why.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)))
                && self.close_ancestors() > 0
            {
                reopened = reopen_parent(child, &expected);
            }
            match reopened {
                Ok(pfd) => self.stack[parent].fd = Some(pfd),
                Err(why) => {
                    self.out
                        .fail(&self.path_of(&frame.name), "lost the way back up from", &why);
                    return false;
                }
            }
        }
        drop(frame.fd);
        // The parent is the current directory again: it needs no budget.
        self.stack[parent].slot = None;
        if self.mode == Mode::Delete {
            let pfd = self.fd_of(parent);
            match self.unlinkat_harder(pfd, &frame.name, libc::AT_REMOVEDIR) {
                Ok(()) => {
                    self.out.bytes += frame.id.blocks.saturating_mul(512);
                    self.out.inodes += 1;
                    self.stack[parent].pass.removed = true;
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                // Its contents already produced a failure; do not count it twice.
                Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) && self.out.failures > 0 => {}
                Err(e) => self.out.fail(&self.path_of(&frame.name), "cannot remove directory", &e),
            }
        }
        true
    }

    /// `unlinkat(dfd, name, flags)` in the top directory, with extra effort:
    /// on EACCES/EPERM, if the directory is ours and not yet opened up,
    /// grants u+rwx through its descriptor and tries once more.
    fn unlinkat_harder(&mut self, dfd: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<()> {
        let euid = self.euid;
        let frame = self.stack.last_mut().expect("non-empty");
        match fd::unlinkat(dfd, name, flags) {
            Err(e)
                if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM))
                    && !frame.opened_up
                    && frame.id.uid == euid =>
            {
                frame.opened_up = true;
                if fd::fchmod(dfd, (frame.id.mode & 0o7777) | 0o700).is_err() {
                    return Err(e);
                }
                fd::unlinkat(dfd, name, flags)
            }
            r => r,
        }
    }

    /// Opens a subdirectory; `Ok(None)` if it vanished; with `true` if it was
    /// granted access. The extra effort, when deleting: an unreadable one is
    /// looked at through an O_PATH descriptor of that very directory (never
    /// a file: a hard link would carry a change outside the workspace): a
    /// mount point is a [`mount_point`] error, whatever the mode (nothing on
    /// another mount is ever changed); one that is ours, on the start's
    /// mount and not changed since the walk began, is granted u+rwx through
    /// `/proc/self/fd`, and opened again (it must be the same directory).
    fn open_dir_harder(&self, pfd: BorrowedFd<'_>, name: &CStr) -> Result<Option<(OwnedFd, bool)>, Why> {
        match fd::open_dir_at(pfd, name) {
            Ok(f) => Ok(Some((f, false))),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                let path_fd = fd::openat(pfd, name, libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0)?;
                // Mount first, owner second, and only then a change.
                let id = fd::dir_id(path_fd.as_fd())?;
                if !id.same_mount(&self.start_id) {
                    return Err(Why::MountPoint);
                }
                if id.uid != self.euid || self.mode == Mode::Measure {
                    return Err(e.into());
                }
                if id.ctime > self.began {
                    return Err(Why::Changed);
                }
                let proc = fd::ProcFdPath::new(path_fd.as_fd());
                // SAFETY: `proc` is a NUL-terminated string that outlives the call.
                if unsafe { libc::chmod(proc.as_cstr().as_ptr(), (id.mode & 0o7777) | 0o700) } != 0 {
                    return Err(e.into());
                }
                let dir = fd::open_dir_at(pfd, name)?;
                if !fd::dir_id(dir.as_fd())?.same_inode(&id) {
                    return Err(Why::Changed);
                }
                Ok(Some((dir, true)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The descriptor of frame `i` (frame 0 borrows the caller's `start`),
    /// borrowed beyond the borrow of `self`, so that the walk can go on
    /// updating its frames while it works in that directory.
    fn fd_of(&self, i: usize) -> BorrowedFd<'a> {
        if i == 0 {
            return self.start;
        }
        let raw = self.stack[i].fd.as_ref().expect("frame descriptor is open").as_raw_fd();
        // SAFETY: a frame's descriptor is closed only when the frame is left
        // (`leave_dir` pops it) or becomes an ancestor (`keep_as_ancestor`,
        // `close_ancestors`, which never close the top frame's). The walk asks
        // for the top frame's descriptor (or, leaving a directory, its
        // parent's) and uses it only until the next of those calls that could
        // close it, so it stays open while it is borrowed.
        unsafe { BorrowedFd::borrow_raw(raw) }
    }

    /// The top is about to become an ancestor: it stays open with a budget
    /// slot (its own, or the oldest open ancestor's), or is closed.
    fn keep_as_ancestor(&mut self) {
        let stack = &mut self.stack;
        let top = stack.len() - 1;
        if top == 0 {
            return; // frame 0 borrows the caller's descriptor
        }
        let open = (1..top).filter(|&i| stack[i].fd.is_some()).count();
        if open + 2 < MAX_OPEN_DIRS {
            if let Some(slot) = Slot::take(self.capacity) {
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
    fn close_ancestors(&mut self) -> usize {
        let top = self.stack.len() - 1;
        let mut n = 0;
        for f in self.stack.iter_mut().take(top).skip(1) {
            if f.fd.take().is_some() {
                n += 1;
            }
            f.slot = None;
        }
        n
    }

    /// The path of `name` inside the top directory (of the top itself if
    /// `name` is empty), relative to the start, for messages.
    fn path_of(&self, name: &CStr) -> String {
        let mut p = String::new();
        for f in self.stack.iter().skip(1) {
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
}

/// Moves the read position of a directory descriptor.
fn seek_dir(dfd: BorrowedFd<'_>, pos: i64) -> io::Result<()> {
    // SAFETY: lseek takes no pointers; `dfd` is open for the call.
    if unsafe { libc::lseek(dfd.as_raw_fd(), pos as libc::off_t, libc::SEEK_SET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the entry `name` in `dir` belongs to `euid` (so deletion may open it up).
fn owned_by(dir: BorrowedFd<'_>, name: &CStr, euid: u32) -> bool {
    matches!(fd::lstat_at(dir, name), Ok(st) if st.st_uid == euid)
}

/// Reopens a closed ancestor through `..` of its child, insisting that it is
/// the directory recorded on the way down.
fn reopen_parent(child: BorrowedFd<'_>, expected: &DirId) -> Result<OwnedFd, Why> {
    let pfd = fd::open_dir_at(child, c"..")?;
    let id = fd::dir_id(pfd.as_fd())?;
    if id.same_inode(expected) {
        Ok(pfd)
    } else {
        Err(Why::Moved)
    }
}
