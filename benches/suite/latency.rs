//! Create and touch latency: wsprune against the plain-C floor, the C floors
//! of a create and of a touch of a registered session (its host-owned record: the guarantees
//! wsprune's touch keeps, nothing else), the former safe floor of a checked
//! touch of `.metadata.json`, and the naive write-temp-and-rename design
//! (benches/floor.c), interleaved in blocks so a disk that drifts during the
//! run affects every contender alike. wsprune's touch is timed twice: with the
//! `.metadata.json` mirror not due (a later touch in the same clock minute,
//! the common case) and due (the first touch of a minute).

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::measure::{self, quantile};

/// Median and p99 of one operation, in microseconds.
pub struct Latency {
    pub median_us: f64,
    pub p99_us: f64,
}

impl Latency {
    fn of(ns: &[f64]) -> Latency {
        Latency {
            median_us: quantile(ns, 0.5) / 1000.0,
            p99_us: quantile(ns, 0.99) / 1000.0,
        }
    }
}

pub struct Results {
    pub creates: usize,
    pub touches: usize,
    pub create: Latency,
    pub create_floor: Latency,
    /// The least a create of a registered session must do (benches/floor.c `host-create`).
    pub create_host_floor: Latency,
    pub create_naive: Latency,
    /// `touch_session` with the mirror not due (a later touch in the same minute).
    pub touch: Latency,
    /// `touch_session` with the mirror due (the first touch of a minute).
    pub touch_due: Latency,
    pub touch_floor: Latency,
    /// The least a touch of a registered session must do (benches/floor.c `host-touch`).
    pub touch_host_floor: Latency,
    /// The least a checked touch of `.metadata.json` must do (benches/floor.c
    /// `safe-touch`): the floor of wsprune 0.3's touch, for comparison.
    pub touch_safe_floor: Latency,
    pub touch_naive: Latency,
    /// `touch_session`, mirror not due, of sessions whose records also carry
    /// labels, a TTL (idle and absolute) and a pin.
    pub touch_retention: Latency,
    /// The host floor's touch of those records.
    pub touch_retention_host_floor: Latency,
}

const BLOCKS: usize = 4;

