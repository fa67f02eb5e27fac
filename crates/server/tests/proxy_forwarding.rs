//! The proxy API forwards method, path, query, body and allow-listed headers to the
//! connection's API base with the credential attached, and never the caller's own secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod functions_support;

use functions_support::*;
use serde_json::json;
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_forwards_with_the_connection_credential() {
    let Some(issuer) = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_OIDC_ISSUER",
        "proxy_forwards_with_the_credential",
    ) else {
        return;
    };
    let harness = start(issuer).await;
    Mock::given(method("PUT"))
        .and(path("/api/v3/contacts/42"))
        .and(query_param("organization_id", "7"))
        .and(header("x-custom", "yes"))
        .and(body_string("{\"a\":1}"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-upstream", "books")
                .set_body_json(json!({ "code": 0 })),
        )
        .expect(1)
        .mount(&harness.books)
        .await;
    let response = harness
        .client
        .put(format!(
            "{}/api/v1/environments/sandbox/proxy/{BOOKS_LINK}/contacts/42?organization_id=7",
            harness.base_url
        ))
        .bearer_auth(&harness.token)
        .header("content-type", "application/json")
        .header("Trestle-Proxy-X-Custom", "yes")
        .header("cookie", "session=secret-cookie")
        .header("x-not-forwarded", "no")
        .body("{\"a\":1}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-upstream"], "books");
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["code"],
        0
    );
    let received = &harness.books.received_requests().await.unwrap()[0];
    let authorization = received.headers["authorization"].to_str().unwrap();
    assert!(
        authorization.starts_with("Zoho-oauthtoken "),
        "{authorization}"
    );
    assert!(!authorization.contains(&harness.token));
    assert!(received.headers.get("cookie").is_none());
    assert!(received.headers.get("x-not-forwarded").is_none());

    // `..` cannot climb out of the API base; unknown link names are 404.
    let response = harness
        .client
        .get(format!(
            "{}/api/v1/environments/sandbox/proxy/{BOOKS_LINK}/a/%2e%2e/b",
            harness.base_url
        ))
        .bearer_auth(&harness.token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    let response = harness
        .client
        .get(format!(
            "{}/api/v1/environments/sandbox/proxy/biginandbooksconnectionnew__missing/contacts",
            harness.base_url
        ))
        .bearer_auth(&harness.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
