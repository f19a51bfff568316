//! The rules shared by `prune` and `watch`: the command-line options that
//! become the library's [`PruneOptions`], every default the library's
//! (docs/contract.md).

use std::time::Duration;

use clap::Args;
use wsprune::PruneOptions;

use crate::exit::{Exit, Fatal};
use crate::units::{
    hours, parse_cap_count, parse_cap_size, parse_duration, parse_free_target, parse_percent, FreeTarget,
};

/// Which sessions go, and how the library goes about it.
#[derive(Args, Debug, Clone)]
pub struct RuleArgs {
    /// Delete sessions not used for DURATION or more, e.g. 24h, 7d [default: 24h]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Option<Duration>,
    /// Turn the age rule off (prune by size or count rules alone)
    #[arg(long, conflicts_with = "older_than")]
    pub no_age_rule: bool,
    /// Run even with no rule at all (--no-age-rule alone): only leftover trash is finished
    #[arg(long)]
    pub allow_no_rule: bool,
    /// Evict least recently used sessions until all sessions total at most SIZE, e.g. 50G
    #[arg(long, value_name = "SIZE", value_parser = parse_cap_size)]
    pub max_total_size: Option<u64>,
    /// Keep at most N sessions (the most recently used)
    #[arg(long, value_name = "N", value_parser = parse_cap_count)]
    pub max_sessions: Option<u64>,
    /// Evict least recently used sessions until the filesystem has SIZE (e.g. 10G) or PERCENT
    /// of its size (e.g. 15%) available
    #[arg(long, value_name = "SIZE|PERCENT", value_parser = parse_free_target)]
    pub min_free: Option<FreeTarget>,
    /// Once the filesystem is PERCENT full (bytes), evict least recently used sessions down to
    /// --low-watermark, e.g. 85%; below it this rule does nothing
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub high_watermark: Option<f64>,
    /// What a crossed --high-watermark evicts down to, e.g. 80% [default: the high watermark]
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, requires = "high_watermark")]
    pub low_watermark: Option<f64>,
    /// As --high-watermark, for the filesystem's inodes
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub high_inode_watermark: Option<f64>,
    /// As --low-watermark, for the filesystem's inodes [default: the high inode watermark]
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, requires = "high_inode_watermark")]
    pub low_inode_watermark: Option<f64>,
    /// Delete at most N sessions in this run, the least recently used first
    #[arg(long, value_name = "N", value_parser = parse_cap_count)]
    pub max_deletions: Option<u64>,
    /// Size and count rules never evict a session used within DURATION (0: no floor) [default: 1h]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub min_age: Option<Duration>,
    /// Sessions handled in parallel, 1 to 64; 0 picks the default [default: 4 per core, 4 to 16]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=64))]
    pub jobs: Option<u16>,
    /// Wait up to DURATION for another prune of the same root to finish, then fail as busy
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub lock_timeout: Duration,
    /// Declare that no other host uses ROOT: prune a root on NFS, SMB, 9p or FUSE (refused
    /// without it: a lease there is kept by one host only) with a warning
    #[arg(long)]
    pub single_host: bool,
    /// Only sessions whose labels match SELECTOR are candidates for any rule, e.g.
    /// owner=alice, tier!=pro, gpu, !spot (comma-separated or repeated: all must hold)
    #[arg(short = 'l', long = "label", value_name = "SELECTOR")]
    pub label: Vec<String>,
    /// The label naming a session's owner, for the per-owner caps, e.g. owner
    #[arg(long, value_name = "KEY")]
    pub per_owner: Option<String>,
    /// Keep at most N sessions per owner (each owner's least recently used go first)
    #[arg(long, value_name = "N", value_parser = parse_cap_count, requires = "per_owner")]
    pub max_sessions_per_owner: Option<u64>,
    /// Evict each owner's least recently used sessions until its sessions total at most SIZE
    #[arg(long, value_name = "SIZE", value_parser = parse_cap_size, requires = "per_owner")]
    pub max_bytes_per_owner: Option<u64>,
}

impl RuleArgs {
    /// Whether a size, count, free-space or watermark rule is given.
    pub fn has_capacity_rule(&self) -> bool {
        self.max_total_size.is_some()
            || self.max_sessions.is_some()
            || self.min_free.is_some()
            || self.high_watermark.is_some()
            || self.high_inode_watermark.is_some()
            || self.max_sessions_per_owner.is_some()
            || self.max_bytes_per_owner.is_some()
    }

    /// The library's options, checked before anything runs (a low watermark
    /// above the high one, ...) as the library would check them.
    pub fn options(&self, dry_run: bool) -> Result<PruneOptions, Fatal> {
        if self.no_age_rule && !self.has_capacity_rule() && !self.allow_no_rule {
            return Err(Fatal::new(
                Exit::Usage,
                "no rule: --no-age-rule without --max-total-size, --max-sessions, --min-free or a watermark selects \
                 no session; add a rule, or --allow-no-rule to run anyway (it then only finishes leftover trash)",
            ));
        }
        let defaults = PruneOptions::default();
        let opts = PruneOptions {
            older_than_hours: match self.older_than {
                _ if self.no_age_rule => None,
                Some(d) => Some(hours(d)),
                None => defaults.older_than_hours,
            },
            max_total_bytes: self.max_total_size,
            max_sessions: self.max_sessions,
            min_free_bytes: match self.min_free {
                Some(FreeTarget::Bytes(b)) => Some(b),
                _ => None,
            },
            min_free_percent: match self.min_free {
                Some(FreeTarget::Percent(p)) => Some(p),
                _ => None,
            },
            high_watermark_percent: self.high_watermark,
            low_watermark_percent: self.low_watermark,
            high_inode_watermark_percent: self.high_inode_watermark,
            low_inode_watermark_percent: self.low_inode_watermark,
            max_deletions: self.max_deletions,
            min_age_hours: self.min_age.map_or(defaults.min_age_hours, hours),
            dry_run,
            jobs: self.jobs.map_or(0, usize::from),
            lock_timeout: self.lock_timeout,
            single_host: self.single_host,
            selector: selector(&self.label)?,
            per_owner: self.per_owner.clone(),
            max_sessions_per_owner: self.max_sessions_per_owner,
            max_bytes_per_owner: self.max_bytes_per_owner,
            as_of: None,
        };
        opts.validate().map_err(|e| Fatal::new(Exit::Usage, e.message()))?;
        Ok(opts)
    }
}

/// The selector of the repeated `--label` options (all must hold), if any.
pub fn selector(label: &[String]) -> Result<Option<wsprune::labels::Selector>, Fatal> {
    if label.is_empty() {
        return Ok(None);
    }
    Ok(Some(wsprune::labels::Selector::parse(&label.join(","))?))
}
