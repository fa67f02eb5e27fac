//! Token requests pass the same SSRF guard as every other outbound request: a custom OAuth 2
//! service whose token or refresh URL points at a metadata address, an IPv4-mapped loopback
//! address or a name that resolves to a private address is refused at the code exchange and
//! at refresh, with EGRESS_REFUSED naming the host, and nothing reaches a listener there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::IpAddr;
use std::sync::Arc;

use support::*;
use trestle_connections::oauth::TokenClient;
use trestle_connections::{ConnectionManager, EnvironmentKind};
use trestle_outbound::{EgressPolicy, StaticResolver};
use trestle_store::OrganizationId;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_SECRET: &str = "egress-test-client-secret-value";
const AUTHORIZATION_CODE: &str = "egress-test-authorization-code";
const REFRESH_TOKEN: &str = "egress-test-refresh-token-value";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// Names the tests' DNS knows: one private answer, and `localhost` as loopback.
fn resolver() -> Arc<StaticResolver> {
    Arc::new(
        StaticResolver::new()
            .with("tokens.internal.test", &[ip("10.1.2.3")])
            .with("localhost", &[ip("127.0.0.1")]),
    )
}

fn tokens(policy: EgressPolicy) -> TokenClient {
    install_crypto();
    TokenClient::guarded(policy, resolver()).unwrap()
}

fn loopback_allowed() -> EgressPolicy {
    EgressPolicy::from_allow_list(["127.0.0.1/32"]).unwrap()
}

/// The refused destinations: (token URL, host the error must name). `listener_port` is a
/// loopback listener's port.
fn refused_token_urls(listener_port: u16) -> Vec<(String, &'static str)> {
    vec![
        (
            "https://169.254.169.254/latest/oauth/token".to_string(),
            "169.254.169.254",
        ),
        (
            format!("https://[::ffff:127.0.0.1]:{listener_port}/oauth/token"),
            "::ffff:127.0.0.1",
        ),
        (
            "https://tokens.internal.test/oauth/token".to_string(),
            "tokens.internal.test",
        ),
        (
            format!("http://localhost:{listener_port}/oauth/token"),
            "localhost",
        ),
    ]
}

async fn save_service(harness: &Harness, service_key: &str, token_url: &str, refresh_url: &str) {
    let definition: trestle_services::ServiceDefinition = toml::from_str(&format!(
        r#"
key = "{service_key}"
display_name = "Egress test service"
category = "test"
auth_type = "oauth2_authorization_code"
api_base_url = "https://api.example.com/v1"
allowed_hosts = ["api.example.com"]

[oauth2]
authorize_url = "https://auth.example.com/authorize"
token_url = "{token_url}"
refresh_url = "{refresh_url}"
client_authentication = "body"

[[scopes]]
name = "read"
display_name = "Read"
default = true

[[credential_placement]]
in = "header"
name = "Authorization"
value = "Bearer {{access_token}}"
"#
    ))
    .unwrap();
    store_custom_service_directly(harness, &definition, "egress-client-id", CLIENT_SECRET).await;
}

/// Creates `egress__<name>` of `service_key`, launches its authorization and answers the
/// callback with a code.
async fn complete_with_code(
    manager: &ConnectionManager,
    organization: OrganizationId,
    name: &str,
    service_key: &str,
) -> Result<(), trestle_connections::ConnectionError> {
    create_connection(manager, organization, "egress", name, service_key).await;
    let link = format!("egress__{name}");
    let launched =
        begin_and_launch(manager, organization, &link, EnvironmentKind::Production).await;
    let callback = vec![
        ("code".to_string(), AUTHORIZATION_CODE.to_string()),
        ("state".to_string(), state_of(&launched)),
    ];
    manager
        .complete_authorization(service_key, &callback, Some(&launched.browser_binding))
        .await
        .map(|_| ())
}

