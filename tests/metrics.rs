//! `wsprune metrics` and `wsprune prune --metrics-file` end to end: the
//! built tool run on real temporary workspaces; its Prometheus text parsed
//! (strictly: HELP and TYPE on every family, a `root` label on every
//! sample, no timestamps) and every value checked against the workspace
//! (states, leases, idle buckets, `du`-style sizes, `stat -f`) and against
//! what the prune did. Names: docs/metrics.md.

#[path = "prune_support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use support::*;

/// One sample line: `name{labels} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition.
#[derive(Debug)]
struct Exposition {
    samples: Vec<Sample>,
    /// Family name -> (help, type).
    families: BTreeMap<String, (String, String)>,
}

impl Exposition {
    /// Parses the Prometheus text format as wsprune writes it, failing the
    /// test on anything it must not contain: a sample without HELP and TYPE
    /// before it, a timestamp, a family twice, a malformed line.
    fn parse(text: &str) -> Exposition {
        let mut families: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut helps: BTreeMap<String, String> = BTreeMap::new();
        let mut samples = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP without text");
                assert!(helps.insert(name.into(), help.into()).is_none(), "two HELP for {name}");
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, ty) = rest.split_once(' ').unwrap();
                let help = helps.get(name).unwrap_or_else(|| panic!("TYPE before HELP: {line}"));
                assert!(
                    families.insert(name.into(), (help.clone(), ty.into())).is_none(),
                    "two TYPE for {name}"
                );
            } else {
                assert!(!line.starts_with('#') && !line.is_empty(), "unexpected line {line:?}");
                let s = parse_sample(line);
                assert!(families.contains_key(&s.name), "sample before its HELP/TYPE: {line}");
                samples.push(s);
            }
        }
        Exposition { samples, families }
    }

    /// The value of the one sample `name` with `labels` (besides `root`).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
            })
            .collect();
        assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
        found[0].value
    }

    fn has_labels(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.samples.iter().any(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
        })
    }

    fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|s| s.name == name)
    }

    /// Whole-number value (counts, bytes).
    fn n(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let v = self.get(name, labels);
        assert_eq!(v.fract(), 0.0, "{name} is not a whole number: {v}");
        v as u64
    }
}

