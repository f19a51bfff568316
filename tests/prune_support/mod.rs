//! Helpers shared by the pruning, security, traversal and concurrency tests
//! (included with `#[path]`; not a test target of its own).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, Duration, Utc};
use wsprune::{PruneOptions, PruneResult, SessionMetadata, SkipReason};

/// Marker a child process prints before its JSON result.
pub const RESULT_MARKER: &str = "WSPRUNE_RESULT ";

/// A fresh lower-case hyphenated UUID.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// `now - hours` (negative hours: the future).
pub fn hours_ago(hours: f64) -> DateTime<Utc> {
    Utc::now() - Duration::microseconds((hours * 3_600_000_000.0) as i64)
}

/// Canonical metadata text for `id` with `created_at == updated_at == at`.
pub fn metadata_text(id: &str, at: DateTime<Utc>) -> String {
    SessionMetadata::new(id, at).to_json()
}

/// Writes `.metadata.json` (mode 0600) into `dir` with the given text.
pub fn write_metadata_raw(dir: &Path, text: &str) {
    let p = dir.join(".metadata.json");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Creates `<root>/<id>` (and root if needed) with metadata last updated `age_hours` ago.
pub fn session_at(root: &Path, id: &str, age_hours: f64) -> PathBuf {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    write_metadata_raw(&dir, &metadata_text(id, hours_ago(age_hours)));
    dir
}

/// A new session last updated `age_hours` ago; returns its id.
pub fn session(root: &Path, age_hours: f64) -> String {
    let id = new_id();
    session_at(root, &id, age_hours);
    id
}

/// A new session without metadata (legacy); returns its id.
pub fn legacy_session(root: &Path) -> String {
    let id = new_id();
    std::fs::create_dir_all(root.join(&id)).unwrap();
    id
}

/// Writes a file of exactly `len` deterministic bytes.
pub fn write_file(path: &Path, len: usize) {
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    std::fs::write(path, data).unwrap();
}

/// What `du -sB1 path` says: allocated blocks (`st_blocks * 512`) of
/// `path` and everything below it, each inode once (an independent
/// re-implementation of what sizes and reclaimed_bytes must count).
pub fn tree_bytes(path: &Path) -> u64 {
    let mut seen = std::collections::HashSet::new();
    let mut total = std::fs::symlink_metadata(path).unwrap().blocks() * 512;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let md = std::fs::symlink_metadata(e.path()).unwrap();
            if md.file_type().is_dir() {
                stack.push(e.path());
            }
            if md.nlink() <= 1 || seen.insert((md.dev(), md.ino())) {
                total += md.blocks() * 512;
            }
        }
    }
    total
}

/// `stat -f` of `path` (coreutils, an independent statfs): (block size,
/// total blocks, available blocks, total inodes, free inodes).
pub fn stat_f(path: &Path) -> (u64, u64, u64, u64, u64) {
    let out = Command::new("stat")
        .args(["-f", "-c", "%S %b %a %c %d"])
        .arg(path)
        .output()
        .unwrap();
    let v: Vec<u64> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    (v[0], v[1], v[2], v[3], v[4])
}

/// `du -sB1 path`, run: the number it prints.
pub fn du_bytes(path: &Path) -> u64 {
    let out = Command::new("du").arg("-sB1").arg(path).output().unwrap();
    assert!(out.status.success(), "du failed: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// Peak resident memory of this process, in KiB.
pub fn peak_rss_kib() -> i64 {
    // SAFETY: `libc::rusage` is plain integers, for which all zeroes is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable `rusage` for the call.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }, 0);
    ru.ru_maxrss
}

/// What a snapshot records of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: &'static str,
    pub mode: u32,
    pub len: u64,
    /// File content or symlink target.
    pub data: Vec<u8>,
}

/// Every entry below `path` (and `path` itself as ""), with type, mode, size
/// and content: two equal snapshots mean nothing was deleted, changed or chmod'ed.
pub fn snapshot(path: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let md = std::fs::symlink_metadata(&p).unwrap();
        let ft = md.file_type();
        let rel = p.strip_prefix(path).unwrap().to_path_buf();
        let (kind, data) = if ft.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                let e = e.unwrap();
                // wsprune's own host directory in a root is not the user's data.
                if p == path && e.file_name() == HOST_DIR {
                    continue;
                }
                stack.push(e.path());
            }
            ("dir", Vec::new())
        } else if ft.is_symlink() {
            (
                "symlink",
                std::fs::read_link(&p).unwrap().as_os_str().as_bytes().to_vec(),
            )
        } else if ft.is_file() {
            ("file", std::fs::read(&p).unwrap())
        } else {
            ("special", Vec::new())
        };
        out.insert(
            rel,
            Node {
                kind,
                mode: md.mode(),
                len: md.len(),
                data,
            },
        );
    }
    out
}