fn assert_refusal(error: &trestle_connections::ConnectionError, host: &str, context: &str) {
    assert_eq!(error.code(), "EGRESS_REFUSED", "{context}: {error}");
    let message = error.to_string();
    assert!(message.contains(host), "{context}: {message}");
    for secret in [CLIENT_SECRET, AUTHORIZATION_CODE, REFRESH_TOKEN] {
        assert!(!message.contains(secret), "{context}: {message}");
    }
}

#[tokio::test]
async fn code_exchange_with_a_blocked_token_url_is_refused_and_sends_nothing() {
    let listener = trestle_testkit::stand_in::server_that_must_not_be_reached().await;
    let harness = sqlite_harness_with_tokens(test_config(), tokens(EgressPolicy::strict())).await;
    for (index, (token_url, host)) in refused_token_urls(listener.address().port())
        .into_iter()
        .enumerate()
    {
        let service_key = format!("egress_exchange_{index}");
        save_service(&harness, &service_key, &token_url, &token_url).await;
        let error = complete_with_code(
            &harness.manager,
            harness.organization,
            &format!("exchange{index}"),
            &service_key,
        )
        .await
        .unwrap_err();
        assert_refusal(&error, host, &token_url);
    }
    assert!(listener.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn refresh_with_a_blocked_refresh_url_is_refused_and_sends_nothing() {
    // The code exchange goes to an allowed loopback endpoint; every refresh URL is one the
    // guard refuses.
    let token_endpoint = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "egress-test-access-token", "refresh_token": REFRESH_TOKEN,
            "expires_in": 3600, "token_type": "Bearer"
        })))
        .mount(&token_endpoint)
        .await;
    let harness = sqlite_harness_with_tokens(test_config(), tokens(loopback_allowed())).await;
    // Same store and vault, strict guard: 127.0.0.1 is not allowed, so `localhost` is refused.
    let strict_manager = ConnectionManager::new(
        harness.store.clone(),
        harness.vault.clone(),
        tokens(EgressPolicy::strict()),
        test_config(),
    );
    let exchange_url = format!("{}/token", token_endpoint.uri());
    let refused = refused_token_urls(token_endpoint.address().port());
    for (index, (refresh_url, host)) in refused.iter().enumerate() {
        let service_key = format!("egress_refresh_{index}");
        save_service(&harness, &service_key, &exchange_url, refresh_url).await;
        let name = format!("refresh{index}");
        complete_with_code(&harness.manager, harness.organization, &name, &service_key)
            .await
            .unwrap();
        let link = format!("egress__{name}");
        // The service answered 401 to the current token: the refresh that follows is refused.
        let used = strict_manager
            .credential_for_request(harness.organization, EnvironmentKind::Production, &link)
            .await
            .unwrap();
        let error = strict_manager
            .force_refresh_after_401(
                harness.organization,
                EnvironmentKind::Production,
                &link,
                &used,
            )
            .await
            .unwrap_err();
        assert_refusal(&error, host, refresh_url);
    }
    // One code exchange per service; no refresh ever reached the loopback endpoint.
    let received = token_endpoint.received_requests().await.unwrap();
    assert_eq!(received.len(), refused.len());
    assert!(received.iter().all(|request| {
        String::from_utf8_lossy(&request.body).contains("grant_type=authorization_code")
    }));
}

#[tokio::test]
async fn an_allowed_range_reaches_a_token_endpoint_by_name() {
    let token_endpoint = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "egress-test-access-token", "refresh_token": REFRESH_TOKEN,
            "expires_in": 3600, "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&token_endpoint)
        .await;
    let harness = sqlite_harness_with_tokens(test_config(), tokens(loopback_allowed())).await;
    let token_url = format!("http://localhost:{}/token", token_endpoint.address().port());
    save_service(&harness, "egress_allowed", &token_url, &token_url).await;
    complete_with_code(
        &harness.manager,
        harness.organization,
        "allowed",
        "egress_allowed",
    )
    .await
    .unwrap();
}
