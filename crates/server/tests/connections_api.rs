//! Connections over real HTTP: custom service and connection created through the API, the
//! authorize answer's launch URL opened by a "browser" (cookie jar), the provider's redirect to
//! the per-service callback completing the flow only in that browser, and no secret in any
//! answer. The authorization server is a wiremock stand-in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Backend, TestServer, query_parameter};
use serde_json::{Value, json};
use trestle_store::Role;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_SECRET: &str = "srv-client-secret-value-42";
const ACCESS_TOKEN: &str = "at-from-api-test-0123456789";

#[tokio::test]
async fn connection_lifecycle_over_http() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": ACCESS_TOKEN, "refresh_token": "rt-from-api-test-0123456789",
            "expires_in": 3600, "token_type": "Bearer", "scope": "read"
        })))
        .mount(&provider)
        .await;

    let (server, _) = TestServer::start_with_connections(Backend::Sqlite).await;
    let base_url = server.base_url.clone();
    let organization = server.create_organization("API org").await;
    let developer = server.create_member(organization, Role::Developer).await;
    let token = server.issue_token_text(organization, &developer).await;
    let api = &server.client;
    let org_path = format!("{base_url}/api/v1/organizations/{organization}");
    let call = |request: reqwest::RequestBuilder| {
        common::send_revealing_none_of(request, &token, &[CLIENT_SECRET, ACCESS_TOKEN])
    };

    let (status, _) = call(
        api.get(format!("{org_path}/connections"))
            .bearer_auth("trestle_wrong"),
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = call(api.post(format!("{org_path}/services")).json(&json!({
        "service_name": "Mock AS", "service_link_name": "mock_as", "auth_type": "oauth2_authorization_code",
        "api_base_url": provider.uri(), "authorize_url": format!("{}/authorize", provider.uri()),
        "access_token_url": format!("{}/token", provider.uri()),
        "client_id": "client-1", "client_secret": CLIENT_SECRET, "scopes": ["read"],
    })))
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(api.get(format!("{org_path}/services"))).await;
    assert_eq!(status, 200);
    assert!(
        body["services"]
            .as_array()
            .unwrap()
            .iter()
            .any(|service| service["key"] == "mock_as")
    );
    assert!(
        body["services"]
            .as_array()
            .unwrap()
            .iter()
            .any(|service| service["key"] == "zoho_books")
    );
    let (status, body) = call(api.post(format!("{org_path}/connections")).json(&json!({
        "namespace": "apitest", "name": "Mock Connection", "service_key": "mock_as"
    })))
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["connection"]["link_name"], "apitest__mockconnection");
    let (status, body) = call(api.post(format!("{org_path}/connections")).json(&json!({
        "namespace": "apitest", "name": "Mock Connection", "service_key": "mock_as"
    })))
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("LINK_NAME_TAKEN"))
    );

    // Authorize in the sandbox: the answer is a launch URL for the browser.
    let (status, body) = call(api.post(format!(
        "{org_path}/connections/apitest__mockconnection/authorize?environment=sandbox"
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    let launch_url = body["authorization"]["launch_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(launch_url.starts_with(&format!("{base_url}/api/v1/oauth/launch/")));

    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let launched = browser.get(&launch_url).send().await.unwrap();
    assert_eq!(launched.status(), 303);
    assert_eq!(launched.headers()["referrer-policy"], "no-referrer");
    let provider_url = url::Url::parse(launched.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        provider_url
            .as_str()
            .starts_with(&format!("{}/authorize?", provider.uri()))
    );
    let state = query_parameter(&provider_url, "state");
    let callback_url =
        format!("{base_url}/api/v1/oauth/callback/mock_as?code=the-code&state={state}");

    // Another browser (no binding cookie) cannot complete it, and that attempt burns the state.
    let stranger = reqwest::Client::new()
        .get(&callback_url)
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 400);
    let error: Value = stranger.json().await.unwrap();
    assert_eq!(error["code"], "OAUTH_STATE_SESSION_MISMATCH");

    // A new flow, completed in the browser that launched it.
    let (_, body) = call(api.post(format!(
        "{org_path}/connections/apitest__mockconnection/reauthorize?environment=sandbox"
    )))
    .await;
    let launched = browser
        .get(body["authorization"]["launch_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let provider_url = url::Url::parse(launched.headers()["location"].to_str().unwrap()).unwrap();
    let state = query_parameter(&provider_url, "state");
    let done = browser
        .get(format!(
            "{base_url}/api/v1/oauth/callback/mock_as?code=the-code&state={state}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(done.headers()["referrer-policy"], "no-referrer");
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("apitest__mockconnection")
    );

    let (status, body) =
        call(api.get(format!("{org_path}/connections/apitest__mockconnection"))).await;
    assert_eq!(status, 200);
    let environments = body["connection"]["environments"].as_array().unwrap();
    assert_eq!(environments[0]["status"], "not_authorized");
    assert_eq!(environments[1]["status"], "active");
    assert_eq!(environments[1]["granted_scopes"], json!(["read"]));
    let (status, body) = call(api.get(format!(
        "{org_path}/connections/apitest__mockconnection/events"
    )))
    .await;
    assert_eq!(status, 200);
    assert!(
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["kind"] == "authorized")
    );
    let (status, _) = call(
        api.patch(format!("{org_path}/connections/apitest__mockconnection"))
            .json(&json!({ "link_name": "renamed" })),
    )
    .await;
    assert_eq!(status, 409, "the link name is locked after authorization");
    let (status, _) =
        call(api.delete(format!("{org_path}/connections/apitest__mockconnection"))).await;
    assert_eq!(status, 204);
    let (status, body) =
        call(api.get(format!("{org_path}/connections/apitest__mockconnection"))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("CONNECTION_NOT_FOUND"))
    );

    server.stop().await;
}
