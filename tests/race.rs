//! Symlink and rename races from a hostile *process*.
//!
//! A separate process (this test binary re-executed with `WSPRUNE_RACE_MODE`)
//! keeps swapping directories for symlinks to a canary tree outside the root,
//! and back, while this process prunes: directories inside a stale session
//! (also below the depth where the walk closes and reopens ancestors), the
//! session directory itself (for a symlink, and for another, leased,
//! session), and entries of the root (trash names planted as symlinks, the
//! prune's own trash directory hijacked, sessions swapped and hidden). The
//! canary is compared in full (names, sizes, contents, modes, owners, inode,
//! link count, mtime and ctime) after every prune cycle; a leased session is
//! never deleted or changed; once the attacker stops, one more prune leaves
//! exactly what should be left. `security.rs`
//! (symlink_swap_race_never_reaches_outside) has an in-process variant with
//! a thread as the attacker.

#[path = "prune_support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::*;
use wsprune::PruneResult;

const MODE: &str = "WSPRUNE_RACE_MODE";
const DIR: &str = "WSPRUNE_RACE_DIR";
const CANARY: &str = "WSPRUNE_RACE_CANARY";
const STOP: &str = "WSPRUNE_RACE_STOP";
const ARGS: &str = "WSPRUNE_RACE_ARGS";
const SEED: &str = "WSPRUNE_RACE_SEED";

/// How long each test keeps going (prune cycles under one attacker, or
/// rounds of a fresh root and a fresh attacker each); at least MIN_ROUNDS.
const BUDGET: Duration = Duration::from_millis(2500);
const MIN_ROUNDS: usize = 10;
/// An attacker that was not told to stop by then stops by itself.
const CHILD_LIMIT: Duration = Duration::from_secs(30);

/// The attacker's side: environment of the child, and its loop scaffolding.
struct Attack {
    dir: PathBuf,
    canary: PathBuf,
    stop: PathBuf,
    args: Vec<String>,
    rng: SplitMix,
    swaps: u64,
}

impl Attack {
    fn from_env() -> Attack {
        let var = |k: &str| std::env::var(k).unwrap();
        Attack {
            dir: var(DIR).into(),
            canary: var(CANARY).into(),
            stop: var(STOP).into(),
            args: var(ARGS)
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            rng: SplitMix(var(SEED).parse().unwrap()),
            swaps: 0,
        }
    }

    /// Runs `step` until told to stop, then reports how many swaps it made.
    fn run(mut self, mut step: impl FnMut(&mut Attack)) -> Attack {
        let limit = Instant::now() + CHILD_LIMIT;
        println!("\nREADY");
        while !self.stop.exists() && Instant::now() < limit {
            step(&mut self);
        }
        self
    }

    /// A short, random pause: sometimes none, sometimes a few yields,
    /// sometimes tens of microseconds, so swaps land at every point of a walk.
    fn pause(&mut self) {
        match self.rng.below(4) {
            0 => {}
            1 => std::thread::yield_now(),
            2 => (0..self.rng.below(8)).for_each(|_| std::thread::yield_now()),
            _ => std::thread::sleep(Duration::from_micros(self.rng.below(60))),
        }
    }

    /// Puts a symlink to the canary (the directory, or a file in it) at
    /// `at`, which the caller has just moved away.
    fn plant(&mut self, at: &Path) -> bool {
        let target = if self.rng.below(3) == 0 {
            self.canary.join("precious.db")
        } else {
            self.canary.clone()
        };
        let ok = symlink(target, at).is_ok();
        self.swaps += u64::from(ok);
        ok
    }
}

/// Removes `p` only if it is a symlink (ours).
fn remove_link(p: &Path) {
    if std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) {
        let _ = std::fs::remove_file(p);
    }
}

