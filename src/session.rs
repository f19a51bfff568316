//! Operations on one session: create, touch, read metadata, and leases (the
//! shared lock a runtime holds while code runs in the session).
//!
//! Crash safety without a rename per touch: wsprune writes metadata with a
//! fixed-width 27-byte `updated_at` inside the file's first 512-byte sector.
//! A touch overwrites exactly those bytes with one `pwrite`. A single-sector,
//! single-page write of digits over digits cannot be torn by killing the
//! process, and whatever reaches the disk is either the old or the new
//! timestamp, so the file always parses. Files in any other layout (the
//! reference Python implementation's `+00:00` form, escaped strings, a
//! timestamp straddling a sector) are rewritten once, crash-safely, through a
//! temporary file and `rename`, after which touches are in place again.
//! Creation writes the metadata to a temporary name and renames it into place,
//! so `.metadata.json` is never seen empty or half written.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::chase;
use crate::error::{Error, Result, Status};
use crate::events::{self, Level};
use crate::fd::{self, DirId};
use crate::fields;
use crate::metadata::{self, MetadataError, SessionMetadata, MAX_METADATA_BYTES, METADATA_FILE, TIMESTAMP_LEN};
use crate::session_id;

/// Mode of a new session directory (before the umask): the runtime decides who
/// else may enter; the metadata file inside is always 0600.
pub const SESSION_DIR_MODE: libc::mode_t = 0o755;
/// Mode of a workspace root wsprune creates (before the umask): searchable,
/// not readable, by others (see [`create_session`]).
pub const ROOT_MODE: u32 = 0o711;
/// Mode of `.metadata.json`: a sandboxed guest running as another user must not read it.
pub const METADATA_MODE: libc::mode_t = 0o600;
/// How long [`acquire`] waits for a prune that is deciding about the session.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// What reading a session's metadata found.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataState {
    /// Valid metadata.
    Valid(SessionMetadata),
    /// No metadata file: a legacy session.
    Missing,
    /// A metadata file that cannot be used.
    Invalid(MetadataError),
}

/// What a touch did.
#[derive(Debug, Clone, PartialEq)]
pub enum TouchOutcome {
    /// `updated_at` is now this time.
    Updated(DateTime<Utc>),
    /// A legacy session without metadata: nothing to update (not an error).
    Legacy,
    /// The metadata is corrupted and was left as it is (a warning event was emitted).
    Corrupted(String),
}

pub(crate) fn check_root(root: &Path) -> Result<()> {
    if root.as_os_str().is_empty() {
        return Err(Error::new(Status::InvalidArgument, "workspace root is empty"));
    }
    Ok(())
}

/// Opens the workspace root; a missing root is [`Status::NotFound`].
pub(crate) fn open_root(root: &Path) -> Result<OwnedFd> {
    fd::open_root(root).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => Error::new(
            Status::NotFound,
            format!("workspace root {} does not exist", root.display()),
        ),
        Some(libc::ENOTDIR) => Error::new(
            Status::Io,
            format!("workspace root {} is not a directory", root.display()),
        ),
        _ => Error::io(format_args!("cannot open workspace root {}", root.display()), e),
    })
}

/// Checks the arguments and opens the root and session `id` in it (with
/// `flags`) through [`chase::open_session_dir`]; returns both and the
/// session's identity. A missing root or session is [`Status::NotFound`]; a
/// session that is a mount point is refused ([`Status::Io`]).
fn open_session(root: &Path, id: &str, flags: libc::c_int) -> Result<(OwnedFd, OwnedFd, DirId)> {
    let root_fd = open_root_of_session(root, id)?;
    let (dir, dir_id) =
        chase::open_session_dir(root_fd.as_fd(), &fd::cname(id), flags).map_err(|e| session_error(e, root, id))?;
    Ok((root_fd, dir, dir_id))
}

