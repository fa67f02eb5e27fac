//! Attempts to get a connection's credential, or any request, to the wrong place. Every one
//! must be refused (or the credential stripped) and the upstream must see nothing it should not.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use futures::future::BoxFuture;
use trestle_outbound::{
    EgressContext, HostResolver, HostRoutes, OutboundConfig, OutboundRequest, StaticResolver,
};
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn routed_to(server: &MockServer) -> EgressContext {
    EgressContext::new().with_routes(
        HostRoutes::new()
            .with_route("books.zoho.com", &server.uri())
            .unwrap(),
    )
}

#[tokio::test]
async fn credential_to_a_host_outside_its_service_is_refused_before_sending() {
    let outsider = trestle_testkit::stand_in::server_that_must_not_be_reached().await;
    let engine = loopback_engine();
    let credential = plain_http_credential(&["books.zoho.com"]);
    let error = error_of_get(
        &engine,
        format!("{}/collect", outsider.uri()),
        Some(&credential),
    )
    .await;
    assert_eq!(error.code(), "EGRESS_HOST_NOT_ALLOWED");
    let message = error.to_string();
    assert!(message.contains("\"127.0.0.1\""), "{message}");
    assert!(message.contains("crm__books"), "{message}");
    assert!(message.contains("books.zoho.com"), "{message}");
    assert_no_secret(&message);

    let error = error_of_get(&engine, "https://www.example.com/", Some(&credential)).await;
    assert_eq!(error.code(), "EGRESS_HOST_NOT_ALLOWED");
}

#[tokio::test]
async fn look_alike_hosts_are_refused() {
    let stand_in = trestle_testkit::stand_in::server_that_must_not_be_reached().await;
    let engine = loopback_engine();
    let credential = zoho_credential(&["books.zoho.com"]);
    for url in [
        "https://books.zoho.com.evil.test/api/v3/contacts",
        "https://evilbooks.zoho.com/api/v3/contacts",
        "https://books.zoho.com@evil.test/api/v3/contacts",
        "https://evil.test/books.zoho.com/api",
        "https://evil.test/?host=books.zoho.com",
    ] {
        let error = engine
            .send(
                OutboundRequest::get(url),
                Some(&credential),
                &routed_to(&stand_in),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "EGRESS_HOST_NOT_ALLOWED", "{url}");
        assert_no_secret(&error.to_string());
    }
}

