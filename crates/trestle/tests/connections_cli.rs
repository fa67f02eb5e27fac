//! `trestle services create|update|delete`, `trestle connections ...` and `trestle
//! oauth-clients ...` against a real `trestle serve` child process on a fresh data folder,
//! with an organization, a developer and an API token made by `trestle admin`. Outputs are
//! insta snapshots with ids, times, ports and secrets redacted; exit codes are asserted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;
use support::{BINARY, field, serve_command, spawn_and_wait_for_banner, trestle_admin};

const SERVICE_CLIENT_SECRET: &str = "acme-client-secret-0123456789";

/// A `trestle serve` on its own data folder, with a developer's API token.
struct TestServer {
    child: Child,
    url: String,
    token: String,
    organization_id: String,
    data_dir: tempfile::TempDir,
}

impl TestServer {
    fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    /// Starts `trestle serve` with these extra flags.
    fn start_with(extra_serve_flags: &[&str]) -> TestServer {
        let data_dir = tempfile::tempdir().unwrap();
        let data_dir_flag = [OsStr::new("--data-dir"), data_dir.path().as_os_str()];
        let admin = |args: &[&str]| trestle_admin(args.iter().map(OsStr::new).chain(data_dir_flag));
        let created = admin(&["create-org", "--name", "Acme"]);
        let organization_id = field(&created, "organization: ").to_owned();
        admin(&[
            "create-user",
            "--email",
            "dev@acme.test",
            "--org",
            &organization_id,
            "--role",
            "developer",
        ]);
        let token = admin(&[
            "issue-token",
            "--org",
            &organization_id,
            "--email",
            "dev@acme.test",
            "--name",
            "cli tests",
        ])
        .trim()
        .to_owned();
        // A port of our own: with --public-url the banner shows that URL, not the address.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listen = listener.local_addr().unwrap().to_string();
        drop(listener);
        let mut command = serve_command(&listen);
        command
            .arg("--allow-http-loopback-services")
            // Token endpoints of the loopback peers pass the egress guard only when allowed.
            .env("TRESTLE_EGRESS_ALLOW", "127.0.0.1/32")
            .arg("--data-dir")
            .arg(data_dir.path())
            .args(extra_serve_flags)
            .stderr(Stdio::null());
        let (child, _) = spawn_and_wait_for_banner(command);
        TestServer {
            child,
            url: format!("http://{listen}"),
            token,
            organization_id,
            data_dir,
        }
    }

    /// Runs `trestle ARGS` against this server (TRESTLE_SERVER and TRESTLE_TOKEN set).
    fn trestle(&self, args: &[&str]) -> Run {
        self.trestle_with(args, &[], None)
    }

    fn trestle_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
        let mut command = Command::new(BINARY);
        command
            .args(args)
            .current_dir(self.data_dir.path())
            .env("TRESTLE_SERVER", &self.url)
            .env("TRESTLE_TOKEN", &self.token)
            .env_remove("TRESTLE_ORG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            std::io::Write::write_all(&mut input, text.as_bytes()).unwrap();
        }
        drop(input);
        Run::from(child.wait_with_output().unwrap())
    }

    fn write_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.data_dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Replaces what changes between runs: the port, ids, times.
    fn redact(&self, text: &str) -> String {
        let text = text
            .replace(&self.url, "http://SERVER")
            .replace(&self.organization_id, "ORG_ID");
        redact_patterns(&text)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Exit code and both outputs of one command.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    fn ok(self) -> String {
        assert_eq!(
            self.code, 0,
            "stderr: {}\nstdout: {}",
            self.stderr, self.stdout
        );
        self.stdout
    }

    #[track_caller]
    fn failed(self, code: i32) -> String {
        assert_eq!(
            self.code, code,
            "stderr: {}\nstdout: {}",
            self.stderr, self.stdout
        );
        assert!(self.stdout.is_empty(), "nothing on stdout: {}", self.stdout);
        self.stderr
    }
}

