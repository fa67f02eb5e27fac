//! An OAuth 1.0a custom service over real HTTP: created through the API, authorized through
//! the server's authorize answer, launch page and per-service callback (with the provider's
//! `oauth_token` and `oauth_verifier`), then used through the proxy API, every request signed.
//! The provider is a wiremock stand-in that recomputes each signature it receives.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use common::{Backend, TestServer};
use serde_json::json;
use trestle_connections::EnvironmentKind;
use trestle_outbound::oauth1::{OAuth1SignatureMethod, OAuth1Signer, parse_authorization_header};
use trestle_store::Role;
use trestle_vault::SecretString;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CONSUMER_KEY: &str = "srv-consumer-key";
const CONSUMER_SECRET: &str = "srv-consumer-secret-1111";
const TEMPORARY_SECRET: &str = "srv-temporary-secret-2222";
const ACCESS_TOKEN: &str = "srv-access-token-3333";
const ACCESS_SECRET: &str = "srv-access-secret-4444";
const API_HOST: &str = "api.oauth1-server-test.test";

/// A stand-in endpoint that checks the HMAC-SHA1 signature over `logical_base` + the path and
/// query it received, with the token secret the provider issued for that stage.
struct Verifying {
    logical_base: String,
    token_secret: Option<&'static str>,
    answer: &'static str,
    callbacks: Arc<Mutex<Vec<String>>>,
}

impl Respond for Verifying {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Some(parameters) = request
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_authorization_header)
        else {
            return ResponseTemplate::new(401).set_body_string("oauth_problem=parameter_absent");
        };
        let mut logical =
            Url::parse(&format!("{}{}", self.logical_base, request.url.path())).unwrap();
        logical.set_query(request.url.query());
        let provider = OAuth1Signer {
            consumer_key: CONSUMER_KEY.into(),
            consumer_secret: SecretString::new(CONSUMER_SECRET.to_owned()),
            token: None,
            token_secret: self
                .token_secret
                .map(|secret| SecretString::new(secret.to_owned())),
            signature_method: OAuth1SignatureMethod::HmacSha1,
        };
        let expected = provider.signature(request.method.as_str(), &logical, &[], &parameters);
        let received = parameters
            .iter()
            .find(|(name, _)| name == "oauth_signature")
            .map(|(_, value)| value.clone());
        if received.as_deref() != Some(expected.as_str()) {
            return ResponseTemplate::new(401).set_body_string("oauth_problem=signature_invalid");
        }
        if let Some((_, callback)) = parameters.iter().find(|(name, _)| name == "oauth_callback") {
            self.callbacks.lock().unwrap().push(callback.clone());
        }
        ResponseTemplate::new(200).set_body_string(self.answer)
    }
}

