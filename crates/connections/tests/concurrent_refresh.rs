//! Exactly one refresh: 500 concurrent uses of one expired connection, split over two
//! independent stores (separate connection pools) and two managers (separate in-process locks,
//! separate lease holder names) on one PostgreSQL database, make exactly one call to the token
//! endpoint, and every caller gets the refreshed token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::*;
use trestle_connections::{ConnectionManager, EnvironmentKind};
use trestle_store::{OrganizationId, Store};
use trestle_vault::{Keyring, Vault};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USES_PER_PROCESS: usize = 250;

async fn manager(url: &str, keyring: &Keyring, name: &str) -> (Store, Arc<ConnectionManager>) {
    let store = Store::connect(url).await.unwrap();
    let vault = Arc::new(Vault::new(keyring.clone()));
    let mut config = test_config();
    config.instance_name = name.to_string();
    let manager = Arc::new(ConnectionManager::new(
        store.clone(),
        vault,
        token_client(),
        config,
    ));
    (store, manager)
}

async fn uses(
    manager: Arc<ConnectionManager>,
    organization: OrganizationId,
) -> Vec<Result<String, String>> {
    let mut tasks = Vec::new();
    for _ in 0..USES_PER_PROCESS {
        let manager = manager.clone();
        tasks.push(tokio::spawn(async move {
            manager
                .credential_for_request(organization, EnvironmentKind::Production, "load__shared")
                .await
                .map(|credential| {
                    credential.attachment.headers[0]
                        .1
                        .expose_secret()
                        .to_string()
                })
                .map_err(|error| error.code().to_string())
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_concurrent_uses_across_two_processes_refresh_once() {
    let Some(url) = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_POSTGRES_URL",
        "five_hundred_concurrent_uses_across_two_processes_refresh_once",
    ) else {
        return;
    };
    install_crypto();
    let server = MockServer::start().await;
    // The code exchange gives a token that is already inside the refresh margin.
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "at-initial-000000000000", "refresh_token": "rt-initial-000000000000",
            "expires_in": 1, "token_type": "Bearer"
        })))
        .mount(&server)
        .await;
    // A slow refresh that rotates the refresh token, so every caller piles up behind it.
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(400))
                .set_body_json(serde_json::json!({
                    "access_token": "at-refreshed-111111111111", "refresh_token": "rt-rotated-111111111111",
                    "expires_in": 3600, "token_type": "Bearer"
                })),
        )
        .mount(&server)
        .await;

    let keyring = Keyring::generate().unwrap();
    let (store_a, manager_a) = manager(&url, &keyring, "process-a").await;
    let (_store_b, manager_b) = manager(&url, &keyring, "process-b").await;
    let organization = store_a
        .organizations()
        .create("Concurrency test org")
        .await
        .unwrap()
        .organization
        .id;
    let input: trestle_services::CustomServiceInput = serde_json::from_value(serde_json::json!({
        "service_name": "Slow AS", "service_link_name": "slow_as", "auth_type": "oauth2_authorization_code",
        "api_base_url": server.uri(), "authorize_url": format!("{}/authorize", server.uri()),
        "access_token_url": format!("{}/token", server.uri()),
        "client_id": "client-1", "client_secret": "client-secret-value-1", "scopes": ["read"],
    }))
    .unwrap();
    manager_a
        .save_custom_service(organization, input, false)
        .await
        .unwrap();
    create_connection(&manager_a, organization, "load", "shared", "slow_as").await;
    let launched = begin_and_launch(
        &manager_a,
        organization,
        "load__shared",
        EnvironmentKind::Production,
    )
    .await;
    let state = state_of(&launched);
    manager_b
        .complete_authorization(
            "slow_as",
            &[("code".into(), "c".into()), ("state".into(), state)],
            Some(&launched.browser_binding),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let (results_a, results_b) = tokio::join!(
        uses(manager_a.clone(), organization),
        uses(manager_b.clone(), organization)
    );
    let refresh_calls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| {
            String::from_utf8_lossy(&request.body).contains("grant_type=refresh_token")
        })
        .count();
    assert_eq!(
        refresh_calls, 1,
        "exactly one call to the token endpoint for 500 concurrent uses"
    );
    for result in results_a.iter().chain(results_b.iter()) {
        assert_eq!(result.as_deref(), Ok("Bearer at-refreshed-111111111111"));
    }
    assert_eq!(results_a.len() + results_b.len(), 2 * USES_PER_PROCESS);
    let events = manager_a
        .events(organization, "load__shared")
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|event| event.kind == "refreshed")
            .count(),
        1
    );
    // The lease was released.
    let view = manager_b
        .get_connection(organization, "load__shared")
        .await
        .unwrap();
    assert_eq!(
        view.environments[0].status,
        trestle_connections::ConnectionStatus::Active
    );
}
