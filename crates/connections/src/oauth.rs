//! The OAuth 2 protocol client: authorize URLs, code exchange, refresh, client credentials and
//! revocation (RFC 6749, 7636, 7009), with the quirks real services have (Zoho answers errors
//! with HTTP 200, comma scope separators, `expires_in` as a string, revocation by query).
//!
//! Nothing here logs a request or response body: token endpoints carry secrets both ways.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Map, Value};
use trestle_outbound::{EgressPolicy, HostResolver, SystemResolver};
use url::Url;

use crate::secret::Secret;

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthentication {
    /// `Authorization: Basic base64(client_id:client_secret)`.
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Body,
    /// Public client: only `client_id` in the body.
    None,
}

/// Where a revocation request carries the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationTokenPlacement {
    /// Form body (RFC 7009).
    Form,
    /// Query string (Zoho: `POST …/oauth/v2/token/revoke?token=…`).
    Query,
    /// JSON body.
    Json,
    /// Already inside the URL (rendered by the caller).
    Url,
    /// `Authorization: Bearer <token>`.
    BearerHeader,
}

/// A resolved revocation request.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub method: reqwest::Method,
    pub url: Url,
    pub token_in: RevocationTokenPlacement,
    pub parameter: String,
    pub send_token_type_hint: bool,
    /// `None`: no client credentials on the revocation request.
    pub client_authentication: Option<ClientAuthentication>,
}

/// Everything needed to talk to one service's token endpoint for one connection, with every
/// template already resolved.
#[derive(Debug, Clone)]
pub struct TokenEndpoint {
    pub service_key: String,
    pub token_url: Url,
    pub refresh_url: Url,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub client_authentication: ClientAuthentication,
    pub scope_separator: String,
    pub token_params: Vec<(String, String)>,
    pub refresh_params: Vec<(String, String)>,
    /// Extra headers on token and refresh requests.
    pub token_request_headers: Vec<(String, String)>,
    /// Lifetime fields in order of preference (Zoho: `expires_in_sec` before `expires_in`).
    pub expires_in_fields: Vec<String>,
}

/// A successful token response. `extra` holds every other top-level field (for values the
/// service declares, such as Zoho's `api_domain` or Salesforce's `instance_url`); the ID token
/// is dropped.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_in_seconds: Option<i64>,
    pub scope: Option<String>,
    pub token_type: Option<String>,
    pub extra: Map<String, Value>,
}

/// Why a token request failed, classified for the lifecycle: only `InvalidGrant` means the
/// connection itself is dead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenFailure {
    InvalidGrant {
        error: String,
        description: Option<String>,
    },
    InvalidClient {
        error: String,
    },
    Rejected {
        error: String,
        description: Option<String>,
    },
    Transient {
        detail: String,
    },
    InvalidResponse {
        detail: String,
    },
    /// The egress guard refused the endpoint's host; nothing was sent.
    EgressRefused {
        host: String,
        reason: String,
    },
}

impl TokenFailure {
    pub fn into_connection_error(self, service_key: &str) -> crate::ConnectionError {
        let service_key = service_key.to_string();
        match self {
            Self::InvalidGrant { error, description } => crate::ConnectionError::InvalidGrant {
                service_key,
                error,
                description,
            },
            Self::InvalidClient { error } => {
                crate::ConnectionError::InvalidClient { service_key, error }
            }
            Self::Rejected { error, description } => crate::ConnectionError::TokenRequestRejected {
                service_key,
                error,
                description,
            },
            Self::Transient { detail } => crate::ConnectionError::TokenEndpointUnavailable {
                service_key,
                detail,
            },
            Self::InvalidResponse { detail } => crate::ConnectionError::TokenResponseInvalid {
                service_key,
                detail,
            },
            Self::EgressRefused { host, reason } => crate::ConnectionError::EgressRefused {
                service_key,
                host,
                reason,
            },
        }
    }
}

/// Builds the URL the user's browser is sent to.
pub struct AuthorizeRequest<'a> {
    pub authorize_url: &'a Url,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a [String],
    pub scope_separator: &'a str,
    pub state: &'a str,
    pub code_challenge: Option<&'a str>,
    pub extra_params: &'a [(String, String)],
}

pub fn authorize_url(request: &AuthorizeRequest<'_>) -> Url {
    let mut url = request.authorize_url.clone();
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("response_type", "code");
        query.append_pair("client_id", request.client_id);
        query.append_pair("redirect_uri", request.redirect_uri);
        if !request.scopes.is_empty() {
            query.append_pair("scope", &request.scopes.join(request.scope_separator));
        }
        query.append_pair("state", request.state);
        if let Some(challenge) = request.code_challenge {
            query.append_pair("code_challenge", challenge);
            query.append_pair("code_challenge_method", "S256");
        }
        for (name, value) in request.extra_params {
            query.append_pair(name, value);
        }
    }
    url
}

