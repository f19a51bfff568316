//! The `wsprune` command-line tool end to end: the
//! built binary run on temporary workspaces made with the Rust API; its
//! output, JSON, exit codes (0 ok, 1 some sessions failed, 2 usage or fatal),
//! bad arguments, and a root that does not exist or is a file.

#[path = "prune_support/mod.rs"]
mod support;

use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Output};

use chrono::Utc;
use serde_json::Value;
use support::*;

/// What one run of the tool gave.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn of(out: Output) -> Run {
        Run {
            code: out.status.code().expect("killed by a signal"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }

    /// Asserts the status and returns self, showing everything on failure.
    fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts a fatal error: status `code` and exactly one stderr line,
    /// `wsprune: error: ...` containing `needle`; nothing on stdout but,
    /// under `--json`, the error object saying the same.
    fn fatal(self, code: i32, needle: &str) -> Self {
        let r = self.expect(code);
        assert_eq!(r.stderr.lines().count(), 1, "not one line:\n{}", r.stderr);
        assert!(r.stderr.starts_with("wsprune: error: "), "{}", r.stderr);
        assert!(r.stderr.contains(needle), "{:?} not in {}", needle, r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        if !r.stdout.is_empty() {
            let v = r.json();
            assert_eq!(v["error"]["exit_code"], code, "{}", r.stdout);
            assert!(v["error"]["message"].as_str().unwrap().contains(needle), "{}", r.stdout);
            assert_eq!(v["schema_version"], 1);
        }
        r
    }
}

fn wsprune(args: &[&str]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_wsprune"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("cannot run the wsprune binary");
    Run::of(out)
}

/// `wsprune <cmd> <root> <rest...>`.
fn ws(cmd: &str, root: &Path, rest: &[&str]) -> Run {
    let root = root.to_str().unwrap();
    let mut args = vec![cmd, root];
    args.extend_from_slice(rest);
    wsprune(&args)
}

fn workspace() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir(&root).unwrap();
    (tmp, root)
}

/// A session last used `age_hours` ago holding one file of `file_bytes`; returns its id.
fn session_with(root: &Path, age_hours: f64, file_bytes: usize) -> String {
    let id = session(root, age_hours);
    write_file(&root.join(&id).join("data"), file_bytes);
    id
}

fn json_strs(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

fn json_ids_of(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["session_id"].as_str().unwrap().to_owned())
        .collect()
}

// ------------------------------------------------------------ help, usage

#[test]
fn help_and_version() {
    let _g = shared();
    let r = wsprune(&["--help"]).expect(0);
    for cmd in ["prune", "ls", "create", "touch", "rm", "info", "repair", "Exit status"] {
        assert!(r.stdout.contains(cmd), "{cmd} not in --help:\n{}", r.stdout);
    }
    let r = wsprune(&["prune", "--help"]).expect(0);
    for s in [
        "--older-than",
        "--max-total-size",
        "--max-sessions",
        "--min-free",
        "--max-deletions",
        "--min-age",
        "--no-age-rule",
        "[default: 1h]",
    ] {
        assert!(r.stdout.contains(s), "{s} not in prune --help");
    }
    assert!(
        r.stdout
            .contains("the age rule is --older-than 24h, also alongside size or count rules"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("no age rule applies"), "{}", r.stdout);
    assert!(r.stdout.contains("deleted_rules"), "JSON fields are documented");
    let r = wsprune(&["--version"]).expect(0);
    assert_eq!(r.stdout.trim(), format!("wsprune {}", env!("CARGO_PKG_VERSION")));
    // No command at all: the help, on stderr, as a usage error.
    let r = wsprune(&[]).expect(64);
    assert!(r.stderr.contains("Usage: wsprune"), "{}", r.stderr);
}

#[test]
fn bad_arguments_are_one_line_usage_errors() {
    let _g = shared();
    let (_t, root) = workspace();
    let id = session(&root, 100.0);
    let before = snapshot(&root);
    let cases: &[(&[&str], &str)] = &[
        (&["prune", "--bogus"], "unexpected argument '--bogus'"),
        (&["prune", "--dry"], "a similar argument exists: '--dry-run'"),
        (&["prune", "--older-than", "3x"], "unknown unit 'x'"),
        (&["prune", "--older-than", "24"], "no unit"),
        (&["prune", "--older-than=-1h"], "invalid value '-1h'"),
        (&["prune", "--older-than", "-1h"], "unexpected argument '-1'"),
        (&["prune", "--older-than", ""], "empty duration"),
        (&["prune", "--min-age", "1y"], "unknown unit 'y'"),
        (&["prune", "--lock-timeout", "soon"], "invalid value 'soon'"),
        (&["prune", "--max-total-size", "50Q"], "unknown unit 'Q'"),
        (&["prune", "--max-total-size", "50"], "no unit"),
        (&["prune", "--max-total-size=-1G"], "invalid value '-1G'"),
        (&["prune", "--min-free", "99999999999T"], "too large"),
        (&["prune", "--max-sessions", "many"], "invalid value 'many'"),
        (&["prune", "--max-deletions=-3"], "invalid value '-3'"),
        (&["prune", "--jobs", "65"], "invalid value '65'"),
        (&["prune", "--json", "--quiet"], "cannot be used with"),
        (&["prune", "--no-age-rule", "--older-than", "1h"], "cannot be used with"),
        (
            &["prune", "--max-sessions", "0"],
            "0 is not allowed; leave the option out",
        ),
        (
            &["prune", "--max-deletions", "0"],
            "0 is not allowed; leave the option out",
        ),
        (
            &["prune", "--max-total-size", "0B"],
            "0 is not allowed; leave the option out",
        ),
        (&["prune", "--min-free", "0G"], "0 is not allowed; leave the option out"),
        (&["ls", "--sort", "colour"], "[possible values: age, size, id]"),
        (&["rm", &id, "--wait", "5"], "no unit"),
        (&["info", &id, "extra"], "unexpected argument 'extra'"),
    ];
    for (args, needle) in cases {
        let mut all = vec![args[0], root.to_str().unwrap()];
        all.extend_from_slice(&args[1..]);
        let r = wsprune(&all).fatal(64, needle);
        assert!(
            r.stderr.contains(&format!("(see 'wsprune {} --help')", args[0])),
            "{}",
            r.stderr
        );
    }
    wsprune(&["frobnicate"]).fatal(64, "unrecognized subcommand 'frobnicate'");
    wsprune(&["prune"]).fatal(64, "required arguments were not provided: <ROOT>");
    wsprune(&["touch", root.to_str().unwrap()]).fatal(64, "<ID>");
    assert_eq!(before, snapshot(&root), "a usage error changed the workspace");
}

#[test]
fn invalid_session_ids_are_refused() {
    let _g = shared();
    let (tmp, root) = workspace();
    let victim = tmp.path().join("etc");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("passwd"), "keep").unwrap();
    for cmd in ["info", "touch", "rm", "create", "open"] {
        for bad in ["../etc", "..", "/etc", ".hidden", "site-packages", "new\nline", ""] {
            ws(cmd, &root, &[bad]).fatal(64, "invalid session id");
        }
    }
    assert_eq!(std::fs::read_to_string(victim.join("passwd")).unwrap(), "keep");
    assert!(names(&root).is_empty());
}