/// UUIDs, RFC 3339 times, launch tokens and OAuth client ids/secrets become placeholders.
fn redact_patterns(text: &str) -> String {
    let mut output = String::new();
    for line in text.split_inclusive('\n') {
        let mut words: Vec<String> = Vec::new();
        for word in line.split(' ') {
            words.push(redact_word(word));
        }
        output.push_str(&words.join(" "));
    }
    output
}

fn redact_word(word: &str) -> String {
    let mut result = word.to_owned();
    // Times like 2026-11-28T19:40:01.123456Z (possibly inside quotes or after a label).
    while let Some(start) = find_time(&result) {
        let end = result[start..]
            .find(|c: char| c == '"' || c == ',' || c == ')' || c.is_whitespace())
            .map_or(result.len(), |offset| start + offset);
        result.replace_range(start..end, "TIME");
    }
    while let Some((start, end)) = find_uuid(&result) {
        result.replace_range(start..end, "UUID");
    }
    if let Some(index) = result.find("/api/v1/oauth/launch/") {
        let start = index + "/api/v1/oauth/launch/".len();
        let end = result[start..]
            .find(|c: char| c == '"' || c.is_whitespace())
            .map_or(result.len(), |offset| start + offset);
        result.replace_range(start..end, "LAUNCH_TOKEN");
    }
    if let Some(index) = result.find("1000.") {
        let end = result[index..]
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '.')
            .map_or(result.len(), |offset| index + offset);
        result.replace_range(index..end, "CLIENT_ID");
    }
    result
}

fn find_time(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(19)).find(|&start| {
        let window = &bytes[start..start + 19];
        window[4] == b'-'
            && window[7] == b'-'
            && window[10] == b'T'
            && window[13] == b':'
            && window[..4].iter().all(u8::is_ascii_digit)
    })
}

fn find_uuid(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(35)).find_map(|start| {
        let window = &bytes[start..start + 36];
        let shaped = window.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        });
        shaped.then_some((start, start + 36))
    })
}

