//! Shared pieces of the Bigin API tests: provisioning OAuth clients and tokens through the
//! real management API and token endpoint, calling the records API, redacting snapshots.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step should stop the test loudly
#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Auth, TestServer, read};

/// An access token of the CRM API, minted through the real endpoints.
pub struct CrmToken {
    pub access_token: String,
    pub refresh_token: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Registers a `server` client as the organization's admin (API token), gets a self-client
/// grant code for `environment` and exchanges it at `/oauth/v2/token`.
pub async fn crm_token(
    server: &TestServer,
    admin: &Auth,
    organization_id: &str,
    scope: &str,
    environment: &str,
) -> CrmToken {
    let (status, client) = server
        .call(
            Method::POST,
            "/api/v1/oauth-clients",
            admin,
            Some(json!({ "organization_id": organization_id, "name": "Test client",
                         "client_type": "server", "redirect_uris": ["http://127.0.0.1:9/callback"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let client_secret = client["client_secret"].as_str().unwrap().to_owned();
    let (status, code) = server
        .call(
            Method::POST,
            &format!("/api/v1/oauth-clients/{client_id}/grant-codes"),
            admin,
            Some(json!({ "scope": scope, "environment": environment })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{code}");
    let response = server
        .client
        .post(server.url("/oauth/v2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("client_secret", &client_secret),
            ("code", code["code"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    let (status, tokens) = read(response).await;
    assert_eq!(status, StatusCode::OK);
    assert!(tokens["access_token"].is_string(), "{tokens}");
    CrmToken {
        access_token: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh_token: tokens["refresh_token"].as_str().unwrap().to_owned(),
        client_id,
        client_secret,
    }
}

/// Calls the records API with `Authorization: Zoho-oauthtoken <token>`.
pub async fn bigin(
    server: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = server
        .client
        .request(method, server.url(path))
        .header("authorization", format!("Zoho-oauthtoken {token}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.unwrap()).await
}

/// The records API as one access token sees it, keeping the calls a test names for one insta
/// snapshot of (label, status, redacted body).
pub struct RecordsApi<'a> {
    server: &'a TestServer,
    token: String,
    calls: Vec<Value>,
}

impl<'a> RecordsApi<'a> {
    pub fn new(server: &'a TestServer, token: &str) -> Self {
        RecordsApi {
            server,
            token: token.to_owned(),
            calls: Vec::new(),
        }
    }

    /// One call, not recorded.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        bigin(self.server, method, path, &self.token, body).await
    }

    /// One call, recorded under `label`; its status is checked by the snapshot alone.
    pub async fn record(
        &mut self,
        label: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let (status, body) = self.call(method, path, body).await;
        self.push(label, status, &body);
        body
    }

    /// One call that must answer `expected_status`, recorded under `label`.
    pub async fn expect(
        &mut self,
        label: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        expected_status: StatusCode,
    ) -> Value {
        let (status, body) = self.call(method, path, body).await;
        assert_eq!(status, expected_status, "{label}: {body}");
        self.push(label, status, &body);
        body
    }

    /// Records a call the test made another way (without a token, or with a raw body).
    pub fn push(&mut self, label: &str, status: StatusCode, body: &Value) {
        self.calls.push(entry(label, status, body));
    }

    /// Every recorded call, in order, for `insta::assert_json_snapshot!`.
    pub fn snapshot(&self) -> Value {
        Value::Array(self.calls.clone())
    }
}

/// Status and redacted body, as one snapshot entry.
pub fn entry(label: &str, status: StatusCode, body: &Value) -> Value {
    json!({ "call": label, "status": status.as_u16(), "body": redact(body) })
}

/// Replaces record and user ids (numeric strings of 16+ digits), times, tokens and emails.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let redacted = match (key.as_str(), value) {
                        ("email" | "primary_email", Value::String(_)) => json!("[email]"),
                        (
                            "access_token" | "refresh_token" | "next_page_token",
                            Value::String(_),
                        ) => {
                            json!("[token]")
                        }
                        ("company_name", Value::String(_)) => json!("[organization]"),
                        ("domain_name", Value::String(_)) => json!("[domain]"),
                        ("api_domain", Value::String(_)) => json!("[base url]"),
                        _ => redact(value),
                    };
                    (key.clone(), redacted)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::String(text) => {
            if text.len() >= 16 && text.bytes().all(|byte| byte.is_ascii_digit()) {
                json!("[id]")
            } else if is_time(text) {
                json!("[time]")
            } else {
                value.clone()
            }
        }
        other => other.clone(),
    }
}

fn is_time(text: &str) -> bool {
    text.len() == 25 && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}
