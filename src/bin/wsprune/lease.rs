//! `wsprune lease ROOT ID -- COMMAND [ARG]...`: `flock(1)` for sessions. Holds
//! a lease on the session (the library's [`wsprune::acquire`]: the checked
//! open, a shared lock that every prune honours) while COMMAND runs, touches
//! the session when it ends, and exits with COMMAND's status.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;

use clap::Args;
use wsprune::escape::escape;

use crate::exit::{Exit, Fatal};
use crate::output;
use crate::root;
use crate::sessions::warn_touch;
use crate::signals;

pub const AFTER_HELP: &str = "\
The session is opened the checked way and leased (a shared lock): no prune or
`wsprune rm` deletes it while COMMAND runs. A session that is gone fails (66),
and so does one a prune is deleting (the lease waits a few seconds for the
deletion to finish, then fails 66 if it went, 75 if it is still going): the
command is not run. COMMAND runs with WSPRUNE_SESSION_DIR (ROOT/ID, the name
the session was found under) and WSPRUNE_SESSION_ID in its environment; it
does not inherit the lock, so the lease ends with wsprune. SIGTERM and SIGINT
are passed on to COMMAND. When COMMAND ends, however it ends, the session is
touched (it was used; not with --no-touch), then the lease is released.

Exit status: COMMAND's (128+N if signal N ended it; 127 if it cannot be found,
126 if it cannot be run), or wsprune's own when no command ran (as for every
command: 64, 66, 75, ...). A failed touch after a successful COMMAND exits
with the touch's error status; after a failed COMMAND, COMMAND's status is
kept and the touch error is on stderr.";

#[derive(Args, Debug)]
pub struct LeaseArgs {
    /// Workspace root
    pub root: PathBuf,
    /// Session id
    pub id: String,
    /// Release the lease without touching the session (it stays as idle as it was)
    #[arg(long)]
    pub no_touch: bool,
    /// The command to run while the lease is held, and its arguments
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

pub fn run(a: LeaseArgs) -> Result<Exit, Fatal> {
    root::require(&a.root)?;
    let lease = wsprune::acquire(&a.root, &a.id)?;
    let dir = a.root.join(lease.session_id());
    signals::install();
    let mut cmd = Command::new(&a.command[0]);
    cmd.args(&a.command[1..])
        .env("WSPRUNE_SESSION_DIR", &dir)
        .env("WSPRUNE_SESSION_ID", lease.session_id());
    let status = match cmd.spawn() {
        Ok(mut child) => {
            signals::forward_to(child.id());
            child.wait()
        }
        Err(e) => Err(e),
    };
    let code = match &status {
        Ok(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)),
        Err(e) => {
            output::error(&format!("cannot run {}: {e}", escape(&a.command[0].to_string_lossy())));
            if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            }
        }
    };
    let id = lease.session_id().to_owned();
    match lease.release(!a.no_touch) {
        Ok(Some(outcome)) => warn_touch(&id, &outcome),
        Ok(None) => {}
        Err(e) if code == 0 => return Err(Fatal::from(e)),
        Err(e) => output::error(&format!(
            "cannot touch session {} after the command: {}",
            escape(&id),
            e.message()
        )),
    }
    Ok(Exit::Passthrough(code.clamp(0, 255) as u8))
}