/// Splits a granted-scope string on any separator a service uses (space, comma, plus).
pub fn split_scopes(scope: &str) -> Vec<String> {
    scope
        .split([' ', ',', '+'])
        .filter(|part| !part.is_empty())
        .map(str::to_string)
        .collect()
}

/// Talks to token endpoints. Never follows redirects: a token request carries the client secret.
///
/// Always built behind the egress guard ([`TokenClient::guarded`]): every request passes the
/// same SSRF guard as the outbound engine (a developer's custom service cannot point its token
/// URL at a metadata service or a private address). There is no unguarded constructor; tests
/// against loopback stand-ins open loopback with `egress.allow`, as an operator would.
#[derive(Debug, Clone)]
pub struct TokenClient {
    http: reqwest::Client,
    egress: EgressPolicy,
}

/// Whole-request limit of token, revocation and verification requests.
const TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

impl TokenClient {
    /// A client behind the egress guard: `policy` is the operator's `egress.allow` (the same
    /// value the outbound engine gets), `resolver` looks host names up (the system resolver
    /// outside tests). No redirects, no proxy from the environment, a 15 s timeout.
    pub fn guarded(
        policy: EgressPolicy,
        resolver: Arc<dyn HostResolver>,
    ) -> Result<Self, crate::ConnectionError> {
        let http =
            trestle_outbound::guarded_http_client(policy.clone(), resolver, TOKEN_REQUEST_TIMEOUT)
                .map_err(|error| crate::ConnectionError::Storage {
                    code: "HTTP_CLIENT_UNAVAILABLE",
                    message: format!("cannot build the HTTP client for token requests: {error}"),
                })?;
        Ok(Self {
            http,
            egress: policy,
        })
    }

    /// [`TokenClient::guarded`] with the system resolver.
    pub fn with_egress_policy(policy: EgressPolicy) -> Result<Self, crate::ConnectionError> {
        Self::guarded(policy, Arc::new(SystemResolver))
    }

    /// The client's HTTP client, for the connection manager's own requests (OAuth 1
    /// credentials, verification). Run [`TokenClient::check_destination`] on each URL first:
    /// the client checks host names when it resolves them, never IP-literal hosts.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Refuses a URL the egress guard does not let this client reach (scheme, IP-literal host
    /// in a blocked range, metadata host name). Names resolving to blocked addresses are
    /// refused when the request connects.
    pub fn check_destination(
        &self,
        url: &Url,
        service_key: &str,
    ) -> Result<(), crate::ConnectionError> {
        self.egress_check(url)
            .map_err(|failure| failure.into_connection_error(service_key))
    }

    /// The error for a failed request of [`TokenClient::http`]: an egress refusal when the
    /// guard refused the resolved address, otherwise `None` (the caller describes the failure).
    pub fn egress_refusal(
        error: &reqwest::Error,
        service_key: &str,
    ) -> Option<crate::ConnectionError> {
        match transport_failure(error) {
            failure @ TokenFailure::EgressRefused { .. } => {
                Some(failure.into_connection_error(service_key))
            }
            _ => None,
        }
    }

    fn egress_check(&self, url: &Url) -> Result<(), TokenFailure> {
        trestle_outbound::check_destination(&self.egress, url).map_err(|refusal| {
            TokenFailure::EgressRefused {
                host: url.host_str().unwrap_or_default().to_string(),
                reason: refusal.to_string(),
            }
        })
    }

