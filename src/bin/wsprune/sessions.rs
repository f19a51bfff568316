//! The commands on one session: create, open, touch, rm, info.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use wsprune::escape::escape;
use wsprune::result::format_bytes;
use wsprune::{Status, TouchOutcome};

use crate::exit::{Exit, Fatal};
use crate::ls::state_text;
use crate::output;
use crate::root;
use crate::units::{format_age, format_time, parse_duration, parse_time};

/// How `create` and `open` make a session.
#[derive(clap::Args, Debug)]
pub struct SessionArgs {
    /// Mode of a new session directory, in octal, e.g. 0750 [default: 0700]
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    dir_mode: Option<u32>,
    /// A name that is never a session in this root, besides site-packages (repeatable)
    #[arg(long, value_name = "NAME")]
    reserve: Vec<String>,
    /// The session's own idle timeout: a prune deletes it once idle this long, whatever its age rule (e.g. 1h)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    idle_ttl: Option<Duration>,
    /// The session's absolute expiry: +DURATION from now or a timestamp (e.g. +2h, 2026-12-24T18:00:00Z)
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    expires_at: Option<DateTime<Utc>>,
    /// A label KEY=VALUE for the session, e.g. owner=alice (repeatable; on an existing session, set)
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    label: Vec<String>,
}

impl SessionArgs {
    /// The library's options, with `adopt` (only `open` has the flag).
    pub fn options(&self, adopt: bool) -> Result<wsprune::SessionOptions, Fatal> {
        Ok(wsprune::SessionOptions {
            dir_mode: self.dir_mode,
            adopt,
            reserved: self.reserve.clone(),
            idle_ttl: self.idle_ttl,
            expires_at: self.expires_at,
            labels: wsprune::labels::from_assignments(&self.label)?,
        })
    }
}

/// An octal directory mode such as 0700 or 750.
fn parse_mode(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8).map_err(|_| format!("{s:?} is not an octal mode such as 0700"))
}

pub fn create(root: &Path, id: Option<&str>, opts: &wsprune::SessionOptions) -> Result<Exit, Fatal> {
    root::creatable(root)?;
    let id = wsprune::create_session_with(root, id, opts)?;
    output::out(&format!("{}\n", escape(&id)))?;
    Ok(Exit::Ok)
}

pub fn open(root: &Path, id: Option<&str>, as_json: bool, opts: &wsprune::SessionOptions) -> Result<Exit, Fatal> {
    output::set_json(as_json);
    root::creatable(root)?;
    let (id, created) = wsprune::create_or_open_session_with(root, id, opts)?;
    if as_json {
        output::out(&format!("{}\n", json!({"session_id": id, "created": created})))?;
    } else {
        output::out(&format!("{}\n", escape(&id)))?;
    }
    Ok(Exit::Ok)
}

/// Says on stderr what a touch did not do (legacy or corrupted metadata).
pub fn warn_touch(id: &str, outcome: &TouchOutcome) {
    let id = escape(id);
    match outcome {
        TouchOutcome::Updated(_) => {}
        TouchOutcome::Legacy if !wsprune::session_id::is_uuid(id.as_bytes()) => output::warning(&format!(
            "{id} has no metadata, so it is not a session; nothing to update (`wsprune open` gives it metadata)"
        )),
        TouchOutcome::Legacy => output::warning(&format!(
            "session {id} has no metadata (legacy); nothing to update (`wsprune repair` gives it metadata)"
        )),
        TouchOutcome::Corrupted(msg) => output::warning(&format!(
            "session {id} has corrupted metadata, left as it is: {}",
            escape(msg)
        )),
    }
}

/// `wsprune label ROOT ID CHANGE...`: set (`key=value`) and remove (`key-`)
/// labels, then print the session's labels, one `key=value` a line (`--json`:
/// an object).
pub fn label(root: &Path, id: &str, changes: &[String], as_json: bool) -> Result<Exit, Fatal> {
    output::set_json(as_json);
    root::require(root)?;
    let changes = changes
        .iter()
        .map(|c| wsprune::labels::LabelChange::parse(c))
        .collect::<Result<Vec<_>, _>>()?;
    let labels = wsprune::set_session_labels(root, id, &changes)?;
    if as_json {
        output::out(&format!("{}\n", json!({"session_id": id, "labels": labels})))?;
    } else {
        let text: String = labels.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        output::out(&text)?;
    }
    Ok(Exit::Ok)
}

pub fn touch(root: &Path, id: &str) -> Result<Exit, Fatal> {
    root::require(root)?;
    warn_touch(id, &wsprune::touch_session(root, id)?);
    Ok(Exit::Ok)
}

