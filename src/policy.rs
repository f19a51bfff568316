//! Pruning policy: the options of a prune and the rules that select which
//! sessions go, as data. Applying them to what a scan found (which sessions
//! go, oldest first) is the prune's selection phase, `src/prune/select.rs`;
//! the locked deletion itself lives in [`crate::prune`].

use std::time::Duration;

use crate::error::{Error, Result, Status};
use crate::fs_usage::FsUsage;
use crate::labels::{self, Selector};

/// The rule that selected a deleted session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Not used for `older_than_hours` or more.
    OlderThan,
    /// Evicted (least recently updated first) to bring the workspace under `max_total_bytes`.
    MaxTotalBytes,
    /// Evicted (oldest first) to keep at most `max_sessions` sessions.
    MaxSessions,
    /// Evicted (oldest first) until the filesystem has `min_free_bytes` free
    /// (or `min_free_percent` of its size, whichever is more).
    MinFreeBytes,
    /// A deletion an earlier, interrupted prune had started (its trash
    /// directory). Kept for ABI stability; no longer produced since 0.3.0:
    /// finished trash is reported in [`crate::PruneResult::interrupted`],
    /// never as a deleted session.
    Interrupted,
    /// Evicted (oldest first) because the filesystem's used bytes had reached
    /// `high_watermark_percent`, until they are at most `low_watermark_percent`.
    Watermark,
    /// As [`Rule::Watermark`], for the filesystem's inodes
    /// (`high_inode_watermark_percent`, `low_inode_watermark_percent`).
    InodeWatermark,
    /// Evicted (least recently used first, within its owner) to keep its
    /// owner at most `max_sessions_per_owner` sessions. Since 0.4.0.
    MaxSessionsPerOwner,
    /// Evicted (least recently used first, within its owner) to bring its
    /// owner under `max_bytes_per_owner`. Since 0.4.0.
    MaxBytesPerOwner,
    /// The session's own TTL passed (its record's `idle_ttl_seconds` or
    /// `expires_at`; docs/contract.md, "Per-session TTL"). Since 0.4.0.
    Ttl,
}