#[test]
fn custom_service_and_oauth_connection_lifecycle() {
    let server = TestServer::start();
    let definition = server.write_file(
        "acme.toml",
        &format!(
            r#"service_name = "Acme CRM"
service_link_name = "acme_crm"
auth_type = "oauth2_authorization_code"
api_base_url = "https://api.acme.example"
authorize_url = "https://accounts.acme.example/oauth/authorize"
access_token_url = "https://accounts.acme.example/oauth/token"
client_id = "acme-client"
client_secret = "{SERVICE_CLIENT_SECRET}"
scopes = ["contacts.read", {{ name = "contacts.write", display_name = "Change contacts" }}]
scope_delimiter = "space"
"#
        ),
    );
    let created = server
        .trestle(&["services", "create", definition.to_str().unwrap()])
        .ok();
    insta::assert_snapshot!("service_created", created);

    // Update from JSON: a new display name.
    let updated_definition = server.write_file(
        "acme.json",
        &serde_json::json!({
            "service_name": "Acme CRM (EU)", "service_link_name": "acme_crm",
            "auth_type": "oauth2_authorization_code", "api_base_url": "https://api.acme.example",
            "authorize_url": "https://accounts.acme.example/oauth/authorize",
            "access_token_url": "https://accounts.acme.example/oauth/token",
            "client_id": "acme-client", "client_secret": SERVICE_CLIENT_SECRET,
            "scopes": ["contacts.read"],
        })
        .to_string(),
    );
    let updated = server
        .trestle(&["services", "update", updated_definition.to_str().unwrap()])
        .ok();
    assert_eq!(
        updated,
        "updated custom service acme_crm (Acme CRM (EU), oauth2_authorization_code)\n"
    );

    // An invalid definition: the server's code and each field problem, exit 1.
    let invalid = server.write_file(
        "invalid.json",
        r#"{"service_name": "Bad", "service_link_name": "bad_one", "auth_type": "oauth2_authorization_code",
            "api_base_url": "ftp://api.bad.example"}"#,
    );
    let refused = server
        .trestle(&["services", "create", invalid.to_str().unwrap()])
        .failed(1);
    insta::assert_snapshot!("service_refused", refused);
    let not_toml = server.write_file("broken.toml", "service_name = ");
    let refused = server
        .trestle(&["services", "create", not_toml.to_str().unwrap()])
        .failed(1);
    assert!(refused.contains("is not valid TOML"), "{refused}");

    // The server's list has the custom service beside the built-in ones; show reads it back.
    let remote_list = server.trestle(&["services", "list", "--remote"]).ok();
    assert!(
        remote_list.contains("acme_crm")
            && remote_list.contains("Acme CRM (EU)")
            && remote_list.contains("custom"),
        "{remote_list}"
    );
    assert!(remote_list.contains("zoho_books"), "{remote_list}");
    let shown: Value = serde_json::from_str(
        &server
            .trestle(&["services", "show", "acme_crm", "--remote"])
            .ok(),
    )
    .unwrap();
    assert_eq!(shown["key"], "acme_crm");
    let all_output = format!("{remote_list}{shown}");
    assert!(!all_output.contains(SERVICE_CLIENT_SECRET), "{all_output}");
    let offline_show = server.trestle(&["services", "show", "acme_crm"]).failed(1);
    assert!(offline_show.contains("acme_crm"), "{offline_show}");

    // The offline catalog still works without a server, even with TRESTLE_SERVER set.
    let catalog = Command::new(BINARY)
        .args(["services", "list"])
        .env("TRESTLE_SERVER", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(catalog.status.success());
    let catalog = String::from_utf8_lossy(&catalog.stdout).into_owned();
    assert!(catalog.contains("zoho_books"), "{catalog}");
    assert!(!catalog.contains("acme_crm"), "{catalog}");
    let catalog_json = Command::new(BINARY)
        .args(["services", "list", "--json"])
        .output()
        .unwrap();
    let catalog_json: Value = serde_json::from_slice(&catalog_json.stdout).unwrap();
    assert!(catalog_json.as_array().unwrap().len() > 50);

    let created = server
        .trestle(&[
            "connections",
            "create",
            "--namespace",
            "crm",
            "--name",
            "Acme CRM",
            "--service",
            "acme_crm",
            "--scope",
            "contacts.read",
        ])
        .ok();
    insta::assert_snapshot!("connection_created", created);
    let taken = server
        .trestle(&[
            "connections",
            "create",
            "--namespace",
            "crm",
            "--name",
            "Acme CRM",
            "--service",
            "acme_crm",
        ])
        .failed(1);
    insta::assert_snapshot!("connection_link_name_taken", taken);

    insta::assert_snapshot!(
        "connections_list",
        server.trestle(&["connections", "list"]).ok()
    );
    insta::assert_snapshot!(
        "connections_list_sandbox",
        server
            .trestle(&["connections", "list", "--env", "sandbox"])
            .ok()
    );
    insta::assert_snapshot!(
        "connection_show",
        server.redact(
            &server
                .trestle(&["connections", "show", "crm__acmecrm"])
                .ok()
        )
    );
    let json: Value =
        serde_json::from_str(&server.trestle(&["connections", "list", "--json"]).ok()).unwrap();
    assert_eq!(json[0]["link_name"], "crm__acmecrm");
    assert_eq!(
        json[0]["requested_scopes"],
        serde_json::json!(["contacts.read"])
    );

    // Authorize in the sandbox: the launch URL on this server, to open in a browser.
    let authorize = server
        .trestle(&[
            "connections",
            "authorize",
            "crm__acmecrm",
            "--env",
            "sandbox",
        ])
        .ok();
    assert!(
        authorize.contains(&format!("{}/api/v1/oauth/launch/", server.url)),
        "{authorize}"
    );
    insta::assert_snapshot!("connection_authorize", server.redact(&authorize));
    let reauthorize: Value = serde_json::from_str(
        &server
            .trestle(&[
                "connections",
                "reauthorize",
                "crm__acmecrm",
                "--env",
                "production",
                "--json",
            ])
            .ok(),
    )
    .unwrap();
    assert_eq!(reauthorize["environment"], "production");
    let credentials_refused = server
        .trestle(&[
            "connections",
            "authorize",
            "crm__acmecrm",
            "--credential",
            "token=x",
        ])
        .failed(1);
    assert!(
        credentials_refused.contains("authorized in the browser"),
        "{credentials_refused}"
    );
    // Not authorized yet: test and revoke say so with the server's code.
    insta::assert_snapshot!(
        "connection_test_not_authorized",
        server
            .trestle(&["connections", "test", "crm__acmecrm", "--env", "sandbox"])
            .failed(1)
    );
    let revoked = server
        .trestle(&["connections", "revoke", "crm__acmecrm", "--env", "sandbox"])
        .ok();
    assert_eq!(revoked, "revoked crm__acmecrm in sandbox (revoked)\n");

    let in_use = server
        .trestle(&["services", "delete", "acme_crm"])
        .failed(1);
    assert!(in_use.contains("error: "), "{in_use}");
    assert_eq!(
        server
            .trestle(&["connections", "delete", "crm__acmecrm"])
            .ok(),
        "deleted connection crm__acmecrm\n"
    );
    insta::assert_snapshot!(
        "connection_not_found",
        server
            .trestle(&["connections", "show", "crm__acmecrm"])
            .failed(1)
    );
    assert_eq!(
        server.trestle(&["services", "delete", "acme_crm"]).ok(),
        "deleted custom service acme_crm\n"
    );
    assert_eq!(
        server.trestle(&["connections", "list"]).ok(),
        "no connections yet; create one with `trestle connections create --namespace NS --name NAME --service KEY`\n"
    );

    // --org names the organization explicitly; another organization's id is not found.
    let explicit = server
        .trestle(&["connections", "list", "--org", &server.organization_id])
        .ok();
    assert!(explicit.starts_with("no connections yet"), "{explicit}");
    let other = server
        .trestle(&[
            "connections",
            "list",
            "--org",
            "0190f0f0-0000-7000-8000-000000000000",
        ])
        .failed(1);
    assert!(other.contains("(404)"), "{other}");
}

