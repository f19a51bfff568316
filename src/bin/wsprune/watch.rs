//! `wsprune watch`: one node's long-running pruner. Each interval one
//! statfs of the root's filesystem; a reached high watermark (or free space
//! under `--min-free`) starts a capacity prune down to the low mark at once;
//! the age rule (with the size and count rules) runs every `--age-every`;
//! systemd readiness and watchdog; SIGTERM/SIGINT finish the session under
//! way and exit 0.

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use sd_notify::NotifyState;
use wsprune::result::format_bytes;
use wsprune::{FsUsage, PruneControl, PruneOptions, PruneResult, Rule, Status};

use crate::exit::{Exit, Fatal};
use crate::output::{self, Priority};
use crate::prune::EventFormat;
use crate::rules::RuleArgs;
use crate::units::{format_interval, parse_interval};
use crate::{metrics, root, signals};

pub const AFTER_HELP: &str = "\
Each --interval, one statfs of ROOT's filesystem: when a high watermark is
reached (--high-watermark, --high-inode-watermark), or less than --min-free is
available, a capacity prune runs at once (the age rule off), evicting the
least recently used sessions down to the low watermark. The age rule runs with
the size and count rules every --age-every, the first time at start. The
rules are prune's (wsprune prune --help), and so are the floors: leases, --min-age
(default 1h), --max-deletions per pass. Below the high watermark a check costs
one statfs and nothing else.

One line per pass on stdout (`ROOT: watermark pass at 86.1% used: Pruned ...`);
errors and unreached targets on stderr; a pass that fails (another prune holds
the root: busy) is retried at the next check. As a systemd Type=notify service
it reports readiness after its checks, its last pass as STATUS, and pings the
watchdog (WatchdogSec=) while it waits and while it deletes.

SIGTERM or SIGINT: the sessions being deleted are finished, no other is
started, and watch exits 0. A second signal ends it at once.

A root on NFS, SMB, 9p or FUSE is refused at start (exit 64) unless
--single-host declares that no other host uses it. The root's filesystem is
read through the directory opened at start: mount the root before starting
watch (systemd: RequiresMountsFor=).";

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Workspace root (the directory holding one directory per session)
    pub root: PathBuf,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// How often to read the filesystem's usage (one statfs), at least 100ms
    #[arg(long, value_name = "DURATION", value_parser = parse_interval, default_value = "10s")]
    pub interval: Duration,
    /// How often the age rule (with the size and count rules) runs, the first time at start
    #[arg(long, value_name = "DURATION", value_parser = parse_interval, default_value = "15m")]
    pub age_every: Duration,
    /// After every pass, write the root's metrics and the pass's outcome to FILE (Prometheus
    /// text format, replaced atomically; for node_exporter's textfile collector)
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
    /// Stream the library's events to stderr as they happen, one JSON object a line
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub events: Option<EventFormat>,
}

/// What started a pass.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pass {
    /// The periodic pass: every rule as given.
    Age,
    /// A reached watermark, or free space under --min-free: the capacity rules alone.
    Pressure(&'static str),
}

impl Pass {
    fn name(self) -> &'static str {
        match self {
            Pass::Age => "age",
            Pass::Pressure(why) => why,
        }
    }
}

/// systemd's watchdog: pinged at most every half of `WATCHDOG_USEC`, from
/// the wait and from the prune's per-session hook.
struct Watchdog {
    every: Option<Duration>,
    start: Instant,
    /// Milliseconds since `start` of the last ping.
    last: AtomicU64,
}

