//! Which scanned sessions go: the age rule and each session's own TTL, then
//! the capacity rules (size, count, free space, a reached watermark) taking
//! the least recently updated first, within `max_deletions`; never a pinned
//! session, whose place the next candidate takes. The options and rules themselves are defined in
//! [`crate::policy`]; this is where they are applied to what a scan found.

use chrono::{DateTime, Utc};

use super::record::skip;
use super::scan::Scanned;
use super::Pruner;
use crate::control;
use crate::events::{self, Level};
use crate::fields;
use crate::fs_usage::{self, FsUsage};
use crate::metadata::{self, Retention};
use crate::policy::{PruneOptions, Rule};
use crate::result::{Record, SkipReason};

/// The workspace's size, session count and the filesystem's free space and
/// inodes as the capacity rules see them.
#[derive(Clone, Copy, Default)]
pub(super) struct Capacity {
    pub(super) total: u64,
    pub(super) count: u64,
    pub(super) free: u64,
    pub(super) free_inodes: u64,
}

impl Capacity {
    /// The workspace once a session of `bytes` and `inodes` is gone.
    pub(super) fn remove(&mut self, bytes: u64, inodes: u64) {
        self.total = self.total.saturating_sub(bytes);
        self.count = self.count.saturating_sub(1);
        self.free = self.free.saturating_add(bytes);
        self.free_inodes = self.free_inodes.saturating_add(inodes);
    }
}

/// The capacity targets of one prune, fixed as it begins: the options' caps,
/// the free-space target (the larger of bytes and percent), and each
/// watermark only if it was reached (then: the filesystem's size and the
/// most the low watermark lets be used, in bytes or inodes).
#[derive(Default)]
pub(super) struct Targets {
    max_total: Option<u64>,
    max_sessions: Option<u64>,
    min_free: Option<u64>,
    watermark: Option<(u64, u64)>,
    inode_watermark: Option<(u64, u64)>,
}

/// The most of `total` (bytes or inodes) a watermark reached at `high`
/// percent lets stay used: `low` percent, rounded down; or, when the low
/// mark is the high one (no hysteresis), just below the high mark, so that
/// a 100% mark reached on a full filesystem still frees something.
fn most_used(total: u64, high: f64, low: f64) -> u64 {
    if low < high {
        fs_usage::share(total, low)
    } else {
        fs_usage::share_up(total, high).saturating_sub(1)
    }
}

impl Targets {
    /// The targets of `o` on a filesystem as full as `usage` (read when a
    /// free-space rule or a watermark is set).
    pub(super) fn new(o: &PruneOptions, usage: Option<&FsUsage>) -> Targets {
        let mut t = Targets {
            max_total: o.max_total_bytes,
            max_sessions: o.max_sessions,
            min_free: o.min_free_bytes,
            ..Targets::default()
        };
        let Some(u) = usage else { return t };
        if let Some(p) = o.min_free_percent {
            t.min_free = Some(t.min_free.unwrap_or(0).max(fs_usage::share_up(u.size_bytes, p)));
        }
        let (bytes, inodes) = o.watermarks_crossed(u);
        if let (true, Some(high), Some(low)) = (bytes, o.high_watermark_percent, o.low_watermark()) {
            t.watermark = Some((u.size_bytes, most_used(u.size_bytes, high, low)));
        }
        if let (true, Some(high), Some(low)) = (inodes, o.high_inode_watermark_percent, o.low_inode_watermark()) {
            t.inode_watermark = Some((u.inodes, most_used(u.inodes, high, low)));
        }
        t
    }

    /// Whether any capacity rule acts in this prune.
    pub(super) fn any(&self) -> bool {
        self.max_total.is_some()
            || self.max_sessions.is_some()
            || self.min_free.is_some()
            || self.watermark.is_some()
            || self.inode_watermark.is_some()
    }

    /// The first capacity rule not yet satisfied.
    fn unmet(&self, cap: &Capacity) -> Option<Rule> {
        self.shortfalls(cap).first().map(|&(rule, _, _)| rule)
    }

    /// Every capacity rule not satisfied, with its target and the actual
    /// value (for a watermark: the most bytes or inodes used the low
    /// watermark allows, and those used).
    fn shortfalls(&self, cap: &Capacity) -> Vec<(Rule, u64, u64)> {
        let used = |(size, max): (u64, u64), free: u64| (max, size.saturating_sub(free));
        [
            (Rule::MaxTotalBytes, self.max_total.map(|t| (t, cap.total))),
            (Rule::MaxSessions, self.max_sessions.map(|t| (t, cap.count))),
            (Rule::MinFreeBytes, self.min_free.map(|t| (t, cap.free))),
            (Rule::Watermark, self.watermark.map(|w| used(w, cap.free))),
            (
                Rule::InodeWatermark,
                self.inode_watermark.map(|w| used(w, cap.free_inodes)),
            ),
        ]
        .into_iter()
        .filter_map(|(rule, tv)| tv.map(|(target, actual)| (rule, target, actual)))
        .filter(|&(rule, target, actual)| {
            if rule == Rule::MinFreeBytes {
                actual < target
            } else {
                actual > target
            }
        })
        .collect()
    }
}

