//! `trestle keys rotate`, store side: after a new master key is added, every connection
//! ciphertext (credentials, custom-service client id and secret) is re-encrypted under it; a
//! second pass finds nothing left; the old key can then be removed and everything still opens.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use support::*;
use trestle_connections::{ConnectionManager, EnvironmentKind};
use trestle_vault::Vault;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn rotation_reencrypts_every_connection_ciphertext() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "at-rotation-0123456789", "refresh_token": "rt-rotation-0123456789",
            "expires_in": 3600, "token_type": "Bearer"
        })))
        .mount(&server)
        .await;
    let harness = sqlite_harness(test_config()).await;
    let organization = harness.organization;
    let input: trestle_services::CustomServiceInput = serde_json::from_value(serde_json::json!({
        "service_name": "Rotating", "service_link_name": "rotating", "auth_type": "oauth2_authorization_code",
        "api_base_url": server.uri(), "authorize_url": format!("{}/authorize", server.uri()),
        "access_token_url": format!("{}/token", server.uri()),
        "client_id": "client-1", "client_secret": "client-secret-value-1", "scopes": ["read"],
    }))
    .unwrap();
    harness
        .manager
        .save_custom_service(organization, input, false)
        .await
        .unwrap();
    create_connection(&harness.manager, organization, "keys", "conn", "rotating").await;
    let launched = begin_and_launch(
        &harness.manager,
        organization,
        "keys__conn",
        EnvironmentKind::Sandbox,
    )
    .await;
    let state = state_of(&launched);
    harness
        .manager
        .complete_authorization(
            "rotating",
            &[("code".into(), "c".into()), ("state".into(), state)],
            Some(&launched.browser_binding),
        )
        .await
        .unwrap();

    // Nothing to do under the current key.
    let report = harness.manager.reencrypt_all().await.unwrap();
    assert_eq!((report.examined, report.reencrypted), (3, 0));

    // Add a new active key (what the key-file side of `trestle keys rotate` does).
    let mut keyring = harness.vault.keyring().clone();
    let old_key = keyring.active_id();
    keyring.add_new_active_key().unwrap();
    let rotated = Arc::new(ConnectionManager::new(
        harness.store.clone(),
        Arc::new(Vault::new(keyring.clone())),
        token_client(),
        test_config(),
    ));
    let report = rotated.reencrypt_all().await.unwrap();
    assert_eq!(
        (
            report.examined,
            report.reencrypted,
            report.changed_concurrently
        ),
        (3, 3, 0)
    );
    assert_eq!(
        rotated.reencrypt_all().await.unwrap().reencrypted,
        0,
        "second pass finds nothing"
    );

    // Only the new key left: credentials and the custom service's client still open.
    keyring.remove_key(old_key).unwrap();
    let new_only = ConnectionManager::new(
        harness.store.clone(),
        Arc::new(Vault::new(keyring)),
        token_client(),
        test_config(),
    );
    let credential = new_only
        .credential_for_request(organization, EnvironmentKind::Sandbox, "keys__conn")
        .await
        .unwrap();
    assert_eq!(
        credential.attachment.headers[0].1.expose_secret(),
        "Bearer at-rotation-0123456789"
    );
    new_only
        .begin_authorization(organization, "keys__conn", EnvironmentKind::Production)
        .await
        .unwrap();
    // The old vault alone can no longer read them.
    let error = harness
        .manager
        .credential_for_request(organization, EnvironmentKind::Sandbox, "keys__conn")
        .await
        .unwrap_err();
    assert!(
        error.code().starts_with("VAULT") || error.code().contains("KEY"),
        "{}",
        error.code()
    );
}
