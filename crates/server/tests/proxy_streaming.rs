//! The proxy streams the upstream's answer back instead of buffering it: a large body in many
//! chunks arrives whole, a slow (drip) body starts arriving before the upstream finished, the
//! response size limit still holds (announced or not), and a credential echoed by the
//! upstream is redacted in the streamed body. Upstream: httpbin (TRESTLE_TEST_HTTPBIN_URL),
//! with the Books connection's host routed to it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod functions_support;

use std::time::{Duration, Instant};

use functions_support::*;
use trestle_connections::EnvironmentKind;
use trestle_outbound::OutboundConfig;

async fn harness_on_httpbin(test: &str, max_response_bytes: u64) -> Option<(Harness, String)> {
    let issuer = trestle_testkit::variable_or_skip("TRESTLE_TEST_OIDC_ISSUER", test)?;
    let httpbin = trestle_testkit::variable_or_skip("TRESTLE_TEST_HTTPBIN_URL", test)?;
    let config = OutboundConfig {
        max_response_bytes,
        ..OutboundConfig::default()
    };
    let harness = start_with(Some(issuer.clone()), config).await;
    // The Books service's API base without a path, so proxied paths are httpbin's own.
    harness
        .runtime
        .connections()
        .save_custom_service(
            harness.organization,
            custom_service(&issuer, "oidc_test_other", "https://books.zoho.com"),
            true,
        )
        .await
        .unwrap();
    harness
        .runtime
        .set_routes(
            harness.organization,
            EnvironmentKind::Sandbox,
            vec![trestle_runtime::EgressRoute {
                host: "books.zoho.com".into(),
                target: httpbin.trim_end_matches('/').to_owned(),
            }],
        )
        .await
        .unwrap();
    Some((harness, httpbin))
}

fn proxy_url(harness: &Harness, path: &str) -> String {
    format!(
        "{}/api/v1/environments/sandbox/proxy/{BOOKS_LINK}/{path}",
        harness.base_url
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_chunked_body_streams_back_whole() {
    let Some((harness, _)) =
        harness_on_httpbin("a_large_chunked_body_streams_back_whole", 5 * 1024 * 1024).await
    else {
        return;
    };
    // httpbin caps stream-bytes at 100 KiB; 1 KiB chunks make a hundred of them.
    let mut response = harness
        .client
        .get(proxy_url(
            &harness,
            "stream-bytes/102400?chunk_size=1024&seed=7",
        ))
        .bearer_auth(&harness.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut received = 0usize;
    let mut chunks = 0usize;
    while let Some(chunk) = response.chunk().await.unwrap() {
        received += chunk.len();
        chunks += 1;
    }
    assert_eq!(received, 102_400);
    assert!(chunks > 1, "the body came in {chunks} chunk(s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_starts_arriving_before_the_upstream_finishes() {
    let Some((harness, _)) = harness_on_httpbin(
        "a_slow_body_starts_arriving_before_the_upstream_finishes",
        5 * 1024 * 1024,
    )
    .await
    else {
        return;
    };
    // 2000 bytes over four seconds. Buffering would hold the first byte until the last; the
    // redaction of a streamed body only holds back as many bytes as its longest secret form.
    let started = Instant::now();
    let mut response = harness
        .client
        .get(proxy_url(
            &harness,
            "drip?duration=4&numbytes=2000&delay=0&code=200",
        ))
        .bearer_auth(&harness.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let first = response.chunk().await.unwrap().unwrap();
    let first_after = started.elapsed();
    assert!(!first.is_empty());
    let mut received = first.len();
    while let Some(chunk) = response.chunk().await.unwrap() {
        received += chunk.len();
    }
    let total = started.elapsed();
    assert_eq!(received, 2000);
    assert!(
        total >= Duration::from_secs(3),
        "the upstream drips for about 4 s, the whole body took {total:?}"
    );
    assert!(
        first_after + Duration::from_secs(2) < total,
        "the first byte came after {first_after:?}, the last after {total:?}: the body was buffered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_response_size_limit_holds_while_streaming() {
    let Some((harness, _)) =
        harness_on_httpbin("the_response_size_limit_holds_while_streaming", 50_000).await
    else {
        return;
    };
    // Announced length over the limit: refused before any byte is sent.
    let response = harness
        .client
        .get(proxy_url(&harness, "bytes/80000"))
        .bearer_auth(&harness.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["code"], "RESPONSE_TOO_LARGE", "{error}");
    // Chunked, length unknown: the stream is cut off with an error, never passed whole.
    let response = harness
        .client
        .get(proxy_url(&harness, "stream-bytes/80000?chunk_size=4096"))
        .bearer_auth(&harness.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.bytes().await;
    assert!(
        body.is_err(),
        "a body over the limit must not arrive complete: {:?}",
        body.map(|bytes| bytes.len())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_credential_is_redacted_in_the_streamed_body() {
    let Some((harness, _)) = harness_on_httpbin(
        "an_echoed_credential_is_redacted_in_the_streamed_body",
        5 * 1024 * 1024,
    )
    .await
    else {
        return;
    };
    let text = harness
        .client
        .get(proxy_url(&harness, "anything/echo"))
        .bearer_auth(&harness.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let echoed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let authorization = echoed["headers"]["Authorization"].as_str().unwrap();
    // The whole header value is one of the credential's secret forms.
    assert_eq!(authorization, "[REDACTED]", "{text}");
    assert!(!text.contains("Zoho-oauthtoken "), "{text}");
}
