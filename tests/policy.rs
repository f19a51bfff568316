//! Retention policies beyond age: each rule alone
//! and combined, ties, leased sessions, the min-age floor, max_deletions, the
//! rule recorded per deletion (result, JSON, events), the workspace lock,
//! parallel jobs, and the single-session operations delete, info and repair.

#[path = "prune_support/mod.rs"]
mod support;

use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use support::*;
use wsprune::{PruneOptions, PruneResult, Rule, SessionState, SkipReason, Status};

/// A session `age_hours` old holding one file of `bytes` bytes; returns its id.
fn sized_session(root: &Path, age_hours: f64, bytes: usize) -> String {
    let id = session(root, age_hours);
    write_file(&root.join(&id).join("blob"), bytes);
    id
}

fn run(root: &Path, opts: PruneOptions) -> PruneResult {
    wsprune::prune_sessions(root, &opts).unwrap_or_else(|e| panic!("prune failed: {e}"))
}

/// Options with no rule enabled, to add rules to.
fn no_rules() -> PruneOptions {
    PruneOptions {
        older_than_hours: None,
        ..Default::default()
    }
}

fn rules(r: &PruneResult) -> Vec<(String, Rule)> {
    r.deleted_sessions
        .iter()
        .cloned()
        .zip(r.deleted_rules.iter().copied())
        .collect()
}

fn total_bytes(root: &Path) -> u64 {
    names(root)
        .iter()
        .filter(|n| is_uuid_name(n))
        .map(|n| tree_bytes(&root.join(n)))
        .sum()
}

#[test]
fn max_total_bytes_evicts_least_recently_updated_first_and_dry_run_agrees() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // Ages chosen out of creation order, so the order is by updated_at, not by name or inode.
    let ages = [30.0, 10.0, 50.0, 20.0, 40.0];
    let ids: Vec<String> = ages.iter().map(|&a| sized_session(root, a, 10_000)).collect();
    let one = tree_bytes(&root.join(&ids[0]));
    let cap = total_bytes(root) - 2 * one - one / 2; // needs three evictions
    let opts = PruneOptions {
        max_total_bytes: Some(cap),
        ..no_rules()
    };
    let expected = ids_of(&[&ids[2], &ids[4], &ids[0]]); // 50 h, 40 h, 30 h

    let dry = run(
        root,
        PruneOptions {
            dry_run: true,
            ..opts.clone()
        },
    );
    assert_eq!(sorted(&dry.deleted_sessions), expected);
    assert_eq!(dry.reclaimed_bytes, 3 * one);
    assert_eq!(names(root).len(), 5, "a dry run deletes nothing");

    let real = run(root, opts.clone());
    assert_eq!(sorted(&real.deleted_sessions), expected);
    assert!(real.deleted_rules.iter().all(|&r| r == Rule::MaxTotalBytes));
    assert_eq!(real.reclaimed_bytes, 3 * one);
    assert!(total_bytes(root) <= cap);
    assert_eq!(sorted(&names(root)), ids_of(&[&ids[1], &ids[3]]));

    // Already under the cap: nothing more goes.
    assert!(run(root, opts).deleted_sessions.is_empty());
}

fn ids_of(v: &[&String]) -> Vec<String> {
    ids(v)
}

#[test]
fn max_sessions_keeps_the_newest_and_never_evicts_unreadable_ones() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let valid: Vec<String> = [5.0, 1.0, 4.0, 2.0, 3.0].iter().map(|&a| session(root, a)).collect();
    let legacy = legacy_session(root);
    let r = run(
        root,
        PruneOptions {
            max_sessions: Some(3),
            ..no_rules()
        },
    );
    // 6 sessions, keep 3: the three oldest valid ones go; the legacy one counts but stays.
    assert_eq!(sorted(&r.deleted_sessions), ids_of(&[&valid[0], &valid[2], &valid[4]]));
    assert!(r.deleted_rules.iter().all(|&x| x == Rule::MaxSessions));
    assert_eq!(skipped(&r), vec![(legacy.clone(), SkipReason::MissingMetadata)]);
    assert_eq!(sorted(&names(root)), ids_of(&[&valid[1], &valid[3], &legacy]));
}

