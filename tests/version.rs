//! One version everywhere: Cargo.toml's version is the source;
//! the header's macros, pyproject.toml, package.json (and its lock file), the
//! pom and every version-bearing name in the READMEs, docs/ and RELEASING.md must
//! equal it. A release bumps Cargo.toml, runs `make header`, and this test
//! names every other place still to change.

use std::path::Path;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text between the first `start` at or after `from` and the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = text.find(start)? + start.len();
    let j = text[i..].find(end)? + i;
    Some(&text[i..j])
}

/// A version written right at the start of `s`: `N.N.N`, with a `-SUFFIX`
/// in capitals such as `-SNAPSHOT` (not the platform words of a file name
/// such as `wsprune-0.4.0-x86_64-linux-gnu.tar.gz`), if any.
fn version_at(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = 0;
    for part in 0..3 {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        if part < 2 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    if b.get(i) == Some(&b'-') {
        let n = b[i + 1..].iter().take_while(|c| c.is_ascii_uppercase()).count();
        if n > 0 {
            i += 1 + n;
        }
    }
    Some(&s[..i])
}

/// Every version written after one of the names a release artifact or a
/// dependency on wsprune carries, with its line number.
fn artifact_versions(text: &str) -> Vec<(usize, String)> {
    const MARKERS: [&str; 6] = [
        "wsprune-",
        "wsprune_",
        "libwsprune.so.",
        "dev.wsprune:wsprune:",
        "wsprune==",
        "<artifactId>wsprune</artifactId>",
    ];
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for marker in MARKERS {
            for (i, _) in line.match_indices(marker) {
                let rest = &line[i + marker.len()..];
                // A pom snippet: the <version> on the same or the next line.
                let rest = if marker.starts_with('<') {
                    let next = text.lines().nth(n + 1).unwrap_or("");
                    match between(&format!("{rest}{next}"), "<version>", "</version>") {
                        Some(v) => v.to_string(),
                        None => continue,
                    }
                } else {
                    rest.to_string()
                };
                if let Some(v) = version_at(&rest) {
                    found.push((n + 1, v.to_string()));
                }
            }
        }
    }
    found
}

#[test]
fn scanner_finds_artifact_versions_and_ignores_other_names() {
    let text = "tar xf wsprune-0.3.9-x86_64-linux-gnu.tar.gz\n\
                pip install wsprune-1.2.3-py3-none-manylinux_2_17_x86_64.whl\n\
                <artifactId>wsprune</artifactId>\n  <version>0.4.0-SNAPSHOT</version>\n\
                wsprune-static.pc and wsprune-prune.service, since 0.3.0\n\
                lib/libwsprune.so.0 and lib/libwsprune.so.0.4.0\n";
    let got: Vec<String> = artifact_versions(text).into_iter().map(|(_, v)| v).collect();
    assert_eq!(got, ["0.3.9", "1.2.3", "0.4.0-SNAPSHOT", "0.4.0"]);
}

#[test]
fn every_manifest_has_the_crate_version() {
    let header = read("include/wsprune.h");
    assert_eq!(
        between(&header, "#define WSPRUNE_VERSION \"", "\""),
        Some(VERSION),
        "include/wsprune.h: regenerate it with `make header`"
    );
    let pyproject = read("bindings/python/pyproject.toml");
    assert_eq!(
        between(&pyproject, "\nversion = \"", "\""),
        Some(VERSION),
        "bindings/python/pyproject.toml"
    );
    for file in ["bindings/node/package.json", "bindings/node/package-lock.json"] {
        let text = read(file);
        // package.json's own version, and the lock file's two copies of it.
        let own: Vec<&str> = text
            .match_indices("\"name\": \"wsprune\"")
            .filter_map(|(i, _)| between(&text[i..], "\"version\": \"", "\""))
            .collect();
        assert!(!own.is_empty(), "{file}: no version");
        assert!(own.iter().all(|v| *v == VERSION), "{file}: {own:?}, want {VERSION}");
    }
    let lock = read("bindings/node/package-lock.json");
    assert_eq!(
        between(&lock, "\"packages\": {\n    \"\": {", "}").and_then(|s| between(s, "\"version\": \"", "\"")),
        Some(VERSION)
    );
    let pom = read("bindings/java/pom.xml");
    let project_version =
        between(&pom, "<artifactId>wsprune</artifactId>", "</version>").and_then(|s| s.split("<version>").nth(1));
    assert_eq!(
        project_version,
        Some(VERSION),
        "bindings/java/pom.xml (a release has no -SNAPSHOT)"
    );
}

#[test]
fn every_readme_names_the_crate_version() {
    let mut files = vec!["README.md".to_string(), "RELEASING.md".to_string()];
    files.extend(["go", "python", "node", "java"].map(|b| format!("bindings/{b}/README.md")));
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    for entry in std::fs::read_dir(&docs).expect("docs/") {
        let name = entry
            .expect("docs/ entry")
            .file_name()
            .into_string()
            .expect("UTF-8 name");
        if name.ends_with(".md") {
            files.push(format!("docs/{name}"));
        }
    }
    let mut wrong = Vec::new();
    for file in &files {
        if !Path::new(env!("CARGO_MANIFEST_DIR")).join(file).exists() && file == "RELEASING.md" {
            continue;
        }
        for (line, v) in artifact_versions(&read(file)) {
            if v != VERSION {
                wrong.push(format!("{file}:{line}: {v}"));
            }
        }
    }
    assert!(wrong.is_empty(), "versions other than {VERSION}:\n{}", wrong.join("\n"));
}