    pub async fn exchange_code(
        &self,
        endpoint: &TokenEndpoint,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<TokenResponse, TokenFailure> {
        let mut form = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), code.to_string()),
            ("redirect_uri".to_string(), redirect_uri.to_string()),
        ];
        if let Some(verifier) = code_verifier {
            form.push(("code_verifier".to_string(), verifier.to_string()));
        }
        form.extend(endpoint.token_params.iter().cloned());
        self.token_request(endpoint, &endpoint.token_url, form)
            .await
    }

    pub async fn refresh(
        &self,
        endpoint: &TokenEndpoint,
        refresh_token: &Secret,
    ) -> Result<TokenResponse, TokenFailure> {
        let mut form = vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            (
                "refresh_token".to_string(),
                refresh_token.expose().to_string(),
            ),
        ];
        form.extend(endpoint.refresh_params.iter().cloned());
        self.token_request(endpoint, &endpoint.refresh_url, form)
            .await
    }

    pub async fn client_credentials(
        &self,
        endpoint: &TokenEndpoint,
        scopes: &[String],
    ) -> Result<TokenResponse, TokenFailure> {
        let mut form = vec![("grant_type".to_string(), "client_credentials".to_string())];
        if !scopes.is_empty() {
            form.push(("scope".to_string(), scopes.join(&endpoint.scope_separator)));
        }
        form.extend(endpoint.token_params.iter().cloned());
        self.token_request(endpoint, &endpoint.token_url, form)
            .await
    }

    /// Revokes a token. RFC 7009 servers answer 200 even for unknown tokens.
    pub async fn revoke(
        &self,
        endpoint: &TokenEndpoint,
        revocation: &Revocation,
        token: &Secret,
        token_type_hint: &str,
    ) -> Result<(), TokenFailure> {
        let mut url = revocation.url.clone();
        if revocation.token_in == RevocationTokenPlacement::Query {
            url.query_pairs_mut()
                .append_pair(&revocation.parameter, token.expose());
        }
        self.egress_check(&url)?;
        let mut request = self.http.request(revocation.method.clone(), url);
        let mut form: Vec<(String, String)> = Vec::new();
        if revocation.token_in == RevocationTokenPlacement::Form {
            form.push((revocation.parameter.clone(), token.expose().to_string()));
        }
        if revocation.send_token_type_hint {
            form.push(("token_type_hint".to_string(), token_type_hint.to_string()));
        }
        if let Some(authentication) = revocation.client_authentication {
            let mut endpoint = endpoint.clone();
            endpoint.client_authentication = authentication;
            request = self.authenticate(&endpoint, request, &mut form);
        }
        request = match revocation.token_in {
            RevocationTokenPlacement::Json => {
                let mut body = Map::new();
                body.insert(
                    revocation.parameter.clone(),
                    Value::String(token.expose().to_string()),
                );
                for (name, value) in &form {
                    body.insert(name.clone(), Value::String(value.clone()));
                }
                request.json(&Value::Object(body))
            }
            RevocationTokenPlacement::BearerHeader => {
                let request = request.bearer_auth(token.expose());
                if form.is_empty() {
                    request
                } else {
                    request.form(&form)
                }
            }
            _ if form.is_empty() => request,
            _ => request.form(&form),
        };
        let response = request
            .send()
            .await
            .map_err(|error| transport_failure(&error))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| transport_failure(&error))?;
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(TokenFailure::Transient {
                detail: format!("revocation endpoint answered HTTP {}", status.as_u16()),
            });
        }
        if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&body)
            && let Some(error) = object.get("error").and_then(Value::as_str)
        {
            return Err(classify_error(error, description_of(&object), status));
        }
        if !status.is_success() {
            return Err(TokenFailure::Rejected {
                error: format!("HTTP {}", status.as_u16()),
                description: None,
            });
        }
        Ok(())
    }

    fn authenticate(
        &self,
        endpoint: &TokenEndpoint,
        request: reqwest::RequestBuilder,
        form: &mut Vec<(String, String)>,
    ) -> reqwest::RequestBuilder {
        match (endpoint.client_authentication, &endpoint.client_secret) {
            (ClientAuthentication::Basic, Some(secret)) => {
                // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
                let user = form_urlencode(&endpoint.client_id);
                let password = form_urlencode(secret.expose());
                request.basic_auth(user, Some(password))
            }
            (ClientAuthentication::Body, Some(secret)) => {
                form.push(("client_id".to_string(), endpoint.client_id.clone()));
                form.push(("client_secret".to_string(), secret.expose().to_string()));
                request
            }
            _ => {
                form.push(("client_id".to_string(), endpoint.client_id.clone()));
                request
            }
        }
    }

    async fn token_request(
        &self,
        endpoint: &TokenEndpoint,
        url: &Url,
        mut form: Vec<(String, String)>,
    ) -> Result<TokenResponse, TokenFailure> {
        self.egress_check(url)?;
        let mut request = self
            .http
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &endpoint.token_request_headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = self.authenticate(endpoint, request, &mut form);
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|error| transport_failure(&error))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = response
            .bytes()
            .await
            .map_err(|error| transport_failure(&error))?;
        parse_token_response(status, &content_type, &body, &endpoint.expires_in_fields)
    }
}

