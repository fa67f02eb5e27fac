//! Against a real authorization server (npm oidc-provider, started by scripts/peers.sh):
//! the authorization code + PKCE flow driven over HTTP, refresh with rotation, reuse of an old
//! refresh token, revocation on delete, client credentials, a wrong PKCE verifier, and no
//! plaintext secret in the database file or the logs afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use support::*;
use trestle_connections::{ConnectionStatus, EnvironmentKind};
use trestle_store::OrganizationId;
use trestle_store::connections::{ConnectionId, credentials_associated_data};
use trestle_testkit::oidc_provider::{browser, walk_login_and_consent};

const CLIENT_ID: &str = "crm-connector";
const CLIENT_SECRET: &str = "crm-secret";

fn custom_service(
    issuer: &str,
    key: &str,
    auth_type: &str,
) -> trestle_services::CustomServiceInput {
    serde_json::from_value(serde_json::json!({
        "service_name": "OIDC test provider",
        "service_link_name": key,
        "auth_type": auth_type,
        "api_base_url": issuer,
        "authorize_url": format!("{issuer}/auth"),
        "access_token_url": format!("{issuer}/token"),
        "revoke_url": format!("{issuer}/token/revocation"),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "client_authentication": "basic",
        "scopes": ["openid", "offline_access", "crm.read"],
        "scope_delimiter": "space",
    }))
    .unwrap()
}

