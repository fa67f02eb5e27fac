//! Turning a definition plus one connection's settings and captured values into concrete URLs,
//! a host policy and credential placements.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use regex::Regex;
use trestle_vault::SecretString;
use url::Url;

use crate::definition::{
    AuthType, CaptureSource, CapturedValue, ClientAuthentication, CredentialPlacement, HttpMethod,
    OAuth1SignatureMethod, RevokeClientAuthentication, RevokeTokenPlacement, RevokedToken,
    ScopeSeparator, ServiceDefinition, TokenRequestFormat, TokenResponseFormat,
};
use crate::error::ServicesError;
use crate::host_policy::HostPolicy;
use crate::template;

/// Per-connection setting values by setting name.
pub type ConnectionSettings = BTreeMap<String, String>;

/// Values captured during authorization, by captured-value name (not by provider parameter).
/// Produced by [`ServiceDefinition::capture_from_callback`] and
/// [`ServiceDefinition::capture_from_token_response`]; store them with the connection and pass
/// them back to [`ServiceDefinition::resolve`].
pub type CapturedValues = BTreeMap<String, String>;

/// A service resolved for one connection: every URL concrete, the host policy built.
#[derive(Clone, Debug)]
pub struct ResolvedService {
    /// Service key.
    pub key: String,
    /// Auth type.
    pub auth_type: AuthType,
    /// OAuth 2 endpoints, for OAuth 2 services.
    pub oauth2: Option<ResolvedOAuth2>,
    /// OAuth 1 endpoints, for OAuth 1 services.
    pub oauth1: Option<ResolvedOAuth1>,
    /// API base URL.
    pub api_base_url: Option<Url>,
    /// Hosts credentials may be sent to.
    pub host_policy: HostPolicy,
    /// Credential placements; settings are substituted, credential placeholders remain.
    pub credential_placement: Vec<CredentialPlacement>,
    /// Companion headers, fully rendered.
    pub companion_headers: Vec<(String, String)>,
    /// Verification request for key/basic/bearer services.
    pub verification: Option<ResolvedVerification>,
    /// Scope separator.
    pub scope_separator: ScopeSeparator,
    /// Every template variable and its value (settings, choice-derived, captured). None is secret.
    pub variables: BTreeMap<String, String>,
    credential_names: Vec<String>,
}

/// Concrete OAuth 2 endpoints and behaviour.
#[derive(Clone, Debug)]
pub struct ResolvedOAuth2 {
    /// Authorization endpoint (authorization code grant only).
    pub authorize_url: Option<Url>,
    /// Token endpoint.
    pub token_url: Url,
    /// Refresh endpoint (the token endpoint unless the definition names another).
    pub refresh_url: Url,
    /// Revocation request.
    pub revoke: Option<ResolvedRevoke>,
    /// Extra authorize parameters (rendered).
    pub authorize_parameters: BTreeMap<String, String>,
    /// Extra token request parameters (rendered).
    pub token_parameters: BTreeMap<String, String>,
    /// Extra refresh parameters (rendered).
    pub refresh_parameters: BTreeMap<String, String>,
    /// Extra headers on token requests.
    pub token_request_headers: BTreeMap<String, String>,
    /// Client authentication at the token endpoint.
    pub client_authentication: ClientAuthentication,
    /// Body encoding of token and refresh requests.
    pub token_request_format: TokenRequestFormat,
    /// Use PKCE S256.
    pub pkce: bool,
    /// Provider issues refresh tokens.
    pub refresh_tokens: bool,
    /// Refresh may rotate the refresh token.
    pub rotating_refresh_tokens: bool,
    /// Token response quirks.
    pub token_response: TokenResponseFormat,
}