/// Classifies a token endpoint answer. Public for the unit tests of quirky services.
pub fn parse_token_response(
    status: StatusCode,
    content_type: &str,
    body: &[u8],
    expires_in_fields: &[String],
) -> Result<TokenResponse, TokenFailure> {
    let object = parse_body(content_type, body);
    // An `error` member wins whatever the status: Zoho reports `invalid_code` with HTTP 200.
    if let Some(object) = &object
        && let Some(error) = object.get("error").and_then(Value::as_str)
    {
        if status.is_server_error() {
            return Err(TokenFailure::Transient {
                detail: format!("HTTP {} ({error})", status.as_u16()),
            });
        }
        return Err(classify_error(error, description_of(object), status));
    }
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        return Err(TokenFailure::Transient {
            detail: format!("token endpoint answered HTTP {}", status.as_u16()),
        });
    }
    if !status.is_success() {
        return Err(TokenFailure::Rejected {
            error: format!("HTTP {}", status.as_u16()),
            description: None,
        });
    }
    let Some(mut object) = object else {
        let text = String::from_utf8_lossy(body).to_ascii_lowercase();
        if text.contains("access denied") {
            // Zoho's throttling answer: HTTP 200 with an "Access Denied" page.
            return Err(TokenFailure::Transient {
                detail: "the service is throttling token requests".to_string(),
            });
        }
        return Err(TokenFailure::InvalidResponse {
            detail: "the body is neither JSON nor a form".to_string(),
        });
    };
    let access_token = match object.remove("access_token") {
        Some(Value::String(token)) if !token.is_empty() => Secret::new(token),
        _ => {
            return Err(TokenFailure::InvalidResponse {
                detail: "`access_token` is missing".to_string(),
            });
        }
    };
    let refresh_token = match object.remove("refresh_token") {
        Some(Value::String(token)) if !token.is_empty() => Some(Secret::new(token)),
        _ => None,
    };
    let default_fields = ["expires_in".to_string()];
    let fields = if expires_in_fields.is_empty() {
        &default_fields[..]
    } else {
        expires_in_fields
    };
    let expires_in_seconds = fields.iter().find_map(|field| match object.get(field) {
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|seconds| seconds as i64)),
        Some(Value::String(text)) => text.trim().parse::<i64>().ok(),
        _ => None,
    });
    object.remove("expires_in");
    let scope = match object.remove("scope") {
        Some(Value::String(scope)) => Some(scope),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    };
    let token_type = match object.remove("token_type") {
        Some(Value::String(token_type)) => Some(token_type),
        _ => None,
    };
    object.remove("id_token");
    Ok(TokenResponse {
        access_token,
        refresh_token,
        expires_in_seconds,
        scope,
        token_type,
        extra: object,
    })
}

fn parse_body(content_type: &str, body: &[u8]) -> Option<Map<String, Value>> {
    if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
        return Some(object);
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let object: Map<String, Value> = url::form_urlencoded::parse(body)
            .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
            .collect();
        if !object.is_empty() {
            return Some(object);
        }
    }
    None
}

fn description_of(object: &Map<String, Value>) -> Option<String> {
    object
        .get("error_description")
        .and_then(Value::as_str)
        .map(|text| {
            let mut text = text.to_string();
            text.truncate(300);
            text
        })
}

fn classify_error(error: &str, description: Option<String>, status: StatusCode) -> TokenFailure {
    match error {
        // `invalid_code` is Zoho's name for an expired, used or revoked code or refresh token.
        "invalid_grant" | "invalid_code" | "invalid_refresh_token" => TokenFailure::InvalidGrant {
            error: error.to_string(),
            description,
        },
        "invalid_client" | "unauthorized_client" => TokenFailure::InvalidClient {
            error: error.to_string(),
        },
        "temporarily_unavailable" | "server_error" | "slow_down" => TokenFailure::Transient {
            detail: format!("the service answered `{error}`"),
        },
        // At a token endpoint `access_denied` with HTTP 200 is Zoho's throttling signal.
        "access_denied" if status == StatusCode::OK => TokenFailure::Transient {
            detail: "the service is throttling token requests (access_denied)".to_string(),
        },
        _ => TokenFailure::Rejected {
            error: error.chars().take(100).collect(),
            description,
        },
    }
}