/// `name{k="v",...} value`, label values unescaped (`\\`, `\"`, `\n`);
/// exactly two fields: a third would be a timestamp.
fn parse_sample(line: &str) -> Sample {
    let (name, rest) = line.split_at(line.find(['{', ' ']).expect("no value"));
    let mut labels = BTreeMap::new();
    let mut rest = rest;
    if let Some(r) = rest.strip_prefix('{') {
        let mut chars = r.char_indices();
        let mut key = String::new();
        let end = loop {
            let (i, c) = chars.next().expect("unterminated labels");
            match c {
                '}' => break i,
                ',' => {}
                '=' => {
                    assert_eq!(chars.next().map(|(_, c)| c), Some('"'));
                    let mut value = String::new();
                    loop {
                        match chars.next().expect("unterminated value").1 {
                            '"' => break,
                            '\\' => match chars.next().unwrap().1 {
                                'n' => value.push('\n'),
                                c @ ('\\' | '"') => value.push(c),
                                c => panic!("bad escape \\{c} in {line}"),
                            },
                            c => value.push(c),
                        }
                    }
                    labels.insert(std::mem::take(&mut key), value);
                }
                c => key.push(c),
            }
        };
        rest = &r[end + 1..];
    }
    let fields: Vec<&str> = rest.split_whitespace().collect();
    assert_eq!(fields.len(), 1, "a sample is a name and a value, no timestamp: {line}");
    let value = match fields[0] {
        "+Inf" => f64::INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
    };
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

fn tool(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wsprune")).args(args).output().unwrap()
}

fn metrics(root: &Path, sizes: bool) -> Exposition {
    let mut args = vec!["metrics", root.to_str().unwrap()];
    if sizes {
        args.push("--sizes");
    }
    let out = tool(&args);
    assert!(out.status.success(), "{out:?}");
    let e = Exposition::parse(&String::from_utf8(out.stdout).unwrap());
    every_family_is_a_gauge_with_the_root(&e, root);
    e
}

fn every_family_is_a_gauge_with_the_root(e: &Exposition, root: &Path) {
    for (name, (help, ty)) in &e.families {
        assert!(name.starts_with("wsprune_"), "{name}");
        assert!(!help.is_empty(), "{name} has no help");
        assert_eq!(ty, "gauge", "{name}");
    }
    for s in &e.samples {
        assert_eq!(s.labels.get("root").map(String::as_str), root.to_str(), "{s:?}");
    }
}

fn with_data(root: &Path, id: &str, bytes: usize) {
    write_file(&root.join(id).join("data.bin"), bytes);
}

#[test]
fn metrics_of_a_real_workspace() {
    // Starts processes (the tool, mount): run alone (see support::exclusive).
    let _serial = exclusive();
    // A private tmpfs: its free space and inodes change only with this test.
    let fs = PrivateTmpfs::mount("size=8m,nr_inodes=2000");
    let root = fs.dir.join("ws");
    let fresh = registered_session(&root, 0.5);
    with_data(&root, &fresh, 3000);
    let day = registered_session(&root, 30.0);
    with_data(&root, &day, 7000);
    let old = registered_session(&root, 1000.0);
    let legacy = legacy_session(&root);
    with_data(&root, &legacy, 5000);
    let corrupted = session(&root, 2.0);
    write_metadata_raw(&root.join(&corrupted), "{not json");
    std::fs::write(root.join("notes.txt"), "not a session").unwrap();
    let lease = wsprune::acquire(&root, &day).unwrap();

    let e = metrics(&root, true);
    let states = [("ok", 3), ("legacy", 1), ("corrupted", 1), ("unreadable", 0)];
    for (state, n) in states {
        assert_eq!(e.n("wsprune_sessions", &[("state", state)]), n, "{state}");
    }
    assert_eq!(e.n("wsprune_sessions_leased", &[]), 1);
    let all = [&fresh, &day, &old, &legacy, &corrupted];
    let bytes = |id: &String| tree_bytes(&root.join(id));
    assert_eq!(
        e.n("wsprune_sessions_bytes", &[]),
        all.iter().map(|id| bytes(id)).sum::<u64>()
    );
    // 0.5 h, 30 h (at most 7 d) and 1000 h (over 30 d); legacy and corrupted have no known last use.
    let buckets = [
        ("3600", Some(&fresh)),
        ("21600", None),
        ("86400", None),
        ("604800", Some(&day)),
        ("2592000", None),
        ("+Inf", Some(&old)),
    ];
    for (upper, id) in buckets {
        let l = [("upper_seconds", upper)];
        assert_eq!(e.n("wsprune_idle_sessions", &l), u64::from(id.is_some()), "{upper}");
        assert_eq!(e.n("wsprune_idle_sessions_bytes", &l), id.map_or(0, bytes), "{upper}");
    }
    let oldest = e.get("wsprune_oldest_idle_seconds", &[]);
    assert!((oldest - 1000.0 * 3600.0).abs() < 120.0, "{oldest}");
    let (bsize, blocks, avail, inodes, _) = stat_f(&root);
    assert_eq!(e.n("wsprune_filesystem_size_bytes", &[]), bsize * blocks);
    // Free space and inodes move with everything else on this filesystem:
    // checked exactly on a private tmpfs in tests/stats.rs; here, near.
    let near = |a: u64, b: u64, by: u64| a.abs_diff(b) <= by;
    assert!(near(
        e.n("wsprune_filesystem_avail_bytes", &[]),
        bsize * avail,
        64 << 20
    ));
    assert_eq!(e.n("wsprune_filesystem_files", &[]), inodes);
    assert!(e.n("wsprune_filesystem_files_free", &[]) <= inodes);
    assert!(
        !e.has("wsprune_prune_last_run_timestamp_seconds"),
        "no prune, no outcome"
    );

    // Without --sizes: no walk, no byte counts; the same counts.
    let quick = metrics(&root, false);
    assert!(!quick.has("wsprune_sessions_bytes") && !quick.has("wsprune_idle_sessions_bytes"));
    assert_eq!(quick.n("wsprune_sessions", &[("state", "ok")]), 3);
    assert_eq!(quick.n("wsprune_idle_sessions", &[("upper_seconds", "+Inf")]), 1);
    lease.release(false).unwrap();
    assert_eq!(metrics(&root, false).n("wsprune_sessions_leased", &[]), 0);

    // An empty root: no oldest idle time at all (not 0).
    let empty = fs.dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = metrics(&empty, false);
    assert!(!e.has("wsprune_oldest_idle_seconds"));
    assert_eq!(e.n("wsprune_sessions", &[("state", "ok")]), 0);
    // A missing root is the tool's usual error.
    assert_eq!(
        tool(&["metrics", fs.dir.join("nope").to_str().unwrap()]).status.code(),
        Some(66)
    );
}

/// Runs `wsprune prune ROOT ARGS --metrics-file FILE` under umask 077 and
/// returns its exit status and the parsed file.
fn prune_with_metrics(root: &Path, file: &Path, args: &[&str]) -> (i32, Exposition) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 077; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_wsprune"))
        .arg("prune")
        .arg(root)
        .args(args)
        .arg("--metrics-file")
        .arg(file)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("no metrics file ({e}): {out:?}"));
    let e = Exposition::parse(&text);
    every_family_is_a_gauge_with_the_root(&e, root);
    (out.status.code().unwrap(), e)
}

