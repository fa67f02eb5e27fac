//! The real `trestle` binary: first-run output on an empty data folder, the one-time password
//! working (and shown only once), `trestle admin`, and graceful shutdown on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{
    BINARY, announced_url, field, serve_command, spawn_and_wait_for_banner, trestle_admin,
};

/// A `trestle serve` child process and the lines of its banner.
struct ServeProcess {
    child: Child,
    banner: Vec<String>,
    address: String,
}

impl ServeProcess {
    fn start(data_dir: &std::path::Path) -> ServeProcess {
        let mut command = serve_command("127.0.0.1:0");
        command
            .arg("--data-dir")
            .arg(data_dir)
            .stderr(Stdio::null());
        let (child, banner) = spawn_and_wait_for_banner(command);
        let address = announced_url(&banner)
            .strip_prefix("http://")
            .unwrap()
            .to_owned();
        ServeProcess {
            child,
            banner,
            address,
        }
    }

    fn terminate(self) -> std::process::ExitStatus {
        self.send_sigterm();
        self.wait_for_exit()
    }

    fn send_sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_for_exit(mut self) -> std::process::ExitStatus {
        for _ in 0..400 {
            if let Some(exit) = self.child.try_wait().unwrap() {
                return exit;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("trestle serve did not stop within 20 s of SIGTERM");
    }
}

/// A raw HTTP/1.1 request; returns status and body.
fn http(address: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn redact_banner(banner: &[String], address: &str, data_dir: &std::path::Path) -> String {
    banner
        .iter()
        .map(|line| {
            let line = line.replace(address, "127.0.0.1:PORT");
            let line = line.replace(&data_dir.display().to_string(), "DATA_DIR");
            if let Some(prefix) = line.strip_prefix("  password: ") {
                assert_eq!(prefix.len(), 24, "one-time password length");
                "  password: [one-time password]".to_owned()
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn first_start_prints_the_url_and_a_one_time_admin_password_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let data_path = data_dir.path().join("trestle-data");
    let server = ServeProcess::start(&data_path);
    assert!(
        data_path.join("trestle.db").exists(),
        "the SQLite database was created"
    );
    insta::assert_snapshot!(
        "first_run_banner",
        redact_banner(&server.banner, &server.address, &data_path)
    );
    let password = server
        .banner
        .iter()
        .find_map(|line| line.strip_prefix("  password: "))
        .unwrap()
        .to_owned();
    let (status, body) = http(&server.address, "GET", "/readyz", None);
    assert_eq!((status, body.as_str()), (200, "{\"status\":\"ok\"}"));
    let (status, body) = http(
        &server.address,
        "POST",
        "/api/v1/auth/login",
        Some(&format!(
            "{{\"email\":\"admin@trestle.localhost\",\"password\":\"{password}\"}}"
        )),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"must_change_password\":true"), "{body}");
    let exit = server.terminate();
    assert_eq!(exit.code(), Some(0), "SIGTERM exits 0");

    // A second start on the same data folder shows no password.
    let again = ServeProcess::start(&data_path);
    assert!(
        !again.banner.iter().any(|line| line.contains("password")),
        "{:?}",
        again.banner
    );
    assert_eq!(again.terminate().code(), Some(0));
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    let data_dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start(data_dir.path());
    // A sign-in that asks `Expect: 100-continue`: the server answers `100 Continue` only once
    // the handler has started reading the body, so the request is provably in flight when
    // SIGTERM comes (a fixed sleep raced with a busy machine). It must still get its answer.
    let body = "{\"email\":\"admin@trestle.localhost\",\"password\":\"wrong password\"}";
    let mut stream = TcpStream::connect(&server.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    let mut interim_response = Vec::new();
    let mut byte = [0_u8; 1];
    while !interim_response.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        interim_response.push(byte[0]);
    }
    assert!(
        interim_response.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&interim_response)
    );
    server.send_sigterm();
    // No new connections once shutdown began, while the one in flight finishes. A loaded
    // machine may take a moment to deliver the signal, so the test waits for the listener to
    // close (up to 20 s) instead of assuming a fixed delay.
    let stopped_accepting = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        TcpStream::connect(&server.address).is_err()
    });
    assert!(
        stopped_accepting,
        "the server still accepts connections after SIGTERM"
    );
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("INVALID_CREDENTIALS"), "{response}");
    assert_eq!(server.wait_for_exit().code(), Some(0));
}

#[test]
fn admin_commands_work_on_the_database_without_a_server() {
    let data_dir = tempfile::tempdir().unwrap();
    let data_dir_flag = [OsStr::new("--data-dir"), data_dir.path().as_os_str()];
    let run = |args: &[&str]| trestle_admin(args.iter().map(OsStr::new).chain(data_dir_flag));
    let created = run(&["create-org", "--name", "Zylker"]);
    let organization_id = field(&created, "organization: ").to_owned();
    assert!(run(&["list-orgs"]).contains("\tZylker"));
    let user = run(&[
        "create-user",
        "--email",
        "dev@zylker.test",
        "--org",
        &organization_id,
        "--role",
        "developer",
    ]);
    assert!(user.contains("one-time password: "), "{user}");
    let token = run(&[
        "issue-token",
        "--org",
        &organization_id,
        "--email",
        "dev@zylker.test",
        "--name",
        "ci",
    ]);
    assert!(token.trim().starts_with("trestle_"), "{token}");
    let reset = run(&["reset-password", "--email", "dev@zylker.test"]);
    let new_password = field(&reset, "one-time password: ");
    assert_eq!(new_password.len(), 24);

    // The token works against a server on the same data folder.
    let server = ServeProcess::start(data_dir.path());
    let mut stream = TcpStream::connect(&server.address).unwrap();
    write!(
        stream,
        "GET /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\n\r\n",
        token.trim()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("dev@zylker.test"));
    assert_eq!(server.terminate().code(), Some(0));

    // Bad input is a clear error, not a panic.
    let output = Command::new(BINARY)
        .args([
            "admin",
            "issue-token",
            "--org",
            "not-an-id",
            "--email",
            "x@y.z",
            "--name",
            "n",
            "--data-dir",
        ])
        .arg(data_dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not an organization id"), "{stderr}");
}
