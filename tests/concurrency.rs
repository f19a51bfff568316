//! Concurrency:
//! touch vs prune, concurrent prunes, leases under many prunes, and the same
//! across processes, including a prune killed with SIGKILL mid-deletion.

#[path = "prune_support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use support::*;
use wsprune::{MetadataState, SkipReason, Status, TouchOutcome};

/// A tiny deterministic generator (no extra dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Skips of stale sessions with any reason other than "in_use" (the only
/// honest one for a session another prune is deleting), and "in_use" by a
/// prune that also reports it deleted.
fn wrong_skips(results: &[wsprune::PruneResult], stale: &[String]) -> Vec<(String, SkipReason)> {
    let mut wrong = Vec::new();
    for r in results {
        for s in &r.skipped_sessions {
            if stale.contains(&s.session_id)
                && (s.reason != SkipReason::InUse || r.deleted_sessions.contains(&s.session_id))
            {
                wrong.push((s.session_id.clone(), s.reason));
            }
        }
    }
    wrong
}

/// Sets a flag when dropped, so helper threads stop even when the test fails.
struct StopOnDrop(Arc<AtomicBool>);
impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A prune that opened a session just before another prune deleted it must
/// not report it as a legacy session: once the other prune has removed
/// `.metadata.json`, the session is gone (renamed to trash), not legacy.
/// Correct reports are nothing, or "in_use". Runs rounds of concurrent
/// prunes until the race shows or about 2 s have passed.
#[test]
fn a_session_deleted_by_a_concurrent_prune_is_never_reported_as_legacy() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut round = 0;
    while Instant::now() < deadline {
        let root = tmp.path().join(format!("ws{round}"));
        let stale: Vec<String> = (0..100).map(|_| session(&root, 48.0)).collect();
        for id in &stale {
            write_file(&root.join(id).join("f"), 10);
        }
        let barrier = Arc::new(Barrier::new(3));
        let results: Vec<wsprune::PruneResult> = (0..3)
            .map(|_| {
                let (root, barrier) = (root.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    prune(&root, 24.0, false)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        let deleted: Vec<String> = results
            .iter()
            .flat_map(|r| r.deleted_sessions.iter().cloned())
            .collect();
        assert_eq!(sorted(&deleted), sorted(&stale), "round {round}");
        let wrong = wrong_skips(&results, &stale);
        assert!(
            wrong.is_empty(),
            "round {round}: sessions that another prune was deleting (and did delete) were reported as skipped: {wrong:?}"
        );
        round += 1;
    }
}

/// Touch vs prune: sessions are 2 h old and the threshold is 1 h, so only a
/// touch saves them. Touchers record "touched" after a touch returns; every
/// prune snapshots those records before it starts and must not delete any
/// session recorded. Untouched control sessions must go, each session is
/// deleted at most once, and "deleted" agrees with the filesystem.
#[test]
fn touch_vs_prune_a_completed_touch_always_rescues() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let deadline = Instant::now() + Duration::from_millis(2500);
    let mut round = 0u64;
    let (mut rescued_total, mut lost_race_total, mut prunes_total) = (0, 0, 0);
    while Instant::now() < deadline || round < 3 {
        let root = Arc::new(tmp.path().join(format!("ws{round}")));
        let touched_ids: Vec<String> = (0..12).map(|_| session(&root, 2.0)).collect();
        let control: Vec<String> = (0..4).map(|_| session(&root, 2.0)).collect();
        let flags: Arc<Vec<AtomicBool>> = Arc::new(touched_ids.iter().map(|_| AtomicBool::new(false)).collect());
        let touched_ids = Arc::new(touched_ids);
        let stop = Arc::new(AtomicBool::new(false));
        let _stop_guard = StopOnDrop(stop.clone());
        let deleted_count: Arc<Mutex<HashMap<String, usize>>> = Arc::default();

        let mut threads = Vec::new();
        for t in 0..2usize {
            let (root, ids, flags, stop) = (root.clone(), touched_ids.clone(), flags.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                let mut rng = Lcg(round * 7 + t as u64 + 1);
                let mine: Vec<usize> = (0..ids.len()).filter(|i| i % 2 == t).collect();
                while !stop.load(Ordering::Relaxed) {
                    let i = mine[(rng.next() as usize) % mine.len()];
                    std::thread::sleep(Duration::from_micros(rng.next() % 1500));
                    match wsprune::touch_session(&root, &ids[i]) {
                        Ok(TouchOutcome::Updated(_)) => flags[i].store(true, Ordering::SeqCst),
                        // Deleted (or being deleted) by a prune that started before this touch.
                        Ok(TouchOutcome::Legacy) => {}
                        Err(e) if e.status() == Status::NotFound => {}
                        other => panic!("unexpected touch outcome for {}: {other:?}", ids[i]),
                    }
                }
            }));
        }
        let pruner = {
            let (root, ids, flags, stop, deleted_count) = (
                root.clone(),
                touched_ids.clone(),
                flags.clone(),
                stop.clone(),
                deleted_count.clone(),
            );
            std::thread::spawn(move || {
                let mut prunes = 0;
                let mut violations = Vec::new();
                while !stop.load(Ordering::Relaxed) || prunes < 2 {
                    let protected: BTreeSet<&String> = ids
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| flags[*i].load(Ordering::SeqCst))
                        .map(|(_, s)| s)
                        .collect();
                    let r = prune(&root, 1.0, false);
                    prunes += 1;
                    assert!(r.errors.is_empty(), "{:?}", r.errors);
                    assert!(r.skipped_sessions.is_empty(), "{:?}", r.skipped_sessions);
                    for d in &r.deleted_sessions {
                        if protected.contains(d) {
                            violations.push(d.clone());
                        }
                        *deleted_count.lock().unwrap().entry(d.clone()).or_default() += 1;
                    }
                    std::thread::sleep(Duration::from_micros(300));
                }
                (prunes, violations)
            })
        };
        std::thread::sleep(Duration::from_millis(150));
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        let (prunes, violations) = pruner.join().unwrap();
        assert!(
            violations.is_empty(),
            "round {round}: sessions deleted by a prune that started after their touch completed: {violations:?}"
        );

        let deleted = deleted_count.lock().unwrap().clone();
        for (id, n) in &deleted {
            assert_eq!(*n, 1, "{id} reported deleted {n} times");
        }
        for id in touched_ids.iter().chain(control.iter()) {
            assert_eq!(
                deleted.contains_key(id),
                !exists(&root.join(id)),
                "{id}: reported deleted vs exists disagree"
            );
        }
        for id in &control {
            assert!(
                deleted.contains_key(id),
                "untouched 2 h old session {id} survived {prunes} prunes"
            );
        }
        // Survivors were rescued by a touch: fresh and valid metadata.
        for id in touched_ids.iter().filter(|id| !deleted.contains_key(*id)) {
            match wsprune::read_metadata(&root, id).unwrap() {
                MetadataState::Valid(m) => assert!(m.age_hours(chrono::Utc::now()) < 0.1),
                other => panic!("{id}: {other:?}"),
            }
            rescued_total += 1;
        }
        lost_race_total += touched_ids.iter().filter(|id| deleted.contains_key(*id)).count();
        prunes_total += prunes;
        round += 1;
    }
    eprintln!(
        "touch_vs_prune: {round} rounds, {prunes_total} prunes, {rescued_total} sessions rescued by a touch, {lost_race_total} pruned before their first touch"
    );
}

