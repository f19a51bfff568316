//! Multi-process stress with checked invariants.
//!
//! Three worker processes (this test binary re-executed), two threads each,
//! hammer one workspace for a few seconds with a random mix of
//! `create_session`, creation of "aged" sessions (2 h old, built under a
//! hidden name and renamed into place), `touch_session`, `acquire` /
//! `release` (with or without touch) and `prune_sessions` (1 h threshold, two
//! jobs). Every operation is logged with its start and end time (the
//! realtime clock, shared by the processes). The threshold makes every
//! decision clear-cut: a session written by this test is either 2 h old and
//! untouched (it must go) or at most seconds old (it must stay), never near
//! the threshold.
//!
//! Afterwards the parent checks, from the logs:
//! - no session is deleted by a prune that ended before a lease on it was
//!   released (the worker also checks, while it holds a lease, that the
//!   session's files and metadata are there);
//! - no session is deleted by a prune that started after a touch of it
//!   returned, and no session made by `create_session` is ever deleted;
//! - a session is reported deleted at most once, and reports agree with the
//!   filesystem (nothing vanishes unreported);
//! - operations only fail in the allowed ways (touch: not found; acquire:
//!   not found or busy; prune: busy on the workspace lock), and the only
//!   skip reasons are `in_use` and, for a session caught mid-creation,
//!   `missing_metadata`;
//!
//! and, after one more prune of its own: exactly the aged sessions that
//! were never touched and not yet deleted went, no trash is left, and every
//! session left has its files and metadata that parses, with its own id.

#[path = "prune_support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use support::*;
use wsprune::{MetadataState, PruneOptions, Status, TouchOutcome};

const ROOT_ENV: &str = "WSPRUNE_STRESS_ROOT";
const UNTIL_ENV: &str = "WSPRUNE_STRESS_UNTIL";
const SEED_ENV: &str = "WSPRUNE_STRESS_SEED";
const LOG: &str = "STRESS ";
const WORKERS: usize = 3;
const THREADS: usize = 2;
const RUN: Duration = Duration::from_secs(3);
const THRESHOLD_HOURS: f64 = 1.0;
const AGED_HOURS: f64 = 2.0;
const MARKER: &str = "marker";

fn opts() -> PruneOptions {
    PruneOptions {
        older_than_hours: Some(THRESHOLD_HOURS),
        jobs: 2,
        ..Default::default()
    }
}

/// One logged operation.
fn log(op: &str, id: &str, start: i64, end: i64, outcome: &str, extra: Value) {
    let line = json!({"op": op, "id": id, "start": start, "end": end, "outcome": outcome, "extra": extra});
    println!("{LOG}{line}");
}

/// A session 2 h old, built where no one looks and renamed into place.
fn create_aged(root: &Path, tag: &str) -> String {
    let id = new_id();
    let build = root.join(format!(".build-{tag}"));
    std::fs::create_dir(&build).unwrap();
    write_metadata_raw(&build, &metadata_text(&id, hours_ago(AGED_HOURS)));
    write_file(&build.join(MARKER), 32);
    std::fs::rename(&build, root.join(&id)).unwrap();
    id
}

/// Whether metadata is that of an aged session (created 2 h ago).
fn aged_created(m: &wsprune::SessionMetadata) -> bool {
    (chrono::Utc::now() - m.created_at).num_minutes() > 60
}

/// A random session of the root; mostly a stale one, when there is one, so
/// that touches and leases meet the prunes that want those.
fn pick_session(root: &Path, rng: &mut SplitMix) -> Option<String> {
    let ids: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_uuid_name(n))
        .collect();
    if ids.is_empty() {
        return None;
    }
    let mut id = ids[rng.below(ids.len() as u64) as usize].clone();
    for _ in 0..4 {
        let stale = matches!(wsprune::read_metadata(root, &id),
            Ok(MetadataState::Valid(m)) if m.age_hours(chrono::Utc::now()) > THRESHOLD_HOURS);
        if stale || rng.below(4) == 0 {
            break;
        }
        id = ids[rng.below(ids.len() as u64) as usize].clone();
    }
    Some(id)
}

