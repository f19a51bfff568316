//! Workspace statistics: what a monitoring system asks of a root. Sessions
//! by state and how many are leased, their total size (a walk of every
//! session: optional), how long they have been idle in fixed buckets, and
//! the root filesystem's size, free space and free inodes.
//!
//! Built only on the public listing ([`crate::inspect::list_sessions_sized`]):
//! the same sessions, states and lease probes as `wsprune ls`.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::inspect::{list_sessions_sized, SessionState};
use crate::session;

/// Upper bounds of the idle-time buckets, in seconds: 1 h, 6 h, 24 h, 7 d,
/// 30 d; the last bucket (+Inf) holds the rest. Fixed, so that every node
/// of a fleet reports the same buckets and they can be summed.
pub const IDLE_BUCKET_BOUNDS: [f64; 5] = [3600.0, 21600.0, 86400.0, 604_800.0, 2_592_000.0];

/// Number of idle-time buckets, the +Inf one included.
pub const IDLE_BUCKETS: usize = IDLE_BUCKET_BOUNDS.len() + 1;

/// How to gather [`WorkspaceStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsOptions {
    /// Walk every session to sum its size (as `wsprune ls` does). Off, the
    /// byte counts are `None`; the walk is the only part whose cost grows
    /// with what the guests wrote.
    pub measure_sizes: bool,
    /// Sessions examined concurrently; 0 picks [`crate::policy::default_jobs`].
    pub jobs: usize,
}

/// One idle-time bucket: the sessions idle for at most `upper_seconds`
/// (and more than the previous bucket's bound).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdleBucket {
    /// Upper bound of the bucket, in seconds (`f64::INFINITY` for the last).
    pub upper_seconds: f64,
    /// Sessions in this bucket (not cumulative).
    pub sessions: u64,
    /// Their total size in bytes; `None` unless sizes were measured.
    pub bytes: Option<u64>,
}

/// The root filesystem's capacity, from `fstatvfs` of the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FilesystemStats {
    /// Size in bytes (`f_blocks * f_frsize`).
    pub size_bytes: u64,
    /// Bytes available to unprivileged users (`f_bavail * f_frsize`), as the
    /// `min_free_bytes` rule counts them.
    pub available_bytes: u64,
    /// Inodes in total (`f_files`; 0 on filesystems without a fixed count).
    pub inodes: u64,
    /// Free inodes (`f_ffree`).
    pub free_inodes: u64,
}

/// Statistics of one workspace root at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceStats {
    /// When they were gathered (idle times are measured from it).
    pub collected_at: DateTime<Utc>,
    /// Sessions with valid metadata.
    pub ok: u64,
    /// Sessions without metadata.
    pub legacy: u64,
    /// Sessions whose metadata cannot be used.
    pub corrupted: u64,
    /// Sessions that could not be read.
    pub unreadable: u64,
    /// Sessions leased (or being deleted) right now.
    pub leased: u64,
    /// Total size of the sessions in bytes; `None` unless measured. An
    /// unreadable session counts 0 (its size is unknown).
    pub total_bytes: Option<u64>,
    /// Sessions with a known last use, by idle time ([`IDLE_BUCKET_BOUNDS`]).
    /// A session used in the future (clock skew) is idle 0 s.
    pub idle: [IdleBucket; IDLE_BUCKETS],
    /// The longest idle time of a session with a known last use, in
    /// seconds; `None` when there is none.
    pub oldest_idle_seconds: Option<f64>,
    /// The root filesystem.
    pub filesystem: FilesystemStats,
}

impl WorkspaceStats {
    /// All sessions, whatever their state.
    pub fn sessions(&self) -> u64 {
        self.ok + self.legacy + self.corrupted + self.unreadable
    }