#[test]
fn clear_errors_and_exit_codes_without_a_usable_server() {
    let server = TestServer::start();
    let wrong_token = server
        .trestle_with(
            &["connections", "list"],
            &[("TRESTLE_TOKEN", "trestle_wrong")],
            None,
        )
        .failed(1);
    insta::assert_snapshot!("wrong_token", wrong_token);

    let no_token = Command::new(BINARY)
        .args(["connections", "list", "--server", &server.url])
        .env_remove("TRESTLE_TOKEN")
        .output()
        .unwrap();
    let no_token = Run::from(no_token).failed(1);
    insta::assert_snapshot!("no_token", no_token);

    let no_server = Command::new(BINARY)
        .args(["connections", "list"])
        .env_remove("TRESTLE_SERVER")
        .env("TRESTLE_TOKEN", "trestle_x")
        .output()
        .unwrap();
    assert!(
        Run::from(no_server)
            .failed(1)
            .contains("pass --server http://HOST:PORT or set TRESTLE_SERVER")
    );

    // Nothing listens there: exit 3.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let unreachable = server
        .trestle_with(
            &["connections", "list"],
            &[("TRESTLE_SERVER", &closed_url)],
            None,
        )
        .failed(3);
    assert!(
        unreachable.contains("cannot reach the Trestle server"),
        "{unreachable}"
    );

    // Usage errors are clap's exit 2.
    let usage = server
        .trestle(&["connections", "test", "x__y", "--env", "staging"])
        .failed(2);
    assert!(usage.contains("staging"), "{usage}");
}

