//! Two Trestle servers on one database, each with its own per-process caches (API-token
//! verification, connection credentials, stand-in routes): a change made through the first
//! applies to the first server's very next request, and to the second server's requests
//! within `CROSS_PROCESS_STALENESS`. Needs oidc-provider (TRESTLE_TEST_OIDC_ISSUER).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod functions_support;

use std::time::{Duration, Instant};

use functions_support::*;
use serde_json::{Value, json};
use trestle_store::{CROSS_PROCESS_STALENESS, EnvironmentKind};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn proxy_url(base_url: &str) -> String {
    format!("{base_url}/api/v1/environments/sandbox/proxy/{BOOKS_LINK}/contacts")
}

/// Status and `from` field of one proxied request.
async fn proxied(client: &reqwest::Client, base_url: &str, token: &str) -> (u16, Value) {
    let response = client
        .get(proxy_url(base_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Polls the server until the proxied answer is `expected`, at most the staleness bound plus
/// slack; fails otherwise.
async fn eventually(
    client: &reqwest::Client,
    base_url: &str,
    token: &str,
    expected: (u16, Option<&str>),
) {
    let deadline = Instant::now() + CROSS_PROCESS_STALENESS + Duration::from_secs(2);
    loop {
        let (status, body) = proxied(client, base_url, token).await;
        let from = body["from"].as_str();
        if (status, from) == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the second server still answers {status} {body} instead of {expected:?} after the staleness bound"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn stand_in(from: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v3/contacts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "from": from })))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn changes_through_one_server_reach_the_other_within_the_staleness_bound() {
    let Some(issuer) = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_OIDC_ISSUER",
        "changes_through_one_server_reach_the_other_within_the_staleness_bound",
    ) else {
        return;
    };
    let first = start(issuer).await;
    Mock::given(method("GET"))
        .and(path("/api/v3/contacts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "from": "books" })))
        .mount(&first.books)
        .await;
    let second = first.start_second_server().await;
    let client = reqwest::Client::new();
    let token = first.token.clone();

    // Both servers have verified the token, read the connection and the routes.
    for base_url in [&first.base_url, &second.base_url] {
        let (status, body) = proxied(&client, base_url, &token).await;
        assert_eq!((status, body["from"].as_str()), (200, Some("books")));
    }

    // 1. A stand-in route changed through the first server.
    let other_books = stand_in("other books").await;
    first
        .runtime
        .set_routes(
            first.organization,
            EnvironmentKind::Sandbox,
            vec![
                trestle_runtime::EgressRoute {
                    host: "www.zohoapis.com".into(),
                    target: first.bigin.uri(),
                },
                trestle_runtime::EgressRoute {
                    host: "books.zoho.com".into(),
                    target: other_books.uri(),
                },
            ],
        )
        .await
        .unwrap();
    let (status, body) = proxied(&client, &first.base_url, &token).await;
    assert_eq!(
        (status, body["from"].as_str()),
        (200, Some("other books")),
        "the server the change went through uses it at once"
    );
    eventually(
        &client,
        &second.base_url,
        &token,
        (200, Some("other books")),
    )
    .await;

    // 2. The connection deleted through the first server's connection manager (this harness
    // serves no connections API; the manager and its store are the first server's own).
    first
        .runtime
        .connections()
        .delete_connection(first.organization, BOOKS_LINK)
        .await
        .unwrap();
    let (status, body) = proxied(&client, &first.base_url, &token).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "CONNECTION_NOT_FOUND", "{body}");
    eventually(&client, &second.base_url, &token, (404, None)).await;

    // 3. The API token revoked through the first server's API.
    let (status, tokens) = first
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/organizations/{}/tokens", first.organization),
            None,
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    let token_id = tokens["tokens"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = first
        .call(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/organizations/{}/tokens/{token_id}",
                first.organization
            ),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = proxied(&client, &first.base_url, &token).await;
    assert_eq!(status, 401, "a revoked token is refused at once: {body}");
    eventually(&client, &second.base_url, &token, (401, None)).await;
}
