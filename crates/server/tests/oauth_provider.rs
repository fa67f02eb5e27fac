//! Trestle as the OAuth 2 authorization server of its CRM API: the consent page with a real
//! console session, authorization code with PKCE, refresh, client credentials, revocation,
//! Zoho-style errors (HTTP 200 with `error`), multipart token requests, and client
//! management, over real HTTP on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step should stop the test loudly

mod bigin_support;
mod common;

use bigin_support::{bigin, crm_token, entry};
use common::{Auth, Backend, TestServer, read};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

backend_tests!(
    consent_flow_with_pkce,
    token_endpoint_contract,
    client_management,
);

const SCOPES: &str = "ZohoBigin.modules.ALL,ZohoBigin.users.READ";

fn hidden_field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

fn pkce_pair() -> (String, String) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let verifier = "a-long-random-verifier-0123456789-abcdefghijklmnopqrstuvwxyz".to_owned();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

async fn token_request(server: &TestServer, form: &[(&str, &str)]) -> (StatusCode, Value) {
    read(
        server
            .client
            .post(server.url("/oauth/v2/token"))
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Posts the consent form as the signed-in user whose session cookie is `cookie`.
async fn post_consent(
    server: &TestServer,
    cookie: &str,
    form: &[(&str, String)],
) -> reqwest::Response {
    server
        .client
        .post(server.url("/oauth/v2/auth"))
        .header("cookie", format!("trestle_session={cookie}"))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Exchanges an authorization code at the token endpoint (public client, PKCE).
async fn exchange_code(
    server: &TestServer,
    client_id: &str,
    redirect_uri: &str,
    code: &str,
    code_verifier: &str,
) -> (StatusCode, Value) {
    token_request(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("code", code),
            ("code_verifier", code_verifier),
        ],
    )
    .await
}

/// Lists Contacts with an access token of the CRM API.
async fn list_contacts(server: &TestServer, access_token: &str) -> (StatusCode, Value) {
    bigin(
        server,
        Method::GET,
        "/bigin/v2/Contacts?fields=Last_Name",
        access_token,
        None,
    )
    .await
}

async fn consent_flow_with_pkce(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let redirect_uri = "http://127.0.0.1:9/callback";
    let (status, client) = server
        .call(
            Method::POST,
            "/api/v1/oauth-clients",
            &organization.admin_token,
            Some(json!({
            "organization_id": organization.id, "name": "Mobile app",
            "client_type": "public", "redirect_uris": [redirect_uri] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(client["client_secret"], Value::Null);
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let (verifier, challenge) = pkce_pair();
    let auth_query = format!(
        "/oauth/v2/auth?scope={SCOPES}&client_id={client_id}&response_type=code&access_type=offline\
         &redirect_uri={redirect_uri}&state=xyz&code_challenge={challenge}&code_challenge_method=S256"
    );

    // Not signed in: a sign-in form.
    let response = server
        .client
        .get(server.url(&auth_query))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("/api/v1/auth/login"), "{page}");

    // A public client without PKCE is refused (redirect with an error).
    let response = server
        .client
        .get(server.url(&auth_query.replace("&code_challenge=", "&ignored=")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .contains("error=invalid_request")
    );
    // A redirect URI that is not registered is shown, never followed.
    let response = server
        .client
        .get(server.url(&auth_query.replace("127.0.0.1:9", "evil.test")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let Auth::Session { cookie, .. } = &organization.admin_session else {
        unreachable!()
    };
    let response = server
        .client
        .get(server.url(&auth_query))
        .header("cookie", format!("trestle_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Acme (production)") && page.contains("Acme (sandbox)"),
        "{page}"
    );
    let csrf_token = hidden_field(&page, "csrf_token");
    let target = format!("{}:sandbox", organization.id);
    let mut form = vec![
        ("client_id", client_id.clone()),
        ("redirect_uri", redirect_uri.to_owned()),
        ("scope", hidden_field(&page, "scope")),
        ("response_type", "code".to_owned()),
        ("state", "xyz".to_owned()),
        ("code_challenge", challenge.clone()),
        ("code_challenge_method", "S256".to_owned()),
        ("target", target),
        ("decision", "allow".to_owned()),
    ];

    // Without the CSRF token the consent is refused.
    let response = post_consent(&server, cookie, &form).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    form.push(("csrf_token", csrf_token));
    let response = post_consent(&server, cookie, &form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let parameters: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(parameters["state"], "xyz");
    assert_eq!(parameters["location"], "local");
    assert_eq!(parameters["accounts-server"], server.base_url);
    let code = parameters["code"].clone();

    let (status, body) =
        exchange_code(&server, &client_id, redirect_uri, &code, "wrong-verifier").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::OK, Some("invalid_code"))
    );

    // The failed attempt used the code up (single use); a new consent gives a new code.
    let response = post_consent(&server, cookie, &form).await;
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(key, _)| key == "code")
        .unwrap()
        .1
        .into_owned();
    let (status, tokens) = exchange_code(&server, &client_id, redirect_uri, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["api_domain"], server.base_url);
    let (status, again) = exchange_code(&server, &client_id, redirect_uri, &code, &verifier).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::OK, Some("invalid_code"))
    );

    // The token works in the chosen environment (sandbox) and only there.
    let access = tokens["access_token"].as_str().unwrap();
    let (status, _) = bigin(
        &server,
        Method::POST,
        "/bigin/v2/Contacts",
        access,
        Some(json!({ "data": [{ "Last_Name": "Sandboxed" }] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let production = crm_token(
        &server,
        &organization.admin_token,
        &organization.id.to_string(),
        SCOPES,
        "production",
    )
    .await;
    let (status, _) = list_contacts(&server, &production.access_token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Refresh with the public client (no secret), then revoke the refresh token: every
    // access token minted from it stops working.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = token_request(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", refresh),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(refreshed.get("refresh_token").is_none());
    let refreshed_access = refreshed["access_token"].as_str().unwrap();
    let (status, _) = list_contacts(&server, refreshed_access).await;
    assert_eq!(status, StatusCode::OK);
    let response = server
        .client
        .post(server.url(&format!("/oauth/v2/token/revoke?token={refresh}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for token in [access, refreshed_access] {
        let (status, body) = list_contacts(&server, token).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("INVALID_TOKEN"))
        );
    }
    let (_, body) = token_request(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", refresh),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_code");

    // Denying redirects with access_denied.
    let mut denied = form.clone();
    denied.retain(|(key, _)| *key != "decision");
    denied.push(("decision", "deny".to_owned()));
    let response = post_consent(&server, cookie, &denied).await;
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .contains("error=access_denied")
    );
}

async fn token_endpoint_contract(backend: Backend) {
    let server = TestServer::start(backend).await;
    let organization = server.organization_with_members("Acme").await;
    let token = crm_token(
        &server,
        &organization.admin_token,
        &organization.id.to_string(),
        SCOPES,
        "production",
    )
    .await;
    let mut calls = Vec::new();

    // The Node SDK posts multipart/form-data; query parameters work too.
    let form = reqwest::multipart::Form::new()
        .text("grant_type", "refresh_token")
        .text("client_id", token.client_id.clone())
        .text("client_secret", token.client_secret.clone())
        .text("refresh_token", token.refresh_token.clone());
    let (status, body) = read(
        server
            .client
            .post(server.url("/oauth/v2/token"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    calls.push(entry("refresh (multipart)", status, &body));
    let query = format!(
        "/oauth/v2/token?grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}&",
        token.client_id, token.client_secret, token.refresh_token
    );
    let (status, body) = read(server.client.post(server.url(&query)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    calls.push(entry("refresh (query string)", status, &body));

    let (status, body) = token_request(
        &server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &token.client_id),
            ("client_secret", &token.client_secret),
            ("scope", "ZohoBigin.modules.contacts.READ"),
            ("environment", "production"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("refresh_token").is_none());
    let (status, _) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/Contacts?fields=Email",
        body["access_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    calls.push(entry("client credentials", StatusCode::OK, &body));

    for (label, form) in [
        (
            "wrong secret",
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", token.client_id.as_str()),
                ("client_secret", "nope"),
                ("refresh_token", token.refresh_token.as_str()),
            ],
        ),
        (
            "unknown client",
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", "1000.NOPE"),
                ("refresh_token", token.refresh_token.as_str()),
            ],
        ),
        (
            "unknown refresh token",
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", token.client_id.as_str()),
                ("client_secret", token.client_secret.as_str()),
                ("refresh_token", "1000.nope"),
            ],
        ),
        (
            "unknown code",
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", token.client_id.as_str()),
                ("client_secret", token.client_secret.as_str()),
                ("code", "1000.nope"),
            ],
        ),
        (
            "unsupported grant",
            vec![
                ("grant_type", "password"),
                ("client_id", token.client_id.as_str()),
                ("client_secret", token.client_secret.as_str()),
            ],
        ),
        (
            "missing grant type",
            vec![("client_id", token.client_id.as_str())],
        ),
        (
            "bad scope",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", token.client_id.as_str()),
                ("client_secret", token.client_secret.as_str()),
                ("scope", "ZohoCRM.modules.ALL"),
            ],
        ),
    ] {
        let (status, body) = token_request(&server, &form).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{label}: Zoho answers token errors with 200"
        );
        assert!(body["error"].is_string(), "{label}: {body}");
        calls.push(entry(label, status, &body));
    }
    let (status, body) = read(
        server
            .client
            .post(server.url("/oauth/v2/token/revoke"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    calls.push(entry("revoke without token", status, &body));
    let response = server
        .client
        .post(server.url(&format!(
            "/oauth/v2/token/revoke?token={}",
            token.access_token
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, body) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/users?type=CurrentUser",
        &token.access_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    calls.push(entry("revoked access token", status, &body));

    insta::assert_json_snapshot!("token_endpoint_contract", Value::Array(calls));
}

async fn client_management(backend: Backend) {
    let server = TestServer::start(backend).await;
    let acme = server.organization_with_members("Acme").await;
    let globex = server.organization_with_members("Globex").await;
    let token = crm_token(
        &server,
        &acme.admin_token,
        &acme.id.to_string(),
        SCOPES,
        "production",
    )
    .await;

    let (status, list) = server
        .call(
            Method::GET,
            &format!("/api/v1/oauth-clients?organization_id={}", acme.id),
            &acme.admin_session,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(
        list.to_string().find(&token.client_secret).is_none(),
        "the secret is shown once only"
    );
    let (status, list) = server
        .call(
            Method::GET,
            "/api/v1/oauth-clients",
            &globex.admin_token,
            None,
        )
        .await;
    assert_eq!(
        (status, list["items"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );

    let (status, body) = server
        .call(
            Method::POST,
            "/api/v1/oauth-clients",
            &acme.admin_token,
            Some(json!({ "name": "x", "client_type": "web", "redirect_uris": [] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/oauth-clients",
            &acme.admin_token,
            Some(json!({ "name": "x", "client_type": "robot" })),
        )
        .await;
    assert!(status.is_client_error());
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/oauth-clients",
            &globex.admin_token,
            Some(json!({ "organization_id": acme.id, "name": "x", "client_type": "server" })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another organization's admin cannot register"
    );
    let path = format!("/api/v1/oauth-clients/{}", token.client_id);
    let (status, _) = server
        .call(Method::DELETE, &path, &globex.admin_token, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .call(
            Method::POST,
            &format!("{path}/grant-codes"),
            &globex.admin_token,
            Some(json!({ "scope": SCOPES })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/users?type=CurrentUser",
        &token.access_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .call(Method::DELETE, &path, &acme.admin_token, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = bigin(
        &server,
        Method::GET,
        "/bigin/v2/users?type=CurrentUser",
        &token.access_token,
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "deleting the client ends its tokens"
    );
}
