//! Touch: a session was just used. For a registered session the host's
//! record is updated (one `pwrite` of the fixed-width `updated_at`, see
//! [`crate::session`]), and the `.metadata.json` mirror at most once a minute;
//! for an unregistered directory its `.metadata.json`, as wsprune 0.3 did.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicPtr, Ordering};

use chrono::{DateTime, Utc};

use crate::chase;
use crate::error::{Error, Result, Status};
use crate::events::{self, Level};
use crate::fd;
use crate::fields;
use crate::host_state::{self, RecordFile};
use crate::metadata::{self, MetadataError, MAX_METADATA_BYTES, METADATA_FILE, TIMESTAMP_LEN};
use crate::session::{open_root_of_session, resolve, session_error, write_via_temp};

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

/// Sets `updated_at` of session `id` to now, preserving every other field
/// (unknown ones included): in its record for a registered session (the
/// `.metadata.json` mirror follows at most a minute behind, see
/// [`MIRROR_EVERY`]), else in its `.metadata.json`. A legacy session without metadata is
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
    let io_err = |e| touch_io_error(id, e);
    // A record replaced while we patched it (a pin, a TTL set meanwhile) is
    // patched again: it is rare, and the third time cannot be a race lost.
    for _ in 0..REPLACED_RETRIES {
        // A registered session: its record, reached in one openat2 beneath the root.
        let (file, buf) = match host_state::open_record_beneath(rfd, id).map_err(io_err)? {
            Some(found) => found,
            None => match crate::session::host_dir(rfd)? {
                // No openat2 here: the same through the host directory.
                Some(host) => match host.open_record_rw(id).map_err(io_err)? {
                    RecordFile::Open(file, buf) => (file, buf),
                    RecordFile::Missing => return touch_unregistered(rfd, root, id),
                },
                None => return touch_unregistered(rfd, root, id),
            },
        };
        let records = || -> std::io::Result<OwnedFd> {
            let host = host_state::HostDir::open(rfd)?.ok_or_else(|| std::io::Error::other("no host directory"))?;
            host.records_dup()
        };
        let touched = touch_record(
            file,
            buf,
            id,
            |now| records().and_then(|r| rewrite_record(r.as_fd(), id, now)),
            |now| mirror(rfd, id, now),
        )?;
        if let Some(outcome) = touched {
            return Ok(outcome);
        }
        // The record is gone or was replaced: a deletion's rename of the
        // directory tells the two apart.
        if !registered_dir_exists(rfd, id) {
            return Err(deleted_while_touching(id));
        }
    }
    Err(deleted_while_touching(id))
}

/// How many times a touch patches a record that was replaced under it.
const REPLACED_RETRIES: usize = 3;

/// Whether session `id`'s directory and record are both still there.
fn registered_dir_exists(rfd: BorrowedFd<'_>, id: &str) -> bool {
    let dir = fd::lstat_at(rfd, &fd::cname(id)).is_ok();
    dir && matches!(host_state::HostDir::open(rfd), Ok(Some(h)) if matches!(h.is_registered(id), Ok(true)))
}

fn deleted_while_touching(id: &str) -> Error {
    Error::new(Status::NotFound, format!("session {id} was deleted while touching it"))
}

/// How often, at most, a touch also refreshes the `.metadata.json` mirror
/// of a registered session: the first touch in each minute of the clock
/// writes it, later ones in the same minute do not. The mirror is thus never
/// more than a minute behind the record (far less than any age rule's floor,
/// so the reference implementation reading it never sees a used session as
/// idle), and frequent touches cost one write, not two.
pub const MIRROR_EVERY: &str = "the first touch in each clock minute";