fn transport_failure(error: &reqwest::Error) -> TokenFailure {
    // The guarded client's resolver refuses names that resolve to blocked addresses; its
    // error travels in the source chain. Its text names host and address, never the URL.
    if let Some(refusal) = trestle_outbound::egress_refusal_in(error) {
        return match refusal {
            trestle_outbound::OutboundError::EgressAddressBlocked { host, .. }
            | trestle_outbound::OutboundError::EgressHostBlocked { host, .. } => {
                TokenFailure::EgressRefused {
                    host: host.clone(),
                    reason: refusal.to_string(),
                }
            }
            other => TokenFailure::Transient {
                detail: other.to_string(),
            },
        };
    }
    // The reqwest error's Display includes the URL, which never carries a secret here
    // (revocation by query is the exception, so the URL is stripped).
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "the response body could not be read"
    } else {
        "request failed"
    };
    TokenFailure::Transient {
        detail: kind.to_string(),
    }
}

fn form_urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: u16, body: &str) -> Result<TokenResponse, TokenFailure> {
        parse_token_response(
            StatusCode::from_u16(status).unwrap(),
            "application/json",
            body.as_bytes(),
            &[],
        )
    }

    #[test]
    fn zoho_errors_with_http_200_are_errors() {
        assert_eq!(
            parse(200, r#"{"error":"invalid_code"}"#).unwrap_err(),
            TokenFailure::InvalidGrant {
                error: "invalid_code".into(),
                description: None
            }
        );
        assert_eq!(
            parse(200, r#"{"error":"invalid_client"}"#).unwrap_err(),
            TokenFailure::InvalidClient {
                error: "invalid_client".into()
            }
        );
        assert!(matches!(
            parse(200, r#"{"error":"access_denied"}"#).unwrap_err(),
            TokenFailure::Transient { .. }
        ));
        let throttled = parse_token_response(
            StatusCode::OK,
            "text/html",
            b"<html>Access Denied</html>",
            &[],
        );
        assert!(matches!(
            throttled.unwrap_err(),
            TokenFailure::Transient { .. }
        ));
    }

    #[test]
    fn server_errors_are_transient_and_client_errors_are_not() {
        assert!(matches!(
            parse(503, "oops").unwrap_err(),
            TokenFailure::Transient { .. }
        ));
        assert!(matches!(
            parse(500, r#"{"error":"invalid_grant"}"#).unwrap_err(),
            TokenFailure::Transient { .. }
        ));
        assert!(matches!(
            parse(429, "").unwrap_err(),
            TokenFailure::Transient { .. }
        ));
        assert!(matches!(
            parse(
                400,
                r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#
            )
            .unwrap_err(),
            TokenFailure::InvalidGrant { .. }
        ));
        assert!(matches!(
            parse(401, "").unwrap_err(),
            TokenFailure::Rejected { .. }
        ));
    }

    #[test]
    fn successful_response_keeps_declared_extras_and_drops_secrets_from_extra() {
        let response = parse(
            200,
            r#"{"access_token":"1000.at","refresh_token":"1000.rt","api_domain":"https://www.zohoapis.eu","token_type":"Bearer","expires_in":"3600","id_token":"x.y.z","scope":"ZohoBooks.fullaccess.all,ZohoBigin.modules.ALL"}"#,
        )
        .unwrap();
        assert_eq!(response.access_token.expose(), "1000.at");
        assert_eq!(response.refresh_token.as_ref().unwrap().expose(), "1000.rt");
        assert_eq!(response.expires_in_seconds, Some(3600));
        assert_eq!(
            response.extra.get("api_domain").unwrap(),
            "https://www.zohoapis.eu"
        );
        assert!(!response.extra.contains_key("id_token"));
        assert!(!response.extra.contains_key("access_token"));
        assert_eq!(
            split_scopes(response.scope.as_deref().unwrap()),
            vec!["ZohoBooks.fullaccess.all", "ZohoBigin.modules.ALL"]
        );
    }

    #[test]
    fn authorize_url_joins_scopes_with_the_service_separator() {
        let base = Url::parse("https://accounts.zoho.com/oauth/v2/auth").unwrap();
        let scopes = vec![
            "ZohoBigin.modules.ALL".to_string(),
            "ZohoBooks.fullaccess.all".to_string(),
        ];
        let extra = vec![("access_type".to_string(), "offline".to_string())];
        let url = authorize_url(&AuthorizeRequest {
            authorize_url: &base,
            client_id: "1000.abc",
            redirect_uri: "https://trestle.example/api/v1/oauth/callback/zoho_books",
            scopes: &scopes,
            scope_separator: ",",
            state: "st",
            code_challenge: Some("ch"),
            extra_params: &extra,
        });
        let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs["scope"],
            "ZohoBigin.modules.ALL,ZohoBooks.fullaccess.all"
        );
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(pairs["access_type"], "offline");
        assert_eq!(pairs["response_type"], "code");
    }
}
