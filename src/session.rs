//! Operations on one session: create, create-or-open, read its metadata.
//! Touches are in [`crate::touch`], leases in [`crate::lease`].
//!
//! A session wsprune creates or opens is *registered*: its record (created,
//! last used, and the fields to come) lives in the host-owned directory of
//! the root ([`crate::host_state`]), where no guest can write, and is the
//! truth every call decides on. `.metadata.json` in the session directory is
//! written too, as a mirror for the reference implementation and the tools
//! that read it, and never trusted for a registered session. Directories
//! without a record (made by the reference implementation or by wsprune 0.3)
//! keep 0.3's behaviour, reading `.metadata.json`, until they are registered.
//!
//! Crash safety without a rename per touch: wsprune writes metadata (a record
//! or a mirror) with a fixed-width 27-byte `updated_at` inside the file's
//! first 512-byte sector. A touch overwrites exactly those bytes with one
//! `pwrite`. A single-sector, single-page write of digits over digits cannot
//! be torn by killing the process, and whatever reaches the disk is either the
//! old or the new timestamp, so the file always parses. Files in any other
//! layout (the reference Python implementation's `+00:00` form, escaped
//! strings, a timestamp straddling a sector) are rewritten once, crash-safely,
//! through a temporary file and `rename`, after which touches are in place
//! again. Creation writes to a temporary name and renames it into place, so
//! neither file is ever seen empty or half written.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use chrono::Utc;

use crate::chase;
use crate::error::{Error, Result, Status};
use crate::events::{self, Level};
use crate::fd::{self, DirId};
use crate::fields;
use crate::host_state::HostDir;
use crate::metadata::{self, MetadataError, SessionMetadata, MAX_METADATA_BYTES, METADATA_FILE};
use crate::session_id;

pub use crate::lease::{acquire, Lease};
#[doc(hidden)]
pub use crate::touch::set_touch_hook;
pub use crate::touch::{touch_session, TouchOutcome};

/// Default mode of a new session directory (before the umask): no other
/// user, and so no other guest, can open it (a guest that can open another
/// session's directory can hold a lock on it or read it). A runtime that
/// hands the directory to the guest's uid chowns it after creating it; one
/// that needs other modes sets [`SessionOptions::dir_mode`].
pub const SESSION_DIR_MODE: libc::mode_t = 0o700;
/// Mode of a workspace root wsprune creates (before the umask): searchable,
/// not readable, by others (see [`create_session`]).
pub const ROOT_MODE: u32 = 0o711;
/// Mode of `.metadata.json`: a sandboxed guest running as another user must not read it.
pub const METADATA_MODE: libc::mode_t = 0o600;
pub use crate::lease::ACQUIRE_TIMEOUT;

/// What reading a session's metadata (its record, or an unregistered
/// directory's `.metadata.json`) found: by default the decoded
/// [`SessionMetadata`]; `T` is what another decoding gives (the document as
/// stored, for [`read_metadata_document`]; only `updated_at`, for a prune).
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataState<T = SessionMetadata> {
    /// Valid metadata.
    Valid(T),
    /// No metadata file: a legacy session.
    Missing,
    /// A metadata file that cannot be used.
    Invalid(MetadataError),
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
pub(crate) fn open_session(root: &Path, id: &str, flags: libc::c_int) -> Result<(OwnedFd, OwnedFd, DirId)> {
    let root_fd = open_root_of_session(root, id)?;
    let (dir, dir_id) =
        chase::open_session_dir(root_fd.as_fd(), &fd::cname(id), flags).map_err(|e| session_error(e, root, id))?;
    Ok((root_fd, dir, dir_id))
}

/// Checks the arguments and opens the root of session `id`; a missing root
/// is [`Status::NotFound`] (the session is not there).
pub(crate) fn open_root_of_session(root: &Path, id: &str) -> Result<OwnedFd> {
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

/// Whether the open directory `dir`, named `name` in the root, is a session
/// by what it holds (for an unregistered directory): a UUID name (legacy
/// without metadata), or a custom id holding a `.metadata.json` entry (of any
/// type: a bad one makes it a corrupted session). A registered session is a
/// session whatever its directory holds.
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
        format!("session {name} not found: the directory is not registered and has no {METADATA_FILE}, so it is not a session (wsprune open --adopt adopts it)"),
    )
}

