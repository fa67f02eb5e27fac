//! Trestle as the OAuth 2 authorization server of its own Bigin-compatible API, with Zoho
//! accounts' endpoints and quirks:
//!
//! - `GET /oauth/v2/auth`: the consent page. The signed-in console user picks the
//!   organization and environment and submits (`POST /oauth/v2/auth`, CSRF-checked); the
//!   browser then returns to the client with `code`, `state`, `location` and
//!   `accounts-server`, as Zoho's does. Not signed in: a sign-in form on the same page.
//! - `POST /oauth/v2/token`: `authorization_code` (PKCE S256: required for public clients,
//!   verified whenever the authorization request carried a challenge), `refresh_token`,
//!   `client_credentials` (server clients). Parameters are read from the query string and
//!   from an `application/x-www-form-urlencoded` or `multipart/form-data` body (the Node SDK
//!   posts multipart). Errors are HTTP 200 with `{"error":"invalid_code"}` and the like,
//!   exactly as Zoho answers, because Zoho's own SDKs and Trestle's connections expect that.
//! - `POST /oauth/v2/token/revoke?token=`: revokes a refresh token (and its access tokens)
//!   or an access token.
//! - Clients are registered through the management API (`/api/v1/oauth-clients`, see
//!   [`clients`]).

pub mod clients;
mod consent;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use trestle_crm::scopes::GrantedScopes;
use trestle_store::oauth_provider::{ClientType, IssuedTokens, OauthClient, OauthGrant};
use trestle_store::{EnvironmentKind, StoreError};

use crate::bigin::BiginError;
use crate::state::AppState;

/// The authorization server's Zoho-compatible routes (outside the OpenAPI document: they
/// follow Zoho's accounts API, not the management API's conventions). The client management
/// API is [`clients::routes`], part of the document.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth/v2/auth",
            get(consent::show_consent).post(consent::submit_consent),
        )
        .route("/oauth/v2/token", post(token))
        .route("/oauth/v2/token/revoke", post(revoke))
}

/// The base URL clients reach this server at: the configured public URL, else the
/// request's Host (the SDKs call `api_domain` for every later request).
pub fn public_base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host.chars().all(|character| {
                    character.is_ascii_alphanumeric() || ".-:[]".contains(character)
                })
        })
        .map(str::to_owned)
        .unwrap_or_else(|| state.config.listen.to_string());
    let scheme = if crate::auth::request_is_https(&state.config, headers) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// Token endpoint failures, answered as Zoho does: HTTP 200 and `{"error": code}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenError {
    #[error("the grant code or refresh token is invalid, expired or already used")]
    InvalidCode,
    #[error("the client id or secret is wrong")]
    InvalidClient,
    #[error("the redirect_uri does not match the authorization request")]
    InvalidRedirectUri,
    #[error("grant_type must be authorization_code, refresh_token or client_credentials")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidScope(String),
    #[error("the storage is unavailable")]
    Storage,
}

impl TokenError {
    /// The `error` value of the response.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidCode => "invalid_code",
            TokenError::InvalidClient => "invalid_client",
            TokenError::InvalidRedirectUri => "invalid_redirect_uri",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidScope(_) => "invalid_scope",
            TokenError::Storage => "server_error",
        }
    }

    fn into_response(self) -> Response {
        let status = if self == TokenError::Storage {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        crate::bigin::json_body(
            status,
            &json!({ "error": self.code(), "error_description": self.to_string() }),
        )
    }
}

impl From<StoreError> for TokenError {
    fn from(error: StoreError) -> TokenError {
        tracing::error!(error = %error, "OAuth token storage failed");
        TokenError::Storage
    }
}

/// Parameters from the query string and the body, whichever way the client sent them.
#[derive(Debug, Default)]
pub struct TokenParameters(Vec<(String, String)>);

