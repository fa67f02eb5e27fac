//! Property tests: the front end never panics and always terminates, whatever the input.
//! Arbitrary bytes (read lossily as UTF-8) and random mutations of the fixture scripts are
//! parsed, rendered as a tree and as diagnostics; every error span must lie inside the source.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use proptest::prelude::*;
use trestle_deluge_syntax::{diagnostic, parse, parse_expression, sexpr};

fn check(source: &str) {
    let parsed = parse(source);
    let length = source.len() as u32;
    for error in &parsed.errors {
        assert!(
            error.span.start <= error.span.end,
            "inverted span {:?}",
            error
        );
        assert!(error.span.end <= length, "span past the end {:?}", error);
        assert!(!error.message().is_empty());
    }
    assert!(parsed.script.span.end <= length);
    let _ = sexpr::script_to_sexpr(&parsed.script);
    let _ = diagnostic::render_text("fuzz.dg", source, &parsed.errors);
    let _ = diagnostic::render_json("fuzz.dg", source, &parsed.errors);
    let _ = parse_expression(source);
}

fn fixtures() -> &'static [String] {
    static FIXTURES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    FIXTURES.get_or_init(read_fixtures)
}

fn read_fixtures() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut sources = Vec::new();
    for kind in ["valid", "invalid"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(kind))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            sources.push(std::fs::read_to_string(path).unwrap());
        }
    }
    sources
}

/// Fragments that tend to break parsers: openers without closers, keywords, quotes.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ";",
    ",",
    ":",
    ".",
    "\"",
    "'",
    "/*",
    "*/",
    "//",
    "\n",
    "if",
    "else",
    "for each",
    "index",
    "in",
    "not in",
    "try",
    "catch",
    "return",
    "info",
    "=",
    "+=",
    "==",
    "!",
    "-",
    "invokeurl [",
    "sendmail [",
    "insert into F [",
    "delete from",
    "zoho.",
    "thisapp.",
    "Map(",
    "List:",
    "if(",
    "ifnull(",
    "sort by",
    "range from",
    "is null",
    "?",
    "#",
    "\u{200b}",
    "é",
    "99999999999999999999",
    "1.5",
    "void f(",
    "x",
    "a.b(",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, length: usize },
    Insert { at: usize, fragment: usize },
    Duplicate { at: usize, length: usize },
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1usize..20).prop_map(|(at, length)| Edit::Delete { at, length }),
        (any::<usize>(), 0..FRAGMENTS.len())
            .prop_map(|(at, fragment)| Edit::Insert { at, fragment }),
        (any::<usize>(), 1usize..40).prop_map(|(at, length)| Edit::Duplicate { at, length }),
    ]
}

fn apply(source: &str, edits: &[Edit]) -> String {
    let mut characters: Vec<char> = source.chars().collect();
    for edit in edits {
        let length = characters.len();
        match *edit {
            Edit::Delete { at, length: count } => {
                if length > 0 {
                    let start = at % length;
                    let end = (start + count).min(length);
                    characters.drain(start..end);
                }
            }
            Edit::Insert { at, fragment } => {
                let position = if length == 0 { 0 } else { at % (length + 1) };
                let inserted: Vec<char> = FRAGMENTS[fragment].chars().collect();
                characters.splice(position..position, inserted);
            }
            Edit::Duplicate { at, length: count } => {
                if length > 0 {
                    let start = at % length;
                    let end = (start + count).min(length);
                    let copy: Vec<char> = characters[start..end].to_vec();
                    characters.splice(end..end, copy);
                }
            }
        }
    }
    characters.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_token_soup_never_panics(pieces in proptest::collection::vec(0..FRAGMENTS.len(), 0..80)) {
        let source: String = pieces.iter().map(|index| FRAGMENTS[*index]).collect::<Vec<_>>().join(" ");
        check(&source);
    }

    #[test]
    fn mutated_fixtures_never_panic(which in any::<usize>(), edits in proptest::collection::vec(edit_strategy(), 1..8)) {
        let sources = fixtures();
        let source = &sources[which % sources.len()];
        check(&apply(source, &edits));
    }
}

#[test]
fn pathological_nesting_is_bounded() {
    for opener in [
        "(",
        "{",
        "[",
        "if(",
        "a.b(",
        "!",
        "-",
        "if (x) {",
        "invokeurl [ url: ",
        "Map(",
    ] {
        let source = opener.repeat(20_000);
        check(&source);
        let parsed = parse(&source);
        assert!(!parsed.errors.is_empty(), "{opener}");
    }
}
