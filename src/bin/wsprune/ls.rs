//! `wsprune ls`: the sessions of a root as a table or a JSON array.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use clap::{Args, ValueEnum};
use serde_json::Value;
use wsprune::escape::escape;
use wsprune::result::format_bytes;
use wsprune::{SessionInfo, SessionState};

use crate::exit::{Exit, Fatal};
use crate::output;
use crate::root;
use crate::units::{format_age, format_time, hours, parse_duration, plural};

pub const AFTER_HELP: &str = "\
Times are UTC. AGE is the time since last use. STATE is ok, legacy (no
metadata), corrupted or unreadable (the session could not be read, e.g. no
permission: its size is unknown, shown as ?), with \", in use\" while a lease
is held. Session ids a guest chose are escaped (\\n, \\u{200b}, ...).
--json prints an array of objects: session_id, created_at and
updated_at (RFC 3339 UTC strings, or null), age_hours (number, or null;
negative if updated_at is in the future), size_bytes (number, or null when
unknown), state (ok | legacy | corrupted | unreadable), in_use (bool), problem
(string, or null), labels (an object of strings from the session's host-owned
record, or null when they cannot be read). Unreadable sessions are counted in
the totals line, and make the exit status 1 with a warning on stderr.

--label SELECTOR lists only the sessions whose labels match (owner=alice,
tier!=pro, gpu, !spot; comma-separated or repeated: all must hold; a session
whose labels cannot be read matches none). --by KEY prints, instead of the
sessions, one line per value of label KEY: how many sessions and how many
bytes (sessions without the label under \"-\"); with --json, an object
{by, groups: [{value (null: without the label), sessions, size_bytes,
unknown_sizes}]} (docs/schemas/ls-by.schema.json).

--expiring-within DURATION lists only the sessions a prune would delete
within that window (a dry run as of now + DURATION: the look-ahead), by the
age rule (--older-than, default 24h; --no-age-rule) and the sessions' own
TTLs and pins, with a RULE column (JSON: an \"expiring_rule\" field). Sizes
and free space are not projected, so capacity rules are not among them.";

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Workspace root
    pub root: PathBuf,
    /// Print a JSON array of objects instead of a table
    #[arg(long)]
    pub json: bool,
    /// Order: age (least recently used first; unknown ages last), size (largest first) or id
    #[arg(long, value_enum, default_value_t = SortKey::Age)]
    pub sort: SortKey,
    /// Reverse the order
    #[arg(short, long)]
    pub reverse: bool,
    /// List only sessions whose labels match SELECTOR, e.g. owner=alice, tier!=pro, gpu, !spot
    #[arg(short = 'l', long = "label", value_name = "SELECTOR")]
    pub label: Vec<String>,
    /// Sessions and bytes per value of label KEY (e.g. owner), instead of the sessions
    #[arg(long, value_name = "KEY", conflicts_with_all = ["sort", "reverse"])]
    pub by: Option<String>,
    /// List only the sessions a prune would delete within DURATION (age rule and own TTLs), e.g. 1h
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub expiring_within: Option<Duration>,
    /// With --expiring-within: the age rule's threshold [default: 24h]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "expiring_within")]
    pub older_than: Option<Duration>,
    /// With --expiring-within: no age rule (only the sessions' own TTLs)
    #[arg(long, requires = "expiring_within", conflicts_with = "older_than")]
    pub no_age_rule: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Age,
    Size,
    Id,
}

pub fn state_text(s: &SessionInfo) -> String {
    if s.in_use {
        format!("{}, in use", s.state.as_str())
    } else {
        s.state.as_str().to_owned()
    }
}

pub fn run(a: LsArgs) -> Result<Exit, Fatal> {
    output::set_json(a.json);
    root::require(&a.root)?;
    let selector = crate::rules::selector(&a.label)?;
    if let Some(key) = &a.by {
        wsprune::labels::validate_key(key)?;
    }
    let mut sessions = wsprune::list_sessions(&a.root, 0)?;
    if let Some(sel) = &selector {
        sessions.retain(|s| s.labels.as_ref().is_some_and(|l| sel.matches(l)));
    }
    let now = Utc::now();
    let expiring = match a.expiring_within {
        Some(within) => {
            let rules = expiring(&a, now, within)?;
            sessions.retain(|s| rules.contains_key(&s.session_id));
            Some(rules)
        }
        None => None,
    };
    if let Some(key) = &a.by {
        return by_label(&sessions, key, a.json);
    }
    match a.sort {
        // Least recently used first; sessions with no known age (legacy, corrupted) last.
        SortKey::Age => sessions.sort_by(|x, y| {
            (x.updated_at.is_none(), x.updated_at, &x.session_id).cmp(&(
                y.updated_at.is_none(),
                y.updated_at,
                &y.session_id,
            ))
        }),
        // Largest first; unknown sizes last.
        SortKey::Size => sessions.sort_by(|x, y| {
            (x.known_size().is_none(), Reverse(x.known_size()), &x.session_id).cmp(&(
                y.known_size().is_none(),
                Reverse(y.known_size()),
                &y.session_id,
            ))
        }),
        SortKey::Id => sessions.sort_by(|x, y| x.session_id.cmp(&y.session_id)),
    }
    if a.reverse {
        sessions.reverse();
    }
    let unreadable = sessions.iter().filter(|s| s.state == SessionState::Unreadable).count();
    if a.json {
        let arr: Vec<Value> = sessions
            .iter()
            .map(|s| {
                let mut v = s.to_json(now);
                if let Some(rules) = &expiring {
                    v["expiring_rule"] = Value::from(rules[&s.session_id].as_str());
                }
                v
            })
            .collect();
        output::out(&format!("{}\n", Value::Array(arr)))?;
        return Ok(warn_unreadable(unreadable, "\"problem\" in the output"));
    }
    let dash = || "-".to_owned();
    let mut rows = vec![[
        "SESSION ID".to_owned(),
        "CREATED".into(),
        "LAST USED".into(),
        "AGE".into(),
        "SIZE".into(),
        "STATE".into(),
    ]];
    for s in &sessions {
        let state = state_text(s);
        rows.push([
            escape(&s.session_id).into_owned(),
            s.created_at.map_or_else(dash, format_time),
            s.updated_at.map_or_else(dash, format_time),
            s.age_hours(now).map_or_else(dash, format_age),
            s.known_size().map_or_else(|| "?".to_owned(), format_bytes),
            state,
        ]);
    }
    // With --expiring-within, a RULE column after STATE.
    let rule_column: Option<Vec<&str>> = expiring.as_ref().map(|rules| {
        std::iter::once("RULE")
            .chain(sessions.iter().map(|s| rules[&s.session_id].as_str()))
            .collect()
    });
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let [id, created, used, age, size, state] = row;
        let [wi, wc, wu, wa, ws, wst] = widths;
        let mut line = format!("{id:<wi$}  {created:<wc$}  {used:<wu$}  {age:>wa$}  {size:>ws$}  {state:<wst$}");
        if let Some(rule) = rule_column.as_ref().map(|c| c[i]) {
            let _ = write!(line, "  {rule}");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let total: u64 = sessions.iter().filter_map(SessionInfo::known_size).sum();
    let count = |f: &dyn Fn(&SessionInfo) -> bool| sessions.iter().filter(|s| f(s)).count();
    let notes: Vec<String> = [
        (count(&|s| s.state == SessionState::Legacy), "legacy"),
        (count(&|s| s.state == SessionState::Corrupted), "corrupted"),
        (count(&|s| s.in_use), "in use"),
        (unreadable, "unreadable, size unknown"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let _ = write!(
        out,
        "{}, {} total",
        plural(sessions.len(), "session"),
        format_bytes(total)
    );
    if !notes.is_empty() {
        let _ = write!(out, " ({})", notes.join(", "));
    }
    out.push('\n');
    output::out(&out)?;
    Ok(warn_unreadable(
        unreadable,
        "`wsprune info ROOT ID` or `ls --json` tells why",
    ))
}

/// What `--by KEY` counts for one value of the label.
#[derive(Default)]
struct Group {
    sessions: u64,
    bytes: u64,
    unknown_sizes: u64,
}

/// `ls --by KEY`: sessions and bytes per value of label KEY, sorted by value
/// (sessions without the label last, as `-` or JSON null).
fn by_label(sessions: &[SessionInfo], key: &str, as_json: bool) -> Result<Exit, Fatal> {
    let mut groups: BTreeMap<Option<&str>, Group> = BTreeMap::new();
    for s in sessions {
        let value = s.labels.as_ref().and_then(|l| l.get(key)).map(String::as_str);
        let g = groups.entry(value).or_default();
        g.sessions += 1;
        match s.known_size() {
            Some(b) => g.bytes += b,
            None => g.unknown_sizes += 1,
        }
    }
    // BTreeMap orders None first: sessions without the label go last.
    let ordered: Vec<(Option<&str>, &Group)> = groups
        .iter()
        .filter(|(v, _)| v.is_some())
        .chain(groups.iter().filter(|(v, _)| v.is_none()))
        .map(|(v, g)| (*v, g))
        .collect();
    let unreadable = sessions.iter().filter(|s| s.state == SessionState::Unreadable).count();
    if as_json {
        let groups: Vec<Value> = ordered
            .iter()
            .map(|(v, g)| {
                serde_json::json!({"value": v, "sessions": g.sessions, "size_bytes": g.bytes, "unknown_sizes": g.unknown_sizes})
            })
            .collect();
        output::out(&format!("{}\n", serde_json::json!({"by": key, "groups": groups})))?;
        return Ok(warn_unreadable(unreadable, "\"unknown_sizes\" in the output"));
    }
    let mut rows = vec![[key.to_uppercase(), "SESSIONS".to_owned(), "SIZE".to_owned()]];
    for (v, g) in &ordered {
        let size = if g.unknown_sizes > 0 {
            format!("{} (+{} unknown)", format_bytes(g.bytes), g.unknown_sizes)
        } else {
            format_bytes(g.bytes)
        };
        rows.push([
            v.map_or("-".to_owned(), |v| escape(v).into_owned()),
            g.sessions.to_string(),
            size,
        ]);
    }
    let mut widths = [0usize; 3];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for [value, n, size] in &rows {
        let [wv, wn, _] = widths;
        let _ = writeln!(out, "{}", format!("{value:<wv$}  {n:>wn$}  {size}").trim_end());
    }
    let total: u64 = ordered.iter().map(|(_, g)| g.bytes).sum();
    let _ = writeln!(
        out,
        "{}, {} total, {} of {key}",
        plural(sessions.len(), "session"),
        format_bytes(total),
        plural(ordered.iter().filter(|(v, _)| v.is_some()).count(), "value")
    );
    output::out(&out)?;
    Ok(warn_unreadable(unreadable, "`ls --json` tells why"))
}

/// The sessions a prune as of `now + within` would delete (a dry run: the
/// look-ahead), each with its rule: the age rule of `a` and the sessions'
/// own TTLs and pins.
fn expiring(a: &LsArgs, now: chrono::DateTime<Utc>, within: Duration) -> Result<BTreeMap<String, String>, Fatal> {
    let at = chrono::Duration::from_std(within)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(|| Fatal::new(Exit::Usage, "--expiring-within: too far in the future"))?;
    let defaults = wsprune::PruneOptions::default();
    let opts = wsprune::PruneOptions {
        older_than_hours: match a.older_than {
            _ if a.no_age_rule => None,
            Some(d) => Some(hours(d)),
            None => defaults.older_than_hours,
        },
        dry_run: true,
        as_of: Some(at),
        ..defaults
    };
    let r = wsprune::prune_sessions(&a.root, &opts)?;
    Ok(r.deleted_sessions
        .iter()
        .zip(&r.deleted_rules)
        .map(|(id, rule)| (id.clone(), rule.as_str().to_owned()))
        .collect())
}

/// Unreadable sessions are not a silent success: a warning on stderr and exit status 1.
fn warn_unreadable(n: usize, see: &str) -> Exit {
    if n == 0 {
        return Exit::Ok;
    }
    output::warning(&format!(
        "{} could not be read (unreadable, size unknown; {see})",
        plural(n, "session")
    ));
    Exit::SomeFailed
}