/// Runs a prune, panicking on error.
pub fn prune(root: &Path, hours: f64, dry_run: bool) -> PruneResult {
    wsprune::prune_sessions(root, &PruneOptions::older_than(hours, dry_run))
        .unwrap_or_else(|e| panic!("prune of {} failed: {e}", root.display()))
}

pub fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

pub fn ids(v: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| (*s).clone()).collect();
    v.sort();
    v
}

/// Skipped sessions as sorted (id, reason) pairs.
pub fn skipped(r: &PruneResult) -> Vec<(String, SkipReason)> {
    let mut v: Vec<_> = r
        .skipped_sessions
        .iter()
        .map(|s| (s.session_id.clone(), s.reason))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The host-owned directory wsprune keeps in a workspace root (records and locks).
pub const HOST_DIR: &str = ".wsprune";

/// The host-owned record of session `id` (what a prune decides on for a
/// registered session).
pub fn record_path(root: &Path, id: &str) -> PathBuf {
    root.join(HOST_DIR).join("sessions").join(id)
}

/// Opens (creating it, and the host directory, as wsprune does) the
/// workspace lock file of `root`: what a running prune holds exclusively.
pub fn workspace_lock_file(root: &Path) -> std::fs::File {
    use std::os::unix::fs::DirBuilderExt;
    let host = root.join(HOST_DIR);
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&host);
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(host.join("lock"))
        .unwrap()
}

/// Opens the lock file of registered session `id`: what a lease holds
/// shared and a deletion exclusively.
pub fn session_lock_file(root: &Path, id: &str) -> std::fs::File {
    std::fs::File::open(root.join(HOST_DIR).join("locks").join(id)).unwrap()
}

/// Sets the record of registered session `id` to say it was last used at
/// `at` (and created then), as the host's own touches would have: how the
/// tests age a registered session without waiting.
pub fn set_record(root: &Path, id: &str, at: DateTime<Utc>) {
    let path = record_path(root, id);
    assert!(path.exists(), "{id} is not registered");
    std::fs::write(&path, metadata_text(id, at)).unwrap();
}

/// Creates a registered session (through the library) whose record says it
/// was last used `age_hours` ago; returns its id.
pub fn registered_session(root: &Path, age_hours: f64) -> String {
    let id = wsprune::create_session(root, None).unwrap();
    set_record(root, &id, hours_ago(age_hours));
    id
}

/// Names in a directory (lossy), sorted, without the host directory
/// (`.wsprune`, which wsprune keeps in every root it registers sessions in
/// or prunes).
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != HOST_DIR)
        .collect();
    v.sort();
    v
}

/// Whether `p` exists without following a final symlink.
pub fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

pub fn cstr(s: &[u8]) -> CString {
    CString::new(s).unwrap()
}

/// `open(path, O_DIRECTORY)`.
pub fn open_dir(path: &Path) -> OwnedFd {
    let c = cstr(path.as_os_str().as_bytes());
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    assert!(fd >= 0, "open {}: {}", path.display(), std::io::Error::last_os_error());
    // SAFETY: the descriptor was just returned by open or openat (checked >= 0) and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Re-runs the current test binary for exactly `test_name` with extra
/// environment (and, if given, as another user), capturing its output.
pub fn run_self(test_name: &str, envs: &[(&str, String)], uid: Option<u32>) -> std::io::Result<Output> {
    self_command(test_name, envs, uid).output()
}

pub fn self_command(test_name: &str, envs: &[(&str, String)], uid: Option<u32>) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test_name, "--nocapture", "--test-threads", "1"]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    cmd
}

/// Prints a prune result for the parent process to pick up.
pub fn print_result(r: &PruneResult) {
    println!("\n{RESULT_MARKER}{}", r.to_json());
}

/// The JSON results a child printed, in order; panics with the child's output if it failed.
pub fn child_results(out: &Output) -> Vec<serde_json::Value> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| {
            l.find(RESULT_MARKER)
                .map(|i| serde_json::from_str(&l[i + RESULT_MARKER.len()..]).unwrap())
        })
        .collect();
    assert!(!v.is_empty(), "child printed no result:\n{stdout}");
    v
}

