//! The outcome of a prune: what went, what stayed and why, what failed, and
//! how many bytes were (or would be) reclaimed.

use serde_json::{json, Map, Value};

use crate::policy::Rule;

/// Why a session that a prune looked at was left in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// No `.metadata.json` (a legacy session): age unknown, never deleted.
    MissingMetadata,
    /// `.metadata.json` is not valid metadata.
    CorruptedMetadata,
    /// `.metadata.json` is valid JSON but a timestamp is not.
    CorruptedTimestamp,
    /// Stale, but leased (or being deleted by another prune).
    InUse,
    /// A rule selected it, but it is pinned (its record's `pinned`, while
    /// `pinned_until` has not passed). Since 0.4.0.
    Pinned,
}

impl SkipReason {
    /// The reason as it appears in results, JSON and events, e.g. `"in_use"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::MissingMetadata => "missing_metadata",
            SkipReason::CorruptedMetadata => "corrupted_metadata",
            SkipReason::CorruptedTimestamp => "corrupted_timestamp",
            SkipReason::InUse => "in_use",
            SkipReason::Pinned => "pinned",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A session a prune left in place, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The session id.
    pub session_id: String,
    /// Why it stayed.
    pub reason: SkipReason,
}

/// A capacity target a prune did not reach: the rule, what it asked for and
/// what there was when the prune ended (projected, in a dry run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnmetTarget {
    /// `MaxTotalBytes`, `MaxSessions` or `MinFreeBytes`.
    pub rule: Rule,
    /// The option's value: bytes for the size rules, a count for `MaxSessions`.
    pub target: u64,
    /// The workspace's total bytes, session count or free bytes at the end.
    pub actual: u64,
}

/// One thing a prune did, handed to [`PruneControl::on_record`](crate::control::PruneControl::on_record)
/// on the calling thread as it is recorded in the result (completion order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Record<'a> {
    /// A session deleted (or, in a dry run, that would be).
    Deleted {
        /// The session id.
        session_id: &'a str,
        /// The rule that selected it.
        rule: Rule,
        /// Bytes it freed (or would free).
        bytes: u64,
        /// Hours since it was last used.
        age_hours: f64,
    },
    /// A session left in place.
    Skipped(&'a Skipped),
    /// A session (or leftover trash directory) that could not be handled.
    Error {
        /// The session id, or the trash directory's name.
        id: &'a str,
        /// What went wrong.
        message: &'a str,
    },
    /// A leftover trash directory finished (or, in a dry run, that would be).
    Interrupted {
        /// The trash directory's name.
        name: &'a str,
        /// Bytes it freed (or would free).
        bytes: u64,
    },
    /// A capacity target not reached.
    Unmet(&'a UnmetTarget),
}

/// The result of [`crate::prune_sessions`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PruneResult {
    /// Sessions deleted (or, in a dry run, that would be), sorted by id.
    pub deleted_sessions: Vec<String>,
    /// The rule that selected each of `deleted_sessions` (same order and length).
    pub deleted_rules: Vec<Rule>,
    /// The bytes each of `deleted_sessions` freed (or would free), as
    /// counted into `reclaimed_bytes` (same order and length).
    pub deleted_bytes: Vec<u64>,
    /// Hours since each of `deleted_sessions` was last used, when the prune
    /// decided (same order and length).
    pub deleted_age_hours: Vec<f64>,
    /// Sessions left in place with their reasons, sorted by id.
    pub skipped_sessions: Vec<Skipped>,
    /// Bytes freed (or that would be): the sizes of the files removed.
    pub reclaimed_bytes: u64,
    /// Sessions that could not be handled, with a message each, sorted by id.
    /// A failure to finish leftover trash is keyed by the trash directory's name.
    pub errors: Vec<(String, String)>,
    /// Leftover trash directories (`.wsprune-trash.*`, left by an interrupted
    /// deletion) finished by this prune (or, in a dry run, that would be),
    /// by directory name, sorted. Never reported as sessions: a live session
    /// of the same id may exist again.
    pub interrupted: Vec<String>,
    /// The bytes each of `interrupted` freed (or would free; same order and length).
    pub interrupted_bytes: Vec<u64>,
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
    /// The capacity rules (`max_total_bytes`, `max_sessions`,
    /// `min_free_bytes`) still not satisfied when the prune ended (a dry run:
    /// projected), in that order: every evictable session went and the target
    /// is still out of reach.
    pub unmet_targets: Vec<Rule>,
    /// Target and actual value of each of `unmet_targets` (same order and length).
    pub unmet: Vec<UnmetTarget>,
}

