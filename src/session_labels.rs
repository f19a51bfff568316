//! Changing a session's labels (docs/contract.md, "Labels"): set and
//! removed in its host-owned record, never in the guest-writable
//! `.metadata.json`. The syntax and limits are [`crate::labels`]'.
//!
//! A change holds a lease on the session for its read-change-write, and
//! writes the record under the record update lock (as a pin or a TTL
//! change does: [`crate::retention`]), so that a prune deciding
//! about the session either finished before it (the change then finds the
//! session gone: [`crate::Status::NotFound`]) or reads the changed labels under its
//! exclusive lock; and no concurrent touch, pin or TTL change is lost.

use std::path::Path;

use crate::error::Result;
use crate::events::{self, Level};
use crate::fields;
use crate::labels::{self, LabelChange, Labels};

/// Applies `changes` (set `key=value`, remove `key-`, in order) to the
/// labels of session `id` and returns the labels it then has. Checked as a
/// whole before anything is written: a bad key or value, or more than
/// [`labels::MAX_LABELS`] labels, is [`crate::Status::InvalidArgument`] and
/// changes nothing. Only a registered session has labels (an unregistered
/// 0.3 directory is [`crate::Status::InvalidArgument`]: `wsprune migrate` or an
/// open registers it); a missing one is [`crate::Status::NotFound`]; one being
/// deleted is [`crate::Status::Busy`] (as a lease would be) or
/// [`crate::Status::NotFound`]; a record that cannot be read is [`crate::Status::Io`].
/// Emits `session.labels.set`.
pub fn set_session_labels(root: &Path, id: &str, changes: &[LabelChange]) -> Result<Labels> {
    // Bad input is refused before the session is looked at.
    labels::validate_changes(changes)?;
    let (name, labels) = crate::retention::change_record(root, id, "label", |m| {
        let new = labels::apply(m.labels(), changes)?;
        m.retention.labels = new.clone();
        Ok(new)
    })?;
    labels_event(&name, &labels);
    Ok(labels)
}

/// Emits `session.labels.set` for session `id`, now labelled `labels`.
pub(crate) fn labels_event(id: &str, labels: &Labels) {
    events::emit(Level::Info, "session.labels.set", || {
        fields! {"session_id" => id, "labels" => serde_json::to_value(labels).unwrap_or_default()}
    });
}
