//! Prometheus metrics: `wsprune metrics ROOT` prints a root's statistics in
//! the Prometheus text format; `wsprune prune --metrics-file FILE` (and any
//! other long-running caller, through [`write_file`]) writes them with the
//! last prune's outcome, atomically, for node_exporter's textfile collector.
//!
//! Names, labels and meanings are listed once, in docs/metrics.md (the Go
//! and Python collectors use the same names). Encoded by the official Rust
//! client (`prometheus-client`), in the Prometheus text format 0.0.4: what
//! the textfile collector and promlint parse. Every sample carries a `root`
//! label (the root as given) and no timestamp; units are base units.
//!
//! The last prune's figures are gauges (Prometheus' advice for batch jobs:
//! the last run's outcome and when it last succeeded), never counters that
//! would have to be carried from run to run. The one figure that is carried
//! is the last success's time: read back from the file being replaced (the
//! sample with the same `root`), so a failed run keeps it and a lost file
//! loses it (the sample is then absent until the next success).

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{prometheus_text, DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use wsprune::escape::escape;
use wsprune::result::SkipReason;
use wsprune::{workspace_stats, PruneResult, Rule, SessionState, StatsOptions, WorkspaceStats};

use crate::exit::{Exit, Fatal};
use crate::{output, root};

pub const AFTER_HELP: &str = "\
Prints the root's statistics (as `wsprune stats`) in the Prometheus text
format: sessions by state, leased sessions, sessions per idle-time bucket,
the oldest idle time, the filesystem's size, available bytes and inodes
(with --sizes also the sessions' bytes, a walk of every session). Every
sample has a `root` label, the root as given. Names and meanings:
docs/metrics.md. `wsprune prune --metrics-file FILE` writes the same with
the prune's outcome, for node_exporter's textfile collector.";

#[derive(Args, Debug)]
pub struct MetricsArgs {
    /// Workspace root
    pub root: PathBuf,
    /// Also walk every session to sum its size (costs what `wsprune ls` costs)
    #[arg(long)]
    pub sizes: bool,
}

pub fn run(a: MetricsArgs) -> Result<Exit, Fatal> {
    let stats = crate::stats::gather(&a.root, a.sizes)?;
    output::out(&exposition(&a.root, Some(&stats), None))?;
    Ok(Exit::Ok)
}

/// One prune's outcome, as the metrics file reports it.
#[derive(Debug, Clone, Copy)]
pub struct PruneRun<'a> {
    /// The library's result; `None` when the prune failed before it had one
    /// (the root missing or not writable, another prune holding it, ...).
    pub result: Option<&'a PruneResult>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How long it ran.
    pub duration: Duration,
    /// Whether a signal stopped it before it was done.
    pub interrupted: bool,
}

impl PruneRun<'_> {
    /// A prune succeeds when it ran to its end and every session it chose
    /// was deleted. An unreached size or count target is not a failure (it
    /// has its own metric, wsprune_prune_last_unmet_targets).
    pub fn succeeded(&self) -> bool {
        !self.interrupted && self.result.is_some_and(|r| r.errors.is_empty())
    }
}

/// Writes the metrics of `root` after `run` to `path`, atomically (a
/// temporary file in the same directory, mode 0644, renamed over `path`),
/// so a scrape never reads half a file. The root's statistics are gathered
/// now, without the sizing walk; if they cannot be (the root is gone), the
/// file holds the prune's outcome alone. The last success's time is
/// `run`'s end if it succeeded, else what the file being replaced said.
pub fn write_file(path: &Path, root: &Path, run: &PruneRun<'_>) -> std::io::Result<()> {
    let stats = workspace_stats(root, &StatsOptions::default()).ok();
    let last_success = if run.succeeded() {
        Some(timestamp(run.finished_at))
    } else {
        previous_last_success(path, root)
    };
    let text = exposition(root, stats.as_ref(), Some((run, last_success)));
    replace(path, text.as_bytes())
}