/// The worker: random operations until `until` (micros since the epoch).
fn work(root: &Path, until: i64, seed: u64, tag: &str) {
    let mut rng = SplitMix(seed);
    let mut n = 0;
    while now_micros() < until {
        n += 1;
        let t0 = now_micros();
        match rng.below(20) {
            0..=2 => {
                let id = wsprune::create_session(root, None).expect("create_session");
                std::fs::write(root.join(&id).join(MARKER), b"m").unwrap();
                log("create", &id, t0, now_micros(), "ok", Value::Null);
            }
            3..=6 => {
                let id = create_aged(root, &format!("{tag}-{n}"));
                log("aged", &id, t0, now_micros(), "ok", Value::Null);
            }
            7..=11 => {
                let Some(id) = pick_session(root, &mut rng) else {
                    continue;
                };
                let t0 = now_micros();
                let outcome = match wsprune::touch_session(root, &id) {
                    Ok(TouchOutcome::Updated(_)) => "updated",
                    Ok(TouchOutcome::Legacy) => "legacy",
                    Err(e) if e.status() == Status::NotFound => "not_found",
                    other => panic!("touch {id}: {other:?}"),
                };
                log("touch", &id, t0, now_micros(), outcome, Value::Null);
            }
            12..=17 => {
                let Some(id) = pick_session(root, &mut rng) else {
                    continue;
                };
                let t0 = now_micros();
                let lease = match wsprune::acquire(root, &id) {
                    Ok(l) => l,
                    Err(e) if matches!(e.status(), Status::NotFound | Status::Busy) => {
                        log("acquire", &id, t0, now_micros(), e.status().name(), Value::Null);
                        continue;
                    }
                    Err(e) => panic!("acquire {id}: {e} ({:?})", e.status()),
                };
                let acquired = now_micros();
                // While leased: still there under its name, metadata readable
                // (missing only for a session caught mid-creation), and an
                // aged session (complete when it appeared) has all its files.
                for _ in 0..3 {
                    match wsprune::read_metadata(root, &id) {
                        Ok(MetadataState::Valid(m)) => {
                            if m.age_hours(chrono::Utc::now()) > THRESHOLD_HOURS || aged_created(&m) {
                                assert!(root.join(&id).join(MARKER).is_file(), "{id} lost files while leased");
                            }
                        }
                        Ok(MetadataState::Missing) => {}
                        other => panic!("{id} leased, but reading its metadata gave {other:?}"),
                    }
                    std::thread::sleep(Duration::from_micros(rng.below(2000)));
                }
                let touch = rng.below(2) == 0;
                let released = now_micros();
                let outcome = match lease.release(touch).expect("release") {
                    Some(TouchOutcome::Updated(_)) => "updated",
                    Some(TouchOutcome::Legacy) => "legacy",
                    None => "no_touch",
                    other => panic!("release {id}: {other:?}"),
                };
                log(
                    "lease",
                    &id,
                    t0,
                    now_micros(),
                    outcome,
                    json!({"acquired": acquired, "released": released}),
                );
            }
            _ => {
                let t0 = now_micros();
                match wsprune::prune_sessions(root, &opts()) {
                    Ok(r) => {
                        let skipped: Vec<(String, &str)> = r
                            .skipped_sessions
                            .iter()
                            .map(|s| (s.session_id.clone(), s.reason.as_str()))
                            .collect();
                        let errors: Vec<&(String, String)> = r.errors.iter().collect();
                        log(
                            "prune",
                            "",
                            t0,
                            now_micros(),
                            "ok",
                            json!({"deleted": r.deleted_sessions, "skipped": skipped, "errors": errors}),
                        );
                    }
                    Err(e) if e.status() == Status::Busy => log("prune", "", t0, now_micros(), "busy", Value::Null),
                    Err(e) => panic!("prune: {e} ({:?})", e.status()),
                }
            }
        }
    }
}

