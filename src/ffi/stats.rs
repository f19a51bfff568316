//! The `wsprune_stats` object: a workspace's statistics and their accessors.

use super::*;
use crate::stats::{workspace_stats, StatsOptions, WorkspaceStats, IDLE_BUCKETS};

/// A workspace's statistics at one instant (`wsprune_workspace_stats`).
/// Owned by the caller; free it with `wsprune_stats_free`. Immutable: any
/// number of threads may read it at once.
pub struct wsprune_stats {
    stats: WorkspaceStats,
}

/// Flag of `wsprune_workspace_stats`: walk every session to sum its size
/// (as `wsprune ls` does; the cost grows with what the sessions hold).
/// Without it the byte counts are 0 and `wsprune_stats_sizes_measured` is false.
pub const WSPRUNE_STATS_MEASURE_SIZES: u64 = 1;

/// Number of idle-time buckets (`wsprune_stats_idle_bucket_*`): sessions
/// idle for at most 1 h, 6 h, 24 h, 7 d, 30 d, and longer (+Inf).
pub const WSPRUNE_STATS_IDLE_BUCKETS: usize = 6;
const _: () = assert!(WSPRUNE_STATS_IDLE_BUCKETS == IDLE_BUCKETS);

/// Gathers the statistics of `workspace_root`: sessions by state
/// (`wsprune_session_state`), how many are leased now, their total size (only
/// with `WSPRUNE_STATS_MEASURE_SIZES` in `flags`), how long they have been
/// idle in fixed buckets, the longest idle time, and the root filesystem's
/// size, available bytes and inodes. Reads only; takes no lock a prune waits
/// for. A missing root is WSPRUNE_STATUS_NOT_FOUND; an unknown bit in `flags`
/// WSPRUNE_STATUS_INVALID_ARGUMENT.
///
/// Returns an object owned by the caller (free with `wsprune_stats_free`), or
/// NULL with `*error` set (if `error` is not NULL) to an owned error; on
/// success `*error` is set to NULL. `workspace_root` is borrowed for the call.
/// Thread-safe. Since 0.4.0.
#[no_mangle]
pub unsafe extern "C" fn wsprune_workspace_stats(
    workspace_root: *const c_char,
    flags: u64,
    error: *mut *mut wsprune_error,
) -> *mut wsprune_stats {
    let mut out = std::ptr::null_mut();
    let r = guarded(|| {
        let root = arg_root(workspace_root)?;
        if flags & !WSPRUNE_STATS_MEASURE_SIZES != 0 {
            return Err(Error::new(
                Status::InvalidArgument,
                format!("flags {flags:#x} set bits this version of wsprune does not know"),
            ));
        }
        let opts = StatsOptions {
            measure_sizes: flags & WSPRUNE_STATS_MEASURE_SIZES != 0,
            jobs: 0,
        };
        let stats = workspace_stats(root, &opts)?;
        out = Box::into_raw(Box::new(wsprune_stats { stats }));
        Ok(())
    });
    report(error, r);
    out
}

/// Runs an accessor on stats that may be NULL, with a panic boundary.
unsafe fn with_stats<T>(s: *const wsprune_stats, default: T, f: impl FnOnce(&WorkspaceStats) -> T) -> T {
    if s.is_null() {
        return default;
    }
    let s = &(*s).stats;
    caught(|| f(s)).unwrap_or(default)
}

/// Sessions in `state` (a `wsprune_session_state` value: 0 ok, 1 legacy, 2
/// corrupted, 3 unreadable), or every session for -1; 0 for NULL or any
/// other value. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_sessions(s: *const wsprune_stats, state: c_int) -> u64 {
    with_stats(s, 0, |s| match state {
        -1 => s.sessions(),
        0 => s.in_state(SessionState::Ok),
        1 => s.in_state(SessionState::Legacy),
        2 => s.in_state(SessionState::Corrupted),
        3 => s.in_state(SessionState::Unreadable),
        _ => 0,
    })
}

/// Sessions leased (or being deleted) when the statistics were gathered; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_leased(s: *const wsprune_stats) -> u64 {
    with_stats(s, 0, |s| s.leased)
}

/// Whether sizes were measured (`WSPRUNE_STATS_MEASURE_SIZES`); false for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_sizes_measured(s: *const wsprune_stats) -> bool {
    with_stats(s, false, |s| s.total_bytes.is_some())
}

/// Total size of the sessions in bytes (blocks allocated, as a deletion
/// frees them); 0 when sizes were not measured, or for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_total_bytes(s: *const wsprune_stats) -> u64 {
    with_stats(s, 0, |s| s.total_bytes.unwrap_or(0))
}

/// Upper bound of idle-time bucket `i` (0 to `WSPRUNE_STATS_IDLE_BUCKETS` - 1)
/// in seconds: 3600, 21600, 86400, 604800, 2592000, then INFINITY; NaN for
/// NULL or an `i` out of range.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_idle_bucket_upper_seconds(s: *const wsprune_stats, i: usize) -> f64 {
    with_stats(s, f64::NAN, |s| s.idle.get(i).map_or(f64::NAN, |b| b.upper_seconds))
}

/// Sessions in idle-time bucket `i`: idle for at most its upper bound and
/// more than the previous bucket's (not cumulative). Only sessions whose last
/// use is known (state ok) are counted; one dated in the future counts as
/// idle 0 s. 0 for NULL or an `i` out of range.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_idle_bucket_sessions(s: *const wsprune_stats, i: usize) -> u64 {
    with_stats(s, 0, |s| s.idle.get(i).map_or(0, |b| b.sessions))
}

/// Bytes of the sessions in idle-time bucket `i`; 0 when sizes were not
/// measured, for NULL or an `i` out of range.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_idle_bucket_bytes(s: *const wsprune_stats, i: usize) -> u64 {
    with_stats(s, 0, |s| s.idle.get(i).and_then(|b| b.bytes).unwrap_or(0))
}

/// The longest idle time of a session whose last use is known, in seconds;
/// -1 when there is none, or for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_oldest_idle_seconds(s: *const wsprune_stats) -> f64 {
    with_stats(s, -1.0, |s| s.oldest_idle_seconds.unwrap_or(-1.0))
}

/// The root filesystem's size in bytes; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_fs_size_bytes(s: *const wsprune_stats) -> u64 {
    with_stats(s, 0, |s| s.filesystem.size_bytes)
}

/// Bytes available to unprivileged users on the root filesystem (as the
/// `min_free_bytes` rule counts them); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_fs_available_bytes(s: *const wsprune_stats) -> u64 {
    with_stats(s, 0, |s| s.filesystem.available_bytes)
}

/// Inodes of the root filesystem in total (0 on filesystems without a fixed
/// number, such as btrfs); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_fs_inodes(s: *const wsprune_stats) -> u64 {
    with_stats(s, 0, |s| s.filesystem.inodes)
}

/// Free inodes of the root filesystem; 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_fs_free_inodes(s: *const wsprune_stats) -> u64 {
    with_stats(s, 0, |s| s.filesystem.free_inodes)
}

/// When the statistics were gathered, in microseconds since the Unix epoch
/// (idle times are measured from it); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_collected_at_us(s: *const wsprune_stats) -> i64 {
    with_stats(s, 0, |s| s.collected_at.timestamp_micros())
}

/// Frees statistics. NULL is a no-op. Takes ownership of `s`.
#[no_mangle]
pub unsafe extern "C" fn wsprune_stats_free(s: *mut wsprune_stats) {
    if !s.is_null() {
        let _ = caught(|| drop(Box::from_raw(s)));
    }
}