#[test]
fn oauth_clients_show_the_secret_once() {
    let server = TestServer::start();
    let created = server
        .trestle(&[
            "oauth-clients",
            "create",
            "--name",
            "Acme sync",
            "--type",
            "web",
            "--redirect-uri",
            "https://sync.acme.example/callback",
        ])
        .ok();
    let secret = created
        .lines()
        .find_map(|line| line.strip_prefix("client_secret: "))
        .unwrap()
        .to_owned();
    assert!(secret.len() >= 20, "{created}");
    insta::assert_snapshot!(
        "oauth_client_created",
        server.redact(&created.replace(&secret, "SECRET"))
    );
    let client_id = created
        .lines()
        .find_map(|line| line.strip_prefix("client_id:"))
        .unwrap()
        .trim()
        .to_owned();
    let listed = server.trestle(&["oauth-clients", "list"]).ok();
    assert!(!listed.contains(&secret), "the secret is shown only once");
    insta::assert_snapshot!("oauth_clients_list", server.redact(&listed));
    let listed_json: Value =
        serde_json::from_str(&server.trestle(&["oauth-clients", "list", "--json"]).ok()).unwrap();
    assert_eq!(listed_json[0]["client_id"], client_id.as_str());
    assert!(listed_json[0].get("client_secret").is_none());

    let public = server
        .trestle(&[
            "oauth-clients",
            "create",
            "--name",
            "Acme app",
            "--type",
            "public",
            "--redirect-uri",
            "http://127.0.0.1:7777/cb",
        ])
        .ok();
    assert!(public.contains("client_secret: none"), "{public}");

    assert_eq!(
        server
            .trestle(&["oauth-clients", "delete", &client_id])
            .ok(),
        format!("deleted OAuth client {client_id} and its tokens\n")
    );
    let gone = server
        .trestle(&["oauth-clients", "delete", &client_id])
        .failed(1);
    assert!(gone.contains("OAUTH_CLIENT_NOT_FOUND (404)"), "{gone}");
}