/// Opens the host directory of the open root, if there is one.
pub(crate) fn host_dir(rfd: BorrowedFd<'_>) -> Result<Option<HostDir>> {
    HostDir::open(rfd).map_err(|e| Error::io("cannot open the host directory of the workspace root", e))
}

/// The names in the open root that may be sessions, sorted: session ids
/// naming directories or entries of unknown type, and every registered
/// session (whatever its directory holds). Whether an unregistered custom-id
/// directory is a session (it holds `.metadata.json`) is decided when it is
/// opened ([`is_session_dir`]); trash, hidden entries (the host directory
/// among them) and `site-packages` are never listed.
pub(crate) fn session_names(root_fd: BorrowedFd<'_>, host: Option<&HostDir>) -> Result<Vec<String>> {
    let mut names: Vec<String> = fd::read_dir(root_fd)
        .map_err(|e| Error::io("cannot list workspace root", e))?
        .into_iter()
        .filter(|e| matches!(e.kind, libc::DT_DIR | libc::DT_UNKNOWN))
        .filter_map(|e| e.name.into_string().ok())
        .filter(|n| session_id::is_session_id(n.as_bytes()))
        .collect();
    if let Some(host) = host {
        names.extend(
            host.registered_ids()
                .map_err(|e| Error::io("cannot list the registered sessions", e))?,
        );
    }
    names.sort_unstable();
    names.dedup();
    Ok(names)
}

/// How a session is created or opened. The default is what
/// [`create_session`] and [`create_or_open_session`] do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionOptions {
    /// Mode of a new session directory, before the umask; `None`:
    /// [`SESSION_DIR_MODE`] (0700). Only permission bits (at most 0777), and
    /// the owner must keep `rwx` (the host deletes the directory); anything
    /// else is [`Status::InvalidArgument`]. A runtime that gives the session
    /// to the guest's uid chowns the directory after creating it.
    pub dir_mode: Option<u32>,
    /// Let create-or-open adopt an existing directory that is neither a
    /// registered session nor holds valid metadata (an operator's directory
    /// named like the id, a legacy session without metadata). Without it such
    /// a directory is [`Status::NotFound`]: a prune would delete what is
    /// adopted, with whatever is in it.
    pub adopt: bool,
    /// More names that are never a session, besides `site-packages` (an
    /// operator's `pip-cache`, say): creating or opening one is
    /// [`Status::InvalidSessionId`]. On a case-insensitive directory they
    /// compare as that directory compares names.
    pub reserved: Vec<String>,
    /// The session's own idle timeout (docs/contract.md, "Per-session TTL"):
    /// a prune deletes it once idle this long, whatever its age rule says.
    /// At least 1 s. With `expires_at`, the session expires at the earlier.
    /// Given to an open of an existing session, the pair
    /// (`idle_ttl`, `expires_at`) replaces the session's TTL; neither given
    /// leaves it as it is.
    pub idle_ttl: Option<std::time::Duration>,
    /// The session's absolute expiry (see `idle_ttl`).
    pub expires_at: Option<chrono::DateTime<Utc>>,
    /// Labels the session gets (docs/contract.md, "Labels"; checked as
    /// [`crate::labels::validate`] does): a new session is created with
    /// them; an open of an existing one sets each of them, keeping its other
    /// labels ([`crate::set_session_labels`]). Empty: none, and an open
    /// leaves the labels as they are.
    pub labels: crate::labels::Labels,
}

impl SessionOptions {
    /// The TTL these options give a session.
    pub fn ttl(&self) -> crate::retention::Ttl {
        crate::retention::Ttl {
            idle: self.idle_ttl,
            expires_at: self.expires_at,
        }
    }

    fn validate(&self) -> Result<()> {
        self.ttl().validate()?;
        crate::labels::validate(&self.labels)?;
        if let Some(mode) = self.dir_mode {
            if mode & !0o777 != 0 || mode & 0o700 != 0o700 {
                return Err(Error::new(
                    Status::InvalidArgument,
                    format!("session directory mode {mode:o}: expected permission bits (at most 777) with rwx for the owner"),
                ));
            }
        }
        Ok(())
    }