fn now() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

#[test]
fn prune_metrics_file_reports_the_outcome() {
    // Starts processes (the tool, mount): run alone (see support::exclusive).
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let out = tmp.path().join("textfile");
    std::fs::create_dir(&out).unwrap();
    let file = out.join("wsprune.prom");
    let stale: Vec<String> = (0..2).map(|_| registered_session(&root, 48.0)).collect();
    for (i, id) in stale.iter().enumerate() {
        with_data(&root, id, 10_000 * (i + 1));
    }
    let reclaimed: u64 = stale.iter().map(|id| tree_bytes(&root.join(id))).sum();
    let leased = registered_session(&root, 48.0);
    let lease = wsprune::acquire(&root, &leased).unwrap();
    legacy_session(&root);
    let fresh = registered_session(&root, 0.1);
    with_data(&root, &fresh, 20_000);

    // The age rule takes the two stale ones; 1 KiB in total cannot be
    // reached (the fresh session is under the 1 h floor): exit 3.
    let before = now();
    let (code, e) = prune_with_metrics(&root, &file, &["--max-total-size", "1K"]);
    let after = now();
    assert_eq!(code, 3);
    let rules = [
        ("older_than", 2),
        ("max_total_bytes", 0),
        ("max_sessions", 0),
        ("min_free_bytes", 0),
    ];
    for (rule, n) in rules {
        assert_eq!(
            e.n("wsprune_prune_last_deleted_sessions", &[("rule", rule)]),
            n,
            "{rule}"
        );
    }
    assert_eq!(e.n("wsprune_prune_last_reclaimed_bytes", &[]), reclaimed);
    assert_eq!(e.n("wsprune_prune_last_errors", &[]), 0);
    let reasons = [
        ("in_use", 1),
        ("missing_metadata", 1),
        ("corrupted_metadata", 0),
        ("corrupted_timestamp", 0),
    ];
    for (reason, n) in reasons {
        assert_eq!(
            e.n("wsprune_prune_last_skipped_sessions", &[("reason", reason)]),
            n,
            "{reason}"
        );
    }
    let unmet = [
        ("max_total_bytes", 1),
        ("max_sessions", 0),
        ("min_free_bytes", 0),
        ("watermark", 0),
        ("inode_watermark", 0),
        ("max_sessions_per_owner", 0),
        ("max_bytes_per_owner", 0),
    ];
    for (rule, n) in unmet {
        assert!(!e.has_labels("wsprune_prune_last_unmet_targets", &[("rule", "older_than")]));
        assert_eq!(e.n("wsprune_prune_last_unmet_targets", &[("rule", rule)]), n, "{rule}");
    }
    // An unmet target is not a failure: the run succeeded.
    assert_eq!(e.n("wsprune_prune_last_success", &[]), 1);
    let ran = e.get("wsprune_prune_last_run_timestamp_seconds", &[]);
    assert!(before <= ran && ran <= after, "{before} {ran} {after}");
    assert_eq!(e.get("wsprune_prune_last_success_timestamp_seconds", &[]), ran);
    let took = e.get("wsprune_prune_last_duration_seconds", &[]);
    assert!(0.0 < took && took <= after - before, "{took}");
    // The root as the prune left it.
    assert_eq!(e.n("wsprune_sessions", &[("state", "ok")]), 2);
    assert_eq!(e.n("wsprune_sessions", &[("state", "legacy")]), 1);
    assert_eq!(e.n("wsprune_sessions_leased", &[]), 1);
    assert!(
        !e.has("wsprune_sessions_bytes"),
        "the prune's file does not walk the sessions"
    );

    // 0644 whatever the umask; nothing else left in the directory.
    let md = std::fs::metadata(&file).unwrap();
    assert_eq!(md.permissions().mode() & 0o777, 0o644);
    assert_eq!(names(&out), ["wsprune.prom"]);
    drop(lease);
}

