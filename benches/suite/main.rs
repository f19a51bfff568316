//! The benchmark suite: prune against `xargs rm -rf` and the parallel
//! deleters (`xargs -P8 -n 64 rm -rf`, rmz), dry run against `du -sb`,
//! create and touch against plain-C floors, peak RSS, and a scaling curve,
//! side by side in one run. See docs/benchmarks.md.
//!
//! `make bench` runs it (through benches/run.sh, which also draws the plot);
//! directly: `cargo bench --bench suite -- [--quick] [--dir DIR]`.
//! `--quick` uses small sizes to smoke-test the harness (results go to
//! target/bench/quick/, not docs/); `--dir DIR` puts the workloads in
//! DIR/wsprune-bench instead of target/bench/wsprune-bench.

mod latency;
mod measure;
mod report;
mod workload;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use workload::{Built, Spec, THRESHOLD_HOURS};

/// Hidden subcommand: the bench binary re-executes itself to prune in a child
/// process, so each prune is timed like its rivals and gets its own peak RSS.
const CHILD: &str = "__prune";

/// Sizes and repetitions of one run.
struct Config {
    quick: bool,
    /// Only the create and touch latencies (`--touch`): a short run that
    /// prints its tables and writes target/bench/touch/results.json.
    touch: bool,
    /// Where workloads are built (removed at the start and the end).
    work: PathBuf,
    /// Where benchmarks.md goes (the plot too, drawn by benches/plot.py).
    out_dir: PathBuf,
    w1: usize,
    w2: usize,
    w3: usize,
    scale: Vec<usize>,
    /// Deletion rounds for W1, W2, W3 (each contender once per round, on an identical tree).
    rounds: usize,
    /// Timed repetitions of dry run and `du`, after one warm-up each.
    scan_reps: usize,
    creates: usize,
    touches: usize,
    /// The harness's own arguments, for the command shown in the document.
    args: Vec<String>,
}

impl Config {
    fn from_args(args: &[String]) -> Config {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let (mut quick, mut touch, mut base) = (false, false, manifest.join("target/bench"));
        let mut it = args.iter().filter(|a| *a != "--bench");
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quick" => quick = true,
                "--touch" => touch = true,
                "--dir" => base = PathBuf::from(it.next().unwrap_or_else(|| usage("--dir needs a directory"))),
                other => usage(&format!("unknown argument {other:?}")),
            }
        }
        let args = args.iter().filter(|a| *a != "--bench").cloned().collect();
        let work = base.join("wsprune-bench");
        if quick {
            Config {
                quick,
                touch,
                work,
                out_dir: manifest.join("target/bench/quick"),
                w1: 100,
                w2: 2,
                w3: 1000,
                scale: vec![300],
                rounds: 1,
                scan_reps: 2,
                creates: 200,
                touches: 2000,
                args,
            }
        } else {
            Config {
                quick,
                touch,
                work,
                out_dir: manifest.join("docs"),
                w1: 10_000,
                w2: 500,
                w3: 100_000,
                scale: vec![1000, 3000, 10_000, 30_000],
                rounds: 3,
                scan_reps: 5,
                creates: 2000,
                touches: 20_000,
                args,
            }
        }
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("suite: {msg}\nusage: cargo bench --bench suite -- [--quick] [--touch] [--dir DIR]");
    std::process::exit(2)
}

/// One way of deleting the stale sessions.
#[derive(Clone, Copy)]
pub enum Contender {
    /// `prune_sessions`, real run; `jobs` 0 is the library's default.
    Prune { jobs: usize },
    /// `xargs -0 rm -rf` over the stale directories, or with `-P8 -n 64`.
    Xargs { parallel: bool },
    /// `xargs -0 rmz` over the stale directories: rmz (the `rmz` crate, fuc's
    /// parallel deleter) where it is installed (benches/run.sh installs it).
    Rmz,
}

impl Contender {
    pub fn label(self) -> String {
        match self {
            Contender::Prune { jobs: 0 } => {
                format!("wsprune prune, default jobs ({})", wsprune::policy::default_jobs())
            }
            Contender::Prune { jobs } => format!("wsprune prune, jobs={jobs}"),
            Contender::Xargs { parallel: false } => "xargs -0 rm -rf".into(),
            Contender::Xargs { parallel: true } => "xargs -0 -P8 -n 64 rm -rf".into(),
            Contender::Rmz => "xargs -0 rmz".into(),
        }
    }

