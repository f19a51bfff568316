//! The README's events table is checked against the code: every event the
//! library emits is listed with every field it carries, and nothing is
//! listed that the library does not emit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

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

/// The README's events table: event name -> the backticked words of its row.
fn documented() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = readme.split("### Events").nth(1).expect("README has an Events section");
    let table = table.split("\n#").next().unwrap();
    table
        .lines()
        .filter_map(|l| l.strip_prefix("| `session."))
        .map(|l| {
            let name = format!("session.{}", &l[..l.find('`').unwrap()]);
            (name, l.to_string())
        })
        .collect()
}

#[test]
fn readme_events_table_matches_the_code() {
    let emitted = emitted();
    let documented = documented();
    assert!(emitted.len() >= 10, "found only {emitted:?}");
    for (name, fields) in &emitted {
        let row = documented
            .get(name)
            .unwrap_or_else(|| panic!("README's events table lacks {name} (emitted with fields {fields:?})"));
        for f in fields {
            assert!(
                row.contains(&format!("`{f}`")),
                "README's row for {name} lacks the field `{f}`"
            );
        }
    }
    for name in documented.keys() {
        assert!(
            emitted.contains_key(name),
            "README lists {name}, which the library never emits"
        );
    }
}
