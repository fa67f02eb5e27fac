//! Retries, Retry-After, rate-limit reset headers and the 401 refresh path, against wiremock.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use futures::future::BoxFuture;
use trestle_outbound::{
    CredentialAttachment, CredentialSource, EgressContext, Method, OutboundConfig, OutboundError,
    OutboundRequest, OutboundResponse, RetryPolicy, StaticHostList,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn retrying_engine() -> trestle_outbound::OutboundEngine {
    common::engine(OutboundConfig {
        retry: RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            max_server_wait: Duration::from_secs(3),
        },
        ..loopback_config()
    })
}

async fn mount_failures_then_success(
    server: &MockServer,
    route: &str,
    failure: ResponseTemplate,
    failures: u64,
) {
    Mock::given(path(route))
        .respond_with(failure)
        .up_to_n_times(failures)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_string("recovered"))
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn get_is_retried_after_503_honouring_retry_after_seconds() {
    let server = MockServer::start().await;
    mount_failures_then_success(
        &server,
        "/flaky",
        ResponseTemplate::new(503).insert_header("retry-after", "1"),
        1,
    )
    .await;
    let started = Instant::now();
    let response = send_without_credential(
        &retrying_engine(),
        OutboundRequest::get(format!("{}/flaky", server.uri())),
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.attempts, 2);
    assert_eq!(response.text(), "recovered");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn rate_limit_reset_header_sets_the_wait() {
    let server = MockServer::start().await;
    mount_failures_then_success(
        &server,
        "/limited",
        ResponseTemplate::new(429).insert_header("x-ratelimit-reset", "1"),
        1,
    )
    .await;
    let started = Instant::now();
    let response = send_without_credential(
        &retrying_engine(),
        OutboundRequest::new(Method::Put, format!("{}/limited", server.uri())),
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.attempts, 2);
    assert!(started.elapsed() >= Duration::from_millis(950));
}

#[tokio::test]
async fn a_wait_beyond_the_cap_returns_the_429_at_once() {
    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let response = send_without_credential(
        &retrying_engine(),
        OutboundRequest::get(format!("{}/busy", server.uri())),
    )
    .await;
    assert_eq!(response.status, 429);
    assert_eq!(response.attempts, 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn exhausted_retries_return_the_last_error_status() {
    let server = MockServer::start().await;
    Mock::given(path("/down"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .expect(3)
        .mount(&server)
        .await;
    let response = send_without_credential(
        &retrying_engine(),
        OutboundRequest::new(Method::Delete, format!("{}/down", server.uri())),
    )
    .await;
    assert_eq!(response.status, 502);
    assert_eq!(response.attempts, 3);
    assert_eq!(response.text(), "bad gateway");
}

#[tokio::test]
async fn post_and_patch_are_not_retried_unless_asked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/create"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/create"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let engine = retrying_engine();
    for method in [Method::Post, Method::Patch] {
        let response = send_without_credential(
            &engine,
            OutboundRequest::new(method, format!("{}/create", server.uri())),
        )
        .await;
        assert_eq!(response.status, 503);
        assert_eq!(response.attempts, 1);
    }

    let opted_in = MockServer::start().await;
    mount_failures_then_success(&opted_in, "/create", ResponseTemplate::new(503), 1).await;
    let mut request = OutboundRequest::post(format!("{}/create", opted_in.uri()));
    request.retry_non_idempotent = true;
    let response = engine
        .send(request, None, &EgressContext::new())
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.attempts, 2);
}

#[tokio::test]
async fn error_statuses_are_returned_not_thrown() {
    let server = MockServer::start().await;
    Mock::given(path("/missing"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(serde_json::json!({"code": 3000, "message": "not found"})),
        )
        .mount(&server)
        .await;
    let response = send_without_credential(
        &retrying_engine(),
        OutboundRequest::get(format!("{}/missing", server.uri())),
    )
    .await;
    assert_eq!(response.status, 404);
    assert_eq!(response.attempts, 1);
    let detailed = response.detailed();
    assert_eq!(detailed["responseCode"], 404);
    assert_eq!(
        detailed["responseText"],
        serde_json::json!({"code": 3000, "message": "not found"})
    );
    assert_eq!(
        detailed["responseHeader"]["content-type"],
        "application/json"
    );
}

/// A connection whose first token the service rejects; refreshing yields a good one.
struct RefreshingSource {
    hosts: Vec<String>,
    refreshes: AtomicUsize,
    can_refresh: bool,
}

impl RefreshingSource {
    fn credential(&self, token: &str) -> CredentialAttachment {
        CredentialAttachment::new(
            "crm__books",
            Arc::new(StaticHostList::new(self.hosts.iter()).allowing_plain_http()),
        )
        .with_header("Authorization", format!("Zoho-oauthtoken {token}"))
    }
}

impl RefreshingSource {
    /// A connection to the loopback stand-in that has not refreshed yet.
    fn on_loopback(can_refresh: bool) -> Self {
        RefreshingSource {
            hosts: vec!["127.0.0.1".to_owned()],
            refreshes: AtomicUsize::new(0),
            can_refresh,
        }
    }
}

/// GETs the stand-in's Leads through a retrying engine with the credential `source` gives.
async fn get_leads(server: &MockServer, source: &RefreshingSource) -> OutboundResponse {
    retrying_engine()
        .send_with_credential_source(
            OutboundRequest::get(format!("{}/crm/v2/Leads", server.uri())),
            source,
            &EgressContext::new(),
        )
        .await
        .unwrap()
}

impl CredentialSource for RefreshingSource {
    fn current(&self) -> BoxFuture<'_, Result<CredentialAttachment, OutboundError>> {
        Box::pin(async move { Ok(self.credential("expired-token")) })
    }

    fn refresh_after_unauthorized(
        &self,
    ) -> BoxFuture<'_, Result<Option<CredentialAttachment>, OutboundError>> {
        Box::pin(async move {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            Ok(self.can_refresh.then(|| self.credential("fresh-token")))
        })
    }
}

async fn zoho_style_api() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/crm/v2/Leads"))
        .and(header("authorization", "Zoho-oauthtoken fresh-token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [{"id": "1"}]})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/crm/v2/Leads"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"code": "INVALID_TOKEN", "status": "error"})),
        )
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_401_is_retried_once_with_a_fresh_credential() {
    let server = zoho_style_api().await;
    let source = RefreshingSource::on_loopback(true);
    let response = get_leads(&server, &source).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json().unwrap(),
        serde_json::json!({"data": [{"id": "1"}]})
    );
    assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_401_without_a_refresh_is_returned_to_the_script() {
    let server = zoho_style_api().await;
    let source = RefreshingSource::on_loopback(false);
    let response = get_leads(&server, &source).await;
    assert_eq!(response.status, 401);
    assert_eq!(
        response.json().unwrap(),
        serde_json::json!({"code": "INVALID_TOKEN", "status": "error"})
    );
    assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
