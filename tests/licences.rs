//! One licence everywhere: `MIT OR Apache-2.0`, with both texts
//! at the root, declared the same way by every manifest, and the copies that
//! a package built from a subdirectory carries equal to the root's. Which
//! artifact carries them is `make test-dist`'s check (packaging/test-dist.sh).

use std::path::Path;

const SPDX: &str = "MIT OR Apache-2.0";
const TEXTS: [&str; 2] = ["LICENSE-MIT", "LICENSE-APACHE"];

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_root_has_both_licence_texts() {
    assert!(read("LICENSE-MIT").contains("Permission is hereby granted, free of charge"));
    assert!(
        read("LICENSE-APACHE").contains("Apache License")
            && read("LICENSE-APACHE").contains("Version 2.0, January 2004")
    );
}

/// The Go module is zipped from bindings/go/ alone and the go command leaves
/// symlinks out of module zips, so it holds real copies; Python's are links
/// that setuptools resolves. Either way each must read as the root's text.
#[test]
fn the_bindings_copies_equal_the_root_texts() {
    for dir in ["bindings/go", "bindings/python"] {
        for text in TEXTS {
            assert_eq!(
                read(&format!("{dir}/{text}")),
                read(text),
                "{dir}/{text} differs from the root's {text}: copy it again"
            );
        }
    }
    for text in TEXTS {
        let meta = std::fs::symlink_metadata(Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/go").join(text))
            .expect("bindings/go licence");
        assert!(
            meta.is_file(),
            "bindings/go/{text} must be a file: a module zip leaves symlinks out"
        );
    }
}

#[test]
fn every_manifest_declares_the_spdx_expression() {
    let cargo = read("Cargo.toml");
    assert!(cargo.contains(&format!("\nlicense = \"{SPDX}\"\n")), "Cargo.toml");
    let pyproject = read("bindings/python/pyproject.toml");
    // PEP 639: an SPDX string, not the deprecated `license = { text = ... }` table.
    assert!(
        pyproject.contains(&format!("\nlicense = \"{SPDX}\"\n")),
        "pyproject.toml"
    );
    assert!(
        !pyproject.contains("license = {"),
        "pyproject.toml: the deprecated licence table"
    );
    assert!(
        pyproject.contains("license-files = [\"LICENSE-MIT\", \"LICENSE-APACHE\"]"),
        "pyproject.toml"
    );
    let package = read("bindings/node/package.json");
    assert!(package.contains(&format!("\"license\": \"{SPDX}\"")), "package.json");
    for text in TEXTS {
        assert!(
            package.contains(&format!("\"{text}\"")),
            "package.json's files lack {text}"
        );
    }
    let pom = read("bindings/java/pom.xml");
    let licences = pom
        .split("<licenses>")
        .nth(1)
        .and_then(|s| s.split("</licenses>").next())
        .expect("pom.xml: <licenses>");
    assert!(
        licences.contains("<name>MIT</name>") && licences.contains("<name>Apache-2.0</name>"),
        "pom.xml"
    );
}