#[test]
fn ties_in_updated_at_are_broken_by_session_id() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let at = hours_ago(3.0);
    let mut ids: Vec<String> = (0..6).map(|_| new_id()).collect();
    for id in &ids {
        std::fs::create_dir_all(root.join(id)).unwrap();
        write_metadata_raw(&root.join(id), &metadata_text(id, at));
    }
    ids.sort();
    let r = run(
        root,
        PruneOptions {
            max_sessions: Some(4),
            ..no_rules()
        },
    );
    assert_eq!(r.deleted_sessions, ids[..2].to_vec());
}

#[test]
fn min_age_floor_protects_fresh_sessions_from_size_and_count_rules() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let old = sized_session(root, 5.0, 1000);
    let fresh_a = sized_session(root, 0.2, 1000);
    let fresh_b = sized_session(root, 0.1, 1000);
    let future = sized_session(root, -3.0, 1000);
    let r = run(
        root,
        PruneOptions {
            max_sessions: Some(1),
            max_total_bytes: Some(1),
            min_age_hours: 1.0,
            ..no_rules()
        },
    );
    assert_eq!(r.deleted_sessions, vec![old]);
    // Over both limits still, but the rest are younger than the floor (or from the future).
    assert_eq!(sorted(&names(root)), ids_of(&[&fresh_a, &fresh_b, &future]));
}

#[test]
fn a_leased_session_is_skipped_and_the_next_oldest_goes_instead() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let oldest = sized_session(root, 9.0, 5000);
    let second = sized_session(root, 8.0, 5000);
    let newest = sized_session(root, 1.0, 5000);
    let one = tree_bytes(&root.join(&oldest));
    let lease = wsprune::acquire(root, &oldest).unwrap();
    let r = run(
        root,
        PruneOptions {
            max_total_bytes: Some(2 * one),
            ..no_rules()
        },
    );
    assert_eq!(rules(&r), vec![(second.clone(), Rule::MaxTotalBytes)]);
    assert_eq!(skipped(&r), vec![(oldest.clone(), SkipReason::InUse)]);
    assert_eq!(sorted(&names(root)), ids_of(&[&oldest, &newest]));
    drop(lease);
}

#[test]
fn max_deletions_takes_the_oldest_first_and_a_later_prune_continues() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ids: Vec<String> = [30.0, 70.0, 50.0, 40.0, 60.0]
        .iter()
        .map(|&a| session(root, a))
        .collect();
    let fresh = session(root, 1.0);
    let opts = PruneOptions {
        older_than_hours: Some(24.0),
        max_deletions: Some(2),
        jobs: 8,
        ..Default::default()
    };
    let first = run(root, opts.clone());
    assert_eq!(sorted(&first.deleted_sessions), ids_of(&[&ids[1], &ids[4]])); // 70 h, 60 h
    let second = run(root, opts.clone());
    assert_eq!(sorted(&second.deleted_sessions), ids_of(&[&ids[2], &ids[3]])); // 50 h, 40 h
    let third = run(root, opts);
    assert_eq!(third.deleted_sessions, vec![ids[0].clone()]);
    assert_eq!(names(root), vec![fresh]);
}

#[test]
fn combined_rules_record_which_rule_selected_each_session_in_result_json_and_events() {
    let _serial = exclusive(); // installs the process-wide event handler
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let stale = session(root, 48.0);
    let mid = session(root, 10.0);
    let newer = session(root, 5.0);
    let newest = session(root, 1.0);
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    wsprune::events::set_handler(Some(Arc::new(move |e: &wsprune::Event| {
        if e.name == "session.prune.deleted" {
            sink.lock().unwrap().push((
                e.fields["session_id"].as_str().unwrap().to_owned(),
                e.fields["rule"].as_str().unwrap().to_owned(),
            ));
        }
    })));
    let r = run(
        root,
        PruneOptions {
            older_than_hours: Some(24.0),
            max_sessions: Some(2),
            ..Default::default()
        },
    );
    wsprune::events::set_handler(None);
    let mut want = vec![(stale.clone(), Rule::OlderThan), (mid.clone(), Rule::MaxSessions)];
    want.sort();
    assert_eq!(rules(&r), want);
    assert_eq!(r.rule_of(&stale), Some(Rule::OlderThan));
    assert_eq!(r.rule_of(&newest), None);
    let json = r.to_json();
    assert_eq!(json["deleted_rules"][&stale], "older_than");
    assert_eq!(json["deleted_rules"][&mid], "max_sessions");
    let mut seen = events.lock().unwrap().clone();
    seen.sort();
    let mut want: Vec<_> = want.iter().map(|(id, r)| (id.clone(), r.as_str().to_owned())).collect();
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(sorted(&names(root)), ids_of(&[&newer, &newest]));
}

