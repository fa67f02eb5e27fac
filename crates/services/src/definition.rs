//! The service definition schema. A definition is data: the built-in catalog is a folder of TOML
//! files in this shape, and custom services are validated into the same shape. Unknown fields are
//! rejected everywhere, so a typo in a catalog file fails the catalog test instead of being
//! silently ignored.
//!
//! # Templates
//!
//! URL and header fields are templates: `{name}` is replaced by a variable, `{{` and `}}` are
//! literal braces. Variables come from, in increasing precedence:
//! 1. per-connection settings (`[[settings]]`, e.g. `subdomain`),
//! 2. values derived from the chosen option of a choice setting (e.g. the data centre option
//!    `eu` derives `accounts_server = "https://accounts.zoho.eu"`),
//! 3. values captured during authorization (`[[captured]]`: from the OAuth callback, such as
//!    Zoho's `accounts-server`, or from the token response, such as `api_domain`).
//!
//! Credential placeholders (`{access_token}`, `{api_key}`, `{username}`, ... every name in
//! [`ServiceDefinition::credential_names`]) are left in place by
//! [`ServiceDefinition::resolve`](crate::ServiceDefinition::resolve) and filled only when a
//! request is sent, by [`ResolvedService::render_credentials`](crate::ResolvedService::render_credentials).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One service: how to obtain a credential, where it may be sent, how it is attached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceDefinition {
    /// Stable key (service link name): lower-case letter first, then `[a-z0-9_]`, at most 50.
    pub key: String,
    /// Name shown to people.
    pub display_name: String,
    /// Grouping for the console (crm, accounting, storage, ...).
    pub category: String,
    /// Where this definition comes from. Catalog files leave it out (it defaults to `builtin`);
    /// custom services are `custom`.
    #[serde(default)]
    pub origin: ServiceOrigin,
    /// How a connection to this service is authorized.
    pub auth_type: AuthType,
    /// Link to the provider's API documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    /// OAuth 2 endpoints and behaviour (required for both OAuth 2 auth types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2Definition>,
    /// OAuth 1.0a endpoints (required for `oauth1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth1: Option<OAuth1Definition>,
    /// Secrets (and non-secret identifiers such as a username or account SID) a person enters to
    /// authorize an `api_key`, `basic` or `bearer` connection. Stored in the vault, never in the
    /// definition. OAuth services need none: their client id and secret are app credentials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_fields: Vec<CredentialField>,
    /// Scopes the console offers, with display names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<ScopeDefinition>,
    /// How requested scopes are joined into the `scope` parameter.
    #[serde(default)]
    pub scope_separator: ScopeSeparator,
    /// How the credential is attached to API requests (one or more placements).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_placement: Vec<CredentialPlacement>,
    /// Fixed headers sent with every API request (e.g. `Notion-Version`). A header whose template
    /// refers to an optional setting that is not set is left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub companion_headers: Vec<HeaderTemplate>,
    /// Base URL of the API (template), used by the proxy and the console's "test" button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base_url: Option<String>,
    /// Hosts a credential of this service may be sent to. Each entry is a host name or URL
    /// template; a URL contributes its host. No wildcards: a variable host is bound to a validated
    /// setting or captured value (`{subdomain}.zendesk.com`, `{api_domain}`).
    pub allowed_hosts: Vec<String>,
    /// Per-connection settings (data centre, subdomain, instance URL, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<SettingDefinition>,
    /// Values copied from the OAuth callback or token response into the templates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captured: Vec<CapturedValue>,
    /// Request that checks an entered key/password before the connection is saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationRequest>,
    /// Hosts are chosen by the person creating a connection or custom service (a store URL, a
    /// self-managed instance): outbound requests must pass the SSRF guard (no private, loopback
    /// or link-local addresses after DNS resolution).
    #[serde(default)]
    pub user_supplied_hosts: bool,
    /// Template variables fixed by the operator for one environment (see
    /// [`crate::OperatorOverrides`]); never part of a stored or shown definition.
    #[serde(skip)]
    pub operator_variables: BTreeMap<String, String>,
}

/// Whether a definition ships with Trestle or was created by a developer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceOrigin {
    /// Part of the built-in catalog.
    #[default]
    Builtin,
    /// Created through the API or CLI.
    Custom,
}