    /// Whether `id` is reserved in the open root `rfd`: `site-packages` or
    /// one of [`SessionOptions::reserved`], compared ignoring case where the
    /// root is a case-insensitive (casefold) directory.
    fn check_reserved(&self, rfd: BorrowedFd<'_>, id: &str) -> Result<()> {
        let casefold = fd::is_casefold(rfd);
        let same = |a: &str, b: &str| {
            if casefold {
                a.to_lowercase() == b.to_lowercase()
            } else {
                a == b
            }
        };
        let reserved = std::iter::once(session_id::RESERVED).chain(self.reserved.iter().map(String::as_str));
        for name in reserved {
            if same(id, name) {
                return Err(Error::new(
                    Status::InvalidSessionId,
                    format!("invalid session id {id:?}: {name:?} is reserved in this workspace root, never a session"),
                ));
            }
        }
        Ok(())
    }
}

/// Creates a session directory under `root` (created if missing), registers
/// it with `created_at == updated_at == now` and writes the
/// `.metadata.json` mirror. With `id` `None` a new random UUID is used. A
/// UUID id is created under its canonical spelling (lowercase, hyphenated)
/// whatever spelling is passed; a custom id as it is. Returns the session id:
/// the directory's name. The directory's mode is [`SESSION_DIR_MODE`]
/// (see [`create_session_with`] for others).
///
/// An existing session is [`Status::AlreadyExists`]: for a UUID, one under
/// the canonical spelling or under the spelling passed. A failure to write
/// the record or the mirror fails the creation ([`Status::Io`]) and leaves
/// nothing behind. Emits `session.created` and `session.metadata.created`.
pub fn create_session(root: &Path, id: Option<&str>) -> Result<String> {
    create_session_with(root, id, &SessionOptions::default())
}

/// [`create_session`] with [`SessionOptions`] (the directory mode and
/// reserved names; `adopt` does not apply to a creation).
pub fn create_session_with(root: &Path, id: Option<&str>, opts: &SessionOptions) -> Result<String> {
    check_root(root)?;
    opts.validate()?;
    let given = match id {
        Some(id) => {
            session_id::validate(id)?;
            Some(id)
        }
        None => None,
    };
    let id = given.map_or_else(session_id::generate, session_id::new_name);
    let root_fd = open_or_create_root(root)?;
    let rfd = root_fd.as_fd();
    opts.check_reserved(rfd, &id)?;
    let host = HostDir::open_or_create(rfd).map_err(|e| {
        Error::io(
            format_args!("cannot create the host directory of {}", root.display()),
            e,
        )
    })?;
    let exists = || {
        Error::new(
            Status::AlreadyExists,
            format!("session {id} already exists in {}", root.display()),
        )
    };
    // One UUID, one session: another tool's spelling of it is that session.
    if let Some(g) = given.filter(|g| *g != id) {
        if matches!(fd::lstat_at(rfd, &fd::cname(g)), Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR) {
            return Err(exists());
        }
    }
    let cid = fd::cname(&id);
    let mode = opts.dir_mode.map_or(SESSION_DIR_MODE, |m| m as libc::mode_t);
    fd::mkdirat(rfd, &cid, mode).map_err(|e| match e.raw_os_error() {
        Some(libc::EEXIST) => exists(),
        _ => Error::io(format_args!("cannot create session directory {id}"), e),
    })?;
    // Held until the record is written: a prune that meets the directory
    // before (with its mirror, not yet its record) judges it as an
    // unregistered directory, locked through the directory itself: it finds
    // it in use instead of deleting a session being created (whose pin or
    // lease, taken once the record exists, it would not see).
    let creating = match fd::open_dir_at(rfd, &cid) {
        Ok(d) => d,
        Err(e) => {
            undo_create(rfd, &host, &cid, &id);
            return Err(Error::io(format_args!("cannot open session directory {id}"), e));
        }
    };
    let _ = fd::flock_wait(creating.as_fd(), libc::LOCK_EX, std::time::Duration::from_secs(2));
    let mut meta = SessionMetadata::new(id.clone(), Utc::now());
    opts.ttl().apply(&mut meta.retention);
    meta.retention.labels = opts.labels.clone();
    if let Err(e) = register_new(rfd, &host, &cid, &id, &meta) {
        undo_create(rfd, &host, &cid, &id);
        return Err(e);
    }
    events::emit(Level::Info, "session.created", || {
        fields! {"session_id" => id.as_str(), "workspace_path" => root.join(&id).to_string_lossy()}
    });
    metadata_written(&id, &meta, "create");
    if !opts.ttl().is_none() {
        crate::retention::ttl_event(&id, &opts.ttl());
    }
    if !opts.labels.is_empty() {
        crate::session_labels::labels_event(&id, &opts.labels);
    }
    Ok(id)
}