#[test]
fn interrupted_deletions_are_reported_in_their_own_list() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let id = new_id();
    let trash = root.join(format!(".wsprune-trash.{id}.1.2"));
    std::fs::create_dir_all(trash.join("sub")).unwrap();
    write_file(&trash.join("sub/f"), 123);
    // Look-alikes wsprune never makes are not its trash: left alone, not reported.
    let foreign = [
        ".wsprune-trash.garbage".to_owned(),
        format!(".wsprune-trash.{}", new_id()),
        format!(".wsprune-trash.{}.1", new_id()),
        format!(".wsprune-trash.{}.1.x", new_id()),
        format!(".wsprune-trash.{}.1.2.3", new_id()),
    ];
    for name in &foreign {
        std::fs::create_dir_all(root.join(name).join("keep")).unwrap();
    }
    let trash_bytes = tree_bytes(&trash);
    let r = run(root, no_rules());
    assert_eq!(rules(&r), vec![], "trash is not a deleted session");
    assert_eq!(r.interrupted, vec![format!(".wsprune-trash.{id}.1.2")]);
    assert_eq!(r.reclaimed_bytes, trash_bytes);
    assert!(!exists(&trash));
    assert!(r.errors.is_empty() && r.skipped_sessions.is_empty());
    for name in &foreign {
        assert!(exists(&root.join(name).join("keep")), "{name} was touched");
    }
}

/// The free-space rule reads statvfs, so it runs on a private tmpfs whose
/// free space no other process changes.
#[test]
fn min_free_bytes_evicts_the_oldest_until_enough_is_free() {
    let _serial = exclusive(); // mounts
    let tmp = tempfile::tempdir().unwrap();
    if let Err(why) = mount_works(tmp.path()) {
        eprintln!("SKIPPED min_free_bytes test: {why}");
        return;
    }
    let root = tmp.path().join("fs");
    std::fs::create_dir(&root).unwrap();
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        .arg(&root)
        .status()
        .unwrap();
    assert!(status.success());
    let _unmount = UnmountAll(tmp.path().to_path_buf());
    let mb = 1 << 20;
    let oldest = sized_session(&root, 30.0, 2 * mb);
    let second = sized_session(&root, 20.0, 2 * mb);
    let third = sized_session(&root, 10.0, 2 * mb);
    let newest = sized_session(&root, 1.0, 2 * mb);
    let free = statvfs_avail(&root);
    // Needs 3 MB more: two sessions of 2 MB.
    let r = run(
        &root,
        PruneOptions {
            min_free_bytes: Some(free + 3 * mb as u64),
            ..no_rules()
        },
    );
    assert_eq!(sorted(&r.deleted_sessions), ids_of(&[&oldest, &second]));
    assert!(r.deleted_rules.iter().all(|&x| x == Rule::MinFreeBytes));
    assert_eq!(sorted(&names(&root)), ids_of(&[&third, &newest]));
    assert!(statvfs_avail(&root) >= free + 3 * mb as u64);
    assert!(r.unmet_targets.is_empty(), "{:?}", r.unmet_targets);

    // More than the 16 MiB filesystem can ever have free: everything evictable
    // goes (the 1 h session too, with an explicit floor of 0), and the result
    // says the target was not reached, projected in a dry run as well.
    let lease = wsprune::acquire(&root, &newest).unwrap();
    let impossible = PruneOptions {
        min_free_bytes: Some(64 * mb as u64),
        min_age_hours: 0.0,
        ..no_rules()
    };
    let dry = run(
        &root,
        PruneOptions {
            dry_run: true,
            ..impossible.clone()
        },
    );
    assert_eq!(dry.deleted_sessions, vec![third.clone()]);
    assert_eq!(dry.unmet_targets, vec![Rule::MinFreeBytes]);
    assert!(
        dry.summary().ends_with("; target not reached: min_free_bytes"),
        "{}",
        dry.summary()
    );
    let r = run(&root, impossible);
    assert_eq!(r.deleted_sessions, vec![third]);
    assert_eq!(r.unmet_targets, vec![Rule::MinFreeBytes]);
    assert_eq!(r.to_json()["unmet_targets"], serde_json::json!(["min_free_bytes"]));
    assert_eq!(names(&root), vec![newest]);
    drop(lease);
}