/// Authentication type of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    /// OAuth 2 authorization code grant (with PKCE unless disabled).
    #[serde(rename = "oauth2_authorization_code")]
    OAuth2AuthorizationCode,
    /// OAuth 2 client credentials grant.
    #[serde(rename = "oauth2_client_credentials")]
    OAuth2ClientCredentials,
    /// OAuth 1.0a (three-legged, HMAC-SHA1 signatures).
    #[serde(rename = "oauth1")]
    OAuth1,
    /// One or more API key parameters.
    ApiKey,
    /// HTTP Basic authentication.
    Basic,
    /// A static bearer token entered by a person.
    Bearer,
    /// No authentication.
    None,
}

impl AuthType {
    /// Stable snake_case name, as written in definitions.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::OAuth2AuthorizationCode => "oauth2_authorization_code",
            AuthType::OAuth2ClientCredentials => "oauth2_client_credentials",
            AuthType::OAuth1 => "oauth1",
            AuthType::ApiKey => "api_key",
            AuthType::Basic => "basic",
            AuthType::Bearer => "bearer",
            AuthType::None => "none",
        }
    }

    /// True for both OAuth 2 grant types.
    pub fn is_oauth2(self) -> bool {
        matches!(
            self,
            AuthType::OAuth2AuthorizationCode | AuthType::OAuth2ClientCredentials
        )
    }

    /// True for types whose secret a person types in (key, basic, bearer).
    pub fn is_entered_secret(self) -> bool {
        matches!(self, AuthType::ApiKey | AuthType::Basic | AuthType::Bearer)
    }
}

/// OAuth 2 endpoints and provider behaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Definition {
    /// Authorization endpoint (template). Required for the authorization code grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    /// Token endpoint (template).
    pub token_url: String,
    /// Refresh endpoint when it differs from the token endpoint (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_url: Option<String>,
    /// Revocation request, if the provider has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<RevokeRequest>,
    /// Extra parameters on the authorize URL (e.g. Zoho `access_type=offline`, `prompt=consent`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorize_parameters: BTreeMap<String, String>,
    /// Extra parameters in token requests (code exchange and client credentials).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_parameters: BTreeMap<String, String>,
    /// Extra parameters in refresh requests.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refresh_parameters: BTreeMap<String, String>,
    /// Extra headers on token and refresh requests (e.g. GitHub needs `Accept: application/json`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_request_headers: BTreeMap<String, String>,
    /// How the client authenticates at the token endpoint.
    #[serde(default)]
    pub client_authentication: ClientAuthentication,
    /// Body encoding of token and refresh requests: form (RFC 6749) or JSON (Notion, Square).
    #[serde(default)]
    pub token_request_format: TokenRequestFormat,
    /// PKCE (S256) in the authorization code flow. On by default; set false only for providers
    /// that reject the parameters.
    #[serde(default = "default_true")]
    pub pkce: bool,
    /// Whether the provider issues refresh tokens at all (false: tokens do not expire, or the
    /// client credentials grant is simply repeated).
    #[serde(default = "default_true")]
    pub refresh_tokens: bool,
    /// Whether a refresh may return a new refresh token that replaces the old one.
    #[serde(default)]
    pub rotating_refresh_tokens: bool,
    /// Token response quirks.
    #[serde(default)]
    pub token_response: TokenResponseFormat,
}

pub(crate) fn default_true() -> bool {
    true
}

/// How the client id and secret reach the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthentication {
    /// `client_id` and `client_secret` as form fields in the request body.
    #[default]
    Body,
    /// HTTP Basic with the client id and secret (RFC 6749 §2.3.1).
    Basic,
}

/// Body encoding of token requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenRequestFormat {
    /// `application/x-www-form-urlencoded` (RFC 6749).
    #[default]
    Form,
    /// `application/json` with the same parameter names.
    Json,
}

/// Token response quirks of a provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenResponseFormat {
    /// The provider reports errors with HTTP 200 and an `error` field (Zoho:
    /// `{"error":"invalid_code"}`); a 200 response with `error` must be treated as a failure.
    #[serde(default)]
    pub errors_with_success_status: bool,
    /// Lifetime fields in order of preference, in seconds. Zoho's older responses carry
    /// `expires_in_sec` (seconds) next to `expires_in` in milliseconds, so `expires_in_sec` is
    /// listed first for Zoho.
    #[serde(default = "default_expires_in_fields")]
    pub expires_in_fields: Vec<String>,
    /// HTTP statuses from the API that mean "the access token expired": refresh once and retry.
    /// 401 for most; some providers answer 403.
    #[serde(default = "default_expired_token_statuses")]
    pub expired_token_statuses: Vec<u16>,
}

