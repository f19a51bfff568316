//! Registering the sessions an older writer left: directories made by the
//! reference implementation or by wsprune 0.3, whose only record is the
//! `.metadata.json` inside them, which their guest can write. Until it is
//! registered such a directory keeps 0.3's behaviour; registering is
//! explicit (`wsprune migrate`), because it trusts that metadata once.

use std::os::fd::AsFd;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::entry::{self, Examined, Known, Lock};
use crate::error::{Error, Result};
use crate::events::{self, Level};
use crate::fields;
use crate::host_state::HostDir;
use crate::metadata::{self, SessionMetadata};
use crate::session;

/// A directory [`migrate_sessions`] registered (or, in a dry run, would).
#[derive(Debug, Clone, PartialEq)]
pub struct Migrated {
    /// The session id.
    pub session_id: String,
    /// Whether it had valid metadata (trusted once) or none (a legacy UUID
    /// session, registered dated now).
    pub had_metadata: bool,
    /// The `updated_at` its record starts with.
    pub updated_at: DateTime<Utc>,
}

/// What [`migrate_sessions`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MigrateResult {
    /// Registered (or would be, in a dry run), sorted by id.
    pub registered: Vec<Migrated>,
    /// Left unregistered, with why (leased, corrupted metadata, an error), sorted by id.
    pub skipped: Vec<(String, String)>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl MigrateResult {
    /// The result as JSON: registered [{session_id, had_metadata,
    /// updated_at}], skipped {id: reason}, dry_run.
    pub fn to_json(&self) -> serde_json::Value {
        let registered: Vec<_> = self
            .registered
            .iter()
            .map(|m| {
                serde_json::json!({
                    "session_id": m.session_id,
                    "had_metadata": m.had_metadata,
                    "updated_at": metadata::format_timestamp(m.updated_at),
                })
            })
            .collect();
        let skipped: serde_json::Map<_, _> = self
            .skipped
            .iter()
            .map(|(id, why)| (id.clone(), why.as_str().into()))
            .collect();
        serde_json::json!({"registered": registered, "skipped": skipped, "dry_run": self.dry_run})
    }
}

/// Registers every unregistered session under `root`: one with valid
/// `.metadata.json` with its times (trusted this once), a UUID directory
/// without metadata dated now (as create-or-open would). One with corrupted
/// metadata is skipped (`wsprune repair` first), and so is one whose
/// directory is locked (a lease of wsprune 0.3, or a prune of it): its
/// runtime may still rely on that lock, which registered sessions no longer
/// honour. Runs under the workspace lock. A dry run writes nothing. Emits
/// `session.metadata.created` (operation `migrate`) for each registration.
/// A missing root is [`crate::Status::NotFound`].
pub fn migrate_sessions(root: &Path, dry_run: bool) -> Result<MigrateResult> {
    session::check_root(root)?;
    let root_fd = session::open_root(root)?;
    let rfd = root_fd.as_fd();
    // A dry run changes nothing, so it creates no host directory either.
    let host = if dry_run {
        session::host_dir(rfd)?
    } else {
        Some(HostDir::open_or_create(rfd).map_err(|e| {
            Error::io(
                format_args!("cannot create the host directory of {}", root.display()),
                e,
            )
        })?)
    };
    let _held = crate::prune::lock_workspace_for(rfd, host.as_ref(), dry_run, root)?;
    let mut result = MigrateResult {
        dry_run,
        ..Default::default()
    };
    let now = metadata::truncate_to_micros(Utc::now());
    for id in session::session_names(rfd, None)? {
        if host
            .as_ref()
            .map(|h| h.is_registered(&id))
            .transpose()
            .map_err(|e| Error::io("cannot read the records", e))?
            .unwrap_or(false)
        {
            continue;
        }
        // Examined as unregistered (no host): its own lock and metadata.
        let (session, known) = match entry::examine(rfd, None, &id, Lock::Exclusive, SessionMetadata::from_json) {
            Examined::Session(s, k) => (s, k),
            Examined::NotASession => continue,
            Examined::Failed(msg) => {
                result.skipped.push((id, msg));
                continue;
            }
        };
        let (meta, had_metadata) = match known {
            // A guest could have written a pin or a TTL into its file: only
            // the host sets those.
            Known::Valid(m) => (m.registered_from_guest(&id, now), true),
            Known::Missing => (SessionMetadata::new(id.clone(), now), false),
            Known::Invalid(bad) => {
                result
                    .skipped
                    .push((id, format!("unusable metadata ({bad}): run wsprune repair first")));
                continue;
            }
        };
        if !session.locked {
            result.skipped.push((
                id,
                "in use (its directory is locked): migrate again once it is released".into(),
            ));
            continue;
        }
        if !dry_run {
            match session::register_existing(
                host.as_ref().expect("made unless a dry run"),
                session.dir.as_fd(),
                &id,
                &meta,
                "migrate",
            ) {
                Ok(true) => {}
                // Registered by an open meanwhile: its record is kept as it is.
                Ok(false) => continue,
                Err(e) => {
                    result.skipped.push((id, e.message().to_owned()));
                    continue;
                }
            }
        }
        events::emit(Level::Info, "session.migrated", || {
            fields! {"session_id" => id.as_str(), "had_metadata" => had_metadata, "dry_run" => dry_run}
        });
        result.registered.push(Migrated {
            session_id: id,
            had_metadata,
            updated_at: meta.updated_at,
        });
    }
    Ok(result)
}
