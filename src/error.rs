//! The one error type of the library and its stable classification.

use std::io;

/// What kind of failure an [`Error`] is. Each kind maps one-to-one onto a
/// stable `wsprune_status` value of the C ABI, so the numbering is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Status {
    /// Success (never carried by an [`Error`]; present so the numbering is complete).
    Ok = 0,
    /// A NULL, non-UTF-8, empty or out-of-range argument, or a buffer too small.
    InvalidArgument = 1,
    /// The session id is neither a UUID nor a safe custom id (every path-traversal attempt lands here).
    InvalidSessionId = 2,
    /// The session does not exist.
    NotFound = 3,
    /// A session with that id already exists.
    AlreadyExists = 4,
    /// The session or workspace is locked by someone else.
    Busy = 5,
    /// An operating-system error.
    Io = 6,
    /// A panic was caught at the FFI boundary (a bug in wsprune).
    Panic = 7,
}

impl Status {
    /// The stable upper-case name, e.g. `"INVALID_SESSION_ID"`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::InvalidArgument => "INVALID_ARGUMENT",
            Status::InvalidSessionId => "INVALID_SESSION_ID",
            Status::NotFound => "NOT_FOUND",
            Status::AlreadyExists => "ALREADY_EXISTS",
            Status::Busy => "BUSY",
            Status::Io => "IO",
            Status::Panic => "PANIC",
        }
    }
}

/// A failed wsprune operation: a [`Status`] and a message that names what failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    status: Status,
    message: String,
}

impl Error {
    /// An error of the given kind with a human-readable message.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Error {
            status,
            message: message.into(),
        }
    }

    /// An [`Status::Io`] error (or the more specific kind the errno implies) for
    /// `what`, e.g. `io("open workspace root /x", err)`.
    pub fn io(what: impl std::fmt::Display, err: io::Error) -> Self {
        let status = match err.raw_os_error() {
            Some(libc::ENOENT) => Status::NotFound,
            Some(libc::EEXIST) => Status::AlreadyExists,
            Some(libc::EWOULDBLOCK) => Status::Busy,
            _ => Status::Io,
        };
        Error {
            status,
            message: format!("{what}: {err}"),
        }
    }

    /// The kind of failure.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The message, without the status name.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message alone, for a per-session error that a prune or a repair
    /// records in its result and carries on.
    pub(crate) fn into_message(self) -> String {
        self.message
    }

    /// This error as the failure of an operation on session `id`: an
    /// [`Status::Io`] error whose message names the session.
    pub(crate) fn of_session(self, id: &str) -> Error {
        Error::new(Status::Io, format!("session {id}: {}", self.message))
    }
}

/// `Result` with wsprune's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