/// See the module documentation.
#[test]
fn processes_creating_touching_leasing_and_pruning_keep_every_invariant() {
    const TEST: &str = "processes_creating_touching_leasing_and_pruning_keep_every_invariant";
    if let Ok(root) = std::env::var(ROOT_ENV) {
        let root = PathBuf::from(root);
        let until: i64 = std::env::var(UNTIL_ENV).unwrap().parse().unwrap();
        let seed: u64 = std::env::var(SEED_ENV).unwrap().parse().unwrap();
        let root = Arc::new(root);
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let root = root.clone();
                std::thread::spawn(move || {
                    work(
                        &root,
                        until,
                        seed ^ ((t as u64 + 1) * 0x1000_0000_01b3),
                        &format!("{}-{t}", std::process::id()),
                    )
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        println!("\nDONE");
        return;
    }
    let _serial = exclusive();
    let seed = test_seed();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir(&root).unwrap();
    let initial: Vec<String> = (0..30).map(|i| create_aged(&root, &format!("init-{i}"))).collect();
    // Sessions made before the run: 30 aged ones (logged as such) and 5 fresh.
    let mut logs: Vec<Value> = initial
        .iter()
        .map(|id| json!({"op": "aged", "id": id, "start": 0, "end": 0, "outcome": "ok", "extra": null}))
        .collect();
    for _ in 0..5 {
        let id = wsprune::create_session(&root, None).unwrap();
        write_file(&root.join(&id).join(MARKER), 1);
        logs.push(json!({"op": "create", "id": id, "start": 0, "end": 0, "outcome": "ok", "extra": null}));
    }

    let until = now_micros() + RUN.as_micros() as i64 + 500_000;
    let children: Vec<KillOnDrop> = (0..WORKERS)
        .map(|w| {
            KillOnDrop(spawn_self(
                TEST,
                &[
                    (ROOT_ENV, root.display().to_string()),
                    (UNTIL_ENV, until.to_string()),
                    (SEED_ENV, (seed.wrapping_add(w as u64 * 7919)).to_string()),
                ],
            ))
        })
        .collect();
    for mut c in children {
        let out = BufReader::new(c.0.stdout.take().unwrap());
        let mut done = false;
        for line in out.lines().map_while(Result::ok) {
            if let Some(i) = line.find(LOG) {
                logs.push(serde_json::from_str(&line[i + LOG.len()..]).unwrap());
            }
            done |= line.contains("DONE");
        }
        let status = c.0.wait().unwrap();
        assert!(status.success() && done, "a worker failed ({status}; seed {seed})");
    }
    check(&root, &logs, seed);
}

fn check(root: &Path, logs: &[Value], seed: u64) {
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_owned();
    let t = |v: &Value, k: &str| v[k].as_i64().unwrap();
    let of = |op: &'static str| logs.iter().filter(move |v| v["op"] == op);

    let created: BTreeMap<String, i64> = of("create").map(|v| (s(v, "id"), t(v, "end"))).collect();
    let aged: BTreeSet<String> = of("aged").map(|v| s(v, "id")).collect();
    // Completed touches (also by a release with touch): id -> end times.
    let mut touched: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for v in of("touch").chain(of("lease")).filter(|v| v["outcome"] == "updated") {
        touched.entry(s(v, "id")).or_default().push(t(v, "end"));
    }
    // Lease windows: id -> (acquire returned, release began).
    let mut leases: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for v in of("lease") {
        leases.entry(s(v, "id")).or_default().push((
            v["extra"]["acquired"].as_i64().unwrap(),
            v["extra"]["released"].as_i64().unwrap(),
        ));
    }

    // A legacy touch only of a session still being created.
    for v in of("touch").chain(of("lease")).filter(|v| v["outcome"] == "legacy") {
        let id = s(v, "id");
        let made = created.get(&id).copied();
        assert!(
            made.is_some_and(|end| end > t(v, "start")),
            "touch saw {id} without metadata, but it was not being created (seed {seed})"
        );
    }

    let mut deleted: BTreeMap<String, usize> = BTreeMap::new();
    let (mut prunes, mut busy, mut in_use) = (0, 0, 0);
    for p in of("prune") {
        if p["outcome"] == "busy" {
            busy += 1;
            continue;
        }
        prunes += 1;
        let (p0, p1) = (t(p, "start"), t(p, "end"));
        let extra = &p["extra"];
        assert_eq!(extra["errors"], json!([]), "prune errors (seed {seed}): {extra}");
        for sk in extra["skipped"].as_array().unwrap() {
            let (id, reason) = (sk[0].as_str().unwrap(), sk[1].as_str().unwrap());
            match reason {
                "in_use" => in_use += 1,
                "missing_metadata" => assert!(
                    created.get(id).is_some_and(|end| *end > p0),
                    "{id} skipped as missing_metadata but not being created (seed {seed})"
                ),
                other => panic!("{id} skipped as {other} (seed {seed})"),
            }
        }
        for d in extra["deleted"].as_array().unwrap() {
            let id = d.as_str().unwrap().to_owned();
            assert!(
                !created.contains_key(&id),
                "{id} was made by create_session (fresh) and deleted (seed {seed})"
            );
            assert!(aged.contains(&id), "deleted {id}, which no one made (seed {seed})");
            if let Some(ends) = touched.get(&id) {
                let before: Vec<_> = ends.iter().filter(|e| **e < p0).collect();
                assert!(
                    before.is_empty(),
                    "{id} deleted by a prune that started at {p0}, after touches of it returned at {before:?} (seed {seed})"
                );
            }
            for (acq, rel) in leases.get(&id).into_iter().flatten() {
                assert!(
                    p1 > *rel,
                    "{id} deleted by a prune that ended at {p1}, while leased from {acq} to {rel} (seed {seed})"
                );
            }
            *deleted.entry(id).or_default() += 1;
        }
    }
    let twice: Vec<_> = deleted.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "reported deleted more than once (seed {seed}): {twice:?}"
    );

    // Reports agree with the filesystem.
    let present: BTreeSet<String> = names(root).into_iter().filter(|n| is_uuid_name(n)).collect();
    for id in created.keys().chain(aged.iter()) {
        assert_eq!(
            present.contains(id),
            !deleted.contains_key(id),
            "{id}: present {} but reported deleted {} (seed {seed})",
            present.contains(id),
            deleted.contains_key(id)
        );
    }

    // One more prune, alone: exactly the untouched aged sessions left go.
    let expect: BTreeSet<&String> = aged
        .iter()
        .filter(|id| !deleted.contains_key(*id) && !touched.contains_key(*id))
        .collect();
    let last = wsprune::prune_sessions(root, &opts()).unwrap();
    assert!(last.errors.is_empty() && last.skipped_sessions.is_empty(), "{last:?}");
    assert_eq!(
        last.deleted_sessions.iter().collect::<BTreeSet<_>>(),
        expect,
        "the final prune (seed {seed})"
    );
    let left = names(root);
    assert!(
        left.iter().all(|n| is_uuid_name(n)),
        "trash or temporary entries left (seed {seed}): {:?}",
        left.iter().filter(|n| !is_uuid_name(n)).collect::<Vec<_>>()
    );
    for id in &left {
        match wsprune::read_metadata(root, id).unwrap() {
            MetadataState::Valid(m) => {
                assert_eq!(&m.session_id, id);
                assert!(
                    m.age_hours(chrono::Utc::now()) < THRESHOLD_HOURS,
                    "{id} left although stale"
                );
            }
            other => panic!("{id}: metadata {other:?} (seed {seed})"),
        }
        assert!(
            root.join(id).join(MARKER).is_file(),
            "{id} lost its files (seed {seed})"
        );
    }
    let touches = of("touch").count();
    let lease_count = of("lease").count();
    assert!(
        prunes >= 5 && touches >= 20 && lease_count >= 10,
        "too little happened to prove anything"
    );
    eprintln!(
        "stress (seed {seed}): {} operations, {prunes} prunes ({busy} busy), {} deleted, {in_use} in_use skips, \
         {touches} touches, {lease_count} leases, {} sessions left",
        logs.len(),
        deleted.len() + last.deleted_sessions.len(),
        left.len()
    );
}