impl Default for TokenResponseFormat {
    fn default() -> Self {
        TokenResponseFormat {
            errors_with_success_status: false,
            expires_in_fields: default_expires_in_fields(),
            expired_token_statuses: default_expired_token_statuses(),
        }
    }
}

fn default_expires_in_fields() -> Vec<String> {
    vec!["expires_in".to_owned()]
}

fn default_expired_token_statuses() -> Vec<u16> {
    vec![401]
}

impl TokenResponseFormat {
    /// The OAuth error code in a token response body (`error` field), whatever the HTTP status.
    /// Callers must check this for 200 responses when `errors_with_success_status` is set.
    pub fn error_code(&self, body: &serde_json::Value) -> Option<String> {
        body.get("error").and_then(|value| match value {
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
    }

    /// Access token lifetime in seconds, from the first lifetime field present. Accepts numbers
    /// and numeric strings (some providers send `"3600"`).
    pub fn expires_in_seconds(&self, body: &serde_json::Value) -> Option<u64> {
        self.expires_in_fields
            .iter()
            .find_map(|field| match body.get(field) {
                Some(serde_json::Value::Number(number)) => number.as_u64().or_else(|| {
                    number
                        .as_f64()
                        .filter(|value| *value >= 0.0)
                        .map(|value| value as u64)
                }),
                Some(serde_json::Value::String(text)) => text.trim().parse::<u64>().ok(),
                _ => None,
            })
    }
}

/// A provider's token revocation request.
///
/// RFC 7009: `method = "POST"`, `token_in = "form"`, `parameter = "token"`,
/// `send_token_type_hint = true`, client authentication as at the token endpoint.
/// Zoho: `POST {accounts_server}/oauth/v2/token/revoke?token=...`: `token_in = "query"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// HTTP method.
    #[serde(default = "default_post")]
    pub method: HttpMethod,
    /// Endpoint (template). With `token_in = "url"` it contains `{token}`; it may contain
    /// `{client_id}` (GitHub).
    pub url: String,
    /// Which token to revoke (revoking the refresh token usually revokes the grant).
    #[serde(default)]
    pub token: RevokedToken,
    /// Where the token goes.
    #[serde(default)]
    pub token_in: RevokeTokenPlacement,
    /// Parameter name for `form`, `query` and `json` placements.
    #[serde(default = "default_token_parameter")]
    pub parameter: String,
    /// Send `token_type_hint` (RFC 7009 §2.1).
    #[serde(default)]
    pub send_token_type_hint: bool,
    /// Client authentication on the revoke request; `none` sends no client credentials.
    #[serde(default)]
    pub client_authentication: RevokeClientAuthentication,
}

fn default_post() -> HttpMethod {
    HttpMethod::Post
}

fn default_token_parameter() -> String {
    "token".to_owned()
}

/// Which token a revoke request carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokedToken {
    /// The refresh token (falls back to the access token when there is none).
    #[default]
    RefreshToken,
    /// The access token.
    AccessToken,
}

/// Where a revoke request carries the token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeTokenPlacement {
    /// Form-encoded body (RFC 7009).
    #[default]
    Form,
    /// Query string (Zoho, Google).
    Query,
    /// JSON body `{ "<parameter>": token }` (GitHub).
    Json,
    /// Inside the URL path via `{token}` (HubSpot legacy).
    Url,
    /// As `Authorization: Bearer <token>` (Dropbox, Smartsheet).
    BearerHeader,
}

/// Client authentication on a revoke request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeClientAuthentication {
    /// Same as the token endpoint's `client_authentication`.
    #[default]
    SameAsTokenEndpoint,
    /// HTTP Basic with client id and secret.
    Basic,
    /// Client id and secret in the body.
    Body,
    /// No client credentials.
    None,
}

/// OAuth 1.0a endpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth1Definition {
    /// Temporary credential (request token) endpoint.
    pub request_token_url: String,
    /// Resource owner authorization endpoint.
    pub authorize_url: String,
    /// Token credential (access token) endpoint.
    pub access_token_url: String,
    /// Signature method (default HMAC-SHA1).
    #[serde(default)]
    pub signature_method: OAuth1SignatureMethod,
    /// Extra parameters on the authorize URL (e.g. Trello `expiration=never`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorize_parameters: BTreeMap<String, String>,
}