impl TokenParameters {
    pub fn collect(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> TokenParameters {
        let mut pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if content_type
            .to_ascii_lowercase()
            .starts_with("multipart/form-data")
        {
            pairs.extend(parse_multipart(&content_type, body));
        } else {
            pairs.extend(
                url::form_urlencoded::parse(body)
                    .map(|(name, value)| (name.into_owned(), value.into_owned())),
            );
        }
        TokenParameters(
            pairs
                .into_iter()
                .filter(|(name, _)| !name.is_empty())
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    fn require(&self, name: &str) -> Result<&str, TokenError> {
        self.get(name)
            .ok_or_else(|| TokenError::InvalidRequest(format!("the {name} parameter is missing")))
    }
}

/// The text fields of a `multipart/form-data` body (files are not expected here).
fn parse_multipart(content_type: &str, body: &[u8]) -> Vec<(String, String)> {
    let Some(boundary) = content_type.split(';').find_map(|part| {
        part.trim()
            .strip_prefix("boundary=")
            .map(|boundary| boundary.trim_matches('"').to_owned())
    }) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    let mut fields = Vec::new();
    for part in text.split(delimiter.as_str()) {
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let name = head.lines().find_map(|line| {
            let lower = line.to_ascii_lowercase();
            if !lower.starts_with("content-disposition") {
                return None;
            }
            let start = line.find("name=\"")? + "name=\"".len();
            let rest = line.get(start..)?;
            rest.find('"')
                .and_then(|end| rest.get(..end))
                .map(str::to_owned)
        });
        if let Some(name) = name {
            let value = value.strip_suffix("\r\n").unwrap_or(value);
            fields.push((name, value.to_owned()));
        }
    }
    fields
}

async fn token(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parameters = TokenParameters::collect(query.as_deref(), &headers, &body);
    match exchange(&state, &headers, &parameters).await {
        Ok(body) => crate::bigin::json_body(StatusCode::OK, &body),
        Err(error) => error.into_response(),
    }
}

async fn exchange(
    state: &AppState,
    headers: &HeaderMap,
    parameters: &TokenParameters,
) -> Result<Value, TokenError> {
    let grant_type = parameters.require("grant_type")?;
    let client = authenticate_client(state, parameters).await?;
    let api_domain = public_base_url(state, headers);
    match grant_type {
        "authorization_code" => {
            let code = parameters.require("code")?;
            let consumed = state
                .store
                .oauth_provider()
                .consume_grant_code(code, &client.id, chrono::Utc::now())
                .await?
                .ok_or(TokenError::InvalidCode)?;
            if let Some(expected) = &consumed.redirect_uri
                && parameters.get("redirect_uri") != Some(expected.as_str())
            {
                return Err(TokenError::InvalidRedirectUri);
            }
            match (&consumed.code_challenge, parameters.get("code_verifier")) {
                (Some(challenge), Some(verifier)) => {
                    if pkce_challenge(verifier) != *challenge {
                        return Err(TokenError::InvalidCode);
                    }
                }
                (Some(_), None) => {
                    return Err(TokenError::InvalidRequest(
                        "the code_verifier parameter is missing (the authorization used PKCE)"
                            .into(),
                    ));
                }
                (None, _) => {}
            }
            let tokens = state
                .store
                .oauth_provider()
                .issue_tokens(&consumed.grant, true)
                .await?;
            Ok(token_body(&tokens, &consumed.grant, &api_domain))
        }
        "refresh_token" => {
            let refresh_token = parameters.require("refresh_token")?;
            let (grant, tokens) = state
                .store
                .oauth_provider()
                .refresh(refresh_token, &client.id)
                .await?
                .ok_or(TokenError::InvalidCode)?;
            Ok(token_body(&tokens, &grant, &api_domain))
        }
        "client_credentials" => {
            if client.client_type != ClientType::Server {
                return Err(TokenError::InvalidClient);
            }
            let scope_text = parameters.require("scope")?;
            let scopes = GrantedScopes::parse(scope_text)
                .map_err(|error| TokenError::InvalidScope(error.to_string()))?;
            let kind = match parameters.get("environment").unwrap_or("production") {
                "production" => EnvironmentKind::Production,
                "sandbox" => EnvironmentKind::Sandbox,
                _ => {
                    return Err(TokenError::InvalidRequest(
                        "environment must be production or sandbox".into(),
                    ));
                }
            };
            let Some(user_id) = client.created_by else {
                return Err(TokenError::InvalidClient);
            };
            if state
                .store
                .memberships()
                .get(client.organization_id, user_id)
                .await?
                .is_none()
            {
                return Err(TokenError::InvalidClient);
            }
            let environment = state
                .store
                .environments()
                .by_kind(client.organization_id, kind)
                .await?;
            let grant = OauthGrant {
                client_id: client.id.clone(),
                user_id,
                organization_id: client.organization_id,
                environment_id: environment.id,
                scopes: scopes.to_scope_string(),
            };
            let tokens = state
                .store
                .oauth_provider()
                .issue_tokens(&grant, false)
                .await?;
            Ok(token_body(&tokens, &grant, &api_domain))
        }
        _ => Err(TokenError::UnsupportedGrantType),
    }
}

async fn authenticate_client(
    state: &AppState,
    parameters: &TokenParameters,
) -> Result<OauthClient, TokenError> {
    let client_id = parameters.require("client_id")?;
    let client = state
        .store
        .oauth_provider()
        .client(client_id)
        .await?
        .ok_or(TokenError::InvalidClient)?;
    match client.client_type {
        ClientType::Public => {}
        ClientType::Web | ClientType::Server => {
            let secret = parameters.get("client_secret").unwrap_or_default();
            if !state
                .store
                .oauth_provider()
                .client_secret_matches(&client.id, secret)
                .await?
            {
                return Err(TokenError::InvalidClient);
            }
        }
    }
    Ok(client)
}

fn token_body(tokens: &IssuedTokens, grant: &OauthGrant, api_domain: &str) -> Value {
    let mut body = json!({
        "access_token": tokens.access_token.expose(),
        "scope": grant.scopes,
        "api_domain": api_domain,
        "token_type": "Bearer",
        "expires_in": 3600,
    });
    if let Some(refresh) = &tokens.refresh_token {
        body["refresh_token"] = Value::from(refresh.expose());
    }
    body
}

/// `BASE64URL(SHA-256(verifier))`, the S256 PKCE challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

async fn revoke(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parameters = TokenParameters::collect(query.as_deref(), &headers, &body);
    let Some(token) = parameters.get("token") else {
        return TokenError::InvalidRequest("the token parameter is missing".into()).into_response();
    };
    match state.store.oauth_provider().revoke(token).await {
        // Like RFC 7009 and Zoho: unknown tokens are not an error.
        Ok(_) => crate::bigin::json_body(StatusCode::OK, &json!({ "status": "success" })),
        Err(error) => BiginErrorShim::from(error).into_response(),
    }
}

struct BiginErrorShim(BiginError);

impl From<StoreError> for BiginErrorShim {
    fn from(error: StoreError) -> Self {
        BiginErrorShim(BiginError::from(error))
    }
}

impl BiginErrorShim {
    fn into_response(self) -> Response {
        axum::response::IntoResponse::into_response(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn multipart_text_fields_are_read() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nrefresh_token\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\n1000.ABC\r\n--XyZ--\r\n";
        let fields = parse_multipart("multipart/form-data; boundary=XyZ", body.as_bytes());
        assert_eq!(
            fields,
            vec![
                ("grant_type".to_owned(), "refresh_token".to_owned()),
                ("client_id".to_owned(), "1000.ABC".to_owned())
            ]
        );
    }

    #[test]
    fn query_and_form_parameters_merge_with_body_winning() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let parameters = TokenParameters::collect(
            Some("grant_type=refresh_token&client_id=a&"),
            &headers,
            b"client_id=b&refresh_token=r",
        );
        assert_eq!(parameters.get("grant_type"), Some("refresh_token"));
        assert_eq!(parameters.get("client_id"), Some("b"));
        assert_eq!(parameters.get("missing"), None);
    }
}