/// The exposition: the statistics (if any), then the prune's outcome (if
/// any) with the last success's time (if one is known).
pub fn exposition(root: &Path, stats: Option<&WorkspaceStats>, prune: Option<(&PruneRun<'_>, Option<f64>)>) -> String {
    let mut families = Families::default();
    if let Some(s) = stats {
        stats_families(&mut families, s);
    }
    if let Some((run, last_success)) = prune {
        prune_families(&mut families, run, last_success);
    }
    encode(root, families)
}

/// The text of `families`, each sample labelled with `root`.
fn encode(root: &Path, families: Families) -> String {
    let label = root.to_string_lossy().into_owned();
    let mut registry = Registry::with_prefix_and_labels("wsprune", [("root".into(), label.into())].into_iter());
    registry.register_collector(Box::new(families));
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry).expect("writing to a String cannot fail");
    text
}

/// A sample's value: a whole number (a count, bytes) or seconds.
#[derive(Debug, Clone, Copy)]
enum Value {
    Count(u64),
    Seconds(f64),
}

impl Value {
    fn encode(self, sample: MetricEncoder<'_>) -> std::fmt::Result {
        match self {
            Value::Count(n) => ConstGauge::new(n).encode(sample),
            Value::Seconds(s) => ConstGauge::new(s).encode(sample),
        }
    }
}

/// One gauge family: its name (after `wsprune_`, before the unit), help,
/// unit, and samples, each with a value of its one label (if it has one).
#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    unit: Option<Unit>,
    label: Option<&'static str>,
    samples: Vec<(String, Value)>,
}

/// The families of one exposition, written in the order they were added
/// and their samples in the order given (a registry's own families would
/// order labelled samples by hash, differently in every run).
#[derive(Debug, Default)]
struct Families(Vec<Family>);

impl Families {
    /// A family with one sample and no label of its own.
    fn one(&mut self, name: &'static str, help: &'static str, unit: Option<Unit>, v: Value) {
        self.0.push(Family {
            name,
            help,
            unit,
            label: None,
            samples: vec![(String::new(), v)],
        });
    }

    /// A family with one sample per value of `label`.
    fn by(
        &mut self,
        name: &'static str,
        help: &'static str,
        unit: Option<Unit>,
        label: &'static str,
        samples: impl IntoIterator<Item = (String, Value)>,
    ) {
        self.0.push(Family {
            name,
            help,
            unit,
            label: Some(label),
            samples: samples.into_iter().collect(),
        });
    }
}

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        for f in &self.0 {
            let mut metric = encoder.encode_descriptor(f.name, f.help, f.unit.as_ref(), MetricType::Gauge)?;
            let Some(label) = f.label else {
                if let Some((_, v)) = f.samples.first() {
                    v.encode(metric)?;
                }
                continue;
            };
            for (label_value, v) in &f.samples {
                v.encode(metric.encode_family(&[(label, label_value.as_str())])?)?;
            }
        }
        Ok(())
    }
}

/// The idle-time bucket's label value: its upper bound in seconds, `+Inf`
/// for the last (as Prometheus writes an infinite bound).
fn upper_label(upper_seconds: f64) -> String {
    if upper_seconds.is_finite() {
        format!("{upper_seconds}")
    } else {
        "+Inf".to_owned()
    }
}

