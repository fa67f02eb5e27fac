//! Health, readiness, metrics and the OpenAPI document.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, Backend, TestServer, assert_error_shape};
use reqwest::{Method, StatusCode};

backend_tests!(
    health_and_readiness,
    metrics_count_requests_by_route_template,
    openapi_document_covers_every_route
);

async fn health_and_readiness(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, body) = server
        .call(Method::GET, "/healthz", &Auth::None, None)
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, serde_json::json!({ "status": "ok" }))
    );
    let (status, body) = server.call(Method::GET, "/readyz", &Auth::None, None).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, serde_json::json!({ "status": "ok" }))
    );

    // With the database gone, readiness fails with the error shape; liveness does not.
    server.store.close().await;
    let (status, body) = server.call(Method::GET, "/readyz", &Auth::None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(assert_error_shape(status, &body), "SERVICE_UNAVAILABLE");
    let (status, _) = server
        .call(Method::GET, "/healthz", &Auth::None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn metrics_count_requests_by_route_template(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let secret_looking_path = "/api/v1/organizations/00000000-0000-0000-0000-000000000000";
    for _ in 0..2 {
        server
            .call(
                Method::GET,
                secret_looking_path,
                &organization.admin_session,
                None,
            )
            .await;
    }
    server
        .call(
            Method::GET,
            "/no/such/route/trestle_secret",
            &Auth::None,
            None,
        )
        .await;
    let response = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            "trestle_http_requests_total{method=\"GET\",route=\"/api/v1/organizations/{org_id}\",status=\"404\"} 2"
        ),
        "{text}"
    );
    assert!(
        text.contains("route=\"unmatched\",status=\"404\"} 1"),
        "{text}"
    );
    assert!(text.contains("trestle_http_request_duration_seconds_bucket"));
    assert!(
        !text.contains("00000000-0000"),
        "raw paths never become labels"
    );
    assert!(
        !text.contains("trestle_secret"),
        "raw paths never become labels"
    );
    assert!(text.trim_end().ends_with("# EOF"));
}

async fn openapi_document_covers_every_route(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, document) = server
        .call(Method::GET, "/api/v1/openapi.json", &Auth::None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    let mut operations = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            operations.push(format!("{} {path}", method.to_uppercase()));
            let responses = operation["responses"].as_object().unwrap();
            // The OAuth launch endpoint's success is a redirect to the provider.
            assert!(
                responses
                    .keys()
                    .any(|status| status.starts_with('2') || status == "303"),
                "{method} {path} documents a success response"
            );
            if path.starts_with("/api/v1") {
                for status in ["400", "401", "404", "500"] {
                    if path == "/api/v1/auth/login" && status == "404" {
                        continue;
                    }
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} documents {status}"
                    );
                }
            }
        }
    }
    operations.sort();
    insta::assert_json_snapshot!("openapi_operations", operations);
    for schema in [
        "ErrorBody",
        "LoginRequest",
        "MemberView",
        "ApiTokenView",
        "AuditPage",
    ] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "schema {schema} is in the document"
        );
    }
    // The served document is the one built from the router.
    let built = serde_json::to_value(trestle_server::openapi_document()).unwrap();
    assert_eq!(built, document);
}
