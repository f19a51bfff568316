//! Recording what became of each session: into the [`PruneResult`], as an
//! event, and to the [`crate::PruneControl`] hook, always together and
//! always on the calling thread.

use serde_json::Value;

use crate::control;
use crate::events::{self, Level};
use crate::fields;
use crate::metadata::MetadataError;
use crate::policy::Rule;
use crate::remove::Outcome;
use crate::result::{PruneResult, Record, SkipReason, Skipped};

/// Records session `id` as left in place for `reason`.
pub(super) fn skip(result: &mut PruneResult, id: &str, reason: SkipReason) {
    events::emit(
        Level::Info,
        "session.prune.skipped",
        || fields! {"session_id" => id, "reason" => reason.as_str()},
    );
    let skipped = Skipped {
        session_id: id.to_owned(),
        reason,
    };
    control::notify(Record::Skipped(&skipped));
    result.skipped_sessions.push(skipped);
}

/// Records an error on `id` (a session, or a trash directory by its name).
pub(super) fn fail(result: &mut PruneResult, id: &str, message: String) {
    events::emit(
        Level::Error,
        "session.prune.error",
        || fields! {"session_id" => id, "error" => message.as_str()},
    );
    control::notify(Record::Error { id, message: &message });
    result.errors.push((id.to_owned(), message));
}

/// Why a session with unusable metadata is left in place.
pub(super) fn skip_reason(bad: &MetadataError) -> SkipReason {
    match bad {
        MetadataError::Corrupted(_) => SkipReason::CorruptedMetadata,
        MetadataError::BadTimestamp(_) => SkipReason::CorruptedTimestamp,
    }
}

/// Records a deletion (or its failure); true if the session went entirely.
pub(super) fn record(
    result: &mut PruneResult,
    id: &str,
    age: Option<f64>,
    rule: Rule,
    outcome: Outcome,
    trash: Option<&str>,
) -> bool {
    result.reclaimed_bytes += outcome.bytes;
    if outcome.failures > 0 {
        let msg = failure_message(outcome, trash);
        fail(result, id, msg);
        return false;
    }
    let dry_run = result.dry_run;
    events::emit(Level::Info, "session.prune.deleted", || {
        fields! {
            "session_id" => id,
            "age_hours" => age.map(Value::from).unwrap_or(Value::Null),
            "reclaimed_bytes" => outcome.bytes,
            "rule" => rule.as_str(),
            "dry_run" => dry_run,
        }
    });
    let age_hours = age.unwrap_or(f64::NAN);
    result.push_deleted(id, rule, outcome.bytes, age_hours);
    control::notify(Record::Deleted {
        session_id: id,
        rule,
        bytes: outcome.bytes,
        age_hours,
    });
    true
}

/// The message for a deletion that left entries behind (in `trash`, if known).
pub(super) fn failure_message(outcome: Outcome, trash: Option<&str>) -> String {
    let first = outcome.first_error.unwrap_or_default();
    let n = outcome.failures;
    let mut msg = format!(
        "{first} ({n} {} could not be handled",
        if n == 1 { "entry" } else { "entries" }
    );
    if let Some(t) = trash {
        msg.push_str(&format!("; what remains is in {t} and the next prune retries it"));
    }
    msg.push(')');
    msg
}