impl Rule {
    /// The rule as it appears in results, JSON and events, e.g. `"older_than"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::OlderThan => "older_than",
            Rule::MaxTotalBytes => "max_total_bytes",
            Rule::MaxSessions => "max_sessions",
            Rule::MinFreeBytes => "min_free_bytes",
            Rule::Interrupted => "interrupted",
            Rule::Watermark => "watermark",
            Rule::InodeWatermark => "inode_watermark",
            Rule::MaxSessionsPerOwner => "max_sessions_per_owner",
            Rule::MaxBytesPerOwner => "max_bytes_per_owner",
            Rule::Ttl => "ttl",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Default wait for the workspace lock held by another prune of the same root.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Default floor of the size and count rules, in hours: a session used within
/// the last hour is never evicted by them unless the caller asks for a lower
/// floor explicitly (docs/contract.md).
pub const DEFAULT_MIN_AGE_HOURS: f64 = 1.0;

/// What to prune. A session goes if any enabled rule selects it. Size and
/// count rules (`max_total_bytes`, `max_sessions`, `min_free_bytes`) evict
/// the least recently updated sessions first and never evict one that is
/// leased, younger than `min_age_hours`, or without readable metadata.
///
/// ```
/// let opts = wsprune::PruneOptions {
///     older_than_hours: Some(72.0),
///     max_total_bytes: Some(50 << 30),
///     min_age_hours: 1.0,
///     ..Default::default()
/// };
/// assert!(opts.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PruneOptions {
    /// Sessions whose `updated_at` is at least this many hours old go. `None` disables the rule.
    pub older_than_hours: Option<f64>,
    /// Evict until the sessions' total size (sum of file sizes) is at most this.
    /// `None`: no such rule; `Some(0)` is invalid.
    pub max_total_bytes: Option<u64>,
    /// Keep at most this many sessions (the most recently updated ones).
    /// `None`: no such rule; `Some(0)` is invalid.
    pub max_sessions: Option<u64>,
    /// Evict until the filesystem holding the root has at least this many bytes
    /// available (statvfs `f_bavail * f_frsize`, plus what the prune frees).
    /// `None`: no such rule; `Some(0)` is invalid.
    pub min_free_bytes: Option<u64>,
    /// Evict until the filesystem has at least this percentage of its size
    /// available (`f_bavail / f_blocks`), in (0, 100]; one rule with
    /// `min_free_bytes` (the larger target wins, reported as `min_free_bytes`).
    /// `None`: no such rule; 0 is invalid.
    pub min_free_percent: Option<f64>,
    /// Capacity eviction by disk pressure, kubelet style: when the
    /// filesystem holding the root is at least this full (percent of its
    /// size used, `100 * (1 - f_bavail / f_blocks)`, as the prune begins),
    /// evict the least recently used sessions until it is at most
    /// `low_watermark_percent` full. Below it the rule does nothing. In
    /// (0, 100]; `None`: no such rule; 0 is invalid (it would always evict).
    pub high_watermark_percent: Option<f64>,
    /// The level a crossed `high_watermark_percent` evicts down to, in
    /// (0, high]. `None`: the high watermark itself (no hysteresis); set
    /// without a high watermark, or above it, is invalid.
    pub low_watermark_percent: Option<f64>,
    /// As `high_watermark_percent`, for the filesystem's inodes
    /// (`100 * (1 - f_favail / f_files)`); a filesystem that reports no
    /// inode count (`f_files` 0) never crosses it.
    pub high_inode_watermark_percent: Option<f64>,
    /// As `low_watermark_percent`, for inodes.
    pub low_inode_watermark_percent: Option<f64>,
    /// Delete at most this many sessions in this prune (oldest first); for
    /// incremental pruning. Finishing an interrupted deletion does not count.
    /// `None`: no limit; `Some(0)` is invalid.
    pub max_deletions: Option<u64>,
    /// Size and count rules never evict a session updated less than this many
    /// hours ago. Default [`DEFAULT_MIN_AGE_HOURS`] (1 h); `0.0`: no floor.
    pub min_age_hours: f64,
    /// Report what would go, delete nothing.
    pub dry_run: bool,
    /// Sessions handled concurrently; 0 picks [`default_jobs`].
    pub jobs: usize,
    /// How long to wait for another prune of the same root to finish before
    /// giving [`Status::Busy`].
    pub lock_timeout: Duration,
    /// Declares that no other host uses this root: a root on a filesystem
    /// whose directory locks reach this host only (NFS, SMB, 9p, FUSE; see
    /// [`crate::shared_fs`]) is then pruned, with a warning event, instead
    /// of refused. Default false.
    pub single_host: bool,
    /// Only sessions whose labels match this selector are candidates for any
    /// rule, and only they count towards `max_total_bytes` and
    /// `max_sessions` (docs/contract.md, "Labels"). `None`: every session.
    pub selector: Option<Selector>,
    /// The label whose value names a session's owner, for the per-owner
    /// caps (e.g. `"owner"`). Sessions without a value for it (absent or
    /// empty) belong to no owner and no per-owner cap evicts them. `None`:
    /// no per-owner caps (then the caps below must be unset).
    pub per_owner: Option<String>,
    /// Keep at most this many sessions per owner, evicting each owner's
    /// least recently used first. `None`: no such rule; `Some(0)` is invalid.
    pub max_sessions_per_owner: Option<u64>,
    /// Evict each owner's least recently used sessions until the owner's
    /// sessions take at most this many bytes. `None`: no such rule;
    /// `Some(0)` is invalid.
    pub max_bytes_per_owner: Option<u64>,
    /// Evaluate the rules as of this time instead of now: what a prune then
    /// would delete (the look-ahead; docs/contract.md, "Look-ahead"). Ages,
    /// TTLs and pins are taken at this time; sizes and free space are
    /// today's. Only with `dry_run`, and a time a record can hold
    /// ([`crate::metadata::is_storable`]), else [`Status::InvalidArgument`].
    /// `None`: now.
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
}

