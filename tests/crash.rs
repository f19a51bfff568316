//! SIGKILL at random points during create, touch and prune, many times.
//! A child process (this test binary re-executed) runs the
//! operation in a loop, or once, and is killed after a random delay; after
//! each kill the parent checks the state on disk against what the design
//! allows, and a prune after the kills completes and reports whatever the
//! killed process left.
//!
//! What the design allows after a kill (from src/session.rs and src/prune/):
//! - create: `mkdir <id>`, then the metadata goes to a temporary file
//!   `.metadata.json.<pid>.<n>.tmp` that is renamed to `.metadata.json`. So a
//!   session directory holds exactly one of: valid metadata for its own id
//!   (`created_at == updated_at`, mode 0600); nothing (killed before the
//!   temporary file); the temporary file alone (killed before the rename; it
//!   may be partly written). The last two are legacy sessions: a prune skips
//!   them as `missing_metadata` and never deletes them.
//! - touch: an in-place write of the 27 timestamp bytes, or for a foreign
//!   layout a rewrite through a temporary file, fsync and rename. So the
//!   metadata always parses, keeps its id, `created_at` and unknown fields,
//!   and its `updated_at` never goes back; a temporary file may be left.
//! - prune: a session is renamed to `.wsprune-trash.<id>.<pid>.<micros>`
//!   before anything in it is deleted. So a directory named by a UUID is
//!   always complete; what a killed prune left is in one trash directory per
//!   session; the workspace lock dies with the process; the next prune
//!   finishes every trash directory, reports it by its trash name in
//!   `interrupted` (never as a session) with the bytes that were left, and
//!   leaves no trash.
//!
//! `session_ops.rs` and `concurrency.rs` have shorter versions of the touch,
//! create and prune kills; these check the complete state, many more times.

#[path = "prune_support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::*;
use wsprune::metadata::{self, METADATA_FILE};
use wsprune::{MetadataState, PruneOptions, Rule, SessionMetadata, SkipReason, TouchOutcome};

const MODE: &str = "WSPRUNE_CRASH_MODE";
const ROOT: &str = "WSPRUNE_CRASH_ROOT";
const IDS: &str = "WSPRUNE_CRASH_IDS";
/// Wall-clock budget of each test's kill loop (it stops earlier at MAX_KILLS).
const BUDGET: Duration = Duration::from_secs(3);
const MIN_KILLS: usize = 30;
const MAX_KILLS: usize = 200;

/// Starts the child, waits until it says it is running, lets it run for
/// `delay`, kills it with SIGKILL and reaps it.
fn kill_after(test: &str, mode: &str, root: &Path, ids: &str, delay: Duration) {
    let mut child = KillOnDrop(spawn_self(
        test,
        &[
            (MODE, mode.to_owned()),
            (ROOT, root.display().to_string()),
            (IDS, ids.to_owned()),
        ],
    ));
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    assert!(await_marker(&mut lines, "RUNNING").is_some(), "the child never started");
    std::thread::sleep(delay);
    // SAFETY: kill takes no pointers; the pid is this test's own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGKILL) };
    let status = child.0.wait().unwrap();
    // It may have finished a single operation before the signal came.
    assert!(
        status.success() || std::os::unix::process::ExitStatusExt::signal(&status) == Some(libc::SIGKILL),
        "the child failed: {status}"
    );
}

fn is_temp_metadata(name: &str) -> bool {
    name.strip_prefix(".metadata.json.")
        .and_then(|r| r.strip_suffix(".tmp"))
        .is_some_and(|r| r.split('.').count() == 2 && r.split('.').all(|p| p.parse::<u64>().is_ok()))
}

/// What a killed create may leave in a session directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Created {
    Complete,
    Empty,
    TempOnly,
}

/// Checks one session directory left by (possibly killed) creates.
fn classify_created(root: &Path, id: &str) -> Created {
    let dir = root.join(id);
    let entries = names(&dir);
    match entries.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => Created::Empty,
        [METADATA_FILE] => {
            let p = dir.join(METADATA_FILE);
            let md = std::fs::metadata(&p).unwrap();
            assert_eq!(md.mode() & 0o777, 0o600, "{id}: metadata mode");
            let text = std::fs::read(&p).unwrap();
            let m = SessionMetadata::from_json(&text).unwrap_or_else(|e| panic!("{id}: {e}: {text:?}"));
            assert_eq!(m.session_id, id);
            assert_eq!(m.created_at, m.updated_at, "{id}: a new session's timestamps differ");
            assert!(
                metadata::validate_for_touch(&text).unwrap().is_some(),
                "{id}: not canonical"
            );
            Created::Complete
        }
        [tmp] if is_temp_metadata(tmp) => {
            let len = std::fs::metadata(dir.join(tmp)).unwrap().len() as usize;
            assert!(
                len <= metadata_text(id, chrono::Utc::now()).len(),
                "{id}: oversized temp file"
            );
            Created::TempOnly
        }
        other => panic!("{id}: a killed create left {other:?}"),
    }
}

