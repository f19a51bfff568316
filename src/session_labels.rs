//! Changing a session's labels (docs/contract.md, "Labels"): set and
//! removed in its host-owned record, never in the guest-writable
//! `.metadata.json`. The syntax and limits are [`crate::labels`]'.
//!
//! A change holds a lease on the session for its read-change-write, and
//! writes the record under the record update lock, so that a prune deciding
//! about the session either finished before it (the change then finds the
//! session gone: [`Status::NotFound`]) or reads the changed labels under its
//! exclusive lock; and no concurrent touch, pin or TTL change is lost.

use std::path::Path;

use crate::error::{Error, Result, Status};
use crate::events::{self, Level};
use crate::fields;
use crate::host_state;
use crate::labels::{self, LabelChange, Labels};
use crate::lease;
use crate::metadata::SessionMetadata;

/// Applies `changes` (set `key=value`, remove `key-`, in order) to the
/// labels of session `id` and returns the labels it then has. Checked as a
/// whole before anything is written: a bad key or value, or more than
/// [`labels::MAX_LABELS`] labels, is [`Status::InvalidArgument`] and
/// changes nothing. Only a registered session has labels (an unregistered
/// 0.3 directory is [`Status::InvalidArgument`]: `wsprune migrate` or an
/// open registers it); a missing one is [`Status::NotFound`]; one being
/// deleted is [`Status::Busy`] (as a lease would be) or
/// [`Status::NotFound`]; a record that cannot be read is [`Status::Io`].
/// Emits `session.labels.set`.
pub fn set_session_labels(root: &Path, id: &str, changes: &[LabelChange]) -> Result<Labels> {
    // Bad input is refused before the session is looked at.
    labels::validate_changes(changes)?;
    let lease = lease::acquire(root, id)?;
    let name = lease.session_id().to_owned();
    let Some(records) = lease.records() else {
        return Err(Error::new(
            Status::InvalidArgument,
            format!(
                "cannot label session {name}: it is not registered (made by wsprune 0.3 or the reference implementation); `wsprune migrate` or an open registers it"
            ),
        ));
    };
    let mut outcome: Option<Result<Labels>> = None;
    let found = host_state::update_record_at(records, &name, |bytes| {
        let mut m = SessionMetadata::from_json(bytes).map_err(|bad| {
            outcome = Some(Err(Error::new(
                Status::Io,
                format!("cannot label session {name}: its record is unusable ({bad}); `wsprune repair` rewrites it"),
            )));
            std::io::Error::other("unusable record")
        })?;
        let new = labels::apply(m.labels(), changes).map_err(|e| {
            outcome = Some(Err(e));
            std::io::Error::other("refused")
        })?;
        m.retention.labels = new.clone();
        outcome = Some(Ok(new));
        Ok(m.to_json().into_bytes())
    });
    let labels = match (found, outcome) {
        (Ok(true), Some(r)) => r?,
        (_, Some(Err(e))) => return Err(e),
        (Ok(false), _) => {
            return Err(Error::new(
                Status::NotFound,
                format!("session {name} was deleted while labelling it"),
            ))
        }
        (Err(e), _) => return Err(Error::io(format_args!("cannot label session {name}"), e)),
        (Ok(true), None) => unreachable!("a written record was changed"),
    };
    labels_event(&name, &labels);
    Ok(labels)
    // `lease` is released here, after the record is written.
}

/// Emits `session.labels.set` for session `id`, now labelled `labels`.
pub(crate) fn labels_event(id: &str, labels: &Labels) {
    events::emit(Level::Info, "session.labels.set", || {
        fields! {"session_id" => id, "labels" => serde_json::to_value(labels).unwrap_or_default()}
    });
}