    /// The statistics as one JSON object, the form `wsprune stats --json`
    /// prints (documented, stable): `collected_at`, `sessions` {`ok`,
    /// `legacy`, `corrupted`, `unreadable`}, `leased`, `total_bytes` (null
    /// unless measured), `idle` [{`le_seconds` (null for +Inf), `sessions`,
    /// `bytes` (null unless measured)}], `oldest_idle_seconds` (or null),
    /// `filesystem` {`size_bytes`, `available_bytes`, `inodes`, `free_inodes`}.
    pub fn to_json(&self) -> serde_json::Value {
        let idle: Vec<serde_json::Value> = self
            .idle
            .iter()
            .map(|b| {
                serde_json::json!({
                    "le_seconds": b.upper_seconds.is_finite().then_some(b.upper_seconds),
                    "sessions": b.sessions,
                    "bytes": b.bytes,
                })
            })
            .collect();
        serde_json::json!({
            "collected_at": crate::metadata::format_timestamp(self.collected_at),
            "sessions": {
                "ok": self.ok,
                "legacy": self.legacy,
                "corrupted": self.corrupted,
                "unreadable": self.unreadable,
            },
            "leased": self.leased,
            "total_bytes": self.total_bytes,
            "idle": idle,
            "oldest_idle_seconds": self.oldest_idle_seconds,
            "filesystem": {
                "size_bytes": self.filesystem.size_bytes,
                "available_bytes": self.filesystem.available_bytes,
                "inodes": self.filesystem.inodes,
                "free_inodes": self.filesystem.free_inodes,
            },
        })
    }

    /// Sessions in `state`.
    pub fn in_state(&self, state: SessionState) -> u64 {
        match state {
            SessionState::Ok => self.ok,
            SessionState::Legacy => self.legacy,
            SessionState::Corrupted => self.corrupted,
            SessionState::Unreadable => self.unreadable,
        }
    }
}

/// The index of the bucket for `idle_seconds`.
fn bucket_of(idle_seconds: f64) -> usize {
    IDLE_BUCKET_BOUNDS
        .iter()
        .position(|&b| idle_seconds <= b)
        .unwrap_or(IDLE_BUCKET_BOUNDS.len())
}

/// Gathers the statistics of `root`. A missing root is
/// [`crate::Status::NotFound`], an empty one [`crate::Status::InvalidArgument`].
pub fn workspace_stats(root: &Path, opts: &StatsOptions) -> Result<WorkspaceStats> {
    session::check_root(root)?;
    let filesystem = filesystem_stats(root)?;
    let sessions = list_sessions_sized(root, opts.jobs, opts.measure_sizes)?;
    let now = Utc::now();
    let sized = |b: u64| opts.measure_sizes.then_some(b);
    let mut stats = WorkspaceStats {
        collected_at: now,
        ok: 0,
        legacy: 0,
        corrupted: 0,
        unreadable: 0,
        leased: 0,
        total_bytes: sized(0),
        idle: std::array::from_fn(|i| IdleBucket {
            upper_seconds: IDLE_BUCKET_BOUNDS.get(i).copied().unwrap_or(f64::INFINITY),
            sessions: 0,
            bytes: sized(0),
        }),
        oldest_idle_seconds: None,
        filesystem,
    };
    for s in &sessions {
        match s.state {
            SessionState::Ok => stats.ok += 1,
            SessionState::Legacy => stats.legacy += 1,
            SessionState::Corrupted => stats.corrupted += 1,
            SessionState::Unreadable => stats.unreadable += 1,
        }
        stats.leased += u64::from(s.in_use);
        let bytes = s.known_size().unwrap_or(0);
        stats.total_bytes = stats.total_bytes.map(|t| t.saturating_add(bytes));
        if let Some(hours) = s.age_hours(now) {
            let idle = (hours * 3600.0).max(0.0);
            let b = &mut stats.idle[bucket_of(idle)];
            b.sessions += 1;
            b.bytes = b.bytes.map(|t| t.saturating_add(bytes));
            stats.oldest_idle_seconds = Some(stats.oldest_idle_seconds.map_or(idle, |o: f64| o.max(idle)));
        }
    }
    Ok(stats)
}

/// `fstatvfs` of the root, as the free-space and watermark rules read it.
fn filesystem_stats(root: &Path) -> Result<FilesystemStats> {
    let u = crate::fs_usage::FsUsage::of_root(root)?;
    Ok(FilesystemStats {
        size_bytes: u.size_bytes,
        available_bytes: u.available_bytes,
        inodes: u.inodes,
        // f_favail: Linux reserves no inodes, so it is f_ffree.
        free_inodes: u.available_inodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_upper_bounds() {
        assert_eq!(bucket_of(0.0), 0);
        assert_eq!(bucket_of(3600.0), 0);
        assert_eq!(bucket_of(3600.5), 1);
        assert_eq!(bucket_of(86400.0), 2);
        assert_eq!(bucket_of(2_592_000.0), 4);
        assert_eq!(bucket_of(2_592_001.0), 5);
        assert_eq!(bucket_of(f64::INFINITY), 5);
    }
}
