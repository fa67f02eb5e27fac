//! The guarded reqwest client other crates use for protocols of their own (token endpoints,
//! verification requests): names resolving to blocked addresses are refused before any byte
//! is sent, the checked address is the one connected to, and allowed ranges open exactly
//! what they name.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use futures::future::BoxFuture;
use trestle_outbound::{
    EgressPolicy, HostResolver, StaticResolver, check_destination, egress_refusal_in,
    guarded_http_client,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn port_of(server: &MockServer) -> u16 {
    server.address().port()
}

#[tokio::test]
async fn a_name_resolving_to_a_blocked_address_is_refused_and_nothing_is_sent() {
    install_crypto_provider();
    let listener = trestle_testkit::stand_in::server_that_must_not_be_reached().await;
    let resolver = StaticResolver::new()
        .with("tokens.internal.test", &[ip("127.0.0.1")])
        .with(
            "mixed.example.test",
            &[ip("93.184.215.14"), ip("127.0.0.1")],
        );
    let client = guarded_http_client(
        EgressPolicy::strict(),
        Arc::new(resolver),
        Duration::from_secs(5),
    )
    .unwrap();
    for host in ["tokens.internal.test", "mixed.example.test"] {
        let url = format!("http://{host}:{}/oauth/token", port_of(&listener));
        assert!(check_destination(&EgressPolicy::strict(), &url.parse().unwrap()).is_ok());
        let error = client
            .post(&url)
            .body("client_secret=hunter2")
            .send()
            .await
            .unwrap_err();
        let refusal = egress_refusal_in(&error).unwrap_or_else(|| panic!("{host}: {error:?}"));
        assert_eq!(refusal.code(), "EGRESS_ADDRESS_BLOCKED", "{host}");
        let message = refusal.to_string();
        assert!(message.contains(host), "{message}");
        assert!(message.contains("127.0.0.1"), "{message}");
        assert!(message.contains("loopback"), "{message}");
    }
    // MockServer verifies `expect(0)` on drop.
}

#[tokio::test]
async fn an_allowed_range_reaches_the_checked_address() {
    install_crypto_provider();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let resolver = StaticResolver::new().with("tokens.internal.test", &[ip("127.0.0.1")]);
    let client = guarded_http_client(
        EgressPolicy::from_allow_list(["127.0.0.1/32"]).unwrap(),
        Arc::new(resolver),
        Duration::from_secs(5),
    )
    .unwrap();
    let response = client
        .post(format!(
            "http://tokens.internal.test:{}/oauth/token",
            port_of(&server)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

/// Answers loopback on the first lookup and a public address afterwards: a client that looked
/// the name up twice (once to check, once to connect) would be fooled the other way round.
struct CountingResolver {
    lookups: Arc<AtomicUsize>,
}

impl HostResolver for CountingResolver {
    fn lookup(&self, _host: &str) -> BoxFuture<'static, Result<Vec<IpAddr>, String>> {
        let count = self.lookups.fetch_add(1, Ordering::SeqCst);
        let answer = if count == 0 {
            vec![ip("93.184.215.14")]
        } else {
            vec![ip("127.0.0.1")]
        };
        Box::pin(async move { Ok(answer) })
    }
}

#[tokio::test]
async fn each_connection_looks_the_name_up_once_and_checks_that_answer() {
    install_crypto_provider();
    let listener = trestle_testkit::stand_in::server_that_must_not_be_reached().await;
    let lookups = Arc::new(AtomicUsize::new(0));
    let client = guarded_http_client(
        EgressPolicy::strict(),
        Arc::new(CountingResolver {
            lookups: lookups.clone(),
        }),
        Duration::from_millis(500),
    )
    .unwrap();
    let url = format!("http://rebind.example.test:{}/", port_of(&listener));
    // First connection: the public answer is checked and connected to (nothing listens
    // there in the test network, so the request fails or times out without reaching us).
    let _ = client.get(&url).send().await;
    assert_eq!(lookups.load(Ordering::SeqCst), 1);
    // Second connection: the rebound loopback answer is refused.
    let error = client.get(&url).send().await.unwrap_err();
    assert_eq!(
        egress_refusal_in(&error).map(|refusal| refusal.code()),
        Some("EGRESS_ADDRESS_BLOCKED")
    );
    assert_eq!(lookups.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    install_crypto_provider();
    let server = MockServer::start().await;
    Mock::given(path("/start"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", "http://169.254.169.254/"),
        )
        .mount(&server)
        .await;
    let client = guarded_http_client(
        EgressPolicy::from_allow_list(["127.0.0.1/32"]).unwrap(),
        Arc::new(StaticResolver::new()),
        Duration::from_secs(5),
    )
    .unwrap();
    let response = client
        .get(format!("{}/start", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 302);
}
