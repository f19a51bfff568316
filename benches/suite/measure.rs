//! Timing a child process from spawn to exit, with its peak RSS, and the
//! statistics the tables use.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

/// One finished child process.
pub struct Run {
    pub secs: f64,
    /// The child's own peak resident set size (`ru_maxrss` from `wait4`).
    pub max_rss_kib: u64,
    pub stdout: String,
}

/// Runs `cmd` to completion and times it. `wait4` (not `getrusage(RUSAGE_CHILDREN)`,
/// which keeps the maximum over every child ever waited for) gives the RSS of
/// exactly this child. Panics if it fails: a failed contender makes the figures meaningless.
#[allow(clippy::zombie_processes)] // reaped by wait4, which std does not know about
pub fn run(cmd: &mut Command) -> Run {
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own child, not yet reaped (std waits only when asked to).
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        assert_eq!(err.kind(), std::io::ErrorKind::Interrupted, "wait4 {cmd:?}: {err}");
    }
    let secs = start.elapsed().as_secs_f64();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .expect("child stdout");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed (wait status {status:#x})"
    );
    Run {
        secs,
        max_rss_kib: usage.ru_maxrss as u64,
        stdout,
    }
}

/// Flushes dirty pages so writeback of a freshly built tree does not land in a timing.
pub fn sync() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// The value at quantile `q` (0..=1) of `v`, nearest rank below.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q) as usize]
}

pub fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}