/// Compiles benches/floor.c with `cc -O2` into `work` and measures in `work`.
pub fn measure(work: &Path, creates: usize, touches: usize) -> Results {
    std::fs::create_dir_all(work).expect("latency dir");
    let floor = work.join("floor");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/floor.c");
    measure::run(Command::new("cc").arg("-O2").arg("-o").arg(&floor).arg(&src));
    let (ws, cdir, ndir, hdir) = (
        work.join("wsprune"),
        work.join("floor-ws"),
        work.join("naive-ws"),
        work.join("host-floor-ws"),
    );
    for d in [&cdir, &ndir, &hdir] {
        std::fs::create_dir(d).expect("latency dir");
    }
    let json = wsprune::SessionMetadata::new(uuid::Uuid::new_v4().to_string(), chrono::Utc::now()).to_json();
    let json_file = work.join("metadata.json");
    std::fs::write(&json_file, &json).expect("write template metadata");
    let offset = wsprune::metadata::parse(json.as_bytes())
        .expect("canonical metadata parses")
        .updated_at_offset
        .expect("canonical metadata has an in-place updated_at");
    let stamp = wsprune::metadata::format_timestamp(chrono::Utc::now());

    let c_floor = |args: &[&dyn AsRef<std::ffi::OsStr>]| -> Vec<f64> {
        let mut cmd = Command::new(&floor);
        cmd.args(args.iter().map(|a| a.as_ref()));
        let out = measure::run(&mut cmd).stdout;
        out.lines().map(|l| l.parse().expect("floor prints integers")).collect()
    };

    // The names floor.c gives session i, so that `floor host-touch` finds the
    // records of the sessions wsprune created (registered, as a runtime's are).
    let ids: Vec<String> = (0..creates)
        .map(|i| format!("{i:08x}-0000-4000-8000-000000000000"))
        .collect();
    let (mut create, mut create_floor, mut create_host, mut create_naive) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let per = creates / BLOCKS;
    for b in 0..BLOCKS {
        let first = b * per;
        let (f, n) = (first.to_string(), per.to_string());
        // Rotate which contender goes first in each block.
        for k in 0..4 {
            match (b + k) % 4 {
                0 => {
                    for id in &ids[first..first + per] {
                        let s = Instant::now();
                        wsprune::create_session(&ws, Some(id)).expect("create_session");
                        create.push(s.elapsed().as_nanos() as f64);
                    }
                }
                1 => create_floor.extend(c_floor(&[&"create", &cdir, &f, &n, &json_file])),
                2 => create_host.extend(c_floor(&[&"host-create", &hdir, &f, &n, &json_file])),
                _ => create_naive.extend(c_floor(&[&"naive-create", &ndir, &f, &n, &json_file])),
            }
        }
    }

    let made = (per * BLOCKS).to_string();
    let records = ws.join(".wsprune/sessions");
    let record_offset = wsprune::metadata::parse(&std::fs::read(records.join(&ids[0])).expect("read a record"))
        .expect("the record parses")
        .updated_at_offset
        .expect("a record made by create_session has an in-place updated_at");
    // The same sessions again in another root, their records carrying every
    // optional field (made untimed): a touch must stay as fast with them.
    let rich = work.join("wsprune-retention");
    for id in &ids[..per * BLOCKS] {
        wsprune::create_session(&rich, Some(id)).expect("create_session");
        with_retention_fields(&rich.join(".wsprune/sessions").join(id));
    }
    let rich_records = rich.join(".wsprune/sessions");
    let rich_offset = wsprune::metadata::parse(&std::fs::read(rich_records.join(&ids[0])).expect("read a record"))
        .expect("the record parses")
        .updated_at_offset
        .expect("a record with retention fields keeps an in-place updated_at");
    let (mut touch, mut touch_due, mut touch_floor, mut touch_host, mut touch_safe, mut touch_naive) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut touch_rich, mut touch_rich_host) = (Vec::new(), Vec::new());
    let per_t = touches / BLOCKS;
    let n = per_t.to_string();
    let (off, record_off, rich_off) = (offset.to_string(), record_offset.to_string(), rich_offset.to_string());
    // wsprune's touch of the sessions in `root`, each call timed; before each
    // (untimed), the record's updated_at (at `at`) is set to `last_used()`,
    // which decides whether the mirror is due.
    let wsprune_touches = |out: &mut Vec<f64>, root: &Path, at: usize, last_used: fn() -> DateTime<Utc>| {
        let records = root.join(".wsprune/sessions");
        for i in 0..per_t {
            let id = &ids[i % (per * BLOCKS)];
            set_updated_at(&records.join(id), at, last_used());
            let s = Instant::now();
            wsprune::touch_session(root, id).expect("touch_session");
            out.push(s.elapsed().as_nanos() as f64);
        }
    };
    for b in 0..BLOCKS {
        for k in 0..8 {
            match (b + k) % 8 {
                // Not due: last used this minute (a minute that ends between
                // this write and the touch makes one touch due: rare, and the
                // median ignores it).
                0 => wsprune_touches(&mut touch, &ws, record_offset, Utc::now),
                // Due: last used two minutes ago, so this is the minute's first touch.
                1 => wsprune_touches(&mut touch_due, &ws, record_offset, || {
                    Utc::now() - chrono::Duration::minutes(2)
                }),
                6 => wsprune_touches(&mut touch_rich, &rich, rich_offset, Utc::now),
                7 => touch_rich_host.extend(c_floor(&[&"host-touch", &rich, &made, &n, &rich_off, &stamp])),
                2 => touch_floor.extend(c_floor(&[&"touch", &cdir, &made, &n, &off, &stamp])),
                3 => touch_host.extend(c_floor(&[&"host-touch", &ws, &made, &n, &record_off, &stamp])),
                4 => touch_safe.extend(c_floor(&[&"safe-touch", &cdir, &made, &n, &off, &stamp])),
                _ => touch_naive.extend(c_floor(&[&"naive-touch", &ndir, &made, &n, &json_file])),
            }
        }
    }
    std::fs::remove_dir_all(work).expect("remove latency dir");
    Results {
        creates: create.len(),
        touches: touch.len(),
        create: Latency::of(&create),
        create_floor: Latency::of(&create_floor),
        create_host_floor: Latency::of(&create_host),
        create_naive: Latency::of(&create_naive),
        touch: Latency::of(&touch),
        touch_due: Latency::of(&touch_due),
        touch_floor: Latency::of(&touch_floor),
        touch_host_floor: Latency::of(&touch_host),
        touch_safe_floor: Latency::of(&touch_safe),
        touch_naive: Latency::of(&touch_naive),
        touch_retention: Latency::of(&touch_rich),
        touch_retention_host_floor: Latency::of(&touch_rich_host),
    }
}

/// Rewrites the record at `path` with three labels, an idle TTL, an
/// absolute expiry and a pin, as `pin`, `ttl` and a label update would leave
/// it (the canonical layout: `updated_at` stays where a touch patches it).
fn with_retention_fields(path: &Path) {
    let mut m = wsprune::SessionMetadata::from_json(&std::fs::read(path).expect("read a record")).expect("a record");
    let now = Utc::now();
    let r = &mut m.retention;
    for (k, v) in [
        ("owner", "tenant-0042"),
        ("tier", "pro"),
        ("example.com/team", "sandbox"),
    ] {
        r.labels.insert(k.into(), v.into());
    }
    r.idle_ttl_seconds = Some(3600);
    r.expires_at = Some(now + chrono::Duration::days(7));
    r.pinned = true;
    r.pinned_until = Some(now + chrono::Duration::days(1));
    std::fs::write(path, m.to_json()).expect("write a record");
}

/// Overwrites the fixed-width `updated_at` of the record at `path` (at
/// `offset`) with `t`, as a touch at time `t` would have.
fn set_updated_at(path: &Path, offset: usize, t: DateTime<Utc>) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open a record");
    file.write_all_at(wsprune::metadata::format_timestamp(t).as_bytes(), offset as u64)
        .expect("write a record's updated_at");
}
