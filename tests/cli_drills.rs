//! The tool under the failures an operator meets, on real filesystems: a full
//! tmpfs, a read-only bind mount, SIGTERM in the middle of a prune, two prunes
//! of one root, stderr that is the journal, a guest's name made to forge
//! lines, and `wsprune lease` racing prunes. Each checks the exit status and
//! what stdout and stderr show (docs/operator-drills.md has the transcripts).

#[path = "prune_support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_wsprune");

fn wsprune(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A tmpfs of `size` under a fresh temporary directory, unmounted when
/// dropped (before the directory that holds the mount point goes).
struct Tmpfs(#[allow(dead_code)] tempfile::TempDir, PathBuf);

impl Tmpfs {
    fn new(test: &str, size: &str) -> Option<Tmpfs> {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("fs");
        match mount_tmpfs(&dir, &format!("size={size}")) {
            Ok(()) => Some(Tmpfs(tmp, dir)),
            Err(why) => {
                eprintln!("SKIPPED {test}: {why}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.1).status();
    }
}

/// Fills the filesystem of `dir` to the last block.
fn fill(dir: &Path) {
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=4k"])
        .arg(format!("of={}", dir.join("filler").display()))
        .stderr(Stdio::null())
        .status();
}

#[test]
fn full_disk_a_prune_frees_space_and_says_how_much() {
    let _g = shared();
    let Some(fs) = Tmpfs::new("full_disk_a_prune_frees_space_and_says_how_much", "2m") else {
        return;
    };
    let root = fs.1.join("ws");
    std::fs::create_dir(&root).unwrap();
    let old: Vec<String> = (0..4).map(|_| session_with_file(&root, 48.0, 100 * 1024)).collect();
    fill(&fs.1);
    let o = wsprune(&["prune", s(&root), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let (before, after) = (
        v["free_bytes_before"].as_u64().unwrap(),
        v["free_bytes_after"].as_u64().unwrap(),
    );
    assert!(before < 64 * 1024, "the disk was not full: {before}");
    assert!(after >= before + 4 * 100 * 1024, "{before} -> {after}");
    assert_eq!(json_ids(&v, "deleted_sessions").len(), old.len());
    assert_eq!(text(&o.stderr), "");
}

/// No dropped write error: `create` on a full filesystem fails and leaves
/// nothing. The tool maps the error the library returns (ENOSPC: I/O, 74)
/// and prints one line.
#[test]
fn full_disk_create_fails_with_74_and_leaves_nothing() {
    let _g = shared();
    let Some(fs) = Tmpfs::new("full_disk_create_fails_with_74_and_leaves_nothing", "1m") else {
        return;
    };
    let root = fs.1.join("ws");
    std::fs::create_dir(&root).unwrap();
    fill(&fs.1);
    let o = wsprune(&["create", s(&root)]);
    assert_eq!(o.status.code(), Some(74), "{}", show(&o));
    assert!(text(&o.stderr).contains("No space left on device"), "{}", show(&o));
    assert_eq!(names(&root), Vec::<String>::new());
}

#[test]
fn read_only_root_is_one_error_with_status_77() {
    let _g = exclusive(); // mounts
    let tmp = tempfile::tempdir().unwrap();
    if let Err(why) = bind_mount_works(tmp.path()) {
        eprintln!("SKIPPED read_only_root_is_one_error_with_status_77: {why}");
        return;
    }
    let src = tmp.path().join("src");
    let root = tmp.path().join("ro");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&root).unwrap();
    let ids: Vec<String> = (0..50).map(|_| session(&src, 48.0)).collect();
    bind_mount(&src, &root);
    let o = Command::new("mount")
        .args(["-o", "remount,bind,ro"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let o = wsprune(&["prune", s(&root)]);
    let err = text(&o.stderr);
    let ro = wsprune(&["prune", s(&root), "--json"]);
    let dry = wsprune(&["prune", s(&root), "--dry-run", "-q"]);
    umount(&root);
    assert_eq!(o.status.code(), Some(77), "{}", show(&o));
    assert_eq!(
        err.lines().count(),
        1,
        "one line for the whole root, not one per session: {err}"
    );
    assert!(
        err.starts_with(&format!(
            "wsprune: error: workspace root {} is not writable: Read-only file system",
            root.display()
        )),
        "{err}"
    );
    assert_eq!(text(&o.stdout), "");
    let v: Value = serde_json::from_slice(&ro.stdout).unwrap();
    assert_eq!(
        (v["error"]["status"].as_str(), v["error"]["exit_code"].as_u64()),
        (Some("not_writable"), Some(77))
    );
    // A dry run writes nothing: it still reports what would go.
    assert_eq!(dry.status.code(), Some(0), "{}", show(&dry));
    assert!(text(&dry.stdout).contains("Would prune 50 sessions"), "{}", show(&dry));
    assert_eq!(sorted(&names(&src)), sorted(&ids));
}

/// SIGTERM in the middle: the lines so far were already out (streamed), the
/// sessions under way are finished (no half-deleted session, no trash left),
/// the summary says what was done, and the status is 143.
#[test]
fn sigterm_mid_prune_finishes_the_session_under_way_and_prints_the_summary() {
    let _g = exclusive(); // starts a process it signals
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    for _ in 0..400 {
        session_with_file(&root, 48.0, 4096);
    }
    let mut child = Command::new(BIN)
        .args(["prune", s(&root), "--jobs", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.starts_with("deleted "), "streamed before the end: {first}");
    // SAFETY: kill takes no pointers; the pid is this test's own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(143), "stdout {first}{rest}\nstderr {err}");
    let stdout = first + &rest;
    let deleted = stdout.lines().filter(|l| l.starts_with("deleted ")).count();
    let left = names(&root);
    assert!(left.iter().all(|n| !n.starts_with('.')), "trash left behind: {left:?}");
    assert_eq!(
        deleted + left.len(),
        400,
        "every line is a session gone, every session gone has its line"
    );
    assert!(deleted < 400, "the prune was not interrupted");
    let summary = stdout.lines().last().unwrap();
    assert_eq!(
        summary.split(", reclaimed").next().unwrap(),
        format!("{}: Pruned {deleted} sessions (0 skipped, 0 errors)", root.display())
    );
    assert!(
        err.contains(&format!(
            "wsprune: warning: interrupted by SIGTERM in {}",
            root.display()
        )),
        "{err}"
    );
    // The next prune takes the rest.
    let o = wsprune(&["prune", s(&root), "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(names(&root), Vec::<String>::new());
}

/// Two prunes of one root: the second waits for the lock, then is busy (75)
/// and names the holder and the remedy its uid points to (the same user: wait).
#[test]
fn two_prunes_at_once_the_second_is_busy_and_told_to_wait() {
    let _g = exclusive(); // starts a lock holder
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    session(&root, 48.0);
    // The first "prune": a process of the same user holding the workspace lock
    // (the host directory's lock file).
    let lock = workspace_lock_file(&root);
    drop(lock);
    let lock = root.join(".wsprune/lock");
    let mut holder = Command::new("flock")
        .args(["-x", s(&lock), "sleep", "20"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let o = wsprune(&["prune", s(&root), "--lock-timeout", "0.5s"]);
    let j = wsprune(&["prune", s(&root), "--lock-timeout", "0.1s", "--json"]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(o.status.code(), Some(75), "{}", show(&o));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        // SAFETY: geteuid takes nothing and cannot fail.
        err.contains(&format!("held by pid={} uid=0 comm=\"flock\"", holder.id())) || unsafe { libc::geteuid() } != 0,
        "{err}"
    );
    assert!(
        err.contains("wait for it to finish, or give this prune a longer lock timeout"),
        "{err}"
    );
    assert!(!err.contains("0711"), "a prune of the same user is not a guest: {err}");
    let v: Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["error"]["status"], "busy");
    assert_eq!(j.status.code(), Some(75));
}

/// With stderr (and stdout) the journal, as systemd connects them, every line
/// carries its sd-daemon priority; elsewhere none does.
#[test]
fn journal_streams_get_priority_prefixes() {
    let _g = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    for _ in 0..3 {
        session(&root, 0.0); // too young for --max-sessions: a target not reached
    }
    let journal = tmp.path().join("journal");
    let file = std::fs::File::create(&journal).unwrap();
    let m = file.metadata().unwrap();
    let o = Command::new(BIN)
        .args(["prune", s(&root), "--max-sessions", "1", "--no-age-rule"])
        .env("JOURNAL_STREAM", format!("{}:{}", m.dev(), m.ino()))
        .stderr(file.try_clone().unwrap())
        .stdout(file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let lines = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "<5>{}: Pruned 0 sessions (0 skipped, 0 errors), reclaimed 0 B; target not reached: max_sessions",
                root.display()
            ),
            format!(
                "<4>wsprune: target not reached: max_sessions in {} (wanted at most 1 session, have 3 sessions)",
                root.display()
            ),
        ]
    );
    // A fatal error is priority 3; a stream that is not the journal gets no prefix.
    let file = std::fs::File::create(&journal).unwrap();
    let m = file.metadata().unwrap();
    let o = Command::new(BIN)
        .args(["prune", s(&tmp.path().join("typo"))])
        .env("JOURNAL_STREAM", format!("{}:{}", m.dev(), m.ino()))
        .stderr(file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(66));
    assert!(std::fs::read_to_string(&journal)
        .unwrap()
        .starts_with("<3>wsprune: error: workspace root "));
    let o = Command::new(BIN)
        .args(["prune", s(&tmp.path().join("typo"))])
        .env("JOURNAL_STREAM", "1:1")
        .output()
        .unwrap();
    assert!(text(&o.stderr).starts_with("wsprune: error: "), "{}", show(&o));
}

/// A file a guest named `x\n<fake "deleted" line>\n<fake
/// summary>\e[8m`, kept undeletable, made the prune print forged lines and
/// raw terminal escapes. Every guest-chosen name is now escaped: the forged
/// text stays inside one error line, and no control character reaches the
/// terminal.
#[test]
fn a_guest_file_name_cannot_forge_lines_or_send_escapes() {
    let _g = exclusive(); // runs chattr
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir(&root).unwrap();
    if let Err(why) = chattr_works(&root) {
        eprintln!("SKIPPED a_guest_file_name_cannot_forge_lines_or_send_escapes: {why}");
        return;
    }
    let guest = session(&root, 48.0);
    let evil = "x\ndeleted       00000000-0000-4000-8000-000000000000  older_than  1 B\n\
                Pruned 9 sessions (0 skipped, 0 errors), reclaimed 9 GB\x1b[8m\u{202e}";
    let file = root.join(&guest).join(evil);
    std::fs::write(&file, b"kept").unwrap();
    chattr("+i", &file);
    let o = wsprune(&["prune", s(&root)]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    let trash = trash_of(&root, &guest);
    if let Some(t) = &trash {
        chattr("-i", &t.join(evil));
    }
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    for t in [&out, &err] {
        assert!(
            !t.contains('\x1b') && !t.contains('\u{202e}'),
            "a raw escape got through: {t:?}"
        );
        assert!(
            !t.lines().any(|l| l.starts_with("deleted ") || l.starts_with("Pruned ")),
            "a forged line: {t}"
        );
    }
    assert_eq!(out.lines().count(), 1, "{out}");
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains("x\\ndeleted       00000000"), "{err}");
    assert!(err.contains("reclaimed 9 GB\\x1b[8m\\u{202e}"), "{err}");
}

/// `lease` runs the command under a lease, passes its status through, touches
/// the session afterwards, and refuses a session that is not there.
#[test]
fn lease_runs_the_command_touches_and_passes_the_status() {
    let _g = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    let id = session(&root, 48.0);
    let script = "test -f \"$WSPRUNE_SESSION_DIR/.metadata.json\" && [ \"$WSPRUNE_SESSION_ID\" = \"$1\" ] || exit 99;\
                  out=$(\"$0\" prune \"$2\" --older-than 1h --json) && echo \"$out\" | grep -q '\"in_use\"' || exit 98; exit 7";
    let o = wsprune(&["lease", s(&root), &id, "--", "sh", "-c", script, BIN, &id, s(&root)]);
    assert_eq!(o.status.code(), Some(7), "{}", show(&o));
    // Touched when the command ended: no longer stale.
    let info: Value = serde_json::from_slice(&wsprune(&["info", s(&root), &id, "--json"]).stdout).unwrap();
    assert!(info["age_hours"].as_f64().unwrap() < 0.01, "{info}");
    // --no-touch leaves it as idle as it was.
    let old = session(&root, 48.0);
    let o = wsprune(&["lease", s(&root), &old, "--no-touch", "--", "true"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let info: Value = serde_json::from_slice(&wsprune(&["info", s(&root), &old, "--json"]).stdout).unwrap();
    assert!(info["age_hours"].as_f64().unwrap() > 47.0, "{info}");
    // Gone: 66, and the command does not run.
    let marker = tmp.path().join("ran");
    let o = wsprune(&["lease", s(&root), &new_id(), "--", "touch", s(&marker)]);
    assert_eq!(o.status.code(), Some(66), "{}", show(&o));
    assert!(!marker.exists());
    // A signal that ends the command: 128 + N.
    let o = wsprune(&["lease", s(&root), &id, "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(o.status.code(), Some(143), "{}", show(&o));
    let o = wsprune(&["lease", s(&root), &id, "--", "/nonexistent/command"]);
    assert_eq!(o.status.code(), Some(127), "{}", show(&o));
}

/// The open-then-lock race: done by hand (open, then flock), a runtime saw the
/// directory moved to trash between its open and its lock. `lease` uses the
/// library's acquire, which checks the name after locking: racing prunes
/// that delete every stale session, the command either runs with its
/// session in place (and the session survives, touched) or does not run at
/// all (66, gone); never in a directory being deleted.
#[test]
fn lease_against_racing_prunes_never_runs_in_a_deleted_session() {
    let _g = exclusive(); // many processes
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    std::fs::create_dir(&root).unwrap();
    let (mut ran, mut refused) = (0, 0);
    for _ in 0..40 {
        let id = session(&root, 48.0);
        let pruner = Command::new(BIN)
            .args(["prune", s(&root), "-q"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // The command checks, twice with a pause, that its session is still under its name.
        let check = "test -f \"$WSPRUNE_SESSION_DIR/.metadata.json\" || exit 90; sleep 0.05; \
                     test -f \"$WSPRUNE_SESSION_DIR/.metadata.json\" || exit 91";
        let o = wsprune(&["lease", s(&root), &id, "--", "sh", "-c", check]);
        let p = pruner.wait_with_output().unwrap();
        assert!(matches!(p.status.code(), Some(0) | Some(75)), "prune: {:?}", p.status);
        match o.status.code() {
            Some(0) => {
                ran += 1;
                // Leased while the prune ran, touched after: it stays.
                assert!(root.join(&id).join(".metadata.json").exists(), "{}", show(&o));
                std::fs::remove_dir_all(root.join(&id)).unwrap();
            }
            Some(66) | Some(75) => {
                refused += 1;
                assert!(!root.join(&id).exists() || o.status.code() == Some(75), "{}", show(&o));
            }
            _ => panic!("the command ran in a session being deleted: {}", show(&o)),
        }
    }
    assert_eq!(ran + refused, 40);
    eprintln!("lease race: {ran} ran, {refused} refused");
}

/// The exit statuses in docs/cli.md are the ones `wsprune --help` lists.
#[test]
fn the_documented_exit_statuses_are_the_help_s() {
    let help = text(&wsprune(&["--help"]).stdout);
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md")).unwrap();
    let table = doc
        .split("**Exit status**")
        .nth(1)
        .expect("docs/cli.md has the exit status table");
    let documented: Vec<String> = table
        .lines()
        .skip_while(|l| !l.starts_with("| status"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|l| {
            l.split('|')
                .nth(1)
                .unwrap()
                .split(',')
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let in_help: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Exit status:"))
        .filter_map(|l| {
            l.split_whitespace()
                .next()
                .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
                .map(str::to_owned)
        })
        .chain(["143".to_owned()])
        .collect();
    assert_eq!(documented, in_help, "{help}");
}

#[test]
fn a_prune_with_no_rule_is_a_usage_error_unless_asked_for() {
    let _g = shared();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ws");
    session(&root, 48.0);
    std::fs::create_dir(root.join(format!(".wsprune-trash.{}.1.2", new_id()))).unwrap();
    let o = wsprune(&["prune", s(&root), "--no-age-rule"]);
    assert_eq!(o.status.code(), Some(64), "{}", show(&o));
    assert!(text(&o.stderr).starts_with("wsprune: error: no rule: "), "{}", show(&o));
    assert_eq!(names(&root).len(), 2, "nothing was touched");
    let o = wsprune(&["prune", s(&root), "--no-age-rule", "--allow-no-rule"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        text(&o.stdout).contains("finished      .wsprune-trash."),
        "{}",
        show(&o)
    );
    assert_eq!(names(&root).len(), 1, "the session stays, the leftover trash went");
}

fn session_with_file(root: &Path, age_hours: f64, bytes: usize) -> String {
    let id = session(root, age_hours);
    write_file(&root.join(&id).join("data"), bytes);
    id
}