/// String array field of a result JSON, sorted.
pub fn json_ids(v: &serde_json::Value, field: &str) -> Vec<String> {
    let mut out: Vec<String> = v[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

/// Keys of an object field of a result JSON, sorted.
pub fn json_keys(v: &serde_json::Value, field: &str) -> Vec<String> {
    let mut out: Vec<String> = v[field].as_object().unwrap().keys().cloned().collect();
    out.sort();
    out
}

/// Whether an unprivileged (uid 65534) copy of this test binary can run:
/// we must be root and the binary must be reachable by that user.
pub fn can_run_unprivileged() -> Result<(), String> {
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not running as root, so cannot switch to an unprivileged user".into());
    }
    match Command::new(std::env::current_exe().unwrap())
        .arg("--list")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .uid_gid(65534)
        .status()
    {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("the test binary cannot run as uid 65534 ({s})")),
        Err(e) => Err(format!("the test binary cannot be executed as uid 65534: {e}")),
    }
}

trait UidGid {
    fn uid_gid(&mut self, id: u32) -> &mut Self;
}

impl UidGid for Command {
    fn uid_gid(&mut self, id: u32) -> &mut Self {
        use std::os::unix::process::CommandExt;
        self.uid(id).gid(id)
    }
}

/// Makes a directory and its ancestors up to (not including) `stop` traversable by everyone.
/// What a test that runs part of itself as an unprivileged user starts
/// from: see [`unprivileged_setup`].
pub struct Unprivileged {
    /// Serialises this test with the others that fork (see [`exclusive`]).
    pub serial: std::sync::RwLockWriteGuard<'static, ()>,
    /// A temporary directory any user may enter (mode 0755).
    pub tmp: tempfile::TempDir,
    /// `<tmp>/ws`, not created: the workspace root.
    pub root: PathBuf,
}

