//! Bad input on every endpoint gets a 4xx with the one error shape, never a 500 and never
//! axum's plain-text rejections. Data-driven: every JSON endpoint gets every body case; every
//! id-taking endpoint gets malformed ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, Backend, TestServer, assert_error_shape, read};
use reqwest::{Method, StatusCode};
use trestle_server::ConfigLayer;

backend_tests!(
    bad_bodies_on_every_json_endpoint,
    bad_ids_and_queries_on_every_endpoint,
    unknown_routes_and_methods
);

/// Body limit for these tests, so the oversize case stays small.
const BODY_LIMIT: usize = 4096;

/// A body case: raw bytes, content type, and the expected status and code.
struct BodyCase {
    name: &'static str,
    body: Vec<u8>,
    content_type: Option<&'static str>,
    status: StatusCode,
    code: &'static str,
}

fn body_cases() -> Vec<BodyCase> {
    let json = Some("application/json");
    vec![
        BodyCase {
            name: "malformed JSON",
            body: b"{,".to_vec(),
            content_type: json,
            status: StatusCode::BAD_REQUEST,
            code: "MALFORMED_JSON",
        },
        BodyCase {
            name: "non-string key",
            body: b"{1: 2}".to_vec(),
            content_type: json,
            status: StatusCode::BAD_REQUEST,
            code: "MALFORMED_JSON",
        },
        BodyCase {
            name: "empty body",
            body: Vec::new(),
            content_type: json,
            status: StatusCode::BAD_REQUEST,
            code: "MALFORMED_JSON",
        },
        BodyCase {
            name: "not an object",
            body: b"[1, 2]".to_vec(),
            content_type: json,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "INVALID_REQUEST_BODY",
        },
        BodyCase {
            name: "empty object (missing fields)",
            body: b"{}".to_vec(),
            content_type: json,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "INVALID_REQUEST_BODY",
        },
        BodyCase {
            name: "unknown field",
            body: b"{\"surprise\": 1}".to_vec(),
            content_type: json,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "INVALID_REQUEST_BODY",
        },
        BodyCase {
            name: "no content type",
            body: b"{}".to_vec(),
            content_type: None,
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "UNSUPPORTED_MEDIA_TYPE",
        },
        BodyCase {
            name: "form content type",
            body: b"name=x".to_vec(),
            content_type: Some("application/x-www-form-urlencoded"),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "UNSUPPORTED_MEDIA_TYPE",
        },
        BodyCase {
            name: "oversize body",
            body: format!("{{\"name\": \"{}\"}}", "x".repeat(BODY_LIMIT * 2)).into_bytes(),
            content_type: json,
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "PAYLOAD_TOO_LARGE",
        },
        BodyCase {
            name: "invalid UTF-8",
            body: b"{\"\xff\": 1}".to_vec(),
            content_type: json,
            status: StatusCode::BAD_REQUEST,
            code: "MALFORMED_JSON",
        },
    ]
}

async fn start(backend: Backend) -> TestServer {
    TestServer::start_with(
        backend,
        ConfigLayer {
            max_body_bytes: Some(BODY_LIMIT),
            ..ConfigLayer::default()
        },
    )
    .await
}

