//! Shared by the tests that drive the real `trestle` binary: starting `trestle serve` and
//! waiting for its banner, `trestle admin` on a database, and reading peers' URLs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

pub const BINARY: &str = env!("CARGO_BIN_EXE_trestle");

/// `trestle serve --listen <listen>` that takes no configuration from the environment
/// (TRESTLE_DB, TRESTLE_CONFIG, TRESTLE_LISTEN and TRESTLE_PUBLIC_URL removed), with stdout
/// piped for the banner. The test adds its flags, environment and stderr.
pub fn serve_command(listen: &str) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(["serve", "--listen", listen])
        .env_remove("TRESTLE_DB")
        .env_remove("TRESTLE_CONFIG")
        .env_remove("TRESTLE_LISTEN")
        .env_remove("TRESTLE_PUBLIC_URL")
        .stdout(Stdio::piped());
    command
}

/// Spawns a `trestle serve` command and returns once its banner is printed (up to the
/// "Press Ctrl-C" line), with the banner's lines. Exiting before that fails the test. The
/// rest of stdout is drained in the background so the child never blocks on a full pipe.
pub fn spawn_and_wait_for_banner(mut command: Command) -> (Child, Vec<String>) {
    let mut child = command.spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut banner = Vec::new();
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).unwrap();
        assert!(
            read > 0,
            "trestle serve exited early; banner so far: {banner:?}"
        );
        let line = line.trim_end().to_owned();
        let last = line.starts_with("Press Ctrl-C");
        banner.push(line);
        if last {
            break;
        }
    }
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    (child, banner)
}

/// The URL the banner's first line announces ("Trestle is running at <url>").
pub fn announced_url(banner: &[String]) -> String {
    banner[0]
        .strip_prefix("Trestle is running at ")
        .unwrap_or_else(|| panic!("no URL in the banner: {banner:?}"))
        .to_owned()
}

/// Runs `trestle admin <arguments>` (the caller names the database with --data-dir or --db
/// among them) without TRESTLE_DB or TRESTLE_CONFIG; a failure fails the test. Returns stdout.
pub fn trestle_admin<Argument: AsRef<OsStr>>(
    arguments: impl IntoIterator<Item = Argument>,
) -> String {
    let arguments: Vec<_> = arguments
        .into_iter()
        .map(|argument| argument.as_ref().to_owned())
        .collect();
    let output = Command::new(BINARY)
        .arg("admin")
        .args(&arguments)
        .env_remove("TRESTLE_DB")
        .env_remove("TRESTLE_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "trestle admin {arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The text after `label` on the first line of `output` that starts with it, trimmed.
pub fn field<'a>(output: &'a str, label: &str) -> &'a str {
    output
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{label}` in {output}"))
}
