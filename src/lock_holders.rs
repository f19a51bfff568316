//! Who holds a `flock` on a directory, for the message of a prune that
//! timed out waiting for the workspace lock. Normally the holder is another
//! prune of the same root; when it is not (a guest that can open the root,
//! see SECURITY.md), naming its process and user is what lets the operator
//! find it. Best effort: read from `/proc/locks` and `/proc/<pid>`, which
//! may be missing or show nothing (another PID namespace); never an error.

use std::fmt::Write as _;

use crate::fd::DirId;

/// A process holding a `flock` on the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Process id, as `/proc/locks` shows it in our PID namespace.
    pub pid: i64,
    /// Its command name (`/proc/<pid>/comm`), if readable.
    pub comm: Option<String>,
    /// Its effective user id, if readable.
    pub uid: Option<u32>,
}

/// The processes holding (not waiting for) a `flock` on the directory `id`;
/// the command and user only of the first [`MAX_NAMED`].
pub fn holders(id: &DirId) -> Vec<Holder> {
    let Some(locks) = read_locks() else {
        return Vec::new();
    };
    let mut pids = flock_holders(&locks, libc::major(id.dev), libc::minor(id.dev), id.ino);
    pids.sort_unstable();
    pids.dedup();
    // Only the holders a message names are looked up (a guest may hold many locks).
    pids.into_iter()
        .enumerate()
        .map(|(i, pid)| {
            let named = i < MAX_NAMED;
            Holder {
                pid,
                comm: named.then(|| comm_of(pid)).flatten(),
                uid: named.then(|| uid_of(pid)).flatten(),
            }
        })
        .collect()
}

/// Most of `/proc/locks` read. The kernel produces it at a cost quadratic in
/// the number of locks in the system, and anyone can add locks (on their own
/// files): only the beginning is read, so that a `BUSY` answer is never
/// delayed by much. With that many locks the holder may be further on; the
/// message then names no one.
const MAX_LOCKS_BYTES: u64 = 256 * 1024;

/// The first [`MAX_LOCKS_BYTES`] of `/proc/locks` (whole lines only).
fn read_locks() -> Option<String> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open("/proc/locks")
        .ok()?
        .take(MAX_LOCKS_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    if text.len() as u64 >= MAX_LOCKS_BYTES {
        let end = text.rfind('\n').map_or(0, |i| i + 1);
        text.truncate(end);
    }
    Some(text)
}

/// The command name of process `pid`, as the process set it (any bytes but
/// NUL, through `PR_SET_NAME`): raw, escaped only when printed.
fn comm_of(pid: i64) -> Option<String> {
    let b = std::fs::read(format!("/proc/{pid}/comm")).ok()?;
    let b = b.strip_suffix(b"\n").unwrap_or(&b);
    Some(String::from_utf8_lossy(b).into_owned())
}

/// The effective uid of process `pid`.
fn uid_of(pid: i64) -> Option<u32> {
    effective_uid(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// Most holders named in a message (the rest are counted).
const MAX_NAMED: usize = 4;

/// `pid=12 uid=65534 comm="python3", pid=40 uid=0 comm="wsprune"` (the
/// first [`MAX_NAMED`], then `and N more`), or `None` if no holder could be
/// seen. Structured fields, the command name quoted and escaped
/// ([`crate::escape::quoted`]), so that a guest process named
/// `wsprune, uid 0)` or holding a newline shows as exactly that, inside its
/// quotes, and can neither break the line nor pass for another field.
pub fn describe(holders: &[Holder]) -> Option<String> {
    if holders.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, h) in holders.iter().take(MAX_NAMED).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "pid={}", h.pid);
        if let Some(u) = h.uid {
            let _ = write!(out, " uid={u}");
        }
        if let Some(c) = &h.comm {
            let _ = write!(out, " comm={}", crate::escape::quoted(c));
        }
    }
    if holders.len() > MAX_NAMED {
        let _ = write!(out, " and {} more", holders.len() - MAX_NAMED);
    }
    Some(out)
}

/// What to do about a workspace lock held by `holders`, by who holds it as
/// the kernel says (the uid, which a guest cannot forge; a command name it
/// can): held only by processes of this user (`euid`), it is another prune
/// of the root (or a dry run, or a `wsprune ls`): wait for it to finish, or
/// wait longer. Held by another user's process, it is a guest that can open
/// the root: making the root 0711 keeps guests from opening it. Nobody seen
/// (another PID namespace, /proc unreadable): both.
pub fn remedy(holders: &[Holder], euid: u32) -> &'static str {
    let seen: Vec<u32> = holders.iter().filter_map(|h| h.uid).collect();
    if seen.is_empty() {
        "wait for the other prune to finish or give this one a longer lock timeout; if no prune of this root is \
         running, a process that can open the root holds it: make the root 0711 (see SECURITY.md)"
    } else if seen.iter().all(|&u| u == euid) {
        "another prune of this root (same user) holds it: wait for it to finish, or give this prune a longer lock timeout"
    } else {
        "a process of another user holds it, which no prune does: it can open the workspace root; make the root \
         0711 so that guests cannot (see SECURITY.md), and find the process by its pid"
    }
}