#[test]
fn basic_and_api_key_connections_to_httpbin_are_verified_and_tested() {
    let Some(httpbin) = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_HTTPBIN_URL",
        "basic_and_api_key_connections_to_httpbin_are_verified_and_tested",
    ) else {
        return;
    };
    let server = TestServer::start();
    let basic = server.write_file(
        "httpbin-basic.toml",
        &format!(
            r#"service_name = "httpbin basic"
service_link_name = "httpbin_basic"
auth_type = "basic"
api_base_url = "{httpbin}"
verification = {{ url = "{httpbin}/basic-auth/acme/s3cret-password", expected_statuses = [200] }}
"#
        ),
    );
    server
        .trestle(&["services", "create", basic.to_str().unwrap()])
        .ok();
    server
        .trestle(&[
            "connections",
            "create",
            "--namespace",
            "qa",
            "--name",
            "bin",
            "--service",
            "httpbin_basic",
        ])
        .ok();
    // A wrong password: httpbin answers 401 to the verification request.
    let wrong_password = server.write_file("wrong-password.txt", "not-the-password\n");
    let refused = server
        .trestle(&[
            "connections",
            "authorize",
            "qa__bin",
            "--credential",
            "username=acme",
            "--credential",
            &format!("password=@{}", wrong_password.display()),
        ])
        .failed(1);
    assert!(refused.contains("(502)"), "{refused}");
    assert!(!refused.contains("not-the-password"), "{refused}");
    insta::assert_snapshot!("verification_failed", refused);

    // The right password from standard input, in the sandbox.
    let authorized = server
        .trestle_with(
            &[
                "connections",
                "authorize",
                "qa__bin",
                "--env",
                "sandbox",
                "--credential",
                "username=acme",
                "--credential",
                "password=-",
            ],
            &[],
            Some("s3cret-password\n"),
        )
        .ok();
    assert_eq!(authorized, "authorized qa__bin in sandbox (active)\n");
    assert_eq!(
        server
            .trestle(&["connections", "test", "qa__bin", "--env", "sandbox"])
            .ok(),
        "ok: qa__bin works in sandbox (active)\n"
    );
    let production = server
        .trestle(&["connections", "test", "qa__bin", "--env", "production"])
        .failed(1);
    assert!(
        production.contains("CONNECTION_NOT_AUTHORIZED (409)"),
        "{production}"
    );
    let shown = server
        .trestle(&["connections", "show", "qa__bin", "--json"])
        .ok();
    assert!(!shown.contains("s3cret-password"), "{shown}");
    let shown: Value = serde_json::from_str(&shown).unwrap();
    let sandbox = shown["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["environment"] == "sandbox")
        .unwrap();
    assert_eq!(sandbox["status"], "active");
    assert_eq!(sandbox["has_credentials"], true);

    // An API key sent as a bearer header; httpbin's /bearer answers 401 without one.
    let api_key = server.write_file(
        "httpbin-key.json",
        &serde_json::json!({
            "service_name": "httpbin key", "service_link_name": "httpbin_key", "auth_type": "api_key",
            "api_base_url": httpbin,
            "api_key_parameters": [{"display_name": "API key", "key": "Authorization", "param_type": "header", "value_prefix": "Bearer "}],
            "verification": {"url": format!("{httpbin}/bearer")},
        })
        .to_string(),
    );
    server
        .trestle(&["services", "create", api_key.to_str().unwrap()])
        .ok();
    server
        .trestle(&[
            "connections",
            "create",
            "--namespace",
            "qa",
            "--name",
            "key",
            "--service",
            "httpbin_key",
        ])
        .ok();
    let key_file = server.write_file("key.txt", "key-0123456789abcdef");
    server
        .trestle(&[
            "connections",
            "authorize",
            "qa__key",
            "--env",
            "sandbox",
            "--credential",
            &format!("authorization=@{}", key_file.display()),
        ])
        .ok();
    assert_eq!(
        server
            .trestle(&["connections", "test", "qa__key", "--env", "sandbox"])
            .ok(),
        "ok: qa__key works in sandbox (active)\n"
    );
    let missing = server
        .trestle(&["connections", "authorize", "qa__key"])
        .failed(1);
    assert!(missing.contains("--credential"), "{missing}");

    // The API key reached no database file (nor the write-ahead log) in plain text. (The basic
    // password is part of httpbin's verification URL, stored with the service, by design of
    // that endpoint.)
    for entry in std::fs::read_dir(server.data_dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("trestle.db")
        {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let secret = "key-0123456789abcdef";
        assert!(
            !bytes
                .windows(secret.len())
                .any(|window| window == secret.as_bytes()),
            "{secret} is in {}",
            path.display()
        );
    }
}

/// The callback base oidc-provider has registered redirect URIs for (test-peers/oidc-provider).
const OIDC_CALLBACK_BASE: &str = trestle_testkit::oidc_provider::REGISTERED_CALLBACK_BASE;

/// Plays the browser through a launch URL: Trestle's launch endpoint (binding cookie), the
/// provider's login and consent forms, and back to Trestle's callback; returns the status and
/// page of the first answer from Trestle that is not a redirect. URLs on the public base URL
/// the provider knows are sent to the real server address instead.
async fn authorize_in_browser(server_url: &str, launch_url: &str) -> (u16, String) {
    use trestle_testkit::oidc_provider::{browser, walk_login_and_consent};
    let browser = browser();
    let to_server = |url: &url::Url| {
        url::Url::parse(&url.as_str().replacen(OIDC_CALLBACK_BASE, server_url, 1)).unwrap()
    };
    let launch = to_server(&url::Url::parse(launch_url).unwrap());
    let response = browser.get(launch.clone()).send().await.unwrap();
    if !response.status().is_redirection() {
        return (response.status().as_u16(), response.text().await.unwrap());
    }
    let provider_url = launch
        .join(response.headers()["location"].to_str().unwrap())
        .unwrap();
    let callback = walk_login_and_consent(&browser, &provider_url, OIDC_CALLBACK_BASE).await;
    let response = browser.get(to_server(&callback)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[test]
fn oauth_connection_authorized_against_oidc_provider_then_tested_and_revoked() {
    let Some(issuer) = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_OIDC_ISSUER",
        "oauth_connection_authorized_against_oidc_provider_then_tested_and_revoked",
    ) else {
        return;
    };
    let server = TestServer::start_with(&["--public-url", OIDC_CALLBACK_BASE]);
    let definition = server.write_file(
        "oidc.json",
        &serde_json::json!({
            "service_name": "OIDC test provider", "service_link_name": "oidc_test",
            "auth_type": "oauth2_authorization_code", "api_base_url": issuer,
            "authorize_url": format!("{issuer}/auth"), "access_token_url": format!("{issuer}/token"),
            "revoke_url": format!("{issuer}/token/revocation"),
            "client_id": "crm-connector", "client_secret": "crm-secret",
            "client_authentication": "basic",
            "scopes": ["openid", "offline_access", "crm.read"], "scope_delimiter": "space",
        })
        .to_string(),
    );
    server
        .trestle(&["services", "create", definition.to_str().unwrap()])
        .ok();
    server
        .trestle(&[
            "connections",
            "create",
            "--namespace",
            "crm",
            "--name",
            "oidc",
            "--service",
            "oidc_test",
        ])
        .ok();
    let authorization: Value = serde_json::from_str(
        &server
            .trestle(&[
                "connections",
                "authorize",
                "crm__oidc",
                "--env",
                "sandbox",
                "--json",
            ])
            .ok(),
    )
    .unwrap();
    let launch_url = authorization["launch_url"].as_str().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, page) = runtime.block_on(authorize_in_browser(&server.url, launch_url));
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("is authorized in the sandbox environment"),
        "{page}"
    );

    insta::assert_snapshot!(
        "oidc_connections_list",
        server.trestle(&["connections", "list"]).ok()
    );
    assert_eq!(
        server
            .trestle(&["connections", "test", "crm__oidc", "--env", "sandbox"])
            .ok(),
        "ok: crm__oidc works in sandbox (active)\n"
    );
    let shown: Value = serde_json::from_str(
        &server
            .trestle(&["connections", "show", "crm__oidc", "--json"])
            .ok(),
    )
    .unwrap();
    let sandbox = shown["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["environment"] == "sandbox")
        .unwrap()
        .clone();
    // What the provider granted (oidc-provider leaves offline_access out of the token's scope).
    assert!(
        sandbox["granted_scopes"]
            .as_array()
            .unwrap()
            .contains(&Value::from("crm.read")),
        "{sandbox}"
    );
    assert!(sandbox["expires_at"].is_string(), "{sandbox}");
    assert_eq!(
        server
            .trestle(&["connections", "revoke", "crm__oidc", "--env", "sandbox"])
            .ok(),
        "revoked crm__oidc in sandbox (revoked)\n"
    );
    let after = server
        .trestle(&["connections", "test", "crm__oidc", "--env", "sandbox"])
        .failed(1);
    assert!(after.contains("CONNECTION_REVOKED (409)"), "{after}");
    // Reauthorize brings it back through the browser again.
    let again: Value = serde_json::from_str(
        &server
            .trestle(&[
                "connections",
                "reauthorize",
                "crm__oidc",
                "--env",
                "sandbox",
                "--json",
            ])
            .ok(),
    )
    .unwrap();
    let (status, page) = runtime.block_on(authorize_in_browser(
        &server.url,
        again["launch_url"].as_str().unwrap(),
    ));
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        server
            .trestle(&["connections", "test", "crm__oidc", "--env", "sandbox"])
            .ok(),
        "ok: crm__oidc works in sandbox (active)\n"
    );
}
