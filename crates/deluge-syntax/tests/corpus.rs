//! Every real-world Deluge function script in the corpus parses without error, except those
//! listed (with a reason) in `corpus-known-invalid.tsv`. The corpus lives outside the
//! repository; `TRESTLE_DELUGE_CORPUS` names its folder (scripts/test.sh sets it).
//!
//! `.ds` files are whole Creator application exports, not Deluge scripts: they are parsed
//! only to prove the parser does not panic on them.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use trestle_deluge_syntax::{diagnostic, parse};

const KNOWN_INVALID: &str = include_str!("corpus-known-invalid.tsv");

fn known_invalid() -> BTreeMap<String, String> {
    KNOWN_INVALID
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let (name, reason) = line.split_once('\t')?;
            Some((name.trim().to_string(), reason.trim().to_string()))
        })
        .collect()
}

fn corpus_folder() -> Option<PathBuf> {
    match std::env::var_os("TRESTLE_DELUGE_CORPUS") {
        Some(folder) => Some(PathBuf::from(folder)),
        None => {
            if std::env::var("CI").is_ok_and(|value| value == "true") {
                panic!("TRESTLE_DELUGE_CORPUS is not set; CI must run the corpus test");
            }
            eprintln!(
                "\n==========\nSKIPPED: corpus_scripts_parse needs TRESTLE_DELUGE_CORPUS \
                 (the folder of real Deluge scripts; scripts/test.sh sets it)\n==========\n"
            );
            None
        }
    }
}

fn script_files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("cannot read corpus folder {}: {error}", folder.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            matches!(
                path.extension().and_then(|ext| ext.to_str()),
                Some("dg" | "ds")
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_scripts_parse() {
    let Some(folder) = corpus_folder() else {
        return;
    };
    let known = known_invalid();
    let mut unexpected_errors = Vec::new();
    let mut unexpectedly_clean = Vec::new();
    let mut clean = 0;
    let mut listed = 0;
    let mut exports = 0;
    let mut seen = std::collections::BTreeSet::new();
    for path in script_files(&folder) {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default()
            .to_string();
        let bytes = std::fs::read(&path).unwrap();
        let source = String::from_utf8_lossy(&bytes);
        let parsed = parse(&source);
        if name.ends_with(".ds") {
            exports += 1;
            continue;
        }
        seen.insert(name.clone());
        match (known.contains_key(&name), parsed.errors.is_empty()) {
            (false, true) => clean += 1,
            (true, false) => listed += 1,
            (false, false) => {
                let first = diagnostic::render_text(&name, &source, &parsed.errors[..1]);
                unexpected_errors.push(format!("{} errors; first:\n{first}", parsed.errors.len()));
            }
            (true, true) => unexpectedly_clean.push(name),
        }
    }
    let missing: Vec<&String> = known.keys().filter(|name| !seen.contains(*name)).collect();
    eprintln!(
        "corpus: {clean} scripts parse cleanly, {listed} listed as not valid Deluge, \
         {exports} .ds exports parsed without panic"
    );
    assert!(
        unexpected_errors.is_empty() && unexpectedly_clean.is_empty() && missing.is_empty(),
        "{} unlisted scripts have errors:\n{}\n{} listed scripts now parse cleanly \
         (remove them from corpus-known-invalid.tsv): {:?}\nlisted but missing: {:?}",
        unexpected_errors.len(),
        unexpected_errors.join("\n"),
        unexpectedly_clean.len(),
        unexpectedly_clean,
        missing
    );
}
