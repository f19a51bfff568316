//! Finding what the root holds: its session-like entries, the registered
//! sessions, leftover trash, and (for the capacity rules) what each session
//! is and weighs, through [`entry::examine`], the one decision of what an
//! entry is.

use std::os::fd::{AsFd, BorrowedFd};

use chrono::{DateTime, Utc};

use super::record::{fail, skip, skip_reason};
use super::select::Capacity;
use super::trash::is_trash_name;
use super::Pruner;
use crate::entry::{self, Examined, Known, Lock, Session};
use crate::error::{Error, Result};
use crate::events::{self, Level};
use crate::fd;
use crate::fields;
use crate::fs_usage::FsUsage;
use crate::host_state::HostDir;
use crate::labels::{self, Labels, Selector};
use crate::metadata::{Retention, SessionMetadata};
use crate::parallel;
use crate::remove::{self, Mode};
use crate::result::SkipReason;
use crate::session_id;

/// The root's entries that a prune handles, each list sorted by name.
pub(super) struct Listing {
    /// Trash left by interrupted deletions.
    pub(super) trash: Vec<String>,
    /// Directories (or unknown types) named like a session id.
    pub(super) sessions: Vec<String>,
}

/// Lists the root once, keeping the trash names and the session-like names;
/// anything else (hidden files, names that are no session id, files) is
/// never looked at again.
pub(super) fn list_root(rfd: BorrowedFd<'_>) -> Result<Listing> {
    let mut entries = fd::read_dir(rfd).map_err(|e| Error::io("cannot list workspace root", e))?;
    entries.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let mut listing = Listing {
        trash: Vec::new(),
        sessions: Vec::new(),
    };
    for entry in entries {
        let Ok(name) = entry.name.into_string() else { continue };
        if is_trash_name(&name) {
            listing.trash.push(name);
        } else if session_id::is_session_id(name.as_bytes()) && matches!(entry.kind, libc::DT_DIR | libc::DT_UNKNOWN) {
            listing.sessions.push(name);
        }
    }
    Ok(listing)
}

/// A session the scan found with valid metadata.
pub(super) struct Scanned {
    pub(super) id: String,
    pub(super) updated_at: DateTime<Utc>,
    /// Its pin and TTL (none for an unregistered directory: see [`retention_of`]).
    pub(super) retention: Retention,
    /// Its size, measured only when a size rule needs it.
    pub(super) size: u64,
    /// The inodes deleting it frees, measured with its size.
    pub(super) inodes: u64,
    /// Its labels (see [`labels::of_session`]; `None`: not all valid).
    pub(super) labels: Option<Labels>,
}

/// The retention fields a prune decides by: a registered session's, from
/// its record; none for an unregistered directory, whose `.metadata.json` a
/// guest could have pinned itself in.
pub(super) fn retention_of(session: &Session, m: &SessionMetadata) -> Retention {
    if session.registered() {
        m.retention.clone()
    } else {
        Retention::default()
    }
}

/// What the scan found about one session directory.
enum Scan {
    Valid(Scanned),
    /// Left in place with a reason; its size still counts towards the workspace.
    Skip(SkipReason, u64),
    Fail(String),
    /// Not a session (any more): vanished, a symlink, being deleted by someone else.
    Gone,
    /// A session the prune's selector leaves out: neither a candidate nor counted.
    NotSelected,
}