fn statvfs_avail(p: &Path) -> u64 {
    let c = cstr(p.as_os_str().as_encoded_bytes());
    // SAFETY: `libc::statvfs` is plain integers, for which all zeroes is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: the path is a NUL-terminated string and the buffer a valid, writable struct, both for the call.
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
    st.f_bavail as u64 * st.f_frsize as u64
}

fn mount_works(dir: &Path) -> Result<(), String> {
    let probe = dir.join("probe");
    std::fs::create_dir(&probe).unwrap();
    let out = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&probe)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cannot mount a tmpfs here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    umount(&probe);
    std::fs::remove_dir(&probe).unwrap();
    Ok(())
}

#[test]
fn prunes_of_one_root_take_turns_and_time_out_busy() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let stale = session(root, 48.0);
    let quick = |dry_run| PruneOptions {
        lock_timeout: Duration::from_millis(200),
        ..PruneOptions::older_than(24.0, dry_run)
    };
    // Another prune (simulated by holding its lock) is running.
    let other = workspace_lock_file(root);
    // SAFETY: takes no pointers; a bad descriptor would only be an error.
    assert_eq!(unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX) }, 0);
    let started = std::time::Instant::now();
    let err = wsprune::prune_sessions(root, &quick(false)).unwrap_err();
    assert_eq!(err.status(), Status::Busy, "{err}");
    assert!(started.elapsed() >= Duration::from_millis(200), "did not wait");
    assert!(err.message().contains("another prune"), "{err}");
    assert_eq!(
        wsprune::prune_sessions(root, &quick(true)).unwrap_err().status(),
        Status::Busy
    );
    // A dry run (shared) may run beside another dry run, but a real prune may not.
    // SAFETY: takes no pointers; a bad descriptor would only be an error.
    assert_eq!(unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_SH) }, 0);
    assert_eq!(run(root, quick(true)).deleted_sessions, vec![stale.clone()]);
    assert_eq!(
        wsprune::prune_sessions(root, &quick(false)).unwrap_err().status(),
        Status::Busy
    );
    // The other prune finishes while we wait: we go ahead.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        drop(other);
    });
    let r = run(
        root,
        PruneOptions {
            lock_timeout: Duration::from_secs(10),
            ..PruneOptions::older_than(24.0, false)
        },
    );
    releaser.join().unwrap();
    assert_eq!(r.deleted_sessions, vec![stale]);
}

#[test]
fn the_number_of_jobs_never_changes_the_outcome() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut rng = SplitMix(test_seed());
    for i in 0..300 {
        let age = rng.below(96) as f64 + 0.5;
        let id = sized_session(root, age, rng.below(3000) as usize);
        if i % 50 == 0 {
            std::fs::remove_file(root.join(&id).join(".metadata.json")).unwrap();
        }
    }
    let opts = |jobs, dry_run| PruneOptions {
        older_than_hours: Some(48.0),
        max_sessions: Some(100),
        jobs,
        dry_run,
        ..Default::default()
    };
    // Idle ages are measured at each run's own start: equal up to the clock.
    let without_ages = |mut r: PruneResult| {
        r.deleted_age_hours.clear();
        r
    };
    let one = without_ages(run(root, opts(1, true)));
    for jobs in [2, 8, 64] {
        assert_eq!(without_ages(run(root, opts(jobs, true))), one, "jobs={jobs}");
    }
    let before = total_bytes(root);
    let real = run(root, opts(16, false));
    assert_eq!(real.deleted_sessions, one.deleted_sessions);
    assert_eq!(real.deleted_rules, one.deleted_rules);
    assert_eq!(real.reclaimed_bytes, one.reclaimed_bytes);
    assert_eq!(before - total_bytes(root), real.reclaimed_bytes);
    assert!(real.errors.is_empty(), "{:?}", real.errors);
}

