//! `--single-host`: what the tool says when it acts on a root that other
//! hosts could mount (the library refuses such a root without it).

use std::path::Path;

use wsprune::shared_fs::{filesystem_of, LockReach};

use crate::output;
use crate::root;

/// With `--single-host` on a root whose leases reach this host only, a
/// warning on stderr (the library's `workspace.shared_filesystem` event says
/// the same to `--events`), so a log shows that the refusal was overridden.
pub fn warn_if_declared(root: &Path, single_host: bool) {
    if !single_host {
        return;
    }
    let Ok(dir) = std::fs::File::open(root) else { return };
    if let Ok(fs) = filesystem_of(std::os::fd::AsFd::as_fd(&dir)) {
        if fs.reach == LockReach::ThisHostOnly {
            output::warning(&format!(
                "{} is on {}, where a lease is kept by this host only; proceeding because --single-host \
                 declares that no other host uses it",
                root::shown(root),
                fs.name
            ));
        }
    }
}
