//! OAuth 1.0a custom services end to end against a stand-in provider (wiremock) that checks
//! every signature it receives by recomputing it: temporary credentials, the authorization
//! redirect, the callback with `oauth_verifier`, token credentials, then signed API requests
//! through the outbound engine (query and form parameters signed), for HMAC-SHA1 and
//! HMAC-SHA256. The token secret is stored encrypted and never appears in the database,
//! the logs or an error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};

use support::*;
use trestle_connections::{ConnectionStatus, CreateConnection, EnvironmentKind};
use trestle_outbound::oauth1::{OAuth1SignatureMethod, OAuth1Signer, parse_authorization_header};
use trestle_outbound::{
    EgressContext, HostRoutes, OutboundConfig, OutboundEngine, OutboundRequest, RequestBody,
};
use trestle_vault::SecretString;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CONSUMER_KEY: &str = "consumer-key-1";
const CONSUMER_SECRET: &str = "consumer-secret-oauth1-aaaa";
const TEMPORARY_TOKEN: &str = "temporary-token-bbbb";
const TEMPORARY_SECRET: &str = "temporary-secret-cccc";
const VERIFIER: &str = "verifier-dddd";
const ACCESS_TOKEN: &str = "access-token-oauth1-eeee";
const ACCESS_SECRET: &str = "access-secret-oauth1-ffff";
const API_HOST: &str = "api.oauth1-stand-in.test";

/// Decoded `Authorization` parameters of one request.
type Parameters = Vec<(String, String)>;
/// What the stand-in saw: the parameters of a verified request, or why it refused one.
type Seen = Arc<Mutex<Vec<Result<Parameters, String>>>>;
/// An endpoint's own check of the verified parameters.
type Check = fn(&[(String, String)], &Request) -> Result<(), String>;

/// The provider's side of one signed request: recompute the signature over the URL the
/// client signed (`logical_base` replaces the stand-in's own address), the form body and the
/// received protocol parameters, with the secrets the provider knows.
fn verify(
    request: &Request,
    logical_base: &str,
    method_name: OAuth1SignatureMethod,
    token_secret: Option<&str>,
) -> Result<Vec<(String, String)>, String> {
    let header = request
        .headers
        .get("authorization")
        .ok_or("no Authorization header")?
        .to_str()
        .map_err(|_| "unreadable header")?;
    let parameters = parse_authorization_header(header).ok_or("not an OAuth header")?;
    let get = |name: &str| {
        parameters
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    if get("oauth_consumer_key").as_deref() != Some(CONSUMER_KEY) {
        return Err("wrong consumer key".into());
    }
    if get("oauth_signature_method").as_deref() != Some(method_name.as_str()) {
        return Err(format!("wrong method {:?}", get("oauth_signature_method")));
    }
    let received = get("oauth_signature").ok_or("no signature")?;
    let mut logical = Url::parse(&format!("{logical_base}{}", request.url.path())).unwrap();
    logical.set_query(request.url.query());
    let is_form = request
        .headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    let form: Vec<(String, String)> = if is_form {
        url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect()
    } else {
        Vec::new()
    };
    let provider = OAuth1Signer {
        consumer_key: CONSUMER_KEY.into(),
        consumer_secret: SecretString::new(CONSUMER_SECRET.to_owned()),
        token: None,
        token_secret: token_secret.map(|secret| SecretString::new(secret.to_owned())),
        signature_method: method_name,
    };
    let expected = provider.signature(request.method.as_str(), &logical, &form, &parameters);
    if expected != received {
        return Err(format!("signature mismatch for {logical}"));
    }
    Ok(parameters)
}

/// A stand-in endpoint: verifies, records what it saw, answers `body` or 401.
struct Verifying {
    logical_base: String,
    method_name: OAuth1SignatureMethod,
    token_secret: Option<&'static str>,
    check: Check,
    body: &'static str,
    content_type: &'static str,
    seen: Seen,
}

impl Respond for Verifying {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let outcome = verify(
            request,
            &self.logical_base,
            self.method_name,
            self.token_secret,
        )
        .and_then(|parameters| (self.check)(&parameters, request).map(|()| parameters));
        let ok = outcome.is_ok();
        self.seen.lock().unwrap().push(outcome);
        if ok {
            ResponseTemplate::new(200).set_body_raw(self.body, self.content_type)
        } else {
            ResponseTemplate::new(401).set_body_raw(
                "oauth_problem=signature_invalid",
                "application/x-www-form-urlencoded",
            )
        }
    }
}

