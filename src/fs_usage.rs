//! How full the workspace root's filesystem is: one `fstatvfs`, read as the
//! free-space and watermark rules read it (docs/contract.md, "Watermarks").

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use crate::error::{Error, Result};

/// The root filesystem's size and what is available of it, to an
/// unprivileged user (`f_bavail`, `f_favail`): blocks reserved for root count
/// as used, as the kubelet and `df`'s "Avail" count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsUsage {
    /// `f_blocks * f_frsize`.
    pub size_bytes: u64,
    /// `f_bavail * f_frsize`.
    pub available_bytes: u64,
    /// `f_files`; 0 on a filesystem that does not count inodes (btrfs).
    pub inodes: u64,
    /// `f_favail`.
    pub available_inodes: u64,
}

impl FsUsage {
    /// The usage of the filesystem holding the open directory `fd`.
    pub fn of_fd(fd: BorrowedFd<'_>) -> Result<FsUsage> {
        // SAFETY: `libc::statvfs` is plain integers, for which all zeroes is a valid value.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is a valid, writable `statvfs` for the call.
        if unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) } != 0 {
            return Err(Error::io(
                "cannot read the usage of the workspace filesystem",
                std::io::Error::last_os_error(),
            ));
        }
        let frsize = st.f_frsize as u64;
        Ok(FsUsage {
            size_bytes: (st.f_blocks as u64).saturating_mul(frsize),
            available_bytes: (st.f_bavail as u64).saturating_mul(frsize),
            inodes: st.f_files as u64,
            available_inodes: (st.f_favail as u64).min(st.f_files as u64),
        })
    }

    /// The usage of the filesystem holding the directory `root` (opened
    /// through the checked way in, never followed through a symlink).
    pub fn of_root(root: &Path) -> Result<FsUsage> {
        let fd = crate::session::open_root(root)?;
        FsUsage::of_fd(std::os::fd::AsFd::as_fd(&fd))
    }

    /// Bytes used: size minus available.
    pub fn used_bytes(&self) -> u64 {
        self.size_bytes.saturating_sub(self.available_bytes)
    }

    /// Inodes used: count minus available.
    pub fn used_inodes(&self) -> u64 {
        self.inodes.saturating_sub(self.available_inodes)
    }

    /// Percent of the bytes used, `100 * (1 - available / size)`; 0 for a
    /// filesystem of size 0.
    pub fn used_percent(&self) -> f64 {
        percent(self.used_bytes(), self.size_bytes)
    }

    /// Percent of the inodes used; 0 where the filesystem counts none.
    pub fn inode_used_percent(&self) -> f64 {
        percent(self.used_inodes(), self.inodes)
    }
}

fn percent(used: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        used as f64 * 100.0 / total as f64
    }
}

/// The most of `total` a level of `percent` allows, rounded down (so that
/// "at most 80%" never reads as a little more).
pub(crate) fn share(total: u64, percent: f64) -> u64 {
    ((total as f64) * percent / 100.0).floor() as u64
}

/// The least of `total` a level of `percent` asks for, rounded up.
pub(crate) fn share_up(total: u64, percent: f64) -> u64 {
    ((total as f64) * percent / 100.0).ceil() as u64
}
