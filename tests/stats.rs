//! Workspace statistics on a real, private tmpfs (4 MiB, 1000 inodes), so the
//! filesystem numbers are known: states, leases, idle buckets, sizes against
//! an independent `du`-style count, and the C object's accessors.

#[path = "prune_support/mod.rs"]
mod prune_support;

use std::ffi::CString;
use std::path::Path;

use prune_support::{
    exclusive, hours_ago, legacy_session, metadata_text, registered_session, session, session_lock_file, stat_f,
    tree_bytes, write_file, write_metadata_raw, PrivateTmpfs,
};
use wsprune::ffi::*;
use wsprune::stats::IDLE_BUCKET_BOUNDS;
use wsprune::{workspace_stats, StatsOptions, Status};

/// A session idle for `hours`, holding `bytes` of data.
fn sized_session(root: &Path, hours: f64, bytes: usize) -> String {
    let id = session(root, hours);
    write_file(&root.join(&id).join("data.bin"), bytes);
    id
}

#[test]
fn states_leases_buckets_sizes_and_the_filesystem() {
    // Starts processes (the tool, mount): run alone (see support::exclusive).
    let _serial = exclusive();
    let fs = PrivateTmpfs::mount("size=4m,nr_inodes=1000");
    let root = fs.dir.join("ws");
    std::fs::create_dir(&root).unwrap();
    // One session per bucket: 0.5 h, 3 h, 12 h, 2 d, 10 d, 40 d.
    let ages = [0.5, 3.0, 12.0, 48.0, 240.0, 960.0];
    let ids: Vec<String> = ages
        .iter()
        .enumerate()
        .map(|(i, &h)| sized_session(&root, h, 1000 * (i + 1)))
        .collect();
    let legacy = legacy_session(&root);
    write_file(&root.join(&legacy).join("data.bin"), 5000);
    let corrupted = session(&root, 1.0);
    write_metadata_raw(&root.join(&corrupted), "{not json");
    std::fs::write(root.join("notes.txt"), "not a session").unwrap();
    let lease = wsprune::acquire(&root, &ids[1]).unwrap();

    let s = workspace_stats(
        &root,
        &StatsOptions {
            measure_sizes: true,
            jobs: 2,
        },
    )
    .unwrap();
    assert_eq!((s.ok, s.legacy, s.corrupted, s.unreadable), (6, 1, 1, 0));
    assert_eq!(s.sessions(), 8);
    assert_eq!(s.leased, 1);
    let all = [&ids[..], &[legacy.clone(), corrupted.clone()]].concat();
    let du: u64 = all.iter().map(|id| tree_bytes(&root.join(id))).sum();
    assert_eq!(s.total_bytes, Some(du));
    for (i, b) in s.idle.iter().enumerate() {
        assert_eq!(b.sessions, 1, "bucket {i}: {b:?}");
        assert_eq!(b.bytes, Some(tree_bytes(&root.join(&ids[i]))), "bucket {i}");
        let want = IDLE_BUCKET_BOUNDS.get(i).copied().unwrap_or(f64::INFINITY);
        assert_eq!(b.upper_seconds, want);
    }
    let oldest = s.oldest_idle_seconds.unwrap();
    assert!((oldest - 960.0 * 3600.0).abs() < 120.0, "{oldest}");

    let (bsize, blocks, avail, inodes, ffree) = stat_f(&root);
    assert_eq!(s.filesystem.size_bytes, 4 << 20);
    assert_eq!(s.filesystem.size_bytes, bsize * blocks);
    assert_eq!(s.filesystem.available_bytes, bsize * avail);
    assert_eq!((s.filesystem.inodes, s.filesystem.free_inodes), (inodes, ffree));
    assert_eq!(inodes, 1000);

    // The JSON form (`wsprune stats --json`, documented) carries the same figures.
    let j = s.to_json();
    assert_eq!(
        j["sessions"],
        serde_json::json!({"ok": 6, "legacy": 1, "corrupted": 1, "unreadable": 0})
    );
    assert_eq!((j["leased"].as_u64(), j["total_bytes"].as_u64()), (Some(1), Some(du)));
    let idle = j["idle"].as_array().unwrap();
    assert_eq!(idle.len(), s.idle.len());
    for (b, jb) in s.idle.iter().zip(idle) {
        assert_eq!(
            jb["le_seconds"].as_f64(),
            b.upper_seconds.is_finite().then_some(b.upper_seconds)
        );
        assert_eq!(
            (jb["sessions"].as_u64(), jb["bytes"].as_u64()),
            (Some(b.sessions), b.bytes)
        );
    }
    assert!(idle.last().unwrap()["le_seconds"].is_null());
    assert_eq!(j["oldest_idle_seconds"].as_f64(), Some(oldest));
    assert_eq!(
        j["filesystem"],
        serde_json::json!({"size_bytes": 4 << 20, "available_bytes": bsize * avail, "inodes": 1000, "free_inodes": ffree})
    );
    let at = chrono::DateTime::parse_from_rfc3339(j["collected_at"].as_str().unwrap()).unwrap();
    // Written with microseconds, as every timestamp wsprune writes.
    assert_eq!(at.timestamp_micros(), s.collected_at.timestamp_micros());

    // Without the walk: the same counts, no bytes.
    let quick = workspace_stats(&root, &StatsOptions::default()).unwrap();
    assert_eq!((quick.ok, quick.legacy, quick.corrupted, quick.leased), (6, 1, 1, 1));
    assert_eq!(quick.total_bytes, None);
    assert!(quick.idle.iter().all(|b| b.sessions == 1 && b.bytes.is_none()));
    lease.release(false).unwrap();
    assert_eq!(workspace_stats(&root, &StatsOptions::default()).unwrap().leased, 0);
}