#[test]
fn a_failed_prune_keeps_the_last_success_and_replaces_the_file_whole() {
    // Starts processes (the tool, mount): run alone (see support::exclusive).
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    // A root whose name needs escaping in a label value.
    let root = tmp.path().join("we\"ird\\root\nname");
    let file = tmp.path().join("wsprune.prom");
    registered_session(&root, 100.0);
    let (code, first) = prune_with_metrics(&root, &file, &[]);
    assert_eq!(code, 0);
    let succeeded = first.get("wsprune_prune_last_success_timestamp_seconds", &[]);
    let old_text = std::fs::read_to_string(&file).unwrap();
    let mut old = std::fs::File::open(&file).unwrap();
    let old_inode = old.metadata().unwrap().ino();

    // Another prune holds the workspace: this one fails (busy, 75) before
    // it has a result.
    let held = workspace_lock_file(&root);
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX) }, 0);
    let (code, e) = prune_with_metrics(&root, &file, &["--lock-timeout", "0s"]);
    assert_eq!(code, 75);
    assert_eq!(e.n("wsprune_prune_last_success", &[]), 0);
    assert_eq!(e.get("wsprune_prune_last_success_timestamp_seconds", &[]), succeeded);
    assert!(e.get("wsprune_prune_last_run_timestamp_seconds", &[]) > succeeded);
    assert!(!e.has("wsprune_prune_last_deleted_sessions"), "no result, no counts");
    assert_eq!(e.n("wsprune_sessions", &[("state", "ok")]), 0);
    drop(held);

    // Replaced by rename: a reader of the old file still reads it whole.
    assert_ne!(std::fs::metadata(&file).unwrap().ino(), old_inode);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut old, &mut text).unwrap();
    assert_eq!(text, old_text);

    // Another root's last success is not this root's.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let held = workspace_lock_file(&other);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX) }, 0);
    let (code, e) = prune_with_metrics(&other, &file, &["--lock-timeout", "0s"]);
    assert_eq!(code, 75);
    assert!(!e.has("wsprune_prune_last_success_timestamp_seconds"));
}

