//! A Zoho-shaped provider simulated with wiremock: comma-separated scopes, the token exchange
//! sent to the `accounts-server` named in the callback (and only if it passes the allow-list),
//! `api_domain` from the token response used for API calls, errors returned with HTTP 200
//! (`{"error":"invalid_code"}`), 403 instead of 401 on an expired token, `expires_in_sec`, and
//! revocation with the token in the query.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;

use support::*;
use trestle_connections::{ConnectionStatus, EnvironmentKind};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn definition(accounts_default: &str, accounts_callback: &MockServer, api: &MockServer) -> String {
    let escape = |uri: &str| uri.replace('.', r"\.");
    format!(
        r#"
key = "zoho_like"
display_name = "Zoho-like test service"
category = "test"
auth_type = "oauth2_authorization_code"
scope_separator = "comma"
api_base_url = "{{api_domain}}/books/v3"
allowed_hosts = ["{{api_domain}}"]

[oauth2]
authorize_url = "{{accounts_server}}/oauth/v2/auth"
token_url = "{{accounts_server}}/oauth/v2/token"
client_authentication = "body"

[oauth2.authorize_parameters]
access_type = "offline"
prompt = "consent"

[oauth2.revoke]
method = "POST"
url = "{{accounts_server}}/oauth/v2/token/revoke"
token = "refresh_token"
token_in = "query"
client_authentication = "none"

[oauth2.token_response]
errors_with_success_status = true
expires_in_fields = ["expires_in_sec", "expires_in"]
expired_token_statuses = [401, 403]

[[credential_placement]]
in = "header"
name = "Authorization"
value = "Zoho-oauthtoken {{access_token}}"

[[scopes]]
name = "ZohoBooks.fullaccess.all"
display_name = "Books"
default = true

[[scopes]]
name = "ZohoBigin.modules.ALL"
display_name = "Bigin"
default = true

[[settings]]
name = "accounts_server"
display_name = "Accounts server"
default = "{accounts_default}"

[[settings]]
name = "api_domain"
display_name = "API domain"
default = "{accounts_default}"

[[captured]]
name = "accounts_server"
source = "callback"
parameter = "accounts-server"
pattern = '{accounts_pattern}'

[[captured]]
name = "api_domain"
source = "token_response"
parameter = "api_domain"
pattern = '{api_pattern}'
"#,
        accounts_pattern = escape(&accounts_callback.uri()),
        api_pattern = escape(&api.uri()),
    )
}

