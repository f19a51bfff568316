//! wsprune: session workspace metadata, leases and safe pruning for
//! code-execution sandboxes.
//!
//! A workspace root holds one directory per session, named by a UUID or a
//! custom id (see [`session_id`]), with
//! its metadata in `<root>/<id>/.metadata.json`. A runtime [creates](create_session)
//! sessions, [touches](touch_session) them after every execution, holds a
//! [lease](acquire) while code runs, and [prunes](prune_sessions) the stale ones.
//!
//! ```
//! # let tmp = tempfile::tempdir().unwrap();
//! # let root = tmp.path();
//! let id = wsprune::create_session(root, None)?;
//! let lease = wsprune::acquire(root, &id)?;
//! // ... run code in root/id ...
//! lease.release(true)?; // touch: the session was just used
//! let result = wsprune::prune_sessions(root, &wsprune::PruneOptions::older_than(24.0, true))?;
//! assert!(result.deleted_sessions.is_empty());
//! println!("{result}"); // Would prune 0 sessions (0 skipped, 0 errors), would reclaim 0 B
//! # Ok::<(), wsprune::Error>(())
//! ```

#![warn(missing_docs)]

// The Rust API page's snippet is compiled and run as a doctest, so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../docs/rust-api.md")]
struct ReadmeDoctests;

pub(crate) mod chase;
pub mod control;
pub(crate) mod entry;
pub mod error;
pub mod escape;
pub mod events;
pub(crate) mod fd;
pub mod ffi;
pub mod fs_usage;
pub(crate) mod host_state;
pub mod inspect;
pub mod labels;
pub mod lease;
mod lock_holders;
pub mod metadata;
pub mod migrate;
mod panic_hook;
pub(crate) mod parallel;
pub mod policy;
pub mod prune;
pub(crate) mod remove;
pub mod repair;
pub mod result;
pub mod retention;
pub mod session;
pub mod session_id;
pub mod session_labels;
pub mod shared_fs;
pub mod stats;
pub mod touch;

pub use control::PruneControl;
pub use error::{Error, Result, Status};
pub use events::{Event, Level};
pub use fs_usage::FsUsage;
pub use inspect::{list_sessions, list_sessions_sized, session_info, SessionInfo, SessionState};
pub use metadata::SessionMetadata;
pub use migrate::{migrate_sessions, MigrateResult, Migrated};
pub use policy::{DeleteOptions, PruneOptions, Rule};
pub use prune::{delete_session, delete_session_with, prune_sessions, prune_sessions_with};
pub use repair::{repair_sessions, RepairResult, Repaired};
pub use result::{PruneResult, Record, SkipReason, Skipped, UnmetTarget};
pub use retention::{pin_session, set_session_ttl, unpin_session, Ttl};
pub use session::{
    acquire, create_or_open_session, create_or_open_session_with, create_session, create_session_with, read_metadata,
    read_metadata_document, touch_session, Lease, MetadataDocument, MetadataState, SessionOptions, TouchOutcome,
};
pub use session_labels::set_session_labels;
pub use stats::{workspace_stats, StatsOptions, WorkspaceStats};
