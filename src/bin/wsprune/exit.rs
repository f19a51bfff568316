//! Exit statuses, one per class of outcome, on sysexits(3)'s model where it
//! fits, so that cron wrappers, systemd units and monitoring can branch on
//! them. `wsprune --help` and docs/cli.md list them; tests/cli.rs checks each.

use std::process::ExitCode;

use wsprune::Status;

/// The class of a run's outcome and its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success (skipped sessions are not failures).
    Ok,
    /// 1: the command ran, but some sessions could not be handled.
    SomeFailed,
    /// 3: a prune's size or count target was not reached.
    TargetNotReached,
    /// 64 (EX_USAGE): bad arguments, an invalid session id, a prune with no rule.
    Usage,
    /// 66 (EX_NOINPUT): the workspace root, or the session, does not exist (or the root is not a directory).
    NoInput,
    /// 70 (EX_SOFTWARE): a bug in wsprune.
    Software,
    /// 73 (EX_CANTCREAT): the session to create already exists.
    CantCreate,
    /// 74 (EX_IOERR): an I/O error that ended the command.
    IoErr,
    /// 75 (EX_TEMPFAIL): busy: another prune holds the workspace, or the session is leased or being deleted. Try again later.
    TempFail,
    /// 77 (EX_NOPERM): the whole workspace root is not writable (read-only filesystem, no permission).
    NoPerm,
    /// 128 + N: interrupted by signal N (130 SIGINT, 143 SIGTERM) after finishing the session under way.
    Signal(i32),
    /// `lease`: its command's exit status, passed through.
    Passthrough(u8),
}

impl Exit {
    /// The exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::SomeFailed => 1,
            Exit::TargetNotReached => 3,
            Exit::Usage => 64,
            Exit::NoInput => 66,
            Exit::Software => 70,
            Exit::CantCreate => 73,
            Exit::IoErr => 74,
            Exit::TempFail => 75,
            Exit::NoPerm => 77,
            Exit::Signal(n) => (128 + n.clamp(1, 127)) as u8,
            Exit::Passthrough(n) => n,
        }
    }

    /// The class's name in JSON error objects (`"status"`).
    pub fn name(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::SomeFailed => "some_failed",
            Exit::TargetNotReached => "target_not_reached",
            Exit::Usage => "usage",
            Exit::NoInput => "not_found",
            Exit::Software => "internal",
            Exit::CantCreate => "already_exists",
            Exit::IoErr => "io",
            Exit::TempFail => "busy",
            Exit::NoPerm => "not_writable",
            Exit::Signal(_) => "interrupted",
            Exit::Passthrough(_) => "command",
        }
    }

    /// The class of a library error. An I/O error that says the filesystem
    /// is read-only or the access was denied is the "not writable" class.
    pub fn of(e: &wsprune::Error) -> Exit {
        match e.status() {
            Status::Ok => Exit::Ok,
            Status::InvalidArgument | Status::InvalidSessionId => Exit::Usage,
            Status::NotFound => Exit::NoInput,
            Status::AlreadyExists => Exit::CantCreate,
            Status::Busy => Exit::TempFail,
            Status::Panic => Exit::Software,
            // The library keeps the OS error's text ("... (os error 30)"), not the errno.
            Status::Io if is_not_writable(e.message()) => Exit::NoPerm,
            Status::Io => Exit::IoErr,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// Whether an error message carries EROFS or EACCES (`std::io::Error`'s
/// Display ends with `(os error N)`).
pub fn is_not_writable(msg: &str) -> bool {
    msg.contains(&format!("(os error {})", libc::EROFS)) || msg.contains(&format!("(os error {})", libc::EACCES))
}

/// The table in `--help` (and the README's, which tests/cli.rs compares).
pub const HELP: &str = "\
Exit status:
  0    success (skipped sessions are not failures)
  1    some sessions could not be handled (prune, repair; ls: unreadable)
  3    prune: a size or count target was not reached
  64   usage error: bad arguments, invalid session id, a prune with no rule
  66   the workspace root (or the session) does not exist, or the root is not a directory
  70   internal error (a bug in wsprune)
  73   create: the session already exists
  74   I/O error
  75   busy: another prune holds the workspace lock past --lock-timeout, or
       the session is leased (rm) or being deleted (lease); try again later
  77   the workspace root is not writable (read-only filesystem, no permission)
  130  interrupted by SIGINT, 143 by SIGTERM (prune: after finishing the
       session under way and printing the summary)
lease passes its command's exit status through (128+N if a signal N ended it).";

/// A failure that ends the command: its class and one line of message.
#[derive(Debug)]
pub struct Fatal {
    pub exit: Exit,
    pub message: String,
}

impl Fatal {
    pub fn new(exit: Exit, message: impl Into<String>) -> Fatal {
        Fatal {
            exit,
            message: message.into(),
        }
    }
}

impl From<wsprune::Error> for Fatal {
    fn from(e: wsprune::Error) -> Self {
        Fatal::new(Exit::of(&e), e.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_its_own_code_and_the_help_lists_it() {
        let all = [
            Exit::Ok,
            Exit::SomeFailed,
            Exit::TargetNotReached,
            Exit::Usage,
            Exit::NoInput,
            Exit::Software,
            Exit::CantCreate,
            Exit::IoErr,
            Exit::TempFail,
            Exit::NoPerm,
            Exit::Signal(libc::SIGINT),
            Exit::Signal(libc::SIGTERM),
        ];
        let mut codes: Vec<u8> = all.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for e in all {
            assert!(
                HELP.contains(&format!("  {} ", e.code())) || HELP.contains(&format!(", {} by", e.code())),
                "{e:?}"
            );
        }
    }

    #[test]
    fn read_only_and_permission_errors_are_the_not_writable_class() {
        let e = wsprune::Error::io("create session x", std::io::Error::from_raw_os_error(libc::EROFS));
        assert_eq!(Exit::of(&e), Exit::NoPerm);
        let e = wsprune::Error::io("create session x", std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(Exit::of(&e), Exit::IoErr);
    }
}