/// The pids of the `FLOCK` entries of `/proc/locks` text on inode `ino` of
/// device `major:minor` (waiters, shown with `->`, are left out).
fn flock_holders(locks: &str, major: u32, minor: u32, ino: u64) -> Vec<i64> {
    let mut pids = Vec::new();
    for line in locks.lines() {
        // "1: FLOCK  ADVISORY  WRITE 27 fd:01:1234 0 EOF"; a waiter has "->" after the number.
        let mut f = line.split_whitespace().skip(1);
        if f.next() != Some("FLOCK") {
            continue;
        }
        let (Some(_), Some(_), Some(pid), Some(file)) = (f.next(), f.next(), f.next(), f.next()) else {
            continue;
        };
        let mut parts = file.split(':');
        let (Some(ma), Some(mi), Some(ino_s)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let same = u32::from_str_radix(ma, 16) == Ok(major)
            && u32::from_str_radix(mi, 16) == Ok(minor)
            && ino_s.parse::<u64>() == Ok(ino);
        if let (true, Ok(pid)) = (same, pid.parse::<i64>()) {
            if pid > 0 {
                pids.push(pid);
            }
        }
    }
    pids
}

/// The effective uid from `/proc/<pid>/status` text (`Uid: real effective saved fs`).
fn effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_holders_and_leaves_out_waiters_and_other_files() {
        let text = "1: FLOCK  ADVISORY  WRITE 27 fd:01:1234 0 EOF\n\
                    1: -> FLOCK  ADVISORY  WRITE 30 fd:01:1234 0 EOF\n\
                    2: FLOCK  ADVISORY  READ 28 fd:01:1234 0 EOF\n\
                    3: POSIX  ADVISORY  WRITE 29 fd:01:1234 0 EOF\n\
                    4: FLOCK  ADVISORY  READ 31 fd:02:1234 0 EOF\n\
                    5: FLOCK  ADVISORY  READ 32 fd:01:12345 0 EOF\n\
                    6: FLOCK  ADVISORY  READ -1 fd:01:1234 0 EOF\n\
                    garbage\n";
        assert_eq!(flock_holders(text, 0xfd, 1, 1234), vec![27, 28]);
    }

    #[test]
    fn names_at_most_a_few_holders_on_one_line() {
        let h = |pid: i64, comm: &str| Holder {
            pid,
            comm: Some(comm.to_owned()),
            uid: Some(65534),
        };
        assert_eq!(
            describe(&[h(1, "a\nwsprune: ok\x1b[2J")]).unwrap(),
            "pid=1 uid=65534 comm=\"a\\nwsprune: ok\\x1b[2J\""
        );
        // A guest that names its process `wsprune, uid 0)` cannot pass for the host.
        assert_eq!(
            describe(&[h(7, "wsprune, uid 0)")]).unwrap(),
            "pid=7 uid=65534 comm=\"wsprune, uid 0)\""
        );
        assert_eq!(
            describe(&[h(7, "x\" uid=0 comm=\"wsprune")]).unwrap(),
            "pid=7 uid=65534 comm=\"x\\\" uid=0 comm=\\\"wsprune\""
        );
        let many: Vec<Holder> = (1..=10).map(|p| h(p, "x")).collect();
        let text = describe(&many).unwrap();
        assert!(text.ends_with("pid=4 uid=65534 comm=\"x\" and 6 more"), "{text}");
        assert!(!text.contains("pid=5 "), "{text}");
    }

    #[test]
    fn the_remedy_follows_the_uid_not_the_name() {
        let h = |uid: Option<u32>, comm: &str| Holder {
            pid: 9,
            comm: Some(comm.to_owned()),
            uid,
        };
        assert!(remedy(&[h(Some(0), "wsprune")], 0).starts_with("another prune"));
        // A guest naming itself wsprune is still another user's process.
        assert!(remedy(&[h(Some(65534), "wsprune")], 0).contains("0711"));
        assert!(!remedy(&[h(Some(0), "python3")], 0).contains("0711"));
        assert!(remedy(&[h(None, "x")], 0).contains("wait") && remedy(&[], 0).contains("0711"));
    }

    #[test]
    fn reads_the_effective_uid() {
        let status = "Name:\tx\nUid:\t1000\t65534\t1000\t65534\nGid:\t0\t0\t0\t0\n";
        assert_eq!(effective_uid(status), Some(65534));
        assert_eq!(effective_uid("Name:\tx\n"), None);
    }

    #[test]
    fn finds_this_process_holding_a_lock() {
        use std::os::fd::AsFd;
        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::fd::open_root(tmp.path()).unwrap();
        let id = crate::fd::dir_id(dir.as_fd()).unwrap();
        assert!(crate::fd::try_flock(dir.as_fd(), libc::LOCK_SH).unwrap());
        let found = holders(&id);
        if std::path::Path::new("/proc/locks").exists() {
            let me = i64::from(std::process::id());
            let h = found.iter().find(|h| h.pid == me).expect("this process holds the lock");
            // SAFETY: geteuid takes nothing and cannot fail.
            assert_eq!(h.uid, Some(unsafe { libc::geteuid() }));
            let text = describe(&found).unwrap();
            assert!(text.contains(&format!("pid={me} uid=")), "{text}");
        }
        crate::fd::unlock(dir.as_fd()).unwrap();
        assert!(holders(&id).iter().all(|h| h.pid != i64::from(std::process::id())));
        assert_eq!(describe(&[]), None);
    }
}
