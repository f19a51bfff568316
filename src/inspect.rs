//! Read-only inspection of sessions: what `wsprune info` and `wsprune ls`
//! show, and what a runtime asks when a session is looked at.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::entry::{self, Examined, Known, Lock};
use crate::error::{Error, Result, Status};
use crate::host_state::HostDir;
use crate::labels::{self, Labels};
use crate::metadata::{MetadataError, Retention, SessionMetadata};
use crate::parallel;
use crate::remove::{self, Mode};
use crate::session;
use crate::session_id;

/// The state of a session's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Valid metadata.
    Ok,
    /// No `.metadata.json` (a session from before metadata existed).
    Legacy,
    /// `.metadata.json` exists but cannot be used.
    Corrupted,
    /// The session could not be read (permissions, I/O): see `problem`. Only
    /// [`list_sessions`] reports it; [`session_info`] gives the error.
    Unreadable,
}

impl SessionState {
    /// `"ok"`, `"legacy"`, `"corrupted"` or `"unreadable"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Ok => "ok",
            SessionState::Legacy => "legacy",
            SessionState::Corrupted => "corrupted",
            SessionState::Unreadable => "unreadable",
        }
    }
}

impl std::fmt::Display for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is known about one session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    /// The session id (the directory name).
    pub session_id: String,
    /// `created_at` from the metadata, if it is valid.
    pub created_at: Option<DateTime<Utc>>,
    /// `updated_at` (last use) from the metadata, if it is valid.
    pub updated_at: Option<DateTime<Utc>>,
    /// What the session takes on disk: allocated blocks, each inode once
    /// (`du -sB1`; docs/contract.md, "Sizes").
    pub size_bytes: u64,
    /// The metadata's state.
    pub state: SessionState,
    /// Whether a lease (or a prune) holds the session right now.
    pub in_use: bool,
    /// Why the metadata is corrupted, or what could not be measured.
    pub problem: Option<String>,
    /// The session's labels, from its host-owned record (empty for a
    /// session without any, and for a directory that is not registered);
    /// `None` when they cannot be read (a corrupted or unreadable session, a
    /// record whose labels are not all valid). See docs/contract.md, "Labels".
    pub labels: Option<Labels>,
    /// The session's pin and own TTL, from its host-owned record (none for
    /// a directory that is not registered, or whose record is unusable).
    /// See docs/contract.md, "Pins" and "Per-session TTL".
    pub retention: Retention,
}

impl SessionInfo {
    /// When the session's own TTL deletes it (the earlier of `updated_at` +
    /// `idle_ttl_seconds` and `expires_at`), if it has one. A deadline past
    /// the latest time a record can hold (a long idle TTL late in year
    /// 9999) is that time, [`crate::metadata::latest_timestamp`], rather than
    /// a clamped year printed wrong.
    pub fn ttl_deadline(&self) -> Option<DateTime<Utc>> {
        self.updated_at
            .and_then(|t| self.retention.deadline(t))
            .map(|d| d.min(crate::metadata::latest_timestamp()))
    }

    /// Hours since `updated_at`, if known (negative for a future timestamp).
    pub fn age_hours(&self, now: DateTime<Utc>) -> Option<f64> {
        self.updated_at.map(|t| crate::metadata::age_hours(t, now))
    }

    /// The size, `None` when unknown (an unreadable session could not be measured).
    pub fn known_size(&self) -> Option<u64> {
        (self.state != SessionState::Unreadable).then_some(self.size_bytes)
    }

    /// The session as one JSON object, the form `wsprune ls --json`,
    /// `wsprune info --json` and `wsprune_list_sessions` share (documented,
    /// stable): `session_id`, `created_at` and `updated_at` (wsprune's
    /// timestamp format, or null), `age_hours` (at `now`, or null),
    /// `size_bytes` (null when unknown), `state`, `in_use`, `problem` (or
    /// null), `labels` (an object of strings, or null when unknown),
    /// `pinned` (whether a pin holds at `now`), `pinned_until`,
    /// `idle_ttl_seconds`, `expires_at` (the record's fields, or null) and
    /// `ttl_deadline` (when its own TTL deletes it, or null).
    pub fn to_json(&self, now: DateTime<Utc>) -> serde_json::Value {
        use serde_json::Value;
        let time =
            |t: Option<DateTime<Utc>>| t.map_or(Value::Null, |t| Value::from(crate::metadata::format_timestamp(t)));
        serde_json::json!({
            "session_id": self.session_id,
            "created_at": time(self.created_at),
            "updated_at": time(self.updated_at),
            "age_hours": self.age_hours(now),
            "size_bytes": self.known_size(),
            "state": self.state.as_str(),
            "in_use": self.in_use,
            "problem": self.problem,
            "labels": self.labels,
            "pinned": self.retention.pin_holds(now),
            "pinned_until": time(self.retention.pinned_until.filter(|_| self.retention.pinned)),
            "idle_ttl_seconds": self.retention.idle_ttl_seconds,
            "expires_at": time(self.retention.expires_at),
            "ttl_deadline": time(self.ttl_deadline()),
        })
    }
}