#[test]
fn a_missing_root_is_an_error_not_an_empty_prune() {
    let _g = shared();
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("typo");
    for (cmd, rest) in [
        ("prune", &[][..]),
        ("prune", &["--dry-run", "--json"][..]),
        ("ls", &[][..]),
        ("repair", &[][..]),
        ("info", &["0f8fad5b-d9cb-469f-a165-70867728950e"][..]),
        ("touch", &["0f8fad5b-d9cb-469f-a165-70867728950e"][..]),
        ("rm", &["0f8fad5b-d9cb-469f-a165-70867728950e"][..]),
    ] {
        ws(cmd, &missing, rest).fatal(66, &format!("workspace root {} does not exist", missing.display()));
    }
    assert!(!exists(&missing), "a command created the missing root");
    wsprune(&["prune", ""]).fatal(64, "a value is required for '<ROOT>'");
    // create makes the root: it is how a workspace starts.
    let r = ws("create", &missing, &[]).expect(0);
    assert_eq!(names(&missing), vec![r.stdout.trim().to_owned()]);
}

#[test]
fn a_root_that_is_a_file_is_an_error() {
    let _g = shared();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, "not a directory").unwrap();
    let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    for (cmd, rest) in [
        ("prune", &[][..]),
        ("ls", &["--json"][..]),
        ("repair", &[][..]),
        ("info", &[id][..]),
        ("touch", &[id][..]),
        ("rm", &[id][..]),
        ("create", &[][..]),
        ("create", &[id][..]),
    ] {
        ws(cmd, &file, rest).fatal(66, "is not a directory");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory");
}

// -------------------------------------------------------------------- prune

#[test]
fn prune_reports_and_dry_run_deletes_nothing() {
    let _g = shared();
    let (_t, root) = workspace();
    let stale = session_with(&root, 30.0, 3000);
    let fresh = session_with(&root, 1.0, 10);
    let legacy = legacy_session(&root);
    let before = snapshot(&root);

    let r = ws("prune", &root, &["--dry-run"]).expect(0);
    assert_eq!(before, snapshot(&root), "a dry run changed the workspace");
    assert_eq!(r.stderr, "", "a quiet run prints nothing on stderr (not a terminal)");
    // Each line as its session is handled (completion order), then the summary.
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    lines[..2].sort_by_key(|l| !l.starts_with("would delete"));
    let words: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        &words[..4],
        ["would", "delete", stale.as_str(), "older_than"],
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("idle 1d6h"), "{}", lines[0]);
    let size = wsprune::result::format_bytes(tree_bytes(&root.join(&stale)));
    assert!(lines[0].contains(&size), "{size} not in {}", lines[0]);
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["skipped", legacy.as_str(), "missing_metadata"]
    );
    assert_eq!(
        lines[2],
        format!(
            "{}: Would prune 1 session (1 skipped, 0 errors), would reclaim {size}",
            root.display()
        )
    );
    assert!(!r.stdout.contains(&fresh));

    // --quiet: the summary only.
    let r = ws("prune", &root, &["--dry-run", "-q"]).expect(0);
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert!(r
        .stdout
        .starts_with(&format!("{}: Would prune 1 session", root.display())));

    // The real thing: the default rule (24 h) deletes only the stale session.
    let r = ws("prune", &root, &[]).expect(0);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with(&format!("deleted       {stale}"))),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with(&format!(
        "{}: Pruned 1 session (1 skipped, 0 errors), reclaimed {size}\n",
        root.display()
    )));
    assert!(!exists(&root.join(&stale)));
    assert!(exists(&root.join(&fresh)) && exists(&root.join(&legacy)));
}