fn stats_families(m: &mut Families, s: &WorkspaceStats) {
    use Value::{Count, Seconds};
    let states = [
        SessionState::Ok,
        SessionState::Legacy,
        SessionState::Corrupted,
        SessionState::Unreadable,
    ];
    m.by(
        "sessions",
        "Sessions in the workspace root, by state (ok, legacy, corrupted, unreadable)",
        None,
        "state",
        states.map(|st| (st.as_str().to_owned(), Count(s.in_state(st)))),
    );
    m.one(
        "sessions_leased",
        "Sessions leased (or being deleted) now",
        None,
        Count(s.leased),
    );
    if let Some(total) = s.total_bytes {
        m.one(
            "sessions",
            "Bytes the sessions take (allocated blocks)",
            Some(Unit::Bytes),
            Count(total),
        );
    }
    m.by(
        "idle_sessions",
        "Sessions with a known last use, by idle time: more than the previous bucket's upper_seconds, at most this one's",
        None,
        "upper_seconds",
        s.idle.iter().map(|b| (upper_label(b.upper_seconds), Count(b.sessions))),
    );
    if s.total_bytes.is_some() {
        m.by(
            "idle_sessions",
            "Bytes of the sessions in each idle-time bucket of wsprune_idle_sessions",
            Some(Unit::Bytes),
            "upper_seconds",
            s.idle
                .iter()
                .map(|b| (upper_label(b.upper_seconds), Count(b.bytes.unwrap_or(0)))),
        );
    }
    if let Some(oldest) = s.oldest_idle_seconds {
        m.one(
            "oldest_idle",
            "Idle time of the least recently used session with a known last use",
            Some(Unit::Seconds),
            Seconds(oldest),
        );
    }
    let f = &s.filesystem;
    m.one(
        "filesystem_size",
        "Size of the root's filesystem",
        Some(Unit::Bytes),
        Count(f.size_bytes),
    );
    m.one(
        "filesystem_avail",
        "Bytes available to unprivileged users on the root's filesystem",
        Some(Unit::Bytes),
        Count(f.available_bytes),
    );
    m.one(
        "filesystem_files",
        "Inodes of the root's filesystem",
        None,
        Count(f.inodes),
    );
    m.one(
        "filesystem_files_free",
        "Free inodes of the root's filesystem",
        None,
        Count(f.free_inodes),
    );
}

/// Every rule a prune deletes by (Interrupted is no longer produced).
const RULES: [Rule; 9] = [
    Rule::OlderThan,
    Rule::MaxTotalBytes,
    Rule::MaxSessions,
    Rule::MinFreeBytes,
    Rule::Watermark,
    Rule::InodeWatermark,
    Rule::MaxSessionsPerOwner,
    Rule::MaxBytesPerOwner,
    Rule::Ttl,
];
/// Every reason a prune leaves a session in place.
const SKIP_REASONS: [SkipReason; 5] = [
    SkipReason::MissingMetadata,
    SkipReason::CorruptedMetadata,
    SkipReason::CorruptedTimestamp,
    SkipReason::InUse,
    SkipReason::Pinned,
];

/// Whether `rule` has a target a prune can leave unmet (all but the age
/// rule). Exhaustive, with [`every_reason_listed`]: a rule or reason added
/// to the library fails to compile here until it is in the lists above
/// (each label value is always written, 0 included, so that a series does
/// not vanish in a run that had none).
fn has_target(rule: Rule) -> bool {
    match rule {
        Rule::OlderThan | Rule::Interrupted | Rule::Ttl => false,
        Rule::MaxTotalBytes
        | Rule::MaxSessions
        | Rule::MinFreeBytes
        | Rule::Watermark
        | Rule::InodeWatermark
        | Rule::MaxSessionsPerOwner
        | Rule::MaxBytesPerOwner => true,
    }
}

#[allow(dead_code)]
fn every_reason_listed(s: SkipReason) {
    match s {
        SkipReason::MissingMetadata
        | SkipReason::CorruptedMetadata
        | SkipReason::CorruptedTimestamp
        | SkipReason::InUse
        | SkipReason::Pinned => {}
    }
}