    /// A parallel deleter other than wsprune, which a prune should reach.
    pub fn is_parallel_rival(&self) -> bool {
        matches!(self, Contender::Xargs { parallel: true } | Contender::Rmz)
    }
}

/// The timed runs of one contender on one workload.
pub struct Deletion {
    pub contender: Contender,
    pub secs: Vec<f64>,
    pub max_rss_kib: u64,
}

/// What one workload gave.
pub struct WorkloadResult {
    pub spec: Spec,
    pub stale: usize,
    pub files: u64,
    pub stale_bytes: u64,
    /// Real prunes and `rm`, in the order of the contenders given.
    pub deletions: Vec<Deletion>,
    pub dry_run_secs: Vec<f64>,
    pub dry_run_rss_kib: u64,
    pub du_secs: Vec<f64>,
}

impl WorkloadResult {
    pub fn deletion(&self, c: fn(&Contender) -> bool) -> Option<&Deletion> {
        self.deletions.iter().find(|d| c(&d.contender))
    }
}

/// Everything a run measured, for the report.
pub struct Results {
    pub workloads: Vec<WorkloadResult>,
    /// Names of the workloads that form the scaling curve, smallest first.
    pub scaling: Vec<String>,
    /// Why rmz is missing from the run, when it is.
    pub rmz_missing: Option<String>,
    pub latency: latency::Results,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(CHILD) {
        return child(&args[1..]);
    }
    // `cargo bench` passes --bench; `cargo test --benches` does not, and must not start a long benchmark.
    if !args.iter().any(|a| a == "--bench") {
        println!("suite: benchmark harness; run it with `make bench` or `cargo bench --bench suite`");
        return;
    }
    let cfg = Config::from_args(&args);
    let started = Instant::now();
    let log = |msg: String| eprintln!("[{:6.1}s] {msg}", started.elapsed().as_secs_f64());
    // Other work on the machine skews every figure; say so in the document.
    let load_before = report::load_average();
    log(format!("load average before the run: {load_before}"));
    if cfg.work.exists() {
        std::fs::remove_dir_all(&cfg.work).expect("remove the leftovers of an earlier run");
    }
    std::fs::create_dir_all(&cfg.work).expect("create the work directory");
    let filesystem = report::filesystem(&cfg.work);
    if cfg.touch {
        return touch_only(&cfg, &filesystem, &load_before, &log);
    }

    let prune = Contender::Prune { jobs: 0 };
    let xargs = Contender::Xargs { parallel: false };
    // The parallel deleters a prune should reach, on W1 and W2: `xargs -P8`, and rmz where installed.
    let rmz_missing = rmz_missing();
    if let Some(why) = &rmz_missing {
        log(format!("rmz left out: {why}"));
    }
    let mut rivals = vec![xargs, Contender::Xargs { parallel: true }];
    if rmz_missing.is_none() {
        rivals.push(Contender::Rmz);
    }
    let w1_contenders: Vec<Contender> = [prune, Contender::Prune { jobs: 1 }]
        .into_iter()
        .chain(rivals.clone())
        .collect();
    let w2_contenders: Vec<Contender> = [prune].into_iter().chain(rivals).collect();
    let mut workloads = vec![
        bench_workload(&cfg, Spec::w1(cfg.w1), &w1_contenders, cfg.rounds, &log),
        bench_workload(&cfg, Spec::w2(cfg.w2), &w2_contenders, cfg.rounds, &log),
    ];
    let mut scaling = Vec::new();
    for &n in &cfg.scale {
        let name = format!("S{n}");
        // One round each: the points only draw the curve, and W3 closes it with full rounds.
        workloads.push(bench_workload(&cfg, Spec::flat(&name, n), &[prune, xargs], 1, &log));
        scaling.push(name);
    }
    workloads.push(bench_workload(
        &cfg,
        Spec::flat("W3", cfg.w3),
        &[prune, xargs],
        cfg.rounds,
        &log,
    ));
    scaling.push("W3".into());

    log(format!(
        "latency: {} creates and {} touches per contender",
        cfg.creates, cfg.touches
    ));
    let latency = latency::measure(&cfg.work.join("latency"), cfg.creates, cfg.touches);
    std::fs::remove_dir_all(&cfg.work).expect("remove the work directory");

