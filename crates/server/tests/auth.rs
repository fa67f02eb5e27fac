//! Console sessions, CSRF, logout, password change, API tokens and failed-login limits, over
//! real HTTP against the real server and store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, Backend, TestServer, assert_error_shape, read, redact, session_cookie_from};
use reqwest::{Method, StatusCode};
use serde_json::json;
use trestle_server::ConfigLayer;
use trestle_store::Role;

backend_tests!(
    login_sets_a_hardened_cookie_and_returns_the_csrf_token,
    wrong_password_and_unknown_email_get_the_same_answer,
    session_authenticates_until_logout,
    unsafe_requests_with_the_cookie_need_the_csrf_token,
    one_time_password_must_be_changed_first,
    password_change_checks_the_current_password_and_policy,
    api_tokens_authenticate_until_revoked,
    api_token_is_shown_once_and_listed_by_prefix,
    failed_logins_are_limited_per_account_with_retry_after,
    failed_login_limit_holds_across_server_processes,
    secure_cookie_behind_https_proxy,
);

async fn login_sets_a_hardened_cookie_and_returns_the_csrf_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.create_organization("Acme").await;
    let user = server.create_member(organization, Role::Admin).await;
    let response = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({ "email": user.email.to_uppercase(), "password": user.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.starts_with("trestle_session="));
    assert!(set_cookie.contains("; HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("; SameSite=Lax"), "{set_cookie}");
    assert!(set_cookie.contains("; Path=/"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "plain http: {set_cookie}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (_, body) = read(response).await;
    insta::assert_json_snapshot!("login_response", redact(&body));
}

async fn wrong_password_and_unknown_email_get_the_same_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.create_organization("Acme").await;
    let user = server.create_member(organization, Role::User).await;
    let (status, wrong_password) = server
        .call(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(json!({ "email": user.email, "password": "not the password" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, unknown_email) = server
        .call(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(json!({ "email": "nobody@example.test", "password": "not the password" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password, unknown_email);
    insta::assert_json_snapshot!("login_failed", wrong_password);
}

async fn session_authenticates_until_logout(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.create_organization("Acme").await;
    let user = server.create_member(organization, Role::Developer).await;
    let session = server.login(&user).await;

    let (status, me) = server.me(&session).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["authenticated_by"], "session");
    assert_eq!(me["organizations"][0]["role"], "developer");
    insta::assert_json_snapshot!("me_session", redact(&me));

    let response = server
        .request(Method::POST, "/api/v1/auth/logout", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cleared = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("trestle_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    let (status, body) = server.me(&session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(assert_error_shape(status, &body), "UNAUTHENTICATED");

    let (status, body) = server
        .call(Method::GET, "/api/v1/me", &Auth::None, None)
        .await;
    assert_eq!(assert_error_shape(status, &body), "UNAUTHENTICATED");
    let (status, body) = server
        .me(&Auth::Session {
            cookie: "forged".to_owned(),
            csrf_token: "forged".to_owned(),
        })
        .await;
    assert_eq!(assert_error_shape(status, &body), "UNAUTHENTICATED");
}

async fn unsafe_requests_with_the_cookie_need_the_csrf_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let path = format!("/api/v1/organizations/{}/tokens", organization.id);
    let body = json!({ "name": "ci" });

    let (status, error) = server
        .call(
            Method::POST,
            &path,
            &organization.admin_session.without_csrf(),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(assert_error_shape(status, &error), "CSRF_TOKEN_INVALID");
    insta::assert_json_snapshot!("csrf_rejected", error);

    let Auth::Session { cookie, .. } = &organization.admin_session else {
        unreachable!()
    };
    let wrong = Auth::Session {
        cookie: cookie.clone(),
        csrf_token: "wrong-token".to_owned(),
    };
    let (status, error) = server
        .call(Method::POST, &path, &wrong, Some(body.clone()))
        .await;
    assert_eq!(assert_error_shape(status, &error), "CSRF_TOKEN_INVALID");

    // Logout is an unsafe request too: without the token the session survives.
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/auth/logout",
            &organization.admin_session.without_csrf(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Nothing was created by the rejected requests.
    let (status, list) = server
        .call(Method::GET, &path, &organization.admin_session, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["tokens"].as_array().unwrap().len(), 1, "{list}");

    let (status, created) = server
        .call(Method::POST, &path, &organization.admin_session, Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    // API tokens need no CSRF token (no ambient credential).
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("{path}/{}", created["api_token"]["id"].as_str().unwrap()),
            &organization.admin_token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn one_time_password_must_be_changed_first(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let (status, added) = server
        .call(
            Method::POST,
            &format!("/api/v1/organizations/{}/members", organization.id),
            &organization.admin_session,
            Some(json!({ "email": "new.person@example.test", "role": "developer" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    insta::assert_json_snapshot!("member_added_with_one_time_password", redact(&added));
    let one_time_password = added["one_time_password"].as_str().unwrap().to_owned();
    let newcomer = common::TestUser {
        id: trestle_store::UserId::from_uuid(
            added["member"]["user_id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        ),
        email: "new.person@example.test".to_owned(),
        password: one_time_password.clone(),
    };
    let session = server.login(&newcomer).await;

    let (status, body) = server
        .call(
            Method::GET,
            &format!("/api/v1/organizations/{}", organization.id),
            &session,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        assert_error_shape(status, &body),
        "PASSWORD_CHANGE_REQUIRED"
    );
    let (status, me) = server.me(&session).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["must_change_password"], true);

    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/auth/password",
            &session,
            Some(json!({ "current_password": one_time_password, "new_password": "a brand new passphrase" })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, organization_body) = server
        .call(
            Method::GET,
            &format!("/api/v1/organizations/{}", organization.id),
            &session,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{organization_body}");
    assert_eq!(organization_body["role"], "developer");
}

async fn password_change_checks_the_current_password_and_policy(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.create_organization("Acme").await;
    let user = server.create_member(organization, Role::User).await;
    let session = server.login(&user).await;
    let other_session = server.login(&user).await;
    let cases = [
        (
            json!({ "current_password": "wrong password!", "new_password": "a brand new passphrase" }),
            "VALIDATION_FAILED",
            "current_password",
        ),
        (
            json!({ "current_password": user.password, "new_password": "short" }),
            "VALIDATION_FAILED",
            "new_password",
        ),
        (
            json!({ "current_password": user.password, "new_password": user.password }),
            "VALIDATION_FAILED",
            "new_password",
        ),
    ];
    for (body, code, field) in cases {
        let (status, error) = server
            .call(
                Method::POST,
                "/api/v1/auth/password",
                &session,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(assert_error_shape(status, &error), code);
        assert_eq!(error["details"]["field"], field, "{error}");
    }
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/auth/password",
            &session,
            Some(json!({ "current_password": user.password, "new_password": "a brand new passphrase" })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The other session was ended; this one goes on; the old password no longer works.
    let (status, _) = server.me(&other_session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server.me(&session).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(json!({ "email": user.email, "password": user.password })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/auth/login",
            &Auth::None,
            Some(json!({ "email": user.email, "password": "a brand new passphrase" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // An API token cannot change the password.
    let token = server.issue_token(organization, &user).await;
    let (status, error) = server
        .call(
            Method::POST,
            "/api/v1/auth/password",
            &token,
            Some(json!({ "current_password": "a brand new passphrase", "new_password": "another passphrase" })),
        )
        .await;
    assert_eq!(assert_error_shape(status, &error), "SESSION_REQUIRED");
}

async fn api_tokens_authenticate_until_revoked(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let path = format!("/api/v1/organizations/{}/tokens", organization.id);
    let (status, created) = server
        .call(
            Method::POST,
            &path,
            &organization.admin_session,
            Some(json!({ "name": "deploy", "expires_in_days": 30 })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = Auth::Bearer(created["token"].as_str().unwrap().to_owned());
    let (status, me) = server.me(&token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["authenticated_by"], "api_token");
    assert_eq!(me["organizations"].as_array().unwrap().len(), 1);

    // A token cannot mint tokens.
    let (status, error) = server
        .call(
            Method::POST,
            &path,
            &token,
            Some(json!({ "name": "child" })),
        )
        .await;
    assert_eq!(assert_error_shape(status, &error), "FORBIDDEN");

    let token_id = created["api_token"]["id"].as_str().unwrap();
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("{path}/{token_id}"),
            &organization.admin_session,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = server.me(&token).await;
    assert_eq!(assert_error_shape(status, &error), "UNAUTHENTICATED");

    // Removing the member stops their tokens.
    let developer_token = server
        .issue_token(organization.id, &organization.developer)
        .await;
    let (status, _) = server.me(&developer_token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!(
                "/api/v1/organizations/{}/members/{}",
                organization.id, organization.developer.id
            ),
            &organization.admin_session,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server.me(&developer_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Malformed Authorization headers are named as such.
    for header in ["Basic dXNlcjpwYXNz", "Bearer not-a-trestle-token", "Bearer"] {
        let response = server
            .client
            .get(server.url("/api/v1/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        let (status, error) = read(response).await;
        assert_eq!(
            assert_error_shape(status, &error),
            "MALFORMED_AUTHORIZATION",
            "{header}"
        );
    }
    let (status, error) = server.me(&Auth::Bearer("trestle_unknown".to_owned())).await;
    assert_eq!(assert_error_shape(status, &error), "UNAUTHENTICATED");

    // The audit log recorded the token's life.
    let (status, audit) = server
        .call(
            Method::GET,
            &format!(
                "/api/v1/organizations/{}/audit?action=api_token.*",
                organization.id
            ),
            &organization.admin_session,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["api_token.revoked", "api_token.created"]);
    assert!(
        !audit
            .to_string()
            .contains(created["token"].as_str().unwrap())
    );
}

async fn api_token_is_shown_once_and_listed_by_prefix(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let path = format!("/api/v1/organizations/{}/tokens", organization.id);
    let (status, created) = server
        .call(
            Method::POST,
            &path,
            &organization.admin_session,
            Some(json!({ "name": "reporting" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    insta::assert_json_snapshot!("token_created", redact(&created));
    let secret = created["token"].as_str().unwrap();
    assert!(secret.starts_with("trestle_"));
    let prefix = created["api_token"]["prefix"].as_str().unwrap();
    assert!(secret.starts_with(prefix) && prefix.len() < secret.len());

    let (status, list) = server
        .call(Method::GET, &path, &organization.admin_session, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !list.to_string().contains(secret),
        "the list never shows a secret"
    );
    assert_eq!(list["tokens"][0]["name"], "reporting");
    // Use it once: last_used_at is set.
    let token = Auth::Bearer(secret.to_owned());
    server.me(&token).await;
    let token_id = created["api_token"]["id"].as_str().unwrap();
    let (status, shown) = server
        .call(
            Method::GET,
            &format!("{path}/{token_id}"),
            &organization.admin_session,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(shown["last_used_at"].is_string(), "{shown}");

    // A plain user sees only their own tokens; an admin's token is hidden (404) from them.
    let user_session = server.login(&organization.user).await;
    let (status, own) = server.call(Method::GET, &path, &user_session, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own["tokens"].as_array().unwrap().len(), 0);
    let (status, error) = server
        .call(
            Method::DELETE,
            &format!("{path}/{token_id}"),
            &user_session,
            None,
        )
        .await;
    assert_eq!(assert_error_shape(status, &error), "API_TOKEN_NOT_FOUND");
}

async fn failed_logins_are_limited_per_account_with_retry_after(backend: Backend) {
    let server = TestServer::start_with(
        backend,
        ConfigLayer {
            login_max_failures_per_account: Some(3),
            ..ConfigLayer::default()
        },
    )
    .await;
    let organization = server.create_organization("Acme").await;
    let user = server.create_member(organization, Role::User).await;
    let wrong = json!({ "email": user.email, "password": "wrong password" });
    for _ in 0..3 {
        let (status, _) = server
            .call(
                Method::POST,
                "/api/v1/auth/login",
                &Auth::None,
                Some(wrong.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Now even the right password is refused until the window passes.
    let response = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({ "email": user.email, "password": user.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "900");
    let (status, body) = read(response).await;
    assert_eq!(assert_error_shape(status, &body), "TOO_MANY_LOGIN_ATTEMPTS");
    insta::assert_json_snapshot!("login_rate_limited", body);
    // Other accounts from the same address are not locked out yet.
    let other = server.create_member(organization, Role::User).await;
    server.login(&other).await;
}

async fn failed_login_limit_holds_across_server_processes(backend: Backend) {
    let limits = ConfigLayer {
        login_max_failures_per_ip: Some(4),
        login_max_failures_per_account: Some(100),
        ..ConfigLayer::default()
    };
    let first = TestServer::start_with(backend, limits.clone()).await;
    let organization = first.create_organization("Acme").await;
    let user = first.create_member(organization, Role::User).await;
    let second_database = common::TestDatabase {
        url: first.database.url.clone(),
        data_dir: tempfile::tempdir().unwrap(),
    };
    let second = TestServer::start_on(second_database, limits).await;
    for (index, server) in [&first, &second, &first, &second].into_iter().enumerate() {
        let (status, _) = server
            .call(
                Method::POST,
                "/api/v1/auth/login",
                &Auth::None,
                Some(json!({ "email": format!("nobody{index}@example.test"), "password": "wrong password" })),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for server in [&first, &second] {
        let (status, body) = server
            .call(
                Method::POST,
                "/api/v1/auth/login",
                &Auth::None,
                Some(json!({ "email": user.email, "password": user.password })),
            )
            .await;
        assert_eq!(assert_error_shape(status, &body), "TOO_MANY_LOGIN_ATTEMPTS");
    }
}

async fn secure_cookie_behind_https_proxy(backend: Backend) {
    let server = TestServer::start_with(
        backend,
        ConfigLayer {
            trust_forwarded_headers: Some(true),
            ..ConfigLayer::default()
        },
    )
    .await;
    let organization = server.create_organization("Acme").await;
    let user = server.create_member(organization, Role::User).await;
    let response = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .header("x-forwarded-proto", "https")
        .json(&json!({ "email": user.email, "password": user.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.ends_with("; Secure"), "{set_cookie}");
    assert!(session_cookie_from(&response).is_some());
}