#[test]
fn a_metrics_file_that_cannot_be_written_fails_the_run() {
    // Starts processes (the tool, mount): run alone (see support::exclusive).
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let stale = registered_session(&root, 100.0);
    let file = tmp.path().join("missing-dir").join("wsprune.prom");
    let out = tool(&[
        "prune",
        root.to_str().unwrap(),
        "--metrics-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(74), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("cannot write the metrics file"), "{stderr}");
    assert!(!root.join(&stale).exists(), "the prune itself ran");
    // A dry run deletes nothing: it has no outcome to report.
    let out = tool(&["prune", root.to_str().unwrap(), "--dry-run", "--metrics-file", "x.prom"]);
    assert_eq!(out.status.code(), Some(64));
}

/// What is at the metrics file's path or at its temporary name is never
/// replaced, read or removed unless wsprune made it: a FIFO (a `--metrics-file
/// /dev/null` alike) is refused without blocking and left in place, and a
/// link planted at the temporary name is neither followed nor removed.
#[test]
fn a_metrics_file_path_holding_something_else_is_left_alone() {
    // Starts processes (the tool, mount): run alone (see support::exclusive).
    let _serial = exclusive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    registered_session(&root, 100.0);
    let fifo = tmp.path().join("fifo.prom");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    // A failed prune (missing root) reads the file back for the last
    // success: with a FIFO there, that must not block (timeout says if it does).
    let out = Command::new("timeout")
        .args(["20", env!("CARGO_BIN_EXE_wsprune"), "prune"])
        .arg(tmp.path().join("missing"))
        .arg("--metrics-file")
        .arg(&fifo)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(124), "blocked on the FIFO: {out:?}");
    let out = tool(&[
        "prune",
        root.to_str().unwrap(),
        "--metrics-file",
        fifo.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(74), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a regular file"),
        "{out:?}"
    );
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());

    // A link planted at the temporary name this process will use.
    let target = tmp.path().join("target");
    std::fs::write(&target, "kept").unwrap();
    let file = tmp.path().join("m.prom");
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"ln -s "$1" "$2/.m.prom.$$.tmp" && exec "$3" prune "$4" --metrics-file "$2/m.prom""#)
        .arg("sh")
        .arg(&target)
        .arg(tmp.path())
        .arg(env!("CARGO_BIN_EXE_wsprune"))
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(74), "{out:?}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept");
    let planted: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".m.prom."))
        .collect();
    assert_eq!(planted.len(), 1, "the planted link was removed");
    assert!(!file.exists());
}

/// docs/metrics.md's tables: each family's extra label and its values
/// (empty for a family without one). A row's values are listed as
/// `label` = `a`, `b`; `label` alone refers to the row above.
fn documented() -> BTreeMap<String, (String, Vec<String>)> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md")).unwrap();
    let mut out = BTreeMap::new();
    let mut above: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("| `wsprune_")) {
        let cells: Vec<&str> = line.split('|').skip(1).map(str::trim).collect();
        let name = cells[0].trim_matches('`').to_owned();
        let ticked = |s: &str| -> Vec<String> { s.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
        let labels = cells[1];
        let (label, values) = if labels.is_empty() {
            (String::new(), Vec::new())
        } else if let Some((l, vals)) = labels.split_once(" = ") {
            let l = l.trim_matches('`').to_owned();
            (l, ticked(vals))
        } else {
            (labels.trim_matches('`').to_owned(), above.clone())
        };
        if !values.is_empty() {
            above = values.clone();
        }
        out.insert(name, (label, values));
    }
    out
}

/// Every family the tool writes is a row of docs/metrics.md (the names the
/// Go and Python collectors are checked against too), with the same label
/// and exactly the documented label values; and every row is written.
#[test]
fn the_names_are_docs_metrics_md() {
    // Starts processes (the tool, mount): run alone (see support::exclusive).
    let _serial = exclusive();
    let doc = documented();
    assert!(doc.len() >= 19, "{doc:?}");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    registered_session(&root, 100.0);
    registered_session(&root, 0.1);
    let file = tmp.path().join("wsprune.prom");
    let (_, pruned) = prune_with_metrics(&root, &file, &[]);
    let printed = metrics(&root, true);
    let mut seen = std::collections::BTreeSet::new();
    for e in [&pruned, &printed] {
        for name in e.families.keys() {
            let (label, values) = doc
                .get(name)
                .unwrap_or_else(|| panic!("{name} is not in docs/metrics.md"));
            let got: Vec<&Sample> = e.samples.iter().filter(|s| &s.name == name).collect();
            for s in &got {
                let extra: Vec<&String> = s.labels.keys().filter(|k| *k != "root").collect();
                let want: Vec<&String> = if label.is_empty() { vec![] } else { vec![label] };
                assert_eq!(extra, want, "{name}");
            }
            if !label.is_empty() {
                let got: Vec<&String> = got.iter().map(|s| &s.labels[label]).collect();
                assert_eq!(got, values.iter().collect::<Vec<_>>(), "{name}: its {label} values");
            }
            seen.insert(name.clone());
        }
    }
    assert_eq!(
        seen,
        doc.keys().cloned().collect(),
        "rows of docs/metrics.md the tool never wrote"
    );
}