#[tokio::test]
async fn zoho_shaped_provider_quirks() {
    let default_accounts = MockServer::start().await;
    let regional_accounts = MockServer::start().await;
    let api = MockServer::start().await;
    let harness = sqlite_harness(test_config()).await;
    let organization = harness.organization;

    let definition: trestle_services::ServiceDefinition = toml::from_str(&definition(
        &default_accounts.uri(),
        &regional_accounts,
        &api,
    ))
    .unwrap();
    store_custom_service_directly(
        &harness,
        &definition,
        "1000.CLIENTID",
        "zoho-client-secret-value",
    )
    .await;
    create_connection(
        &harness.manager,
        organization,
        "biginbooks",
        "Books Connection",
        "zoho_like",
    )
    .await;
    let link = "biginbooks__booksconnection";

    // Token endpoint of the regional accounts server: code exchange, one good refresh, then
    // Zoho's HTTP-200 error for every later refresh.
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "1000.zat1.aaaaaaaaaaaaaaaa", "refresh_token": "1000.zrt.bbbbbbbbbbbbbbbb",
            "api_domain": api.uri(), "token_type": "Bearer", "expires_in": 3_600_000, "expires_in_sec": 3600
        })))
        .mount(&regional_accounts)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=1000.zrt.bbbbbbbbbbbbbbbb"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "1000.zat2.cccccccccccccccc", "api_domain": api.uri(), "token_type": "Bearer", "expires_in": 3600
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&regional_accounts)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({ "error": "invalid_code" })),
        )
        .with_priority(5)
        .mount(&regional_accounts)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token/revoke"))
        .and(query_param("token", "1000.zrt.bbbbbbbbbbbbbbbb"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&regional_accounts)
        .await;
    // The API answers 403 (not 401) for the expired token.
    Mock::given(method("GET"))
        .and(path("/books/v3/contacts"))
        .and(header(
            "Authorization",
            "Zoho-oauthtoken 1000.zat1.aaaaaaaaaaaaaaaa",
        ))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(serde_json::json!({ "code": 57, "message": "expired" })),
        )
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/books/v3/contacts"))
        .and(header(
            "Authorization",
            "Zoho-oauthtoken 1000.zat2.cccccccccccccccc",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "contacts": [] })),
        )
        .mount(&api)
        .await;

    // Authorize URL: default accounts server, comma-separated scopes, offline access.
    let launched = begin_and_launch(
        &harness.manager,
        organization,
        link,
        EnvironmentKind::Production,
    )
    .await;
    assert!(
        launched
            .provider_url
            .as_str()
            .starts_with(&format!("{}/oauth/v2/auth?", default_accounts.uri()))
    );
    let pairs: BTreeMap<String, String> =
        launched.provider_url.query_pairs().into_owned().collect();
    assert_eq!(
        pairs["scope"],
        "ZohoBooks.fullaccess.all,ZohoBigin.modules.ALL"
    );
    assert_eq!(pairs["access_type"], "offline");

    // A callback naming a host outside the allow-list is refused before any token request.
    let evil = vec![
        ("code".to_string(), "1000.code".to_string()),
        ("state".to_string(), pairs["state"].clone()),
        (
            "accounts-server".to_string(),
            "https://accounts.evil.example".to_string(),
        ),
    ];
    let error = harness
        .manager
        .complete_authorization("zoho_like", &evil, Some(&launched.browser_binding))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "SERVICE_DEFINITION_UNUSABLE", "{error}");
    assert!(
        regional_accounts
            .received_requests()
            .await
            .unwrap()
            .is_empty()
    );

    // The real callback: the code goes to the accounts server it names.
    let launched = begin_and_launch(
        &harness.manager,
        organization,
        link,
        EnvironmentKind::Production,
    )
    .await;
    let state = state_of(&launched);
    let callback = vec![
        ("state".to_string(), state),
        ("code".to_string(), "1000.code".to_string()),
        ("location".to_string(), "eu".to_string()),
        ("accounts-server".to_string(), regional_accounts.uri()),
    ];
    harness
        .manager
        .complete_authorization("zoho_like", &callback, Some(&launched.browser_binding))
        .await
        .unwrap();
    assert!(
        default_accounts
            .received_requests()
            .await
            .unwrap()
            .is_empty(),
        "no token request to the default accounts server"
    );
    let exchange = &regional_accounts.received_requests().await.unwrap()[0];
    let body = String::from_utf8_lossy(&exchange.body).to_string();
    assert!(
        body.contains("client_id=1000.CLIENTID") && body.contains("client_secret="),
        "client authentication in the body"
    );

    let view = harness
        .manager
        .get_connection(organization, link)
        .await
        .unwrap();
    let production = &view.environments[0];
    assert_eq!(production.status, ConnectionStatus::Active);
    assert_eq!(production.captured_values["api_domain"], api.uri());
    assert_eq!(
        production.captured_values["accounts_server"],
        regional_accounts.uri()
    );
    let lifetime = production.expires_at.unwrap() - chrono::Utc::now();
    assert!(
        lifetime.num_seconds() > 3500 && lifetime.num_seconds() <= 3600,
        "expires_in_sec wins: {lifetime}"
    );

    // Requests go to api_domain with Zoho's header scheme; 403 means "expired" for this service.
    let http = reqwest::Client::new();
    let credential = harness
        .manager
        .credential_for_request(organization, EnvironmentKind::Production, link)
        .await
        .unwrap();
    let base = credential.service.api_base_url.clone().unwrap();
    assert_eq!(base.as_str(), format!("{}/books/v3", api.uri()));
    let send = |credential: &trestle_connections::RequestCredential| {
        let mut request = http.get(format!("{base}/contacts"));
        for (name, value) in &credential.attachment.headers {
            request = request.header(name.as_str(), value.expose_secret());
        }
        request.send()
    };
    let response = send(&credential).await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(credential.expired_token_statuses.contains(&403));
    let refreshed = harness
        .manager
        .force_refresh_after_401(organization, EnvironmentKind::Production, link, &credential)
        .await
        .unwrap();
    assert_eq!(send(&refreshed).await.unwrap().status(), 200);
    let refresh_request = regional_accounts
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|request| String::from_utf8_lossy(&request.body).contains("grant_type=refresh_token"))
        .unwrap();
    assert_eq!(
        refresh_request.url.path(),
        "/oauth/v2/token",
        "refresh goes to the captured accounts server"
    );

    // Zoho's HTTP-200 error on refresh: the connection needs reauthorization, and says so.
    let error = harness
        .manager
        .force_refresh_after_401(organization, EnvironmentKind::Production, link, &refreshed)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "CONNECTION_NEEDS_REAUTHORIZATION", "{error}");
    let view = harness
        .manager
        .get_connection(organization, link)
        .await
        .unwrap();
    assert_eq!(
        view.environments[0].status,
        ConnectionStatus::NeedsReauthorization
    );
    assert!(
        view.environments[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("invalid_code")
    );

    // Delete revokes the (kept, not rotated) refresh token with Zoho's query form.
    harness
        .manager
        .delete_connection(organization, link)
        .await
        .unwrap();
    let revocations = regional_accounts
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.url.path() == "/oauth/v2/token/revoke")
        .count();
    assert_eq!(revocations, 1);
}