pub fn rm(
    root: &Path,
    id: &str,
    wait: Option<Duration>,
    as_json: bool,
    single_host: bool,
    force: bool,
) -> Result<Exit, Fatal> {
    output::set_json(as_json);
    root::require(root)?;
    crate::shared_fs::warn_if_declared(root, single_host);
    let opts = wsprune::DeleteOptions {
        wait,
        single_host,
        force,
    };
    let bytes = wsprune::delete_session_with(root, id, &opts).map_err(|e| {
        let mut f = Fatal::from(e.clone());
        if e.status() == Status::Busy && wait.is_none() {
            f.message.push_str(" (--wait DURATION waits for it)");
        }
        f
    })?;
    if as_json {
        output::out(&format!("{}\n", json!({"session_id": id, "reclaimed_bytes": bytes})))?;
    } else {
        output::out(&format!("Deleted {}, reclaimed {}\n", escape(id), format_bytes(bytes)))?;
    }
    Ok(Exit::Ok)
}

/// `wsprune pin`: pins the session (until `until`, if given).
pub fn pin(root: &Path, id: &str, until: Option<DateTime<Utc>>) -> Result<Exit, Fatal> {
    root::require(root)?;
    wsprune::pin_session(root, id, until)?;
    match until {
        Some(t) => output::out(&format!("pinned {} until {}\n", escape(id), format_time(t)))?,
        None => output::out(&format!("pinned {}\n", escape(id)))?,
    }
    Ok(Exit::Ok)
}

/// `wsprune unpin`.
pub fn unpin(root: &Path, id: &str) -> Result<Exit, Fatal> {
    root::require(root)?;
    wsprune::unpin_session(root, id)?;
    output::out(&format!("unpinned {}\n", escape(id)))?;
    Ok(Exit::Ok)
}

/// `wsprune ttl`: replaces the session's own TTL (`ttl` with neither field: `--clear`).
pub fn ttl(root: &Path, id: &str, ttl: &wsprune::Ttl) -> Result<Exit, Fatal> {
    root::require(root)?;
    wsprune::set_session_ttl(root, id, ttl)?;
    let mut parts = Vec::new();
    if let Some(d) = ttl.idle {
        // What the record holds (whole seconds: the core refused a fraction).
        let secs = d.as_secs();
        let age = format_age(secs as f64 / 3600.0);
        let exact = parse_duration(&age).is_ok_and(|p| p.as_secs() == secs);
        parts.push(if exact {
            format!("idle TTL {age}")
        } else {
            format!("idle TTL {secs}s")
        });
    }
    if let Some(t) = ttl.expires_at {
        parts.push(format!("expires at {}", format_time(t)));
    }
    if parts.is_empty() {
        parts.push("no TTL".to_owned());
    }
    output::out(&format!("{}: {}\n", escape(id), parts.join(", ")))?;
    Ok(Exit::Ok)
}

pub fn info(root: &Path, id: &str, as_json: bool) -> Result<Exit, Fatal> {
    output::set_json(as_json);
    root::require(root)?;
    let s = wsprune::session_info(root, id)?;
    let now = Utc::now();
    if as_json {
        output::out(&format!("{}\n", s.to_json(now)))?;
        return Ok(Exit::Ok);
    }
    let mut out = String::new();
    let time = |t: Option<chrono::DateTime<Utc>>| t.map_or("-".to_owned(), format_time);
    let _ = writeln!(out, "session    {}", escape(&s.session_id));
    let _ = writeln!(out, "state      {}", state_text(&s));
    let _ = writeln!(out, "created    {}", time(s.created_at));
    match s.age_hours(now) {
        Some(h) => {
            let _ = writeln!(out, "last used  {} ({} ago)", time(s.updated_at), format_age(h));
        }
        None => {
            let _ = writeln!(out, "last used  -");
        }
    }
    let _ = writeln!(
        out,
        "size       {} ({} bytes)",
        format_bytes(s.size_bytes),
        s.size_bytes
    );
    let labels = match &s.labels {
        Some(l) if l.is_empty() => "-".to_owned(),
        Some(l) => l.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
        None => "unknown".to_owned(),
    };
    let _ = writeln!(out, "labels     {labels}");
    let r = &s.retention;
    if r.pin_holds(now) {
        let until = r
            .pinned_until
            .map_or_else(|| "until unpinned".to_owned(), |t| format!("until {}", format_time(t)));
        let _ = writeln!(out, "pinned     {until}");
    }
    if let Some(deadline) = s.ttl_deadline() {
        let mut ttl = Vec::new();
        if let Some(secs) = r.idle_ttl_seconds {
            ttl.push(format!("idle {}", format_age(secs as f64 / 3600.0)));
        }
        if let Some(at) = r.expires_at {
            ttl.push(format!("expires at {}", format_time(at)));
        }
        let _ = writeln!(
            out,
            "ttl        {}: passes at {}",
            ttl.join(", "),
            format_time(deadline)
        );
    }
    if let Some(p) = &s.problem {
        let _ = writeln!(out, "problem    {}", escape(p));
    }
    output::out(&out)?;
    Ok(Exit::Ok)
}