/// Touches the open record `file` (its bytes `buf`) of session `id`:
/// `updated_at` overwritten in place (or, when the record is not in
/// canonical layout, `rewrite(now)` rewrites it), then `mirror(now)` when
/// the minute changed. `Ok(None)`: the record was unlinked meanwhile (the
/// session was deleted, or its record replaced by an update): the caller
/// looks again.
fn touch_record(
    file: OwnedFd,
    buf: Vec<u8>,
    id: &str,
    rewrite: impl FnOnce(DateTime<Utc>) -> std::io::Result<bool>,
    mirror: impl FnOnce(DateTime<Utc>),
) -> Result<Option<TouchOutcome>> {
    let io_err = |e| touch_io_error(id, e);
    let off = match metadata::validate_for_touch(&buf) {
        Ok(off) => off.filter(|off| off / 512 == (off + TIMESTAMP_LEN - 1) / 512),
        Err(bad) => return Ok(Some(corrupted(id, bad))),
    };
    let now = metadata::truncate_to_micros(Utc::now());
    let stamp = metadata::timestamp_bytes(now);
    touch_hook(id);
    let due = match off {
        Some(off) => {
            fd::pwrite_all(file.as_fd(), &stamp, off as u64).map_err(io_err)?;
            buf[off..off + MINUTE] != stamp[..MINUTE]
        }
        None => {
            // The rewrite reads the record again under the update lock, so
            // that a pin or a TTL set since `buf` was read is kept.
            if !rewrite(now).map_err(io_err)? {
                return Ok(None);
            }
            if due_mirror(&buf, &stamp) {
                mirror(now);
            }
            return Ok(Some(updated(id, now)));
        }
    };
    if host_state::is_unlinked(file.as_fd()).map_err(io_err)? {
        return Ok(None);
    }
    if due {
        mirror(now);
    }
    Ok(Some(updated(id, now)))
}

/// The length of "YYYY-MM-DDTHH:MM": a touch that changes these bytes of
/// `updated_at` is the first in its minute.
const MINUTE: usize = 16;

/// Whether a record not in canonical layout (`buf`) was last touched in
/// another minute than `stamp`'s (unparsable: assume so).
fn due_mirror(buf: &[u8], stamp: &[u8]) -> bool {
    metadata::parse_updated_at(buf)
        .map(|t| metadata::timestamp_bytes(t)[..MINUTE] != stamp[..MINUTE])
        .unwrap_or(true)
}

