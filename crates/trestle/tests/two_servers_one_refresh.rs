//! Exactly one refresh across processes: two real `trestle serve` processes on one fresh
//! PostgreSQL database, one connection whose access token has expired, and 500 concurrent
//! requests through the proxy API split across both processes. The token endpoint stand-in
//! (slow, so every request piles up behind the refresh) must see exactly one refresh request,
//! every request must succeed, and the upstream must see only the refreshed token.
//!
//! Set-up goes through the operator's paths only: `trestle admin` on the database, the HTTP API
//! of the running servers (started with `--allow-http-loopback-services`, since the token
//! endpoint stand-in is plain http on loopback), and the browser endpoints of the OAuth flow
//! (launch on one process, callback on the other).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::{Child, Stdio};
use std::time::Duration;

use support::{announced_url, field, serve_command, spawn_and_wait_for_banner, trestle_admin};

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USES_PER_PROCESS: usize = 250;
const OPERATOR_EMAIL: &str = "operator@load.test";
const OPERATOR_PASSWORD: &str = "a long operator password 42";
const REFRESHED_TOKEN: &str = "at-refreshed-2222222222222222";
const API_HOST: &str = "api.load-stand-in.test";

/// A `trestle serve` child process on the shared database; killed when dropped.
struct ServeProcess {
    child: Child,
    base_url: String,
}