async fn bad_bodies_on_every_json_endpoint(backend: Backend) {
    let server = start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let platform_admin = server
        .create_member(organization.id, trestle_store::Role::Admin)
        .await;
    server
        .store
        .platform_admins()
        .grant(platform_admin.id)
        .await
        .unwrap();
    let platform_session = server.login(&platform_admin).await;
    let org = organization.id;
    let member = organization.user.id;
    // (method, path, auth)
    let endpoints: Vec<(Method, String, Auth)> = vec![
        (Method::POST, "/api/v1/auth/login".to_owned(), Auth::None),
        (
            Method::POST,
            "/api/v1/auth/password".to_owned(),
            organization.admin_session.clone(),
        ),
        (
            Method::POST,
            "/api/v1/organizations".to_owned(),
            platform_session.clone(),
        ),
        (
            Method::POST,
            format!("/api/v1/organizations/{org}/members"),
            organization.admin_session.clone(),
        ),
        (
            Method::PATCH,
            format!("/api/v1/organizations/{org}/members/{member}"),
            organization.admin_session.clone(),
        ),
        (
            Method::POST,
            format!("/api/v1/organizations/{org}/tokens"),
            organization.admin_session.clone(),
        ),
    ];
    let mut summary = Vec::new();
    for (method, path, auth) in &endpoints {
        for case in body_cases() {
            let mut request = server
                .request(method.clone(), path, auth)
                .body(case.body.clone());
            if let Some(content_type) = case.content_type {
                request = request.header("content-type", content_type);
            }
            let (status, error) = read(request.send().await.unwrap()).await;
            assert_eq!(
                status, case.status,
                "{method} {path} with {}: {error}",
                case.name
            );
            assert_eq!(
                assert_error_shape(status, &error),
                case.code,
                "{method} {path} with {}",
                case.name
            );
            summary.push(format!(
                "{method} {path} | {} -> {} {}",
                case.name,
                status.as_u16(),
                error["message"].as_str().unwrap()
            ));
        }
    }
    // One endpoint's messages in full, so the wording stays helpful.
    let login_messages: Vec<&String> = summary
        .iter()
        .filter(|line| line.contains("/auth/login"))
        .collect();
    insta::assert_json_snapshot!("bad_body_messages_login", login_messages);

    // Invalid values inside well-formed bodies are 422 with the field.
    let value_cases: Vec<(Method, String, serde_json::Value, &str)> = vec![
        (
            Method::POST,
            format!("/api/v1/organizations/{org}/members"),
            serde_json::json!({ "email": "a@b.c", "role": "owner" }),
            "INVALID_REQUEST_BODY",
        ),
        (
            Method::POST,
            format!("/api/v1/organizations/{org}/members"),
            serde_json::json!({ "email": "not-an-email", "role": "user" }),
            "VALIDATION_FAILED",
        ),
        (
            Method::PATCH,
            format!("/api/v1/organizations/{org}/members/{member}"),
            serde_json::json!({ "role": 7 }),
            "INVALID_REQUEST_BODY",
        ),
        (
            Method::POST,
            format!("/api/v1/organizations/{org}/tokens"),
            serde_json::json!({ "name": "" }),
            "VALIDATION_FAILED",
        ),
        (
            Method::POST,
            format!("/api/v1/organizations/{org}/tokens"),
            serde_json::json!({ "name": "x", "expires_in_days": 0 }),
            "VALIDATION_FAILED",
        ),
        (
            Method::POST,
            format!("/api/v1/organizations/{org}/tokens"),
            serde_json::json!({ "name": "x", "expires_in_days": -1 }),
            "INVALID_REQUEST_BODY",
        ),
        (
            Method::POST,
            "/api/v1/organizations".to_owned(),
            serde_json::json!({ "name": "   " }),
            "INVALID_INPUT",
        ),
    ];
    for (method, path, body, code) in value_cases {
        let auth = if path == "/api/v1/organizations" {
            &platform_session
        } else {
            &organization.admin_session
        };
        let (status, error) = server
            .call(method.clone(), &path, auth, Some(body.clone()))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {path} {body}: {error}"
        );
        assert_eq!(
            assert_error_shape(status, &error),
            code,
            "{method} {path} {body}"
        );
    }
}