/// The setup of a test that runs part of itself as an unprivileged user, or
/// `None` (after printing `SKIPPED test: why`) where it cannot run: not root,
/// or no user to switch to.
pub fn unprivileged_setup(test: &str) -> Option<Unprivileged> {
    let serial = exclusive();
    if let Err(why) = can_run_unprivileged() {
        eprintln!("SKIPPED {test}: {why}");
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    open_up(tmp.path(), 0o755);
    let root = tmp.path().join("ws");
    Some(Unprivileged { serial, tmp, root })
}

pub fn open_up(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Clears the immutable flag on everything under a path when dropped, so a
/// failing test never leaves undeletable files behind.
pub struct ClearImmutable(pub PathBuf);

impl Drop for ClearImmutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr")
            .arg("-R")
            .arg("-i")
            .arg(&self.0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Whether `chattr +i` works here (tried on a probe file inside `dir`).
pub fn chattr_works(dir: &Path) -> Result<(), String> {
    let probe = dir.join(".chattr-probe");
    std::fs::write(&probe, b"x").map_err(|e| e.to_string())?;
    let out = Command::new("chattr")
        .arg("+i")
        .arg(&probe)
        .output()
        .map_err(|e| format!("cannot run chattr: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&probe);
        return Err(format!(
            "chattr +i failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let removable = std::fs::remove_file(&probe).is_ok();
    let _ = Command::new("chattr").arg("-i").arg(&probe).status();
    let _ = std::fs::remove_file(&probe);
    if removable {
        return Err("chattr +i succeeded but did not make the file undeletable".into());
    }
    Ok(())
}

/// Sets or clears the immutable flag.
pub fn chattr(flag: &str, path: &Path) {
    let st = Command::new("chattr").arg(flag).arg(path).status().unwrap();
    assert!(st.success(), "chattr {flag} {}", path.display());
}

/// Mount points (from /proc/self/mountinfo) at or below `base`.
pub fn mounts_under(base: &Path) -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut v: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| m.starts_with(base))
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    v
}

/// Unmounts everything mounted below a path when dropped (before the
/// temporary directory is removed, which would otherwise descend into it).
pub struct UnmountAll(pub PathBuf);

impl Drop for UnmountAll {
    fn drop(&mut self) {
        for m in mounts_under(&self.0) {
            let _ = Command::new("umount").arg("-l").arg(&m).status();
        }
    }
}

/// A tmpfs mounted with `options` (`size=16m,nr_inodes=400`) under a
/// temporary directory, unmounted (and the directory removed) when dropped:
/// a filesystem whose fullness no other process changes. `None`, saying
/// SKIPPED on stderr, where tmpfs cannot be mounted (not root).
pub struct Tmpfs {
    pub root: PathBuf,
    _unmount: UnmountAll,
    _tmp: tempfile::TempDir,
}

pub fn tmpfs(options: &str) -> Option<Tmpfs> {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("fs");
    std::fs::create_dir(&root).unwrap();
    let out = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", options, "tmpfs"])
        .arg(&root)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(Tmpfs {
            root,
            _unmount: UnmountAll(tmp.path().to_path_buf()),
            _tmp: tmp,
        }),
        Ok(o) => {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs here: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("SKIPPED: cannot run mount: {e}");
            None
        }
    }
}

/// Whether `mount --bind` works here (tried inside `dir`).
pub fn bind_mount_works(dir: &Path) -> Result<(), String> {
    let a = dir.join(".mount-probe-src");
    let b = dir.join(".mount-probe-dst");
    std::fs::create_dir_all(&a).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&b).map_err(|e| e.to_string())?;
    let res = match Command::new("mount").arg("--bind").arg(&a).arg(&b).output() {
        Err(e) => Err(format!("cannot run mount: {e}")),
        Ok(o) if !o.status.success() => Err(format!(
            "mount --bind failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => {
            let seen = mounts_under(dir).iter().any(|m| m == &b);
            let _ = Command::new("umount").arg(&b).status();
            if seen {
                Ok(())
            } else {
                Err("mount --bind succeeded but the mount is not in /proc/self/mountinfo".into())
            }
        }
    };
    let _ = std::fs::remove_dir(&a);
    let _ = std::fs::remove_dir(&b);
    res
}

/// Bind-mounts `src` on `dst`.
pub fn bind_mount(src: &Path, dst: &Path) {
    let o = Command::new("mount").arg("--bind").arg(src).arg(dst).output().unwrap();
    assert!(
        o.status.success(),
        "mount --bind: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

pub fn umount(p: &Path) {
    let o = Command::new("umount").arg(p).output().unwrap();
    assert!(
        o.status.success(),
        "umount {}: {}",
        p.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The one trash directory in `root` for session `id`, if any.
pub fn trash_of(root: &Path, id: &str) -> Option<PathBuf> {
    let prefix = format!(".wsprune-trash.{id}");
    let found: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    assert!(found.len() <= 1, "several trash directories for {id}: {found:?}");
    found.into_iter().next()
}

/// Whether a root entry name is a session name (a UUID).
pub fn is_uuid_name(name: &str) -> bool {
    uuid::Uuid::parse_str(name).is_ok() && (name.len() == 36 || name.len() == 32)
}

/// Serializes process creation against everything else in a test binary.
///
/// A forked child holds copies of all the parent's descriptors until it
/// execs (O_CLOEXEC only closes them at exec), and a flock belongs to the
/// open file description, so a child forked by one test (to run chattr,
/// mount or this binary) can briefly keep a session lock of another test's
/// prune or lease alive: that test would then see "in_use" where it expects
/// a deletion. Tests that never start a process take [`shared`] and run in
/// parallel; tests that start processes take [`exclusive`] and run alone.
static FORK_LOCK: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// For a test that starts no process.
pub fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    FORK_LOCK.read().unwrap_or_else(|e| e.into_inner())
}

/// For a test that starts processes (held for the whole test).
pub fn exclusive() -> std::sync::RwLockWriteGuard<'static, ()> {
    FORK_LOCK.write().unwrap_or_else(|e| e.into_inner())
}

// ------------------------------------------------------- adversarial tests

/// What [`snapshot_with_times`] adds to a [`Node`]: enough to see a chmod,
/// chown, new hard link, rewrite or replacement of an entry, or an entry
/// added to or removed from a directory (its mtime), even with equal content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub ino: u64,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub mtime_ns: (i64, i64),
    pub ctime_ns: (i64, i64),
}

/// [`snapshot`] plus each entry's inode, link count, owner, mtime and ctime
/// (not atime: reading the snapshot itself changes that).
pub fn snapshot_with_times(path: &Path) -> BTreeMap<PathBuf, (Node, Stamp)> {
    snapshot(path)
        .into_iter()
        .map(|(rel, node)| {
            let md = std::fs::symlink_metadata(path.join(&rel)).unwrap();
            let stamp = Stamp {
                ino: md.ino(),
                nlink: md.nlink(),
                uid: md.uid(),
                gid: md.gid(),
                mtime_ns: (md.mtime(), md.mtime_nsec()),
                ctime_ns: (md.ctime(), md.ctime_nsec()),
            };
            (rel, (node, stamp))
        })
        .collect()
}

/// A tree outside the workspace root that an attacker would love the prune
/// to follow: it looks like a stale session itself (old metadata at its
/// top), holds a stale-looking session and trash-named directory of its own,
/// and has read-only and 0555 entries, a FIFO, a symlink, a hard-linked
/// file and a file deep down. Returns `dir`.
pub fn outside_canary(dir: &Path) -> PathBuf {
    let inner_session = dir.join(new_id());
    std::fs::create_dir_all(dir.join("data/deeper/deepest")).unwrap();
    std::fs::create_dir_all(dir.join(".wsprune-trash.canary")).unwrap();
    session_at(dir, inner_session.file_name().unwrap().to_str().unwrap(), 1000.0);
    write_metadata_raw(dir, &metadata_text(&new_id(), hours_ago(1000.0)));
    write_file(&dir.join("precious.db"), 4096);
    write_file(&dir.join("data/deeper/deepest/bottom.bin"), 777);
    write_file(&dir.join(".wsprune-trash.canary/keep"), 12);
    write_file(&inner_session.join("work.txt"), 99);
    std::fs::hard_link(dir.join("precious.db"), dir.join("data/precious.link")).unwrap();
    std::os::unix::fs::symlink("../precious.db", dir.join("data/to-precious")).unwrap();
    let fifo = cstr(dir.join("data/pipe").as_os_str().as_bytes());
    // SAFETY: the path arguments are NUL-terminated strings that outlive the call.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    write_file(&dir.join("readonly.txt"), 10);
    std::fs::set_permissions(dir.join("readonly.txt"), std::fs::Permissions::from_mode(0o400)).unwrap();
    std::fs::set_permissions(dir.join("data/deeper"), std::fs::Permissions::from_mode(0o555)).unwrap();
    dir.to_path_buf()
}

/// A small deterministic generator (splitmix64), seeded per test or per child.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A seed that differs between runs (and is printed by the tests that use
/// it, so a failure can be replayed with `WSPRUNE_TEST_SEED`).
pub fn test_seed() -> u64 {
    std::env::var("WSPRUNE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| (Utc::now().timestamp_micros() as u64) ^ (u64::from(std::process::id()) << 32))
}

/// Starts this test binary for exactly `test_name` with extra environment,
/// stdout piped (stderr inherited, so a child's panic shows in the test's
/// output), without waiting for it.
pub fn spawn_self(test_name: &str, envs: &[(&str, String)]) -> std::process::Child {
    self_command(test_name, envs, None)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start a child for {test_name}: {e}"))
}

/// Reads a child's stdout line by line until one contains `marker`; returns
/// the rest of that line after the marker, or `None` at end of output.
pub fn await_marker(lines: &mut impl Iterator<Item = std::io::Result<String>>, marker: &str) -> Option<String> {
    lines
        .map_while(Result::ok)
        .find_map(|l| l.find(marker).map(|i| l[i + marker.len()..].to_owned()))
}

/// Microseconds since the Unix epoch (CLOCK_REALTIME: the clock the library
/// stamps metadata with and decides ages by, shared by all processes).
pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// Kills and reaps a child process when dropped, so a failing test never
/// leaves its helper process running (or holding locks) behind it.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Mounts a private tmpfs with `options` (e.g. `size=256k,nr_inodes=64`) on
/// `dir` (created if needed). `Err` says why it cannot be done here (not
/// root, no mount, no permission in this container), for a SKIPPED line.
/// Pair it with [`UnmountAll`] on a parent directory.
/// A private tmpfs (`mount -o OPTIONS`) in a new temporary directory,
/// unmounted when dropped: a filesystem whose size, free space and inodes
/// only the test changes.
pub struct PrivateTmpfs {
    /// The mount point.
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl PrivateTmpfs {
    /// Mounts it, or panics saying why (not root, no mount).
    pub fn mount(options: &str) -> PrivateTmpfs {
        let tmp = tempfile::Builder::new().prefix("wsprune-tmpfs").tempdir().unwrap();
        let dir = tmp.path().join("fs");
        mount_tmpfs(&dir, options).unwrap_or_else(|why| panic!("{why}: this test needs root"));
        PrivateTmpfs { dir, _tmp: tmp }
    }
}

impl Drop for PrivateTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

pub fn mount_tmpfs(dir: &Path, options: &str) -> Result<(), String> {
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not running as root, so cannot mount a tmpfs".into());
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", options, "tmpfs"])
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "mount -t tmpfs -o {options} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if !mounts_under(dir).iter().any(|m| m == dir) {
        return Err("mount -t tmpfs succeeded but the mount is not in /proc/self/mountinfo".into());
    }
    Ok(())
}
