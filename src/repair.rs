//! Repair: an explicit, opt-in operation that gives legacy sessions (no
//! metadata) and sessions with corrupted metadata a valid `.metadata.json`,
//! dated by the newest modification time found in the session, so that age
//! rules can apply to them. Never run implicitly: a prune only reports such
//! sessions.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};

use crate::entry::{self, Examined, Known, Lock};
use crate::error::{Error, Result, Status};
use crate::events::{self, Level};
use crate::fd;
use crate::fields;
use crate::host_state::HostDir;
use crate::inspect::SessionState;
use crate::metadata::{self, SessionMetadata};
use crate::remove::{self, Mode};
use crate::session;

/// One repaired session (or, in a dry run, one that would be).
#[derive(Debug, Clone, PartialEq)]
pub struct Repaired {
    /// The session id.
    pub session_id: String,
    /// What the metadata was: [`SessionState::Legacy`] or [`SessionState::Corrupted`].
    pub previous: SessionState,
    /// The `created_at` and `updated_at` written: the newest mtime in the session.
    pub updated_at: DateTime<Utc>,
}

/// The outcome of [`repair_sessions`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepairResult {
    /// Sessions given metadata, sorted by id.
    pub repaired: Vec<Repaired>,
    /// Sessions that needed repair but could not be repaired (leased, a mount
    /// point, I/O error), with messages.
    pub errors: Vec<(String, String)>,
    /// Whether nothing was written.
    pub dry_run: bool,
}

impl RepairResult {
    /// The result as JSON: `repaired` (a list of objects with `session_id`,
    /// `previous_state` and `updated_at`), `errors` (id to message), `dry_run`.
    pub fn to_json(&self) -> serde_json::Value {
        let repaired: Vec<_> = self
            .repaired
            .iter()
            .map(|r| {
                serde_json::json!({
                    "session_id": r.session_id,
                    "previous_state": r.previous.as_str(),
                    "updated_at": metadata::format_timestamp(r.updated_at),
                })
            })
            .collect();
        let errors: serde_json::Map<String, serde_json::Value> = self
            .errors
            .iter()
            .map(|(id, m)| (id.clone(), m.as_str().into()))
            .collect();
        serde_json::json!({"repaired": repaired, "errors": errors, "dry_run": self.dry_run})
    }
}

/// Writes metadata for every session under `root` whose metadata is missing
/// or corrupted (a corrupted file is replaced), with `created_at` and
/// `updated_at` set to the newest modification time of any file in the
/// session (the directory's own if it holds none). A leased session, and a
/// session directory that is a mount point, are left alone and reported as
/// errors. Each repair emits `session.metadata.repaired`.
/// A missing root is [`crate::Status::NotFound`].
pub fn repair_sessions(root: &Path, dry_run: bool) -> Result<RepairResult> {
    session::check_root(root)?;
    let root_fd = session::open_root(root)?;
    let rfd = root_fd.as_fd();
    let host = session::host_dir(rfd)?;
    let names = session::session_names(rfd, host.as_ref())?;
    let mut result = RepairResult {
        dry_run,
        ..Default::default()
    };
    for id in names {
        match repair_one(rfd, host.as_ref(), &id, dry_run) {
            Ok(Some(r)) => {
                events::emit(Level::Info, "session.metadata.repaired", || {
                    fields! {
                        "session_id" => id.as_str(),
                        "previous_state" => r.previous.as_str(),
                        "updated_at" => metadata::format_timestamp(r.updated_at),
                        "dry_run" => dry_run,
                        "operation" => "repair",
                    }
                });
                result.repaired.push(r);
            }
            Ok(None) => {}
            Err(e) => {
                let msg = e.into_message();
                events::emit(Level::Error, "session.metadata.repair_failed", || {
                    fields! {"session_id" => id.as_str(), "error" => msg.as_str(), "operation" => "repair"}
                });
                result.errors.push((id, msg));
            }
        }
    }
    Ok(result)
}

fn repair_one(rfd: BorrowedFd<'_>, host: Option<&HostDir>, id: &str, dry_run: bool) -> Result<Option<Repaired>> {
    // The same checked open as every caller (never a symlink, never a mount
    // point: a bind mount of an outside directory would have us write there),
    // and locked: a prune must not delete it while we write, and a lease means
    // a runtime is using it (it will be repairable once released).
    // The bytes are kept: what of a corrupted file can be read is repaired, not lost.
    let decode = |b: &[u8]| Ok((SessionMetadata::from_json(b).is_ok(), b.to_vec()));
    let (session, known) = match entry::examine(rfd, host, id, Lock::Exclusive, decode) {
        Examined::Session(s, k) => (s, k),
        Examined::NotASession => return Ok(None),
        Examined::Failed(msg) => return Err(Error::new(Status::Io, format!("{msg}; not repaired"))),
    };
    let (previous, bytes) = match known {
        Known::Valid((true, _)) => return Ok(None),
        Known::Valid((false, bytes)) => (SessionState::Corrupted, bytes),
        Known::Missing => (SessionState::Legacy, Vec::new()),
        Known::Invalid(_) => (SessionState::Corrupted, Vec::new()),
    };
    if !session.locked {
        return Err(Error::new(
            Status::Busy,
            "session is in use (leased or being pruned); not repaired",
        ));
    }
    let (dfd, dir_id) = (session.dir.as_fd(), session.dir_id);
    if let (Some(host), true) = (host, session.registered()) {
        // A record the host wrote, damaged (a disk fault): dated now, never
        // from the guest's file times.
        let when = metadata::truncate_to_micros(Utc::now());
        if !dry_run {
            // Under the update lock, from the record as it is then: every
            // field that can be read (a pin, labels, unknown ones) is kept.
            host.update_record(id, |now| {
                Ok(SessionMetadata::repaired(now, id, when).to_json().into_bytes())
            })
            .map_err(|e| Error::io("cannot write the session's record", e))?;
        }
        return Ok(Some(Repaired {
            session_id: id.to_owned(),
            previous,
            updated_at: when,
        }));
    }
    let outcome = remove::walk(dfd, dir_id, Mode::Measure);
    let (secs, nanos) = match outcome.newest_mtime {
        Some(m) => m,
        None => {
            let st = fd::fstat(dfd).map_err(|e| Error::io("cannot stat session directory", e))?;
            (st.st_mtime, st.st_mtime_nsec)
        }
    };
    let when = Utc
        .timestamp_opt(secs, nanos.clamp(0, 999_999_999) as u32)
        .single()
        .ok_or_else(|| Error::new(Status::Io, format!("newest modification time {secs} is out of range")))?;
    let when = metadata::truncate_to_micros(when);
    if !dry_run {
        let meta = SessionMetadata::repaired(&bytes, id, when);
        session::write_via_temp(dfd, meta.to_json().as_bytes(), false, true)
            .map_err(|e| Error::io("cannot write metadata", e))?;
    }
    Ok(Some(Repaired {
        session_id: id.to_owned(),
        previous,
        updated_at: when,
    }))
}