/// A registered session is counted by its host-owned record, as a prune
/// decides (entry::examine): what the guest writes into its
/// `.metadata.json` (a date in 2000, garbage) moves it to no other bucket or
/// state, and the host directory is not a session.
#[test]
fn registered_sessions_count_by_their_record_not_the_guests_mirror() {
    // Starts processes (the tool, mount): run alone (see support::exclusive).
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let recent = registered_session(root, 2.0);
    let old = registered_session(root, 100.0);
    write_metadata_raw(&root.join(&recent), &metadata_text(&recent, hours_ago(200_000.0)));
    write_metadata_raw(&root.join(&old), "{garbage");
    let held = session_lock_file(root, &old);
    assert_eq!(
        // SAFETY: flock on a descriptor this test owns.
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&held), libc::LOCK_SH) },
        0
    );

    let s = workspace_stats(root, &StatsOptions::default()).unwrap();
    assert_eq!((s.ok, s.legacy, s.corrupted, s.unreadable), (2, 0, 0, 0));
    assert_eq!(s.leased, 1, "a lease is a shared lock on the session's host lock file");
    let per_bucket: Vec<u64> = s.idle.iter().map(|b| b.sessions).collect();
    assert_eq!(per_bucket, [0, 1, 0, 1, 0, 0]);
    let oldest = s.oldest_idle_seconds.unwrap();
    assert!((oldest - 100.0 * 3600.0).abs() < 120.0, "{oldest}");
    drop(held);
    assert_eq!(workspace_stats(root, &StatsOptions::default()).unwrap().leased, 0);
}

#[test]
fn an_empty_root_has_no_oldest_idle_time_and_a_missing_root_is_not_found() {
    // Starts processes (the tool, mount): run alone (see support::exclusive).
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let s = workspace_stats(tmp.path(), &StatsOptions::default()).unwrap();
    assert_eq!((s.sessions(), s.leased, s.oldest_idle_seconds), (0, 0, None));
    assert!(s.filesystem.size_bytes > 0);
    let e = workspace_stats(&tmp.path().join("nope"), &StatsOptions::default()).unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert_eq!(
        workspace_stats(Path::new(""), &StatsOptions::default())
            .unwrap_err()
            .status(),
        Status::InvalidArgument
    );
}