/// A concrete revocation request.
#[derive(Clone, Debug)]
pub struct ResolvedRevoke {
    /// HTTP method.
    pub method: HttpMethod,
    /// URL; contains a `{token}` placeholder only when `token_in` is `Url`.
    pub url_template: String,
    /// Which token to send.
    pub token: RevokedToken,
    /// Where the token goes.
    pub token_in: RevokeTokenPlacement,
    /// Parameter name.
    pub parameter: String,
    /// Send `token_type_hint`.
    pub send_token_type_hint: bool,
    /// Client authentication, with `SameAsTokenEndpoint` already resolved (`None` stays `None`).
    pub client_authentication: RevokeClientAuthentication,
}

impl ResolvedRevoke {
    /// The request URL for `token`. Only `token_in = "url"` puts the token into the URL (path
    /// segment, percent-encoded); for `query` the caller appends `parameter=token`.
    /// Fails with `SERVICE_TEMPLATE_UNRESOLVED` when the URL also needs the client id (GitHub);
    /// use [`ResolvedRevoke::url_for_client`] then.
    pub fn url(&self, token: &SecretString) -> Result<Url, ServicesError> {
        self.build_url(token, None)
    }

    /// The request URL for `token` when the URL contains `{client_id}` (GitHub's
    /// `DELETE /applications/{client_id}/token`). Works for every other revoke URL too.
    pub fn url_for_client(
        &self,
        token: &SecretString,
        client_id: &str,
    ) -> Result<Url, ServicesError> {
        self.build_url(token, Some(client_id))
    }

    fn build_url(
        &self,
        token: &SecretString,
        client_id: Option<&str>,
    ) -> Result<Url, ServicesError> {
        let mut values = BTreeMap::new();
        if let Some(client_id) = client_id {
            let encoded: String =
                url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
            values.insert("client_id".to_owned(), encoded);
        }
        if self.token_in == RevokeTokenPlacement::Url {
            let encoded: String =
                url::form_urlencoded::byte_serialize(token.expose_secret().as_bytes()).collect();
            values.insert("token".to_owned(), encoded);
        }
        let text = template::render(&self.url_template, &values, &|_| false).map_err(|reason| {
            ServicesError::Template {
                field: "oauth2.revoke.url".to_owned(),
                reason,
            }
        })?;
        Url::parse(&text).map_err(|error| ServicesError::InvalidUrl {
            field: "oauth2.revoke.url".to_owned(),
            reason: format!("not a URL: {error}"),
        })
    }
}

/// Concrete OAuth 1 endpoints.
#[derive(Clone, Debug)]
pub struct ResolvedOAuth1 {
    /// Request token endpoint.
    pub request_token_url: Url,
    /// Authorization endpoint.
    pub authorize_url: Url,
    /// Access token endpoint.
    pub access_token_url: Url,
    /// Signature method.
    pub signature_method: OAuth1SignatureMethod,
    /// Extra authorize parameters.
    pub authorize_parameters: BTreeMap<String, String>,
}

/// A concrete verification request.
#[derive(Clone, Debug)]
pub struct ResolvedVerification {
    /// HTTP method.
    pub method: HttpMethod,
    /// URL.
    pub url: Url,
    /// Statuses meaning success.
    pub expected_statuses: Vec<u16>,
}

/// Credentials rendered for one API request. Values are secrets.
#[derive(Clone, Debug, Default)]
pub struct RenderedCredentials {
    /// Headers to set (including `Authorization: Basic ...`).
    pub headers: Vec<(String, SecretString)>,
    /// Query parameters to append.
    pub query: Vec<(String, SecretString)>,
    /// Form fields to add to the body.
    pub form: Vec<(String, SecretString)>,
    /// The request must be signed with OAuth 1.0a by the caller.
    pub oauth1_signature: bool,
}

impl ServiceDefinition {
    /// Validates captured values from the OAuth callback's query parameters. Values the
    /// definition does not declare are ignored; declared ones must match their pattern.
    pub fn capture_from_callback(
        &self,
        query: &[(String, String)],
    ) -> Result<CapturedValues, ServicesError> {
        self.capture(CaptureSource::Callback, &|parameter| {
            query
                .iter()
                .find(|(name, _)| name == parameter)
                .map(|(_, value)| value.clone())
        })
    }