fn parameter(parameters: &[(String, String)], name: &str) -> Option<String> {
    parameters
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

struct Provider {
    server: MockServer,
    seen: Seen,
}

async fn provider(method_name: OAuth1SignatureMethod) -> Provider {
    let server = MockServer::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let base = server.uri();
    let endpoint = |token_secret, check, body, content_type| Verifying {
        logical_base: base.clone(),
        method_name,
        token_secret,
        check,
        body,
        content_type,
        seen: seen.clone(),
    };
    Mock::given(method("POST"))
        .and(path("/oauth/request_token"))
        .respond_with(endpoint(
            None,
            |parameters, _| {
                let callback = parameter(parameters, "oauth_callback").ok_or("no callback")?;
                let callback = Url::parse(&callback).map_err(|_| "callback not a URL")?;
                if !callback.path().ends_with("/api/v1/oauth/callback/oauth1_board")
                    || !callback.query().unwrap_or_default().starts_with("state=")
                {
                    return Err(format!("unexpected callback {callback}"));
                }
                if parameter(parameters, "oauth_token").is_some() {
                    return Err("a token in the temporary-credential request".into());
                }
                Ok(())
            },
            "oauth_token=temporary-token-bbbb&oauth_token_secret=temporary-secret-cccc&oauth_callback_confirmed=true",
            "application/x-www-form-urlencoded",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/access_token"))
        .respond_with(endpoint(
            Some(TEMPORARY_SECRET),
            |parameters, _| {
                if parameter(parameters, "oauth_token").as_deref() != Some(TEMPORARY_TOKEN) {
                    return Err("not the temporary token".into());
                }
                if parameter(parameters, "oauth_verifier").as_deref() != Some(VERIFIER) {
                    return Err("not the verifier".into());
                }
                Ok(())
            },
            "oauth_token=access-token-oauth1-eeee&oauth_token_secret=access-secret-oauth1-ffff&user_id=42",
            "text/plain",
        ))
        .mount(&server)
        .await;
    // API requests are signed over the https URL the script named, not the stand-in's.
    let api_check: Check = |parameters, _| {
        if parameter(parameters, "oauth_token").as_deref() == Some(ACCESS_TOKEN) {
            Ok(())
        } else {
            Err("not the access token".into())
        }
    };
    for verb in ["GET", "POST"] {
        Mock::given(method(verb))
            .and(path("/1/cards"))
            .respond_with(Verifying {
                logical_base: format!("https://{API_HOST}"),
                method_name,
                token_secret: Some(ACCESS_SECRET),
                check: api_check,
                body: r#"{"ok":true}"#,
                content_type: "application/json",
                seen: seen.clone(),
            })
            .mount(&server)
            .await;
    }
    Provider { server, seen }
}

fn service_input(
    provider: &MockServer,
    signature_method: &str,
) -> trestle_services::CustomServiceInput {
    serde_json::from_value(serde_json::json!({
        "service_name": "Board (OAuth 1)", "service_link_name": "oauth1_board",
        "auth_type": "oauth1",
        "request_token_url": format!("{}/oauth/request_token", provider.uri()),
        "authorize_url": format!("{}/oauth/authorize", provider.uri()),
        "access_token_url": format!("{}/oauth/access_token", provider.uri()),
        "api_base_url": format!("https://{API_HOST}/1"),
        "client_id": CONSUMER_KEY, "client_secret": CONSUMER_SECRET,
        "signature_method": signature_method,
    }))
    .unwrap()
}

#[tokio::test]
async fn oauth1_flow_and_signed_requests_for_each_hmac_method() {
    let logs = captured_logs();
    for (method_name, method_text) in [
        (OAuth1SignatureMethod::HmacSha1, "HMAC-SHA1"),
        (OAuth1SignatureMethod::HmacSha256, "HMAC-SHA256"),
    ] {
        let provider = provider(method_name).await;
        let harness = sqlite_harness(test_config()).await;
        let manager = &harness.manager;
        let organization = harness.organization;
        manager
            .save_custom_service(
                organization,
                service_input(&provider.server, method_text),
                false,
            )
            .await
            .unwrap();
        create_connection(manager, organization, "boards", "main", "oauth1_board").await;

        // Temporary credentials are fetched when the authorization starts.
        let pending = manager
            .begin_authorization(organization, "boards__main", EnvironmentKind::Production)
            .await
            .unwrap();
        assert!(
            pending
                .callback_url
                .ends_with("/api/v1/oauth/callback/oauth1_board")
        );
        let launched = manager
            .launch_authorization(&launch_token(&pending.launch_url))
            .await
            .unwrap();
        let provider_url = launched.provider_url.clone();
        assert_eq!(provider_url.path(), "/oauth/authorize");
        assert_eq!(
            query_pairs(&provider_url),
            vec![("oauth_token".to_owned(), TEMPORARY_TOKEN.to_owned())]
        );
        // The provider redirects to the oauth_callback it received, adding token and verifier.
        let callback_sent = provider.seen.lock().unwrap()[0].clone().unwrap();
        let callback = Url::parse(&parameter(&callback_sent, "oauth_callback").unwrap()).unwrap();
        let mut callback_query = query_pairs(&callback);
        callback_query.push(("oauth_token".into(), TEMPORARY_TOKEN.into()));
        callback_query.push(("oauth_verifier".into(), VERIFIER.into()));

        // A callback naming another temporary token is refused and burns the state.
        let mut forged = callback_query.clone();
        forged[1].1 = "another-token".into();
        let error = manager
            .complete_authorization("oauth1_board", &forged, Some(&launched.browser_binding))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "OAUTH_STATE_INVALID");
        let error = manager
            .complete_authorization(
                "oauth1_board",
                &callback_query,
                Some(&launched.browser_binding),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "OAUTH_STATE_INVALID", "state is single use");

        // Again, properly.
        let launched = begin_and_launch(
            manager,
            organization,
            "boards__main",
            EnvironmentKind::Production,
        )
        .await;
        let sent = provider
            .seen
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .clone()
            .unwrap();
        let callback = Url::parse(&parameter(&sent, "oauth_callback").unwrap()).unwrap();
        let mut callback_query = query_pairs(&callback);
        callback_query.push(("oauth_token".into(), TEMPORARY_TOKEN.into()));
        callback_query.push(("oauth_verifier".into(), VERIFIER.into()));
        let completed = manager
            .complete_authorization(
                "oauth1_board",
                &callback_query,
                Some(&launched.browser_binding),
            )
            .await
            .unwrap();
        assert_eq!(completed.status, ConnectionStatus::Active);
        let view = manager
            .get_connection(organization, "boards__main")
            .await
            .unwrap();
        let production = &view.environments[0];
        assert_eq!(production.status, ConnectionStatus::Active);
        assert_eq!(production.captured_values.len(), 0);
        assert!(
            production.expires_at.is_none(),
            "OAuth 1 tokens do not expire"
        );

        // Signed API requests through the engine: a GET with a query and a POST with a form.
        let credential = manager
            .credential_for_request(organization, EnvironmentKind::Production, "boards__main")
            .await
            .unwrap();
        assert!(!credential.refreshable);
        let engine = OutboundEngine::new(OutboundConfig::default()).unwrap();
        let mut routes = HostRoutes::new();
        routes.add(API_HOST, &provider.server.uri()).unwrap();
        let context = EgressContext::new().with_routes(routes);
        let mut get = OutboundRequest::new(
            trestle_outbound::Method::Get,
            format!("https://{API_HOST}/1/cards"),
        );
        get.query = vec![
            ("name".into(), "a b+c/é".into()),
            ("list".into(), "1".into()),
        ];
        let response = engine
            .send(get, Some(&credential.attachment), &context)
            .await
            .unwrap();
        assert_eq!(response.status, 200, "{method_text} GET");
        let mut post = OutboundRequest::new(
            trestle_outbound::Method::Post,
            format!("https://{API_HOST}/1/cards?pos=top"),
        );
        post.body = RequestBody::Form(vec![
            ("name".into(), "Card & co".into()),
            ("desc".into(), "x=1;y=2".into()),
        ]);
        let response = engine
            .send(post, Some(&credential.attachment), &context)
            .await
            .unwrap();
        assert_eq!(response.status, 200, "{method_text} POST with a form body");

        let seen = provider.seen.lock().unwrap().clone();
        let failures: Vec<&String> = seen
            .iter()
            .filter_map(|outcome| outcome.as_ref().err())
            .collect();
        assert!(failures.is_empty(), "{method_text}: {failures:?}");
        // request_token x2, access_token x1, API x2; the forged callback never reached it.
        assert_eq!(seen.len(), 5, "{method_text}");

        // Nothing secret in plain text at rest, and the credential's Debug hides it.
        let bytes = database_bytes(&harness);
        for secret in [
            CONSUMER_SECRET,
            TEMPORARY_SECRET,
            ACCESS_TOKEN,
            ACCESS_SECRET,
        ] {
            assert!(!contains(&bytes, secret), "{secret} in the database");
        }
        let debug = format!("{:?}", credential.attachment);
        assert!(!debug.contains(ACCESS_SECRET) && !debug.contains(ACCESS_TOKEN));
    }
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    for secret in [
        CONSUMER_SECRET,
        TEMPORARY_SECRET,
        ACCESS_TOKEN,
        ACCESS_SECRET,
    ] {
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
}

#[tokio::test]
async fn a_provider_rejecting_the_signature_gives_a_clear_error_without_secrets() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/request_token"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            "oauth_problem=signature_invalid",
            "application/x-www-form-urlencoded",
        ))
        .mount(&server)
        .await;
    let harness = sqlite_harness(test_config()).await;
    harness
        .manager
        .save_custom_service(
            harness.organization,
            service_input(&server, "HMAC-SHA1"),
            false,
        )
        .await
        .unwrap();
    harness
        .manager
        .create_connection(
            harness.organization,
            CreateConnection {
                namespace: "boards".into(),
                name: "main".into(),
                service_key: "oauth1_board".into(),
                ..CreateConnection::default()
            },
        )
        .await
        .unwrap();
    let error = harness
        .manager
        .begin_authorization(
            harness.organization,
            "boards__main",
            EnvironmentKind::Production,
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "OAUTH_TOKEN_REQUEST_REJECTED");
    let message = error.to_string();
    assert!(message.contains("signature_invalid"), "{message}");
    assert!(!message.contains(CONSUMER_SECRET), "{message}");
}

#[tokio::test]
async fn plaintext_needs_https_everywhere() {
    let harness = sqlite_harness(test_config()).await;
    let server = MockServer::start().await;
    let error = harness
        .manager
        .save_custom_service(
            harness.organization,
            service_input(&server, "PLAINTEXT"),
            false,
        )
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("PLAINTEXT"),
        "{error}: loopback http URLs are refused for PLAINTEXT"
    );
    let https: trestle_services::CustomServiceInput = serde_json::from_value(serde_json::json!({
        "service_name": "Plain", "service_link_name": "plain_board", "auth_type": "oauth1",
        "request_token_url": "https://plain.example/oauth/request_token",
        "authorize_url": "https://plain.example/oauth/authorize",
        "access_token_url": "https://plain.example/oauth/access_token",
        "api_base_url": "https://api.plain.example/1",
        "client_id": CONSUMER_KEY, "client_secret": CONSUMER_SECRET,
        "signature_method": "PLAINTEXT",
    }))
    .unwrap();
    let saved = harness
        .manager
        .save_custom_service(harness.organization, https, false)
        .await
        .unwrap();
    assert_eq!(
        saved.oauth1.unwrap().signature_method,
        OAuth1SignatureMethod::Plaintext
    );
}
