//! Custom services: the fields of Zoho's custom-service form, validated into a
//! [`ServiceDefinition`].

use std::collections::BTreeMap;

use serde::Deserialize;
use trestle_vault::SecretString;

use crate::definition::{
    AuthType, ClientAuthentication, CredentialField, CredentialPlacement, HeaderTemplate,
    OAuth1Definition, OAuth1SignatureMethod, OAuth2Definition, RevokeRequest, ScopeDefinition,
    ScopeSeparator, ServiceDefinition, ServiceOrigin, TokenResponseFormat, VerificationRequest,
};
use crate::error::{FieldError, ServicesError};
use crate::host_policy::normalize_host;
use crate::validation::{ValidationOptions, check_service_key};

/// Longest service name on the custom-service form.
pub const SERVICE_NAME_MAX_LENGTH: usize = 50;

/// What a developer enters to create a custom service (API body / CLI file), mirroring Zoho's
/// custom-service form. Field names are those of the form.
///
/// The client id and secret (OAuth 2) or consumer key and secret (OAuth 1) are accepted here
/// because the form has them, but they are credentials, not part of the definition:
/// [`CustomServiceInput::validate`] returns them separately so they go to the vault.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomServiceInput {
    /// Service name (at most 50 characters).
    pub service_name: String,
    /// Service link name: lower-case letter first, then `[a-z0-9_]`, at most 50 characters.
    pub service_link_name: String,
    /// Category shown in the console (default `custom`).
    #[serde(default)]
    pub category: Option<String>,
    /// Authentication type.
    pub auth_type: AuthType,
    /// Link to the API documentation.
    #[serde(default)]
    pub documentation_url: Option<String>,
    /// API base URL (https).
    #[serde(default)]
    pub api_base_url: Option<String>,
    /// Hosts the credential may be sent to. Defaults to the host of `api_base_url`.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,

    /// OAuth 2 / OAuth 1: authorize URL.
    #[serde(default)]
    pub authorize_url: Option<String>,
    /// OAuth 2: access token URL. OAuth 1: access token URL.
    #[serde(default)]
    pub access_token_url: Option<String>,
    /// OAuth 2: refresh token URL (defaults to the access token URL).
    #[serde(default)]
    pub refresh_token_url: Option<String>,
    /// OAuth 2: RFC 7009 revocation URL.
    #[serde(default)]
    pub revoke_url: Option<String>,
    /// OAuth 1: request token URL.
    #[serde(default)]
    pub request_token_url: Option<String>,
    /// OAuth 1: signature method, `HMAC-SHA1` (default), `HMAC-SHA256` or `PLAINTEXT`.
    #[serde(default)]
    pub signature_method: Option<OAuth1SignatureMethod>,
    /// OAuth client id (OAuth 1 consumer key). Goes to the vault.
    #[serde(default)]
    pub client_id: Option<SecretString>,
    /// OAuth client secret (OAuth 1 consumer secret). Goes to the vault.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// Scopes, as names or `{name, display_name}`.
    #[serde(default)]
    pub scopes: Vec<ScopeInput>,
    /// Scope delimiter; Zoho's form defaults to comma.
    #[serde(default)]
    pub scope_delimiter: Option<ScopeSeparator>,
    /// OAuth 2 and bearer: where the token is sent (header or query string).
    #[serde(default)]
    pub token_param_type: Option<TokenParameterType>,
    /// Header name (default `Authorization`) or query parameter name (default `access_token`).
    #[serde(default)]
    pub token_param_name: Option<String>,
    /// Scheme before the token in a header (default `Bearer`; empty for the bare token).
    #[serde(default)]
    pub token_prefix: Option<String>,
    /// OAuth 2: client authentication at the token endpoint (default body).
    #[serde(default)]
    pub client_authentication: Option<ClientAuthentication>,
    /// OAuth 2 authorization code: PKCE (default on).
    #[serde(default)]
    pub pkce: Option<bool>,
    /// OAuth 2: extra authorize parameters.
    #[serde(default)]
    pub authorize_parameters: BTreeMap<String, String>,
    /// OAuth 2: extra token request parameters.
    #[serde(default)]
    pub token_parameters: BTreeMap<String, String>,
    /// API key: one or more parameters.
    #[serde(default)]
    pub api_key_parameters: Vec<ApiKeyParameterInput>,
    /// Fixed headers sent with every request.
    #[serde(default)]
    pub companion_headers: BTreeMap<String, String>,
    /// Request that checks an entered key or password.
    #[serde(default)]
    pub verification: Option<VerificationRequest>,
}