impl ServeProcess {
    fn start(database_url: &str, master_key: &str, data_dir: &std::path::Path) -> ServeProcess {
        let mut command = serve_command("127.0.0.1:0");
        command
            .args(["--db", database_url, "--allow-http-loopback-services"])
            .arg("--data-dir")
            .arg(data_dir)
            .env("TRESTLE_MASTER_KEY", master_key)
            // The loopback token endpoint passes the egress guard only when allowed.
            .env("TRESTLE_EGRESS_ALLOW", "127.0.0.1/32")
            .env("TRESTLE_LOG", "error")
            .stderr(Stdio::inherit());
        let (child, banner) = spawn_and_wait_for_banner(command);
        assert!(
            !banner.iter().any(|line| line.contains("password")),
            "the database had an operator already: no first-run administrator: {banner:?}"
        );
        ServeProcess {
            child,
            base_url: announced_url(&banner),
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `trestle admin ...` on the database and returns its stdout.
fn admin(database_url: &str, arguments: &[&str]) -> String {
    trestle_admin(["--db", database_url].iter().chain(arguments))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_uses_from_two_server_processes_refresh_once() {
    let Some(cluster_url) = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_POSTGRES_URL",
        "five_hundred_uses_from_two_server_processes_refresh_once",
    ) else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    // A fresh database on the test cluster, so the two servers share nothing but it.
    let database_url =
        trestle_testkit::postgres::create_database(&cluster_url, "trestle_two_servers").await;
    let keyring = trestle_vault::Keyring::generate().unwrap();
    let master_key = keyring.to_environment_value().expose_secret().to_owned();

    // The authorization server stand-in: the code exchange yields a token that expires in one
    // second; the refresh is slow and rotates the refresh token.
    let authorization_server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-initial-1111111111111111", "refresh_token": "rt-initial-1111111111111111",
            "expires_in": 1, "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&authorization_server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(800))
                .set_body_json(json!({
                    "access_token": REFRESHED_TOKEN, "refresh_token": "rt-rotated-2222222222222222",
                    "expires_in": 3600, "token_type": "Bearer"
                })),
        )
        .mount(&authorization_server)
        .await;
    // The service's API stand-in answers only the refreshed token.
    let upstream = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/ping"))
        .and(header("authorization", format!("Bearer {REFRESHED_TOKEN}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"pong": true})))
        .mount(&upstream)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/ping"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "bad token"})))
        .mount(&upstream)
        .await;

    // The operator: organization, platform administrator, API token.
    let created = admin(&database_url, &["create-org", "--name", "Two servers"]);
    let organization = field(&created, "organization:").to_owned();
    let user = admin(
        &database_url,
        &[
            "create-user",
            "--email",
            OPERATOR_EMAIL,
            "--org",
            &organization,
            "--role",
            "admin",
            "--platform-admin",
        ],
    );
    let one_time_password = field(&user, "one-time password:").to_owned();
    let token = admin(
        &database_url,
        &[
            "issue-token",
            "--org",
            &organization,
            "--email",
            OPERATOR_EMAIL,
            "--name",
            "load test",
        ],
    )
    .trim()
    .to_owned();

    let data_a = tempfile::tempdir().unwrap();
    let data_b = tempfile::tempdir().unwrap();
    let server_a = ServeProcess::start(&database_url, &master_key, data_a.path());
    let server_b = ServeProcess::start(&database_url, &master_key, data_b.path());

    // A console session of the operator (sessions live in the database: both servers know it).
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |password: &str| {
        browser
            .post(format!("{}/api/v1/auth/login", server_a.base_url))
            .json(&json!({"email": OPERATOR_EMAIL, "password": password}))
            .send()
    };
    let answer: Value = login(&one_time_password)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = answer["csrf_token"].as_str().unwrap().to_owned();
    let changed = browser
        .post(format!("{}/api/v1/auth/password", server_a.base_url))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({"current_password": one_time_password, "new_password": OPERATOR_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204, "{}", changed.text().await.unwrap());
    let answer: Value = login(OPERATOR_PASSWORD)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = answer["csrf_token"].as_str().unwrap().to_owned();

    // Routes live in the database: set through one server, the second PUT through the other
    // changes nothing but proves both answer for them.
    for server in [&server_a, &server_b] {
        let routed = browser
            .put(format!(
                "{}/api/v1/environments/production/egress-routes",
                server.base_url
            ))
            .header("X-CSRF-Token", &csrf)
            .json(&json!({"routes": [{"host": API_HOST, "target": upstream.uri()}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(routed.status(), 200, "{}", routed.text().await.unwrap());
    }

    // The connection, authorized through the browser endpoints: launched on one server, the
    // provider's redirect lands on the other.
    let api = reqwest::Client::builder()
        .pool_max_idle_per_host(600)
        .build()
        .unwrap();
    let organization_path = format!("/api/v1/organizations/{organization}");
    let service = api
        .post(format!("{}{organization_path}/services", server_a.base_url))
        .bearer_auth(&token)
        .json(&json!({
            "service_name": "Slow authorization server", "service_link_name": "slow_as",
            "auth_type": "oauth2_authorization_code",
            "api_base_url": format!("https://{API_HOST}/v1"),
            "authorize_url": format!("{}/authorize", authorization_server.uri()),
            "access_token_url": format!("{}/token", authorization_server.uri()),
            "client_id": "load-client", "client_secret": "load-client-secret-3333", "scopes": ["read"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(service.status(), 201, "{}", service.text().await.unwrap());
    let created = api
        .post(format!(
            "{}{organization_path}/connections",
            server_a.base_url
        ))
        .bearer_auth(&token)
        .json(&json!({"namespace": "load", "name": "shared", "service_key": "slow_as"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let pending: Value = api
        .post(format!(
            "{}{organization_path}/connections/load__shared/authorize?environment=production",
            server_b.base_url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let launch_url = pending["authorization"]["launch_url"].as_str().unwrap();
    let launch_path = &launch_url[launch_url.find("/api/v1/oauth/launch/").unwrap()..];
    let launched = browser
        .get(format!("{}{launch_path}", server_b.base_url))
        .send()
        .await
        .unwrap();
    assert!(launched.status().is_redirection(), "{}", launched.status());
    let provider_url = url::Url::parse(
        launched
            .headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let state = provider_url
        .query_pairs()
        .find(|(name, _)| name == "state")
        .unwrap()
        .1
        .into_owned();
    let callback = browser
        .get(format!(
            "{}/api/v1/oauth/callback/slow_as",
            server_a.base_url
        ))
        .query(&[("code", "code-1"), ("state", &state)])
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 200, "{}", callback.text().await.unwrap());

    // Let the one-second token expire for real.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut uses = Vec::new();
    for index in 0..2 * USES_PER_PROCESS {
        let base = if index % 2 == 0 {
            server_a.base_url.clone()
        } else {
            server_b.base_url.clone()
        };
        let api = api.clone();
        let token = token.clone();
        uses.push(tokio::spawn(async move {
            let response = api
                .get(format!(
                    "{base}/api/v1/environments/production/proxy/load__shared/ping"
                ))
                .bearer_auth(&token)
                .timeout(Duration::from_secs(90))
                .send()
                .await
                .map_err(|error| error.to_string())?;
            let status = response.status().as_u16();
            let body = response.text().await.map_err(|error| error.to_string())?;
            Ok::<_, String>((status, body))
        }));
    }
    let mut failures = Vec::new();
    for use_of_connection in uses {
        match use_of_connection.await.unwrap() {
            Ok((200, body)) => assert_eq!(body, r#"{"pong":true}"#),
            other => failures.push(other),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} uses failed; first: {:?}",
        failures.len(),
        2 * USES_PER_PROCESS,
        failures.first()
    );

    let token_requests = authorization_server.received_requests().await.unwrap();
    let refreshes = token_requests
        .iter()
        .filter(|request| {
            String::from_utf8_lossy(&request.body).contains("grant_type=refresh_token")
        })
        .count();
    assert_eq!(
        refreshes, 1,
        "exactly one call to the token endpoint's refresh"
    );
    let upstream_requests = upstream.received_requests().await.unwrap();
    assert_eq!(upstream_requests.len(), 2 * USES_PER_PROCESS);
    for request in &upstream_requests {
        assert_eq!(
            request.headers.get("authorization").unwrap(),
            &format!("Bearer {REFRESHED_TOKEN}"),
            "every request carried the refreshed token"
        );
    }

    // Both servers report the refreshed state and a rotated refresh token was stored once.
    for server in [&server_a, &server_b] {
        let shown: Value = api
            .get(format!(
                "{}{organization_path}/connections/load__shared/events",
                server.base_url
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let refreshed = shown.to_string().matches("\"refreshed\"").count();
        assert_eq!(refreshed, 1, "one refreshed event: {shown}");
    }
    drop(server_a);
    drop(server_b);
}