impl Pruner<'_> {
    /// Adds the registered sessions to `names` (the root's session-like
    /// entries, sorted), so that a registered session is handled whatever
    /// its directory holds. A record whose directory is gone (a deletion
    /// interrupted between its rename and its unregistering, or a directory
    /// removed by hand) is removed, under the session's lock.
    pub(super) fn add_registered(&mut self, names: &mut Vec<String>) -> Result<()> {
        let Some(host) = self.host else { return Ok(()) };
        let ids = host
            .registered_ids()
            .map_err(|e| Error::io("cannot list the registered sessions", e))?;
        let mut added = false;
        for id in ids {
            if names.binary_search(&id).is_ok() {
                continue;
            }
            match fd::lstat_at(self.rfd, &fd::cname(&id)) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    if !self.opts.dry_run {
                        remove_orphan_record(host, self.rfd, &id);
                    }
                }
                _ => {
                    names.push(id);
                    added = true;
                }
            }
        }
        if added {
            names.sort_unstable();
        }
        Ok(())
    }

    /// Scans every session in `names` (`jobs` at a time), recording those
    /// left in place (skipped, failed) as it goes. Returns the sessions with
    /// valid metadata, in no particular order, and the workspace's capacity
    /// as the capacity rules see it: every session counts, and its size too
    /// if `need_size` (a capacity rule acts); the free space and inodes if
    /// `fs_rules` (a free-space rule or a watermark reads them), read after
    /// the scan.
    pub(super) fn scan_all(
        &mut self,
        names: &[String],
        need_size: bool,
        fs_rules: bool,
    ) -> Result<(Vec<Scanned>, Capacity)> {
        let (rfd, host) = (self.rfd, self.host);
        let selector = self.opts.selector.as_ref();
        let mut valid = Vec::with_capacity(names.len());
        let mut cap = Capacity::default();
        parallel::run(
            names,
            self.jobs,
            |id| scan(rfd, host, id, need_size, selector),
            |i, scan| {
                let id = &names[i];
                match scan {
                    Scan::Valid(s) => {
                        cap.total += s.size;
                        cap.count += 1;
                        valid.push(s);
                    }
                    Scan::Skip(reason, size) => {
                        cap.total += size;
                        cap.count += 1;
                        skip(self.result, id, reason);
                    }
                    Scan::Fail(msg) => {
                        cap.count += 1;
                        fail(self.result, id, msg);
                    }
                    Scan::Gone | Scan::NotSelected => {}
                }
            },
        );
        if fs_rules {
            let now = FsUsage::of_fd(rfd)?;
            (cap.free, cap.free_inodes) = (now.available_bytes, now.available_inodes);
        }
        Ok((valid, cap))
    }
}

/// Removes the record of registered session `id` whose directory is gone,
/// if its lock is free and its directory is still missing once it is held.
fn remove_orphan_record(host: &HostDir, rfd: BorrowedFd<'_>, id: &str) {
    let Ok(Some(lock)) = host.open_lock(id, true) else {
        return;
    };
    if !matches!(fd::try_flock(lock.as_fd(), libc::LOCK_EX), Ok(true)) || !host.lock_is_current(id, lock.as_fd()) {
        return;
    }
    if matches!(fd::lstat_at(rfd, &fd::cname(id)), Err(e) if e.raw_os_error() == Some(libc::ENOENT)) {
        match host.unregister(id) {
            Ok(()) => events::emit(Level::Info, "session.record.removed", || {
                fields! {"session_id" => id, "reason" => "directory_missing"}
            }),
            Err(e) => events::emit(Level::Warning, "session.record.remove_failed", || {
                fields! {"session_id" => id, "error" => e.to_string()}
            }),
        }
    }
}

/// What `examine` found about one session, as a [`Scan`] (its size measured
/// if `need_size`, also for sessions left in place: they take room too).
/// With a `selector`, a session it does not match is [`Scan::NotSelected`];
/// one whose labels cannot be read (corrupted) matches none.
fn scan(rfd: BorrowedFd<'_>, host: Option<&HostDir>, id: &str, need_size: bool, selector: Option<&Selector>) -> Scan {
    let (session, known) = match entry::examine(rfd, host, id, Lock::None, SessionMetadata::from_json) {
        Examined::Session(s, k) => (s, k),
        Examined::NotASession => return Scan::Gone,
        Examined::Failed(msg) => return Scan::Fail(msg),
    };
    let labels = match &known {
        Known::Valid(m) => labels::of_session(session.registered(), m),
        // Unregistered without metadata: a legacy directory, which has no labels.
        Known::Missing => Some(Labels::new()),
        Known::Invalid(_) => None,
    };
    if let Some(sel) = selector {
        if !labels.as_ref().is_some_and(|l| sel.matches(l)) {
            return Scan::NotSelected;
        }
    }
    let measure = || {
        if need_size {
            let o = remove::walk(session.dir.as_fd(), session.dir_id, Mode::Measure);
            (o.bytes, o.inodes)
        } else {
            (0, 0)
        }
    };
    match known {
        Known::Valid(m) => {
            let (size, inodes) = measure();
            Scan::Valid(Scanned {
                id: id.to_owned(),
                updated_at: m.updated_at,
                retention: retention_of(&session, &m),
                size,
                inodes,
                labels,
            })
        }
        Known::Missing => Scan::Skip(SkipReason::MissingMetadata, measure().0),
        Known::Invalid(bad) => Scan::Skip(skip_reason(&bad), measure().0),
    }
}
