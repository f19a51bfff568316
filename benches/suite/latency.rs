//! Create and touch latency: wsprune against the plain-C floor, the safe
//! C floor of a checked touch (the checks wsprune makes, nothing else) and the naive
//! write-temp-and-rename design (benches/floor.c), interleaved in blocks so a
//! disk that drifts during the run affects every contender alike.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

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
    pub create_naive: Latency,
    pub touch: Latency,
    pub touch_floor: Latency,
    /// The least a checked touch must do (benches/floor.c `safe-touch`).
    pub touch_safe_floor: Latency,
    pub touch_naive: Latency,
}

const BLOCKS: usize = 4;

/// Compiles benches/floor.c with `cc -O2` into `work` and measures in `work`.
pub fn measure(work: &Path, creates: usize, touches: usize) -> Results {
    std::fs::create_dir_all(work).expect("latency dir");
    let floor = work.join("floor");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/floor.c");
    measure::run(Command::new("cc").arg("-O2").arg("-o").arg(&floor).arg(&src));
    let (ws, cdir, ndir) = (work.join("wsprune"), work.join("floor-ws"), work.join("naive-ws"));
    for d in [&cdir, &ndir] {
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

    let ids: Vec<String> = (0..creates).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let (mut create, mut create_floor, mut create_naive) = (Vec::new(), Vec::new(), Vec::new());
    let per = creates / BLOCKS;
    for b in 0..BLOCKS {
        let first = b * per;
        let (f, n) = (first.to_string(), per.to_string());
        // Rotate which contender goes first in each block.
        for k in 0..3 {
            match (b + k) % 3 {
                0 => {
                    for id in &ids[first..first + per] {
                        let s = Instant::now();
                        wsprune::create_session(&ws, Some(id)).expect("create_session");
                        create.push(s.elapsed().as_nanos() as f64);
                    }
                }
                1 => create_floor.extend(c_floor(&[&"create", &cdir, &f, &n, &json_file])),
                _ => create_naive.extend(c_floor(&[&"naive-create", &ndir, &f, &n, &json_file])),
            }
        }
    }

    let made = (per * BLOCKS).to_string();
    let (mut touch, mut touch_floor, mut touch_safe, mut touch_naive) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let per_t = touches / BLOCKS;
    let n = per_t.to_string();
    let off = offset.to_string();
    for b in 0..BLOCKS {
        for k in 0..4 {
            match (b + k) % 4 {
                0 => {
                    for i in 0..per_t {
                        let id = &ids[i % (per * BLOCKS)];
                        let s = Instant::now();
                        wsprune::touch_session(&ws, id).expect("touch_session");
                        touch.push(s.elapsed().as_nanos() as f64);
                    }
                }
                1 => touch_floor.extend(c_floor(&[&"touch", &cdir, &made, &n, &off, &stamp])),
                2 => touch_safe.extend(c_floor(&[&"safe-touch", &cdir, &made, &n, &off, &stamp])),
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
        create_naive: Latency::of(&create_naive),
        touch: Latency::of(&touch),
        touch_floor: Latency::of(&touch_floor),
        touch_safe_floor: Latency::of(&touch_safe),
        touch_naive: Latency::of(&touch_naive),
    }
}