/// Create: see the module documentation for the allowed states.
/// Afterwards a prune deletes exactly the complete ones (threshold 0) and
/// skips the others as `missing_metadata`, and a touch of those is the
/// legacy no-op.
#[test]
fn sigkill_during_create_leaves_complete_sessions_or_legacy_ones() {
    const TEST: &str = "sigkill_during_create_leaves_complete_sessions_or_legacy_ones";
    if std::env::var(MODE).as_deref() == Ok("create") {
        let root = PathBuf::from(std::env::var(ROOT).unwrap());
        println!("\nRUNNING");
        loop {
            wsprune::create_session(&root, None).unwrap();
        }
    }
    let _serial = exclusive();
    let seed = test_seed();
    let mut rng = SplitMix(seed);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let mut seen: BTreeMap<String, Created> = BTreeMap::new();
    let start = Instant::now();
    let mut kills = 0;
    while kills < MAX_KILLS && (start.elapsed() < BUDGET || kills < MIN_KILLS) {
        // Short delays land in the first creations (and in the child's start);
        // every other kill lets it create many sessions first.
        let max_delay = if kills % 2 == 0 { 1_500 } else { 10_000 };
        kill_after(TEST, "create", &root, "", Duration::from_micros(rng.below(max_delay)));
        kills += 1;
        if !root.exists() {
            continue; // killed before its first create made the root
        }
        for n in names(&root) {
            assert!(is_uuid_name(&n), "kill {kills}: {n} in the root");
            // A complete session stays complete; an incomplete one is re-checked.
            if seen.get(&n) != Some(&Created::Complete) {
                seen.insert(n.clone(), classify_created(&root, &n));
            }
        }
    }
    let count = |c: Created| seen.values().filter(|v| **v == c).count();
    let incomplete: BTreeSet<&String> = seen
        .iter()
        .filter(|(_, c)| **c != Created::Complete)
        .map(|(k, _)| k)
        .collect();
    let r = wsprune::prune_sessions(&root, &PruneOptions::older_than(0.0, false)).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.deleted_sessions.len(), count(Created::Complete));
    assert_eq!(
        skipped(&r),
        incomplete
            .iter()
            .map(|id| ((*id).clone(), SkipReason::MissingMetadata))
            .collect::<Vec<_>>()
    );
    for id in &incomplete {
        assert_eq!(wsprune::touch_session(&root, id).unwrap(), TouchOutcome::Legacy);
    }
    assert_eq!(names(&root).iter().collect::<BTreeSet<_>>(), incomplete);
    assert!(count(Created::Complete) >= 10, "the children hardly created anything");
    eprintln!(
        "create kills (seed {seed}): {kills} kills, {} complete, {} empty, {} with only a temporary file",
        count(Created::Complete),
        count(Created::Empty),
        count(Created::TempOnly)
    );
}

/// Metadata in the reference Python layout (rewritten by its first touch).
fn python_text(id: &str) -> String {
    format!(
        "{{\n  \"session_id\": \"{id}\",\n  \"created_at\": \"2025-06-01T12:00:00.000001+00:00\",\n  \
         \"updated_at\": \"2025-06-01T12:00:00.000001+00:00\",\n  \"version\": 1,\n  \"runtime\": {{\"image\": \
         \"py3.12\"}}\n}}"
    )
}