/// Information on session `id` (a UUID is found under any spelling; the
/// result's `session_id` is the name it was found under). A missing session
/// or root is [`Status::NotFound`], and so is a directory named like a custom
/// id without metadata (not a session); a session that is a mount point is
/// refused ([`Status::Io`]).
///
/// `in_use` is probed with a non-blocking exclusive lock released at once; a
/// prune that looks at the session in that instant treats it as in use.
pub fn session_info(root: &Path, id: &str) -> Result<SessionInfo> {
    session::check_root(root)?;
    session_id::validate(id)?;
    let root_fd = session::open_root(root).map_err(|e| match e.status() {
        Status::NotFound => Error::new(Status::NotFound, format!("session {id} not found: {}", e.message())),
        _ => e,
    })?;
    let host = session::host_dir(root_fd.as_fd())?;
    let (info, _) = session::resolve(id, |name| {
        info_at(root_fd.as_fd(), host.as_ref(), root, name, true)?.ok_or_else(|| {
            Error::new(
                Status::NotFound,
                format!("session {name} not found in {}", root.display()),
            )
        })
    })?;
    Ok(info)
}

/// Information on every session under `root`, sorted by id, gathered with
/// `jobs` threads (0: the prune default). Entries that are not sessions (other
/// names, custom-id directories without metadata, hidden entries,
/// `site-packages`, symlinks, files, trash) are left out. A session that cannot be read
/// (a mount point included) is listed as [`SessionState::Unreadable`] with the
/// error in `problem`. A
/// missing root is [`Status::NotFound`].
pub fn list_sessions(root: &Path, jobs: usize) -> Result<Vec<SessionInfo>> {
    list_sessions_sized(root, jobs, true)
}

/// [`list_sessions`], measuring each session's size only if `measure` (the
/// walk of every file is most of a listing's cost; unmeasured, `size_bytes`
/// is 0).
pub fn list_sessions_sized(root: &Path, jobs: usize, measure: bool) -> Result<Vec<SessionInfo>> {
    session::check_root(root)?;
    let root_fd = session::open_root(root)?;
    let rfd = root_fd.as_fd();
    let host = session::host_dir(rfd)?;
    let names = session::session_names(rfd, host.as_ref())?;
    let jobs = if jobs == 0 { crate::policy::default_jobs() } else { jobs };
    let mut out: Vec<Option<SessionInfo>> = vec![None; names.len()];
    parallel::run(
        &names,
        jobs,
        |n| info_at(rfd, host.as_ref(), root, n, measure),
        |i, r| {
            out[i] = match r {
                Ok(info) => info,
                Err(e) => Some(SessionInfo {
                    session_id: names[i].clone(),
                    created_at: None,
                    updated_at: None,
                    size_bytes: 0,
                    state: SessionState::Unreadable,
                    in_use: false,
                    problem: Some(e.message().to_owned()),
                    labels: None,
                    retention: Retention::default(),
                }),
            }
        },
    );
    Ok(out.into_iter().flatten().collect())
}

/// Information on session `id` under the open root (whose host directory is
/// `host`), measuring its size only if `measure`; `None` if it is not a session (see [`entry::examine`]); a mount
/// point is an error, as for every caller of [`crate::chase::open_session_dir`].
fn info_at(
    rfd: BorrowedFd<'_>,
    host: Option<&HostDir>,
    root: &Path,
    id: &str,
    measure: bool,
) -> Result<Option<SessionInfo>> {
    let (session, known) = match entry::examine(rfd, host, id, Lock::Probe, SessionMetadata::from_json) {
        Examined::Session(s, k) => (s, k),
        Examined::NotASession => return Ok(None),
        Examined::Failed(msg) => {
            return Err(Error::new(
                Status::Io,
                format!("session {id} in {}: {msg}", root.display()),
            ))
        }
    };
    let mut info = SessionInfo {
        session_id: id.to_owned(),
        created_at: None,
        updated_at: None,
        size_bytes: 0,
        state: SessionState::Legacy,
        in_use: false,
        problem: None,
        labels: Some(Labels::new()),
        retention: Retention::default(),
    };
    match known {
        Known::Valid(m) => {
            info.labels = labels::of_session(session.registered(), &m);
            // A guest-writable .metadata.json pins nothing (docs/host-state.md).
            if session.registered() {
                info.retention = m.retention.clone();
            }
            info.state = SessionState::Ok;
            info.created_at = Some(m.created_at);
            info.updated_at = Some(m.updated_at);
        }
        Known::Missing => {}
        Known::Invalid(bad) => {
            info.labels = None;
            info.state = SessionState::Corrupted;
            info.problem = Some(match bad {
                MetadataError::Corrupted(m) | MetadataError::BadTimestamp(m) => m,
            });
        }
    }
    info.in_use = session
        .in_use()
        .map_err(|e| Error::io(format_args!("cannot probe the lock of session {id}"), e))?;
    if !measure {
        return Ok(Some(info));
    }
    let outcome = remove::walk(session.dir.as_fd(), session.dir_id, Mode::Measure);
    info.size_bytes = outcome.bytes;
    if outcome.failures > 0 && info.problem.is_none() {
        info.problem = outcome.first_error;
    }
    Ok(Some(info))
}