#[test]
fn the_c_object_answers_every_accessor_and_null() {
    // Starts processes (the tool, mount): run alone (see support::exclusive).
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let old = sized_session(tmp.path(), 30.0, 3000);
    let _young = session(tmp.path(), 0.1);
    legacy_session(tmp.path());
    let root = CString::new(tmp.path().to_str().unwrap()).unwrap();
    // SAFETY: every pointer passed is valid or NULL, as the header allows;
    // each object is freed once.
    unsafe {
        let mut err: *mut wsprune_error = std::ptr::null_mut();
        let s = wsprune_workspace_stats(root.as_ptr(), WSPRUNE_STATS_MEASURE_SIZES, &mut err);
        assert!(!s.is_null() && err.is_null());
        assert_eq!(wsprune_stats_sessions(s, -1), 3);
        assert_eq!(wsprune_stats_sessions(s, 0), 2);
        assert_eq!(wsprune_stats_sessions(s, 1), 1);
        assert_eq!(wsprune_stats_sessions(s, 2), 0);
        assert_eq!(wsprune_stats_sessions(s, 4), 0);
        assert_eq!(wsprune_stats_leased(s), 0);
        assert!(wsprune_stats_sizes_measured(s));
        assert!(wsprune_stats_total_bytes(s) >= tree_bytes(&tmp.path().join(&old)));
        assert_eq!(wsprune_stats_idle_bucket_sessions(s, 0), 1);
        assert_eq!(wsprune_stats_idle_bucket_sessions(s, 3), 1); // 30 h: at most 7 d
        assert_eq!(
            wsprune_stats_idle_bucket_bytes(s, 3),
            tree_bytes(&tmp.path().join(&old))
        );
        assert_eq!(wsprune_stats_idle_bucket_upper_seconds(s, 2), 86400.0);
        assert!(wsprune_stats_idle_bucket_upper_seconds(s, WSPRUNE_STATS_IDLE_BUCKETS - 1).is_infinite());
        assert!(wsprune_stats_idle_bucket_upper_seconds(s, WSPRUNE_STATS_IDLE_BUCKETS).is_nan());
        assert_eq!(wsprune_stats_idle_bucket_sessions(s, 99), 0);
        let oldest = wsprune_stats_oldest_idle_seconds(s);
        assert!((oldest - 30.0 * 3600.0).abs() < 120.0, "{oldest}");
        assert!(wsprune_stats_fs_size_bytes(s) >= wsprune_stats_fs_available_bytes(s));
        assert!(wsprune_stats_fs_inodes(s) >= wsprune_stats_fs_free_inodes(s));
        let now = chrono::Utc::now().timestamp_micros();
        assert!((now - wsprune_stats_collected_at_us(s)).abs() < 60_000_000);
        wsprune_stats_free(s);

        let s = wsprune_workspace_stats(root.as_ptr(), 0, &mut err);
        assert!(!wsprune_stats_sizes_measured(s));
        assert_eq!(wsprune_stats_total_bytes(s), 0);
        assert_eq!(wsprune_stats_idle_bucket_bytes(s, 3), 0);
        wsprune_stats_free(s);

        // Bad input: NULL results, owned errors, no crash.
        assert!(wsprune_workspace_stats(root.as_ptr(), 2, &mut err).is_null());
        assert_eq!(
            wsprune_error_status(err),
            wsprune_status::WSPRUNE_STATUS_INVALID_ARGUMENT
        );
        wsprune_error_free(err);
        assert!(wsprune_workspace_stats(std::ptr::null(), 0, &mut err).is_null());
        assert_eq!(
            wsprune_error_status(err),
            wsprune_status::WSPRUNE_STATUS_INVALID_ARGUMENT
        );
        wsprune_error_free(err);
        let without_error_pointer = wsprune_workspace_stats(root.as_ptr(), 0, std::ptr::null_mut());
        assert!(!without_error_pointer.is_null());
        wsprune_stats_free(without_error_pointer);
        let null = std::ptr::null();
        assert_eq!(wsprune_stats_sessions(null, -1), 0);
        assert!(!wsprune_stats_sizes_measured(null));
        assert_eq!(wsprune_stats_oldest_idle_seconds(null), -1.0);
        assert_eq!(wsprune_stats_collected_at_us(null), 0);
        wsprune_stats_free(std::ptr::null_mut());
    }
}
