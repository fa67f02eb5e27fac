//! End-to-end tests of `trestle deluge ...` through the built binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn trestle(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trestle"))
        .args(arguments)
        .current_dir(repository_root())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn run_prints_info_lines_then_the_return_value() {
    let output = trestle(&[
        "deluge",
        "run",
        "examples/hello.dg",
        "--arg",
        "name=\"Bigin\"",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"Hello, Bigin!"), "{text}");
    assert_eq!(lines.last(), Some(&"13"), "{text}");
}

#[test]
fn run_replays_the_seed_script_from_a_cassette() {
    let Some(seed_folder) = trestle_testkit::variable_or_skip(
        "TRESTLE_SEED_DIR",
        "run_replays_the_seed_script_from_a_cassette",
    ) else {
        return;
    };
    let seed = PathBuf::from(seed_folder).join("sync-contact-to-books.dg");
    let cassette = repository_root().join("crates/functions/tests/cassettes/seed-contact-new.json");
    let output = trestle(&[
        "deluge",
        "run",
        seed.to_str().unwrap(),
        "--arg",
        r#"contact={"Contacts.ID":"4876876000000624002"}"#,
        "--replay",
        cassette.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        concat!(
            "Searched by name in Books: {\"code\":0,\"message\":\"success\",\"contacts\":[]}\n",
            "Created Contact: {\"code\":0,\"message\":\"The contact has been added.\",\"contact\":{\"contact_id\":\"460000000026077\"}}\n",
            "null\n"
        )
    );

    // The other contact does not match the cassette: a clear error naming the field.
    let output = trestle(&[
        "deluge",
        "run",
        seed.to_str().unwrap(),
        "--arg",
        r#"contact={"Contacts.ID":"1"}"#,
        "--replay",
        cassette.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(error.contains("CASSETTE_MISMATCH"), "{error}");
    assert!(
        error.contains("request.arguments[1]: expected \"4876876000000624002\", got \"1\""),
        "{error}"
    );
}

#[test]
fn run_reports_runtime_errors_with_their_location() {
    let folder = std::env::temp_dir().join(format!("trestle-cli-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let script = folder.join("fails.dg");
    std::fs::write(&script, "info \"start\";\nx = 10 / 0;\n").unwrap();
    let output = trestle(&["deluge", "run", script.to_str().unwrap()]);
    std::fs::remove_dir_all(&folder).unwrap();
    assert!(!output.status.success());
    assert_eq!(stdout(&output), "start\n");
    let error = stderr(&output);
    assert!(
        error.contains("fails.dg:2:5: error[DELUGE_DIVIDE_BY_ZERO]: Divide by zero"),
        "{error}"
    );
    assert!(error.contains("2 | x = 10 / 0;"), "{error}");
}

#[test]
fn run_refuses_connections_without_a_server() {
    let folder = std::env::temp_dir().join(format!("trestle-cli-conn-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let script = folder.join("conn.dg");
    std::fs::write(
        &script,
        "r = invokeurl\n[\n\turl :\"https://books.zoho.com/api/v3/contacts\"\n\ttype :GET\n\tconnection:\"app__books\"\n];\n",
    )
    .unwrap();
    let output = trestle(&["deluge", "run", script.to_str().unwrap()]);
    std::fs::remove_dir_all(&folder).unwrap();
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(error.contains("connection \"app__books\""), "{error}");
    assert!(error.contains("--server"), "{error}");
}

#[test]
fn check_summarizes_folders_and_fails_on_errors() {
    let output = trestle(&["deluge", "check", "bench/deluge", "examples", "--summary"]);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let summary = stdout(&output);
    let last = summary.lines().last().unwrap();
    assert!(last.ends_with(" ok, 0 with errors"), "{summary}");

    let output = trestle(&[
        "deluge",
        "check",
        "crates/deluge/tests/programs/compile_errors.dg",
        "crates/deluge/tests/programs/arithmetic.dg",
        "--summary",
    ]);
    assert!(!output.status.success());
    let text = stdout(&output);
    assert!(
        text.contains("compile_errors.dg:2:5: error[DELUGE_UNKNOWN_FUNCTION]: Not able to find 'frobnicate' function"),
        "{text}"
    );
    assert!(text.contains("2 | x = frobnicate(1);\n"), "{text}");
    assert!(
        text.trim_end().ends_with("2 files, 1 ok, 1 with errors"),
        "{text}"
    );

    let output = trestle(&[
        "deluge",
        "check",
        "crates/deluge/tests/programs/syntax_error.dg",
        "--format",
        "json",
    ]);
    assert!(!output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["with_errors"], 1);
    assert_eq!(report["diagnostics"][0]["line"], 3);
    assert_eq!(report["diagnostics"][0]["code"], "DELUGE_SYNTAX_ERROR");
}
