//! The committed include/wsprune.h must be exactly what cbindgen generates
//! from src/ffi/. Regenerate with `WSPRUNE_BLESS=1 cargo test --test header`.

use std::path::Path;

#[test]
fn committed_header_is_what_cbindgen_generates() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = crate_dir.join("include/wsprune.h");
    if std::env::var_os("WSPRUNE_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write header");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/wsprune.h is stale: regenerate it with `WSPRUNE_BLESS=1 cargo test --test header` and commit it"
    );
}