/// A scope on the form.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum ScopeInput {
    /// Just the scope string.
    Name(String),
    /// Scope with a display name.
    Detailed {
        /// Scope string.
        name: String,
        /// What it grants.
        #[serde(default)]
        display_name: Option<String>,
    },
}

/// Where an OAuth 2 or bearer token goes (Zoho's "Param Type" for OAuth 2).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TokenParameterType {
    /// A request header.
    Header,
    /// A query string parameter.
    QueryString,
}

/// One API key parameter (Zoho: display name, parameter key, parameter type).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyParameterInput {
    /// Label shown when a person enters the value.
    pub display_name: String,
    /// Header, query or form parameter name.
    pub key: String,
    /// Where it goes.
    pub param_type: ParameterType,
    /// Text before the value (e.g. `Bearer `, `Token token=`); default none.
    #[serde(default)]
    pub value_prefix: Option<String>,
}

/// Zoho's API key "Param Type".
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ParameterType {
    /// Header.
    Header,
    /// Query string.
    QueryString,
    /// Form data.
    FormData,
}

/// A validated custom service: the definition plus the app credentials from the form, which the
/// caller stores in the vault (never in the definition).
#[derive(Clone, Debug)]
pub struct ValidatedCustomService {
    /// The definition (origin `custom`, `user_supplied_hosts` set).
    pub definition: ServiceDefinition,
    /// OAuth client id / OAuth 1 consumer key.
    pub client_id: Option<SecretString>,
    /// OAuth client secret / OAuth 1 consumer secret.
    pub client_secret: Option<SecretString>,
}

impl CustomServiceInput {
    /// Validates with strict options (https only).
    pub fn validate(self) -> Result<ValidatedCustomService, ServicesError> {
        self.validate_with(&ValidationOptions::default())
    }

