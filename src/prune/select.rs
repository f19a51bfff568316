//! Which scanned sessions go: the age rule, then the capacity rules (size,
//! count, free space) taking the least recently updated first, within
//! `max_deletions`. The options and rules themselves are defined in
//! [`crate::policy`]; this is where they are applied to what a scan found.

use chrono::{DateTime, Utc};

use super::scan::Scanned;
use super::Pruner;
use crate::control;
use crate::events::{self, Level};
use crate::fields;
use crate::metadata;
use crate::policy::{PruneOptions, Rule};
use crate::result::Record;

/// The workspace's size, session count and free space as the capacity rules see them.
#[derive(Clone, Copy, Default)]
pub(super) struct Capacity {
    pub(super) total: u64,
    pub(super) count: u64,
    pub(super) free: u64,
}

impl Capacity {
    /// The first capacity rule not yet satisfied.
    fn unmet(&self, o: &PruneOptions) -> Option<Rule> {
        self.shortfalls(o).first().map(|&(rule, _, _)| rule)
    }

    /// Every capacity rule not satisfied, with its target and the actual value.
    fn shortfalls(&self, o: &PruneOptions) -> Vec<(Rule, u64, u64)> {
        [
            (Rule::MaxTotalBytes, o.max_total_bytes, self.total),
            (Rule::MaxSessions, o.max_sessions, self.count),
            (Rule::MinFreeBytes, o.min_free_bytes, self.free),
        ]
        .into_iter()
        .filter_map(|(rule, target, actual)| target.map(|t| (rule, t, actual)))
        .filter(|&(rule, target, actual)| {
            if rule == Rule::MinFreeBytes {
                actual < target
            } else {
                actual > target
            }
        })
        .collect()
    }

    /// The workspace once a session of `bytes` is gone.
    pub(super) fn remove(&mut self, bytes: u64) {
        self.total = self.total.saturating_sub(bytes);
        self.count = self.count.saturating_sub(1);
        self.free = self.free.saturating_add(bytes);
    }
}

/// Splits the valid sessions, oldest first (so that `max_deletions` and the
/// capacity rules take the least recently used), into those the age rule
/// selects and the pool the capacity rules may evict from (at least
/// `min_age_hours` old). A session with a future timestamp is in neither.
pub(super) fn by_age(
    mut valid: Vec<Scanned>,
    now: DateTime<Utc>,
    opts: &PruneOptions,
) -> (Vec<(Scanned, Rule)>, Vec<Scanned>) {
    valid.sort_unstable_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
    let (mut selected, mut pool) = (Vec::new(), Vec::new());
    for s in valid {
        let age = metadata::age_hours(s.updated_at, now);
        // A future timestamp (negative age) never goes, whatever the rules.
        if age < 0.0 {
            continue;
        }
        if opts.older_than_hours.is_some_and(|h| age >= h) {
            selected.push((s, Rule::OlderThan));
        } else if age >= opts.min_age_hours {
            pool.push(s);
        }
    }
    (selected, pool)
}

/// The next sessions to evict from `pool`: just enough of the oldest to meet
/// every capacity rule if all of them go, and at most `budget`; each with the
/// rule it is evicted for. Empty once the rules are met, the pool is empty or
/// the budget is spent.
fn next_batch(
    cap: Capacity,
    pool: &mut impl Iterator<Item = Scanned>,
    opts: &PruneOptions,
    budget: u64,
) -> Vec<(Scanned, Rule)> {
    let mut projected = cap;
    let mut batch = Vec::new();
    while let Some(rule) = projected.unmet(opts) {
        if budget <= batch.len() as u64 {
            break;
        }
        let Some(s) = pool.next() else { break };
        projected.remove(s.size);
        batch.push((s, rule));
    }
    batch
}

impl Pruner<'_> {
    /// Evicts from `pool` (oldest first) until the capacity rules are met:
    /// each batch assumes its deletions succeed; sessions that turn out leased
    /// or touched are replaced by the next batch.
    pub(super) fn evict_for_capacity(&mut self, pool: Vec<Scanned>, cap: &mut Capacity) {
        let mut pool = pool.into_iter();
        loop {
            let batch = next_batch(*cap, &mut pool, self.opts, self.budget());
            if batch.is_empty() {
                break;
            }
            self.execute(batch, cap);
        }
    }

    /// How many more sessions `max_deletions` allows.
    pub(super) fn budget(&self) -> u64 {
        self.opts
            .max_deletions
            .map_or(u64::MAX, |m| m.saturating_sub(self.deletions))
    }

    /// Records the capacity targets still not met (every evictable session
    /// went, or `max_deletions` stopped the prune), so that a caller never
    /// mistakes an unreachable target for a reached one.
    pub(super) fn report_unmet(&mut self, cap: &Capacity) {
        for (rule, target, actual) in cap.shortfalls(self.opts) {
            events::emit(Level::Warning, "session.prune.target_unmet", || {
                fields! {"rule" => rule.as_str(), "target" => target, "actual" => actual, "dry_run" => self.opts.dry_run}
            });
            self.result.push_unmet(rule, target, actual);
            control::notify(Record::Unmet(&self.result.unmet[self.result.unmet.len() - 1]));
        }
    }
}