#[test]
fn prune_json_is_the_library_result() {
    let _g = shared();
    let (_t, root) = workspace();
    let old = session_with(&root, 80.0, 500);
    let newer = session_with(&root, 10.0, 500);
    let legacy = legacy_session(&root);
    let expected_bytes = tree_bytes(&root.join(&old));

    let dry = ws("prune", &root, &["--older-than", "2d", "--dry-run", "--json"]).expect(0);
    assert_eq!(dry.stdout.lines().count(), 1, "one line of JSON");
    let v = dry.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "schema_version",
            "tool_version",
            "root",
            "started_at",
            "duration_seconds",
            "dry_run",
            "free_bytes_before",
            "free_bytes_after",
            "deleted",
            "deleted_sessions",
            "deleted_rules",
            "skipped_sessions",
            "skipped_reasons",
            "reclaimed_bytes",
            "errors",
            "interrupted",
            "interrupted_bytes",
            "unmet_targets",
            "signal",
            "exit_code"
        ]
    );
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["root"], root.to_str().unwrap());
    assert!(v["free_bytes_before"].as_u64().unwrap() > 0);
    assert_eq!(v["deleted"][0]["session_id"], old.as_str());
    assert_eq!(v["deleted"][0]["bytes"], expected_bytes);
    assert!((v["deleted"][0]["age_hours"].as_f64().unwrap() - 80.0).abs() < 0.1);
    assert_eq!(json_strs(&v["deleted_sessions"]), vec![old.clone()]);
    assert_eq!(v["deleted_rules"][&old], "older_than");
    assert_eq!(json_strs(&v["skipped_sessions"]), vec![legacy.clone()]);
    assert_eq!(v["skipped_reasons"][&legacy], "missing_metadata");
    assert_eq!(v["reclaimed_bytes"], expected_bytes);
    assert_eq!(v["errors"], serde_json::json!({}));
    assert_eq!(v["dry_run"], true);
    assert!(exists(&root.join(&old)));

    // 1.5d is 36 h: both go in the real run; the result's fields are the library's.
    let r = ws("prune", &root, &["--older-than", "1.5d", "--json"]).expect(0);
    let v = r.json();
    assert_eq!(v["dry_run"], false);
    assert_eq!(json_strs(&v["deleted_sessions"]), vec![old.clone()]);
    let r = ws("prune", &root, &["--older-than", "9h30m", "--json"]).expect(0);
    let v = r.json();
    assert_eq!(json_strs(&v["deleted_sessions"]), vec![newer.clone()]);
    let mut lib = wsprune::PruneResult::new(false);
    lib.deleted_sessions = vec![newer.clone()];
    lib.deleted_rules = vec![wsprune::Rule::OlderThan];
    lib.skipped_sessions = vec![wsprune::Skipped {
        session_id: legacy.clone(),
        reason: wsprune::SkipReason::MissingMetadata,
    }];
    lib.reclaimed_bytes = v["reclaimed_bytes"].as_u64().unwrap();
    let lib = lib.to_json();
    for (key, value) in lib.as_object().unwrap() {
        if key != "unmet_targets" {
            assert_eq!(&v[key], value, "{key}");
        }
    }
    assert_eq!(v["unmet_targets"], serde_json::json!([]));
}

#[test]
fn a_size_cap_evicts_the_least_recently_used_first() {
    let _g = shared();
    let (_t, root) = workspace();
    // Oldest first: a (50 h), b (40 h), c (30 h), d (1 h); 10 KiB each plus metadata.
    let ids: Vec<String> = [50.0, 40.0, 30.0, 1.0]
        .iter()
        .map(|&h| session_with(&root, h, 10 * 1024))
        .collect();
    let each = tree_bytes(&root.join(&ids[0]));
    // Room for two and a half: the two least recently used go, with the age
    // rule turned off (the default 24 h would take three).
    let cap = format!("{}B", each * 5 / 2);
    let dry = ws(
        "prune",
        &root,
        &["--max-total-size", &cap, "--no-age-rule", "--dry-run", "--json"],
    )
    .expect(0);
    let v = dry.json();
    assert_eq!(json_strs(&v["deleted_sessions"]), sorted(&ids[..2]));
    for id in &ids[..2] {
        assert_eq!(v["deleted_rules"][id], "max_total_bytes");
    }
    assert_eq!(v["reclaimed_bytes"], 2 * each);
    assert_eq!(v["unmet_targets"], serde_json::json!([]));
    // Only a size rule given: the age rule keeps its 24 h default beside it.
    let v = ws("prune", &root, &["--max-total-size", &cap, "--dry-run", "--json"])
        .expect(0)
        .json();
    assert_eq!(json_strs(&v["deleted_sessions"]), sorted(&ids[..3]));
    for id in &ids[..3] {
        assert_eq!(v["deleted_rules"][id], "older_than");
    }
    // The human dry run streams them as they are handled: with one job, in eviction order.
    let r = ws(
        "prune",
        &root,
        &["--max-total-size", &cap, "--no-age-rule", "--dry-run", "--jobs", "1"],
    )
    .expect(0);
    let order: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .take(2)
        .collect();
    assert_eq!(order, [ids[0].as_str(), ids[1].as_str()], "{}", r.stdout);

    // A cap that cannot be met: everything goes but d, which --min-age
    // protects; the target is reported not reached, with status 3.
    let r = ws(
        "prune",
        &root,
        &["--max-total-size", "1K", "--min-age", "2h", "--no-age-rule", "--json"],
    )
    .expect(3);
    assert_eq!(json_strs(&r.json()["deleted_sessions"]), sorted(&ids[..3]));
    assert_eq!(
        r.json()["unmet_targets"],
        serde_json::json!([{"rule": "max_total_bytes", "target": 1024, "actual": each}])
    );
    let have = wsprune::result::format_bytes(each);
    assert_eq!(
        r.stderr,
        format!(
            "wsprune: target not reached: max_total_bytes in {} (wanted at most 1.0 KB, have {have})\n",
            root.display()
        )
    );
    assert_eq!(names(&root), vec![ids[3].clone()]);
}