/// OAuth 1 signature method (RFC 5849 section 3.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OAuth1SignatureMethod {
    /// HMAC-SHA1 (RFC 5849 section 3.4.2).
    #[default]
    #[serde(rename = "HMAC-SHA1")]
    HmacSha1,
    /// HMAC-SHA256: the HMAC-SHA1 construction with SHA-256, as providers such as NetSuite
    /// and Xero's OAuth 1 API define it.
    #[serde(rename = "HMAC-SHA256")]
    HmacSha256,
    /// PLAINTEXT (RFC 5849 section 3.4.4): the secrets themselves. Sent over https only.
    #[serde(rename = "PLAINTEXT")]
    Plaintext,
}

impl OAuth1SignatureMethod {
    /// The `oauth_signature_method` value.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuth1SignatureMethod::HmacSha1 => "HMAC-SHA1",
            OAuth1SignatureMethod::HmacSha256 => "HMAC-SHA256",
            OAuth1SignatureMethod::Plaintext => "PLAINTEXT",
        }
    }
}

/// A value a person enters to authorize an `api_key`, `basic` or `bearer` connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialField {
    /// Placeholder name used in `credential_placement` templates (`api_key`, `username`, ...).
    pub name: String,
    /// Label in the console.
    pub display_name: String,
    /// Secret values are masked in the console and only ever stored encrypted. Non-secret values
    /// (a username, an account SID) are still stored in the vault but may be shown back.
    #[serde(default = "default_true")]
    pub secret: bool,
}

/// A scope the console offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeDefinition {
    /// Scope string sent to the provider.
    pub name: String,
    /// What it grants, in words.
    pub display_name: String,
    /// Pre-selected when a connection is created.
    #[serde(default)]
    pub default: bool,
}

/// Separator between scopes in the `scope` parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeSeparator {
    /// `a b` (RFC 6749).
    #[default]
    Space,
    /// `a,b` (Zoho, Slack, ...; the default for Zoho custom services).
    Comma,
    /// `a+b`.
    Plus,
}

impl ScopeSeparator {
    /// The separator character.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeSeparator::Space => " ",
            ScopeSeparator::Comma => ",",
            ScopeSeparator::Plus => "+",
        }
    }

    /// Joins scopes, skipping empty ones and duplicates (first occurrence wins).
    ///
    /// With `Plus` the result contains literal `+`; put it into the query without
    /// percent-encoding the `+` if the provider expects a literal plus (a form decoder reads it as
    /// a space, which is what such providers accept).
    pub fn join<S: AsRef<str>>(self, scopes: &[S]) -> String {
        let mut seen: Vec<&str> = Vec::new();
        for scope in scopes {
            let scope = scope.as_ref().trim();
            if !scope.is_empty() && !seen.contains(&scope) {
                seen.push(scope);
            }
        }
        seen.join(self.as_str())
    }

    /// Splits a scope string as returned by a provider. Accepts any of the three separators,
    /// since providers do not always answer in the form they were asked in.
    pub fn split(self, scopes: &str) -> Vec<String> {
        scopes
            .split([' ', ',', '+'])
            .map(str::trim)
            .filter(|scope| !scope.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Where a credential goes on an API request. Value templates may use credential placeholders
/// and settings variables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "in", rename_all = "snake_case", deny_unknown_fields)]
pub enum CredentialPlacement {
    /// A header, e.g. `Authorization: Zoho-oauthtoken {access_token}`.
    Header { name: String, value: String },
    /// A query parameter, e.g. Trello's `key={api_key}`.
    Query { name: String, value: String },
    /// A form field in the request body.
    Form { name: String, value: String },
    /// HTTP Basic from a username and password template (`{api_key}` / `X` for Freshdesk).
    Basic { username: String, password: String },
    /// OAuth 1.0a signature over the request (computed per request by the connections crate).
    #[serde(rename = "oauth1_signature")]
    OAuth1Signature,
}

/// A fixed header sent with every API request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderTemplate {
    /// Header name.
    pub name: String,
    /// Value template (settings variables only, no credentials).
    pub value: String,
}

/// A per-connection setting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingDefinition {
    /// Variable name used in templates.
    pub name: String,
    /// Label in the console.
    pub display_name: String,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Must be set (no default) for the connection to be created.
    #[serde(default)]
    pub required: bool,
    /// Value used when the connection does not set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Regular expression the whole value must match (for free-text settings). Anchored
    /// implicitly: `[a-z0-9-]+` means the entire value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Allowed options; when non-empty the value must be one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<SettingChoice>,
    /// Name of a shared choice set (`catalog/choices/<name>.toml`, e.g. `zoho_data_centres`)
    /// whose options are appended to `choices` when the definition is loaded. Lets every Zoho
    /// service share one data-centre table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices_from: Option<String>,
    /// Example value used by the catalog test (and shown as a placeholder in the console).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// One option of a choice setting, with the template variables it implies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingChoice {
    /// The value stored on the connection.
    pub value: String,
    /// Label in the console.
    pub display_name: String,
    /// Variables this option defines, e.g. `accounts_server`, `api_domain`, `zoho_domain`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub derived: BTreeMap<String, String>,
}