#[test]
fn capacity_rules_spare_sessions_used_within_the_default_hour() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    assert_eq!(PruneOptions::default().min_age_hours, 1.0);
    let old = session(root, 3.0);
    let recent = session(root, 0.5);
    let just_now = session(root, 0.0);
    let opts = PruneOptions {
        max_sessions: Some(1),
        ..no_rules()
    };
    let r = run(root, opts.clone());
    // Only the 3 h old session is past the default floor; the count stays over.
    assert_eq!(rules(&r), vec![(old, Rule::MaxSessions)]);
    assert_eq!(r.unmet_targets, vec![Rule::MaxSessions]);
    assert_eq!(sorted(&names(root)), ids_of(&[&recent, &just_now]));
    // An explicit floor of 0 goes below it.
    let r = run(
        root,
        PruneOptions {
            min_age_hours: 0.0,
            ..opts
        },
    );
    assert_eq!(r.deleted_sessions.len(), 1);
    assert!(r.unmet_targets.is_empty());
}

#[test]
fn unmet_targets_are_reported_when_leases_hold_the_count_up() {
    let _serial = exclusive(); // installs the process-wide event handler
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let a = sized_session(root, 30.0, 1000);
    let b = sized_session(root, 20.0, 1000);
    let c = sized_session(root, 10.0, 1000);
    let _la = wsprune::acquire(root, &a).unwrap();
    let _lb = wsprune::acquire(root, &b).unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    wsprune::events::set_handler(Some(Arc::new(move |e: &wsprune::Event| {
        if e.name == "session.prune.target_unmet" {
            sink.lock().unwrap().push((e.level, e.fields.clone()));
        }
    })));
    let opts = PruneOptions {
        max_sessions: Some(1),
        max_total_bytes: Some(1 << 30),
        ..no_rules()
    };
    let dry = wsprune::prune_sessions(
        root,
        &PruneOptions {
            dry_run: true,
            ..opts.clone()
        },
    );
    let real = wsprune::prune_sessions(root, &opts);
    wsprune::events::set_handler(None);
    let (dry, real) = (dry.unwrap(), real.unwrap());
    for r in [&dry, &real] {
        assert_eq!(rules(r), vec![(c.clone(), Rule::MaxSessions)]);
        // Two leased sessions remain: a cap of 1 cannot be met; the size cap is.
        assert_eq!(r.unmet_targets, vec![Rule::MaxSessions]);
        assert_eq!(r.to_json()["unmet_targets"], serde_json::json!(["max_sessions"]));
    }
    let seen = events.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (level, fields) in seen {
        assert_eq!(level, wsprune::Level::Warning);
        assert_eq!(fields["rule"], "max_sessions");
        assert_eq!(fields["target"], 1);
        assert_eq!(fields["actual"], 2);
    }
    assert_eq!(sorted(&names(root)), ids_of(&[&a, &b]));
}

#[test]
fn a_cap_of_zero_is_refused_rather_than_read_as_no_rule_or_delete_all() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let id = session(root, 48.0);
    for (name, opts) in [
        (
            "max_total_bytes",
            PruneOptions {
                max_total_bytes: Some(0),
                ..no_rules()
            },
        ),
        (
            "max_sessions",
            PruneOptions {
                max_sessions: Some(0),
                ..no_rules()
            },
        ),
        (
            "min_free_bytes",
            PruneOptions {
                min_free_bytes: Some(0),
                ..no_rules()
            },
        ),
        (
            "max_deletions",
            PruneOptions {
                max_deletions: Some(0),
                ..Default::default()
            },
        ),
    ] {
        for dry_run in [true, false] {
            let err = wsprune::prune_sessions(
                root,
                &PruneOptions {
                    dry_run,
                    ..opts.clone()
                },
            )
            .unwrap_err();
            assert_eq!(err.status(), Status::InvalidArgument, "{name}");
            assert!(
                err.message().contains(name) && err.message().contains("leave it unset"),
                "{err}"
            );
        }
    }
    assert_eq!(names(root), vec![id]);
}