    /// Validates every field, reporting every problem at once, each addressed by its form field
    /// (`{"field":"access_token_url","message":"must be an https URL; got http://..."}`).
    pub fn validate_with(
        self,
        options: &ValidationOptions,
    ) -> Result<ValidatedCustomService, ServicesError> {
        let mut errors = Vec::new();
        let service_name = self.service_name.trim().to_owned();
        if service_name.is_empty() {
            errors.push(FieldError::new("service_name", "must not be empty"));
        } else if service_name.chars().count() > SERVICE_NAME_MAX_LENGTH {
            errors.push(FieldError::new(
                "service_name",
                format!(
                    "must be at most {SERVICE_NAME_MAX_LENGTH} characters; got {}",
                    service_name.chars().count()
                ),
            ));
        }
        if let Err(message) = check_service_key(&self.service_link_name) {
            errors.push(FieldError::new("service_link_name", message));
        }
        let auth_type = self.auth_type;
        let is_oauth2 = auth_type.is_oauth2();
        let is_oauth1 = auth_type == AuthType::OAuth1;

        let mut url_field = |field: &str,
                             value: &Option<String>,
                             required: bool,
                             applicable: bool|
         -> Option<String> {
            match value
                .as_deref()
                .map(str::trim)
                .filter(|text| !text.is_empty())
            {
                None if required && applicable => {
                    errors.push(FieldError::new(
                        field,
                        format!("required for auth type {}", auth_type.as_str()),
                    ));
                    None
                }
                None => None,
                Some(_) if !applicable => {
                    errors.push(FieldError::new(
                        field,
                        format!("not used by auth type {}; remove it", auth_type.as_str()),
                    ));
                    None
                }
                Some(text) => match check_custom_url(text, options) {
                    Ok(()) => Some(text.to_owned()),
                    Err(message) => {
                        errors.push(FieldError::new(field, message));
                        None
                    }
                },
            }
        };
        let authorize_url = url_field(
            "authorize_url",
            &self.authorize_url,
            auth_type == AuthType::OAuth2AuthorizationCode || is_oauth1,
            auth_type == AuthType::OAuth2AuthorizationCode || is_oauth1,
        );
        let access_token_url = url_field(
            "access_token_url",
            &self.access_token_url,
            true,
            is_oauth2 || is_oauth1,
        );
        let refresh_token_url = url_field(
            "refresh_token_url",
            &self.refresh_token_url,
            false,
            is_oauth2,
        );
        let revoke_url = url_field("revoke_url", &self.revoke_url, false, is_oauth2);
        let request_token_url = url_field(
            "request_token_url",
            &self.request_token_url,
            true,
            is_oauth1,
        );
        let api_base_url = url_field("api_base_url", &self.api_base_url, false, true);
        let documentation_url =
            url_field("documentation_url", &self.documentation_url, false, true);
        match self.signature_method {
            Some(_) if !is_oauth1 => errors.push(FieldError::new(
                "signature_method",
                format!("not used by auth type {}; remove it", auth_type.as_str()),
            )),
            Some(OAuth1SignatureMethod::Plaintext) => {
                let plain_http = [
                    &request_token_url,
                    &authorize_url,
                    &access_token_url,
                    &api_base_url,
                ]
                .into_iter()
                .flatten()
                .any(|url| url.trim().to_ascii_lowercase().starts_with("http://"));
                if plain_http {
                    errors.push(FieldError::new(
                        "signature_method",
                        "PLAINTEXT sends the secrets themselves, so every URL of the service must be https; use HMAC-SHA1 or HMAC-SHA256 instead",
                    ));
                }
            }
            _ => {}
        }

        let needs_client = is_oauth2 || is_oauth1;
        let client_id = self
            .client_id
            .filter(|value| !value.expose_secret().trim().is_empty());
        let client_secret = self
            .client_secret
            .filter(|value| !value.expose_secret().trim().is_empty());
        if needs_client && client_id.is_none() {
            errors.push(FieldError::new(
                "client_id",
                format!("required for auth type {}", auth_type.as_str()),
            ));
        }
        if (auth_type == AuthType::OAuth2ClientCredentials || is_oauth1) && client_secret.is_none()
        {
            errors.push(FieldError::new(
                "client_secret",
                format!("required for auth type {}", auth_type.as_str()),
            ));
        }
        if !needs_client && (client_id.is_some() || client_secret.is_some()) {
            errors.push(FieldError::new(
                "client_id",
                format!("not used by auth type {}; remove it", auth_type.as_str()),
            ));
        }

        let mut scopes = Vec::new();
        for (index, scope) in self.scopes.iter().enumerate() {
            let (name, display_name) = match scope {
                ScopeInput::Name(name) => (name.trim().to_owned(), None),
                ScopeInput::Detailed { name, display_name } => {
                    (name.trim().to_owned(), display_name.clone())
                }
            };
            if name.is_empty() || name.contains([' ', ',']) {
                errors.push(FieldError::new(
                    format!("scopes[{index}]"),
                    "a scope is a non-empty word without spaces or commas",
                ));
                continue;
            }
            if scopes
                .iter()
                .any(|existing: &ScopeDefinition| existing.name == name)
            {
                errors.push(FieldError::new(
                    format!("scopes[{index}]"),
                    format!("`{name}` appears twice"),
                ));
                continue;
            }
            scopes.push(ScopeDefinition {
                display_name: display_name.unwrap_or_else(|| name.clone()),
                name,
                default: true,
            });
        }
        if !is_oauth2 && !scopes.is_empty() {
            errors.push(FieldError::new(
                "scopes",
                format!("not used by auth type {}; remove them", auth_type.as_str()),
            ));
        }
        if !is_oauth2 && self.scope_delimiter.is_some() {
            errors.push(FieldError::new(
                "scope_delimiter",
                format!("not used by auth type {}", auth_type.as_str()),
            ));
        }

        let token_applicable = is_oauth2 || auth_type == AuthType::Bearer;
        if !token_applicable
            && (self.token_param_type.is_some()
                || self.token_param_name.is_some()
                || self.token_prefix.is_some())
        {
            errors.push(FieldError::new(
                "token_param_type",
                format!("not used by auth type {}", auth_type.as_str()),
            ));
        }
        if let Some(name) = &self.token_param_name
            && !is_parameter_name(name)
        {
            errors.push(FieldError::new(
                "token_param_name",
                "must be a non-empty name without spaces, colons or line breaks",
            ));
        }
        if let Some(prefix) = &self.token_prefix
            && prefix.contains(['\r', '\n', '{', '}'])
        {
            errors.push(FieldError::new(
                "token_prefix",
                "must not contain line breaks or braces",
            ));
        }
        if !is_oauth2 && (self.client_authentication.is_some() || self.pkce.is_some()) {
            errors.push(FieldError::new(
                "client_authentication",
                format!("not used by auth type {}", auth_type.as_str()),
            ));
        }
        if auth_type != AuthType::ApiKey && !self.api_key_parameters.is_empty() {
            errors.push(FieldError::new(
                "api_key_parameters",
                format!("not used by auth type {}", auth_type.as_str()),
            ));
        }
        if auth_type == AuthType::ApiKey && self.api_key_parameters.is_empty() {
            errors.push(FieldError::new(
                "api_key_parameters",
                "add at least one API key parameter",
            ));
        }
        for (group, map) in [
            ("authorize_parameters", &self.authorize_parameters),
            ("token_parameters", &self.token_parameters),
        ] {
            if !is_oauth2 && !map.is_empty() {
                errors.push(FieldError::new(
                    group,
                    format!("not used by auth type {}", auth_type.as_str()),
                ));
            }
            for (name, value) in map {
                if !is_parameter_name(name) || value.contains(['{', '}']) {
                    errors.push(FieldError::new(
                        format!("{group}.{name}"),
                        "parameter names are single words; values may not contain braces",
                    ));
                }
            }
        }
        for (name, value) in &self.companion_headers {
            if !is_parameter_name(name) || value.contains(['{', '}', '\r', '\n']) {
                errors.push(FieldError::new(
                    format!("companion_headers.{name}"),
                    "header names are single words; values may not contain braces or line breaks",
                ));
            }
        }

        // Credential fields and placements.
        let mut credential_fields = Vec::new();
        let mut credential_placement = Vec::new();
        let token_parameter_type = self.token_param_type.unwrap_or(TokenParameterType::Header);
        let token_placement = |placeholder: &str| match token_parameter_type {
            TokenParameterType::Header => {
                let prefix = self
                    .token_prefix
                    .clone()
                    .unwrap_or_else(|| "Bearer".to_owned());
                let prefix = prefix.trim();
                CredentialPlacement::Header {
                    name: self
                        .token_param_name
                        .clone()
                        .unwrap_or_else(|| "Authorization".to_owned()),
                    value: if prefix.is_empty() {
                        format!("{{{placeholder}}}")
                    } else {
                        format!("{prefix} {{{placeholder}}}")
                    },
                }
            }
            TokenParameterType::QueryString => CredentialPlacement::Query {
                name: self
                    .token_param_name
                    .clone()
                    .unwrap_or_else(|| "access_token".to_owned()),
                value: format!("{{{placeholder}}}"),
            },
        };
        match auth_type {
            AuthType::OAuth2AuthorizationCode | AuthType::OAuth2ClientCredentials => {
                credential_placement.push(token_placement("access_token"));
            }
            AuthType::OAuth1 => credential_placement.push(CredentialPlacement::OAuth1Signature),
            AuthType::Bearer => {
                credential_fields.push(CredentialField {
                    name: "token".to_owned(),
                    display_name: "Token".to_owned(),
                    secret: true,
                });
                credential_placement.push(token_placement("token"));
            }
            AuthType::Basic => {
                credential_fields.push(CredentialField {
                    name: "username".to_owned(),
                    display_name: "User name".to_owned(),
                    secret: false,
                });
                credential_fields.push(CredentialField {
                    name: "password".to_owned(),
                    display_name: "Password".to_owned(),
                    secret: true,
                });
                credential_placement.push(CredentialPlacement::Basic {
                    username: "{username}".to_owned(),
                    password: "{password}".to_owned(),
                });
            }
            AuthType::ApiKey => {
                for (index, parameter) in self.api_key_parameters.iter().enumerate() {
                    let field = format!("api_key_parameters[{index}]");
                    if parameter.display_name.trim().is_empty() {
                        errors.push(FieldError::new(
                            format!("{field}.display_name"),
                            "must not be empty",
                        ));
                    }
                    if !is_parameter_name(&parameter.key) {
                        errors.push(FieldError::new(
                            format!("{field}.key"),
                            "must be a non-empty name without spaces, colons or line breaks",
                        ));
                        continue;
                    }
                    let name = credential_field_name(&parameter.key);
                    if credential_fields
                        .iter()
                        .any(|existing: &CredentialField| existing.name == name)
                    {
                        errors.push(FieldError::new(
                            format!("{field}.key"),
                            format!("`{}` collides with another parameter", parameter.key),
                        ));
                        continue;
                    }
                    let prefix = parameter.value_prefix.clone().unwrap_or_default();
                    if prefix.contains(['{', '}', '\r', '\n']) {
                        errors.push(FieldError::new(
                            format!("{field}.value_prefix"),
                            "must not contain braces or line breaks",
                        ));
                    }
                    let value = format!("{prefix}{{{name}}}");
                    credential_placement.push(match parameter.param_type {
                        ParameterType::Header => CredentialPlacement::Header {
                            name: parameter.key.trim().to_owned(),
                            value,
                        },
                        ParameterType::QueryString => CredentialPlacement::Query {
                            name: parameter.key.trim().to_owned(),
                            value,
                        },
                        ParameterType::FormData => CredentialPlacement::Form {
                            name: parameter.key.trim().to_owned(),
                            value,
                        },
                    });
                    credential_fields.push(CredentialField {
                        name,
                        display_name: parameter.display_name.trim().to_owned(),
                        secret: true,
                    });
                }
            }
            AuthType::None => {}
        }

        // Allowed hosts: given, or the API base URL's host.
        let mut allowed_hosts = Vec::new();
        for (index, host) in self.allowed_hosts.iter().enumerate() {
            match normalize_host(host) {
                Some(host) => allowed_hosts.push(host),
                None => errors.push(FieldError::new(
                    format!("allowed_hosts[{index}]"),
                    format!("`{host}` is not a host name (write `api.example.com`, without scheme, port, path or wildcard)"),
                )),
            }
        }
        if allowed_hosts.is_empty() && self.allowed_hosts.is_empty() {
            if let Some(host) = api_base_url
                .as_deref()
                .and_then(|text| url::Url::parse(text).ok())
                .and_then(|url| url.host_str().map(str::to_owned))
            {
                allowed_hosts.push(host);
            } else if auth_type != AuthType::None && errors.is_empty() {
                errors.push(FieldError::new(
                    "allowed_hosts",
                    "give api_base_url or the hosts the credential may be sent to",
                ));
            }
        }

        if !errors.is_empty() {
            return Err(ServicesError::InvalidDefinition { errors });
        }

        let definition = ServiceDefinition {
            key: self.service_link_name.clone(),
            display_name: service_name,
            category: self
                .category
                .clone()
                .filter(|category| !category.trim().is_empty())
                .unwrap_or_else(|| "custom".to_owned()),
            origin: ServiceOrigin::Custom,
            auth_type,
            documentation_url,
            oauth2: if is_oauth2 {
                Some(OAuth2Definition {
                    authorize_url: authorize_url.clone(),
                    token_url: access_token_url.clone().unwrap_or_default(),
                    refresh_url: refresh_token_url,
                    revoke: revoke_url.map(|url| RevokeRequest {
                        method: crate::definition::HttpMethod::Post,
                        url,
                        token: Default::default(),
                        token_in: Default::default(),
                        parameter: "token".to_owned(),
                        send_token_type_hint: true,
                        client_authentication: Default::default(),
                    }),
                    authorize_parameters: self.authorize_parameters.clone(),
                    token_parameters: self.token_parameters.clone(),
                    refresh_parameters: BTreeMap::new(),
                    token_request_headers: BTreeMap::new(),
                    client_authentication: self.client_authentication.unwrap_or_default(),
                    token_request_format: Default::default(),
                    pkce: self.pkce.unwrap_or(true),
                    refresh_tokens: true,
                    rotating_refresh_tokens: true,
                    token_response: TokenResponseFormat::default(),
                })
            } else {
                None
            },
            oauth1: if is_oauth1 {
                Some(OAuth1Definition {
                    request_token_url: request_token_url.unwrap_or_default(),
                    authorize_url: authorize_url.unwrap_or_default(),
                    access_token_url: access_token_url.unwrap_or_default(),
                    signature_method: self.signature_method.unwrap_or_default(),
                    authorize_parameters: BTreeMap::new(),
                })
            } else {
                None
            },
            credential_fields,
            scopes,
            scope_separator: self.scope_delimiter.unwrap_or(ScopeSeparator::Comma),
            credential_placement,
            companion_headers: self
                .companion_headers
                .iter()
                .map(|(name, value)| HeaderTemplate {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            api_base_url,
            allowed_hosts,
            settings: Vec::new(),
            captured: Vec::new(),
            verification: self.verification.clone(),
            user_supplied_hosts: true,
            operator_variables: BTreeMap::new(),
        };
        // Safety net: the same checks as the built-in catalog, mapped back to form fields.
        definition
            .validate_with(options)
            .map_err(|error| ServicesError::InvalidDefinition {
                errors: error
                    .field_errors()
                    .into_iter()
                    .map(|field_error| {
                        FieldError::new(form_field(&field_error.field), field_error.message)
                    })
                    .collect(),
            })?;
        Ok(ValidatedCustomService {
            definition,
            client_id,
            client_secret,
        })
    }
}

fn form_field(definition_field: &str) -> String {
    match definition_field {
        "key" => "service_link_name".to_owned(),
        "display_name" => "service_name".to_owned(),
        "oauth2.token_url" | "oauth1.access_token_url" => "access_token_url".to_owned(),
        "oauth2.refresh_url" => "refresh_token_url".to_owned(),
        "oauth2.authorize_url" | "oauth1.authorize_url" => "authorize_url".to_owned(),
        "oauth2.revoke.url" => "revoke_url".to_owned(),
        "oauth1.request_token_url" => "request_token_url".to_owned(),
        "verification.url" => "verification.url".to_owned(),
        other => other.to_owned(),
    }
}

fn check_custom_url(text: &str, options: &ValidationOptions) -> Result<(), String> {
    if text.contains(['{', '}']) {
        return Err(format!(
            "must be a plain URL without `{{...}}` placeholders; got {text}"
        ));
    }
    let url =
        url::Url::parse(text).map_err(|error| format!("is not a URL ({error}); got {text}"))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("has no host; got {text}"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password; enter credentials when authorizing a connection".to_owned());
    }
    let loopback_ok =
        options.allow_http_loopback && url.scheme() == "http" && crate::resolve::is_loopback(&url);
    if url.scheme() != "https" && !loopback_ok {
        return Err(format!("must be an https URL; got {text}"));
    }
    Ok(())
}

fn is_parameter_name(name: &str) -> bool {
    let name = name.trim();
    !name.is_empty() && !name.contains([' ', ':', '\r', '\n', '\t', '{', '}'])
}

fn credential_field_name(key: &str) -> String {
    let mut name: String = key
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "key_");
    }
    name
}