/// Registers the session just created as `cid` (`id`): its lock file, its
/// `.metadata.json` mirror, then its record (the record is what makes it
/// registered, so it comes last).
fn register_new(
    rfd: BorrowedFd<'_>,
    host: &HostDir,
    cid: &std::ffi::CStr,
    id: &str,
    meta: &SessionMetadata,
) -> Result<()> {
    let json = meta.to_json();
    let io = |what: &str, e| Error::io(format_args!("cannot create session {id}: cannot write its {what}"), e);
    host.open_lock(id, true).map_err(|e| io("lock file", e))?;
    let dir = fd::open_dir_at(rfd, cid).map_err(|e| io(METADATA_FILE, e))?;
    write_via_temp(dir.as_fd(), json.as_bytes(), true, false).map_err(|e| io(METADATA_FILE, e))?;
    host.write_record(id, json.as_bytes(), false)
        .map_err(|e| io("record", e))
}

/// Removes what a failed [`create_session_with`] made: the record and lock
/// file, the mirror, and the (still empty otherwise) directory. Best effort:
/// the caller reports the error that made it fail.
fn undo_create(rfd: BorrowedFd<'_>, host: &HostDir, cid: &std::ffi::CStr, id: &str) {
    let _ = host.unregister(id);
    if let Ok(dir) = fd::open_dir_at(rfd, cid) {
        let _ = fd::unlinkat(dir.as_fd(), &fd::cname(METADATA_FILE), 0);
    }
    let _ = fd::unlinkat(rfd, cid, libc::AT_REMOVEDIR);
}