/// Writes `text` as the metadata of `dir` atomically (temporary file + rename).
fn replace_metadata(dir: &Path, text: &str) {
    let tmp = dir.join(".reset.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::rename(&tmp, dir.join(METADATA_FILE)).unwrap();
}

/// Touch: a child touches, in a loop, a canonical session with
/// unknown fields (in place) and a Python-layout one that it resets before
/// each touch (so most touches of it are rewrites through a temporary file,
/// with fsync). After every kill both parse, keep their id, `created_at`
/// and unknown fields (values and order), are 0600 and singly linked, the
/// canonical one keeps its length and its `updated_at` never goes back; any
/// file left besides the metadata is one of the library's temporary files
/// (or the test's own reset file). Then a prune keeps both (they are fresh).
#[test]
fn sigkill_during_touch_keeps_metadata_whole() {
    const TEST: &str = "sigkill_during_touch_keeps_metadata_whole";
    if std::env::var(MODE).as_deref() == Ok("touch") {
        let root = PathBuf::from(std::env::var(ROOT).unwrap());
        let ids: Vec<String> = std::env::var(IDS).unwrap().split(',').map(String::from).collect();
        println!("\nRUNNING");
        loop {
            replace_metadata(&root.join(&ids[1]), &python_text(&ids[1]));
            for id in &ids {
                assert!(matches!(
                    wsprune::touch_session(&root, id).unwrap(),
                    TouchOutcome::Updated(_)
                ));
            }
        }
    }
    let _serial = exclusive();
    let seed = test_seed();
    let mut rng = SplitMix(seed);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    // A registered session: touched in its host-owned record, in place.
    let registered = wsprune::create_session(&root, None).unwrap();
    let record = root.join(".wsprune/sessions").join(&registered);
    let record_len = std::fs::metadata(&record).unwrap().len();
    let mut last_record = match wsprune::read_metadata(&root, &registered).unwrap() {
        MetadataState::Valid(m) => m.updated_at,
        other => panic!("{other:?}"),
    };
    // Unregistered directories (wsprune 0.3, the reference): touched in their .metadata.json.
    let canon = new_id();
    std::fs::create_dir(root.join(&canon)).unwrap();
    let mut m = SessionMetadata::new(canon.clone(), chrono::Utc::now());
    m.extra.insert(
        "owner".into(),
        serde_json::json!({"name": "alice", "updated_at": "1999"}),
    );
    m.extra.insert("tags".into(), serde_json::json!(["a", "b"]));
    let canon_text = m.to_json();
    replace_metadata(&root.join(&canon), &canon_text);
    let py = new_id();
    std::fs::create_dir(root.join(&py)).unwrap();
    replace_metadata(&root.join(&py), &python_text(&py));
    let py_created = SessionMetadata::from_json(python_text(&py).as_bytes())
        .unwrap()
        .created_at;

    let mut last_canon = m.updated_at;
    let (mut kills, mut temps, mut py_rewritten) = (0, 0, 0);
    let start = Instant::now();
    while kills < MAX_KILLS && (start.elapsed() < BUDGET || kills < MIN_KILLS) {
        kill_after(
            TEST,
            "touch",
            &root,
            &format!("{canon},{py},{registered}"),
            Duration::from_micros(rng.below(3000)),
        );
        kills += 1;
        let text = std::fs::read(&record).unwrap();
        let got = SessionMetadata::from_json(&text).unwrap_or_else(|e| panic!("kill {kills}: record: {e}: {text:?}"));
        assert_eq!(
            text.len() as u64,
            record_len,
            "kill {kills}: the in-place touch changed the record's length"
        );
        assert!(
            got.updated_at >= last_record,
            "kill {kills}: the record's updated_at went back"
        );
        last_record = got.updated_at;
        for id in [&canon, &py] {
            let p = root.join(id).join(METADATA_FILE);
            let md = std::fs::symlink_metadata(&p).unwrap();
            assert_eq!((md.mode() & 0o7777, md.nlink()), (0o600, 1), "kill {kills}: {id}");
            let text = std::fs::read(&p).unwrap();
            let got = SessionMetadata::from_json(&text).unwrap_or_else(|e| panic!("kill {kills}: {id}: {e}: {text:?}"));
            assert_eq!(&got.session_id, id);
            if id == &canon {
                assert_eq!(
                    text.len(),
                    canon_text.len(),
                    "kill {kills}: the in-place touch changed the length"
                );
                assert_eq!((got.created_at, &got.extra), (m.created_at, &m.extra));
                assert!(got.updated_at >= last_canon, "kill {kills}: updated_at went back");
                last_canon = got.updated_at;
            } else {
                assert_eq!(got.created_at, py_created);
                assert_eq!(got.extra["runtime"]["image"], "py3.12");
                let keys: Vec<_> = serde_json::from_slice::<serde_json::Value>(&text)
                    .unwrap()
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect();
                assert_eq!(keys, ["session_id", "created_at", "updated_at", "version", "runtime"]);
                py_rewritten += usize::from(got.updated_at != py_created);
            }
            for n in names(&root.join(id)) {
                if n != METADATA_FILE && n != ".reset.tmp" {
                    assert!(is_temp_metadata(&n), "kill {kills}: {id} holds {n}");
                    temps += 1;
                    // Leftover temporary files are not metadata; drop them so they are counted once.
                    std::fs::remove_file(root.join(id).join(&n)).unwrap();
                }
            }
        }
    }
    // The last kill may have come just after a reset to the old Python
    // timestamp; touching works after all these kills, and then a prune keeps both.
    for id in [&canon, &py] {
        assert!(matches!(
            wsprune::touch_session(&root, id).unwrap(),
            TouchOutcome::Updated(_)
        ));
    }
    let r = wsprune::prune_sessions(&root, &PruneOptions::older_than(24.0, false)).unwrap();
    assert!(
        r.deleted_sessions.is_empty() && r.errors.is_empty() && r.skipped_sessions.is_empty(),
        "{r:?}"
    );
    assert!(last_canon > m.updated_at, "no touch ever completed");
    eprintln!(
        "touch kills (seed {seed}): {kills} kills, {temps} temporary files left by killed rewrites, \
         {py_rewritten} times the Python-layout file was found touched"
    );
}

/// A root for one prune-kill iteration: three stale sessions with nested
/// content (one with a read-only and an unreadable directory), one stale
/// session leased by this process, a fresh one and a legacy one.
struct PruneRoot {
    root: PathBuf,
    stale: Vec<String>,
    keep: Vec<String>,
    before: BTreeMap<String, BTreeMap<PathBuf, Node>>,
    _lease: wsprune::Lease,
}

fn prune_root(root: PathBuf) -> PruneRoot {
    let stale: Vec<String> = (0..3).map(|_| session(&root, 48.0)).collect();
    for (i, id) in stale.iter().enumerate() {
        let d = root.join(id);
        for sub in ["a", "a/b", "c"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
            for f in 0..8 {
                write_file(&d.join(sub).join(format!("f{f}")), 100 * (i + 1) + f);
            }
        }
    }
    let d = root.join(&stale[0]);
    std::fs::set_permissions(d.join("a/b"), std::fs::Permissions::from_mode(0o500)).unwrap();
    std::fs::set_permissions(d.join("c"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let leased = session(&root, 48.0);
    write_file(&root.join(&leased).join("busy"), 10);
    let fresh = session(&root, 1.0);
    let legacy = legacy_session(&root);
    let lease = wsprune::acquire(&root, &leased).unwrap();
    let keep = vec![leased, fresh, legacy];
    let before = stale
        .iter()
        .chain(&keep)
        .map(|id| (id.clone(), snapshot(&root.join(id))))
        .collect();
    PruneRoot {
        root,
        stale,
        keep,
        before,
        _lease: lease,
    }
}

/// Checks what a killed prune left and returns, for each stale session not
/// yet gone, the bytes left of it (in its directory or its trash).
fn check_after_kill(pr: &PruneRoot, what: &str) -> BTreeMap<String, u64> {
    let mut left = BTreeMap::new();
    for n in names(&pr.root) {
        if is_uuid_name(&n) {
            // A directory named by a UUID is always the complete session.
            assert_eq!(
                snapshot(&pr.root.join(&n)),
                pr.before[&n],
                "{what}: {n} is half deleted under its live name"
            );
            if pr.stale.contains(&n) {
                left.insert(n.clone(), tree_bytes(&pr.root.join(&n)));
            }
        } else {
            let id = n
                .strip_prefix(".wsprune-trash.")
                .and_then(|r| r.split('.').next())
                .unwrap_or_else(|| panic!("{what}: unexpected entry {n}"));
            assert!(
                pr.stale.contains(&id.to_owned()),
                "{what}: trash of {id}, which must not go"
            );
            assert!(
                !left.contains_key(id),
                "{what}: {id} both as a session and in trash, or twice in trash"
            );
            left.insert(id.to_owned(), tree_bytes(&pr.root.join(&n)));
        }
    }
    left
}

/// Prune: a child prunes (two jobs) and is killed after a random
/// delay, up to the duration of a whole prune; half the time a second child
/// then starts a prune and is killed too (a crash while finishing a crash).
/// After each kill every UUID-named directory is the complete session, every
/// other entry is one trash directory of a stale, unleased session; the
/// next prune (which must get the workspace lock: it died with the child)
/// deletes and reports exactly the stale sessions left (those found in trash
/// by their trash names, in `interrupted`), with exactly the bytes left, and leaves no trash
/// and the leased, fresh and legacy sessions as they were.
#[test]
fn sigkill_during_prune_leaves_only_complete_sessions_and_the_next_prune_finishes() {
    const TEST: &str = "sigkill_during_prune_leaves_only_complete_sessions_and_the_next_prune_finishes";
    if std::env::var(MODE).as_deref() == Ok("prune") {
        let root = PathBuf::from(std::env::var(ROOT).unwrap());
        println!("\nRUNNING");
        let opts = PruneOptions {
            older_than_hours: Some(24.0),
            jobs: 2,
            ..Default::default()
        };
        wsprune::prune_sessions(&root, &opts).unwrap();
        return;
    }
    let _serial = exclusive();
    let seed = test_seed();
    let mut rng = SplitMix(seed);
    let tmp = tempfile::tempdir().unwrap();
    // How long a whole prune of such a root takes here (kills are spread over it).
    let probe = prune_root(tmp.path().join("probe"));
    let t0 = Instant::now();
    prune(&probe.root, 24.0, false);
    let full = t0.elapsed().as_micros() as u64 + 500;
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut kills, mut iterations) = (0, 0);
    let start = Instant::now();
    let mid = |o: &BTreeMap<&str, usize>| o.get("killed mid-deletion").copied().unwrap_or(0);
    // Until the budget is spent and enough roots were done, and (a little
    // longer if needed) until a few kills landed mid-deletion.
    while kills < MAX_KILLS
        && (start.elapsed() < BUDGET || iterations < MIN_KILLS || (mid(&outcomes) < 3 && start.elapsed() < BUDGET * 3))
    {
        let pr = prune_root(tmp.path().join(format!("ws{iterations}")));
        let ids = pr.stale.join(",");
        let mut left = BTreeMap::new();
        for k in 0..1 + rng.below(2) {
            kill_after(
                TEST,
                "prune",
                &pr.root,
                &ids,
                Duration::from_micros(rng.below(full * 3 / 2)),
            );
            kills += 1;
            left = check_after_kill(&pr, &format!("iteration {iterations}, kill {k} (seed {seed})"));
        }
        let in_trash: BTreeSet<String> = names(&pr.root)
            .iter()
            .filter_map(|n| {
                n.strip_prefix(".wsprune-trash.")
                    .map(|r| r.split('.').next().unwrap().to_owned())
            })
            .collect();
        *outcomes
            .entry(match (in_trash.len(), left.len()) {
                (0, 3) => "nothing started",
                (0, 0) => "all done",
                (0, _) => "some done, none in trash",
                _ => "killed mid-deletion",
            })
            .or_default() += 1;

        let opts = PruneOptions {
            older_than_hours: Some(24.0),
            lock_timeout: Duration::from_secs(5),
            ..Default::default()
        };
        let r = wsprune::prune_sessions(&pr.root, &opts).unwrap_or_else(|e| panic!("after the kill: {e}"));
        assert!(r.errors.is_empty(), "iteration {iterations}: {:?}", r.errors);
        // Trash is reported by its own name in `interrupted`, never as a session.
        assert_eq!(
            r.deleted_sessions,
            left.keys()
                .filter(|id| !in_trash.contains(*id))
                .cloned()
                .collect::<Vec<_>>(),
            "iteration {iterations} (seed {seed})"
        );
        let trash_ids: BTreeSet<String> = r
            .interrupted
            .iter()
            .map(|n| {
                n.strip_prefix(".wsprune-trash.")
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(trash_ids, in_trash, "iteration {iterations} (seed {seed})");
        assert_eq!(r.interrupted.len(), in_trash.len(), "iteration {iterations}");
        for id in &r.deleted_sessions {
            assert_eq!(r.rule_of(id), Some(Rule::OlderThan), "iteration {iterations}: {id}");
        }
        assert_eq!(
            r.reclaimed_bytes,
            left.values().sum::<u64>(),
            "iteration {iterations} (seed {seed})"
        );
        let mut want = vec![
            (pr.keep[0].clone(), SkipReason::InUse),
            (pr.keep[2].clone(), SkipReason::MissingMetadata),
        ];
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(skipped(&r), want, "iteration {iterations}");
        assert_eq!(
            names(&pr.root),
            sorted(&pr.keep),
            "iteration {iterations}: trash or stale sessions left"
        );
        for id in &pr.keep {
            assert_eq!(
                snapshot(&pr.root.join(id)),
                pr.before[id],
                "iteration {iterations}: {id} changed"
            );
        }
        iterations += 1;
    }
    assert!(
        mid(&outcomes) > 0,
        "no kill landed mid-deletion: the test proves little ({outcomes:?})"
    );
    eprintln!("prune kills (seed {seed}): {iterations} roots, {kills} kills, {outcomes:?}");
}