/// A value copied during authorization into the templates.
///
/// # Why every captured value has an allow-list pattern
///
/// A callback's query string is written by whoever sends the browser to the callback URL, and a
/// token response comes from an endpoint that may itself have been chosen by a captured value.
/// If `accounts-server` were copied unchecked, an attacker could send a victim to
/// `/callback?code=...&state=...&accounts-server=https://evil.test`: Trestle would post the
/// authorization code and the **client secret** to the attacker's host, and later every refresh
/// token. An unchecked `api_domain` would send access tokens to any host on every API call. So a
/// captured value is accepted only if it matches `pattern` in full (e.g.
/// `https://accounts\.zoho\.(com|eu|...)`); otherwise capture fails with
/// `SERVICE_CAPTURED_VALUE_REJECTED` and nothing is stored. Values are validated again in
/// `resolve`, because they come back from the database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapturedValue {
    /// Variable name in templates. Naming a setting (e.g. `data_centre`) sets that setting, so
    /// its choice-derived variables follow.
    pub name: String,
    /// Where the value comes from.
    pub source: CaptureSource,
    /// Parameter name in the callback query or field in the token response JSON.
    pub parameter: String,
    /// Regular expression the whole value must match (anchored implicitly). Mandatory.
    pub pattern: String,
    /// Authorization fails when the value is missing.
    #[serde(default)]
    pub required: bool,
    /// Example value for the catalog test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// Source of a captured value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureSource {
    /// Query parameter of the OAuth redirect to the callback.
    Callback,
    /// Field of the token endpoint's JSON response.
    TokenResponse,
}

/// A request that checks entered credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationRequest {
    /// HTTP method.
    #[serde(default = "default_get")]
    pub method: HttpMethod,
    /// URL template (settings variables; the credential is attached as for any API request).
    pub url: String,
    /// Statuses that mean "the credential works".
    #[serde(default = "default_expected_statuses")]
    pub expected_statuses: Vec<u16>,
}

fn default_get() -> HttpMethod {
    HttpMethod::Get
}

fn default_expected_statuses() -> Vec<u16> {
    vec![200]
}

/// HTTP method in definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl HttpMethod {
    /// Upper-case method name.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// Names that are always credential placeholders in templates.
pub const OAUTH_CREDENTIAL_NAMES: &[&str] = &[
    "access_token",
    "refresh_token",
    "client_id",
    "client_secret",
    "token",
];

impl ServiceDefinition {
    /// Every placeholder name filled from the vault at request time rather than by `resolve`:
    /// the OAuth names (for OAuth services) and every `credential_fields` name.
    pub fn credential_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if self.auth_type.is_oauth2() || self.auth_type == AuthType::OAuth1 {
            names.extend(OAUTH_CREDENTIAL_NAMES.iter().map(|name| (*name).to_owned()));
        }
        names.extend(
            self.credential_fields
                .iter()
                .map(|field| field.name.clone()),
        );
        names
    }

    /// Scope names marked `default`.
    pub fn default_scopes(&self) -> Vec<String> {
        self.scopes
            .iter()
            .filter(|scope| scope.default)
            .map(|scope| scope.name.clone())
            .collect()
    }

    /// Joins requested scopes with this service's separator.
    pub fn join_scopes<S: AsRef<str>>(&self, scopes: &[S]) -> String {
        self.scope_separator.join(scopes)
    }
}