    let results = Results {
        workloads,
        scaling,
        rmz_missing,
        latency,
    };
    let tables = report::tables(&results, cfg.quick);
    println!("{tables}");
    std::fs::create_dir_all(&cfg.out_dir).expect("create the output directory");
    let doc = cfg.out_dir.join("benchmarks.md");
    let plot = cfg.out_dir.join("bench-scaling.png");
    let kept = report::short_runs(&doc);
    let text = report::document(&tables, &cfg.args, &filesystem, &load_before) + &kept;
    std::fs::write(&doc, text).expect("write benchmarks.md");
    let json = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/results.json");
    std::fs::write(&json, report::json(&results, &plot).to_string()).expect("write results.json");
    log(format!(
        "wrote {} and {} (benches/plot.py draws {})",
        doc.display(),
        json.display(),
        plot.display()
    ));
}

/// `--touch`: the create and touch latencies alone, printed with the
/// targets they decide; docs/benchmarks.md is left as it is (its "Short
/// runs" section is where such a run's figures and command are written).
fn touch_only(cfg: &Config, filesystem: &str, load_before: &str, log: &dyn Fn(String)) {
    log(format!(
        "latency only: {} creates and {} touches per contender",
        cfg.creates, cfg.touches
    ));
    let latency = latency::measure(&cfg.work.join("latency"), cfg.creates, cfg.touches);
    std::fs::remove_dir_all(&cfg.work).expect("remove the work directory");
    println!(
        "filesystem: {filesystem}\nload average before: {load_before}; after: {}\n\n{}",
        report::load_average(),
        report::touch_tables(&latency)
    );
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/touch");
    std::fs::create_dir_all(&out).expect("create the output directory");
    let json = out.join("results.json");
    std::fs::write(&json, report::latency_json(&latency).to_string()).expect("write results.json");
    log(format!("wrote {}", json.display()));
}

/// Measures one workload: dry run against `du` on the freshly built tree,
/// then rounds of timed deletions, each on an identical tree.
fn bench_workload(
    cfg: &Config,
    spec: Spec,
    contenders: &[Contender],
    rounds: usize,
    log: &dyn Fn(String),
) -> WorkloadResult {
    let dir = cfg.work.join(&spec.name);
    let root = dir.join("root");
    let list = dir.join("stale.list");
    log(format!("{}: {}", spec.name, spec.description));
    let built = workload::build(&root, &spec, false).expect("build the workload");
    measure::sync();
    // What `printf '%s\0' <stale dirs>` would print, for xargs -0; names relative to the root.
    let mut names = Vec::new();
    for id in &built.stale {
        names.extend_from_slice(id.as_bytes());
        names.push(0);
    }
    std::fs::write(&list, names).expect("write the stale list");

    let (mut dry_run_secs, mut du_secs, mut dry_run_rss_kib) = (Vec::new(), Vec::new(), 0);
    for rep in 0..=cfg.scan_reps {
        // Rep 0 warms the cache for both and is not counted; then alternate who goes first.
        for dry_first in [rep % 2 == 0, rep % 2 != 0] {
            if dry_first {
                let run = measure::run(&mut prune_child(&root, 0, true));
                check_prune(&spec, &built, &run.stdout);
                dry_run_rss_kib = dry_run_rss_kib.max(run.max_rss_kib);
                if rep > 0 {
                    dry_run_secs.push(run.secs);
                }
            } else {
                let run = measure::run(Command::new("du").arg("-sb").arg(&root));
                if rep > 0 {
                    du_secs.push(run.secs);
                }
            }
        }
    }
    log(format!(
        "{}: dry run {:.3} s, du -sb {:.3} s (medians)",
        spec.name,
        measure::median(&dry_run_secs),
        measure::median(&du_secs)
    ));

    let mut deletions: Vec<Deletion> = contenders
        .iter()
        .map(|&contender| Deletion {
            contender,
            secs: Vec::new(),
            max_rss_kib: 0,
        })
        .collect();
    let mut first = true;
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..contenders.len()).collect()
        } else {
            (0..contenders.len()).rev().collect()
        };
        for i in order {
            // Each run after the first re-creates what the previous one deleted:
            // only the stale sessions, as the fresh half is never touched, and
            // deleting and rewriting it too would double the run time on a slow disk.
            if !std::mem::take(&mut first) {
                workload::build(&root, &spec, true).expect("re-create the stale sessions");
            }
            // Writeback of the new files (and of atime updates) must not land in the timing.
            measure::sync();
            let d = &mut deletions[i];
            let run = match d.contender {
                Contender::Prune { jobs } => {
                    let run = measure::run(&mut prune_child(&root, jobs, false));
                    check_prune(&spec, &built, &run.stdout);
                    run
                }
                Contender::Xargs { parallel } => {
                    let mut cmd = Command::new("xargs");
                    cmd.arg("-0");
                    if parallel {
                        cmd.args(["-P8", "-n", "64"]);
                    }
                    cmd.args(["rm", "-rf"])
                        .current_dir(&root)
                        .stdin(File::open(&list).expect("open the stale list"));
                    measure::run(&mut cmd)
                }
                Contender::Rmz => measure::run(
                    Command::new("xargs")
                        .args(["-0", "rmz"])
                        .current_dir(&root)
                        .stdin(File::open(&list).expect("open the stale list")),
                ),
            };
            check_remaining(&spec, &built, &root);
            d.secs.push(run.secs);
            d.max_rss_kib = d.max_rss_kib.max(run.max_rss_kib);
            log(format!(
                "{}: round {}/{}: {}: {:.3} s",
                spec.name,
                round + 1,
                rounds,
                d.contender.label(),
                run.secs
            ));
        }
    }
    workload::remove(&root);
    std::fs::remove_dir_all(&dir).expect("remove the workload");
    WorkloadResult {
        stale: built.stale.len(),
        files: built.files,
        stale_bytes: built.stale_bytes,
        spec,
        deletions,
        dry_run_secs,
        dry_run_rss_kib,
        du_secs,
    }
}