impl PruneResult {
    /// An empty result.
    pub fn new(dry_run: bool) -> Self {
        PruneResult {
            dry_run,
            ..Default::default()
        }
    }

    /// Records a deleted session (see [`Record::Deleted`]).
    pub fn push_deleted(&mut self, session_id: &str, rule: Rule, bytes: u64, age_hours: f64) {
        self.deleted_sessions.push(session_id.to_owned());
        self.deleted_rules.push(rule);
        self.deleted_bytes.push(bytes);
        self.deleted_age_hours.push(age_hours);
    }

    /// Records a finished trash directory (see [`Record::Interrupted`]).
    pub fn push_interrupted(&mut self, name: &str, bytes: u64) {
        self.interrupted.push(name.to_owned());
        self.interrupted_bytes.push(bytes);
    }

    /// Records a capacity target not reached.
    pub fn push_unmet(&mut self, rule: Rule, target: u64, actual: u64) {
        self.unmet_targets.push(rule);
        self.unmet.push(UnmetTarget { rule, target, actual });
    }

    /// Sorts every list by session id (a parallel prune finishes in any order).
    pub fn sort(&mut self) {
        let mut deleted: Vec<(String, Rule, u64, f64)> = std::mem::take(&mut self.deleted_sessions)
            .into_iter()
            .zip(std::mem::take(&mut self.deleted_rules))
            .zip(std::mem::take(&mut self.deleted_bytes))
            .zip(std::mem::take(&mut self.deleted_age_hours))
            .map(|(((id, rule), bytes), age)| (id, rule, bytes, age))
            .collect();
        deleted.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, rule, bytes, age) in deleted {
            self.push_deleted(&id, rule, bytes, age);
        }
        self.skipped_sessions.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        self.errors.sort();
        let mut interrupted: Vec<(String, u64)> = std::mem::take(&mut self.interrupted)
            .into_iter()
            .zip(std::mem::take(&mut self.interrupted_bytes))
            .collect();
        interrupted.sort();
        (self.interrupted, self.interrupted_bytes) = interrupted.into_iter().unzip();
    }

    /// The rule that selected deleted session `id`, if it was deleted.
    pub fn rule_of(&self, id: &str) -> Option<Rule> {
        self.deleted_sessions
            .iter()
            .position(|d| d == id)
            .map(|i| self.deleted_rules[i])
    }

    /// The one-line human summary, e.g.
    /// `Pruned 2 sessions (1 skipped, 1 error), reclaimed 1.4 MB`, or for a dry
    /// run `Would prune 2 sessions (1 skipped, 0 errors), would reclaim 1.4 MB`.
    /// Unmet capacity targets add `; target not reached: min_free_bytes`
    /// (the reference wording is unchanged when every target was met).
    pub fn summary(&self) -> String {
        let (verb, reclaim) = if self.dry_run {
            ("Would prune", "would reclaim")
        } else {
            ("Pruned", "reclaimed")
        };
        let mut s = format!(
            "{verb} {} ({} skipped, {}), {reclaim} {}",
            plural(self.deleted_sessions.len(), "session"),
            self.skipped_sessions.len(),
            plural(self.errors.len(), "error"),
            format_bytes(self.reclaimed_bytes)
        );
        if !self.unmet_targets.is_empty() {
            let rules: Vec<&str> = self.unmet_targets.iter().map(|r| r.as_str()).collect();
            let noun = if rules.len() == 1 { "target" } else { "targets" };
            s.push_str(&format!("; {noun} not reached: {}", rules.join(", ")));
        }
        s
    }

    /// The result as JSON: `deleted_sessions` (ids), `deleted_rules` (id to
    /// rule), `skipped_sessions` (ids),
    /// `skipped_reasons` (id to reason), `reclaimed_bytes`, `errors` (id to
    /// message), `interrupted` (trash directory names), `dry_run` and
    /// `unmet_targets` (rule names).
    pub fn to_json(&self) -> Value {
        let skipped_reasons: Map<String, Value> = self
            .skipped_sessions
            .iter()
            .map(|s| (s.session_id.clone(), Value::from(s.reason.as_str())))
            .collect();
        let errors: Map<String, Value> = self
            .errors
            .iter()
            .map(|(id, m)| (id.clone(), Value::from(m.as_str())))
            .collect();
        let deleted_rules: Map<String, Value> = self
            .deleted_sessions
            .iter()
            .zip(&self.deleted_rules)
            .map(|(id, r)| (id.clone(), Value::from(r.as_str())))
            .collect();
        json!({
            "deleted_sessions": self.deleted_sessions,
            "deleted_rules": deleted_rules,
            "skipped_sessions": self.skipped_sessions.iter().map(|s| s.session_id.as_str()).collect::<Vec<_>>(),
            "skipped_reasons": skipped_reasons,
            "reclaimed_bytes": self.reclaimed_bytes,
            "errors": errors,
            "interrupted": self.interrupted,
            "dry_run": self.dry_run,
            "unmet_targets": self.unmet_targets.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        })
    }
}

