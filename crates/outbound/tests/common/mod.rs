//! Helpers shared by the outbound engine's end-to-end tests.
#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use trestle_outbound::{
    CredentialAttachment, EgressContext, EgressPolicy, HostResolver, OutboundConfig,
    OutboundEngine, OutboundError, OutboundRequest, OutboundResponse, RetryPolicy, StaticHostList,
};

pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The httpbin peer's base URL, from TRESTLE_TEST_HTTPBIN_URL (set by scripts/peers.sh).
/// Missing: fails under CI=true, otherwise prints that the test skipped.
pub fn httpbin_url(test: &str) -> Option<String> {
    trestle_testkit::variable_or_skip("TRESTLE_TEST_HTTPBIN_URL", test)
        .map(|url| url.trim_end_matches('/').to_owned())
}

/// Engine settings for tests against loopback peers: `egress.allow = ["127.0.0.1/32"]`
/// (the guard stays on for everything else) and no retries unless a test asks for them.
pub fn loopback_config() -> OutboundConfig {
    OutboundConfig {
        egress: EgressPolicy::from_allow_list(["127.0.0.1/32"]).unwrap(),
        retry: RetryPolicy::disabled(),
        ..OutboundConfig::default()
    }
}

pub fn engine(config: OutboundConfig) -> OutboundEngine {
    install_crypto_provider();
    OutboundEngine::new(config).unwrap()
}

pub fn loopback_engine() -> OutboundEngine {
    engine(loopback_config())
}

pub fn loopback_engine_with_resolver(resolver: Arc<dyn HostResolver>) -> OutboundEngine {
    engine(OutboundConfig {
        resolver,
        ..loopback_config()
    })
}

pub const SECRET_TOKEN: &str = "1000.s3cret-token.zz9";
pub const SECRET_API_KEY: &str = "key/+9 secret=value";

/// A Zoho-style credential for a connection whose service allows `hosts`.
pub fn zoho_credential(hosts: &[&str]) -> CredentialAttachment {
    CredentialAttachment::new(
        "crm__books",
        Arc::new(StaticHostList::new(hosts.iter().copied())),
    )
    .with_header("Authorization", format!("Zoho-oauthtoken {SECRET_TOKEN}"))
    .with_query("api_key", SECRET_API_KEY)
}

/// The same, for hosts reached over plain http (loopback peers addressed directly).
pub fn plain_http_credential(hosts: &[&str]) -> CredentialAttachment {
    CredentialAttachment::new(
        "crm__books",
        Arc::new(StaticHostList::new(hosts.iter().copied()).allowing_plain_http()),
    )
    .with_header("Authorization", format!("Zoho-oauthtoken {SECRET_TOKEN}"))
    .with_query("api_key", SECRET_API_KEY)
}

/// Every form a secret can take in text (as the engine's redactor knows them).
pub fn assert_no_secret(text: &str) {
    let redactor = trestle_outbound::Redactor::new([SECRET_TOKEN, SECRET_API_KEY]);
    assert!(
        !redactor.contains_secret(text),
        "a credential value leaked into: {text}"
    );
}

/// The error the engine answers a GET of `url` with (no host routes); a response fails the test.
pub async fn error_of_get(
    engine: &OutboundEngine,
    url: impl Into<String>,
    credential: Option<&CredentialAttachment>,
) -> OutboundError {
    engine
        .send(OutboundRequest::get(url), credential, &EgressContext::new())
        .await
        .unwrap_err()
}

/// Sends `request` without a credential or host routes; an error fails the test.
pub async fn send_without_credential(
    engine: &OutboundEngine,
    request: OutboundRequest,
) -> OutboundResponse {
    engine
        .send(request, None, &EgressContext::new())
        .await
        .unwrap()
}
