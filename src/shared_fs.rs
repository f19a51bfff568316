//! Which filesystem the workspace root is on, and whether wsprune's locks
//! mean anything there.
//!
//! A lease and a prune's claim on a session are `flock`s. On a filesystem
//! shared between hosts, a `flock` on a directory is kept by the local kernel
//! only: NFS and FUSE define no lock operation for directories (the lock
//! never reaches the server), SMB/CIFS, 9p and the like behave the same.
//! Host B's prune would then delete a session host A holds leased. Such a
//! root is refused by the operations that delete (prune, delete, watch)
//! unless the caller declares that only one host uses it (`single_host`),
//! which proceeds with a `workspace.shared_filesystem` warning event.
//! CephFS (its metadata server arbitrates `flock`), GFS2 and OCFS2 (cluster
//! lock managers) and local filesystems proceed. SECURITY.md has the
//! multi-host model.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use crate::error::{Error, Result, Status};
use crate::events::{self, Level};
use crate::fields;

/// How far a directory `flock` reaches on a filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockReach {
    /// Every process that can use the filesystem sees the lock: a local
    /// filesystem, or a cluster filesystem whose lock manager arbitrates `flock`.
    Everywhere,
    /// Only processes on this host see it: the filesystem can be mounted by
    /// other hosts whose locks never meet ours.
    ThisHostOnly,
}

/// The filesystem a descriptor is on: `statfs`'s magic number, a name for
/// messages and how far its directory locks reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filesystem {
    /// `f_type` of `statfs(2)` (32 bits: the kernel's magic numbers).
    pub magic: u32,
    /// A short name, e.g. `"nfs"`, `"fuse"`; `"local"` for a type this
    /// module does not name (every filesystem not listed below is taken to
    /// be local).
    pub name: &'static str,
    /// How far a directory `flock` on it reaches.
    pub reach: LockReach,
}

/// The filesystems whose type matters, by `statfs` magic number
/// (`<linux/magic.h>`, and the out-of-tree ones' own headers).
const KNOWN: &[(u32, &str, LockReach)] = &[
    (0x6969, "nfs", LockReach::ThisHostOnly),
    (0x517B, "smb", LockReach::ThisHostOnly),
    (0xFF53_4D42, "cifs", LockReach::ThisHostOnly),
    (0xFE53_4D42, "smb2", LockReach::ThisHostOnly),
    (0x0102_1997, "9p", LockReach::ThisHostOnly),
    // sshfs, s3fs, JuiceFS, bindfs, virtiofs and every other FUSE filesystem.
    (0x6573_5546, "fuse", LockReach::ThisHostOnly),
    (0x7375_7245, "coda", LockReach::ThisHostOnly),
    (0x6B41_4653, "afs", LockReach::ThisHostOnly),
    (0x5346_414F, "openafs", LockReach::ThisHostOnly),
    (0x564C, "ncp", LockReach::ThisHostOnly),
    // Lustre's flock is host-local with -o localflock (and absent by default).
    (0x0BD0_0BD0, "lustre", LockReach::ThisHostOnly),
    (0x00C3_6400, "cephfs", LockReach::Everywhere),
    (0x0116_1970, "gfs2", LockReach::Everywhere),
    (0x7461_636F, "ocfs2", LockReach::Everywhere),
];

impl Filesystem {
    /// The filesystem of `statfs` magic number `magic`.
    pub fn from_magic(magic: u32) -> Filesystem {
        KNOWN
            .iter()
            .find(|(m, _, _)| *m == magic)
            .map(|&(magic, name, reach)| Filesystem { magic, name, reach })
            .unwrap_or(Filesystem {
                magic,
                name: "local",
                reach: LockReach::Everywhere,
            })
    }
}

/// The filesystem the open descriptor `fd` is on (`fstatfs`).
pub fn filesystem_of(fd: BorrowedFd<'_>) -> std::io::Result<Filesystem> {
    // SAFETY: `st` is a plain C struct that fstatfs fills; any bit pattern is valid.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer and `fd` an open descriptor.
    if unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // f_type is a signed word on some targets: the magic is its low 32 bits.
    Ok(Filesystem::from_magic(st.f_type as u32))
}

/// Checks that `operation` (`"prune"`, `"delete"`, `"watch"`) may delete
/// under the root open as `rfd`: a root on a filesystem whose directory locks
/// reach this host only is [`Status::InvalidArgument`], naming the
/// filesystem and why, unless `single_host` declares that no other host uses
/// it; then a `workspace.shared_filesystem` warning event is emitted and the
/// operation proceeds.
pub(crate) fn check_root(rfd: BorrowedFd<'_>, root: &Path, single_host: bool, operation: &str) -> Result<()> {
    let fs = filesystem_of(rfd).map_err(|e| Error::io("cannot read the workspace root's filesystem type", e))?;
    if fs.reach == LockReach::Everywhere {
        return Ok(());
    }
    let why = format!(
        "workspace root {} is on {} (statfs type {:#x}), where a lease (a flock) is kept by this host's kernel \
         only: a {operation} here could delete a session another host holds leased",
        root.display(),
        fs.name,
        fs.magic
    );
    if !single_host {
        return Err(Error::new(
            Status::InvalidArgument,
            format!(
                "{why}; refused. If no other host uses this root, declare it (single_host; --single-host on the \
                 command line); see SECURITY.md, \"Several hosts\""
            ),
        ));
    }
    events::emit(Level::Warning, "workspace.shared_filesystem", || {
        fields! {
            "workspace_root" => root.to_string_lossy(),
            "filesystem" => fs.name,
            "operation" => operation,
            "error" => format!("{why}; proceeding because single-host use was declared"),
        }
    });
    Ok(())
}

/// [`check_root`] of the root at `root` (opened the checked way): for a
/// long-running caller that checks once, before it starts (the tool's `watch`).
pub fn check_root_path(root: &Path, single_host: bool, operation: &str) -> Result<()> {
    let fd = crate::session::open_root(root)?;
    check_root(std::os::fd::AsFd::as_fd(&fd), root, single_host, operation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_classify() {
        assert_eq!(Filesystem::from_magic(0x6969).name, "nfs");
        assert_eq!(Filesystem::from_magic(0x6969).reach, LockReach::ThisHostOnly);
        assert_eq!(Filesystem::from_magic(0x6573_5546).reach, LockReach::ThisHostOnly);
        assert_eq!(Filesystem::from_magic(0xFF53_4D42).name, "cifs");
        assert_eq!(Filesystem::from_magic(0x00C3_6400).reach, LockReach::Everywhere);
        // tmpfs, ext4: local.
        assert_eq!(Filesystem::from_magic(0x0102_1994).reach, LockReach::Everywhere);
        assert_eq!(Filesystem::from_magic(0xEF53).name, "local");
    }

    #[test]
    fn a_sign_extended_magic_is_read_as_its_low_32_bits() {
        let signed: i64 = 0xFF53_4D42u32 as i32 as i64; // how a 32-bit f_type arrives
        assert_eq!(Filesystem::from_magic(signed as u32).name, "cifs");
    }
}