#[test]
fn capacity_rules_spare_the_last_hour_unless_min_age_is_lowered() {
    let _g = shared();
    let (_t, root) = workspace();
    let old = session(&root, 3.0);
    let recent = session(&root, 0.5);
    let now = session(&root, 0.0);
    // The default --min-age is 1h: only the 3 h old session may go; 2 remain
    // for a cap of 1, which is reported.
    let r = ws("prune", &root, &["--max-sessions", "1", "--no-age-rule", "--dry-run"]).expect(3);
    assert!(r.stdout.contains(&format!("would delete  {old}")), "{}", r.stdout);
    assert!(r.stdout.contains("; target not reached: max_sessions"), "{}", r.stdout);
    assert_eq!(
        r.stderr,
        format!(
            "wsprune: target not reached: max_sessions in {} (wanted at most 1 session, would have 2 sessions)\n",
            root.display()
        )
    );
    let r = ws("prune", &root, &["--max-sessions", "1", "--no-age-rule", "-q"]).expect(3);
    assert!(
        r.stderr.contains("(wanted at most 1 session, have 2 sessions)"),
        "{}",
        r.stderr
    );
    assert_eq!(names(&root), sorted(&[recent.clone(), now.clone()]));
    // An explicit --min-age 0 goes below the floor: the cap is met.
    let r = ws(
        "prune",
        &root,
        &["--max-sessions", "1", "--no-age-rule", "--min-age", "0", "--json"],
    )
    .expect(0);
    assert_eq!(json_strs(&r.json()["deleted_sessions"]), vec![recent]);
    assert_eq!(r.stderr, "");
    assert_eq!(names(&root), vec![now]);
}

#[test]
fn count_rules_and_max_deletions() {
    let _g = shared();
    let (_t, root) = workspace();
    let ids: Vec<String> = [5.0, 4.0, 3.0, 2.0, 1.0].iter().map(|&h| session(&root, h)).collect();
    // Keep 2, but delete at most 2 this run: the two least recently used go.
    let r = ws(
        "prune",
        &root,
        &["--max-sessions", "2", "--max-deletions", "2", "--json"],
    )
    .expect(3);
    let v = r.json();
    assert_eq!(json_strs(&v["deleted_sessions"]), sorted(&ids[..2]));
    assert_eq!(v["deleted_rules"][&ids[0]], "max_sessions");
    // --max-deletions stopped it with 3 sessions left: the cap is not reached yet.
    assert_eq!(
        v["unmet_targets"],
        serde_json::json!([{"rule": "max_sessions", "target": 2, "actual": 3}])
    );
    assert_eq!(
        r.stderr,
        format!(
            "wsprune: target not reached: max_sessions in {} (wanted at most 2 sessions, have 3 sessions)\n",
            root.display()
        )
    );
    // Then the next one.
    let r = ws("prune", &root, &["--max-sessions", "2", "-q"]).expect(0);
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert!(
        r.stdout.starts_with(&format!(
            "{}: Pruned 1 session (0 skipped, 0 errors), reclaimed ",
            root.display()
        )),
        "{}",
        r.stdout
    );
    assert_eq!(names(&root), sorted(&ids[3..]));
    // --max-deletions alone leaves the default age rule: nothing is 24 h old.
    let r = ws("prune", &root, &["--max-deletions", "5", "--json"]).expect(0);
    assert_eq!(json_strs(&r.json()["deleted_sessions"]), Vec::<String>::new());
    // --min-free with an impossible target evicts everything unprotected;
    // --min-age protects. The target is not reached: status 1 and a line saying so.
    let r = ws(
        "prune",
        &root,
        &["--min-free", "1000P", "--min-age", "90m", "--dry-run", "--json"],
    )
    .expect(3);
    let v = r.json();
    assert_eq!(json_strs(&v["deleted_sessions"]), vec![ids[3].clone()]);
    assert_eq!(v["deleted_rules"][&ids[3]], "min_free_bytes");
    assert_eq!(v["unmet_targets"][0]["rule"], "min_free_bytes");
    assert_eq!(v["unmet_targets"][0]["target"], 1000u64 << 50);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "wsprune: target not reached: min_free_bytes in {} (wanted 1000.0 PB free, would have ",
            root.display()
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn a_concurrent_prune_is_busy_after_the_lock_timeout() {
    let _g = exclusive(); // holds a lock while starting a process
    let (_t, root) = workspace();
    let stale = session(&root, 100.0);
    // Hold the workspace lock (the host directory's lock file) as a running prune does.
    let dir = workspace_lock_file(&root);
    // SAFETY: takes no pointers; a bad descriptor would only be an error.
    assert_eq!(unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX) }, 0);
    let start = std::time::Instant::now();
    ws("prune", &root, &["--lock-timeout", "0.3s"]).fatal(75, "another prune of");
    assert!(start.elapsed() >= std::time::Duration::from_millis(300));
    assert!(exists(&root.join(&stale)));
    drop(dir);
    ws("prune", &root, &["--lock-timeout", "0s", "-q"]).expect(0);
    assert!(!exists(&root.join(&stale)));
}

