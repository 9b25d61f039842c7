//! The table of compile-time checks in the rustdoc of `#[ws_route]`
//! (`macros/src/compile_checks.md`) names every compile-fail test, each
//! once, and no other: a new misuse class cannot go undocumented.

use std::collections::BTreeSet;
use std::path::Path;

fn fail_tests(dir: &Path, topic: &str, found: &mut BTreeSet<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            fail_tests(&path, &name, found);
        } else if name.ends_with(".rs") {
            found.insert(format!("{topic}/{name}").trim_start_matches('/').to_owned());
        }
    }
}

#[test]
fn every_fail_test_is_in_the_table_once() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut tests = BTreeSet::new();
    fail_tests(&root.join("tests/fail"), "", &mut tests);
    let table = std::fs::read_to_string(root.join("../macros/src/compile_checks.md")).unwrap_or_default();
    let mut listed = BTreeSet::new();
    let mut twice = Vec::new();
    for row in table.lines().filter(|l| l.starts_with('|')) {
        for name in row.split('`').skip(1).step_by(2).filter(|s| s.ends_with(".rs")) {
            if !listed.insert(name.to_owned()) {
                twice.push(name.to_owned());
            }
        }
    }
    let missing: Vec<_> = tests.difference(&listed).collect();
    let unknown: Vec<_> = listed.difference(&tests).collect();
    assert!(
        missing.is_empty() && unknown.is_empty() && twice.is_empty(),
        "compile_checks.md is out of date: not listed {missing:?}, no such test {unknown:?}, listed twice {twice:?}"
    );
    assert!(tests.len() >= 75, "{} misuse classes", tests.len());
}
