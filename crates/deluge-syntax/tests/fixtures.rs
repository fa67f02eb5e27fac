//! Data-driven parser tests: every `tests/fixtures/valid/*.dg` must parse without errors and
//! every `tests/fixtures/invalid/*.dg` must report at least one. Each file's compact tree and
//! rendered diagnostics are compared with an insta snapshot in `tests/snapshots/`.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use trestle_deluge_syntax::{diagnostic, parse, sexpr};

fn fixture_files(kind: &str) -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "dg"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", folder.display());
    files
}

fn snapshot_text(name: &str, source: &str) -> (String, usize) {
    let parsed = parse(source);
    let mut text = String::from("## Tree\n");
    text.push_str(&sexpr::script_to_sexpr(&parsed.script));
    text.push_str("\n## Errors\n");
    if parsed.errors.is_empty() {
        text.push_str("(none)\n");
    } else {
        text.push_str(&diagnostic::render_text(name, source, &parsed.errors));
    }
    (text, parsed.errors.len())
}

fn run(kind: &str) {
    let mut failures = Vec::new();
    for path in fixture_files(kind) {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let source = std::fs::read_to_string(&path).unwrap();
        let (text, error_count) = snapshot_text(&name, &source);
        match (kind, error_count) {
            ("valid", count) if count > 0 => {
                failures.push(format!("{name}: {count} errors\n{text}"))
            }
            ("invalid", 0) => failures.push(format!("{name}: expected errors, found none")),
            _ => {}
        }
        let stem = name.trim_end_matches(".dg");
        insta::with_settings!({
            snapshot_path => "snapshots",
            prepend_module_to_snapshot => false,
            description => format!("tests/fixtures/{kind}/{name}"),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{kind}__{stem}"), text);
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_fixtures_parse_cleanly() {
    run("valid");
}

#[test]
fn invalid_fixtures_report_errors() {
    run("invalid");
}

#[test]
fn json_diagnostics_carry_code_line_and_column() {
    let source = "a = 1\nb = 2;";
    let parsed = parse(source);
    let json = diagnostic::render_json("script.dg", source, &parsed.errors);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value[0]["code"], "EXPECTED_TOKEN");
    assert_eq!(value[0]["line"], 1);
    assert_eq!(value[0]["column"], 6);
    assert_eq!(value[0]["path"], "script.dg");
    assert_eq!(
        value[0]["message"],
        "expected `;` after statement, found `b`"
    );
}