#[test]
fn session_errors_give_exit_status_1() {
    let _g = exclusive(); // runs chattr
    let (_t, root) = workspace();
    if let Err(why) = chattr_works(&root) {
        eprintln!("SKIPPED: session_errors_give_exit_status_1: {why}");
        return;
    }
    let _clear = ClearImmutable(root.clone());
    let stuck = session_with(&root, 100.0, 10);
    let fine = session_with(&root, 100.0, 10);
    chattr("+i", &root.join(&stuck).join("data"));
    let r = ws("prune", &root, &[]).expect(1);
    // The failure is on stderr, as it happened; stdout keeps the results.
    assert!(!r.stdout.contains(&stuck), "{}", r.stdout);
    assert!(
        r.stdout.contains("Pruned 1 session (0 skipped, 1 error)"),
        "{}",
        r.stdout
    );
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stderr);
    assert!(
        lines[0].starts_with(&format!("wsprune: error: {stuck}: ")),
        "{}",
        r.stderr
    );
    assert_eq!(
        lines[1],
        format!(
            "wsprune: error: 1 session could not be deleted in {} (listed above)",
            root.display()
        )
    );
    assert!(!exists(&root.join(&fine)));
    chattr("-i", &support::trash_of(&root, &stuck).unwrap().join("data"));
    // JSON: the same status, the error in "errors".
    let stuck2 = session_with(&root, 100.0, 10);
    chattr("+i", &root.join(&stuck2).join("data"));
    let r = ws("prune", &root, &["--json"]).expect(1);
    assert!(r.json()["errors"][&stuck2].is_string(), "{}", r.stdout);
    assert!(r.stderr.contains("see \"errors\" in the output"));
}

// ----------------------------------------------------------------------- ls

#[test]
fn ls_shows_a_sorted_table_and_json() {
    let _g = exclusive(); // holds a lease while starting a process
    let (_t, root) = workspace();
    let old = session_with(&root, 76.0, 100);
    let big = session_with(&root, 5.0, 50_000);
    let new = session_with(&root, 0.5, 10_000); // more blocks than `old`: sizes are allocated blocks
    let legacy = legacy_session(&root);
    let lease = wsprune::acquire(&root, &new).unwrap();

    let r = ws("ls", &root, &[]).expect(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", r.stdout);
    let header: Vec<&str> = lines[0].split("  ").filter(|s| !s.is_empty()).map(str::trim).collect();
    assert_eq!(header, ["SESSION ID", "CREATED", "LAST USED", "AGE", "SIZE", "STATE"]);
    let first: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(first[0], old);
    assert!(first[1].ends_with('Z') && first[1].len() == 20, "{}", lines[1]);
    assert_eq!(first[3], "3d4h");
    assert!(lines[1].ends_with(" ok"));
    assert!(
        lines[3].starts_with(&new) && lines[3].ends_with(" ok, in use"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4].starts_with(&legacy) && lines[4].ends_with(" legacy"),
        "{}",
        lines[4]
    );
    assert!(lines[4].contains(" -  "), "unknown times shown as -: {}", lines[4]);
    let total: u64 = [&old, &big, &new, &legacy]
        .iter()
        .map(|id| tree_bytes(&root.join(id)))
        .sum();
    assert_eq!(
        lines[5],
        format!(
            "4 sessions, {} total (1 legacy, 1 in use)",
            wsprune::result::format_bytes(total)
        )
    );

    let order = |args: &[&str]| {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        json_ids_of(&ws("ls", &root, &a).expect(0).json())
    };
    assert_eq!(order(&[]), [&old, &big, &new, &legacy].map(String::clone));
    assert_eq!(
        order(&["--sort", "age", "--reverse"]),
        [&legacy, &new, &big, &old].map(String::clone)
    );
    assert_eq!(
        order(&["--sort", "size"]),
        [&big, &new, &old, &legacy].map(String::clone)
    );
    assert_eq!(order(&["--sort", "size", "-r"])[0], legacy);
    assert_eq!(
        order(&["--sort", "id"]),
        sorted(&[old.clone(), big.clone(), new.clone(), legacy.clone()])
    );

    let v = ws("ls", &root, &["--json"]).expect(0).json();
    let arr = v.as_array().unwrap();
    let keys: Vec<&str> = arr[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "session_id",
            "created_at",
            "updated_at",
            "age_hours",
            "size_bytes",
            "state",
            "in_use",
            "problem",
            "labels",
            "pinned",
            "pinned_until",
            "idle_ttl_seconds",
            "expires_at",
            "ttl_deadline"
        ]
    );
    let age = arr[0]["age_hours"].as_f64().unwrap();
    assert!((76.0..76.1).contains(&age), "{age}");
    assert!(chrono::DateTime::parse_from_rfc3339(arr[0]["updated_at"].as_str().unwrap()).is_ok());
    assert_eq!(arr[0]["size_bytes"], tree_bytes(&root.join(&old)));
    assert_eq!(arr[0]["state"], "ok");
    assert_eq!(arr[2]["in_use"], true);
    assert_eq!(arr[3]["state"], "legacy");
    assert_eq!(arr[3]["created_at"], Value::Null);
    assert_eq!(arr[3]["age_hours"], Value::Null);
    lease.release(false).unwrap();

    // An empty workspace.
    let (_t2, empty) = workspace();
    assert_eq!(
        ws("ls", &empty, &[]).expect(0).stdout.lines().last(),
        Some("0 sessions, 0 B total")
    );
    assert_eq!(ws("ls", &empty, &["--json"]).expect(0).stdout, "[]\n");
}