#[tokio::test]
async fn the_services_host_policy_is_honoured_and_wants_https() {
    let stand_in = MockServer::start().await;
    Mock::given(path("/api/v3/contacts"))
        .and(header(
            "authorization",
            format!("Zoho-oauthtoken {SECRET_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"code": 0})))
        .expect(1)
        .mount(&stand_in)
        .await;
    let policy = trestle_services::HostPolicy::new(["books.zoho.com"], false).unwrap();
    let credential = trestle_outbound::CredentialAttachment::new("crm__books", Arc::new(policy))
        .with_header("Authorization", format!("Zoho-oauthtoken {SECRET_TOKEN}"));
    let engine = engine(OutboundConfig::default());
    let response = engine
        .send(
            OutboundRequest::get("https://books.zoho.com/api/v3/contacts"),
            Some(&credential),
            &routed_to(&stand_in),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.url, "https://books.zoho.com/api/v3/contacts");

    let error = engine
        .send(
            OutboundRequest::get("http://books.zoho.com/api/v3/contacts"),
            Some(&credential),
            &routed_to(&stand_in),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "EGRESS_CREDENTIAL_NEEDS_HTTPS");
    for url in ["https://books.zoho.com.evil.test/", "https://[::1]/"] {
        let error = error_of_get(&engine, url, Some(&credential)).await;
        assert_eq!(error.code(), "EGRESS_HOST_NOT_ALLOWED", "{url}");
    }
}

#[tokio::test]
async fn credential_is_stripped_on_a_redirect_that_leaves_the_service() {
    let service = MockServer::start().await;
    let collector = MockServer::start().await;
    let collector_port = collector.address().port();
    Mock::given(path("/api/v3/contacts"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("http://collector.test:{collector_port}/steal").as_str(),
        ))
        .expect(1)
        .mount(&service)
        .await;
    Mock::given(path("/steal"))
        .respond_with(ResponseTemplate::new(200).set_body_string("thanks"))
        .expect(1)
        .mount(&collector)
        .await;
    let resolver = StaticResolver::new().with("collector.test", &[ip("127.0.0.1")]);
    let engine = loopback_engine_with_resolver(Arc::new(resolver));
    let response = engine
        .send(
            OutboundRequest::get("https://books.zoho.com/api/v3/contacts"),
            Some(&zoho_credential(&["books.zoho.com"])),
            &routed_to(&service),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.redirects, 1);
    assert_eq!(response.text(), "thanks");

    let to_service = service.received_requests().await.unwrap();
    assert_eq!(
        to_service[0].headers.get("authorization").unwrap(),
        &format!("Zoho-oauthtoken {SECRET_TOKEN}")
    );
    assert!(to_service[0].url.query().unwrap().contains("api_key="));

    let to_collector = collector.received_requests().await.unwrap();
    assert_eq!(to_collector.len(), 1);
    let seen = format!(
        "{} {:?} {}",
        to_collector[0].url,
        to_collector[0].headers,
        String::from_utf8_lossy(&to_collector[0].body)
    );
    assert!(to_collector[0].headers.get("authorization").is_none());
    assert_no_secret(&seen);
}

#[tokio::test]
async fn a_redirect_whose_location_carries_the_credential_is_refused() {
    let service = MockServer::start().await;
    let collector = MockServer::start().await;
    let encoded_key: String =
        url::form_urlencoded::byte_serialize(SECRET_API_KEY.as_bytes()).collect();
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(307).insert_header(
                "location",
                format!(
                    "http://collector.test:{}/steal?k={encoded_key}",
                    collector.address().port()
                )
                .as_str(),
            ),
        )
        .mount(&service)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&collector)
        .await;
    let resolver = StaticResolver::new().with("collector.test", &[ip("127.0.0.1")]);
    let engine = loopback_engine_with_resolver(Arc::new(resolver));
    let error = engine
        .send(
            OutboundRequest::get("https://books.zoho.com/api/v3/contacts"),
            Some(&zoho_credential(&["books.zoho.com"])),
            &routed_to(&service),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "REDIRECT_CARRIES_CREDENTIAL");
    assert_no_secret(&error.to_string());
    assert_no_secret(&format!("{error:?}"));
}

#[tokio::test]
async fn a_downgrade_to_plain_http_on_the_same_host_drops_the_credential() {
    let service = MockServer::start().await;
    Mock::given(path("/first"))
        .respond_with(
            ResponseTemplate::new(301).insert_header("location", "http://books.zoho.com/second"),
        )
        .mount(&service)
        .await;
    Mock::given(path("/second"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&service)
        .await;
    let response = loopback_engine()
        .send(
            OutboundRequest::get("https://books.zoho.com/first"),
            Some(&zoho_credential(&["books.zoho.com"])),
            &routed_to(&service),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let requests = service.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].headers.get("authorization").is_some());
    assert!(requests[1].headers.get("authorization").is_none());
    assert!(!requests[1].url.as_str().contains("api_key"));
}

#[tokio::test]
async fn redirects_to_metadata_and_private_addresses_are_refused() {
    let service = MockServer::start().await;
    Mock::given(path("/metadata"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        ))
        .mount(&service)
        .await;
    Mock::given(path("/private"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "http://internal.test:8080/admin"),
        )
        .mount(&service)
        .await;
    Mock::given(path("/loopback-other-port"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "http://[::1]:8080/admin"),
        )
        .mount(&service)
        .await;
    let resolver = StaticResolver::new().with("internal.test", &[ip("10.0.0.5")]);
    let engine = loopback_engine_with_resolver(Arc::new(resolver));
    for (route, expected_address) in [
        ("/metadata", "169.254.169.254"),
        ("/private", "10.0.0.5"),
        ("/loopback-other-port", "::1"),
    ] {
        let error = engine
            .send(
                OutboundRequest::get(format!("https://books.zoho.com{route}")),
                Some(&zoho_credential(&["books.zoho.com"])),
                &routed_to(&service),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "EGRESS_ADDRESS_BLOCKED", "{route}");
        assert!(error.to_string().contains(expected_address), "{error}");
    }
}

#[tokio::test]
async fn metadata_endpoints_are_refused_with_or_without_a_connection() {
    let engine = loopback_engine();
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ] {
        let error = error_of_get(&engine, url, None).await;
        assert!(error.is_egress_refusal(), "{url}: {error}");
        let credential = plain_http_credential(&["169.254.169.254", "metadata.google.internal"]);
        let error = error_of_get(&engine, url, Some(&credential)).await;
        assert!(error.is_egress_refusal(), "{url}: {error}");
    }
}

#[tokio::test]
async fn dns_names_resolving_to_private_addresses_are_refused() {
    let resolver = StaticResolver::new()
        .with("internal.test", &[ip("10.0.0.5")])
        .with("mixed.test", &[ip("93.184.215.14"), ip("192.168.1.20")])
        .with("cgnat.test", &[ip("100.64.0.9")])
        .with("ula.test", &[ip("fd12:3456::1")]);
    let engine = loopback_engine_with_resolver(Arc::new(resolver));
    for (host, address) in [
        ("internal.test", "10.0.0.5"),
        ("mixed.test", "192.168.1.20"),
        ("cgnat.test", "100.64.0.9"),
        ("ula.test", "fd12:3456::1"),
    ] {
        let error = error_of_get(&engine, format!("http://{host}/"), None).await;
        assert_eq!(error.code(), "EGRESS_ADDRESS_BLOCKED", "{host}");
        assert!(error.to_string().contains(address), "{error}");
    }
    // The system resolver: `localhost` is loopback, refused by the strict guard.
    let strict = common::engine(OutboundConfig::default());
    let error = error_of_get(&strict, "http://localhost:9/", None).await;
    assert_eq!(error.code(), "EGRESS_ADDRESS_BLOCKED");
}