/// Why rmz cannot run here (`None`: it can): not on PATH, or not working.
fn rmz_missing() -> Option<String> {
    match Command::new("rmz").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!("`rmz --version` failed ({})", out.status)),
        Err(e) => Some(format!(
            "`rmz` not found on PATH ({e}); benches/run.sh installs it with cargo"
        )),
    }
}

fn prune_child(root: &Path, jobs: usize, dry_run: bool) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("own executable"));
    cmd.arg(CHILD)
        .arg(root)
        .arg(jobs.to_string())
        .arg(if dry_run { "dry" } else { "real" })
        .stdin(Stdio::null());
    cmd
}

/// The child: one prune, its counts as JSON on stdout.
fn child(args: &[String]) {
    let [root, jobs, mode] = args else {
        usage("internal: __prune ROOT JOBS dry|real")
    };
    let opts = wsprune::PruneOptions {
        older_than_hours: Some(THRESHOLD_HOURS),
        dry_run: mode == "dry",
        jobs: jobs.parse().expect("jobs"),
        ..Default::default()
    };
    let r = wsprune::prune_sessions(Path::new(root), &opts).expect("prune_sessions");
    let out = serde_json::json!({
        "deleted": r.deleted_sessions.len(),
        "skipped": r.skipped_sessions.len(),
        "reclaimed": r.reclaimed_bytes,
        "errors": r.errors,
    });
    writeln!(std::io::stdout(), "{out}").expect("stdout");
}

/// A prune that did not do exactly the expected work would make its timing
/// meaningless: stop the run.
fn check_prune(spec: &Spec, built: &Built, stdout: &str) {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("the prune child prints JSON");
    let expected = serde_json::json!({
        "deleted": built.stale.len(),
        "skipped": built.skipped,
        "reclaimed": built.stale_bytes,
        "errors": [],
    });
    assert_eq!(
        v, expected,
        "{}: the prune did not do what the workload calls for",
        spec.name
    );
}

/// Exactly the fresh sessions are left.
fn check_remaining(spec: &Spec, built: &Built, root: &Path) {
    let left = std::fs::read_dir(root)
        .expect("read the root")
        .filter(|e| {
            let e = e.as_ref().expect("root entry");
            e.file_type().is_ok_and(|t| t.is_dir()) && uuid::Uuid::parse_str(&e.file_name().to_string_lossy()).is_ok()
        })
        .count();
    assert_eq!(
        left,
        spec.sessions - built.stale.len(),
        "{}: sessions left after deleting the stale ones",
        spec.name
    );
}
