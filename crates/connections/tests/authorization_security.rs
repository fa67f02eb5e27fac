//! The callback rejects forged, replayed, expired, unbound and mixed-up authorizations. The
//! authorization server is a wiremock stand-in; the checks happen before any code exchange, and
//! the test asserts the token endpoint was never called for a rejected callback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use support::*;
use trestle_connections::{ConnectionStatus, CreateConnection, EnvironmentKind, ManagerConfig};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Setup {
    harness: Harness,
    server: MockServer,
}

async fn setup(config: ManagerConfig) -> Setup {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "at-from-mock-0123456789", "refresh_token": "rt-from-mock-0123456789",
            "expires_in": 3600, "token_type": "Bearer"
        })))
        .mount(&server)
        .await;
    let harness = sqlite_harness(config).await;
    for key in ["mock_as", "other_as"] {
        let input: trestle_services::CustomServiceInput = serde_json::from_value(serde_json::json!({
            "service_name": key, "service_link_name": key, "auth_type": "oauth2_authorization_code",
            "api_base_url": server.uri(), "authorize_url": format!("{}/authorize", server.uri()),
            "access_token_url": format!("{}/token", server.uri()),
            "client_id": "client-1", "client_secret": "client-secret-value-1", "scopes": ["read"],
        }))
        .unwrap();
        harness
            .manager
            .save_custom_service(harness.organization, input, false)
            .await
            .unwrap();
    }
    harness
        .manager
        .create_connection(
            harness.organization,
            CreateConnection {
                namespace: "sec".into(),
                name: "conn".into(),
                service_key: "mock_as".into(),
                ..CreateConnection::default()
            },
        )
        .await
        .unwrap();
    Setup { harness, server }
}

/// Starts and launches an authorization; returns (state, browser binding).
async fn start(harness: &Harness) -> (String, String) {
    let pending = harness
        .manager
        .begin_authorization(
            harness.organization,
            "sec__conn",
            EnvironmentKind::Production,
        )
        .await
        .unwrap();
    assert_eq!(
        pending.callback_url,
        format!("{PUBLIC_BASE_URL}/api/v1/oauth/callback/mock_as")
    );
    let launched = harness
        .manager
        .launch_authorization(&launch_token(&pending.launch_url))
        .await
        .unwrap();
    let pairs = query_pairs(&launched.provider_url);
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap()
    };
    assert_eq!(value("code_challenge_method"), "S256");
    assert_eq!(value("redirect_uri"), pending.callback_url);
    assert!(value("code_challenge").len() >= 43);
    (value("state"), launched.browser_binding)
}

fn callback(state: &str) -> Vec<(String, String)> {
    vec![
        ("code".into(), "code-1".into()),
        ("state".into(), state.into()),
    ]
}

async fn token_calls(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == "/token")
        .count()
}

#[tokio::test]
async fn forged_replayed_unbound_and_mixed_up_callbacks_are_rejected() {
    let Setup { harness, server } = setup(test_config()).await;
    let manager = &harness.manager;

    // Forgery: a state Trestle never issued.
    let error = manager
        .complete_authorization("mock_as", &callback("forged-state"), Some("whatever"))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_STATE_INVALID");
    let error = manager
        .complete_authorization("mock_as", &[("code".into(), "c".into())], None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_STATE_INVALID", "missing state");

    // Wrong service: a state issued for mock_as arriving at other_as's callback (mix-up).
    let (state, binding) = start(&harness).await;
    let error = manager
        .complete_authorization("other_as", &callback(&state), Some(&binding))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_STATE_SERVICE_MISMATCH");
    // The state was consumed by that attempt: it cannot be used at the right callback either.
    let error = manager
        .complete_authorization("mock_as", &callback(&state), Some(&binding))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_STATE_INVALID");

    // Not bound to this browser: no cookie, or another browser's cookie.
    let (state, _binding) = start(&harness).await;
    let error = manager
        .complete_authorization("mock_as", &callback(&state), None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_STATE_SESSION_MISMATCH");
    let (state, _binding) = start(&harness).await;
    let error = manager
        .complete_authorization("mock_as", &callback(&state), Some("another-browser"))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_STATE_SESSION_MISMATCH");

    // An `iss` naming another authorization server (RFC 9207).
    let (state, binding) = start(&harness).await;
    let mut pairs = callback(&state);
    pairs.push(("iss".into(), "https://evil.example".into()));
    let error = manager
        .complete_authorization("mock_as", &pairs, Some(&binding))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_ISSUER_MISMATCH");

    assert_eq!(
        token_calls(&server).await,
        0,
        "no rejected callback reached the token endpoint"
    );

    // A launch URL works once.
    let pending = manager
        .begin_authorization(
            harness.organization,
            "sec__conn",
            EnvironmentKind::Production,
        )
        .await
        .unwrap();
    manager
        .launch_authorization(&launch_token(&pending.launch_url))
        .await
        .unwrap();
    let error = manager
        .launch_authorization(&launch_token(&pending.launch_url))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_STATE_INVALID");

    // The genuine callback works once; its replay is rejected.
    let (state, binding) = start(&harness).await;
    let mut pairs = callback(&state);
    pairs.push(("iss".into(), server.uri()));
    let completed = manager
        .complete_authorization("mock_as", &pairs, Some(&binding))
        .await
        .unwrap();
    assert_eq!(completed.status, ConnectionStatus::Active);
    assert_eq!(token_calls(&server).await, 1);
    let error = manager
        .complete_authorization("mock_as", &pairs, Some(&binding))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_STATE_INVALID", "replay");
    assert_eq!(token_calls(&server).await, 1);

    // The token request carried the PKCE verifier and the registered redirect URI.
    let requests = server.received_requests().await.unwrap();
    let body = String::from_utf8_lossy(
        &requests
            .iter()
            .find(|request| request.url.path() == "/token")
            .unwrap()
            .body,
    )
    .to_string();
    assert!(body.contains("code_verifier="), "{body}");
    assert!(
        body.contains(
            "redirect_uri=http%3A%2F%2F127.0.0.1%3A8787%2Fapi%2Fv1%2Foauth%2Fcallback%2Fmock_as"
        ),
        "{body}"
    );
}

#[tokio::test]
async fn expired_state_is_rejected() {
    let mut config = test_config();
    config.authorization_lifetime = Duration::from_secs(1);
    let Setup { harness, server } = setup(config).await;
    let (state, binding) = start(&harness).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let error = harness
        .manager
        .complete_authorization("mock_as", &callback(&state), Some(&binding))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_STATE_EXPIRED");
    assert_eq!(token_calls(&server).await, 0);
}

#[tokio::test]
async fn provider_denial_is_reported_without_touching_the_token_endpoint() {
    let Setup { harness, server } = setup(test_config()).await;
    let (state, binding) = start(&harness).await;
    let pairs = vec![
        ("error".into(), "access_denied".into()),
        ("state".into(), state),
    ];
    let error = harness
        .manager
        .complete_authorization("mock_as", &pairs, Some(&binding))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_AUTHORIZATION_DENIED");
    assert_eq!(token_calls(&server).await, 0);
}