#[tokio::test]
async fn ipv4_mapped_and_odd_ipv4_spellings_of_loopback_are_refused() {
    let server = trestle_testkit::stand_in::server_that_must_not_be_reached().await;
    let port = server.address().port();
    // egress.allow = 127.0.0.1/32 does not open the IPv4-mapped IPv6 form.
    let engine = loopback_engine();
    let error = error_of_get(&engine, format!("http://[::ffff:127.0.0.1]:{port}/"), None).await;
    assert_eq!(error.code(), "EGRESS_ADDRESS_BLOCKED");
    assert!(error.to_string().contains("IPv4-mapped"), "{error}");

    let strict = common::engine(OutboundConfig::default());
    for url in [
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://[::ffff:7f00:1]:{port}/"),
        format!("http://0x7f.0.0.1:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://017700000001:{port}/"),
        format!("http://127.1:{port}/"),
        format!("http://0.0.0.0:{port}/"),
        format!("http://[::]:{port}/"),
        format!("http://[::1]:{port}/"),
    ] {
        let error = error_of_get(&strict, &url, None).await;
        assert_eq!(error.code(), "EGRESS_ADDRESS_BLOCKED", "{url}");
    }
}

#[tokio::test]
async fn loopback_peers_need_the_operator_allow_list() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("hello"))
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/hello", server.uri());
    let strict = common::engine(OutboundConfig::default());
    let error = error_of_get(&strict, &url, None).await;
    assert_eq!(error.code(), "EGRESS_ADDRESS_BLOCKED");
    assert!(error.to_string().contains("egress.allow"), "{error}");
    let response = send_without_credential(&loopback_engine(), OutboundRequest::get(&url)).await;
    assert_eq!(response.text(), "hello");
}

#[tokio::test]
async fn a_route_exempts_exactly_its_own_traffic() {
    let stand_in = MockServer::start().await;
    Mock::given(path("/api/v3/contacts"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&stand_in)
        .await;
    // No egress.allow at all: the stand-in on loopback is reached only through its route.
    let strict = common::engine(OutboundConfig::default());
    let routed = strict
        .send(
            OutboundRequest::get("https://books.zoho.com/api/v3/contacts"),
            Some(&zoho_credential(&["books.zoho.com"])),
            &routed_to(&stand_in),
        )
        .await
        .unwrap();
    assert_eq!(routed.status, 200);
    let error = strict
        .send(
            OutboundRequest::get(format!("{}/api/v3/contacts", stand_in.uri())),
            None,
            &routed_to(&stand_in),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "EGRESS_ADDRESS_BLOCKED");
}

#[tokio::test]
async fn only_http_and_https_are_allowed() {
    let engine = loopback_engine();
    for url in [
        "file:///etc/passwd",
        "ftp://127.0.0.1/",
        "gopher://127.0.0.1:25/",
        "dict://127.0.0.1:11211/",
    ] {
        let error = error_of_get(&engine, url, None).await;
        assert_eq!(error.code(), "UNSUPPORTED_SCHEME", "{url}");
    }
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(302).insert_header("location", "file:///etc/passwd"))
        .mount(&server)
        .await;
    let error = error_of_get(&engine, server.uri(), None).await;
    assert_eq!(error.code(), "UNSUPPORTED_SCHEME");
}

/// Answers with the next address list each time it is asked, counting lookups.
struct RebindingResolver {
    answers: Vec<Vec<IpAddr>>,
    lookups: AtomicUsize,
}

impl HostResolver for RebindingResolver {
    fn lookup(&self, _host: &str) -> BoxFuture<'static, Result<Vec<IpAddr>, String>> {
        let index = self.lookups.fetch_add(1, Ordering::SeqCst);
        let answer = self.answers[index.min(self.answers.len() - 1)].clone();
        Box::pin(async move { Ok(answer) })
    }
}

#[tokio::test]
async fn dns_rebinding_cannot_reach_a_blocked_address() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let port = server.address().port();
    let resolver = Arc::new(RebindingResolver {
        answers: vec![vec![ip("127.0.0.1")], vec![ip("169.254.169.254")]],
        lookups: AtomicUsize::new(0),
    });
    let engine = common::engine(OutboundConfig {
        resolver: resolver.clone(),
        dns_cache_ttl: Duration::ZERO,
        ..loopback_config()
    });
    let url = format!("http://rebind.test:{port}/");
    let first = send_without_credential(&engine, OutboundRequest::get(&url)).await;
    assert_eq!(first.status, 200);
    // One lookup for one request: the connector used the checked answer, it did not ask again.
    assert_eq!(resolver.lookups.load(Ordering::SeqCst), 1);
    let error = error_of_get(&engine, &url, None).await;
    assert_eq!(error.code(), "EGRESS_ADDRESS_BLOCKED");
    assert_eq!(resolver.lookups.load(Ordering::SeqCst), 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