/// Concurrent prunes of one root: no session is reported deleted twice,
/// together they delete every stale session exactly once, and the bytes add up.
/// A prune may see a session another is deleting as "in_use", nothing else.
#[test]
fn concurrent_prunes_delete_each_session_exactly_once() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..4 {
        let root = tmp.path().join(format!("ws{round}"));
        let stale: Vec<String> = (0..120).map(|_| session(&root, 48.0)).collect();
        for (i, id) in stale.iter().enumerate() {
            std::fs::create_dir(root.join(id).join("d")).unwrap();
            write_file(&root.join(id).join("d/f"), 100 + i);
        }
        let recent: Vec<String> = (0..5).map(|_| session(&root, 1.0)).collect();
        let legacy: Vec<String> = (0..3).map(|_| legacy_session(&root)).collect();
        let total = stale.iter().map(|id| tree_bytes(&root.join(id))).sum::<u64>();

        let n = 4;
        let barrier = Arc::new(Barrier::new(n));
        let results: Vec<_> = (0..n)
            .map(|_| {
                let (root, barrier) = (root.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    prune(&root, 24.0, false)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();

        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for r in &results {
            assert!(r.errors.is_empty(), "round {round}: {:?}", r.errors);
            for d in &r.deleted_sessions {
                *seen.entry(d.clone()).or_default() += 1;
            }
        }
        let dupes: Vec<_> = seen.iter().filter(|(_, &c)| c > 1).collect();
        assert!(
            dupes.is_empty(),
            "round {round}: reported deleted by more than one prune: {dupes:?}"
        );
        assert_eq!(
            seen.keys().cloned().collect::<Vec<_>>(),
            sorted(&stale),
            "round {round}"
        );
        assert_eq!(
            results.iter().map(|r| r.reclaimed_bytes).sum::<u64>(),
            total,
            "round {round}: bytes double-counted or lost"
        );
        let mut left = recent.clone();
        left.extend(legacy.iter().cloned());
        assert_eq!(names(&root), sorted(&left), "round {round}");
        for r in &results {
            let mut l: Vec<_> = r
                .skipped_sessions
                .iter()
                .filter(|s| legacy.contains(&s.session_id))
                .map(|s| (s.session_id.clone(), s.reason))
                .collect();
            l.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(
                l,
                sorted(&legacy)
                    .into_iter()
                    .map(|id| (id, SkipReason::MissingMetadata))
                    .collect::<Vec<_>>(),
                "every prune reports every legacy session"
            );
        }
        let wrong = wrong_skips(&results, &stale);
        assert!(
            wrong.is_empty(),
            "round {round}: stale sessions deleted by another prune were reported with a wrong skip reason: {wrong:?}"
        );
    }
}

/// Leased sessions are never deleted while the lease is held, under many
/// concurrent prunes; meanwhile other threads take and drop leases on the
/// unleased sessions, and whenever acquire succeeds the session is complete
/// for as long as the lease is held.
#[test]
fn leases_hold_under_many_concurrent_prunes() {
    let _serial = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = Arc::new(tmp.path().join("ws"));
    let held: Vec<String> = (0..4).map(|_| session(&root, 48.0)).collect();
    let churn: Arc<Vec<String>> = Arc::new((0..16).map(|_| session(&root, 48.0)).collect());
    for id in held.iter().chain(churn.iter()) {
        write_file(&root.join(id).join("marker"), 64);
    }
    let held_before: Vec<_> = held.iter().map(|id| snapshot(&root.join(id))).collect();
    let leases: Vec<_> = held.iter().map(|id| wsprune::acquire(&root, id).unwrap()).collect();

    let stop = Arc::new(AtomicBool::new(false));
    let _stop_guard = StopOnDrop(stop.clone());
    let checked = Arc::new(AtomicUsize::new(0));
    let churners: Vec<_> = (0..2u64)
        .map(|t| {
            let (root, churn, stop, checked) = (root.clone(), churn.clone(), stop.clone(), checked.clone());
            std::thread::spawn(move || {
                let mut rng = Lcg(t + 11);
                while !stop.load(Ordering::Relaxed) {
                    let id = &churn[(rng.next() as usize) % churn.len()];
                    match wsprune::acquire(&root, id) {
                        Ok(lease) => {
                            for _ in 0..3 {
                                let d = root.join(id);
                                if let Err(e) = std::fs::read(d.join("marker")) {
                                    panic!(
                                        "{id} lost its files while leased: {e}; session dir exists: {}; root: {:?}; session: {:?}",
                                        exists(&d),
                                        names(&root),
                                        std::fs::read_dir(&d).map(|r| r.map(|e| e.unwrap().file_name()).collect::<Vec<_>>())
                                    );
                                }
                                assert!(matches!(wsprune::read_metadata(&root, id), Ok(MetadataState::Valid(_))), "{id} metadata gone while leased");
                                std::thread::sleep(Duration::from_micros(200));
                            }
                            checked.fetch_add(1, Ordering::Relaxed);
                            lease.release(false).unwrap();
                        }
                        Err(e) if e.status() == Status::NotFound => {}
                        Err(e) => panic!("acquire {id}: {e} ({:?})", e.status()),
                    }
                }
            })
        })
        .collect();
    let deleted: Arc<Mutex<Vec<String>>> = Arc::default();
    let results: Arc<Mutex<Vec<wsprune::PruneResult>>> = Arc::default();
    let pruners: Vec<_> = (0..3)
        .map(|_| {
            let (root, deleted, results) = (root.clone(), deleted.clone(), results.clone());
            let held = held.clone();
            std::thread::spawn(move || {
                for _ in 0..15 {
                    let r = prune(&root, 0.0, false);
                    assert!(r.errors.is_empty(), "{:?}", r.errors);
                    for h in &held {
                        assert!(!r.deleted_sessions.contains(h), "leased session {h} deleted");
                    }
                    results.lock().unwrap().push(r.clone());
                    deleted.lock().unwrap().extend(r.deleted_sessions.iter().cloned());
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        })
        .collect();
    for p in pruners {
        p.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for c in churners {
        c.join().unwrap();
    }
    // Whatever the churners held at the end is released now; one more prune takes the rest.
    let last = prune(&root, 0.0, false);
    deleted.lock().unwrap().extend(last.deleted_sessions.iter().cloned());
    let deleted = deleted.lock().unwrap().clone();
    assert_eq!(
        sorted(&deleted),
        sorted(&churn),
        "every unleased session deleted exactly once"
    );
    for (id, before) in held.iter().zip(&held_before) {
        assert_eq!(&snapshot(&root.join(id)), before, "leased session {id} changed");
    }
    eprintln!(
        "leases_hold_under_many_concurrent_prunes: {} leased windows checked",
        checked.load(Ordering::Relaxed)
    );

    drop(leases);
    let r = prune(&root, 0.0, false);
    assert_eq!(sorted(&r.deleted_sessions), sorted(&held));
    assert!(names(&root).is_empty());

    let results = results.lock().unwrap();
    for r in results.iter() {
        for h in &held {
            assert!(
                r.skipped_sessions
                    .iter()
                    .any(|s| &s.session_id == h && s.reason == SkipReason::InUse),
                "leased {h} not reported in_use"
            );
        }
    }
    let wrong = wrong_skips(&results, &churn);
    assert!(
        wrong.is_empty(),
        "unleased sessions another prune was deleting were reported with a wrong skip reason: {wrong:?}"
    );
}

const PROC_PRUNE_ROOT: &str = "WSPRUNE_TEST_PROC_ROOT";
const PROC_PRUNE_GO: &str = "WSPRUNE_TEST_PROC_GO";

/// The same as concurrent_prunes_delete_each_session_exactly_once, with
/// separate processes (this test binary re-invoked) instead of threads.
#[test]
fn concurrent_prune_processes_delete_each_session_exactly_once() {
    if let Ok(root) = std::env::var(PROC_PRUNE_ROOT) {
        let go = std::env::var(PROC_PRUNE_GO).unwrap();
        let t0 = Instant::now();
        while !Path::new(&go).exists() {
            assert!(t0.elapsed() < Duration::from_secs(30), "never told to go");
            std::thread::sleep(Duration::from_millis(1));
        }
        print_result(&prune(Path::new(&root), 24.0, false));
        return;
    }
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let go = tmp.path().join("go");
    let stale: Vec<String> = (0..300).map(|_| session(&root, 48.0)).collect();
    for id in &stale {
        write_file(&root.join(id).join("f"), 500);
    }
    let recent = session(&root, 1.0);
    let total = stale.iter().map(|id| tree_bytes(&root.join(id))).sum::<u64>();

    let children: Vec<_> = (0..3)
        .map(|_| {
            self_command(
                "concurrent_prune_processes_delete_each_session_exactly_once",
                &[
                    (PROC_PRUNE_ROOT, root.display().to_string()),
                    (PROC_PRUNE_GO, go.display().to_string()),
                ],
                None,
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    std::fs::write(&go, b"").unwrap();
    let results: Vec<serde_json::Value> = children
        .into_iter()
        .map(|c| child_results(&c.wait_with_output().unwrap()).remove(0))
        .collect();

    let mut all = Vec::new();
    for r in &results {
        assert_eq!(r["errors"], serde_json::json!({}), "{r}");
        all.extend(json_ids(r, "deleted_sessions"));
    }
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "a session was reported deleted by two processes"
    );
    assert_eq!(sorted(&all), sorted(&stale));
    assert_eq!(
        results
            .iter()
            .map(|r| r["reclaimed_bytes"].as_u64().unwrap())
            .sum::<u64>(),
        total
    );
    assert_eq!(names(&root), vec![recent]);
    let mut wrong = Vec::new();
    for r in &results {
        for (id, reason) in r["skipped_reasons"].as_object().unwrap() {
            if reason != "in_use" || json_ids(r, "deleted_sessions").contains(id) {
                wrong.push((id.clone(), reason.clone()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "stale sessions another process was deleting were reported with a wrong skip reason: {wrong:?}"
    );
    eprintln!(
        "concurrent_prune_processes: deleted per process {:?}",
        results
            .iter()
            .map(|r| r["deleted_sessions"].as_array().unwrap().len())
            .collect::<Vec<_>>()
    );
}

const LEASE_CHILD_ROOT: &str = "WSPRUNE_TEST_LEASE_ROOT";
const LEASE_CHILD_ID: &str = "WSPRUNE_TEST_LEASE_ID";

/// A lease held by another process protects the session; when that process
/// is killed with SIGKILL the lease goes with it and the session can be pruned.
#[test]
fn lease_held_by_another_process_and_released_by_its_death() {
    if let Ok(root) = std::env::var(LEASE_CHILD_ROOT) {
        let id = std::env::var(LEASE_CHILD_ID).unwrap();
        let _lease = wsprune::acquire(Path::new(&root), &id).unwrap();
        println!("\nLEASED");
        std::thread::sleep(Duration::from_secs(60));
        panic!("the parent should have killed this process");
    }
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let s = session(&root, 48.0);
    let other = session(&root, 48.0);
    let mut child = self_command(
        "lease_held_by_another_process_and_released_by_its_death",
        &[
            (LEASE_CHILD_ROOT, root.display().to_string()),
            (LEASE_CHILD_ID, s.clone()),
        ],
        None,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|l| l.map(|l| l.contains("LEASED")).unwrap_or(false)),
        "child never took the lease"
    );

    for dry_run in [true, false] {
        let r = prune(&root, 24.0, dry_run);
        assert_eq!(skipped(&r), vec![(s.clone(), SkipReason::InUse)]);
        assert_eq!(r.deleted_sessions, vec![other.clone()]);
    }
    assert!(root.join(&s).join(".metadata.json").is_file());

    child.kill().unwrap();
    child.wait().unwrap();
    let r = prune(&root, 24.0, false);
    assert_eq!(r.deleted_sessions, vec![s]);
    assert!(r.skipped_sessions.is_empty());
}

const KILL_CHILD_ROOT: &str = "WSPRUNE_TEST_KILL_ROOT";
const FILES: usize = 800;

/// A prune killed with SIGKILL at various moments never leaves a session
/// that looks alive but is half deleted: under its UUID name there is either
/// the complete session or nothing (the remains are under a trash name), and
/// the next prune finishes the job and reports the session with the bytes left.
#[test]
fn killed_prune_never_leaves_a_half_deleted_session() {
    if let Ok(root) = std::env::var(KILL_CHILD_ROOT) {
        println!("\nSTARTING");
        let r = prune(Path::new(&root), 24.0, false);
        print_result(&r);
        return;
    }
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, delay_us) in [0u64, 1_000, 3_000, 6_000, 12_000, 25_000].into_iter().enumerate() {
        let root = tmp.path().join(format!("ws{i}"));
        let s = session(&root, 48.0);
        let d = root.join(&s);
        for sub in 0..4 {
            std::fs::create_dir(d.join(format!("s{sub}"))).unwrap();
            for f in 0..FILES / 4 {
                std::fs::write(d.join(format!("s{sub}/f{f}")), b"0123456789").unwrap();
            }
        }
        let full = snapshot(&d);
        let mut child = self_command(
            "killed_prune_never_leaves_a_half_deleted_session",
            &[(KILL_CHILD_ROOT, root.display().to_string())],
            None,
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(lines.any(|l| l.map(|l| l.contains("STARTING")).unwrap_or(false)));
        std::thread::sleep(Duration::from_micros(delay_us));
        let _ = child.kill();
        child.wait().unwrap();

        // Invariant: a UUID-named entry is the complete session.
        let entries = names(&root);
        for n in &entries {
            if is_uuid_name(n) {
                assert_eq!(n, &s);
                assert_eq!(
                    snapshot(&root.join(n)),
                    full,
                    "delay {delay_us} us: half-deleted session under its live name"
                );
            } else {
                assert!(n.starts_with(&format!(".wsprune-trash.{s}.")), "unexpected entry {n}");
            }
        }
        let outcome = match (exists(&d), trash_of(&root, &s)) {
            (true, None) => "untouched",
            (false, Some(_)) => "killed mid-deletion",
            (false, None) => "finished",
            (true, Some(t)) => panic!("both the session and trash {} exist", t.display()),
        };
        *outcomes.entry(outcome).or_default() += 1;
        let trash = trash_of(&root, &s);
        let left = match (exists(&d), &trash) {
            (true, _) => Some(tree_bytes(&d)),
            (false, Some(t)) => Some(tree_bytes(t)),
            (false, None) => None,
        };
        let r = prune(&root, 24.0, false);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        match (left, trash) {
            // Trash is reported by its own name, never as the session.
            (Some(bytes), Some(t)) => {
                let name = t.file_name().unwrap().to_str().unwrap().to_owned();
                assert!(r.deleted_sessions.is_empty(), "delay {delay_us} us ({outcome})");
                assert_eq!(r.interrupted, vec![name], "delay {delay_us} us ({outcome})");
                assert_eq!(r.reclaimed_bytes, bytes, "delay {delay_us} us ({outcome})");
            }
            (Some(bytes), None) => {
                assert_eq!(r.deleted_sessions, vec![s.clone()], "delay {delay_us} us ({outcome})");
                assert_eq!(r.reclaimed_bytes, bytes, "delay {delay_us} us ({outcome})");
            }
            (None, _) => assert!(r.deleted_sessions.is_empty() && r.interrupted.is_empty()),
        }
        assert!(names(&root).is_empty(), "{:?}", names(&root));
    }
    eprintln!("killed_prune_never_leaves_a_half_deleted_session: {outcomes:?}");
}