/// Runs the tool as a user who cannot read `unreadable` (a session directory):
/// as root, through `setpriv` as nobody with `unreadable` kept root-only; as
/// anyone else, with `unreadable` made mode 000 (restored by the caller's
/// cleanup). `None` when neither can be arranged here.
fn ws_without_access(root: &Path, unreadable: &Path, rest: &[&str]) -> Option<Run> {
    use std::os::unix::fs::PermissionsExt;
    let set = |p: &Path, mode: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    let mut args = vec!["ls", root.to_str().unwrap()];
    args.extend_from_slice(rest);
    // SAFETY: geteuid takes nothing and cannot fail.
    let out = if unsafe { libc::geteuid() } == 0 {
        // Everything readable by others but the one session.
        let status = Command::new("chmod")
            .arg("-R")
            .arg("a+rX")
            .arg(root.parent().unwrap())
            .status()
            .ok()?;
        assert!(status.success());
        set(unreadable, 0o700);
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_wsprune"))
            .args(&args)
            .env_remove("RUST_BACKTRACE")
            .output()
            .ok()?
    } else {
        set(unreadable, 0o000);
        let out = Command::new(env!("CARGO_BIN_EXE_wsprune"))
            .args(&args)
            .output()
            .unwrap();
        set(unreadable, 0o755);
        out
    };
    let run = Run::of(out);
    // setpriv itself failing (no such user, no permission) is not the tool's answer.
    (!run.stderr.starts_with("setpriv:")).then_some(run)
}

#[test]
fn ls_shows_unreadable_sessions_as_unknown_size_and_exits_1() {
    let _g = shared();
    let (_t, root) = workspace();
    let fine = session_with(&root, 2.0, 1000);
    let hidden = session_with(&root, 3.0, 5000);
    let fine_bytes = wsprune::result::format_bytes(tree_bytes(&root.join(&fine)));
    let Some(r) = ws_without_access(&root, &root.join(&hidden), &[]) else {
        eprintln!("SKIPPED: ls_shows_unreadable_sessions_as_unknown_size_and_exits_1: cannot drop access here");
        return;
    };
    let r = r.expect(1);
    let row = r
        .stdout
        .lines()
        .find(|l| l.starts_with(&hidden))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[cols.len() - 2..], ["?", "unreadable"], "{row}");
    assert_eq!(
        r.stdout.lines().last().unwrap(),
        format!("2 sessions, {fine_bytes} total (1 unreadable, size unknown)")
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("wsprune: warning: 1 session could not be read (unreadable, size unknown;"),
        "{}",
        r.stderr
    );

    let r = ws_without_access(&root, &root.join(&hidden), &["--json", "--sort", "size"])
        .unwrap()
        .expect(1);
    let v = r.json();
    let arr = v.as_array().unwrap();
    // Unknown sizes sort last.
    assert_eq!(json_ids_of(&v), [fine.clone(), hidden.clone()]);
    assert_eq!(arr[1]["state"], "unreadable");
    assert_eq!(arr[1]["size_bytes"], Value::Null);
    assert!(arr[1]["problem"].is_string());
    assert!(arr[0]["size_bytes"].is_u64());
    assert!(
        r.stderr.starts_with("wsprune: warning: 1 session could not be read"),
        "{}",
        r.stderr
    );
}

// ------------------------------------------------- create, touch, info, rm

#[test]
fn create_touch_and_info() {
    let _g = shared();
    let (_t, root) = workspace();
    let r = ws("create", &root, &[]).expect(0);
    let id = r.stdout.trim().to_owned();
    assert!(is_uuid_name(&id) && r.stdout == format!("{id}\n"), "{}", r.stdout);
    assert!(exists(&root.join(&id).join(".metadata.json")));

    // A UUID is created under its canonical spelling, found by any.
    let chosen = "0F8FAD5B-D9CB-469F-A165-70867728950E";
    let canon = chosen.to_lowercase();
    assert_eq!(ws("create", &root, &[chosen]).expect(0).stdout, format!("{canon}\n"));
    ws("create", &root, &[chosen]).fatal(73, "exists");
    ws("create", &root, &["0f8fad5bd9cb469fa16570867728950e"]).fatal(73, "exists");
    assert_eq!(
        ws("info", &root, &[chosen, "--json"]).expect(0).json()["session_id"],
        canon.as_str()
    );

    let stale = session_with(&root, 50.0, 1234);
    let v = ws("info", &root, &[&stale, "--json"]).expect(0).json();
    assert_eq!(v["session_id"], stale.as_str());
    assert_eq!(v["state"], "ok");
    assert_eq!(v["in_use"], false);
    assert_eq!(v["size_bytes"], tree_bytes(&root.join(&stale)));
    assert_eq!(v["problem"], Value::Null);
    assert!(v["age_hours"].as_f64().unwrap() >= 50.0);
    let created = v["created_at"].clone();

    let r = ws("info", &root, &[&stale]).expect(0);
    assert!(r.stdout.contains(&format!("session    {stale}\n")), "{}", r.stdout);
    assert!(r.stdout.contains("(2d2h ago)"), "{}", r.stdout);
    assert!(r
        .stdout
        .contains(&format!("({} bytes)", tree_bytes(&root.join(&stale)))));

    let r = ws("touch", &root, &[&stale]).expect(0);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));
    let v = ws("info", &root, &[&stale, "--json"]).expect(0).json();
    assert!(v["age_hours"].as_f64().unwrap() < 0.1, "touch made it fresh: {v}");
    assert_eq!(v["created_at"], created);

    // A legacy session: touch is not an error, but says why nothing changed.
    let legacy = legacy_session(&root);
    let r = ws("touch", &root, &[&legacy]).expect(0);
    assert!(
        r.stderr.starts_with("wsprune: warning: ") && r.stderr.contains("no metadata"),
        "{}",
        r.stderr
    );
    let v = ws("info", &root, &[&legacy, "--json"]).expect(0).json();
    assert_eq!((v["state"].as_str(), v["updated_at"].is_null()), (Some("legacy"), true));

    let nobody = new_id();
    ws("touch", &root, &[&nobody]).fatal(66, "not found");
    ws("info", &root, &[&nobody]).fatal(66, "not found");
    ws("rm", &root, &[&nobody]).fatal(66, "not found");
}