impl Default for PruneOptions {
    /// The reference implementation's default: sessions idle for 24 hours go;
    /// no size or count rule (their floor, should one be added, is 1 h).
    fn default() -> Self {
        PruneOptions {
            older_than_hours: Some(24.0),
            max_total_bytes: None,
            max_sessions: None,
            min_free_bytes: None,
            min_free_percent: None,
            high_watermark_percent: None,
            low_watermark_percent: None,
            high_inode_watermark_percent: None,
            low_inode_watermark_percent: None,
            max_deletions: None,
            min_age_hours: DEFAULT_MIN_AGE_HOURS,
            dry_run: false,
            jobs: 0,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            single_host: false,
            selector: None,
            per_owner: None,
            max_sessions_per_owner: None,
            max_bytes_per_owner: None,
            as_of: None,
        }
    }
}

impl PruneOptions {
    /// Age-only options, as the reference `prune_sessions(older_than_hours, dry_run)`.
    pub fn older_than(hours: f64, dry_run: bool) -> Self {
        PruneOptions {
            older_than_hours: Some(hours),
            dry_run,
            ..Default::default()
        }
    }

    /// Checks the options: hours must be finite and >= 0, and a cap or limit
    /// that is set must be at least 1 (0 would be read as "no rule" by the C
    /// ABI and as "delete everything" by a person: leave it unset instead).
    /// Errors are [`Status::InvalidArgument`].
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("max_total_bytes", self.max_total_bytes),
            ("max_sessions", self.max_sessions),
            ("min_free_bytes", self.min_free_bytes),
            ("max_deletions", self.max_deletions),
            ("max_sessions_per_owner", self.max_sessions_per_owner),
            ("max_bytes_per_owner", self.max_bytes_per_owner),
        ] {
            if v == Some(0) {
                return Err(Error::new(
                    Status::InvalidArgument,
                    format!("{name} must be at least 1; leave it unset to turn the rule off"),
                ));
            }
        }
        let check = |name: &str, h: f64| {
            if h.is_finite() && h >= 0.0 {
                Ok(())
            } else {
                Err(Error::new(
                    Status::InvalidArgument,
                    format!("{name} must be a finite number >= 0, got {h}"),
                ))
            }
        };
        if let Some(h) = self.older_than_hours {
            check("older_than_hours", h)?;
        }
        check("min_age_hours", self.min_age_hours)?;
        check_percent("min_free_percent", self.min_free_percent)?;
        check_watermarks(
            ("high_watermark_percent", self.high_watermark_percent),
            ("low_watermark_percent", self.low_watermark_percent),
        )?;
        check_watermarks(
            ("high_inode_watermark_percent", self.high_inode_watermark_percent),
            ("low_inode_watermark_percent", self.low_inode_watermark_percent),
        )?;
        if let Some(t) = self.as_of {
            crate::metadata::check_storable(t, "as_of")?;
        }
        if self.as_of.is_some() && !self.dry_run {
            return Err(Error::new(
                Status::InvalidArgument,
                "as_of (a look-ahead) needs a dry run: a prune deletes only what is due now",
            ));
        }
        self.validate_owner_caps()
    }

    /// The per-owner caps need the owner label, and the owner label a cap.
    fn validate_owner_caps(&self) -> Result<()> {
        let caps = self.max_sessions_per_owner.is_some() || self.max_bytes_per_owner.is_some();
        match &self.per_owner {
            Some(key) => {
                labels::validate_key(key)?;
                if !caps {
                    return Err(Error::new(
                        Status::InvalidArgument,
                        "per_owner names the owner label but no per-owner cap is set (max_sessions_per_owner, max_bytes_per_owner)",
                    ));
                }
            }
            None if caps => {
                return Err(Error::new(
                    Status::InvalidArgument,
                    "a per-owner cap needs per_owner, the label that names a session's owner",
                ))
            }
            None => {}
        }
        Ok(())
    }

    /// Whether a per-owner cap is set.
    pub fn has_owner_caps(&self) -> bool {
        self.per_owner.is_some()
    }

    /// Whether a selector or per-owner caps are set: the prune then scans
    /// every session before deleting any.
    pub fn has_label_rules(&self) -> bool {
        self.selector.is_some() || self.has_owner_caps()
    }

    /// Whether any size or count rule is enabled (they need every session's
    /// size or count; a watermark only once it is crossed).
    pub fn has_capacity_rules(&self) -> bool {
        self.max_total_bytes.is_some()
            || self.max_sessions.is_some()
            || self.has_free_space_rules()
            || self.has_watermarks()
    }

    /// Whether a rule reads the filesystem's free space (`min_free_*`).
    pub fn has_free_space_rules(&self) -> bool {
        self.min_free_bytes.is_some() || self.min_free_percent.is_some()
    }

    /// Whether a high watermark (bytes or inodes) is set.
    pub fn has_watermarks(&self) -> bool {
        self.high_watermark_percent.is_some() || self.high_inode_watermark_percent.is_some()
    }

    /// Which high watermarks `usage` has reached, (bytes, inodes): used
    /// percent at or above the mark. A filesystem that reports no size (no
    /// inode count) never reaches its watermark.
    pub fn watermarks_crossed(&self, usage: &FsUsage) -> (bool, bool) {
        let bytes = self
            .high_watermark_percent
            .is_some_and(|h| usage.size_bytes > 0 && usage.used_percent() >= h);
        let inodes = self
            .high_inode_watermark_percent
            .is_some_and(|h| usage.inodes > 0 && usage.inode_used_percent() >= h);
        (bytes, inodes)
    }

    /// The effective low watermark of bytes: the low one, or the high one when unset.
    pub fn low_watermark(&self) -> Option<f64> {
        self.low_watermark_percent.or(self.high_watermark_percent)
    }

    /// The effective low watermark of inodes, as [`Self::low_watermark`].
    pub fn low_inode_watermark(&self) -> Option<f64> {
        self.low_inode_watermark_percent.or(self.high_inode_watermark_percent)
    }

    /// The number of workers this prune uses.
    pub fn effective_jobs(&self) -> usize {
        if self.jobs == 0 {
            default_jobs()
        } else {
            self.jobs.min(MAX_JOBS)
        }
    }
}

