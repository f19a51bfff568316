//! `rust-version` in Cargo.toml must be true for the committed lockfile: at
//! least the highest `rust_version` any locked dependency declares (a
//! dependency update that raises it fails here, not on a user's older compiler).

use std::process::Command;

/// `major.minor[.patch]` as three numbers (a missing patch is 0).
fn parse(v: &str) -> [u64; 3] {
    let mut out = [0; 3];
    for (slot, part) in out.iter_mut().zip(v.split('.')) {
        *slot = part.parse().unwrap_or(0);
    }
    out
}

#[test]
fn rust_version_covers_every_locked_dependency() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = parse(env!("CARGO_PKG_RUST_VERSION"));
    let mut highest = ([0; 3], String::new());
    for p in meta["packages"].as_array().unwrap() {
        if let Some(v) = p["rust_version"].as_str() {
            let v = parse(v);
            if v > highest.0 {
                highest = (
                    v,
                    format!("{} {}", p["name"].as_str().unwrap(), p["version"].as_str().unwrap()),
                );
            }
        }
    }
    assert!(
        ours >= highest.0,
        "Cargo.toml says rust-version {} but {} needs {:?}",
        env!("CARGO_PKG_RUST_VERSION"),
        highest.1,
        highest.0
    );
}