async fn introspect(issuer: &str, token: &str) -> bool {
    let response: Value = reqwest::Client::new()
        .post(format!("{issuer}/token/introspection"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["active"] == Value::Bool(true)
}

/// The decrypted credential blob of one environment (test-only peek behind the vault).
async fn stored_credentials(harness: &Harness, link_name: &str) -> Value {
    let view = harness
        .manager
        .get_connection(harness.organization, link_name)
        .await
        .unwrap();
    let id: ConnectionId = view.id.parse().unwrap();
    let row = harness
        .store
        .connections()
        .environment(harness.organization, id, EnvironmentKind::Production)
        .await
        .unwrap();
    let plaintext = harness
        .vault
        .decrypt(
            row.credentials.as_ref().unwrap(),
            &credentials_associated_data(id, EnvironmentKind::Production),
        )
        .unwrap();
    serde_json::from_slice(plaintext.expose_secret()).unwrap()
}

async fn authorize_in_browser(
    harness: &Harness,
    organization: OrganizationId,
    link_name: &str,
    service_key: &str,
) {
    let launched = begin_and_launch(
        &harness.manager,
        organization,
        link_name,
        EnvironmentKind::Production,
    )
    .await;
    let callback =
        walk_login_and_consent(&browser(), &launched.provider_url, PUBLIC_BASE_URL).await;
    assert_eq!(
        callback.path(),
        format!("/api/v1/oauth/callback/{service_key}")
    );
    let completed = harness
        .manager
        .complete_authorization(
            service_key,
            &query_pairs(&callback),
            Some(&launched.browser_binding),
        )
        .await
        .unwrap();
    assert_eq!(completed.status, ConnectionStatus::Active);
}

#[tokio::test]
async fn code_flow_with_pkce_refresh_rotation_reuse_and_revocation() {
    let Some(issuer) = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_OIDC_ISSUER",
        "code_flow_with_pkce_refresh_rotation_reuse_and_revocation",
    ) else {
        return;
    };
    let logs = captured_logs();
    let harness = sqlite_harness(test_config()).await;
    let organization = harness.organization;
    harness
        .manager
        .save_custom_service(
            organization,
            custom_service(&issuer, "oidc_test", "oauth2_authorization_code"),
            false,
        )
        .await
        .unwrap();
    let view = create_connection(
        &harness.manager,
        organization,
        "crmsync",
        "CRM Connection",
        "oidc_test",
    )
    .await;
    assert_eq!(view.link_name, "crmsync__crmconnection");
    assert!(view.link_name_editable);

    // Full flow over HTTP: the test is the browser.
    authorize_in_browser(
        &harness,
        organization,
        "crmsync__crmconnection",
        "oidc_test",
    )
    .await;
    let view = harness
        .manager
        .get_connection(organization, "crmsync__crmconnection")
        .await
        .unwrap();
    let production = &view.environments[0];
    assert_eq!(production.status, ConnectionStatus::Active);
    assert!(
        production.granted_scopes.contains(&"crm.read".to_string()),
        "{:?}",
        production.granted_scopes
    );
    let lifetime = production.expires_at.unwrap() - chrono::Utc::now();
    assert!(
        lifetime.num_seconds() > 60 && lifetime.num_seconds() <= 120,
        "{lifetime}"
    );
    assert!(
        !view.link_name_editable,
        "the link name locks at first authorization"
    );
    assert_eq!(
        view.environments[1].status,
        ConnectionStatus::NotAuthorized,
        "sandbox is separate"
    );

    // The credential works at the service.
    let credential = harness
        .manager
        .credential_for_request(
            organization,
            EnvironmentKind::Production,
            "crmsync__crmconnection",
        )
        .await
        .unwrap();
    let authorization = credential
        .attachment
        .headers
        .iter()
        .find(|(name, _)| name == "Authorization")
        .unwrap()
        .1
        .expose_secret()
        .to_string();
    let first_access_token = authorization.strip_prefix("Bearer ").unwrap().to_string();
    assert!(introspect(&issuer, &first_access_token).await);
    let first = stored_credentials(&harness, "crmsync__crmconnection").await;
    let first_refresh_token = first["refresh_token"].as_str().unwrap().to_string();

    // Refresh (as after a 401): the provider rotates the refresh token; the new one is stored.
    let refreshed = harness
        .manager
        .force_refresh_after_401(
            organization,
            EnvironmentKind::Production,
            "crmsync__crmconnection",
            &credential,
        )
        .await
        .unwrap();
    let second = stored_credentials(&harness, "crmsync__crmconnection").await;
    let second_refresh_token = second["refresh_token"].as_str().unwrap().to_string();
    let second_access_token = second["access_token"].as_str().unwrap().to_string();
    assert_ne!(second_refresh_token, first_refresh_token, "rotation");
    assert_ne!(second_access_token, first_access_token);
    assert!(
        refreshed
            .attachment
            .headers
            .iter()
            .any(|(_, value)| value.expose_secret() == format!("Bearer {second_access_token}"))
    );
    // A second forced refresh with the already-replaced credential does not refresh again.
    let again = harness
        .manager
        .force_refresh_after_401(
            organization,
            EnvironmentKind::Production,
            "crmsync__crmconnection",
            &credential,
        )
        .await
        .unwrap();
    assert!(
        again
            .attachment
            .headers
            .iter()
            .any(|(_, value)| value.expose_secret() == format!("Bearer {second_access_token}"))
    );

    // Reuse of the old refresh token: oidc-provider detects it and revokes the whole grant, so
    // the next refresh gets invalid_grant and the connection needs reauthorization.
    let reuse = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", first_refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reuse.status(), 400);
    let error = harness
        .manager
        .force_refresh_after_401(
            organization,
            EnvironmentKind::Production,
            "crmsync__crmconnection",
            &refreshed,
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "CONNECTION_NEEDS_REAUTHORIZATION", "{error}");
    let view = harness
        .manager
        .get_connection(organization, "crmsync__crmconnection")
        .await
        .unwrap();
    assert_eq!(
        view.environments[0].status,
        ConnectionStatus::NeedsReauthorization
    );
    let events = harness
        .manager
        .events(organization, "crmsync__crmconnection")
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|event| event.kind.as_str()).collect();
    assert!(
        kinds.contains(&"refreshed") && kinds.contains(&"needs_reauthorization"),
        "{kinds:?}"
    );
    let error = harness
        .manager
        .credential_for_request(
            organization,
            EnvironmentKind::Production,
            "crmsync__crmconnection",
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "CONNECTION_NEEDS_REAUTHORIZATION");

    // Reauthorize, then delete: the grant is revoked at the service.
    authorize_in_browser(
        &harness,
        organization,
        "crmsync__crmconnection",
        "oidc_test",
    )
    .await;
    let third = stored_credentials(&harness, "crmsync__crmconnection").await;
    let third_access_token = third["access_token"].as_str().unwrap().to_string();
    let third_refresh_token = third["refresh_token"].as_str().unwrap().to_string();
    assert!(introspect(&issuer, &third_access_token).await);
    harness
        .manager
        .delete_connection(organization, "crmsync__crmconnection")
        .await
        .unwrap();
    assert!(
        !introspect(&issuer, &third_refresh_token).await,
        "refresh token revoked at the service"
    );
    assert!(
        !introspect(&issuer, &third_access_token).await,
        "revoking the refresh token revokes the grant"
    );
    let error = harness
        .manager
        .get_connection(organization, "crmsync__crmconnection")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "CONNECTION_NOT_FOUND");

    // No secret in plain text: database file (with its WAL) and every captured log line.
    let database = database_bytes(&harness);
    let logs = logs.lock().unwrap().clone();
    for secret in [
        first_access_token.as_str(),
        first_refresh_token.as_str(),
        second_access_token.as_str(),
        second_refresh_token.as_str(),
        third_access_token.as_str(),
        third_refresh_token.as_str(),
        CLIENT_SECRET,
    ] {
        assert!(
            !contains(&database, secret),
            "the database contains a secret in plain text"
        );
        assert!(
            !contains(&logs, secret),
            "the logs contain a secret in plain text"
        );
    }
    assert!(!logs.is_empty() || database.len() > 1000);
}