    /// Validates captured values from the token endpoint's JSON response (string fields only).
    pub fn capture_from_token_response(
        &self,
        body: &serde_json::Value,
    ) -> Result<CapturedValues, ServicesError> {
        self.capture(CaptureSource::TokenResponse, &|parameter| {
            body.get(parameter)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        })
    }

    fn capture(
        &self,
        source: CaptureSource,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<CapturedValues, ServicesError> {
        let mut captured = CapturedValues::new();
        for declaration in self
            .captured
            .iter()
            .filter(|declaration| declaration.source == source)
        {
            match lookup(&declaration.parameter) {
                Some(value) => {
                    check_captured(declaration, &value)?;
                    captured.insert(declaration.name.clone(), value);
                }
                None if declaration.required => {
                    return Err(ServicesError::CapturedValueMissing {
                        service: self.key.clone(),
                        parameter: declaration.parameter.clone(),
                        source_name: source_name(source),
                    });
                }
                None => {}
            }
        }
        Ok(captured)
    }

    /// Every variable name a template of this service may use: settings, variables derived from
    /// choices, and captured values.
    pub fn declared_variables(&self) -> std::collections::BTreeSet<String> {
        let mut declared: std::collections::BTreeSet<String> = self
            .settings
            .iter()
            .map(|setting| setting.name.clone())
            .collect();
        for setting in &self.settings {
            for choice in &setting.choices {
                declared.extend(choice.derived.keys().cloned());
            }
        }
        declared.extend(self.captured.iter().map(|captured| captured.name.clone()));
        declared.extend(self.operator_variables.keys().cloned());
        declared
    }

    /// Effective settings: given values validated, defaults filled in. Captured values that name
    /// a setting are applied (after both their own pattern and the setting's rules pass).
    pub fn effective_settings(
        &self,
        settings: &ConnectionSettings,
        captured: &CapturedValues,
    ) -> Result<ConnectionSettings, ServicesError> {
        for name in settings.keys() {
            if !self.settings.iter().any(|setting| &setting.name == name) {
                return Err(ServicesError::UnknownSetting {
                    service: self.key.clone(),
                    setting: name.clone(),
                    known: self
                        .settings
                        .iter()
                        .map(|setting| setting.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        let mut effective = ConnectionSettings::new();
        for setting in &self.settings {
            let value = captured
                .get(&setting.name)
                .or_else(|| {
                    settings
                        .get(&setting.name)
                        .filter(|value| !value.is_empty())
                })
                .or(setting.default.as_ref());
            let Some(value) = value else {
                if setting.required {
                    return Err(ServicesError::MissingSetting {
                        service: self.key.clone(),
                        setting: setting.name.clone(),
                    });
                }
                continue;
            };
            if !setting.choices.is_empty()
                && !setting.choices.iter().any(|choice| &choice.value == value)
            {
                return Err(ServicesError::InvalidSetting {
                    setting: setting.name.clone(),
                    reason: format!(
                        "`{value}` is not one of {}",
                        setting
                            .choices
                            .iter()
                            .map(|choice| choice.value.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            if let Some(pattern) = &setting.pattern
                && !full_match(pattern, value)
            {
                return Err(ServicesError::InvalidSetting {
                    setting: setting.name.clone(),
                    reason: format!("`{value}` does not match the pattern `{pattern}`"),
                });
            }
            effective.insert(setting.name.clone(), value.clone());
        }
        Ok(effective)
    }

    /// Template variables for one connection: settings, then variables derived from chosen
    /// options, then captured values (highest precedence). Captured values are re-validated.
    pub fn variables(
        &self,
        settings: &ConnectionSettings,
        captured: &CapturedValues,
    ) -> Result<BTreeMap<String, String>, ServicesError> {
        // Captured values the operator has since fixed are stale: ignored, not errors.
        let captured: CapturedValues = captured
            .iter()
            .filter(|(name, _)| !self.operator_variables.contains_key(*name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let captured = &captured;
        for (name, value) in captured {
            let declaration = self
                .captured
                .iter()
                .find(|declaration| &declaration.name == name)
                .ok_or_else(|| ServicesError::Template {
                    field: "captured".to_owned(),
                    reason: format!("service `{}` does not capture `{name}`", self.key),
                })?;
            check_captured(declaration, value)?;
        }
        let effective = self.effective_settings(settings, captured)?;
        let mut variables = effective.clone();
        for setting in &self.settings {
            if let Some(value) = effective.get(&setting.name)
                && let Some(choice) = setting.choices.iter().find(|choice| &choice.value == value)
            {
                variables.extend(
                    choice
                        .derived
                        .iter()
                        .map(|(name, value)| (name.clone(), value.clone())),
                );
            }
        }
        for (name, value) in captured {
            variables.insert(name.clone(), value.clone());
        }
        for (name, value) in &self.operator_variables {
            variables.insert(name.clone(), value.clone());
        }
        Ok(variables)
    }

    /// Resolves this service for one connection.
    ///
    /// `settings` are the connection's setting values; `captured` the values captured during its
    /// authorization (empty before the first authorization: the authorize URL is built from
    /// settings and defaults alone). Fails when a required setting is missing or invalid, a
    /// captured value does not match its pattern, a template has an unresolved variable, a URL
    /// is not https (http is accepted only for loopback hosts, for local development and tests),
    /// or the host allow-list is invalid.
    pub fn resolve(
        &self,
        settings: &ConnectionSettings,
        captured: &CapturedValues,
    ) -> Result<ResolvedService, ServicesError> {
        let variables = self.variables(settings, captured)?;
        let declared = self.declared_variables();
        // A template that needs a declared variable with no value yet (a value captured during
        // authorization, an optional setting) is "pending": the API base URL, hosts, headers and
        // verification built from it are left out until the value exists. OAuth endpoints are
        // never pending: they must resolve.
        let is_pending = |text: &str| {
            template::variables(text).is_ok_and(|names| {
                names
                    .iter()
                    .any(|name| !variables.contains_key(name) && declared.contains(name))
            })
        };
        let credential_names = self.credential_names();
        let is_credential =
            |name: &str| credential_names.iter().any(|credential| credential == name);
        let render_text = |field: &str, text: &str| {
            template::render(text, &variables, &|_| false).map_err(|reason| {
                ServicesError::Template {
                    field: field.to_owned(),
                    reason,
                }
            })
        };
        let render_url = |field: &str, text: &str| -> Result<Url, ServicesError> {
            parse_secure_url(field, &render_text(field, text)?)
        };
        let render_map = |field: &str,
                          map: &BTreeMap<String, String>|
         -> Result<BTreeMap<String, String>, ServicesError> {
            map.iter()
                .map(|(name, value)| {
                    Ok((
                        name.clone(),
                        render_text(&format!("{field}.{name}"), value)?,
                    ))
                })
                .collect()
        };

        let oauth2 = match (&self.oauth2, self.auth_type.is_oauth2()) {
            (Some(definition), true) => {
                let authorize_url = match (&definition.authorize_url, self.auth_type) {
                    (Some(text), AuthType::OAuth2AuthorizationCode) => {
                        Some(render_url("oauth2.authorize_url", text)?)
                    }
                    _ => None,
                };
                let token_url = render_url("oauth2.token_url", &definition.token_url)?;
                let refresh_url = match &definition.refresh_url {
                    Some(text) => render_url("oauth2.refresh_url", text)?,
                    None => token_url.clone(),
                };
                let revoke = match &definition.revoke {
                    Some(revoke) => {
                        let keep_token = |name: &str| {
                            (revoke.token_in == RevokeTokenPlacement::Url && name == "token")
                                || name == "client_id"
                        };
                        let url_template = template::render(&revoke.url, &variables, &keep_token)
                            .map_err(|reason| ServicesError::Template {
                            field: "oauth2.revoke.url".to_owned(),
                            reason,
                        })?;
                        let probe = template::render(
                            &url_template,
                            &BTreeMap::from([
                                ("token".to_owned(), "t".to_owned()),
                                ("client_id".to_owned(), "c".to_owned()),
                            ]),
                            &|_| false,
                        )
                        .map_err(|reason| ServicesError::Template {
                            field: "oauth2.revoke.url".to_owned(),
                            reason,
                        })?;
                        parse_secure_url("oauth2.revoke.url", &probe)?;
                        Some(ResolvedRevoke {
                            method: revoke.method,
                            url_template,
                            token: revoke.token,
                            token_in: revoke.token_in,
                            parameter: revoke.parameter.clone(),
                            send_token_type_hint: revoke.send_token_type_hint,
                            client_authentication: match revoke.client_authentication {
                                RevokeClientAuthentication::SameAsTokenEndpoint => match definition
                                    .client_authentication
                                {
                                    ClientAuthentication::Basic => {
                                        RevokeClientAuthentication::Basic
                                    }
                                    ClientAuthentication::Body => RevokeClientAuthentication::Body,
                                },
                                other => other,
                            },
                        })
                    }
                    None => None,
                };
                Some(ResolvedOAuth2 {
                    authorize_url,
                    token_url,
                    refresh_url,
                    revoke,
                    authorize_parameters: render_map(
                        "oauth2.authorize_parameters",
                        &definition.authorize_parameters,
                    )?,
                    token_parameters: render_map(
                        "oauth2.token_parameters",
                        &definition.token_parameters,
                    )?,
                    refresh_parameters: render_map(
                        "oauth2.refresh_parameters",
                        &definition.refresh_parameters,
                    )?,
                    token_request_headers: render_map(
                        "oauth2.token_request_headers",
                        &definition.token_request_headers,
                    )?,
                    client_authentication: definition.client_authentication,
                    token_request_format: definition.token_request_format,
                    pkce: definition.pkce && self.auth_type == AuthType::OAuth2AuthorizationCode,
                    refresh_tokens: definition.refresh_tokens,
                    rotating_refresh_tokens: definition.rotating_refresh_tokens,
                    token_response: definition.token_response.clone(),
                })
            }
            (None, true) => {
                return Err(ServicesError::InvalidDefinition {
                    errors: vec![crate::FieldError::new(
                        "oauth2",
                        "OAuth 2 services need an [oauth2] table",
                    )],
                });
            }
            _ => None,
        };

        let oauth1 = match (&self.oauth1, self.auth_type) {
            (Some(definition), AuthType::OAuth1) => Some(ResolvedOAuth1 {
                request_token_url: render_url(
                    "oauth1.request_token_url",
                    &definition.request_token_url,
                )?,
                authorize_url: render_url("oauth1.authorize_url", &definition.authorize_url)?,
                access_token_url: render_url(
                    "oauth1.access_token_url",
                    &definition.access_token_url,
                )?,
                signature_method: definition.signature_method,
                authorize_parameters: render_map(
                    "oauth1.authorize_parameters",
                    &definition.authorize_parameters,
                )?,
            }),
            (None, AuthType::OAuth1) => {
                return Err(ServicesError::InvalidDefinition {
                    errors: vec![crate::FieldError::new(
                        "oauth1",
                        "OAuth 1 services need an [oauth1] table",
                    )],
                });
            }
            _ => None,
        };

        let api_base_url = match &self.api_base_url {
            Some(text) if !is_pending(text) => Some(render_url("api_base_url", text)?),
            _ => None,
        };

        let mut hosts = Vec::new();
        for (index, entry) in self.allowed_hosts.iter().enumerate() {
            if is_pending(entry) {
                continue;
            }
            let field = format!("allowed_hosts[{index}]");
            let rendered = render_text(&field, entry)?;
            let host = if rendered.contains("://") {
                Url::parse(&rendered)
                    .ok()
                    .and_then(|url| url.host_str().map(str::to_owned))
                    .ok_or_else(|| ServicesError::InvalidUrl {
                        field: field.clone(),
                        reason: format!("`{rendered}` has no host"),
                    })?
            } else {
                rendered
            };
            hosts.push(host);
        }
        let host_policy = HostPolicy::new(&hosts, self.user_supplied_hosts).map_err(|invalid| {
            ServicesError::InvalidUrl {
                field: "allowed_hosts".to_owned(),
                reason: format!("not host names: {}", invalid.join(", ")),
            }
        })?;

        let credential_placement = self
            .credential_placement
            .iter()
            .enumerate()
            .map(|(index, placement)| {
                let field = format!("credential_placement[{index}]");
                let partial = |text: &str| {
                    template::render(text, &variables, &is_credential).map_err(|reason| {
                        ServicesError::Template {
                            field: field.clone(),
                            reason,
                        }
                    })
                };
                Ok(match placement {
                    CredentialPlacement::Header { name, value } => CredentialPlacement::Header {
                        name: name.clone(),
                        value: partial(value)?,
                    },
                    CredentialPlacement::Query { name, value } => CredentialPlacement::Query {
                        name: name.clone(),
                        value: partial(value)?,
                    },
                    CredentialPlacement::Form { name, value } => CredentialPlacement::Form {
                        name: name.clone(),
                        value: partial(value)?,
                    },
                    CredentialPlacement::Basic { username, password } => {
                        CredentialPlacement::Basic {
                            username: partial(username)?,
                            password: partial(password)?,
                        }
                    }
                    CredentialPlacement::OAuth1Signature => CredentialPlacement::OAuth1Signature,
                })
            })
            .collect::<Result<Vec<_>, ServicesError>>()?;

        let mut companion_headers = Vec::new();
        for header in &self.companion_headers {
            // A header built from an optional, unset setting is left out.
            if let Ok(value) = template::render(&header.value, &variables, &|_| false) {
                companion_headers.push((header.name.clone(), value));
            } else {
                template::parse(&header.value).map_err(|reason| ServicesError::Template {
                    field: format!("companion_headers.{}", header.name),
                    reason,
                })?;
            }
        }

        let verification = match &self.verification {
            Some(verification) if is_pending(&verification.url) => None,
            Some(verification) => Some(ResolvedVerification {
                method: verification.method,
                url: render_url("verification.url", &verification.url)?,
                expected_statuses: verification.expected_statuses.clone(),
            }),
            None => None,
        };

        Ok(ResolvedService {
            key: self.key.clone(),
            auth_type: self.auth_type,
            oauth2,
            oauth1,
            api_base_url,
            host_policy,
            credential_placement,
            companion_headers,
            verification,
            scope_separator: self.scope_separator,
            variables,
            credential_names,
        })
    }
}

impl ResolvedService {
    /// Renders the credential placements for one request. `lookup` returns a stored credential
    /// by placeholder name (`access_token`, `api_key`, `username`, ...), decrypted from the
    /// vault. Call this only after checking the request's host with `host_policy`.
    pub fn render_credentials(
        &self,
        lookup: &dyn Fn(&str) -> Option<SecretString>,
    ) -> Result<RenderedCredentials, ServicesError> {
        let mut rendered = RenderedCredentials::default();
        let fill = |text: &str| -> Result<SecretString, ServicesError> {
            let mut values = BTreeMap::new();
            for name in template::variables(text).map_err(|reason| ServicesError::Template {
                field: "credential_placement".to_owned(),
                reason,
            })? {
                if !self.credential_names.contains(&name) {
                    continue;
                }
                let secret = lookup(&name)
                    .ok_or_else(|| ServicesError::CredentialMissing { name: name.clone() })?;
                values.insert(name, secret.expose_secret().to_owned());
            }
            let text = template::render(text, &values, &|_| false).map_err(|reason| {
                ServicesError::Template {
                    field: "credential_placement".to_owned(),
                    reason,
                }
            });
            // The map held plaintext secrets; wipe it by replacing values before drop.
            for value in values.values_mut() {
                zero_string(value);
            }
            text.map(SecretString::new)
        };
        for placement in &self.credential_placement {
            match placement {
                CredentialPlacement::Header { name, value } => {
                    rendered.headers.push((name.clone(), fill(value)?))
                }
                CredentialPlacement::Query { name, value } => {
                    rendered.query.push((name.clone(), fill(value)?))
                }
                CredentialPlacement::Form { name, value } => {
                    rendered.form.push((name.clone(), fill(value)?))
                }
                CredentialPlacement::Basic { username, password } => {
                    let username = fill(username)?;
                    let password = fill(password)?;
                    let mut pair =
                        format!("{}:{}", username.expose_secret(), password.expose_secret());
                    let header =
                        SecretString::new(format!("Basic {}", BASE64.encode(pair.as_bytes())));
                    zero_string(&mut pair);
                    rendered.headers.push(("Authorization".to_owned(), header));
                }
                CredentialPlacement::OAuth1Signature => rendered.oauth1_signature = true,
            }
        }
        Ok(rendered)
    }

    /// Joins scopes with this service's separator.
    pub fn join_scopes<S: AsRef<str>>(&self, scopes: &[S]) -> String {
        self.scope_separator.join(scopes)
    }
}

fn zero_string(text: &mut String) {
    zeroize::Zeroize::zeroize(text);
}

fn source_name(source: CaptureSource) -> &'static str {
    match source {
        CaptureSource::Callback => "authorization callback",
        CaptureSource::TokenResponse => "token response",
    }
}

fn check_captured(declaration: &CapturedValue, value: &str) -> Result<(), ServicesError> {
    if full_match(&declaration.pattern, value) {
        Ok(())
    } else {
        Err(ServicesError::CapturedValueRejected {
            name: declaration.name.clone(),
            parameter: declaration.parameter.clone(),
            source_name: source_name(declaration.source),
        })
    }
}

/// True when `value` matches `pattern` in full. An invalid pattern matches nothing (definitions
/// are validated, so this only protects against hand-built ones).
pub(crate) fn full_match(pattern: &str, value: &str) -> bool {
    // Patterns come from a few dozen definitions and are checked on every resolve: compile each
    // once per thread.
    thread_local! {
        static COMPILED: std::cell::RefCell<BTreeMap<String, Option<Regex>>> =
            const { std::cell::RefCell::new(BTreeMap::new()) };
    }
    COMPILED.with(|compiled| {
        let mut compiled = compiled.borrow_mut();
        if compiled.len() > 4096 {
            // Custom services can add patterns without bound; start over rather than grow.
            compiled.clear();
        }
        compiled
            .entry(pattern.to_owned())
            .or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).ok())
            .as_ref()
            .is_some_and(|regex| regex.is_match(value))
    })
}

/// Parses a URL that may carry credentials or codes: https, or http to a loopback host.
pub(crate) fn parse_secure_url(field: &str, text: &str) -> Result<Url, ServicesError> {
    let url = Url::parse(text).map_err(|error| ServicesError::InvalidUrl {
        field: field.to_owned(),
        reason: format!("`{text}` is not a URL: {error}"),
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ServicesError::InvalidUrl {
            field: field.to_owned(),
            reason: format!("`{text}` has no host"),
        });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ServicesError::InvalidUrl {
            field: field.to_owned(),
            reason: "URLs must not contain a user name or password".to_owned(),
        });
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(ServicesError::InvalidUrl {
            field: field.to_owned(),
            reason: format!("must be an https URL; got {text}"),
        }),
    }
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}