/// Custom ids on the tool: on create, open, touch, info, ls, rm;
/// `open` creates, then opens, and adopts a directory without metadata; a
/// prune's JSON reports leftover trash in `interrupted`, apart from the live
/// session of the same id.
#[test]
fn custom_ids_open_and_leftover_trash() {
    let _g = shared();
    let (_t, root) = workspace();
    let custom = "user 42: notebook";
    assert_eq!(ws("create", &root, &[custom]).expect(0).stdout, format!("{custom}\n"));
    ws("create", &root, &[custom]).fatal(73, "exists");
    let r = ws("touch", &root, &[custom]).expect(0);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));
    assert_eq!(ws("info", &root, &[custom, "--json"]).expect(0).json()["state"], "ok");
    let ls = ws("ls", &root, &["--json"]).expect(0).json();
    assert_eq!(ls[0]["session_id"], custom);

    // open: creates, then opens; --json says which.
    let v = ws("open", &root, &["reused", "--json"]).expect(0).json();
    assert_eq!(
        (v["session_id"].as_str(), v["created"].as_bool()),
        (Some("reused"), Some(true))
    );
    let v = ws("open", &root, &["reused", "--json"]).expect(0).json();
    assert_eq!(v["created"], false);
    assert_eq!(ws("open", &root, &["reused"]).expect(0).stdout, "reused\n");
    let fresh = ws("open", &root, &[]).expect(0).stdout.trim().to_owned();
    assert!(is_uuid_name(&fresh));
    // A directory without metadata is not a session until `open` adopts it.
    std::fs::create_dir(root.join("adopted")).unwrap();
    ws("info", &root, &["adopted"]).fatal(66, "not found");
    ws("rm", &root, &["adopted"]).fatal(66, "not found");
    let r = ws("touch", &root, &["adopted"]).expect(0);
    assert!(r.stderr.contains("not a session"), "{}", r.stderr);
    // A directory that is not a session is adopted only when asked.
    ws("open", &root, &["adopted"]).fatal(66, "--adopt");
    assert_eq!(ws("open", &root, &["adopted", "--adopt"]).expect(0).stdout, "adopted\n");
    assert_eq!(
        ws("info", &root, &["adopted", "--json"]).expect(0).json()["state"],
        "ok"
    );

    // Leftover trash beside a live session of the same id.
    let live = session_with(&root, 1.0, 10);
    let trash = format!(".wsprune-trash.{live}.1.2");
    std::fs::create_dir(root.join(&trash)).unwrap();
    write_file(&root.join(&trash).join("left"), 300);
    let trash_bytes = tree_bytes(&root.join(&trash));
    let v = ws("prune", &root, &["--older-than", "1d", "--json"]).expect(0).json();
    assert_eq!(json_strs(&v["interrupted"]), vec![trash.clone()]);
    assert!(json_strs(&v["deleted_sessions"]).is_empty(), "{v}");
    assert_eq!(v["reclaimed_bytes"], trash_bytes);
    assert!(exists(&root.join(&live)) && !exists(&root.join(&trash)));

    let r = ws("rm", &root, &[custom]).expect(0);
    assert!(
        r.stdout.starts_with(&format!("Deleted {custom}, reclaimed ")),
        "{}",
        r.stdout
    );
    assert!(!exists(&root.join(custom)));
}

#[test]
fn rm_of_a_leased_session_is_busy() {
    let _g = exclusive(); // holds a lease while starting a process
    let (_t, root) = workspace();
    let id = session_with(&root, 0.1, 2000);
    let bytes = tree_bytes(&root.join(&id));
    let lease = wsprune::acquire(&root, &id).unwrap();
    ws("rm", &root, &[&id]).fatal(75, "is in use");
    let start = std::time::Instant::now();
    ws("rm", &root, &[&id, "--wait", "200ms"]).fatal(75, "is in use");
    assert!(start.elapsed() >= std::time::Duration::from_millis(200));
    assert!(exists(&root.join(&id)));
    lease.release(false).unwrap();
    let r = ws("rm", &root, &[&id, "--wait", "5s"]).expect(0);
    assert_eq!(
        r.stdout,
        format!("Deleted {id}, reclaimed {}\n", wsprune::result::format_bytes(bytes))
    );
    assert!(names(&root).is_empty());
}

#[test]
fn rm_json_gives_the_exact_bytes() {
    let _g = shared();
    let (_t, root) = workspace();
    let id = session_with(&root, 0.1, 5000);
    let bytes = tree_bytes(&root.join(&id));
    let r = ws("rm", &root, &[&id, "--json"]).expect(0);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["session_id"], id.as_str());
    assert_eq!(v["reclaimed_bytes"], bytes);
    assert!(names(&root).is_empty());
}

#[test]
fn jobs_zero_is_the_automatic_default() {
    let _g = shared();
    let (_t, root) = workspace();
    let stale = session_with(&root, 48.0, 10);
    let r = ws("prune", &root, &["--jobs", "0", "--json"]).expect(0);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json_strs(&v["deleted_sessions"]), vec![stale]);
}

// ------------------------------------------------------------------- repair