/// Checks the arguments and opens the root of session `id`; a missing root
/// is [`Status::NotFound`] (the session is not there).
fn open_root_of_session(root: &Path, id: &str) -> Result<OwnedFd> {
    check_root(root)?;
    session_id::validate(id)?;
    open_root(root).map_err(|e| match e.status() {
        Status::NotFound => Error::new(Status::NotFound, format!("session {id} not found: {}", e.message())),
        _ => e,
    })
}

/// The error for a session [`chase::open_session_dir`] refused.
pub(crate) fn session_error(e: chase::ChaseError, root: &Path, id: &str) -> Error {
    match e {
        chase::ChaseError::NotASession => Error::new(
            Status::NotFound,
            format!("session {id} not found in {}", root.display()),
        ),
        chase::ChaseError::MountPoint => Error::new(Status::Io, format!("session {id} is a mount point; refused")),
        chase::ChaseError::Io(e) => Error::io(format_args!("cannot open session {id}"), e),
    }
}

/// Finds session `id` by name: `open` is tried on each of
/// [`session_id::candidates`] (for a UUID its canonical spelling, then the
/// name as given) until one is not [`Status::NotFound`]. Returns what `open`
/// gave and the name it was found under. No directory scan.
pub(crate) fn resolve<T>(id: &str, mut open: impl FnMut(&str) -> Result<T>) -> Result<(T, String)> {
    session_id::validate(id)?;
    let mut last = None;
    for name in session_id::candidates(id) {
        match open(&name) {
            Ok(t) => return Ok((t, name)),
            Err(e) if e.status() == Status::NotFound => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.expect("there is always a candidate"))
}

/// Whether the open directory `dir`, named `name` in the root, is a session:
/// a UUID name (legacy without metadata), or a custom id holding a
/// `.metadata.json` entry (of any type: a bad one makes it a corrupted session).
pub(crate) fn is_session_dir(dir: BorrowedFd<'_>, name: &str) -> std::io::Result<bool> {
    if session_id::is_uuid(name.as_bytes()) {
        return Ok(true);
    }
    match fd::lstat_at(dir, &fd::cname(METADATA_FILE)) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// [`Status::NotFound`] for a directory named like a custom id that is not a session.
pub(crate) fn not_a_session(name: &str) -> Error {
    Error::new(
        Status::NotFound,
        format!("session {name} not found: the directory has no {METADATA_FILE}, so it is not a session (wsprune open adopts it)"),
    )
}

/// The names in the open root that may be sessions (session ids naming
/// directories or entries of unknown type), sorted. Whether a custom-id
/// directory is a session (it holds `.metadata.json`) is decided when it is
/// opened ([`is_session_dir`]); trash, hidden entries and `site-packages`
/// are never listed.
pub(crate) fn session_names(root_fd: BorrowedFd<'_>) -> Result<Vec<String>> {
    let mut names: Vec<String> = fd::read_dir(root_fd)
        .map_err(|e| Error::io("cannot list workspace root", e))?
        .into_iter()
        .filter(|e| matches!(e.kind, libc::DT_DIR | libc::DT_UNKNOWN))
        .filter_map(|e| e.name.into_string().ok())
        .filter(|n| session_id::is_session_id(n.as_bytes()))
        .collect();
    names.sort_unstable();
    Ok(names)
}

/// Creates a session directory under `root` (created if missing) and writes
/// its metadata with `created_at == updated_at == now`. With `id` `None` a
/// new random UUID is used. A UUID id is created under its canonical
/// spelling (lowercase, hyphenated) whatever spelling is passed; a custom id
/// as it is. Returns the session id: the directory's name.
///
/// An existing session is [`Status::AlreadyExists`]: for a UUID, one under
/// the canonical spelling or under the spelling passed. As the reference
/// implementation does, a failure to write the metadata does not fail the
/// creation: the session is created (legacy-like) and a warning event
/// `session.metadata.write_failed` is emitted. Emits `session.created`.
pub fn create_session(root: &Path, id: Option<&str>) -> Result<String> {
    check_root(root)?;
    let given = match id {
        Some(id) => {
            session_id::validate(id)?;
            Some(id)
        }
        None => None,
    };
    let id = given.map_or_else(session_id::generate, session_id::new_name);
    let root_fd = open_or_create_root(root)?;
    let exists = || {
        Error::new(
            Status::AlreadyExists,
            format!("session {id} already exists in {}", root.display()),
        )
    };
    // One UUID, one session: another tool's spelling of it is that session.
    if let Some(g) = given.filter(|g| *g != id) {
        if matches!(fd::lstat_at(root_fd.as_fd(), &fd::cname(g)), Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR)
        {
            return Err(exists());
        }
    }
    let cid = fd::cname(&id);
    fd::mkdirat(root_fd.as_fd(), &cid, SESSION_DIR_MODE).map_err(|e| match e.raw_os_error() {
        Some(libc::EEXIST) => exists(),
        _ => Error::io(format_args!("cannot create session directory {id}"), e),
    })?;
    events::emit(Level::Info, "session.created", || {
        fields! {"session_id" => id.as_str(), "workspace_path" => root.join(&id).to_string_lossy()}
    });
    let meta = SessionMetadata::new(id.clone(), Utc::now());
    let written = fd::open_dir_at(root_fd.as_fd(), &cid)
        .and_then(|dir| write_via_temp(dir.as_fd(), meta.to_json().as_bytes(), true, false));
    metadata_written(&id, &meta, written, "create");
    Ok(id)
}

/// Opens the workspace root, creating it (and its parents) when missing.
fn open_or_create_root(root: &Path) -> Result<OwnedFd> {
    // The root usually exists: open it first, and create it only when missing.
    match open_root(root) {
        Err(e) if e.status() == Status::NotFound => {
            // 0711: guests may search the root to reach their session, but not
            // open it: a guest holding a lock on the root would make every
            // prune wait for the workspace lock (SECURITY.md).
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(ROOT_MODE)
                .create(root)
                .map_err(|e| match e.raw_os_error() {
                    // A file (or a dangling symlink) where the root or one of its parents should be.
                    Some(libc::EEXIST) | Some(libc::ENOTDIR) => Error::new(
                        Status::Io,
                        format!("cannot create workspace root {}: not a directory", root.display()),
                    ),
                    _ => Error::io(format_args!("cannot create workspace root {}", root.display()), e),
                })?;
            open_root(root)
        }
        other => other,
    }
}

/// Emits `session.metadata.created`, or the `session.metadata.write_failed`
/// warning that replaces an error (as in the reference implementation).
fn metadata_written(id: &str, meta: &SessionMetadata, written: std::io::Result<()>, operation: &str) {
    match written {
        Ok(()) => events::emit(Level::Info, "session.metadata.created", || {
            fields! {"session_id" => id, "created_at" => metadata::format_timestamp(meta.created_at), "operation" => operation}
        }),
        Err(e) => events::emit(Level::Warning, "session.metadata.write_failed", || {
            fields! {"session_id" => id, "error" => e.to_string(), "operation" => operation}
        }),
    }
}

/// Create-or-open (the reference runtime's create-or-retrieve): opens session
/// `id` if it exists under any name [`create_session`] and the other calls
/// would find it by, else creates it. With `id` `None` a new UUID session is
/// created. Returns the session id (the directory's name) and whether it was
/// created.
///
/// An existing directory without `.metadata.json` (a legacy UUID session, or
/// a directory named like a custom id) gets fresh metadata dated now, as the
/// reference does when a runtime reuses a session id; corrupted metadata is
/// left as it is (`wsprune repair` is the explicit fix). Emits
/// `session.created` or `session.retrieved`, and `session.metadata.created`
/// when metadata was written. A symlink or a non-directory in the session's
/// place is never followed: creating there fails with [`Status::AlreadyExists`].
pub fn create_or_open_session(root: &Path, id: Option<&str>) -> Result<(String, bool)> {
    let Some(id) = id else {
        return create_session(root, None).map(|id| (id, true));
    };
    // Two rounds: a session created or deleted by someone else between our
    // lookup and our creation is looked up once more.
    for _ in 0..2 {
        match resolve(id, |n| open_session(root, n, libc::O_PATH)) {
            Ok(((root_fd, dir, dir_id), name)) => match adopt(root, root_fd.as_fd(), dir.as_fd(), &dir_id, name) {
                Ok(name) => return Ok((name, false)),
                Err(e) if e.status() != Status::NotFound => return Err(e),
                Err(_) => {}
            },
            Err(e) if e.status() != Status::NotFound => return Err(e),
            Err(_) => {}
        }
        match create_session(root, Some(id)) {
            Ok(name) => return Ok((name, true)),
            Err(e) if e.status() == Status::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::new(
        Status::AlreadyExists,
        format!(
            "session {id}: something other than a session directory has its name in {}",
            root.display()
        ),
    ))
}

/// Opens an existing session directory `dir` (`dir_id`) found as `name` in
/// the open root `rfd`: writes metadata if it has none, emits
/// `session.retrieved`. [`Status::NotFound`] if a deletion moved the
/// directory away meanwhile.
fn adopt(root: &Path, rfd: BorrowedFd<'_>, dir: BorrowedFd<'_>, dir_id: &DirId, name: String) -> Result<String> {
    let missing = open_metadata(dir, false)
        .map_err(|e| Error::io(format_args!("cannot read metadata of session {name}"), e))?
        .is_none();
    if missing {
        let meta = SessionMetadata::new(name.clone(), Utc::now());
        // No replace: metadata written meanwhile by someone else wins.
        match write_via_temp(dir, meta.to_json().as_bytes(), true, true) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            written => metadata_written(&name, &meta, written, "open"),
        }
    }
    if !fd::is_named(rfd, &fd::cname(&name), dir_id) {
        return Err(Error::new(
            Status::NotFound,
            format!("session {name} was deleted while opening it"),
        ));
    }
    events::emit(Level::Info, "session.retrieved", || {
        fields! {"session_id" => name.as_str(), "workspace_path" => root.join(&name).to_string_lossy()}
    });
    Ok(name)
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `data` to a fresh temporary file in `dir` (mode 0600) and renames it
/// to `.metadata.json`: readers see the old file or the complete new one.
pub(crate) fn write_via_temp(dir: BorrowedFd<'_>, data: &[u8], noreplace: bool, sync: bool) -> std::io::Result<()> {
    let (tmp, file) = loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = fd::cname(&format!("{METADATA_FILE}.{}.{n}.tmp", std::process::id()));
        match fd::openat(
            dir,
            &tmp,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
            METADATA_MODE,
        ) {
            Ok(f) => break (tmp, f),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(e) => return Err(e),
        }
    };
    let written = fd::pwrite_all(file.as_fd(), data, 0).and_then(|()| {
        // SAFETY: fsync takes no pointers; `file` is open for the call.
        if sync && unsafe { libc::fsync(file.as_raw_fd()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    });
    drop(file);
    let renamed = written.and_then(|()| fd::renameat(dir, &tmp, &fd::cname(METADATA_FILE), noreplace));
    if renamed.is_err() {
        let _ = fd::unlinkat(dir, &tmp, 0);
    }
    renamed
}

/// Sets `updated_at` of session `id` to now, preserving every other field
/// (unknown ones included). A legacy session without metadata is
/// [`TouchOutcome::Legacy`] and silent; corrupted metadata is left untouched,
/// gives [`TouchOutcome::Corrupted`] and a `session.metadata.corrupted`
/// warning event. A missing session is [`Status::NotFound`], and so is one
/// that a prune or a deletion moved away while it was being touched (checked
/// after the write: success means the session was still there). A session
/// that is a mount point is refused ([`Status::Io`]). A UUID is found under
/// any spelling (see [`session_id::candidates`]).
///
/// A directory named like a custom id without metadata is not a session, but
/// as in the reference implementation (whose touch skips any directory
/// without metadata silently) touching it is [`TouchOutcome::Legacy`]: nothing
/// is written and the caller's execution does not fail.
pub fn touch_session(root: &Path, id: &str) -> Result<TouchOutcome> {
    let root_fd = open_root_of_session(root, id)?;
    let rfd = root_fd.as_fd();
    resolve(id, |name| touch_named(rfd, root, name)).map(|(outcome, _)| outcome)
}

/// [`touch_session`] of the session named exactly `id` in the open root.
fn touch_named(rfd: BorrowedFd<'_>, root: &Path, id: &str) -> Result<TouchOutcome> {
    if let Some(now) = touch_in_place_beneath(rfd, id)? {
        return Ok(updated(id, now));
    }
    // Anything unusual (or a session gone since the fast path wrote): the
    // full path, which says precisely what is wrong.
    let cid = fd::cname(id);
    let (dir, dir_id) = chase::open_session_dir(rfd, &cid, libc::O_PATH).map_err(|e| session_error(e, root, id))?;
    let outcome = touch_at(dir.as_fd(), id)?;
    if !fd::is_named(rfd, &cid, &dir_id) {
        // A prune moved the session to trash after we opened it: whatever we
        // wrote went into the trash, and the session is gone.
        return Err(Error::new(
            Status::NotFound,
            format!("session {id} was deleted while touching it"),
        ));
    }
    Ok(outcome)
}

/// The common touch in the fewest system calls (the benchmarks' safe floor):
/// `<id>/.metadata.json` opened in one [`chase::open_metadata_beneath`],
/// read, its timestamp overwritten in place, and the file checked to still be
/// `<id>/.metadata.json` afterwards. `None` (nothing written, or written
/// into a session that is gone by now) sends the caller down the full path.
fn touch_in_place_beneath(rfd: BorrowedFd<'_>, id: &str) -> Result<Option<DateTime<Utc>>> {
    let io_err = |e| touch_io_error(id, e);
    let rel = fd::cname(&format!("{id}/{METADATA_FILE}"));
    let Some((file, st)) = chase::open_metadata_beneath(rfd, &rel).map_err(io_err)? else {
        return Ok(None);
    };
    let mut buf = Vec::new();
    let Ok(Some(off)) = read_for_touch(file.as_fd(), st.st_size.max(0) as usize, &mut buf).map_err(io_err)? else {
        return Ok(None);
    };
    let now = metadata::truncate_to_micros(Utc::now());
    touch_hook(id);
    fd::pwrite_all(file.as_fd(), &metadata::timestamp_bytes(now), off as u64).map_err(io_err)?;
    Ok(chase::still_named(rfd, &rel, &st).then_some(now))
}

/// Test hook: called by every touch after the metadata is opened and
/// checked and before it is written, with the session id. Only for the
/// tests that reproduce races deterministically; not part of the API.
#[doc(hidden)]
pub fn set_touch_hook(hook: Option<fn(&str)>) {
    TOUCH_HOOK.store(hook.map_or(std::ptr::null_mut(), |f| f as *mut ()), Ordering::SeqCst);
}

static TOUCH_HOOK: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

fn touch_hook(id: &str) {
    let p = TOUCH_HOOK.load(Ordering::Relaxed);
    if !p.is_null() {
        // SAFETY: only `set_touch_hook` stores here, and only `fn(&str)` pointers.
        let f: fn(&str) = unsafe { std::mem::transmute::<*mut (), fn(&str)>(p) };
        f(id);
    }
}

/// Opens `.metadata.json` in `dir` through [`chase::open_metadata`];
/// `Ok(None)` when there is none. A symlink, a non-regular file (never
/// opened), a file with other hard links and a mounted file are corrupted.
fn open_metadata(dir: BorrowedFd<'_>, write: bool) -> std::io::Result<Option<Result<(OwnedFd, usize), MetadataError>>> {
    Ok(match chase::open_metadata(dir, write)? {
        chase::Metadata::Missing => None,
        chase::Metadata::Unusable(bad) => Some(Err(bad)),
        chase::Metadata::Open(f, size) => Some(Ok((f, size))),
    })
}

/// [`touch_session`] on an open session directory.
pub(crate) fn touch_at(dir: BorrowedFd<'_>, id: &str) -> Result<TouchOutcome> {
    let io_err = |e| touch_io_error(id, e);
    let (file, size) = match open_metadata(dir, true).map_err(io_err)? {
        None => return Ok(TouchOutcome::Legacy),
        Some(Err(bad)) => return Ok(corrupted(id, bad)),
        Some(Ok(f)) => f,
    };
    let mut buf = Vec::new();
    let in_place = match read_for_touch(file.as_fd(), size, &mut buf).map_err(io_err)? {
        Ok(in_place) => in_place,
        Err(bad) => return Ok(corrupted(id, bad)),
    };
    let now = metadata::truncate_to_micros(Utc::now());
    touch_hook(id);
    match in_place {
        Some(off) => {
            fd::pwrite_all(file.as_fd(), &metadata::timestamp_bytes(now), off as u64).map_err(io_err)?;
        }
        None => {
            drop(file);
            let text = metadata::with_updated_at(&buf, now).map_err(|e| Error::new(Status::Io, e.to_string()))?;
            write_via_temp(dir, text.as_bytes(), false, true).map_err(io_err)?;
        }
    }
    Ok(updated(id, now))
}

fn touch_io_error(id: &str, e: std::io::Error) -> Error {
    Error::io(format_args!("cannot update metadata of session {id}"), e)
}

/// Reads the metadata open as `file` (`size` bytes by `fstat`) into `buf`
/// and checks it for a touch: `Ok(Some(offset))` when its `updated_at` can
/// be overwritten in place (canonical, within one 512-byte sector),
/// `Ok(None)` when the file must be rewritten, `Err` when it is unusable.
fn read_for_touch(
    file: BorrowedFd<'_>,
    size: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<Result<Option<usize>, MetadataError>> {
    fd::read_to_end(file, buf, MAX_METADATA_BYTES, size)?;
    Ok(metadata::validate_for_touch(buf)
        .map(|offset| offset.filter(|off| off / 512 == (off + TIMESTAMP_LEN - 1) / 512)))
}

fn updated(id: &str, now: DateTime<Utc>) -> TouchOutcome {
    events::emit(Level::Debug, "session.metadata.updated", || {
        fields! {"session_id" => id, "timestamp" => metadata::format_timestamp(now), "operation" => "touch"}
    });
    TouchOutcome::Updated(now)
}

fn corrupted(id: &str, bad: MetadataError) -> TouchOutcome {
    events::emit(Level::Warning, "session.metadata.corrupted", || {
        fields! {"session_id" => id, "error" => bad.to_string(), "operation" => "touch"}
    });
    TouchOutcome::Corrupted(bad.to_string())
}

/// Reads the metadata of session `id` (the seed's `_read_session_metadata`).
/// A missing session is [`Status::NotFound`]; missing or unusable metadata is
/// reported in the [`MetadataState`], not as an error. A UUID is found under
/// any spelling.
pub fn read_metadata(root: &Path, id: &str) -> Result<MetadataState> {
    let ((_root_fd, dir, _), id) = resolve(id, |n| open_session(root, n, libc::O_PATH))?;
    read_metadata_at(dir.as_fd()).map_err(|e| Error::io(format_args!("cannot read metadata of session {id}"), e))
}

/// What [`read_metadata_document`] found: the session's name and its
/// metadata file as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataDocument {
    /// The name the session was found under (a UUID's canonical spelling or the one given).
    pub session_id: String,
    /// `Ok(object)`: the valid metadata, every field as stored (string
    /// timestamps in the writer's own format, unknown fields in their order);
    /// `Err(MetadataError)`: unusable; `None` inside: no metadata (legacy).
    pub metadata: Option<Result<serde_json::Value, MetadataError>>,
}

/// Reads the metadata of session `id` as stored, for bindings that hand it
/// on unchanged (the reference API keeps timestamps as the strings it wrote).
/// The file is validated exactly as [`read_metadata`] does; errors as there.
pub fn read_metadata_document(root: &Path, id: &str) -> Result<MetadataDocument> {
    let ((_root_fd, dir, _), id) = resolve(id, |n| open_session(root, n, libc::O_PATH))?;
    let metadata = read_metadata_with(dir.as_fd(), |buf| {
        SessionMetadata::from_json(buf)?;
        serde_json::from_slice(buf).map_err(|e| MetadataError::Corrupted(e.to_string()))
    })
    .map_err(|e| Error::io(format_args!("cannot read metadata of session {id}"), e))?;
    Ok(MetadataDocument {
        session_id: id,
        metadata,
    })
}

/// Reads `.metadata.json` from an open session directory.
pub(crate) fn read_metadata_at(dir: BorrowedFd<'_>) -> std::io::Result<MetadataState> {
    Ok(match read_metadata_with(dir, SessionMetadata::from_json)? {
        None => MetadataState::Missing,
        Some(Ok(m)) => MetadataState::Valid(m),
        Some(Err(bad)) => MetadataState::Invalid(bad),
    })
}

/// Reads `.metadata.json` from an open session directory and decodes it with
/// `decode`; `None` when there is no metadata file.
pub(crate) fn read_metadata_with<T>(
    dir: BorrowedFd<'_>,
    decode: impl FnOnce(&[u8]) -> Result<T, MetadataError>,
) -> std::io::Result<Option<Result<T, MetadataError>>> {
    let (file, size) = match open_metadata(dir, false)? {
        None => return Ok(None),
        Some(Err(bad)) => return Ok(Some(Err(bad))),
        Some(Ok(f)) => f,
    };
    let mut buf = Vec::new();
    fd::read_to_end(file.as_fd(), &mut buf, MAX_METADATA_BYTES, size)?;
    Ok(Some(decode(&buf)))
}

/// A lease on a session: a shared `flock` on the session directory, held
/// while code runs in it. A prune never deletes a leased session (it is
/// skipped as `in_use`), and other tools that honour directory locks (such as
/// systemd-tmpfiles) see it too. Any number of leases may share a session.
/// Dropping a lease releases it without touching.
#[derive(Debug)]
pub struct Lease {
    dir: OwnedFd,
    session_id: String,
    root: PathBuf,
}

/// Takes a lease on session `id`. Waits up to [`ACQUIRE_TIMEOUT`] while a
/// prune holds the session's exclusive lock, then gives [`Status::Busy`]. If
/// the prune deleted the session meanwhile, gives [`Status::NotFound`]. A
/// UUID is found under any spelling; the lease's [`Lease::session_id`] is the
/// name it was found under. A directory named like a custom id without
/// metadata is not a session: [`Status::NotFound`].
pub fn acquire(root: &Path, id: &str) -> Result<Lease> {
    let ((root_fd, dir, dir_id), id) = resolve(id, |n| open_session(root, n, fd::DIR_FLAGS))?;
    let id = id.as_str();
    if !is_session_dir(dir.as_fd(), id).map_err(|e| Error::io(format_args!("cannot read session {id}"), e))? {
        return Err(not_a_session(id));
    }
    if !fd::flock_wait(dir.as_fd(), libc::LOCK_SH, ACQUIRE_TIMEOUT)
        .map_err(|e| Error::io(format_args!("cannot lock session {id}"), e))?
    {
        return Err(Error::new(
            Status::Busy,
            format!("session {id} is locked exclusively (being pruned or deleted)"),
        ));
    }
    // A prune may have renamed it away between our open and our lock.
    if !fd::is_named(root_fd.as_fd(), &fd::cname(id), &dir_id) {
        return Err(Error::new(
            Status::NotFound,
            format!("session {id} was deleted while acquiring it"),
        ));
    }
    Ok(Lease {
        dir,
        session_id: id.to_owned(),
        root: root.to_owned(),
    })
}

impl Lease {
    /// The leased session's id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The workspace root the lease was taken in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Touches the session through the lease (no path is re-resolved).
    pub fn touch(&self) -> Result<TouchOutcome> {
        touch_at(self.dir.as_fd(), &self.session_id)
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