#[test]
fn invalid_options_are_invalid_arguments() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    for opts in [
        PruneOptions::older_than(f64::NAN, false),
        PruneOptions::older_than(-1.0, false),
        PruneOptions::older_than(f64::INFINITY, true),
        PruneOptions {
            min_age_hours: f64::NAN,
            ..Default::default()
        },
        PruneOptions {
            min_age_hours: -0.5,
            ..Default::default()
        },
    ] {
        let err = wsprune::prune_sessions(tmp.path(), &opts).unwrap_err();
        assert_eq!(err.status(), Status::InvalidArgument, "{opts:?}");
        assert!(err.message().contains("hours"), "{err}");
    }
}

#[test]
fn delete_session_removes_any_session_safely_and_refuses_leased_ones() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let fresh = sized_session(root, 0.0, 4096);
    std::fs::create_dir(root.join(&fresh).join("sub")).unwrap();
    write_file(&root.join(&fresh).join("sub/f"), 100);
    let expect = tree_bytes(&root.join(&fresh));
    assert_eq!(wsprune::delete_session(root, &fresh, None).unwrap(), expect);
    assert!(!exists(&root.join(&fresh)));
    assert!(names(root).is_empty(), "no trash left: {:?}", names(root));

    let legacy = legacy_session(root);
    // An empty directory frees its own blocks (none on tmpfs, one on ext4).
    let expect = tree_bytes(&root.join(&legacy));
    assert_eq!(wsprune::delete_session(root, &legacy, None).unwrap(), expect);

    let leased = session(root, 1.0);
    let lease = wsprune::acquire(root, &leased).unwrap();
    let err = wsprune::delete_session(root, &leased, None).unwrap_err();
    assert_eq!(err.status(), Status::Busy, "{err}");
    let err = wsprune::delete_session(root, &leased, Some(Duration::from_millis(100))).unwrap_err();
    assert_eq!(err.status(), Status::Busy, "{err}");
    assert!(exists(&root.join(&leased)));
    // Asked to wait, it goes once the lease is released.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        lease.release(false).unwrap();
    });
    wsprune::delete_session(root, &leased, Some(Duration::from_secs(10))).unwrap();
    releaser.join().unwrap();
    assert!(!exists(&root.join(&leased)));

    let missing = new_id();
    assert_eq!(
        wsprune::delete_session(root, &missing, None).unwrap_err().status(),
        Status::NotFound
    );
    assert_eq!(
        wsprune::delete_session(&root.join("nope"), &missing, None)
            .unwrap_err()
            .status(),
        Status::NotFound
    );
    assert_eq!(
        wsprune::delete_session(root, "../etc", None).unwrap_err().status(),
        Status::InvalidSessionId
    );
    // A UUID-named symlink to a directory outside is not a session.
    let outside = tempfile::tempdir().unwrap();
    write_file(&outside.path().join("keep"), 10);
    let link = new_id();
    std::os::unix::fs::symlink(outside.path(), root.join(&link)).unwrap();
    assert_eq!(
        wsprune::delete_session(root, &link, None).unwrap_err().status(),
        Status::NotFound
    );
    assert!(exists(&outside.path().join("keep")));
}

#[test]
fn session_info_and_list_report_times_size_state_and_leases() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ok = sized_session(root, 3.0, 1000);
    let legacy = legacy_session(root);
    write_file(&root.join(&legacy).join("f"), 7);
    let corrupted = session(root, 1.0);
    write_metadata_raw(&root.join(&corrupted), "{not json");
    let leased = session(root, 2.0);
    let lease = wsprune::acquire(root, &leased).unwrap();
    // Not sessions: trash, other names, a symlink, a file.
    std::fs::create_dir(root.join(format!(".wsprune-trash.{}.1.1", new_id()))).unwrap();
    std::fs::create_dir(root.join("not-a-session")).unwrap();
    std::os::unix::fs::symlink(root.join(&ok), root.join(new_id())).unwrap();
    std::fs::write(root.join(new_id()), b"file").unwrap();

    let info = wsprune::session_info(root, &ok).unwrap();
    assert_eq!(info.state, SessionState::Ok);
    assert_eq!(info.size_bytes, tree_bytes(&root.join(&ok)));
    let age = info.age_hours(chrono::Utc::now()).unwrap();
    assert!((age - 3.0).abs() < 0.01, "{age}");
    assert_eq!(info.created_at, info.updated_at);
    assert!(!info.in_use);

    let l = wsprune::session_info(root, &legacy).unwrap();
    let legacy_bytes = tree_bytes(&root.join(&legacy));
    assert_eq!(
        (l.state, l.size_bytes, l.updated_at),
        (SessionState::Legacy, legacy_bytes, None)
    );
    let c = wsprune::session_info(root, &corrupted).unwrap();
    assert_eq!(c.state, SessionState::Corrupted);
    assert!(c.problem.is_some());
    assert!(wsprune::session_info(root, &leased).unwrap().in_use);
    drop(lease);
    assert!(!wsprune::session_info(root, &leased).unwrap().in_use);

    let listed: Vec<String> = wsprune::list_sessions(root, 4)
        .unwrap()
        .into_iter()
        .map(|i| i.session_id)
        .collect();
    assert_eq!(listed, ids_of(&[&ok, &legacy, &corrupted, &leased]));
    assert_eq!(
        wsprune::session_info(root, &new_id()).unwrap_err().status(),
        Status::NotFound
    );
    assert_eq!(
        wsprune::list_sessions(&root.join("nope"), 0).unwrap_err().status(),
        Status::NotFound
    );
    assert_eq!(
        wsprune::session_info(root, "x/../..").unwrap_err().status(),
        Status::InvalidSessionId
    );
}