impl Watchdog {
    fn from_env() -> Watchdog {
        Watchdog {
            every: sd_notify::watchdog_enabled().map(|d| d / 2),
            start: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    fn ping_if_due(&self) {
        let Some(every) = self.every else { return };
        let now = self.start.elapsed().as_millis() as u64;
        if now.saturating_sub(self.last.load(Ordering::Relaxed)) >= every.as_millis() as u64 {
            self.last.store(now, Ordering::Relaxed);
            let _ = sd_notify::notify(&[NotifyState::Watchdog]);
        }
    }

    /// The longest the wait may sleep between checks for a signal and pings.
    fn step(&self) -> Duration {
        // A signal usually interrupts the sleep at once; the step bounds the
        // delay when it arrives just before the sleep begins.
        self.every.unwrap_or(Duration::MAX).min(Duration::from_secs(1))
    }
}

struct Watch {
    args: WatchArgs,
    /// The root, open: each check is one fstatvfs of it.
    dir: std::fs::File,
    all_rules: PruneOptions,
    capacity_rules: PruneOptions,
    control: PruneControl,
    watchdog: Arc<Watchdog>,
}

pub fn run(args: WatchArgs) -> Result<Exit, Fatal> {
    root::require(&args.root)?;
    let all_rules = args.rules.options(false)?;
    let capacity_rules = PruneOptions {
        older_than_hours: None,
        ..all_rules.clone()
    };
    root::require_writable(&args.root, "nothing would be pruned")?;
    wsprune::shared_fs::check_root_path(&args.root, args.rules.single_host, "watch")?;
    crate::shared_fs::warn_if_declared(&args.root, args.rules.single_host);
    let dir = std::fs::File::open(&args.root)
        .map_err(|e| Fatal::new(Exit::IoErr, format!("cannot open {}: {e}", root::shown(&args.root))))?;
    let watchdog = Arc::new(Watchdog::from_env());
    let control = PruneControl {
        cancel: Some(signals::install()),
        on_record: Some(Arc::new({
            let watchdog = watchdog.clone();
            move |_: &wsprune::Record| watchdog.ping_if_due()
        })),
    };
    let _events = args.events.map(|_| crate::events::Streaming::install());
    let mut w = Watch {
        args,
        dir,
        all_rules,
        capacity_rules,
        control,
        watchdog,
    };
    w.notify_ready();
    w.run()
}

impl Watch {
    fn notify_ready(&self) {
        let status = format!(
            "watching {} every {}; age rule every {}",
            root::shown(&self.args.root),
            format_interval(self.args.interval),
            format_interval(self.args.age_every)
        );
        let _ = sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
    }

    /// The loop: an age pass at once, then a check each interval, until a signal.
    fn run(&mut self) -> Result<Exit, Fatal> {
        let mut next_age = Instant::now();
        let mut next_check = Instant::now();
        loop {
            let now = Instant::now();
            if now >= next_age {
                next_age = now + self.args.age_every;
                self.pass(Pass::Age, None)?;
            } else if now >= next_check {
                match FsUsage::of_fd(self.dir.as_fd()) {
                    Ok(usage) => {
                        if let Some(why) = pressure(&self.all_rules, &usage) {
                            self.pass(Pass::Pressure(why), Some(&usage))?;
                        }
                    }
                    Err(e) => output::warning(&format!("{}: {e}", root::shown(&self.args.root))),
                }
            }
            if now >= next_check {
                next_check = now + self.args.interval;
            }
            if signals::received().is_some() || !self.wait_until(next_check.min(next_age)) {
                return Ok(self.stopped());
            }
        }
    }

    /// Sleeps until `deadline`, pinging the watchdog; false once a signal came.
    fn wait_until(&self, deadline: Instant) -> bool {
        loop {
            if signals::received().is_some() {
                return false;
            }
            self.watchdog.ping_if_due();
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            sleep_interruptible((deadline - now).min(self.watchdog.step()));
        }
    }

    /// One prune; its line on stdout, its problems on stderr. Only a refusal
    /// that retrying cannot fix (the root became a shared filesystem) ends
    /// the watch.
    fn pass(&mut self, pass: Pass, usage: Option<&FsUsage>) -> Result<(), Fatal> {
        let opts = match pass {
            Pass::Age => &self.all_rules,
            Pass::Pressure(_) => &self.capacity_rules,
        };
        let shown = root::shown(&self.args.root);
        let clock = Instant::now();
        let outcome = wsprune::prune_sessions_with(&self.args.root, opts, &self.control);
        self.write_metrics(&outcome, clock.elapsed());
        match outcome {
            Ok(r) => {
                let at = usage.map_or(String::new(), |u| format!(" at {:.1}% used", u.used_percent()));
                let line = format!("{shown}: {} pass{at}: {}", pass.name(), r.summary());
                let _ = sd_notify::notify(&[NotifyState::Status(&line)]);
                let _ = output::out_with(Priority::Notice, &format!("{line}\n"));
                report_problems(&shown, &r);
                Ok(())
            }
            Err(e) if e.status() == Status::InvalidArgument => Err(e.into()),
            Err(e) => {
                output::error(&format!("{} pass of {shown} failed: {}", pass.name(), e.message()));
                Ok(())
            }
        }
    }

    /// With --metrics-file, the pass's outcome and the root's statistics,
    /// whatever the outcome; a file that cannot be written is reported and
    /// the watch goes on (the next pass tries again).
    fn write_metrics(&self, outcome: &wsprune::Result<PruneResult>, duration: Duration) {
        let Some(path) = &self.args.metrics_file else { return };
        let run = metrics::PruneRun {
            result: outcome.as_ref().ok(),
            finished_at: Utc::now(),
            duration,
            interrupted: signals::received().is_some(),
        };
        if let Err(e) = metrics::write_file(path, &self.args.root, &run) {
            output::error(&format!(
                "cannot write the metrics file {}: {}",
                root::shown(path),
                wsprune::escape::escape(&e.to_string())
            ));
        }
    }

    /// After a signal: tells systemd and stderr, and exits 0 (stopping is what was asked).
    fn stopped(&self) -> Exit {
        let _ = sd_notify::notify(&[NotifyState::Stopping]);
        let sig = signals::received().map_or("a signal".to_owned(), signals::name);
        output::say(
            Priority::Info,
            "stopped",
            &format!(
                "watch of {} ended by {sig}; the sessions under way were finished",
                root::shown(&self.args.root)
            ),
        );
        Exit::Ok
    }
}

/// Why the filesystem needs a capacity prune now, if it does: a reached high
/// watermark, or less available than `--min-free`.
fn pressure(o: &PruneOptions, u: &FsUsage) -> Option<&'static str> {
    let (bytes, inodes) = o.watermarks_crossed(u);
    if bytes {
        return Some("watermark");
    }
    if inodes {
        return Some("inode watermark");
    }
    let short_bytes = o.min_free_bytes.is_some_and(|b| u.available_bytes < b);
    let short_percent = o
        .min_free_percent
        .is_some_and(|p| (u.available_bytes as f64) < u.size_bytes as f64 * p / 100.0);
    (short_bytes || short_percent).then_some("min-free")
}

/// Failed sessions and unreached targets of a pass, on stderr.
fn report_problems(shown: &str, r: &PruneResult) {
    for (id, message) in &r.errors {
        output::error(&format!("{}: {message}", wsprune::escape::escape(id)));
    }
    for u in &r.unmet {
        let (target, actual) = match u.rule {
            Rule::MaxSessions | Rule::InodeWatermark => (u.target.to_string(), u.actual.to_string()),
            _ => (format_bytes(u.target), format_bytes(u.actual)),
        };
        output::say(
            Priority::Warning,
            "target not reached",
            &format!("{} in {shown} (target {target}, have {actual})", u.rule),
        );
    }
}

/// Sleeps for `d`, returning early when a signal arrives (`nanosleep`
/// returns EINTR; `std::thread::sleep` would sleep on).
fn sleep_interruptible(d: Duration) {
    let ts = libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `ts` is a valid timespec; no remainder is asked for.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}