/// Opens the workspace root, creating it (and its parents) when missing.
fn open_or_create_root(root: &Path) -> Result<OwnedFd> {
    // The root usually exists: open it first, and create it only when missing.
    match open_root(root) {
        Err(e) if e.status() == Status::NotFound => {
            // 0711: guests may search the root to reach their session, but not
            // open it: a guest has no business listing the other sessions.
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

/// Emits `session.metadata.created`.
fn metadata_written(id: &str, meta: &SessionMetadata, operation: &str) {
    events::emit(Level::Info, "session.metadata.created", || {
        fields! {"session_id" => id, "created_at" => metadata::format_timestamp(meta.created_at), "operation" => operation}
    });
}

/// Create-or-open (the reference runtime's create-or-retrieve): opens session
/// `id` if it exists under any name [`create_session`] and the other calls
/// would find it by, else creates it. With `id` `None` a new UUID session is
/// created. Returns the session id (the directory's name) and whether it was
/// created. See [`create_or_open_session_with`] for what is adopted.
pub fn create_or_open_session(root: &Path, id: Option<&str>) -> Result<(String, bool)> {
    create_or_open_session_with(root, id, &SessionOptions::default())
}

/// [`create_or_open_session`] with [`SessionOptions`].
///
/// An existing directory is opened if it is a registered session, or holds
/// valid `.metadata.json` (a session of the reference implementation or of
/// wsprune 0.3: it is registered now, trusting that metadata once). Any other
/// directory (without metadata, or with corrupted metadata) is
/// [`Status::NotFound`] unless `opts.adopt`, with which it is registered
/// dated now (corrupted metadata is then replaced by the mirror). Emits
/// `session.created` or `session.retrieved`, and `session.metadata.created`
/// when a session was registered. A symlink or a non-directory in the
/// session's place is never followed: creating there fails with
/// [`Status::AlreadyExists`].
pub fn create_or_open_session_with(root: &Path, id: Option<&str>, opts: &SessionOptions) -> Result<(String, bool)> {
    opts.validate()?;
    let Some(id) = id else {
        return create_session_with(root, None, opts).map(|id| (id, true));
    };
    // Two rounds: a session created or deleted by someone else between our
    // lookup and our creation is looked up once more.
    for _ in 0..2 {
        match resolve(id, |n| open_session(root, n, fd::DIR_FLAGS)) {
            Ok(((root_fd, dir, dir_id), name)) => {
                opts.check_reserved(root_fd.as_fd(), &name)?;
                if let Some(name) = adopt(root, root_fd.as_fd(), dir.as_fd(), &dir_id, name, opts.adopt)? {
                    apply_open_options(root, &name, opts)?;
                    return Ok((name, false));
                }
            }
            Err(e) if e.status() != Status::NotFound => return Err(e),
            Err(_) => {}
        }
        match create_session_with(root, Some(id), opts) {
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
/// the open root `rfd`: a registered session as it is; an unregistered one
/// with valid metadata is registered with it; any other directory only if
/// `adopt` (registered dated now); without `adopt` such a directory is
/// [`Status::NotFound`], saying so. Emits `session.retrieved`. `None` if a
/// deletion moved the directory away meanwhile (the caller looks again).
fn adopt(
    root: &Path,
    rfd: BorrowedFd<'_>,
    dir: BorrowedFd<'_>,
    dir_id: &DirId,
    name: String,
    adopt: bool,
) -> Result<Option<String>> {
    let host = HostDir::open_or_create(rfd).map_err(|e| {
        Error::io(
            format_args!("cannot create the host directory of {}", root.display()),
            e,
        )
    })?;
    let registered = host
        .is_registered(&name)
        .map_err(|e| Error::io(format_args!("cannot read the record of session {name}"), e))?;
    if !registered {
        // Registering an existing directory is a short lease on it, as
        // wsprune 0.3 and a prune lock an unregistered directory (a shared
        // flock on it): a prune deleting it (exclusive) is waited for as a
        // lease waits, and no prune can start deleting it, judged by its
        // `.metadata.json`, until the record exists and is what a prune reads
        // (with the pin or lease a caller may take as soon as open returns).
        // A deletion renames the directory as soon as it holds it, so a lock
        // still held after a lease's wait is someone else's (a guest's own
        // flock, a 0.3 tool): then register anyway, as 0.3 did, or a guest
        // could keep its session unregistered, and never pruned, by locking it.
        let locked = fd::flock_wait(dir, libc::LOCK_SH, crate::lease::ACQUIRE_TIMEOUT)
            .map_err(|e| Error::io(format_args!("cannot lock session {name}"), e))?;
        // Moved to trash while we waited: gone (the caller looks again).
        let registered = if fd::is_named(rfd, &fd::cname(&name), dir_id) {
            register_unregistered(root, &host, dir, &name, adopt).map(Some)
        } else {
            Ok(None)
        };
        if locked {
            let _ = fd::unlock(dir);
        }
        if registered?.is_none() {
            return Ok(None);
        }
    }
    if !fd::is_named(rfd, &fd::cname(&name), dir_id) {
        return Ok(None);
    }
    events::emit(Level::Info, "session.retrieved", || {
        fields! {"session_id" => name.as_str(), "workspace_path" => root.join(&name).to_string_lossy()}
    });
    Ok(Some(name))
}

/// Gives the existing session `name` the TTL and labels an open was asked
/// for, in one change of its record: checked as a whole first, so a refused
/// change (too many labels) writes nothing, not even the TTL.
fn apply_open_options(root: &Path, name: &str, opts: &SessionOptions) -> Result<()> {
    let ttl = opts.ttl();
    if ttl.is_none() && opts.labels.is_empty() {
        return Ok(());
    }
    let set: Vec<_> = opts
        .labels
        .iter()
        .map(|(k, v)| crate::labels::LabelChange::Set(k.clone(), v.clone()))
        .collect();
    let (name, labels) = crate::retention::change_record(root, name, "open", |m| {
        let labels = match set.is_empty() {
            true => None,
            false => Some(crate::labels::apply(m.labels(), &set)?),
        };
        if let Some(l) = &labels {
            m.retention.labels = l.clone();
        }
        if !ttl.is_none() {
            ttl.apply(&mut m.retention);
        }
        Ok(labels)
    })?;
    if !ttl.is_none() {
        crate::retention::ttl_event(&name, &ttl);
    }
    if let Some(l) = labels {
        crate::session_labels::labels_event(&name, &l);
    }
    Ok(())
}

/// [`adopt`] of a directory without a record: registers it with its valid
/// metadata, or (with `adopt`) dated now; otherwise [`Status::NotFound`].
fn register_unregistered(root: &Path, host: &HostDir, dir: BorrowedFd<'_>, name: &str, adopt: bool) -> Result<()> {
    // Registered while we waited for the directory (a create finishing, an
    // open or migrate): its record, and any pin, TTL or labels since, stands.
    let registered = host
        .is_registered(name)
        .map_err(|e| Error::io(format_args!("cannot read the record of session {name}"), e))?;
    if registered {
        return Ok(());
    }
    let found =
        read_metadata_at(dir).map_err(|e| Error::io(format_args!("cannot read metadata of session {name}"), e))?;
    let meta = match found {
        // Trusted once (its times; a pin or a TTL only the host sets):
        // from now on the record is the truth.
        MetadataState::Valid(m) => m.registered_from_guest(name, Utc::now()),
        _ if adopt => SessionMetadata::new(name.to_owned(), Utc::now()),
        MetadataState::Missing => {
            return Err(Error::new(
                Status::NotFound,
                format!("session {name} not found: {name} in {} is a directory without {METADATA_FILE}, not a session (open it with --adopt to make it one)", root.display()),
            ))
        }
        MetadataState::Invalid(bad) => {
            return Err(Error::new(
                Status::NotFound,
                format!("session {name} not found: {name} in {} has unusable {METADATA_FILE} ({bad}), so it is not a session (open it with --adopt to make it one, or run wsprune repair)", root.display()),
            ))
        }
    };
    // Not registered now: someone else did meanwhile, and theirs stands.
    register_existing(host, dir, name, &meta, "open").map(|_| ())
}

/// Registers the existing directory `dir` as session `name` with `meta`:
/// its lock file, its mirror (only where it has no valid metadata), its record.
pub(crate) fn register_existing(
    host: &HostDir,
    dir: BorrowedFd<'_>,
    name: &str,
    meta: &SessionMetadata,
    operation: &str,
) -> Result<bool> {
    let io = |what: &str, e| {
        Error::io(
            format_args!("cannot register session {name}: cannot write its {what}"),
            e,
        )
    };
    let json = meta.to_json();
    host.open_lock(name, true).map_err(|e| io("lock file", e))?;
    if !matches!(read_metadata_at(dir), Ok(MetadataState::Valid(_))) {
        write_via_temp(dir, json.as_bytes(), false, false).map_err(|e| io(METADATA_FILE, e))?;
    }
    if !host
        .write_first_record(name, json.as_bytes())
        .map_err(|e| io("record", e))?
    {
        return Ok(false);
    }
    metadata_written(name, meta, operation);
    Ok(true)
}

/// Writes `data` to a fresh temporary file in `dir` (mode 0600) and renames it
/// to `.metadata.json`: readers see the old file or the complete new one.
pub(crate) fn write_via_temp(dir: BorrowedFd<'_>, data: &[u8], noreplace: bool, sync: bool) -> std::io::Result<()> {
    let how = fd::AtomicWrite {
        tmp_prefix: ".metadata.json.",
        mode: METADATA_MODE,
        sync,
        noreplace,
    };
    fd::write_atomically(dir, METADATA_FILE, data, how, |_| Ok(()))
}

/// Reads the metadata of session `id` (the seed's `_read_session_metadata`).
/// A missing session is [`Status::NotFound`]; missing or unusable metadata is
/// reported in the [`MetadataState`], not as an error. A UUID is found under
/// any spelling.
///
/// For a registered session this is its record (the host's truth), whatever
/// its `.metadata.json` holds.
pub fn read_metadata(root: &Path, id: &str) -> Result<MetadataState> {
    let ((root_fd, dir, _), id) = resolve(id, |n| open_session(root, n, libc::O_PATH))?;
    read_state(root_fd.as_fd(), dir.as_fd(), &id, SessionMetadata::from_json)
}

/// What is known about session `id` (its directory `dir` in the open root
/// `rfd`), decoded with `decode`: its record if it is registered (the host's
/// truth), else its `.metadata.json`.
fn read_state<T>(
    rfd: BorrowedFd<'_>,
    dir: BorrowedFd<'_>,
    id: &str,
    decode: impl Fn(&[u8]) -> Result<T, MetadataError>,
) -> Result<MetadataState<T>> {
    if let Some(host) = host_dir(rfd)? {
        let record = host
            .read_record(id)
            .map_err(|e| Error::io(format_args!("cannot read the record of session {id}"), e))?;
        if let Some(bytes) = record {
            return Ok(MetadataState::decoded(decode(&bytes)));
        }
    }
    read_metadata_with(dir, decode).map_err(|e| Error::io(format_args!("cannot read metadata of session {id}"), e))
}

impl<T> MetadataState<T> {
    /// A metadata file that was there, as decoded.
    pub(crate) fn decoded(decoded: Result<T, MetadataError>) -> Self {
        match decoded {
            Ok(t) => MetadataState::Valid(t),
            Err(bad) => MetadataState::Invalid(bad),
        }
    }
}

/// What [`read_metadata_document`] found: the session's name and its
/// metadata file as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataDocument {
    /// The name the session was found under (a UUID's canonical spelling or the one given).
    pub session_id: String,
    /// `Valid(object)`: the valid metadata, every field as stored (string
    /// timestamps in the writer's own format, unknown fields in their order);
    /// `Invalid`: unusable; `Missing`: no metadata (legacy).
    pub metadata: MetadataState<serde_json::Value>,
}

/// Reads the metadata of session `id` as stored, for bindings that hand it
/// on unchanged (the reference API keeps timestamps as the strings it wrote).
/// The file is validated exactly as [`read_metadata`] does; errors as there.
pub fn read_metadata_document(root: &Path, id: &str) -> Result<MetadataDocument> {
    let ((root_fd, dir, _), id) = resolve(id, |n| open_session(root, n, libc::O_PATH))?;
    let decode = |buf: &[u8]| {
        SessionMetadata::from_json(buf)?;
        serde_json::from_slice(buf).map_err(|e| MetadataError::Corrupted(e.to_string()))
    };
    let metadata = read_state(root_fd.as_fd(), dir.as_fd(), &id, decode)?;
    Ok(MetadataDocument {
        session_id: id,
        metadata,
    })
}

/// Reads `.metadata.json` from an open session directory.
pub(crate) fn read_metadata_at(dir: BorrowedFd<'_>) -> std::io::Result<MetadataState> {
    read_metadata_with(dir, SessionMetadata::from_json)
}

/// Reads `.metadata.json` from an open session directory (through
/// [`chase::open_metadata`]: a symlink, a non-regular file, a file with other
/// hard links and a mounted file are unusable, never read) and decodes it
/// with `decode`.
pub(crate) fn read_metadata_with<T>(
    dir: BorrowedFd<'_>,
    decode: impl FnOnce(&[u8]) -> Result<T, MetadataError>,
) -> std::io::Result<MetadataState<T>> {
    let (file, size) = match chase::open_metadata(dir, false)? {
        chase::Metadata::Missing => return Ok(MetadataState::Missing),
        chase::Metadata::Unusable(bad) => return Ok(MetadataState::Invalid(bad)),
        chase::Metadata::Open(f, size) => (f, size),
    };
    let mut buf = Vec::new();
    fd::read_to_end(file.as_fd(), &mut buf, MAX_METADATA_BYTES, size)?;
    Ok(MetadataState::decoded(decode(&buf)))
}
