//! Pruning policy: the options of a prune and the rules that select which
//! sessions go, as data. Applying them to what a scan found (which sessions
//! go, oldest first) is the prune's selection phase, `src/prune/select.rs`;
//! the locked deletion itself lives in [`crate::prune`].

use std::time::Duration;

use crate::error::{Error, Result, Status};

/// The rule that selected a deleted session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Not used for `older_than_hours` or more.
    OlderThan,
    /// Evicted (least recently updated first) to bring the workspace under `max_total_bytes`.
    MaxTotalBytes,
    /// Evicted (oldest first) to keep at most `max_sessions` sessions.
    MaxSessions,
    /// Evicted (oldest first) until the filesystem has `min_free_bytes` free.
    MinFreeBytes,
    /// A deletion an earlier, interrupted prune had started (its trash
    /// directory). Kept for ABI stability; no longer produced since 0.3.0:
    /// finished trash is reported in [`crate::PruneResult::interrupted`],
    /// never as a deleted session.
    Interrupted,
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
            max_deletions: None,
            min_age_hours: DEFAULT_MIN_AGE_HOURS,
            dry_run: false,
            jobs: 0,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            single_host: false,
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
        check("min_age_hours", self.min_age_hours)
    }

    /// Whether any size or count rule is enabled (they need every session's size or count).
    pub fn has_capacity_rules(&self) -> bool {
        self.max_total_bytes.is_some() || self.max_sessions.is_some() || self.min_free_bytes.is_some()
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

/// How [`crate::delete_session_with`] deletes one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Wait up to this long for the session's leases to go; `None`: a leased
    /// session is [`Status::Busy`] at once.
    pub wait: Option<Duration>,
    /// As [`PruneOptions::single_host`]. Default false.
    pub single_host: bool,
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