fn prune_families(m: &mut Families, run: &PruneRun<'_>, last_success: Option<f64>) {
    use Value::{Count, Seconds};
    m.one(
        "prune_last_run_timestamp",
        "When the last prune ended, in seconds since the epoch",
        Some(Unit::Seconds),
        Seconds(timestamp(run.finished_at)),
    );
    if let Some(t) = last_success {
        m.one(
            "prune_last_success_timestamp",
            "When the last successful prune ended, in seconds since the epoch",
            Some(Unit::Seconds),
            Seconds(t),
        );
    }
    m.one(
        "prune_last_success",
        "Whether the last prune succeeded (ran to its end, no session failed): 1 or 0",
        None,
        Count(u64::from(run.succeeded())),
    );
    m.one(
        "prune_last_duration",
        "How long the last prune ran",
        Some(Unit::Seconds),
        Seconds(run.duration.as_secs_f64()),
    );
    let Some(res) = run.result else {
        return; // it failed before it had a result: nothing more to say
    };
    m.by(
        "prune_last_deleted_sessions",
        "Sessions the last prune deleted, by the rule that selected them",
        None,
        "rule",
        RULES.map(|rule| {
            let n = res.deleted_rules.iter().filter(|&&d| d == rule).count();
            (rule.as_str().to_owned(), Count(n as u64))
        }),
    );
    m.one(
        "prune_last_reclaimed",
        "Bytes the last prune reclaimed (allocated blocks of what it deleted)",
        Some(Unit::Bytes),
        Count(res.reclaimed_bytes),
    );
    m.one(
        "prune_last_errors",
        "Sessions the last prune could not delete",
        None,
        Count(res.errors.len() as u64),
    );
    m.by(
        "prune_last_skipped_sessions",
        "Sessions the last prune left in place, by reason",
        None,
        "reason",
        SKIP_REASONS.map(|reason| {
            let n = res.skipped_sessions.iter().filter(|s| s.reason == reason).count();
            (reason.as_str().to_owned(), Count(n as u64))
        }),
    );
    m.by(
        "prune_last_unmet_targets",
        "Whether the last prune left a capacity rule's target (size, count, free space, watermark, per owner) unmet: 1 or 0",
        None,
        "rule",
        RULES.into_iter().filter(|&rule| has_target(rule)).map(|rule| {
            let unmet = res.unmet_targets.contains(&rule);
            (rule.as_str().to_owned(), Count(u64::from(unmet)))
        }),
    );
}

/// Seconds since the epoch, with microseconds.
fn timestamp(t: DateTime<Utc>) -> f64 {
    t.timestamp_micros() as f64 / 1e6
}

/// The last success's time the file at `path` holds for `root` (the
/// sample this module writes, recognised by its exact label text), if any.
fn previous_last_success(path: &Path, root: &Path) -> Option<f64> {
    const LIMIT: u64 = 1 << 20; // our files are a few KiB; read no more than this
                                // Never block on a FIFO planted there, nor read a device: only a
                                // regular file (not followed if a symlink: the write replaces the link).
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.file_type().is_file() {
        return None;
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(file, LIMIT), &mut text).ok()?;
    // The sample as this module writes it for `root`, with the value cut off.
    let mut probe = Families::default();
    probe.one("prune_last_success_timestamp", "", Some(Unit::Seconds), Value::Count(0));
    let probe = encode(root, probe);
    let sample = probe.lines().find(|l| !l.starts_with('#'))?;
    let prefix = sample.strip_suffix('0')?;
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

/// Puts `bytes` at `path` atomically: a new file beside it (same
/// directory, so the rename cannot cross filesystems), mode 0644 whatever
/// the umask, synced, then renamed over `path`. What is at `path` must be a
/// regular file or a symlink (replaced, not followed): a device, a FIFO or a
/// directory there is refused, never replaced (`--metrics-file /dev/null`).
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() && !m.file_type().is_symlink() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it exists and is not a regular file",
            ))
        }
        _ => {}
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the metrics file has no file name"))?;
    // A dot name that does not end in .prom: the textfile collector skips it.
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    // Created here or not at all: whatever else has this name (a link
    // someone planted) is neither followed nor, on failure, removed.
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)?;
    let written = (|| {
        f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// [`write_file`] for a command: a failure is one error line naming the
/// file; the command's exit status becomes 74 if it was 0, so a cron job
/// whose metrics are not written does not pass for a good run.
pub fn write_or_report(path: &Path, root: &Path, run: &PruneRun<'_>, exit: Exit) -> Exit {
    match write_file(path, root, run) {
        Ok(()) => exit,
        Err(e) => {
            output::error(&format!(
                "cannot write the metrics file {}: {}",
                root::shown(path),
                escape(&e.to_string())
            ));
            if exit == Exit::Ok {
                Exit::IoErr
            } else {
                exit
            }
        }
    }
}
