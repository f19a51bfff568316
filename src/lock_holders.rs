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

/// The command name of process `pid`, made printable.
fn comm_of(pid: i64) -> Option<String> {
    let b = std::fs::read(format!("/proc/{pid}/comm")).ok()?;
    Some(printable(String::from_utf8_lossy(&b).trim_end_matches('\n')))
}

/// The effective uid of process `pid`.
fn uid_of(pid: i64) -> Option<u32> {
    effective_uid(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// Most holders named in a message (the rest are counted).
const MAX_NAMED: usize = 4;

/// A command name as a process set it (any bytes but NUL, through
/// `PR_SET_NAME`): control characters become `?`, so that it cannot break
/// the message's line or forge another one.
fn printable(name: &str) -> String {
    name.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// `"pid 12 (python3, uid 65534), pid 40 (wsprune, uid 0)"` (the first
/// [`MAX_NAMED`], then `"and N more"`), or `None` if no holder could be seen.
pub fn describe(holders: &[Holder]) -> Option<String> {
    if holders.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, h) in holders.iter().take(MAX_NAMED).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "pid {}", h.pid);
        match (&h.comm, h.uid) {
            (Some(c), Some(u)) => {
                let _ = write!(out, " ({c}, uid {u})");
            }
            (Some(c), None) => {
                let _ = write!(out, " ({c})");
            }
            (None, Some(u)) => {
                let _ = write!(out, " (uid {u})");
            }
            (None, None) => {}
        }
    }
    if holders.len() > MAX_NAMED {
        let _ = write!(out, " and {} more", holders.len() - MAX_NAMED);
    }
    Some(out)
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
            comm: Some(printable(comm)),
            uid: Some(65534),
        };
        assert_eq!(
            describe(&[h(1, "a\nwsprune: ok\x1b[2J")]).unwrap(),
            "pid 1 (a?wsprune: ok?[2J, uid 65534)"
        );
        let many: Vec<Holder> = (1..=10).map(|p| h(p, "x")).collect();
        let text = describe(&many).unwrap();
        assert!(text.ends_with("pid 4 (x, uid 65534) and 6 more"), "{text}");
        assert!(!text.contains("pid 5 "), "{text}");
    }

    #[test]
    fn reads_the_effective_uid() {
        let status = "Name:\tx\nUid:\t1000\t65534\t1000\t65534\nGid:\t0\t0\t0\t0\n";
        assert_eq!(effective_uid(status), Some(65534));
        assert_eq!(effective_uid("Name:\tx\n"), None);
    }

    #[test]
    fn finds_this_process_holding_a_lock() {
        use std::os::fd::AsRawFd;
        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::fd::open_root(tmp.path()).unwrap();
        let id = crate::fd::dir_id(dir.as_raw_fd()).unwrap();
        assert!(crate::fd::try_flock(dir.as_raw_fd(), libc::LOCK_SH).unwrap());
        let found = holders(&id);
        if std::path::Path::new("/proc/locks").exists() {
            let me = i64::from(std::process::id());
            let h = found.iter().find(|h| h.pid == me).expect("this process holds the lock");
            assert_eq!(h.uid, Some(unsafe { libc::geteuid() }));
            let text = describe(&found).unwrap();
            assert!(text.contains(&format!("pid {me} (")), "{text}");
        }
        crate::fd::unlock(dir.as_raw_fd()).unwrap();
        assert!(holders(&id).iter().all(|h| h.pid != i64::from(std::process::id())));
        assert_eq!(describe(&[]), None);
    }
}
