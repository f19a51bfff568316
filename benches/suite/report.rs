//! The markdown tables (stdout and docs/benchmarks.md) and the JSON the plot
//! is drawn from.

use std::fmt::Write;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::latency::Latency;
use crate::measure::median;
use crate::{Contender, Deletion, Results, WorkloadResult};

const MIB: f64 = 1024.0;

fn mib(kib: u64) -> f64 {
    kib as f64 / MIB
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

fn is_default_prune(c: &Contender) -> bool {
    matches!(c, Contender::Prune { jobs: 0 })
}

fn is_single_xargs(c: &Contender) -> bool {
    matches!(c, Contender::Xargs { parallel: false })
}

/// The touch target: wsprune's touch of a registered session, the mirror not
/// due, against the C floor of the same guarantees (docs/benchmarks.md says why 1.3x).
const TOUCH_TARGET: f64 = 1.3;

impl Results {
    fn workload(&self, name: &str) -> &WorkloadResult {
        self.workloads
            .iter()
            .find(|w| w.spec.name == name)
            .expect("measured workload")
    }

    /// The named workloads W1, W2, W3 (the scaling points only feed the curve).
    fn main_workloads(&self) -> impl Iterator<Item = &WorkloadResult> {
        self.workloads.iter().filter(|w| w.spec.name.starts_with('W'))
    }
}

impl WorkloadResult {
    fn median_of(&self, c: fn(&Contender) -> bool) -> f64 {
        median(&self.deletion(c).expect("contender measured").secs)
    }

    /// The parallel deleter (not wsprune) with the lowest median here, if any ran.
    fn fastest_rival(&self) -> Option<(&Deletion, f64)> {
        self.deletions
            .iter()
            .filter(|d| d.contender.is_parallel_rival())
            .map(|d| (d, median(&d.secs)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// All tables, as printed and as put in the document.
pub fn tables(r: &Results, quick: bool) -> String {
    let mut s = String::new();
    if quick {
        s.push_str("**Quick mode: reduced sizes, a smoke test of the harness; not comparable with the targets.**\n\n");
    }

    let w1 = r.workload("W1");
    let (prune, rm) = (w1.median_of(is_default_prune), w1.median_of(is_single_xargs));
    let (dry, du) = (median(&w1.dry_run_secs), median(&w1.du_secs));
    let l = &r.latency;
    let w3_rss = mib(r
        .workload("W3")
        .deletion(is_default_prune)
        .expect("W3 prune")
        .max_rss_kib);
    s.push_str("### Targets\n\n| target | measured | result |\n| --- | --- | --- |\n");
    // `ok` None: a row for information, without a target.
    let mut target = |what: &str, measured: String, ok: Option<bool>| {
        writeln!(s, "| {what} | {measured} | {} |", ok.map_or("—", pass)).unwrap();
    };
    target(
        "prune W1 (default jobs) <= 0.5x single `xargs -0 rm -rf`",
        format!("{:.2}x ({prune:.2} s vs {rm:.2} s)", prune / rm),
        Some(prune / rm <= 0.5),
    );
    target(
        "dry run W1 <= 0.6x `du -sb` (warm cache)",
        format!("{:.2}x ({dry:.3} s vs {du:.3} s)", dry / du),
        Some(dry / du <= 0.6),
    );
    for w in r.main_workloads() {
        if let Some((d, fastest)) = w.fastest_rival() {
            let prune = w.median_of(is_default_prune);
            target(
                &format!(
                    "prune {} (default jobs) vs the fastest parallel deleter measured, `{}` (information; the goal is to match it)",
                    w.spec.name,
                    d.contender.label()
                ),
                format!("{:.2}x ({prune:.2} s vs {fastest:.2} s)", prune / fastest),
                None,
            );
        }
    }
    for (what, measured, ok) in latency_targets(l) {
        target(&what, measured, ok);
    }
    target(
        "W3 prune peak RSS < 64 MiB",
        format!("{w3_rss:.1} MiB"),
        Some(w3_rss < 64.0),
    );

    s.push_str(
        "\n### Workloads\n\n| workload | what | files (with metadata) | stale bytes |\n| --- | --- | --- | --- |\n",
    );
    for w in &r.workloads {
        writeln!(
            s,
            "| {} | {} | {} | {} |",
            w.spec.name, w.spec.description, w.files, w.stale_bytes
        )
        .unwrap();
    }

    s.push_str(
        "\n### Prune against `rm -rf` (real deletion of the stale sessions, an identical tree for every run)\n\n\
         | workload | sessions (stale) | files | contender | median (s) | min-max (s) | vs `xargs -0 rm -rf` | vs fastest parallel deleter | peak RSS (MiB) |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for w in r.main_workloads() {
        let rm = w.median_of(is_single_xargs);
        let fastest = w.fastest_rival().map(|(_, m)| m);
        for d in &w.deletions {
            let m = median(&d.secs);
            let (lo, hi) = d
                .secs
                .iter()
                .fold((f64::MAX, 0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            let rss = match d.contender {
                Contender::Prune { .. } => format!("{:.1}", mib(d.max_rss_kib)),
                Contender::Xargs { .. } | Contender::Rmz => "-".into(),
            };
            writeln!(
                s,
                "| {} | {} ({}) | {} | {} | {m:.3} | {lo:.3}-{hi:.3} | {:.2}x | {} | {rss} |",
                w.spec.name,
                w.spec.sessions,
                w.stale,
                w.files,
                d.contender.label(),
                m / rm,
                fastest.map_or("-".into(), |f| format!("{:.2}x", m / f))
            )
            .unwrap();
        }
    }

    s.push_str(
        "\n### Dry run against `du -sb` of the root (warm cache)\n\n\
         | workload | dry run median (s) | `du -sb` median (s) | ratio | dry run peak RSS (MiB) |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for w in r.main_workloads() {
        let (dry, du) = (median(&w.dry_run_secs), median(&w.du_secs));
        writeln!(
            s,
            "| {} | {dry:.3} | {du:.3} | {:.2}x | {:.1} |",
            w.spec.name,
            dry / du,
            mib(w.dry_run_rss_kib)
        )
        .unwrap();
    }

    s.push_str(&latency_table(l));

    s.push_str(
        "\n### Scaling (sessions x 2 files, half stale; medians)\n\n\
         | sessions | files | prune (s) | prune µs per session | dry run (s) | `xargs -0 rm -rf` (s) | `du -sb` (s) | prune peak RSS (MiB) | dry run peak RSS (MiB) |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for p in scaling_points(r) {
        writeln!(
            s,
            "| {} | {} | {:.3} | {:.1} | {:.3} | {:.3} | {:.3} | {:.1} | {:.1} |",
            p["sessions"],
            p["files"],
            p["prune_s"].as_f64().unwrap(),
            p["prune_s"].as_f64().unwrap() * 1e6 / p["sessions"].as_f64().unwrap(),
            p["dry_run_s"].as_f64().unwrap(),
            p["rm_s"].as_f64().unwrap(),
            p["du_s"].as_f64().unwrap(),
            p["prune_rss_mib"].as_f64().unwrap(),
            p["dry_run_rss_mib"].as_f64().unwrap(),
        )
        .unwrap();
    }
    s
}

/// The create and touch latency table.
pub fn latency_table(l: &crate::latency::Results) -> String {
    let mut s = String::new();
    writeln!(
        s,
        "\n### Create and touch latency ({} creates, {} touches per implementation)\n\n\
         | operation | implementation | median (µs) | p99 (µs) | vs C floor (medians) |\n\
         | --- | --- | --- | --- | --- |",
        l.creates, l.touches
    )
    .unwrap();
    for (op, floor, rows) in
        [
            (
                "create",
                &l.create_floor,
                vec![
                    ("C floor: mkdir, open O_CREAT\\|O_EXCL, write, close", &l.create_floor),
                    (
                        "host C floor (a registered session): open the root and `.wsprune` (fstat: owner, mode), \
                         its `sessions/` and `locks/`, mkdirat, create the lock file, then `.metadata.json` and the \
                         record each as temp file + write + renameat2 RENAME_NOREPLACE, closes",
                        &l.create_host_floor,
                    ),
                    ("wsprune `create_session`", &l.create),
                    ("naive: mkdir, write temp file, rename into place", &l.create_naive),
                ],
            ),
            (
                "touch",
                &l.touch_floor,
                vec![
                ("C floor: open, read, 27-byte pwrite in place, close", &l.touch_floor),
                (
                    "host C floor (a registered session): open the root, openat2 of `.wsprune/sessions/<id>` \
                     beneath it O_RDWR (no symlinks, no mount crossing), read, pwrite, fstat (st_nlink), closes",
                    &l.touch_host_floor,
                ),
                (
                    "former safe C floor (`.metadata.json`): openat2 O_PATH beneath the root (no symlinks, no mount \
                     crossing), fstat, reopen via /proc/self/fd, read, pwrite, fstatat re-check, closes",
                    &l.touch_safe_floor,
                ),
                ("wsprune `touch_session`, mirror not due (a later touch in the minute)", &l.touch),
                ("wsprune `touch_session`, mirror due (the minute's first touch)", &l.touch_due),
                (
                    "wsprune `touch_session`, mirror not due, a record that also carries three labels, an idle TTL, \
                     an expiry and a pin",
                    &l.touch_retention,
                ),
                ("host C floor, touching such records", &l.touch_retention_host_floor),
                ("naive: read, write temp file, rename over (replacing)", &l.touch_naive),
            ],
            ),
        ]
    {
        for (what, x) in rows {
            writeln!(
                s,
                "| {op} | {what} | {:.1} | {:.1} | {:.2}x |",
                x.median_us,
                x.p99_us,
                ratio(x, floor)
            )
            .unwrap();
        }
    }
    s
}

fn ratio(a: &Latency, b: &Latency) -> f64 {
    a.median_us / b.median_us
}

/// The rows of the targets table that create and touch decide: (what,
/// measured, whether it passes, or `None` for information).
fn latency_targets(l: &crate::latency::Results) -> Vec<(String, String, Option<bool>)> {
    let mut rows = Vec::new();
    let vs = |a: &Latency, b: &Latency| format!("{:.2}x ({:.1} µs vs {:.1} µs)", ratio(a, b), a.median_us, b.median_us);
    rows.push((
        format!(
            "touch median, mirror not due (later touches in a minute: the common case) <= {TOUCH_TARGET}x the host C floor (a registered session's touch: openat2 of its record, read, pwrite, fstat)"
        ),
        vs(&l.touch, &l.touch_host_floor),
        Some(ratio(&l.touch, &l.touch_host_floor) <= TOUCH_TARGET),
    ));
    rows.push((
        "touch median, mirror due (the first touch of a minute: record and `.metadata.json`) vs the host C floor (information)".to_owned(),
        vs(&l.touch_due, &l.touch_host_floor),
        None,
    ));
    rows.push((
        format!(
            "touch median, mirror not due, vs the former safe C floor (the checked touch of `.metadata.json`; the former 1.3x target; the host floor is {:.2}x it)",
            ratio(&l.touch_host_floor, &l.touch_safe_floor)
        ),
        vs(&l.touch, &l.touch_safe_floor),
        None,
    ));
    rows.push((
        format!(
            "touch median, mirror not due, of a record that also carries labels, a TTL and a pin <= {TOUCH_TARGET}x the host C floor (the same floor as above)"
        ),
        vs(&l.touch_retention, &l.touch_host_floor),
        Some(ratio(&l.touch_retention, &l.touch_host_floor) <= TOUCH_TARGET),
    ));
    rows.push((
        "touch median, mirror not due, of such a record vs the host C floor touching such records (information)"
            .to_owned(),
        vs(&l.touch_retention, &l.touch_retention_host_floor),
        None,
    ));
    rows.push((
        "create median <= 1.5x the host C floor (a registered session's create: lock file, mirror and record each written crash-safely, the host directory checked)".to_owned(),
        vs(&l.create, &l.create_host_floor),
        Some(ratio(&l.create, &l.create_host_floor) <= 1.5),
    ));
    rows.push((
        format!(
            "create median vs the plain C floor (mkdir, one file: the former 1.5x target, from before sessions were registered; the host floor is {:.2}x it)",
            ratio(&l.create_host_floor, &l.create_floor)
        ),
        vs(&l.create, &l.create_floor),
        None,
    ));
    rows
}

fn scaling_points(r: &Results) -> Vec<Value> {
    r.scaling
        .iter()
        .map(|name| {
            let w = r.workload(name);
            let prune = w.deletion(is_default_prune).expect("prune measured");
            json!({
                "name": name,
                "sessions": w.spec.sessions,
                "files": w.files,
                "prune_s": median(&prune.secs),
                "rm_s": w.median_of(is_single_xargs),
                "dry_run_s": median(&w.dry_run_secs),
                "du_s": median(&w.du_secs),
                "prune_rss_mib": mib(prune.max_rss_kib),
                "dry_run_rss_mib": mib(w.dry_run_rss_kib),
            })
        })
        .collect()
}

/// What benches/plot.py draws, and every raw timing for whoever wants more.
pub fn json(r: &Results, plot: &Path) -> Value {
    let l = &r.latency;
    json!({
        "plot": plot,
        "scaling": scaling_points(r),
        "workloads": r.workloads.iter().map(|w| json!({
            "name": w.spec.name,
            "description": w.spec.description,
            "sessions": w.spec.sessions,
            "stale": w.stale,
            "files": w.files,
            "stale_bytes": w.stale_bytes,
            "dry_run_s": w.dry_run_secs,
            "dry_run_rss_mib": mib(w.dry_run_rss_kib),
            "du_s": w.du_secs,
            "deletions": w.deletions.iter().map(|d| json!({
                "contender": d.contender.label(),
                "secs": d.secs,
                "peak_rss_mib": mib(d.max_rss_kib),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "latency": latency_json(l),
        "rmz_missing": r.rmz_missing,
    })
}

/// The create and touch latencies as JSON.
pub fn latency_json(l: &crate::latency::Results) -> Value {
    let lat = |x: &Latency| json!({"median_us": x.median_us, "p99_us": x.p99_us});
    json!({
            "creates": l.creates, "touches": l.touches,
            "create": lat(&l.create), "create_floor": lat(&l.create_floor), "create_host_floor": lat(&l.create_host_floor), "create_naive": lat(&l.create_naive),
            "touch": lat(&l.touch), "touch_mirror_due": lat(&l.touch_due), "touch_floor": lat(&l.touch_floor),
            "touch_host_floor": lat(&l.touch_host_floor), "touch_safe_floor": lat(&l.touch_safe_floor), "touch_naive": lat(&l.touch_naive),
            "touch_retention": lat(&l.touch_retention), "touch_retention_host_floor": lat(&l.touch_retention_host_floor),
    })
}

/// The targets that create and touch decide and the latency table: what a
/// `--touch` run prints.
pub fn touch_tables(l: &crate::latency::Results) -> String {
    let mut s = String::from("### Targets (create and touch)\n\n| target | measured | result |\n| --- | --- | --- |\n");
    for (what, measured, ok) in latency_targets(l) {
        writeln!(s, "| {what} | {measured} | {} |", ok.map_or("—", pass)).unwrap();
    }
    s.push_str(&latency_table(l));
    s
}

/// The section of the document at `doc` that a full run keeps as it is:
/// from its "## Short runs" heading to the end ("" when there is none).
pub fn short_runs(doc: &Path) -> String {
    let text = std::fs::read_to_string(doc).unwrap_or_default();
    text.find("\n## Short runs\n")
        .map_or(String::new(), |i| text[i..].to_owned())
}

/// A shell command's output, run in the repository, or `unknown`.
fn sh(cmd: &str) -> String {
    Command::new("sh")
        .args(["-c", cmd])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The type of the filesystem holding `dir` (`stat -f` cannot tell ext4 from ext2/ext3; findmnt can).
pub fn filesystem(dir: &Path) -> String {
    let dir = dir.to_string_lossy();
    let findmnt = sh(&format!("findmnt -n -o FSTYPE,OPTIONS -T '{dir}'"));
    format!(
        "`stat -f -c %T` says {}; `findmnt`: {}",
        sh(&format!("stat -f -c %T '{dir}'")),
        findmnt.split_whitespace().collect::<Vec<_>>().join(", mounted ")
    )
}

/// DAMON proactive reclaim pages out page cache left idle, so a "warm" cache
/// does not stay warm: worth knowing when reading the figures.
fn damon() -> String {
    let base = Path::new("/sys/kernel/mm/damon/admin/kdamonds/0");
    let read = |p: &str| std::fs::read_to_string(base.join(p)).map(|s| s.trim().to_owned());
    let scheme = "contexts/0/schemes/0";
    match (
        read("state"),
        read(&format!("{scheme}/action")),
        read(&format!("{scheme}/access_pattern/age/min")),
        read("contexts/0/monitoring_attrs/intervals/aggr_us"),
    ) {
        (Ok(state), Ok(action), Ok(age), Ok(aggr_us)) => {
            let idle_s = age.parse::<u64>().unwrap_or(0) * aggr_us.parse::<u64>().unwrap_or(0) / 1_000_000;
            format!("kdamond {state}, action {action} for pages idle {idle_s} s or more")
        }
        _ => "not running".into(),
    }
}

/// docs/benchmarks.md: how it was run, on what, the tables, the method.
pub fn document(tables: &str, args: &[String], filesystem: &str, load_before: &str) -> String {
    let extra = if args.is_empty() {
        String::new()
    } else {
        format!(" ARGS=\"{}\"", args.join(" "))
    };
    let machine = format!(
        "- date: {}\n\
         - revision: {}\n\
         - CPU: {} ({} cores, `nproc`)\n\
         - memory: {}\n\
         - kernel: {}\n\
         - load average (1, 5, 15 min) before the run: {load_before}; after: {}\n\
         - filesystem of the workloads: {filesystem}\n\
         - proactive reclaim (DAMON): {}\n\
         - {}; {}; {}; rmz: {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        sh("git rev-parse --short HEAD && git status --porcelain -- src Cargo.toml | grep -q . && echo '(with uncommitted changes to src/)' || true")
            .replace('\n', " "),
        sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"),
        sh("nproc"),
        sh("free -h | awk '/^Mem:/ {print $2}'"),
        sh("uname -sr"),
        load_average(),
        damon(),
        sh("rustc --version"),
        sh("cc --version | head -n1"),
        sh("rm --version | head -n1"),
        sh("rmz --version | head -n1").replace("unknown", "not installed, left out of the run"),
    );
    format!(
        "# Benchmarks\n\n\
         Generated by the benchmark suite (`benches/suite/`); do not edit by hand, re-run instead:\n\n\
         ```sh\nmake bench{extra}\n```\n\n\
         (`bash benches/run.sh`: `cargo bench --bench suite`, which prints these tables and writes this file and \
         `target/bench/results.json`, then `benches/plot.py` draws the plot.) `make bench ARGS=--quick` is a \
         smoke test with small sizes that writes to `target/bench/quick/` instead; `ARGS=\"--dir DIR\"` builds \
         the workloads in `DIR/wsprune-bench` instead of `target/bench/wsprune-bench`. `ARGS=--touch` measures \
         create and touch alone (a few minutes) and prints them; its figures and command go by hand into \
         \"Short runs\" at the end of this file, which a full run keeps as it is.\n\n\
         ## Machine\n\n{machine}\n\n\
         ## Results\n\n{tables}\n\
         ![prune and dry-run time and peak RSS against the number of sessions](bench-scaling.png)\n\n\
         ## Method\n\n{METHOD}"
    )
}

const METHOD: &str = "\
- **Workloads** are built by the suite in Rust, seeded, so every build has the same session names, layout \
and file sizes (uniform in the stated range, file contents are bytes of `x`). A stale session's metadata has \
`updated_at` 48 hours ago; every prune uses `older_than_hours = 24`. In W1, 1% of the sessions are legacy (no \
`.metadata.json`) and 1% have garbage metadata; both are among the fresh half, and a prune must skip them. \
Files counted include `.metadata.json`. W3 and the scaling points S* share one shape.
- **Prune against `rm`.** Each workload is built once; before every timed run after the first, the \
sessions the previous run deleted (the stale half) are re-created with the same names, layout and sizes, \
which gives the same tree again (the fresh half, which no contender touches, stays; deleting and rewriting \
it too would double the run time). Then `sync(2)` flushes the dirty pages so their writeback does not land \
in the timing; the page cache still holds the tree, as it would on a machine that just used it. Each \
contender deletes exactly the stale sessions: the prune in a child process (the bench binary re-executing \
itself, so its peak RSS is its own `ru_maxrss`, from `wait4`; that includes the binary's baseline of a few \
MiB), `xargs -0 rm -rf` reading the stale directory names NUL-separated (what `printf '%s\\0' DIRS` prints; \
one xargs running `rm` with as many names as fit on a command line), and, on W1 and W2, the parallel \
deleters a prune should reach: `xargs -0 -P8 -n 64 rm -rf` and `xargs -0 rmz` (rmz 3.2.1, the `rmz` crate, \
fuc's deleter, which deletes each directory tree on several threads; `benches/run.sh` installs it with \
`cargo install` when it is not on PATH, and the run leaves it out, saying so above, when it cannot be had). \
\"vs fastest parallel deleter\" divides by the lowest median of those two in the same workload. Times are wall clock from spawn to exit. The contenders run once per round, in reversed \
order every other round, and the table gives the median over rounds (W1, W2, W3; the scaling points S* \
run one round). Every run is checked: the prune must report exactly the stale sessions deleted, the legacy \
and corrupted ones skipped, no errors and the stale files' total size reclaimed, and exactly the fresh \
sessions must be left.
- **Dry run against `du -sb ROOT`**, on the freshly built tree before the deletion rounds: each runs once \
to warm the cache (not counted), then several repetitions, alternating which goes first; medians. The dry \
run is checked like a real prune.
- **Create and touch** run in the harness process (`create_session(root, Some(id))`, `touch_session`) \
against `benches/floor.c`, compiled with `cc -O2` at run time: the floor does the same I/O with none of \
wsprune's checks (create: `mkdir`, `open(O_CREAT|O_EXCL)`, write the same JSON, close; touch: open, read, \
27-byte `pwrite` of a precomputed timestamp at the `updated_at` offset, close), and the naive design writes a \
temporary file and renames it into place (over the old file, for touch). Every call is timed; the \
implementations alternate in four blocks (rotating which goes first) so that drift of the shared disk \
affects them alike. Touches cycle over the sessions each implementation created; wsprune's sessions are \
made by `create_session`, so they are registered, and are named as `floor.c` names session i, so that \
`floor host-touch` touches the records of exactly those sessions.
- **The host floor of a create** (`floor host-create`) is the cheapest sequence with the guarantees of \
wsprune's create of a registered session, in plain C: open the root (`O_PATH`), open `.wsprune` \
(`O_NOFOLLOW`) and `fstat` it (the host's: owned by the caller, not group- or other-writable), open its \
`sessions/` and `locks/`, `mkdirat` the session (0700), create its lock file, open the session directory, \
then write `.metadata.json` and the record each crash-safely (a temporary file created `O_EXCL|O_NOFOLLOW`, \
`write`, `close`, `renameat2` with `RENAME_NOREPLACE`), and the closes. wsprune's `create_session` also \
checks the root path (`statx`), whether the root folds case (`FS_IOC_GETFLAGS`, for reserved names), and \
validates the id; the former target compared it with one `mkdir` and one file, from before sessions were \
registered, and stays in the table as information.
- **The host floor of a touch** (`floor host-touch`) is the cheapest sequence with the guarantees of \
wsprune's touch of a registered session, in plain C. The record is the host's (`<root>/.wsprune/`, 0700), so \
no guest symlink, FIFO or hard link can be in its way and no re-check of a guest-writable path is needed: \
open the root (`O_PATH`; the API is given a path), `openat2(root, \".wsprune/sessions/<id>\", \
O_RDWR|O_NOFOLLOW|O_NONBLOCK, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV)`, one `read`, the 27-byte \
`pwrite` at the record's `updated_at` offset, `fstat` (`st_nlink` 0 means a deletion unregistered the \
session meanwhile: the touch must then say NOT_FOUND), two closes: seven system calls. \
wsprune's `touch_session` makes the same calls (`host_state::open_record_beneath`), plus one `read` that \
returns 0 (it reads to the end rather than trusting a size), and in user space validates the record (a \
corrupted one is reported, never overwritten), checks the id, reads the clock and formats the timestamp.
- **The touch target** is the median of wsprune's touch with the mirror not due <= 1.3x the host floor's. \
The not-due case is the one to hold to a target because it is the common one: a runtime touches on every \
execution, and only the first touch of each clock minute also refreshes the `.metadata.json` mirror. 1.3x \
leaves the user-space work above about a third of a floor of a few microseconds, the margin the former \
target gave over the former safe floor; as the host floor is lower than the safe floor, the new target is \
tighter in absolute terms too. The touch with the mirror due (the record, then the mirror through the \
checked sequence of the former safe floor, since the mirror is in the guest's directory) is shown for \
information, against the same floor.
- **Touch with retention fields.** The same sessions are created a second time (untimed) in another \
root and each record is rewritten with three labels, an idle TTL, an absolute expiry and a pin, as label, \
TTL and pin updates leave it (the canonical layout: `updated_at` stays where a touch patches it). wsprune's \
touch of those records with the mirror not due, and the host floor's touch of them, run in the same \
rotation; they are held to the same target, 1.3x the host floor of plain records (the extra fields cost a \
longer read and their validation).
- **Mirror due or not** is forced, not left to the clock: before each timed touch (untimed), the \
harness overwrites the record's `updated_at` with the current time (not due: this touch is a later one in \
the same minute; a minute that ends between that write and the touch makes one touch due, which a median \
ignores) or with the time two minutes ago (due: this touch is the minute's first). The library's test hook \
(`set_touch_hook`) runs after the record is read, too late to decide this, so it is not used.
- **The former safe floor of a touch** (`floor safe-touch`), kept for comparison, is the least a touch of \
a session's `.metadata.json` must do (wsprune 0.3's touch, and today's touch of an unregistered directory), \
in plain C: open the root (`O_PATH`; the API is given a path, so every touch opens it), \
`openat2(root, \"<id>/.metadata.json\", O_PATH|O_NOFOLLOW, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV)` \
(no symlink, no mount crossing, and `O_PATH` opens nothing, so no FIFO or device is ever opened), `fstat` \
(a regular file, one link), reopen of that inode `O_RDWR` through `/proc/self/fd/N`, read, the 27-byte \
`pwrite`, `fstatat(root, \"<id>/.metadata.json\", AT_SYMLINK_NOFOLLOW)` compared with the file written \
(still the session's metadata: a session moved to trash has no such file under its name), and three \
closes: ten system calls. The issue's description re-checks the session entry itself; re-checking the \
file through the entry is one call too and is equivalent for this purpose (the file is only reachable by \
that path while the directory of that name holds it), and needs no descriptor or `stat` of the directory. \
wsprune's touch of an unregistered directory takes exactly this sequence for a healthy session \
(`touch::touch_in_place_beneath`, `chase::open_metadata_beneath`), and so does its refresh of a mirror.
- **Stalls.** On the 2-core development VM, single-threaded deleters (`xargs -0 rm -rf`, the prune with \
jobs=1) sometimes stall: under strace their `unlinkat` calls each wait 5 to 8 ms on the disk, and a run \
takes 10 to 30 times its usual time; parallel deleters overlap those waits. The machine also runs DAMON \
proactive reclaim (see above), so cached metadata left idle is dropped. Medians over three rounds damp \
such runs but cannot always hide them: read the min-max column too.
- Nothing else is controlled: the machine is shared, other processes may run. Compare ratios within a run \
rather than absolute figures across runs.
";