/// The parent's side of one round: starts the attacker on `dir`, runs
/// `prunes` while it attacks, stops it and returns the prune results and
/// the attacker's last line.
fn round_with_attacker(
    test: &str,
    mode: &str,
    dir: &Path,
    canary: &Path,
    args: &[String],
    seed: u64,
    mut prunes: impl FnMut() -> Vec<PruneResult>,
) -> (Vec<PruneResult>, String) {
    // Next to the root, never inside it.
    let stop = canary.parent().unwrap().with_file_name(format!("stop-{seed}"));
    let mut child = KillOnDrop(spawn_self(
        test,
        &[
            (MODE, mode.to_owned()),
            (DIR, dir.display().to_string()),
            (CANARY, canary.display().to_string()),
            (STOP, stop.display().to_string()),
            (ARGS, args.join(",")),
            (SEED, seed.to_string()),
        ],
    ));
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    assert!(
        await_marker(&mut lines, "READY").is_some(),
        "the attacker never started"
    );
    let results = prunes();
    std::fs::write(&stop, b"").unwrap();
    let report = await_marker(&mut lines, "ATTACKER ").unwrap_or_default();
    assert!(child.0.wait().unwrap().success(), "the attacker failed");
    let _ = std::fs::remove_file(&stop);
    (results, report)
}

/// Prunes `root` up to three times (while `keep_going` says there is work left).
fn prune_up_to_three(root: &Path, keep_going: impl Fn() -> bool) -> Vec<PruneResult> {
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push(prune(root, 24.0, false));
        if !keep_going() {
            break;
        }
    }
    out
}

/// A test's temporary directory with the canary outside the root, the
/// canary's snapshot and the test's seed.
struct Arena {
    tmp: tempfile::TempDir,
    canary: PathBuf,
    before: std::collections::BTreeMap<PathBuf, (Node, Stamp)>,
    seed: u64,
}