/// The rule that selects a session by its own times at `now` (the prune's
/// time, or its look-ahead's), before any capacity rule: the age rule, else
/// the session's own TTL (docs/contract.md, "Per-session TTL"; the
/// `min_age_hours` floor is the capacity rules' and does not apply to it).
/// A future `updated_at` is never old, but an `expires_at` passed is passed.
pub(super) fn own_rule(
    updated_at: DateTime<Utc>,
    retention: &Retention,
    now: DateTime<Utc>,
    opts: &PruneOptions,
) -> Option<Rule> {
    let age = metadata::age_hours(updated_at, now);
    if age >= 0.0 && opts.older_than_hours.is_some_and(|h| age >= h) {
        Some(Rule::OlderThan)
    } else if retention.expired(updated_at, now) {
        Some(Rule::Ttl)
    } else {
        None
    }
}

/// What [`by_age`] made of the scanned sessions.
pub(super) struct Split {
    /// Selected by the age rule or their own TTL, oldest first.
    pub(super) selected: Vec<(Scanned, Rule)>,
    /// What the capacity rules may evict from (at least `min_age_hours`
    /// old), oldest first; pinned ones included, reported when reached.
    pub(super) pool: Vec<Scanned>,
    /// Selected by the age rule or their TTL, but pinned: skipped.
    pub(super) pinned: Vec<String>,
}

/// Splits the valid sessions, oldest first (so that `max_deletions` and the
/// capacity rules take the least recently used), into those the age rule or
/// their own TTL selects, those of them that are pinned, and the pool the
/// capacity rules may evict from. A session with a future timestamp is in
/// none (unless its `expires_at` passed).
pub(super) fn by_age(mut valid: Vec<Scanned>, now: DateTime<Utc>, opts: &PruneOptions) -> Split {
    valid.sort_unstable_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
    let mut split = Split {
        selected: Vec::new(),
        pool: Vec::new(),
        pinned: Vec::new(),
    };
    for s in valid {
        let age = metadata::age_hours(s.updated_at, now);
        match own_rule(s.updated_at, &s.retention, now, opts) {
            Some(_) if s.retention.pin_holds(now) => split.pinned.push(s.id),
            Some(rule) => split.selected.push((s, rule)),
            None if age >= 0.0 && age >= opts.min_age_hours => split.pool.push(s),
            None => {}
        }
    }
    split
}

/// The next sessions to evict from `pool`: just enough of the oldest to meet
/// every capacity rule if all of them go, and at most `budget`; each with the
/// rule it is evicted for. Empty once the rules are met, the pool is empty or
/// the budget is spent. A pinned session reached is not evicted: it goes to
/// `pinned` (to be reported) and the next one is taken, so that pins alone
/// exceeding a target leave it unmet.
fn next_batch(
    cap: Capacity,
    pool: &mut impl Iterator<Item = Scanned>,
    targets: &Targets,
    budget: u64,
    now: DateTime<Utc>,
    pinned: &mut Vec<String>,
) -> Vec<(Scanned, Rule)> {
    let mut projected = cap;
    let mut batch = Vec::new();
    while let Some(rule) = targets.unmet(&projected) {
        if budget <= batch.len() as u64 {
            break;
        }
        let Some(s) = pool.next() else { break };
        if s.retention.pin_holds(now) {
            pinned.push(s.id);
            continue;
        }
        projected.remove(s.size, s.inodes);
        batch.push((s, rule));
    }
    batch
}

impl Pruner<'_> {
    /// Evicts from `pool` (oldest first) until the capacity rules are met:
    /// each batch assumes its deletions succeed; sessions that turn out leased
    /// or touched are replaced by the next batch.
    pub(super) fn evict_for_capacity(&mut self, pool: Vec<Scanned>, cap: &mut Capacity, targets: &Targets) {
        let mut pool = pool.into_iter();
        loop {
            let mut pinned = Vec::new();
            let batch = next_batch(*cap, &mut pool, targets, self.budget(), self.now, &mut pinned);
            for id in pinned {
                skip(self.result, &id, SkipReason::Pinned);
            }
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
    pub(super) fn report_unmet(&mut self, targets: &Targets, cap: &Capacity) {
        for (rule, target, actual) in targets.shortfalls(cap) {
            self.unmet(rule, target, actual);
        }
    }

    /// Records one target `rule` still not met: `actual` against `target`.
    pub(super) fn unmet(&mut self, rule: Rule, target: u64, actual: u64) {
        events::emit(Level::Warning, "session.prune.target_unmet", || {
            fields! {"rule" => rule.as_str(), "target" => target, "actual" => actual, "dry_run" => self.opts.dry_run}
        });
        self.result.push_unmet(rule, target, actual);
        control::notify(Record::Unmet(&self.result.unmet[self.result.unmet.len() - 1]));
    }
}