/// Rewrites the record of session `id` in the records directory `records`
/// (one not in canonical layout, such as one whose long escaped id pushes
/// `updated_at` across a sector boundary) with `updated_at = now`, every
/// other field kept. `Ok(false)`: the record is gone (the session deleted).
fn rewrite_record(records: BorrowedFd<'_>, id: &str, now: DateTime<Utc>) -> std::io::Result<bool> {
    host_state::update_record_at(records, id, |bytes| {
        metadata::with_updated_at(bytes, now)
            .map(String::into_bytes)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}

/// Refreshes the `.metadata.json` mirror of registered session `id` with
/// `updated_at = now`: in place when it is wsprune's canonical file, else
/// rewritten from the record. A guest may have deleted, replaced or locked
/// its mirror; whatever stops the refresh is reported as the warning event
/// `session.mirror.write_failed`, never as the touch's failure (the record,
/// the truth, was written).
fn mirror(rfd: BorrowedFd<'_>, id: &str, now: DateTime<Utc>) {
    report_mirror(id, refresh_mirror(rfd, id, now));
}

/// Reports a failed mirror refresh of session `id` as the warning event
/// `session.mirror.write_failed` (see [`mirror`]).
fn report_mirror(id: &str, refreshed: std::io::Result<()>) {
    if let Err(e) = refreshed {
        events::emit(Level::Warning, "session.mirror.write_failed", || {
            fields! {"session_id" => id, "error" => e.to_string(), "operation" => "touch"}
        });
    }
}

fn refresh_mirror(rfd: BorrowedFd<'_>, id: &str, now: DateTime<Utc>) -> std::io::Result<()> {
    let rel = fd::cname(&format!("{id}/{METADATA_FILE}"));
    if let Some((file, st)) = chase::open_metadata_beneath(rfd, &rel)? {
        let mut buf = Vec::new();
        if let ForTouch::InPlace(off) = read_for_touch(file.as_fd(), st.st_size.max(0) as usize, &mut buf)? {
            return fd::pwrite_all(file.as_fd(), &metadata::timestamp_bytes(now), off as u64);
        }
    }
    // Missing, replaced or not canonical: write it anew from the record.
    let (dir, _) = chase::open_session_dir(rfd, &fd::cname(id), fd::DIR_FLAGS).map_err(|e| match e {
        chase::ChaseError::Io(e) => e,
        _ => std::io::Error::other("the session directory is not a directory on the root's mount"),
    })?;
    mirror_from_record(rfd, dir.as_fd(), id)
}

/// Writes the `.metadata.json` mirror in the open session directory `dir`
/// from session `id`'s record, replacing whatever is there.
pub(crate) fn mirror_from_record(rfd: BorrowedFd<'_>, dir: BorrowedFd<'_>, id: &str) -> std::io::Result<()> {
    let host = host_state::HostDir::open(rfd)?.ok_or_else(|| std::io::Error::other("no host directory"))?;
    let record = host
        .read_record(id)?
        .ok_or_else(|| std::io::Error::other("not registered"))?;
    write_via_temp(dir, &record, false, false)
}

/// [`touch_session`] of a directory without a record: its `.metadata.json`, as 0.3 did.
fn touch_unregistered(rfd: BorrowedFd<'_>, root: &Path, id: &str) -> Result<TouchOutcome> {
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

/// Touches the registered session `id` through a lease: its record through
/// the records directory `records`, its mirror through the open session
/// directory `dir` (no path is re-resolved).
pub(crate) fn touch_leased(records: BorrowedFd<'_>, dir: BorrowedFd<'_>, id: &str) -> Result<TouchOutcome> {
    let io_err = |e| touch_io_error(id, e);
    for _ in 0..REPLACED_RETRIES {
        let RecordFile::Open(file, buf) = host_state::open_record_rw_at(records, &fd::cname(id)).map_err(io_err)?
        else {
            break;
        };
        let touched = touch_record(
            file,
            buf,
            id,
            |now| rewrite_record(records, id, now),
            |now| report_mirror(id, touch_mirror_at(dir, now)),
        )?;
        if let Some(outcome) = touched {
            return Ok(outcome);
        }
    }
    Err(Error::new(
        Status::NotFound,
        format!("session {id} was deleted while it was leased"),
    ))
}

/// The mirror in the open session directory `dir` set to `now` in place, or
/// rewritten with `updated_at = now` when it is not canonical.
fn touch_mirror_at(dir: BorrowedFd<'_>, now: DateTime<Utc>) -> std::io::Result<()> {
    let chase::Metadata::Open(file, size) = chase::open_metadata(dir, true)? else {
        return Err(std::io::Error::other("the mirror is missing or unusable"));
    };
    let mut buf = Vec::new();
    match read_for_touch(file.as_fd(), size, &mut buf)? {
        ForTouch::InPlace(off) => fd::pwrite_all(file.as_fd(), &metadata::timestamp_bytes(now), off as u64),
        ForTouch::Rewrite => {
            drop(file);
            let text = metadata::with_updated_at(&buf, now).map_err(|e| std::io::Error::other(e.to_string()))?;
            write_via_temp(dir, text.as_bytes(), false, false)
        }
        ForTouch::Unusable(bad) => Err(std::io::Error::other(bad.to_string())),
    }
}

/// The common touch of an unregistered directory in the fewest system calls:
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
    let ForTouch::InPlace(off) = read_for_touch(file.as_fd(), st.st_size.max(0) as usize, &mut buf).map_err(io_err)?
    else {
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

/// [`touch_session`] on an open session directory.
pub(crate) fn touch_at(dir: BorrowedFd<'_>, id: &str) -> Result<TouchOutcome> {
    let io_err = |e| touch_io_error(id, e);
    let (file, size) = match chase::open_metadata(dir, true).map_err(io_err)? {
        chase::Metadata::Missing => return Ok(TouchOutcome::Legacy),
        chase::Metadata::Unusable(bad) => return Ok(corrupted(id, bad)),
        chase::Metadata::Open(f, size) => (f, size),
    };
    let mut buf = Vec::new();
    let in_place = match read_for_touch(file.as_fd(), size, &mut buf).map_err(io_err)? {
        ForTouch::InPlace(off) => Some(off),
        ForTouch::Rewrite => None,
        ForTouch::Unusable(bad) => return Ok(corrupted(id, bad)),
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

/// How a touch can write the metadata it read (see [`read_for_touch`]).
enum ForTouch {
    /// Canonical, its `updated_at` at this offset within one 512-byte
    /// sector: overwritten in place.
    InPlace(usize),
    /// Valid but not canonical: rewritten whole.
    Rewrite,
    /// Unusable: left as it is.
    Unusable(MetadataError),
}

/// Reads the metadata open as `file` (`size` bytes by `fstat`) into `buf`
/// and tells how a touch can write it.
fn read_for_touch(file: BorrowedFd<'_>, size: usize, buf: &mut Vec<u8>) -> std::io::Result<ForTouch> {
    fd::read_to_end(file, buf, MAX_METADATA_BYTES, size)?;
    Ok(match metadata::validate_for_touch(buf) {
        // Within one sector, so that a crash cannot leave half a timestamp (docs/host-state.md).
        Ok(Some(off)) if off / 512 == (off + TIMESTAMP_LEN - 1) / 512 => ForTouch::InPlace(off),
        Ok(_) => ForTouch::Rewrite,
        Err(bad) => ForTouch::Unusable(bad),
    })
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