fn set_mtime(p: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn repair_dates_legacy_and_corrupted_sessions_by_their_newest_file() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let day = Duration::from_secs(86_400);
    let now = SystemTime::now();
    let legacy = legacy_session(root);
    std::fs::create_dir(root.join(&legacy).join("deep")).unwrap();
    write_file(&root.join(&legacy).join("old"), 10);
    write_file(&root.join(&legacy).join("deep/newer"), 10);
    set_mtime(&root.join(&legacy).join("old"), now - 5 * day);
    let newest = now - 3 * day;
    set_mtime(&root.join(&legacy).join("deep/newer"), newest);
    let corrupted = session(root, 1.0);
    write_metadata_raw(&root.join(&corrupted), "garbage");
    set_mtime(&root.join(&corrupted).join(".metadata.json"), now - 2 * day);
    let fine = session(root, 100.0);
    let fine_text = std::fs::read(root.join(&fine).join(".metadata.json")).unwrap();
    let leased = legacy_session(root);
    let lease = wsprune::acquire(root, &leased).unwrap();

    let dry = wsprune::repair_sessions(root, true).unwrap();
    let repaired: Vec<&str> = dry.repaired.iter().map(|r| r.session_id.as_str()).collect();
    assert_eq!(
        sorted(&repaired.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        ids_of(&[&legacy, &corrupted])
    );
    assert!(!exists(&root.join(&legacy).join(".metadata.json")), "dry run wrote");

    let r = wsprune::repair_sessions(root, false).unwrap();
    assert_eq!(r.repaired, dry.repaired);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].0, leased);
    let by_id = |id: &str| r.repaired.iter().find(|x| x.session_id == id).unwrap().clone();
    assert_eq!(by_id(&legacy).previous, SessionState::Legacy);
    assert_eq!(by_id(&corrupted).previous, SessionState::Corrupted);
    let want: chrono::DateTime<chrono::Utc> = newest.into();
    assert!((by_id(&legacy).updated_at - want).num_milliseconds().abs() < 1);
    match wsprune::read_metadata(root, &legacy).unwrap() {
        wsprune::MetadataState::Valid(m) => {
            assert_eq!(m.session_id, legacy);
            assert_eq!(m.updated_at, by_id(&legacy).updated_at);
        }
        other => panic!("legacy not repaired: {other:?}"),
    }
    assert!(matches!(
        wsprune::read_metadata(root, &corrupted).unwrap(),
        wsprune::MetadataState::Valid(_)
    ));
    assert_eq!(
        std::fs::read(root.join(&fine).join(".metadata.json")).unwrap(),
        fine_text
    );
    let json = r.to_json();
    assert_eq!(json["repaired"].as_array().unwrap().len(), 2);
    assert!(json["errors"][&leased].as_str().unwrap().contains("in use"));
    drop(lease);

    // Now dated, the age rule applies: the 3-day-old legacy session and the 100 h one go.
    let p = run(root, PruneOptions::older_than(60.0, false));
    assert_eq!(sorted(&p.deleted_sessions), ids_of(&[&legacy, &fine]));
}