#[tokio::test]
async fn client_credentials_connection() {
    let Some(issuer) = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_OIDC_ISSUER",
        "client_credentials_connection",
    ) else {
        return;
    };
    let harness = sqlite_harness(test_config()).await;
    let organization = harness.organization;
    let mut input = custom_service(&issuer, "oidc_machine", "oauth2_client_credentials");
    input.authorize_url = None;
    input.scopes = vec![serde_json::from_value(serde_json::json!("crm.read")).unwrap()];
    harness
        .manager
        .save_custom_service(organization, input, false)
        .await
        .unwrap();
    create_connection(
        &harness.manager,
        organization,
        "crmsync",
        "machine",
        "oidc_machine",
    )
    .await;
    let error = harness
        .manager
        .begin_authorization(organization, "crmsync__machine", EnvironmentKind::Sandbox)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "UNSUPPORTED_OPERATION");
    let view = harness
        .manager
        .authorize_with_credentials(
            organization,
            "crmsync__machine",
            EnvironmentKind::Sandbox,
            BTreeMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(view.environments[1].status, ConnectionStatus::Active);
    assert_eq!(
        view.environments[1].granted_scopes,
        vec!["crm.read".to_string()]
    );
    let credential = harness
        .manager
        .credential_for_request(organization, EnvironmentKind::Sandbox, "crmsync__machine")
        .await
        .unwrap();
    let token = credential.attachment.headers[0]
        .1
        .expose_secret()
        .strip_prefix("Bearer ")
        .unwrap()
        .to_string();
    assert!(introspect(&issuer, &token).await);
    assert!(credential.refreshable);
    // A 401 re-runs the grant (there is no refresh token) and yields a new token.
    let fresh = harness
        .manager
        .force_refresh_after_401(
            organization,
            EnvironmentKind::Sandbox,
            "crmsync__machine",
            &credential,
        )
        .await
        .unwrap();
    let fresh_token = fresh.attachment.headers[0].1.expose_secret().to_string();
    assert_ne!(fresh_token, format!("Bearer {token}"));
    let error = harness
        .manager
        .credential_for_request(
            organization,
            EnvironmentKind::Production,
            "crmsync__machine",
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "CONNECTION_NOT_AUTHORIZED");
}

#[tokio::test]
async fn wrong_pkce_verifier_is_rejected_by_the_provider() {
    let Some(issuer) = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_OIDC_ISSUER",
        "wrong_pkce_verifier_is_rejected_by_the_provider",
    ) else {
        return;
    };
    let harness = sqlite_harness(test_config()).await;
    let organization = harness.organization;
    harness
        .manager
        .save_custom_service(
            organization,
            custom_service(&issuer, "oidc_test", "oauth2_authorization_code"),
            false,
        )
        .await
        .unwrap();
    create_connection(
        &harness.manager,
        organization,
        "crmsync",
        "pkce",
        "oidc_test",
    )
    .await;
    let launched = begin_and_launch(
        &harness.manager,
        organization,
        "crmsync__pkce",
        EnvironmentKind::Production,
    )
    .await;
    let state = state_of(&launched);
    // Replace the stored verifier with another valid one: the challenge sent no longer matches.
    let state_hash = trestle_connections::pkce::digest_hex(&state);
    let other_verifier = trestle_connections::pkce::code_verifier();
    let ciphertext = harness
        .vault
        .encrypt(
            other_verifier.as_bytes(),
            &trestle_store::connections::code_verifier_associated_data(&state_hash),
        )
        .unwrap();
    let file = harness.database_file.as_ref().unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE oauth_authorizations SET code_verifier = $1 WHERE state_hash = $2")
        .bind(ciphertext)
        .bind(&state_hash)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let callback =
        walk_login_and_consent(&browser(), &launched.provider_url, PUBLIC_BASE_URL).await;
    let error = harness
        .manager
        .complete_authorization(
            "oidc_test",
            &query_pairs(&callback),
            Some(&launched.browser_binding),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_INVALID_GRANT", "{error}");
    let view = harness
        .manager
        .get_connection(organization, "crmsync__pkce")
        .await
        .unwrap();
    assert_eq!(view.environments[0].status, ConnectionStatus::NotAuthorized);
}
