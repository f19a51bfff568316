//! Pins and per-session TTLs: changing the host-owned retention fields of a
//! session's record (docs/host-state.md, "Record format"; docs/contract.md,
//! "Pins" and "Per-session TTL"). What a prune does with them is decided in
//! the prune's selection.
//!
//! Every change holds a lease on the session for its read-change-write, so
//! that a prune or a deletion deciding about the session is either finished
//! before it (the change then finds the session gone: [`Status::NotFound`])
//! or starts after it and reads the changed record under its exclusive lock:
//! a pin that returned OK is never missed by a deletion.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result, Status};
use crate::events::{self, Level};
use crate::fields;
use crate::host_state;
use crate::lease;
use crate::metadata::{self, Retention, SessionMetadata};

/// A session's own TTL: an idle timeout, an absolute expiry, both (the
/// session expires at the earlier), or neither.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ttl {
    /// Expire once idle this long (`updated_at` + `idle`); at least 1 s.
    pub idle: Option<Duration>,
    /// Expire at this instant, used or not.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Ttl {
    /// Whether neither is set.
    pub fn is_none(&self) -> bool {
        self.idle.is_none() && self.expires_at.is_none()
    }

    /// Checks it: an idle TTL of a whole number of seconds (what is stored;
    /// a fraction is refused, not cut off), at least one, at most
    /// [`MAX_IDLE_TTL`]; any expiry a record can hold
    /// ([`metadata::is_storable`]; one already passed expires the session at
    /// the next prune). Else [`Status::InvalidArgument`].
    pub(crate) fn validate(&self) -> Result<()> {
        if let Some(t) = self.expires_at {
            metadata::check_storable(t, "expires_at")?;
        }
        if let Some(d) = self.idle {
            if d.subsec_nanos() != 0 {
                return Err(Error::new(
                    Status::InvalidArgument,
                    format!(
                        "idle TTL {} s: expected a whole number of seconds (what a record stores)",
                        d.as_secs_f64()
                    ),
                ));
            }
            if d < Duration::from_secs(1) || d > MAX_IDLE_TTL {
                return Err(Error::new(
                    Status::InvalidArgument,
                    format!(
                        "idle TTL {} s: expected at least 1 s and at most {} s (100 years)",
                        d.as_secs_f64(),
                        MAX_IDLE_TTL.as_secs()
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn apply(&self, r: &mut Retention) {
        r.idle_ttl_seconds = self.idle.map(|d| d.as_secs());
        r.expires_at = self.expires_at.map(metadata::truncate_to_micros);
    }
}

/// The longest idle TTL accepted: 100 years.
pub const MAX_IDLE_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Pins session `id`: no prune rule (age, capacity, TTL) deletes it while
/// the pin holds, and deleting it needs [`crate::DeleteOptions::force`]. With
/// `until`, the pin holds until then (it must be later than now and a time a
/// record can hold, [`metadata::is_storable`], else
/// [`Status::InvalidArgument`]); without, until [`unpin_session`]. Pinning a
/// pinned session replaces its `until`. Only a registered session can be
/// pinned (an unregistered 0.3 directory is [`Status::InvalidArgument`]:
/// `wsprune migrate` registers it); a missing one is [`Status::NotFound`];
/// one being deleted is [`Status::Busy`] (as a lease would be) or
/// [`Status::NotFound`]. Emits `session.pinned`.
pub fn pin_session(root: &Path, id: &str, until: Option<DateTime<Utc>>) -> Result<()> {
    if let Some(t) = until {
        metadata::check_storable(t, "pin until")?;
        if t <= Utc::now() {
            return Err(Error::new(
                Status::InvalidArgument,
                format!(
                    "pin until {}: that time has passed; give a later one, or none to pin until unpinned",
                    metadata::format_timestamp(t)
                ),
            ));
        }
    }
    let name = change(root, id, "pin", |r| {
        r.pinned = true;
        r.pinned_until = until.map(metadata::truncate_to_micros);
    })?;
    events::emit(Level::Info, "session.pinned", || {
        let until = until.map_or(serde_json::Value::Null, |t| metadata::format_timestamp(t).into());
        fields! {"session_id" => name.as_str(), "pinned_until" => until}
    });
    Ok(())
}

/// Removes session `id`'s pin (none is fine). Errors as [`pin_session`].
/// Emits `session.unpinned`.
pub fn unpin_session(root: &Path, id: &str) -> Result<()> {
    let name = change(root, id, "unpin", |r| {
        r.pinned = false;
        r.pinned_until = None;
    })?;
    events::emit(
        Level::Info,
        "session.unpinned",
        || fields! {"session_id" => name.as_str()},
    );
    Ok(())
}

/// Sets session `id`'s own TTL to `ttl`, replacing what it had (a `ttl`
/// with neither field removes it). Errors as [`pin_session`]; a bad `ttl`
/// is [`Status::InvalidArgument`]. Emits `session.ttl.set`.
pub fn set_session_ttl(root: &Path, id: &str, ttl: &Ttl) -> Result<()> {
    ttl.validate()?;
    let name = change(root, id, "set the TTL of", |r| ttl.apply(r))?;
    ttl_event(&name, ttl);
    Ok(())
}

pub(crate) fn ttl_event(id: &str, ttl: &Ttl) {
    events::emit(Level::Info, "session.ttl.set", || {
        let idle = ttl.idle.map_or(serde_json::Value::Null, |d| d.as_secs().into());
        let at = ttl
            .expires_at
            .map_or(serde_json::Value::Null, |t| metadata::format_timestamp(t).into());
        fields! {"session_id" => id, "idle_ttl_seconds" => idle, "expires_at" => at}
    });
}

/// Applies `f` to session `id`'s record under a lease (see the module
/// documentation) and the record update lock, and writes what it made of it;
/// an error of `f` (a refused change) writes nothing and is returned as it is.
/// Returns the name the session was found under and what `f` returned. `what`
/// names the change in messages ("cannot {what} session ID: ..."). Used for
/// pins, TTLs and labels alike.
pub(crate) fn change_record<T>(
    root: &Path,
    id: &str,
    what: &str,
    f: impl FnOnce(&mut SessionMetadata) -> Result<T>,
) -> Result<(String, T)> {
    let lease = lease::acquire(root, id)?;
    let name = lease.session_id().to_owned();
    let Some(records) = lease.records() else {
        return Err(Error::new(
            Status::InvalidArgument,
            format!(
                "cannot {what} session {name}: it is not registered (made by wsprune 0.3 or the reference implementation); `wsprune migrate` or an open registers it"
            ),
        ));
    };
    let mut outcome: Option<Result<T>> = None;
    let found = host_state::update_record_at(records, &name, |bytes| {
        let changed = SessionMetadata::from_json(bytes)
            .map_err(|bad| {
                let msg = format!(
                    "cannot {what} session {name}: its record is unusable ({bad}); `wsprune repair` rewrites it"
                );
                Error::new(Status::Io, msg)
            })
            .and_then(|mut m| f(&mut m).map(|value| (m, value)));
        match changed {
            Ok((m, value)) => {
                outcome = Some(Ok(value));
                Ok(m.to_json().into_bytes())
            }
            // Refused: nothing is written; the error is returned below.
            Err(e) => {
                outcome = Some(Err(e));
                Err(std::io::Error::other("change refused"))
            }
        }
    });
    match (found, outcome) {
        (_, Some(Err(e))) => Err(e),
        (Ok(true), Some(Ok(value))) => Ok((name, value)),
        (Ok(false), _) => Err(Error::new(
            Status::NotFound,
            format!("session {name} was deleted while changing it"),
        )),
        (Err(e), _) => Err(Error::io(format_args!("cannot {what} session {name}"), e)),
        (Ok(true), None) => unreachable!("a record written without a change"),
    }
    // `lease` is released here, after the record is written.
}

/// [`change_record`] of the retention fields alone.
fn change(root: &Path, id: &str, what: &str, f: impl FnOnce(&mut Retention)) -> Result<String> {
    change_record(root, id, what, |m| {
        f(&mut m.retention);
        Ok(())
    })
    .map(|(name, ())| name)
}