impl Arena {
    fn new() -> Arena {
        let tmp = tempfile::tempdir().unwrap();
        let canary = outside_canary(&tmp.path().join("outside/canary"));
        let before = snapshot_with_times(&tmp.path().join("outside"));
        Arena {
            tmp,
            canary,
            before,
            seed: test_seed(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Panics, naming what changed, unless the canary is exactly as it was.
    fn assert_canary(&self, what: &str) {
        let now = snapshot_with_times(&self.path("outside"));
        if now != self.before {
            let changed: Vec<_> = self
                .before
                .keys()
                .chain(now.keys())
                .filter(|k| self.before.get(*k) != now.get(*k))
                .collect();
            panic!(
                "{what} (seed {}): the canary outside the root changed: {changed:?}",
                self.seed
            );
        }
    }
}

/// Number of `d` levels of the deep chain; above remove::MAX_OPEN_DIRS (48),
/// so the walk closes ancestors and reopens them through `..` while the
/// attacker moves things around below.
const DEEP: usize = 56;

fn deep_rel(levels: usize) -> String {
    let mut p = String::from("deep");
    for _ in 0..levels {
        p.push_str("/d");
    }
    p
}

/// A stale session with subdirectories at several depths; returns the paths
/// (relative to the session) the attacker swaps.
fn build_session_tree(d: &Path) -> Vec<String> {
    for sub in ["a/b/c", "a/x", "wide"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    for (sub, n) in [("a", 3), ("a/b", 3), ("a/b/c", 3), ("a/x", 2), ("wide", 30)] {
        for i in 0..n {
            write_file(&d.join(sub).join(format!("f{i}")), 64 + i);
        }
    }
    let bottom = d.join(deep_rel(DEEP));
    std::fs::create_dir_all(bottom.join("x/y")).unwrap();
    write_file(&bottom.join("x/y/leaf"), 10);
    write_file(&d.join(deep_rel(DEEP - 10)).join("mid"), 10);
    vec![
        "a".into(),
        "a/b".into(),
        "a/b/c".into(),
        "a/x".into(),
        "wide".into(),
        deep_rel(DEEP - 10),
        deep_rel(DEEP),
        format!("{}/x", deep_rel(DEEP)),
    ]
}

/// Waits (briefly) until `name` is free in `root`, then renames the session
/// built at `build` to it without replacing anything.
fn move_into_place(build: &Path, root: &Path, name: &str) {
    let t0 = Instant::now();
    let (from, to) = (
        cstr(build.as_os_str().as_bytes()),
        cstr(root.join(name).as_os_str().as_bytes()),
    );
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    while unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    } != 0
    {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{name} never became free: {:?}",
            names(root)
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// A stale session with id `id` built at `root/.build` (where no attacker
/// looks) and moved into place; returns the paths the attacker swaps.
fn fresh_stale_session(root: &Path, id: &str) -> Vec<String> {
    let build = root.join(".build");
    std::fs::create_dir_all(&build).unwrap();
    write_metadata_raw(&build, &metadata_text(id, hours_ago(48.0)));
    let targets = build_session_tree(&build);
    move_into_place(&build, root, id);
    targets
}

/// Directories inside a stale session, at depths from 1 to 58
/// (past the depth where the walk closes ancestors and reopens them through
/// `..`), are swapped for symlinks to the canary (the directory, or a file
/// in it) and back by another process, while the session is pruned; the
/// session is rebuilt and pruned again, for hundreds of cycles. The canary
/// never changes; only the session's id is ever reported; each incarnation
/// is reported deleted exactly once; once the attacker stops, a prune
/// finishes whatever the races left, without error, to an empty root.
#[test]
fn hostile_process_swapping_subdirectories_for_symlinks_never_reaches_outside() {
    const TEST: &str = "hostile_process_swapping_subdirectories_for_symlinks_never_reaches_outside";
    if std::env::var(MODE).as_deref() == Ok("subdirs") {
        // Like guest code whose working directory is inside the session, the
        // attacker holds the session directory open and works relative to it,
        // so it keeps going after the prune has moved the session to trash.
        let mut held: Option<(u64, std::fs::File)> = None;
        let a = Attack::from_env().run(|a| {
            if let Ok(md) = std::fs::symlink_metadata(&a.dir) {
                if held.as_ref().map(|h| h.0) != Some(md.ino()) {
                    held = std::fs::File::open(&a.dir).ok().map(|f| (md.ino(), f));
                }
            }
            let Some((_, dir)) = &held else { return };
            let dfd = dir.as_raw_fd();
            let t = a.args[a.rng.below(a.args.len() as u64) as usize].clone();
            let (real, away) = (cstr(t.as_bytes()), cstr(format!("{t}.away").as_bytes()));
            // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
            if unsafe { libc::renameat(dfd, real.as_ptr(), dfd, away.as_ptr()) } == 0 {
                let target = if a.rng.below(3) == 0 {
                    a.canary.join("precious.db")
                } else {
                    a.canary.clone()
                };
                let target = cstr(target.as_os_str().as_bytes());
                // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
                if unsafe { libc::symlinkat(target.as_ptr(), dfd, real.as_ptr()) } == 0 {
                    a.swaps += 1;
                    a.pause();
                    // SAFETY: `libc::stat` is plain integers, for which all zeroes is a valid value.
                    let mut st: libc::stat = unsafe { std::mem::zeroed() };
                    // SAFETY: the path is a NUL-terminated string and the buffer a valid, writable struct, both for the call.
                    let ours = unsafe { libc::fstatat(dfd, real.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } == 0
                        && st.st_mode & libc::S_IFMT == libc::S_IFLNK;
                    if ours {
                        // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
                        unsafe { libc::unlinkat(dfd, real.as_ptr(), 0) };
                    }
                }
                // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
                unsafe { libc::renameat(dfd, away.as_ptr(), dfd, real.as_ptr()) };
            }
        });
        println!("\nATTACKER {}", a.swaps);
        return;
    }
    let _serial = exclusive();
    let arena = Arena::new();
    let (canary, seed) = (arena.canary.clone(), arena.seed);
    let root = arena.path("ws");
    let s = new_id();
    let targets = fresh_stale_session(&root, &s);
    let (mut cycles, mut raced) = (0usize, 0usize);
    let (results, report) = round_with_attacker(TEST, "subdirs", &root.join(&s), &canary, &targets, seed, || {
        let mut all = Vec::new();
        let start = Instant::now();
        loop {
            let results = prune_up_to_three(&root, || !names(&root).is_empty());
            arena.assert_canary(&format!("cycle {cycles}"));
            raced += usize::from(results.iter().any(|r| !r.errors.is_empty()));
            all.extend(results);
            cycles += 1;
            // On a loaded machine the attacker may get little time: go on
            // until a few prunes have met its swaps (up to three budgets), or
            // at least one has (up to eight budgets, 20 s).
            let t = start.elapsed();
            let enough = cycles >= MIN_ROUNDS && (raced >= 3 || (raced > 0 && t >= BUDGET * 3) || t >= BUDGET * 8);
            if start.elapsed() >= BUDGET && enough {
                return all;
            }
            fresh_stale_session(&root, &s);
        }
    });
    let swaps: u64 = report.trim().parse().unwrap();
    arena.assert_canary("after the attack");
    let last = prune(&root, 24.0, false);
    assert!(last.errors.is_empty(), "{:?}", last.errors);
    assert!(names(&root).is_empty(), "left {:?}", names(&root));
    let mut reported = 0;
    // An incarnation is reported deleted, or (when a swap made its deletion
    // fail part-way) its trash is reported finished later, under the trash name.
    let trash_of_s = format!(".wsprune-trash.{s}.");
    for r in results.iter().chain([&last]) {
        assert!(r.deleted_sessions.iter().all(|x| x == &s), "{:?}", r.deleted_sessions);
        assert!(
            r.errors.iter().all(|(x, _)| x == &s || x.starts_with(&trash_of_s)),
            "{:?}",
            r.errors
        );
        assert!(
            r.interrupted.iter().all(|x| x.starts_with(&trash_of_s)),
            "{:?}",
            r.interrupted
        );
        reported += r.deleted_sessions.len() + r.interrupted.len();
    }
    assert_eq!(
        reported, cycles,
        "{cycles} incarnations of the session, reported deleted {reported} times"
    );
    assert!(swaps > 0, "the attacker never swapped: the test proves nothing");
    // Whether a prune's walk met a swap mid-directory (it then reports an
    // error) depends on scheduling: on an idle machine a few in every run do;
    // on a loaded one (CI running other suites) the attacker may get too
    // little time for that within 20 s. The canary was checked after every
    // prune either way; say how much this run exercised.
    if raced == 0 {
        eprintln!(
            "note: no prune of this run met a swap mid-walk ({swaps} swaps in {cycles} cycles): a loaded machine"
        );
    }
    eprintln!(
        "subdirectory swaps (seed {seed}): {cycles} cycles, {swaps} swaps, {raced} cycles where a prune hit a swap"
    );
}

/// Finds the entry of `root` that is the directory with inode `ino` and
/// gives it `name` (the attacker tidying up after itself); entries under
/// trash names are left alone unless `from_trash`.
fn rename_back_by_inode(root: &Path, ino: u64, name: &str, from_trash: bool) -> bool {
    let Ok(rd) = std::fs::read_dir(root) else { return false };
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n == name || (!from_trash && n.starts_with(".wsprune-trash.")) {
            continue;
        }
        if std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_dir() && m.ino() == ino) {
            return std::fs::rename(e.path(), root.join(name)).is_ok();
        }
    }
    false
}

/// What of a session must not change even when an attacker renames it: all
/// of [`snapshot_with_times`] except the ctime of the session directory
/// itself (a rename updates that).
fn session_state(dir: &Path) -> std::collections::BTreeMap<PathBuf, (Node, Stamp)> {
    let mut s = snapshot_with_times(dir);
    if let Some((_, stamp)) = s.get_mut(Path::new("")) {
        stamp.ctime_ns = (0, 0);
    }
    s
}

/// Asserts that the root holds exactly the sessions `keep` and, besides,
/// only the attacker's symlinks a prune moved and could not leave where the
/// attacker's tidy-up finds them: under trash names (the prune moved one to
/// trash, found it was not the session and could not move it back because
/// the attacker had refilled the name), or back under a session's name (the
/// prune put it back after the attacker had already tidied up). Never
/// followed, never finished: the canary is compared after every round.
/// Returns how many such symlinks there are.
fn assert_left(root: &Path, keep: &[String], what: &str) -> usize {
    let mut links = 0;
    for n in names(root) {
        if !keep.contains(&n) {
            let md = std::fs::symlink_metadata(root.join(&n)).unwrap();
            let put_back = wsprune::session_id::is_uuid(n.as_bytes());
            assert!(
                md.file_type().is_symlink() && (n.starts_with(".wsprune-trash.") || put_back),
                "{what}: {n} left in the root ({:?}, holding {:?})",
                md.file_type(),
                md.is_dir().then(|| names(&root.join(&n)))
            );
            links += 1;
        }
    }
    assert!(
        keep.iter().all(|k| exists(&root.join(k))),
        "{what}: {keep:?} not all there"
    );
    links
}

/// The UUID-named directories of `root` other than `except`.
fn session_dirs(root: &Path, except: &str) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    rd.flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_uuid_name(n) && n != except)
        .collect()
}

/// The session directory itself is swapped by another process for
/// a symlink to the canary (which looks like a stale session) and for
/// another stale session that this process holds a lease on, while stale
/// sessions are created and pruned for hundreds of cycles. The canary never
/// changes; the leased session is never reported deleted and its content
/// never changes, whatever name it has at the moment; every stale session
/// is reported deleted exactly once; when the attacker stops, a prune
/// leaves exactly the leased session.
#[test]
fn hostile_process_swapping_the_session_directory_never_reaches_outside_or_a_leased_session() {
    const TEST: &str = "hostile_process_swapping_the_session_directory_never_reaches_outside_or_a_leased_session";
    if std::env::var(MODE).as_deref() == Ok("session") {
        let a = Attack::from_env();
        let l = a.args[0].clone();
        let l_ino = std::fs::symlink_metadata(a.dir.join(&l)).unwrap().ino();
        let mut l_from_trash = 0;
        let a = a.run(|a| {
            let root = a.dir.clone();
            let stale = session_dirs(&root, &l);
            if !stale.is_empty() {
                let s = &stale[a.rng.below(stale.len() as u64) as usize];
                let hidden = root.join(format!(".hidden-{s}"));
                if std::fs::rename(root.join(s), &hidden).is_ok() {
                    if a.rng.below(2) == 0 {
                        // The session for a symlink to the canary, and back.
                        a.plant(&root.join(s));
                        a.pause();
                        remove_link(&root.join(s));
                    } else if std::fs::rename(root.join(&l), root.join(s)).is_ok() {
                        // The leased session under the stale session's name, and back.
                        a.swaps += 1;
                        a.pause();
                        let _ = std::fs::rename(root.join(s), root.join(&l));
                    }
                    let _ = std::fs::rename(&hidden, root.join(s));
                }
            }
            // Whatever a collision with the prune's own renames left: tidy up.
            if !exists(&root.join(&l)) && rename_back_by_inode(&root, l_ino, &l, true) {
                l_from_trash += 1;
            }
            for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if let Some(s) = n.strip_prefix(".hidden-") {
                    // Our own symlink may be back in the session's place: a prune
                    // that moved it to trash, found it was not the session, and
                    // put it back after our remove_link had missed it.
                    remove_link(&root.join(s));
                    if !exists(&root.join(s)) {
                        let _ = std::fs::rename(e.path(), root.join(s));
                    }
                }
            }
            // An attacker renaming without pause can starve every prune (a
            // writable root allows denial of service, see SECURITY.md): idle
            // a little so that prunes also meet the sessions in place.
            std::thread::sleep(Duration::from_micros(a.rng.below(1000)));
        });
        println!("\nATTACKER {} {l_from_trash}", a.swaps);
        return;
    }
    let _serial = exclusive();
    let arena = Arena::new();
    let (canary, seed) = (arena.canary.clone(), arena.seed);
    let root = arena.path("ws");
    let l = session(&root, 48.0);
    write_file(&root.join(&l).join("work.bin"), 5000);
    std::fs::create_dir(root.join(&l).join("sub")).unwrap();
    write_file(&root.join(&l).join("sub/more.bin"), 700);
    let l_before = session_state(&root.join(&l));
    let lease = wsprune::acquire(&root, &l).unwrap();
    let mut stale = vec![new_id()];
    fresh_stale_session(&root, &stale[0]);
    let (mut cycles, mut in_use_seen) = (0usize, 0usize);
    let (results, report) =
        round_with_attacker(TEST, "session", &root, &canary, std::slice::from_ref(&l), seed, || {
            let mut all = Vec::new();
            let start = Instant::now();
            loop {
                let r = prune(&root, 24.0, false);
                arena.assert_canary(&format!("cycle {cycles}"));
                assert!(
                    !r.deleted_sessions.contains(&l),
                    "cycle {cycles}: the leased session was reported deleted"
                );
                in_use_seen += r.skipped_sessions.iter().filter(|x| x.session_id != l).count();
                all.push(r);
                cycles += 1;
                if start.elapsed() >= BUDGET && cycles >= MIN_ROUNDS {
                    return all;
                }
                // A new stale session now and then (not too many waiting at once).
                if session_dirs(&root, &l).len() < 3 {
                    stale.push(new_id());
                    fresh_stale_session(&root, stale.last().unwrap());
                }
            }
        });
    let mut report = report.split_whitespace().map(|n| n.parse::<u64>().unwrap());
    let (swaps, l_from_trash) = (report.next().unwrap(), report.next().unwrap());
    arena.assert_canary("after the attack");
    assert_eq!(session_state(&root.join(&l)), l_before, "the leased session changed");
    let last = prune(&root, 24.0, false);
    assert!(last.errors.is_empty(), "{:?}", last.errors);
    let leftover_links = assert_left(&root, std::slice::from_ref(&l), "after the attack");
    let mut deleted: Vec<String> = results
        .iter()
        .chain([&last])
        .flat_map(|r| {
            // A deletion finished from trash is reported under the trash
            // name, which for a UUID session carries its id.
            let from_trash = r.interrupted.iter().map(|t| {
                let rest = t.strip_prefix(".wsprune-trash.").expect("a trash name");
                rest.split('.').next().unwrap().to_owned()
            });
            r.deleted_sessions.iter().cloned().chain(from_trash).collect::<Vec<_>>()
        })
        .collect();
    deleted.sort();
    assert_eq!(
        deleted,
        sorted(&stale),
        "every stale session reported deleted exactly once"
    );
    assert!(
        swaps >= MIN_ROUNDS as u64,
        "the attacker hardly swapped anything ({swaps} swaps in {cycles} cycles)"
    );
    lease.release(false).unwrap();
    eprintln!(
        "session swaps (seed {seed}): {cycles} prunes, {} stale sessions, {swaps} swaps, {in_use_seen} times a stale \
         name showed the leased session, {l_from_trash} times the leased session had to be taken back from a trash \
         name, {leftover_links} symlinks left under trash names",
        stale.len()
    );
}

/// Entries of the root are attacked while sessions are pruned:
/// trash-named and UUID-named symlinks to the canary are planted, the
/// prune's own trash directory is renamed away and replaced by a symlink to
/// the canary, stale sessions swap names and hide under non-session names.
/// (A guest cannot do this when the root is not writable to it, as
/// SECURITY.md requires; this shows what even a writable root does not
/// allow.) The canary never changes; a fresh and a legacy session are never
/// touched; only stale ids are ever reported; once the attacker stops and
/// tidies up, a prune leaves exactly the fresh and the legacy session.
#[test]
fn hostile_process_attacking_root_entries_never_reaches_outside() {
    const TEST: &str = "hostile_process_attacking_root_entries_never_reaches_outside";
    if std::env::var(MODE).as_deref() == Ok("root") {
        let mut planted: Vec<PathBuf> = Vec::new();
        let mut hidden: Vec<(PathBuf, PathBuf)> = Vec::new();
        let a = Attack::from_env().run(|a| {
            let root = a.dir.clone();
            let stale = a.args.clone();
            match a.rng.below(4) {
                0 => {
                    // Plant trash-named and session-named symlinks to the canary.
                    for name in [format!(".wsprune-trash.{}.1.2", new_id()), new_id()] {
                        let p = root.join(name);
                        if a.plant(&p) {
                            planted.push(p);
                        }
                    }
                }
                1 => {
                    // Hijack the prune's own trash directory: move it, put a symlink in its place.
                    let trash: Vec<PathBuf> = std::fs::read_dir(&root)
                        .map(|rd| {
                            rd.flatten()
                                .filter(|e| {
                                    let n = e.file_name().to_string_lossy().into_owned();
                                    n.starts_with(".wsprune-trash.") && !n.ends_with(".hijacked")
                                })
                                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                                .map(|e| e.path())
                                .collect()
                        })
                        .unwrap_or_default();
                    for t in trash {
                        let moved = PathBuf::from(format!("{}.hijacked", t.display()));
                        if std::fs::rename(&t, &moved).is_ok() {
                            a.plant(&t);
                            a.pause();
                            remove_link(&t);
                            // Give it back (a prune only finishes its own trash names).
                            if std::fs::rename(&moved, &t).is_err() {
                                hidden.push((moved, t));
                            }
                        }
                    }
                }
                2 => {
                    // Two stale sessions swap names.
                    let i = a.rng.below(stale.len() as u64) as usize;
                    let j = (i + 1) % stale.len();
                    let tmp = root.join(".swap");
                    if std::fs::rename(root.join(&stale[i]), &tmp).is_ok() {
                        if std::fs::rename(root.join(&stale[j]), root.join(&stale[i])).is_ok() {
                            a.swaps += 1;
                            a.pause();
                            let _ = std::fs::rename(root.join(&stale[i]), root.join(&stale[j]));
                        }
                        if std::fs::rename(&tmp, root.join(&stale[i])).is_err() {
                            hidden.push((tmp, root.join(&stale[i])));
                        }
                    }
                }
                _ => {
                    // A stale session hides under a name that is not a session's.
                    let s = &stale[a.rng.below(stale.len() as u64) as usize];
                    let h = root.join(format!(".hidden-{s}"));
                    if std::fs::rename(root.join(s), &h).is_ok() {
                        a.swaps += 1;
                        a.pause();
                        if std::fs::rename(&h, root.join(s)).is_err() {
                            hidden.push((h, root.join(s)));
                        }
                    }
                }
            }
            // Remove planted links now and then so the root does not fill up.
            if planted.len() > 16 {
                planted.drain(..).for_each(|p| remove_link(&p));
            }
        });
        // Tidy up: no planted links; anything hidden or hijacked gets its name
        // back, or (a session) a new session name if that is taken (reported
        // so the parent allows it).
        planted.iter().for_each(|p| remove_link(p));
        let mut renamed = Vec::new();
        for (from, to) in hidden {
            if exists(&from) && std::fs::rename(&from, &to).is_err() {
                let fresh = new_id();
                // A hijacked trash directory may be half emptied (its metadata
                // gone): it goes back under a trash name, for a prune to finish,
                // never under a session name, where it would be a legacy session.
                let was_trash = to
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(".wsprune-trash."));
                let name = if was_trash {
                    format!(".wsprune-trash.{fresh}.1.2")
                } else {
                    fresh.clone()
                };
                std::fs::rename(&from, from.with_file_name(&name)).unwrap();
                renamed.push(fresh);
            }
        }
        println!("\nATTACKER {} {}", a.swaps, renamed.join(","));
        return;
    }
    let _serial = exclusive();
    let arena = Arena::new();
    let (canary, seed) = (arena.canary.clone(), arena.seed);
    let (mut rounds, mut swaps, mut leftover_links) = (0usize, 0u64, 0usize);
    let start = Instant::now();
    while start.elapsed() < BUDGET || rounds < MIN_ROUNDS {
        let root = arena.path(&format!("ws{rounds}"));
        let stale: Vec<String> = (0..4).map(|_| session(&root, 48.0)).collect();
        for id in &stale {
            build_session_tree(&root.join(id));
        }
        let fresh = session(&root, 1.0);
        write_file(&root.join(&fresh).join("keep"), 300);
        let legacy = legacy_session(&root);
        write_file(&root.join(&legacy).join("keep"), 400);
        let keep_before = (snapshot(&root.join(&fresh)), snapshot(&root.join(&legacy)));
        let (results, report) = round_with_attacker(TEST, "root", &root, &canary, &stale, seed + rounds as u64, || {
            prune_up_to_three(&root, || names(&root).len() > 2)
        });
        let mut report = report.split(' ');
        swaps += report.next().and_then(|n| n.trim().parse().ok()).unwrap_or(0u64);
        let renamed: Vec<String> = report
            .next()
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        arena.assert_canary(&format!("round {rounds}"));
        let allowed: BTreeSet<&String> = stale.iter().chain(renamed.iter()).collect();
        let last = prune(&root, 24.0, false);
        assert!(last.errors.is_empty(), "round {rounds}: {:?}", last.errors);
        for r in results.iter().chain([&last]) {
            for d in &r.deleted_sessions {
                assert!(allowed.contains(d), "round {rounds}: reported a deletion of {d:?}");
            }
        }
        assert_eq!(
            (snapshot(&root.join(&fresh)), snapshot(&root.join(&legacy))),
            keep_before,
            "round {rounds}: the fresh or the legacy session changed"
        );
        leftover_links += assert_left(&root, &[fresh, legacy], &format!("round {rounds}"));
        rounds += 1;
    }
    arena.assert_canary("at the end");
    assert!(
        swaps > rounds as u64,
        "the attacker hardly did anything ({swaps} in {rounds} rounds)"
    );
    eprintln!("root attacks (seed {seed}): {rounds} rounds, {swaps} swaps and plants, {leftover_links} symlinks left under trash names");
}
