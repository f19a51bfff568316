//! Checks on the workspace root that every command makes first.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use wsprune::escape::escape;

use crate::exit::{Exit, Fatal};

/// The root as messages show it (escaped: a path may hold any byte but NUL).
pub fn shown(root: &Path) -> String {
    wsprune::escape::escape_bytes(root.as_os_str().as_bytes()).into_owned()
}

/// The workspace root must be an existing directory: the library treats a
/// missing root as empty for a prune, but for an operator it is a typo.
pub fn require(root: &Path) -> Result<(), Fatal> {
    if root.as_os_str().is_empty() {
        return Err(Fatal::new(Exit::Usage, "workspace root is empty"));
    }
    let r = shown(root);
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Fatal::new(
            Exit::NoInput,
            format!("workspace root {r} is not a directory"),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Fatal::new(Exit::NoInput, format!("workspace root {r} does not exist")))
        }
        Err(e) => Err(Fatal::new(
            Exit::IoErr,
            format!("cannot access workspace root {r}: {}", escape(&e.to_string())),
        )),
    }
}

/// A missing root is created (the first session of a new workspace); something else in its place is an error.
pub fn creatable(root: &Path) -> Result<(), Fatal> {
    if root.exists() && !root.is_dir() {
        return Err(Fatal::new(
            Exit::NoInput,
            format!("workspace root {} is not a directory", shown(root)),
        ));
    }
    Ok(())
}

/// Fails once, for the whole root, when nothing in it can be deleted: a
/// read-only filesystem (or bind mount) or no write permission. Without this
/// a prune reports the same error once per session.
pub fn require_writable(root: &Path, what: &str) -> Result<(), Fatal> {
    let Ok(c) = CString::new(root.as_os_str().as_bytes()) else {
        return Ok(());
    };
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    if unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::W_OK, libc::AT_EACCESS) } == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EROFS) | Some(libc::EACCES) | Some(libc::EPERM) => Err(Fatal::new(
            Exit::NoPerm,
            format!("workspace root {} is not writable: {e}; {what}", shown(root)),
        )),
        _ => Ok(()), // anything else: let the command itself say what is wrong
    }
}

/// Bytes available to unprivileged users on the root's filesystem, if known.
pub fn free_bytes(root: &Path) -> Option<u64> {
    let c = CString::new(root.as_os_str().as_bytes()).ok()?;
    // SAFETY: `libc` is plain integers, for which all zeroes is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a writable statvfs buffer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}
