//! The per-process credential cache of `credential_for_request`: an unchanged connection is
//! served without reading the store, a change made through this process's store applies to
//! the very next request, and a change made through another process (here: a second store and
//! manager on the same SQLite file) is seen within `CROSS_PROCESS_STALENESS`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use trestle_connections::{ConnectionManager, EnvironmentKind};
use trestle_store::{CROSS_PROCESS_STALENESS, Store};
use trestle_vault::SecretString;

const LINK_NAME: &str = "crmsync__cached";

fn token_fields(token: &str) -> BTreeMap<String, SecretString> {
    BTreeMap::from([("token".to_owned(), SecretString::new(token.to_owned()))])
}

/// A harness whose organization has a custom bearer service and one connection to it,
/// `crmsync__cached`, not yet authorized.
async fn harness_with_cached_bearer_connection() -> Harness {
    let harness = sqlite_harness(test_config()).await;
    let service = serde_json::from_value(json!({
        "service_name": "Cached bearer", "service_link_name": "cached_bearer",
        "auth_type": "bearer", "api_base_url": "https://api.cached.example"
    }))
    .unwrap();
    harness
        .manager
        .save_custom_service(harness.organization, service, false)
        .await
        .unwrap();
    let connection = create_connection(
        &harness.manager,
        harness.organization,
        "crmsync",
        "cached",
        "cached_bearer",
    )
    .await;
    assert_eq!(connection.link_name, LINK_NAME);
    harness
}

/// The secret the manager would attach for the connection right now.
async fn attached_secret(manager: &ConnectionManager, harness: &Harness) -> Result<String, String> {
    match manager
        .credential_for_request(harness.organization, EnvironmentKind::Sandbox, LINK_NAME)
        .await
    {
        Ok(credential) => Ok(credential
            .attachment
            .secret_values()
            .into_iter()
            .find(|value| value.ends_with("-secret") && !value.contains(' '))
            .unwrap()),
        Err(error) => Err(error.code().to_owned()),
    }
}

/// Polls until the manager attaches `expected`, for at most the staleness bound plus slack.
async fn eventually_attached(
    manager: &ConnectionManager,
    harness: &Harness,
    expected: Result<&str, &str>,
) -> Duration {
    let started = Instant::now();
    let deadline = started + CROSS_PROCESS_STALENESS + Duration::from_secs(2);
    loop {
        let seen = attached_secret(manager, harness).await;
        if seen.as_deref().map_err(String::as_str) == expected {
            return started.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "still {seen:?} instead of {expected:?} after the staleness bound"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn credentials_are_cached_and_every_write_is_seen_within_the_bound() {
    let harness = harness_with_cached_bearer_connection().await;
    let authorize = |manager: Arc<ConnectionManager>, token: &'static str| {
        let organization = harness.organization;
        async move {
            manager
                .authorize_with_credentials(
                    organization,
                    LINK_NAME,
                    EnvironmentKind::Sandbox,
                    token_fields(token),
                )
                .await
                .unwrap();
        }
    };
    authorize(harness.manager.clone(), "first-secret").await;

    // "Another process": its own store handle and manager on the same database and key.
    let database_url = format!(
        "sqlite://{}?mode=rw",
        harness.database_file.as_ref().unwrap().display()
    );
    let other_store = Store::connect(&database_url).await.unwrap();
    let other = Arc::new(ConnectionManager::new(
        other_store,
        harness.vault.clone(),
        token_client(),
        test_config(),
    ));

    // Filled by the first request; the other process changes the credential.
    let filled_at = Instant::now();
    assert_eq!(
        attached_secret(&harness.manager, &harness).await.unwrap(),
        "first-secret"
    );
    authorize(other.clone(), "second-secret").await;
    let seen = attached_secret(&harness.manager, &harness).await.unwrap();
    if filled_at.elapsed() < CROSS_PROCESS_STALENESS / 2 {
        // Served from the cache: the store was not read (it already holds the new secret).
        assert_eq!(seen, "first-secret");
    }
    eventually_attached(&harness.manager, &harness, Ok("second-secret")).await;

    // A change through this process's own store applies to the very next request.
    authorize(harness.manager.clone(), "third-secret").await;
    assert_eq!(
        attached_secret(&harness.manager, &harness).await.unwrap(),
        "third-secret"
    );
    assert_eq!(
        attached_secret(&other, &harness).await.unwrap(),
        "third-secret",
        "the other process had not cached this connection yet"
    );

    // Deleted through the other process: no longer attached here within the bound.
    other
        .delete_connection(harness.organization, LINK_NAME)
        .await
        .unwrap();
    eventually_attached(&harness.manager, &harness, Err("CONNECTION_NOT_FOUND")).await;
}

#[tokio::test]
async fn a_deletion_through_this_process_applies_at_once() {
    let harness = harness_with_cached_bearer_connection().await;
    harness
        .manager
        .authorize_with_credentials(
            harness.organization,
            LINK_NAME,
            EnvironmentKind::Sandbox,
            token_fields("only-secret"),
        )
        .await
        .unwrap();
    assert_eq!(
        attached_secret(&harness.manager, &harness).await.unwrap(),
        "only-secret"
    );
    harness
        .manager
        .delete_connection(harness.organization, LINK_NAME)
        .await
        .unwrap();
    assert_eq!(
        attached_secret(&harness.manager, &harness).await,
        Err("CONNECTION_NOT_FOUND".to_owned())
    );
}

#[tokio::test]
async fn a_cache_hit_shares_the_cached_credential_and_a_write_replaces_it() {
    let harness = harness_with_cached_bearer_connection().await;
    let authorize = |token: &'static str| {
        harness.manager.authorize_with_credentials(
            harness.organization,
            LINK_NAME,
            EnvironmentKind::Sandbox,
            token_fields(token),
        )
    };
    let shared = || {
        harness.manager.shared_credential_for_request(
            harness.organization,
            EnvironmentKind::Sandbox,
            LINK_NAME,
        )
    };
    authorize("shared-secret").await.unwrap();
    let first = shared().await.unwrap();
    let second = shared().await.unwrap();
    assert!(
        Arc::ptr_eq(&first, &second),
        "a cache hit hands out the cached credential, not a copy"
    );
    assert!(
        first
            .attachment
            .secret_values()
            .iter()
            .any(|value| value == "shared-secret")
    );

    authorize("replaced-secret").await.unwrap();
    let after_write = shared().await.unwrap();
    assert!(!Arc::ptr_eq(&first, &after_write));
    assert!(
        after_write
            .attachment
            .secret_values()
            .iter()
            .any(|value| value == "replaced-secret")
    );
    assert_eq!(
        attached_secret(&harness.manager, &harness).await.unwrap(),
        "replaced-secret",
        "the copying accessor sees the same credential"
    );
}
