//! The docs are checked against the code and the tree: docs/events.md lists
//! every event the library emits with every field it carries, and nothing
//! that the library does not emit; every relative link in a Markdown file
//! leads to a file that exists (and to a heading of it, for `#anchor` links);
//! every path of the tree a Markdown file names exists; every test
//! SECURITY.md names as `file.rs::function` exists; and docs/layout.md names
//! every module of src/.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `emit(level, "name", || fields! {...})` call in `src/` (the tool
/// under src/bin emits nothing of its own): event name -> field names.
fn emitted() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                scan(&std::fs::read_to_string(&path).unwrap(), &mut out);
            }
        }
    }
    out
}

/// The string literals in `s`, in order.
fn literals(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut base = 0;
    while let Some(i) = rest.find('"') {
        let Some(len) = rest[i + 1..].find('"') else { break };
        out.push((base + i, &rest[i + 1..i + 1 + len]));
        base += i + len + 2;
        rest = &rest[i + len + 2..];
    }
    out
}

fn scan(src: &str, out: &mut BTreeMap<String, BTreeSet<String>>) {
    for (at, _) in src.match_indices("emit(") {
        let call = &src[at + 5..];
        // The call ends where its parentheses balance.
        let mut depth = 1;
        let end = call
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(i, _)| i)
            .unwrap();
        let call = &call[..end];
        let lits = literals(call);
        let Some((_, name)) = lits.first() else { continue };
        if !name.starts_with("session.") {
            continue; // the definition of emit itself, or a test helper
        }
        let fields = out.entry(name.to_string()).or_default();
        for (pos, lit) in &lits[1..] {
            if call[pos + lit.len() + 2..].trim_start().starts_with("=>") {
                fields.insert(lit.to_string());
            }
        }
    }
}

/// The events table of docs/events.md: event name -> the backticked words of its row.
fn documented() -> BTreeMap<String, String> {
    let page = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.md")).unwrap();
    page.lines()
        .filter_map(|l| l.strip_prefix("| `session."))
        .map(|l| {
            let name = format!("session.{}", &l[..l.find('`').unwrap()]);
            (name, l.to_string())
        })
        .collect()
}

#[test]
fn events_table_matches_the_code() {
    let emitted = emitted();
    let documented = documented();
    assert!(emitted.len() >= 10, "found only {emitted:?}");
    for (name, fields) in &emitted {
        let row = documented
            .get(name)
            .unwrap_or_else(|| panic!("docs/events.md lacks {name} (emitted with fields {fields:?})"));
        for f in fields {
            assert!(
                row.contains(&format!("`{f}`")),
                "docs/events.md's row for {name} lacks the field `{f}`"
            );
        }
    }
    for name in documented.keys() {
        assert!(
            emitted.contains_key(name),
            "docs/events.md lists {name}, which the library never emits"
        );
    }
}

/// Every Markdown file of the repository (not build output or installed packages).
fn markdown_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    dirs.push(path);
                }
            } else if name.ends_with(".md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The lines of a Markdown text outside fenced code blocks.
fn outside_fences(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            let fence = line.trim_start().starts_with("```");
            fenced ^= fence;
            !fence && !fenced
        })
        .collect()
}

/// The prose lines of a Markdown text, with `code spans` removed (a link inside one is not a link).
fn prose(text: &str) -> Vec<String> {
    outside_fences(text)
        .into_iter()
        .map(|line| line.split('`').step_by(2).collect::<Vec<_>>().join(""))
        .collect()
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    outside_fences(text)
        .into_iter()
        .filter(|line| line.starts_with('#'))
        .map(|line| anchor(line.trim_start_matches('#')))
        .collect()
}

/// The targets of the inline links `[text](target)` of a line.
fn link_targets(line: &str) -> Vec<&str> {
    line.match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &line[i + 2..];
            rest.find(')').map(|end| rest[..end].trim())
        })
        .collect()
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = markdown_files();
    assert!(files.iter().any(|f| f.ends_with("docs/c-api.md")), "found {files:?}");
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for line in prose(&text) {
            for target in link_targets(&line) {
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, frag) = target.split_once('#').unwrap_or((target, ""));
                let dest = if path.is_empty() {
                    file.clone()
                } else {
                    file.parent().unwrap().join(path)
                };
                let shown = file.strip_prefix(root).unwrap().display();
                if !dest.exists() {
                    broken.push(format!("{shown}: {target}: no such file"));
                } else if !frag.is_empty()
                    && dest.extension().is_some_and(|e| e == "md")
                    && !anchors(&std::fs::read_to_string(&dest).unwrap()).contains(frag)
                {
                    broken.push(format!("{shown}: {target}: no such heading"));
                }
            }
        }
    }
    assert_clean(checked, 50, &broken, "broken links");
}

