//! The committed include/wsprune.h must be exactly what cbindgen generates
//! from src/ffi/ (the C API's sources only: the core's items never reach it),
//! and names nothing but the C API's own. Regenerate with
//! `WSPRUNE_BLESS=1 cargo test --test header`.

use std::path::Path;

#[test]
fn committed_header_is_what_cbindgen_generates() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    config.after_includes = Some(version_macros());
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_src(crate_dir.join("src/ffi/mod.rs"))
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

/// Every name the header defines is the C API's own (`WSPRUNE_*` constants,
/// `wsprune_*` types and functions): no constant of the core leaks into it.
#[test]
fn the_header_names_only_the_c_apis_own() {
    let header = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/wsprune.h")).unwrap();
    let mut defines = 0;
    let mut declared_count = 0;
    for line in header.lines() {
        if let Some(rest) = line.strip_prefix("#define ") {
            let name = rest.split_whitespace().next().unwrap();
            if name != "WSPRUNE_H" {
                defines += 1;
                assert!(
                    name.starts_with("WSPRUNE_"),
                    "the header defines {name}, not the C API's own"
                );
            }
        }
        // `typedef struct NAME ...`, `typedef enum NAME {`, and prototypes `TYPE NAME(...);`.
        let declared = match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["typedef", "struct" | "enum", name, ..] => Some(name),
            _ if line.ends_with(");") && !line.starts_with(' ') && !line.starts_with("typedef") => {
                line.split('(').next().unwrap().rsplit([' ', '*']).next()
            }
            _ => None,
        };
        if let Some(name) = declared {
            declared_count += 1;
            assert!(
                name.starts_with("wsprune_"),
                "the header declares {name}, not the C API's own"
            );
        }
    }
    assert!(
        defines >= 5 && declared_count >= 40,
        "found only {defines} constants and {declared_count} declarations: the parser is broken"
    );
}

/// The header's version macros, derived from Cargo.toml's version (the one
/// source of the version; tests/version.rs checks every other place), so a
/// version bump regenerates them with the header.
fn version_macros() -> String {
    format!(
        "\n/** The version of wsprune this header belongs to (compare with wsprune_version() at run time). */\n\
         #define WSPRUNE_VERSION \"{}\"\n\
         #define WSPRUNE_VERSION_MAJOR {}\n\
         #define WSPRUNE_VERSION_MINOR {}\n\
         #define WSPRUNE_VERSION_PATCH {}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    )
}