#[tokio::test]
async fn oauth1_service_authorized_through_the_callback_and_used_through_the_proxy() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let provider = MockServer::start().await;
    let callbacks = Arc::new(Mutex::new(Vec::new()));
    let stage = |token_secret, answer, logical_base: String| Verifying {
        logical_base,
        token_secret,
        answer,
        callbacks: callbacks.clone(),
    };
    Mock::given(method("POST"))
        .and(path("/oauth/request_token"))
        .respond_with(stage(
            None,
            "oauth_token=srv-temporary-token&oauth_token_secret=srv-temporary-secret-2222&oauth_callback_confirmed=true",
            provider.uri(),
        ))
        .mount(&provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/access_token"))
        .respond_with(stage(
            Some(TEMPORARY_SECRET),
            "oauth_token=srv-access-token-3333&oauth_token_secret=srv-access-secret-4444",
            provider.uri(),
        ))
        .mount(&provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/1/members/me"))
        .respond_with(stage(
            Some(ACCESS_SECRET),
            r#"{"id":"member-1"}"#,
            format!("https://{API_HOST}"),
        ))
        .mount(&provider)
        .await;

    let (server, runtime) = TestServer::start_with_connections(Backend::Sqlite).await;
    let base_url = server.base_url.clone();
    let organization = server.create_organization("OAuth 1 org").await;
    let admin = server.create_member(organization, Role::Admin).await;
    let token = server.issue_token_text(organization, &admin).await;
    runtime
        .set_routes(
            organization,
            EnvironmentKind::Production,
            vec![trestle_runtime::EgressRoute {
                host: API_HOST.into(),
                target: provider.uri(),
            }],
        )
        .await
        .unwrap();

    let api = reqwest::Client::new();
    let org_path = format!("{base_url}/api/v1/organizations/{organization}");
    let call = |request: reqwest::RequestBuilder| {
        common::send_revealing_none_of(
            request,
            &token,
            &[
                CONSUMER_SECRET,
                TEMPORARY_SECRET,
                ACCESS_TOKEN,
                ACCESS_SECRET,
            ],
        )
    };

    let (status, body) = call(api.post(format!("{org_path}/services")).json(&json!({
        "service_name": "Boards", "service_link_name": "boards_oauth1", "auth_type": "oauth1",
        "request_token_url": format!("{}/oauth/request_token", provider.uri()),
        "authorize_url": format!("{}/oauth/authorize", provider.uri()),
        "access_token_url": format!("{}/oauth/access_token", provider.uri()),
        "api_base_url": format!("https://{API_HOST}/1"),
        "client_id": CONSUMER_KEY, "client_secret": CONSUMER_SECRET,
        "signature_method": "HMAC-SHA1",
    })))
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(api.post(format!("{org_path}/connections")).json(&json!({
        "namespace": "boards", "name": "main", "service_key": "boards_oauth1"
    })))
    .await;
    assert_eq!(status, 201, "{body}");

    let (status, body) = call(api.post(format!(
        "{org_path}/connections/boards__main/authorize?environment=production"
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let launched = browser
        .get(body["authorization"]["launch_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(launched.status().is_redirection());
    let provider_url = Url::parse(launched.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(
        provider_url.as_str(),
        format!(
            "{}/oauth/authorize?oauth_token=srv-temporary-token",
            provider.uri()
        )
    );
    // The user grants access; the provider redirects to the oauth_callback it was given.
    let mut callback = Url::parse(&callbacks.lock().unwrap()[0]).unwrap();
    assert!(callback.as_str().starts_with(&format!(
        "{base_url}/api/v1/oauth/callback/boards_oauth1?state="
    )));
    callback
        .query_pairs_mut()
        .append_pair("oauth_token", "srv-temporary-token")
        .append_pair("oauth_verifier", "srv-verifier");
    // Without the browser's binding cookie the callback is refused.
    let stranger = reqwest::Client::new()
        .get(callback.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 400);
    // The state is burnt: start again and finish in the right browser.
    let (_, body) = call(api.post(format!(
        "{org_path}/connections/boards__main/reauthorize?environment=production"
    )))
    .await;
    browser
        .get(body["authorization"]["launch_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let mut callback = Url::parse(&callbacks.lock().unwrap()[1]).unwrap();
    callback
        .query_pairs_mut()
        .append_pair("oauth_token", "srv-temporary-token")
        .append_pair("oauth_verifier", "srv-verifier");
    let done = browser.get(callback).send().await.unwrap();
    assert_eq!(done.status(), 200, "{}", done.text().await.unwrap());

    let (status, body) = call(api.get(format!("{org_path}/connections/boards__main"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["connection"]["environments"][0]["status"], "active",
        "{body}"
    );

    // Used through the proxy: the stand-in answers only correctly signed requests.
    let (status, body) = call(api.get(format!(
        "{base_url}/api/v1/environments/production/proxy/boards__main/members/me?fields=id,name"
    )))
    .await;
    assert_eq!((status, body), (200, json!({"id": "member-1"})));
    let requests = provider.received_requests().await.unwrap();
    let api_request = requests.last().unwrap();
    assert_eq!(api_request.url.path(), "/1/members/me");
    let authorization = api_request.headers["authorization"].to_str().unwrap();
    assert!(authorization.contains("oauth_token=\"srv-access-token-3333\""));
    assert!(!authorization.contains(ACCESS_SECRET) && !authorization.contains(CONSUMER_SECRET));

    server.stop().await;
}