async fn bad_ids_and_queries_on_every_endpoint(backend: Backend) {
    let server = start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let org = organization.id;
    let auth = &organization.admin_session;
    let role = Some(serde_json::json!({ "role": "user" }));
    let cases: Vec<(Method, String, Option<serde_json::Value>, StatusCode, &str)> = vec![
        (
            Method::GET,
            "/api/v1/organizations/not-a-uuid".to_owned(),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::GET,
            "/api/v1/organizations/123/members".to_owned(),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::POST,
            "/api/v1/organizations/123/members".to_owned(),
            Some(serde_json::json!({ "email": "a@b.c", "role": "user" })),
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{org}/members/xyz"),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::PATCH,
            format!("/api/v1/organizations/{org}/members/xyz"),
            role.clone(),
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::DELETE,
            format!("/api/v1/organizations/{org}/members/xyz"),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::GET,
            "/api/v1/organizations/xyz/environments".to_owned(),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{org}/environments/staging"),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::GET,
            "/api/v1/organizations/xyz/tokens".to_owned(),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::POST,
            "/api/v1/organizations/xyz/tokens".to_owned(),
            Some(serde_json::json!({ "name": "x" })),
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{org}/tokens/42"),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::DELETE,
            format!("/api/v1/organizations/{org}/tokens/42"),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::GET,
            "/api/v1/organizations/xyz/audit".to_owned(),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_PATH_PARAMETER",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{org}/audit?limit=0"),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_PARAMETER",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{org}/audit?limit=many"),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_PARAMETER",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{org}/audit?since=yesterday"),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_PARAMETER",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{org}/audit?before=nope"),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_PARAMETER",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{org}/audit?colour=red"),
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_PARAMETER",
        ),
        // Well-formed ids that do not exist.
        (
            Method::GET,
            format!("/api/v1/organizations/{}", uuid::Uuid::nil()),
            None,
            StatusCode::NOT_FOUND,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{org}/members/{}", uuid::Uuid::nil()),
            None,
            StatusCode::NOT_FOUND,
            "MEMBER_NOT_FOUND",
        ),
        (
            Method::PATCH,
            format!("/api/v1/organizations/{org}/members/{}", uuid::Uuid::nil()),
            role,
            StatusCode::NOT_FOUND,
            "MEMBER_NOT_FOUND",
        ),
        (
            Method::DELETE,
            format!("/api/v1/organizations/{org}/members/{}", uuid::Uuid::nil()),
            None,
            StatusCode::NOT_FOUND,
            "MEMBER_NOT_FOUND",
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{org}/tokens/{}", uuid::Uuid::nil()),
            None,
            StatusCode::NOT_FOUND,
            "API_TOKEN_NOT_FOUND",
        ),
        (
            Method::DELETE,
            format!("/api/v1/organizations/{org}/tokens/{}", uuid::Uuid::nil()),
            None,
            StatusCode::NOT_FOUND,
            "API_TOKEN_NOT_FOUND",
        ),
    ];
    for (method, path, body, expected_status, expected_code) in cases {
        let (status, error) = server.call(method.clone(), &path, auth, body).await;
        assert_eq!(status, expected_status, "{method} {path}: {error}");
        assert_eq!(
            assert_error_shape(status, &error),
            expected_code,
            "{method} {path}"
        );
    }
    let (status, error) = server
        .call(Method::GET, "/api/v1/organizations/not-a-uuid", auth, None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    insta::assert_json_snapshot!("bad_organization_id", error);

    // Role rules: a plain user cannot manage members, tokens of others, or read the audit log.
    let user_session = server.login(&organization.user).await;
    let forbidden: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (
            Method::POST,
            format!("/api/v1/organizations/{org}/members"),
            Some(serde_json::json!({ "email": "x@example.test", "role": "admin" })),
        ),
        (
            Method::PATCH,
            format!(
                "/api/v1/organizations/{org}/members/{}",
                organization.user.id
            ),
            Some(serde_json::json!({ "role": "admin" })),
        ),
        (
            Method::DELETE,
            format!(
                "/api/v1/organizations/{org}/members/{}",
                organization.admin.id
            ),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/organizations/{org}/audit"),
            None,
        ),
        (
            Method::POST,
            "/api/v1/organizations".to_owned(),
            Some(serde_json::json!({ "name": "Mine" })),
        ),
    ];
    for (method, path, body) in forbidden {
        let (status, error) = server
            .call(method.clone(), &path, &user_session, body)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {error}");
        assert_eq!(assert_error_shape(status, &error), "FORBIDDEN");
    }
    // The last admin cannot be demoted.
    let (status, error) = server
        .call(
            Method::PATCH,
            &format!(
                "/api/v1/organizations/{org}/members/{}",
                organization.admin.id
            ),
            auth,
            Some(serde_json::json!({ "role": "user" })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(assert_error_shape(status, &error), "LAST_ADMIN");
}

async fn unknown_routes_and_methods(backend: Backend) {
    let server = start(backend).await;
    let (status, error) = server
        .call(Method::GET, "/api/v1/nothing-here", &Auth::None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(assert_error_shape(status, &error), "ROUTE_NOT_FOUND");
    insta::assert_json_snapshot!("route_not_found", error);
    for (method, path) in [
        (Method::PUT, "/api/v1/me"),
        (Method::DELETE, "/api/v1/auth/login"),
        (Method::POST, "/healthz"),
        (Method::PATCH, "/api/v1/organizations"),
    ] {
        let (status, error) = server.call(method.clone(), path, &Auth::None, None).await;
        assert_eq!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {error}"
        );
        assert_eq!(assert_error_shape(status, &error), "METHOD_NOT_ALLOWED");
    }
    // Unauthenticated requests to every authenticated endpoint: 401 with the shape.
    for (method, path) in [
        (Method::GET, "/api/v1/me"),
        (Method::GET, "/api/v1/organizations"),
        (Method::POST, "/api/v1/auth/logout"),
    ] {
        let (status, error) = server.call(method.clone(), path, &Auth::None, None).await;
        assert_eq!(
            assert_error_shape(status, &error),
            "UNAUTHENTICATED",
            "{method} {path}"
        );
    }
}