impl std::fmt::Display for PruneResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Human-readable size in binary units with one decimal: `512 B`, `1.5 KB`,
/// `1.4 MB`, `3.0 GB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_human_readable() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1536), "1.5 KB");
        assert_eq!(format_bytes(1_468_006), "1.4 MB");
        assert_eq!(format_bytes(3 * 1024 * 1024 * 1024), "3.0 GB");
    }

    #[test]
    fn summary_matches_the_reference_wording() {
        let mut r = PruneResult::new(false);
        r.deleted_sessions = vec!["a".into(), "b".into()];
        r.skipped_sessions = vec![Skipped {
            session_id: "c".into(),
            reason: SkipReason::InUse,
        }];
        r.errors = vec![("d".into(), "boom".into())];
        r.reclaimed_bytes = 1_468_006;
        assert_eq!(r.summary(), "Pruned 2 sessions (1 skipped, 1 error), reclaimed 1.4 MB");
        assert_eq!(r.to_string(), r.summary());
        r.dry_run = true;
        r.deleted_sessions.pop();
        r.errors.clear();
        assert_eq!(
            r.summary(),
            "Would prune 1 session (1 skipped, 0 errors), would reclaim 1.4 MB"
        );
        r.unmet_targets = vec![Rule::MinFreeBytes];
        assert_eq!(
            r.summary(),
            "Would prune 1 session (1 skipped, 0 errors), would reclaim 1.4 MB; target not reached: min_free_bytes"
        );
        r.unmet_targets.insert(0, Rule::MaxSessions);
        assert!(r
            .summary()
            .ends_with("; targets not reached: max_sessions, min_free_bytes"));
    }

    #[test]
    fn json_has_the_documented_fields() {
        let mut r = PruneResult::new(true);
        r.deleted_sessions = vec!["a".into()];
        r.deleted_rules = vec![Rule::MaxSessions];
        r.skipped_sessions = vec![Skipped {
            session_id: "c".into(),
            reason: SkipReason::MissingMetadata,
        }];
        r.errors = vec![("d".into(), "boom".into())];
        r.reclaimed_bytes = 7;
        r.unmet_targets = vec![Rule::MaxTotalBytes];
        r.interrupted = vec![".wsprune-trash.1.2.3".into()];
        assert_eq!(
            r.to_json(),
            json!({"deleted_sessions":["a"],"deleted_rules":{"a":"max_sessions"},"skipped_sessions":["c"],"skipped_reasons":{"c":"missing_metadata"},
                   "reclaimed_bytes":7,"errors":{"d":"boom"},"interrupted":[".wsprune-trash.1.2.3"],"dry_run":true,"unmet_targets":["max_total_bytes"]})
        );
    }
}