/// The repository paths a Markdown text names (`src/...`, `tests/...`, `docs/...`
/// and the like, in code spans or prose), without glob patterns or placeholders.
fn named_paths(text: &str) -> Vec<String> {
    const ROOTS: [&str; 10] = [
        "src/",
        "tests/",
        "docs/",
        "bindings/",
        "include/",
        "examples/",
        "contrib/",
        "bench/",
        "benches/",
        ".ci/",
    ];
    let mut out = Vec::new();
    for line in outside_fences(text) {
        for (i, _) in line.char_indices() {
            let rest = &line[i..];
            let boundary = line[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && !"_./-".contains(c));
            if !boundary || !ROOTS.iter().any(|r| rest.starts_with(r)) {
                continue;
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || "_./-".contains(*c))
                .collect();
            let path = path.trim_end_matches(['.', '-']);
            let after = &rest[path.len()..];
            if after.starts_with(['*', '<', '{', '$']) || path.contains("..") || path.contains("/target/") {
                continue; // a pattern, a placeholder or build output, not a path of the tree
            }
            out.push(path.to_string());
        }
    }
    out
}

#[test]
fn every_path_a_doc_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let shown = file.strip_prefix(root).unwrap().display().to_string();
        // Each binding's README names paths inside the binding, relative to it.
        let base = if shown.starts_with("bindings/") {
            file.parent().unwrap()
        } else {
            root
        };
        for path in named_paths(&std::fs::read_to_string(&file).unwrap()) {
            checked += 1;
            if !root.join(&path).exists() && !base.join(&path).exists() {
                missing.push(format!("{shown}: {path}"));
            }
        }
    }
    assert_clean(checked, 100, &missing, "docs name files that do not exist");
}

/// SECURITY.md names the test of each promise as `file.rs::function`: each
/// is a test that exists, under that name, in that file of tests/.
#[test]
fn every_test_security_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("SECURITY.md")).unwrap();
    let mut missing = Vec::new();
    let mut checked = 0;
    for (i, _) in text.match_indices(".rs::") {
        let file_start = text[..i]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |j| j + 1);
        let file = &text[file_start..i];
        let func: String = text[i + 5..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let path = root.join("tests").join(format!("{file}.rs"));
        let Ok(source) = std::fs::read_to_string(&path) else {
            missing.push(format!("{file}.rs::{func}: no tests/{file}.rs"));
            continue;
        };
        checked += 1;
        if !source.contains(&format!("fn {func}(")) {
            missing.push(format!("{file}.rs::{func}: no such function in tests/{file}.rs"));
        }
    }
    assert_clean(checked, 30, &missing, "SECURITY.md names tests that do not exist");
}

/// Fails with `headline` and every problem found, or if fewer than `min`
/// things were checked at all (a scanner that finds nothing proves nothing).
fn assert_clean(checked: usize, min: usize, problems: &[String], headline: &str) {
    assert!(checked >= min, "only {checked} checked: the scanner is broken");
    assert!(problems.is_empty(), "{headline}:\n{}", problems.join("\n"));
}

/// A reader finds where a thing lives from docs/layout.md: it has a row for
/// every module directly in src/ (src/ffi/ and src/bin/ have one row each).
#[test]
fn the_layout_names_every_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let layout = std::fs::read_to_string(root.join("docs/layout.md")).unwrap();
    let mut missing = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("src")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let path = if name.ends_with(".rs") {
            format!("src/{name}")
        } else {
            format!("src/{name}/")
        };
        checked += 1;
        if !layout.contains(&format!("| `{path}")) {
            missing.push(path);
        }
    }
    assert_clean(checked, 15, &missing, "docs/layout.md has no row for");
}
