//! Per-owner caps (`max_sessions_per_owner`, `max_bytes_per_owner`): each
//! owner, named by the value of the `per_owner` label, is held to its caps by
//! evicting its own least recently used sessions, so that one heavy owner
//! never evicts another's. Runs after the age rule and before the workspace's
//! capacity rules, which then see what the owners' evictions freed.
//!
//! An owner's usage counts every session of that owner the scan saw
//! (leased, too young or a future timestamp included: they take room), but
//! only those in the capacity rules' pool (old enough) may be evicted.
//! Sessions without a value for the owner label belong to no owner and are
//! never evicted by these caps.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::record::skip;
use super::scan::Scanned;
use super::select::Capacity;
use super::Pruner;
use crate::policy::{PruneOptions, Rule};
use crate::result::SkipReason;

/// What one owner holds.
#[derive(Clone, Copy, Default)]
struct Usage {
    sessions: u64,
    bytes: u64,
}

/// Every owner's usage, and whom each scanned session belongs to.
pub(super) struct Owners {
    usage: BTreeMap<String, Usage>,
    /// Session id -> (owner, size), for the sessions that have an owner.
    of: HashMap<String, (String, u64)>,
    max_sessions: Option<u64>,
    max_bytes: Option<u64>,
}

impl Owners {
    /// The owners of the `valid` sessions by the label `opts.per_owner`;
    /// empty without per-owner caps.
    pub(super) fn tally(opts: &PruneOptions, valid: &[Scanned]) -> Owners {
        let mut owners = Owners {
            usage: BTreeMap::new(),
            of: HashMap::new(),
            max_sessions: opts.max_sessions_per_owner,
            max_bytes: opts.max_bytes_per_owner,
        };
        let Some(key) = opts.per_owner.as_deref() else {
            return owners;
        };
        for s in valid {
            if let Some(owner) = owner_of(s, key) {
                let u = owners.usage.entry(owner.to_owned()).or_default();
                u.sessions += 1;
                u.bytes += s.size;
                owners.of.insert(s.id.clone(), (owner.to_owned(), s.size));
            }
        }
        owners
    }

    /// What `owner` holds now.
    fn usage_of(&self, owner: &str) -> Usage {
        self.usage.get(owner).copied().unwrap_or_default()
    }

    /// The cap an owner holding `u` is over, if any (count first, then bytes).
    fn over(&self, u: Usage) -> Option<Rule> {
        if self.max_sessions.is_some_and(|m| u.sessions > m) {
            Some(Rule::MaxSessionsPerOwner)
        } else if self.max_bytes.is_some_and(|m| u.bytes > m) {
            Some(Rule::MaxBytesPerOwner)
        } else {
            None
        }
    }

    /// Takes session `id` out of its owner's usage (deleted, or no longer
    /// that owner's).
    fn forget(&mut self, id: &str) {
        if let Some((owner, size)) = self.of.remove(id) {
            if let Some(u) = self.usage.get_mut(&owner) {
                u.sessions = u.sessions.saturating_sub(1);
                u.bytes = u.bytes.saturating_sub(size);
            }
        }
    }
}

/// The owner of `s` by the label `key`: its non-empty value, if the labels
/// could be read.
fn owner_of<'a>(s: &'a Scanned, key: &str) -> Option<&'a str> {
    s.labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

impl Pruner<'_> {
    /// Evicts, from `pool` (oldest first), each owner's least recently used
    /// sessions until every owner meets its caps or has no evictable session
    /// left, within `max_deletions`. Returns the pool's sessions not
    /// considered, in order, for the workspace's capacity rules.
    pub(super) fn evict_per_owner(
        &mut self,
        owners: &mut Owners,
        pool: Vec<Scanned>,
        cap: &mut Capacity,
    ) -> Vec<Scanned> {
        let Some(key) = self.opts.per_owner.clone() else {
            return pool;
        };
        // The age rule's deletions no longer count.
        for id in &self.result.deleted_sessions {
            owners.forget(id);
        }
        self.relabelled.clear();
        let (mut queues, mut rest) = (BTreeMap::<String, VecDeque<Scanned>>::new(), Vec::new());
        for s in pool {
            match owner_of(&s, &key).map(str::to_owned) {
                Some(o) if owners.over(owners.usage_of(&o)).is_some() => queues.entry(o).or_default().push_back(s),
                _ => rest.push(s),
            }
        }
        loop {
            let mut pinned = Vec::new();
            let batch = self.next_owner_batch(owners, &mut queues, &mut pinned);
            for id in pinned {
                skip(self.result, &id, SkipReason::Pinned);
            }
            if batch.is_empty() {
                break;
            }
            let before = self.result.deleted_sessions.len();
            self.execute(batch, cap);
            for id in &self.result.deleted_sessions[before..] {
                owners.forget(id);
            }
            for id in std::mem::take(&mut self.relabelled) {
                owners.forget(&id);
            }
        }
        // Sessions of owners within their caps (or still queued when the
        // budget ran out) stay candidates for the workspace's rules.
        rest.extend(queues.into_values().flatten());
        rest.sort_unstable_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
        rest
    }

    /// The next sessions to evict: from each owner over its caps, just
    /// enough of its oldest to meet them if all go; at most the budget. A
    /// pinned session reached goes to `pinned` (reported, never evicted; it
    /// still counts towards its owner's caps) and the next is taken.
    fn next_owner_batch(
        &self,
        owners: &Owners,
        queues: &mut BTreeMap<String, VecDeque<Scanned>>,
        pinned: &mut Vec<String>,
    ) -> Vec<(Scanned, Rule)> {
        let budget = self.budget();
        let mut batch = Vec::new();
        for (owner, queue) in queues.iter_mut() {
            let mut projected = owners.usage_of(owner);
            while let Some(rule) = owners.over(projected) {
                if budget <= batch.len() as u64 {
                    return batch;
                }
                let Some(s) = queue.pop_front() else { break };
                if s.retention.pin_holds(self.now) {
                    pinned.push(s.id);
                    continue;
                }
                projected.sessions = projected.sessions.saturating_sub(1);
                projected.bytes = projected.bytes.saturating_sub(s.size);
                batch.push((s, rule));
            }
        }
        batch
    }

    /// Records each per-owner cap still not met by some owner: the rule,
    /// its target and the largest owner's value, once per rule.
    pub(super) fn report_owners_unmet(&mut self, owners: &Owners) {
        let worst = |f: fn(&Usage) -> u64| owners.usage.values().map(f).max().unwrap_or(0);
        for (rule, target, actual) in [
            (Rule::MaxSessionsPerOwner, owners.max_sessions, worst(|u| u.sessions)),
            (Rule::MaxBytesPerOwner, owners.max_bytes, worst(|u| u.bytes)),
        ] {
            if let Some(target) = target.filter(|&t| actual > t) {
                self.unmet(rule, target, actual);
            }
        }
    }
}