/// A percentage that is set must be a finite number in (0, 100]: 0 would be
/// read as "no rule" by the C ABI and as "evict everything" by a person.
fn check_percent(name: &str, v: Option<f64>) -> Result<()> {
    match v {
        Some(p) if !(p.is_finite() && p > 0.0 && p <= 100.0) => Err(Error::new(
            Status::InvalidArgument,
            format!("{name} must be a percentage in (0, 100], got {p}; leave it unset to turn the rule off"),
        )),
        _ => Ok(()),
    }
}

/// A watermark pair: each a valid percentage, the low one only with a high
/// one and never above it.
fn check_watermarks((high_name, high): (&str, Option<f64>), (low_name, low): (&str, Option<f64>)) -> Result<()> {
    check_percent(high_name, high)?;
    check_percent(low_name, low)?;
    match (high, low) {
        (None, Some(_)) => Err(Error::new(
            Status::InvalidArgument,
            format!("{low_name} is set without {high_name}: a low watermark is what a crossed high one evicts down to"),
        )),
        (Some(h), Some(l)) if l > h => Err(Error::new(
            Status::InvalidArgument,
            format!("{low_name} ({l}) is above {high_name} ({h})"),
        )),
        _ => Ok(()),
    }
}

/// How [`crate::delete_session_with`] deletes one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Wait up to this long for the session's leases to go; `None`: a leased
    /// session is [`Status::Busy`] at once.
    pub wait: Option<Duration>,
    /// As [`PruneOptions::single_host`]. Default false.
    pub single_host: bool,
    /// Delete a pinned session too (without it a pinned session is
    /// [`Status::InvalidArgument`], saying so). Default false. Since 0.4.0.
    pub force: bool,
}

/// Upper bound on workers, whatever the caller asks.
pub const MAX_JOBS: usize = 64;

/// The default number of sessions handled concurrently. Deletion waits on
/// the filesystem (journal, inode locks) more than on the CPU, so it pays to
/// have more workers than cores; see docs/performance.md for the measurements
/// behind the factor.
pub fn default_jobs() -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    (cores * 4).clamp(4, 16)
}