#[test]
fn repair_writes_metadata_only_when_asked() {
    let _g = shared();
    let (_t, root) = workspace();
    let legacy = legacy_session(&root);
    write_file(&root.join(&legacy).join("notebook.ipynb"), 10);
    // Its newest file was last written 40 days ago (whole seconds, for exact comparisons).
    let mtime = chrono::DateTime::from_timestamp(Utc::now().timestamp() - 40 * 86_400, 0).unwrap();
    let f = std::fs::File::options()
        .write(true)
        .open(root.join(&legacy).join("notebook.ipynb"))
        .unwrap();
    f.set_modified(mtime.into()).unwrap();
    let corrupted = session(&root, 1.0);
    write_metadata_raw(&root.join(&corrupted), "{not json");
    let fine = session(&root, 1.0);
    let before = snapshot(&root);

    let r = ws("repair", &root, &["--dry-run"]).expect(0);
    assert_eq!(before, snapshot(&root), "a dry run wrote something");
    assert!(
        r.stdout.contains(&format!("would repair  {legacy}  was legacy")),
        "{}",
        r.stdout
    );
    let shown = mtime.format("last used %Y-%m-%dT%H:%M:%SZ").to_string();
    assert!(r.stdout.contains(&shown), "{shown} not in {}", r.stdout);
    assert!(
        r.stdout.ends_with("Would repair 2 sessions (0 errors)\n"),
        "{}",
        r.stdout
    );

    let v = ws("repair", &root, &["--json"]).expect(0).json();
    assert_eq!(v["dry_run"], false);
    assert_eq!(v["errors"], serde_json::json!({}));
    let repaired = v["repaired"].as_array().unwrap();
    assert_eq!(
        json_ids_of(&v["repaired"]),
        sorted(&[legacy.clone(), corrupted.clone()])
    );
    let l = repaired.iter().find(|x| x["session_id"] == legacy.as_str()).unwrap();
    assert_eq!(l["previous_state"], "legacy");
    assert_eq!(l["updated_at"], mtime.format("%Y-%m-%dT%H:%M:%S.000000Z").to_string());
    let c = repaired.iter().find(|x| x["session_id"] == corrupted.as_str()).unwrap();
    assert_eq!(c["previous_state"], "corrupted");

    // Now they are ordinary sessions, and the old one is prunable by age.
    let ls = ws("ls", &root, &["--json"]).expect(0).json();
    assert!(ls.as_array().unwrap().iter().all(|s| s["state"] == "ok"), "{ls}");
    let r = ws("prune", &root, &["--older-than", "30d", "--json"]).expect(0);
    assert_eq!(json_strs(&r.json()["deleted_sessions"]), vec![legacy.clone()]);
    assert!(exists(&root.join(&fine)));
    assert_eq!(
        ws("repair", &root, &[]).expect(0).stdout,
        "Repaired 0 sessions (0 errors)\n"
    );
}

#[test]
fn repair_of_a_leased_session_is_an_error_with_status_1() {
    let _g = exclusive(); // holds a lease while starting a process
    let (_t, root) = workspace();
    let legacy = legacy_session(&root);
    let lease = wsprune::acquire(&root, &legacy).unwrap();
    let r = ws("repair", &root, &[]).expect(1);
    assert!(
        r.stdout.contains(&format!("error         {legacy}  session is in use")),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stderr,
        "wsprune: error: 1 session could not be repaired (listed above)\n"
    );
    let r = ws("repair", &root, &["--json"]).expect(1);
    assert!(r.json()["errors"][&legacy].is_string());
    lease.release(false).unwrap();
    assert!(!exists(&root.join(&legacy).join(".metadata.json")));
}

#[test]
fn output_to_a_closed_pipe_is_not_an_error() {
    let _g = shared();
    let (_t, root) = workspace();
    for _ in 0..200 {
        session(&root, 1.0);
    }
    // The reader goes away at once; the tool must not panic or complain.
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsprune"))
        .args(["ls", root.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
}

/// A time after year 9999 is a usage error (exit 64), not a pin, an expiry
/// or a look-ahead stored or evaluated with its year clamped; a fractional
/// idle TTL is refused, and the TTL printed is the one stored.
#[test]
fn times_past_9999_and_fractional_idle_ttls_are_usage_errors() {
    let (_tmp, root) = workspace();
    ws("create", &root, &["s"]).expect(0);
    let info = |root: &Path| {
        let mut v = ws("info", root, &["s", "--json"]).expect(0).json();
        v.as_object_mut().unwrap().remove("age_hours");
        v
    };
    let before = info(&root);
    ws("pin", &root, &["s", "--until", "+3058260d"]).fatal(64, "too far in the future");
    ws("ttl", &root, &["s", "--expires-at", "+3058260d"]).fatal(64, "9999-12-31");
    ws("create", &root, &["n", "--expires-at", "+3058260d"]).fatal(64, "too far in the future");
    assert!(!root.join("n").exists());
    ws("prune", &root, &["--dry-run", "--as-of", "+4000000d"]).fatal(64, "too far in the future");
    ws("ttl", &root, &["s", "--idle-ttl", "1.9s"]).fatal(64, "whole number of seconds");
    assert_eq!(info(&root), before, "a refused change wrote");
    // The latest storable time is accepted; what is printed is what is stored.
    let r = ws("pin", &root, &["s", "--until", "9999-12-31T23:59:59.999999Z"]).expect(0);
    assert!(r.stdout.contains("until 9999-12-31T23:59:59Z"), "{}", r.stdout);
    let r = ws("ttl", &root, &["s", "--idle-ttl", "90061s"]).expect(0);
    assert_eq!(r.stdout, "s: idle TTL 90061s\n");
    let r = ws("ttl", &root, &["s", "--idle-ttl", "2s"]).expect(0);
    assert_eq!(r.stdout, "s: idle TTL 2s\n");
    let v = info(&root);
    assert_eq!(v["idle_ttl_seconds"], 2);
    assert_eq!(v["pinned_until"], "9999-12-31T23:59:59.999999Z");
}
