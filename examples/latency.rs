//! Create and touch latency, side by side with the floor: plain Rust doing the
//! same I/O without wsprune's checks (touch: open, read, 27-byte pwrite,
//! close; create: mkdir, exclusive create, write, close).
//!
//! `cargo run --release --example latency [DIR]` (DIR defaults to a temp dir
//! under /tmp; use one on the filesystem you care about). Not a test: the
//! numbers depend on the machine; compare the ratios.

use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::Instant;

fn stats(mut ns: Vec<u128>) -> (f64, f64) {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    (at(0.5), at(0.99))
}

fn main() {
    let base = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("wsprune-latency-{}", std::process::id()));
    let (ws, floor) = (dir.join("ws"), dir.join("floor"));
    std::fs::create_dir_all(&floor).unwrap();
    let n = 2000;
    let touches = 20_000;

    let mut ids = Vec::with_capacity(n);
    let mut t = Vec::with_capacity(n);
    for _ in 0..n {
        let s = Instant::now();
        ids.push(wsprune::create_session(&ws, None).unwrap());
        t.push(s.elapsed().as_nanos());
    }
    let create = stats(t);

    let json = wsprune::SessionMetadata::new(ids[0].clone(), chrono::Utc::now()).to_json();
    let mut t = Vec::with_capacity(n);
    for id in &ids {
        let s = Instant::now();
        let d = floor.join(id);
        std::fs::create_dir(&d).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(d.join(".metadata.json"))
            .unwrap();
        f.write_all(json.as_bytes()).unwrap();
        drop(f);
        t.push(s.elapsed().as_nanos());
    }
    let create_floor = stats(t);

    let mut t = Vec::with_capacity(touches);
    for i in 0..touches {
        let s = Instant::now();
        wsprune::touch_session(&ws, &ids[i % n]).unwrap();
        t.push(s.elapsed().as_nanos());
    }
    let touch = stats(t);

    let off = wsprune::metadata::parse(json.as_bytes())
        .unwrap()
        .updated_at_offset
        .unwrap() as u64;
    let stamp = wsprune::metadata::timestamp_bytes(chrono::Utc::now());
    let mut t = Vec::with_capacity(touches);
    let mut buf = [0u8; 4096];
    for i in 0..touches {
        let p = floor.join(&ids[i % n]).join(".metadata.json");
        let s = Instant::now();
        let mut f = std::fs::OpenOptions::new().read(true).write(true).open(&p).unwrap();
        let _ = f.read(&mut buf).unwrap();
        f.write_at(&stamp, off).unwrap();
        drop(f);
        t.push(s.elapsed().as_nanos());
    }
    let touch_floor = stats(t);

    println!("| operation | wsprune median (us) | p99 (us) | floor median (us) | p99 (us) | ratio of medians |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, (m, p), (fm, fp)) in [("create", create, create_floor), ("touch", touch, touch_floor)] {
        println!("| {name} | {m:.1} | {p:.1} | {fm:.1} | {fp:.1} | {:.2}x |", m / fm);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
