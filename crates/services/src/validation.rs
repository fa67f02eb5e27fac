//! Static checks on a definition, shared by the built-in catalog test and custom services.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use crate::definition::{
    AuthType, CaptureSource, CredentialPlacement, RevokeTokenPlacement, ServiceDefinition,
};
use crate::error::{FieldError, ServicesError};
use crate::resolve::{CapturedValues, ConnectionSettings};
use crate::template;

/// Longest service key (service link name).
pub const SERVICE_KEY_MAX_LENGTH: usize = 50;

/// Options for [`ServiceDefinition::validate_with`].
#[derive(Clone, Debug, Default)]
pub struct ValidationOptions {
    /// Accept `http://` URLs whose host is loopback (`localhost`, `127.0.0.0/8`, `::1`), for local
    /// development and tests against a local authorization server. Off by default; the built-in
    /// catalog is always validated without it.
    pub allow_http_loopback: bool,
}

/// Checks a service key: starts with a lower-case letter, then lower-case letters, digits and
/// underscores, at most 50 characters. Returns the problem in words.
pub fn check_service_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if key.chars().count() > SERVICE_KEY_MAX_LENGTH {
        return Err(format!(
            "must be at most {SERVICE_KEY_MAX_LENGTH} characters; got {}",
            key.chars().count()
        ));
    }
    if !key.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("must start with a lower-case letter; got `{key}`"));
    }
    if let Some(bad) = key
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "may contain only lower-case letters, digits and `_`; `{bad}` is not allowed"
        ));
    }
    Ok(())
}

impl ServiceDefinition {
    /// Validates with default (strict) options.
    pub fn validate(&self) -> Result<(), ServicesError> {
        self.validate_with(&ValidationOptions::default())
    }

    /// Checks everything that can be checked without a connection: key rules, the tables each
    /// auth type needs, template syntax and variables, patterns, choices, and then resolves the
    /// definition with example settings for every option of every choice setting (so every data
    /// centre is tried), checking that URLs are https and that the API base URL and verification
    /// URL hosts are in the host allow-list. Reports every problem, each addressed by field.
    pub fn validate_with(&self, options: &ValidationOptions) -> Result<(), ServicesError> {
        let mut errors = Vec::new();
        self.check_static(&mut errors);
        if errors.is_empty() {
            self.check_resolutions(options, &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ServicesError::InvalidDefinition { errors })
        }
    }

    /// Every example resolution input used by validation: for each option of each choice setting
    /// (other settings at their example/default), with and without the example captured values.
    pub fn example_inputs(&self) -> Vec<(ConnectionSettings, CapturedValues)> {
        let mut base = ConnectionSettings::new();
        for setting in &self.settings {
            let value = setting
                .example
                .clone()
                .or_else(|| setting.default.clone())
                .or_else(|| setting.choices.first().map(|choice| choice.value.clone()));
            if let Some(value) = value {
                base.insert(setting.name.clone(), value);
            }
        }
        let mut setting_variants = vec![base.clone()];
        for setting in &self.settings {
            for choice in &setting.choices {
                let mut variant = base.clone();
                variant.insert(setting.name.clone(), choice.value.clone());
                setting_variants.push(variant);
            }
        }
        let captured_example: CapturedValues = self
            .captured
            .iter()
            .filter_map(|captured| {
                captured
                    .example
                    .clone()
                    .map(|example| (captured.name.clone(), example))
            })
            .collect();
        let mut inputs = Vec::new();
        for variant in setting_variants {
            inputs.push((variant.clone(), CapturedValues::new()));
            if !captured_example.is_empty() {
                inputs.push((variant, captured_example.clone()));
            }
        }
        inputs
    }

    fn check_static(&self, errors: &mut Vec<FieldError>) {
        if let Err(message) = check_service_key(&self.key) {
            errors.push(FieldError::new("key", message));
        }
        if self.display_name.trim().is_empty() {
            errors.push(FieldError::new("display_name", "must not be empty"));
        }
        if self.category.trim().is_empty() {
            errors.push(FieldError::new("category", "must not be empty"));
        }
        match (self.auth_type.is_oauth2(), &self.oauth2) {
            (true, None) => errors.push(FieldError::new(
                "oauth2",
                "OAuth 2 services need an [oauth2] table",
            )),
            (false, Some(_)) => errors.push(FieldError::new(
                "oauth2",
                format!("not used by auth type {}", self.auth_type.as_str()),
            )),
            _ => {}
        }
        if let Some(oauth2) = &self.oauth2 {
            if self.auth_type == AuthType::OAuth2AuthorizationCode && oauth2.authorize_url.is_none()
            {
                errors.push(FieldError::new(
                    "oauth2.authorize_url",
                    "required for the authorization code grant",
                ));
            }
            if oauth2.token_response.expires_in_fields.is_empty() {
                errors.push(FieldError::new(
                    "oauth2.token_response.expires_in_fields",
                    "must name at least one field",
                ));
            }
            if let Some(revoke) = &oauth2.revoke {
                let uses_token = template::variables(&revoke.url)
                    .is_ok_and(|names| names.iter().any(|name| name == "token"));
                if (revoke.token_in == RevokeTokenPlacement::Url) != uses_token {
                    errors.push(FieldError::new(
                        "oauth2.revoke.url",
                        "contains `{token}` exactly when token_in is \"url\"",
                    ));
                }
            }
        }
        match (self.auth_type == AuthType::OAuth1, &self.oauth1) {
            (true, None) => errors.push(FieldError::new(
                "oauth1",
                "OAuth 1 services need an [oauth1] table",
            )),
            (false, Some(_)) => errors.push(FieldError::new(
                "oauth1",
                format!("not used by auth type {}", self.auth_type.as_str()),
            )),
            _ => {}
        }
        if self.auth_type.is_entered_secret() && self.credential_fields.is_empty() {
            errors.push(FieldError::new(
                "credential_fields",
                "API key, basic and bearer services need at least one credential field",
            ));
        }
        if !self.auth_type.is_entered_secret() && !self.credential_fields.is_empty() {
            errors.push(FieldError::new(
                "credential_fields",
                format!("not used by auth type {}", self.auth_type.as_str()),
            ));
        }
        if self.auth_type != AuthType::None && self.credential_placement.is_empty() {
            errors.push(FieldError::new(
                "credential_placement",
                "say how the credential is attached to requests",
            ));
        }
        if self.auth_type != AuthType::None && self.allowed_hosts.is_empty() {
            errors.push(FieldError::new(
                "allowed_hosts",
                "list the hosts this service's credential may be sent to",
            ));
        }
        let mut field_names = BTreeSet::new();
        for (index, field) in self.credential_fields.iter().enumerate() {
            if !is_identifier(&field.name) {
                errors.push(FieldError::new(
                    format!("credential_fields[{index}].name"),
                    "use lower-case letters, digits and `_`",
                ));
            }
            if !field_names.insert(field.name.as_str()) {
                errors.push(FieldError::new(
                    format!("credential_fields[{index}].name"),
                    format!("`{}` appears twice", field.name),
                ));
            }
        }
        let mut scope_names = BTreeSet::new();
        for (index, scope) in self.scopes.iter().enumerate() {
            if scope.name.trim().is_empty() || scope.name.contains([' ', ',']) {
                errors.push(FieldError::new(
                    format!("scopes[{index}].name"),
                    "must be non-empty without spaces or commas",
                ));
            }
            if !scope_names.insert(scope.name.as_str()) {
                errors.push(FieldError::new(
                    format!("scopes[{index}].name"),
                    format!("`{}` appears twice", scope.name),
                ));
            }
        }

        // Variables: settings, derived, captured; credential placeholders separately.
        let mut variables: BTreeSet<String> = BTreeSet::new();
        let mut setting_names = BTreeSet::new();
        for (index, setting) in self.settings.iter().enumerate() {
            let field = format!("settings[{index}]");
            if !is_identifier(&setting.name) {
                errors.push(FieldError::new(
                    format!("{field}.name"),
                    "use lower-case letters, digits and `_`",
                ));
            }
            if !setting_names.insert(setting.name.clone()) {
                errors.push(FieldError::new(
                    format!("{field}.name"),
                    format!("`{}` appears twice", setting.name),
                ));
            }
            variables.insert(setting.name.clone());
            if let Some(pattern) = &setting.pattern
                && let Err(error) = Regex::new(pattern)
            {
                errors.push(FieldError::new(
                    format!("{field}.pattern"),
                    format!("not a valid regular expression: {error}"),
                ));
            }
            if setting.choices_from.is_some() {
                errors.push(FieldError::new(
                    format!("{field}.choices_from"),
                    "unknown choice set (it was not expanded)",
                ));
            }
            let mut values = BTreeSet::new();
            let mut derived_names: Option<BTreeSet<&String>> = None;
            for (choice_index, choice) in setting.choices.iter().enumerate() {
                if !values.insert(choice.value.as_str()) {
                    errors.push(FieldError::new(
                        format!("{field}.choices[{choice_index}].value"),
                        format!("`{}` appears twice", choice.value),
                    ));
                }
                let names: BTreeSet<&String> = choice.derived.keys().collect();
                variables.extend(choice.derived.keys().cloned());
                match &derived_names {
                    None => derived_names = Some(names),
                    Some(first) if *first != names => errors.push(FieldError::new(
                        format!("{field}.choices[{choice_index}].derived"),
                        "every option must derive the same variables, so templates resolve for each",
                    )),
                    Some(_) => {}
                }
            }
            if let Some(default) = &setting.default
                && !setting.choices.is_empty()
                && !values.contains(default.as_str())
            {
                errors.push(FieldError::new(
                    format!("{field}.default"),
                    format!("`{default}` is not one of the choices"),
                ));
            }
            if setting.required
                && setting.default.is_none()
                && setting.example.is_none()
                && setting.choices.is_empty()
            {
                errors.push(FieldError::new(
                    format!("{field}.example"),
                    "required settings need an example (used by validation)",
                ));
            }
        }
        let mut captured_names = BTreeSet::new();
        for (index, captured) in self.captured.iter().enumerate() {
            let field = format!("captured[{index}]");
            if !is_identifier(&captured.name) {
                errors.push(FieldError::new(
                    format!("{field}.name"),
                    "use lower-case letters, digits and `_`",
                ));
            }
            if !captured_names.insert(captured.name.clone()) {
                errors.push(FieldError::new(
                    format!("{field}.name"),
                    format!("`{}` appears twice", captured.name),
                ));
            }
            match Regex::new(&captured.pattern) {
                Err(error) => errors.push(FieldError::new(
                    format!("{field}.pattern"),
                    format!("not a valid regular expression: {error}"),
                )),
                Ok(_)
                    if captured.pattern.trim().is_empty()
                        || captured.pattern.contains(".*")
                        || captured.pattern.contains(".+") =>
                {
                    errors.push(FieldError::new(
                        format!("{field}.pattern"),
                        "must be a narrow allow-list (no `.*` / `.+`): a captured value can come from an attacker",
                    ));
                }
                Ok(_) => {}
            }
            if let Some(example) = &captured.example
                && !crate::resolve::full_match(&captured.pattern, example)
            {
                errors.push(FieldError::new(
                    format!("{field}.example"),
                    "does not match the pattern",
                ));
            }
            if self.auth_type == AuthType::OAuth1 || !self.auth_type.is_oauth2() {
                errors.push(FieldError::new(
                    format!("{field}.source"),
                    "values are captured only in OAuth 2 flows",
                ));
            }
            if captured.source == CaptureSource::Callback
                && self.auth_type == AuthType::OAuth2ClientCredentials
            {
                errors.push(FieldError::new(
                    format!("{field}.source"),
                    "the client credentials grant has no callback",
                ));
            }
            variables.insert(captured.name.clone());
        }

        let credential_names: BTreeSet<String> = self.credential_names().into_iter().collect();
        let mut check_template = |field: String, text: &str, allow_credentials: bool| {
            match template::variables(text) {
                Err(reason) => errors.push(FieldError::new(field, reason)),
                Ok(names) => {
                    for name in names {
                        let known = variables.contains(&name)
                            || (allow_credentials && credential_names.contains(&name));
                        if !known {
                            let hint = if credential_names.contains(&name) {
                                " (credentials may only appear in credential_placement)"
                            } else {
                                ""
                            };
                            errors.push(FieldError::new(field.clone(), format!("`{{{name}}}` is not a setting, derived or captured variable{hint}")));
                        }
                    }
                }
            }
        };
        if let Some(oauth2) = &self.oauth2 {
            if let Some(url) = &oauth2.authorize_url {
                check_template("oauth2.authorize_url".to_owned(), url, false);
            }
            check_template("oauth2.token_url".to_owned(), &oauth2.token_url, false);
            if let Some(url) = &oauth2.refresh_url {
                check_template("oauth2.refresh_url".to_owned(), url, false);
            }
            if let Some(revoke) = &oauth2.revoke {
                let without_token = revoke.url.replace("{token}", "").replace("{client_id}", "");
                check_template("oauth2.revoke.url".to_owned(), &without_token, false);
            }
            for (group, map) in [
                ("authorize_parameters", &oauth2.authorize_parameters),
                ("token_parameters", &oauth2.token_parameters),
                ("refresh_parameters", &oauth2.refresh_parameters),
                ("token_request_headers", &oauth2.token_request_headers),
            ] {
                for (name, value) in map {
                    check_template(format!("oauth2.{group}.{name}"), value, false);
                }
            }
        }
        if let Some(oauth1) = &self.oauth1 {
            check_template(
                "oauth1.request_token_url".to_owned(),
                &oauth1.request_token_url,
                false,
            );
            check_template(
                "oauth1.authorize_url".to_owned(),
                &oauth1.authorize_url,
                false,
            );
            check_template(
                "oauth1.access_token_url".to_owned(),
                &oauth1.access_token_url,
                false,
            );
        }
        if let Some(url) = &self.api_base_url {
            check_template("api_base_url".to_owned(), url, false);
        }
        for (index, host) in self.allowed_hosts.iter().enumerate() {
            check_template(format!("allowed_hosts[{index}]"), host, false);
        }
        for header in &self.companion_headers {
            check_template(
                format!("companion_headers.{}", header.name),
                &header.value,
                false,
            );
        }
        if let Some(verification) = &self.verification {
            check_template("verification.url".to_owned(), &verification.url, false);
        }
        for (index, placement) in self.credential_placement.iter().enumerate() {
            let field = format!("credential_placement[{index}]");
            match placement {
                CredentialPlacement::Header { value, .. }
                | CredentialPlacement::Query { value, .. }
                | CredentialPlacement::Form { value, .. } => {
                    check_template(format!("{field}.value"), value, true);
                }
                CredentialPlacement::Basic { username, password } => {
                    check_template(format!("{field}.username"), username, true);
                    check_template(format!("{field}.password"), password, true);
                }
                CredentialPlacement::OAuth1Signature => {}
            }
        }
        for (index, placement) in self.credential_placement.iter().enumerate() {
            if let CredentialPlacement::Header { name, .. }
            | CredentialPlacement::Query { name, .. }
            | CredentialPlacement::Form { name, .. } = placement
                && (name.trim().is_empty() || name.contains([' ', ':', '\r', '\n']))
            {
                errors.push(FieldError::new(
                    format!("credential_placement[{index}].name"),
                    "must be a non-empty name without spaces or colons",
                ));
            }
            if matches!(placement, CredentialPlacement::OAuth1Signature)
                && self.auth_type != AuthType::OAuth1
            {
                errors.push(FieldError::new(
                    format!("credential_placement[{index}]"),
                    "an OAuth 1 signature needs auth type oauth1",
                ));
            }
        }
    }

    fn check_resolutions(&self, options: &ValidationOptions, errors: &mut Vec<FieldError>) {
        let mut seen = BTreeMap::new();
        for (settings, captured) in self.example_inputs() {
            let context = describe_input(&settings, &captured);
            let resolved = match self.resolve(&settings, &captured) {
                Ok(resolved) => resolved,
                Err(error) => {
                    for field_error in error.field_errors() {
                        seen.entry((field_error.field.clone(), field_error.message.clone()))
                            .or_insert(context.clone());
                    }
                    continue;
                }
            };
            let mut problems: Vec<FieldError> = Vec::new();
            let check_https = |problems: &mut Vec<FieldError>, field: &str, url: &url::Url| {
                let loopback_ok = options.allow_http_loopback
                    && url.scheme() == "http"
                    && crate::resolve::is_loopback(url);
                if url.scheme() != "https" && !loopback_ok {
                    problems.push(FieldError::new(
                        field,
                        format!("must be an https URL; got {url}"),
                    ));
                }
            };
            if let Some(oauth2) = &resolved.oauth2 {
                if let Some(url) = &oauth2.authorize_url {
                    check_https(&mut problems, "oauth2.authorize_url", url);
                }
                check_https(&mut problems, "oauth2.token_url", &oauth2.token_url);
                check_https(&mut problems, "oauth2.refresh_url", &oauth2.refresh_url);
            }
            if let Some(oauth1) = &resolved.oauth1 {
                check_https(
                    &mut problems,
                    "oauth1.request_token_url",
                    &oauth1.request_token_url,
                );
                check_https(&mut problems, "oauth1.authorize_url", &oauth1.authorize_url);
                check_https(
                    &mut problems,
                    "oauth1.access_token_url",
                    &oauth1.access_token_url,
                );
            }
            if let Some(url) = &resolved.api_base_url {
                check_https(&mut problems, "api_base_url", url);
                if !url
                    .host_str()
                    .is_some_and(|host| resolved.host_policy.allows(host))
                {
                    problems.push(FieldError::new(
                        "allowed_hosts",
                        format!(
                            "does not cover the API base URL host `{}`",
                            url.host_str().unwrap_or_default()
                        ),
                    ));
                }
            }
            if let Some(verification) = &resolved.verification {
                check_https(&mut problems, "verification.url", &verification.url);
                if !verification
                    .url
                    .host_str()
                    .is_some_and(|host| resolved.host_policy.allows(host))
                {
                    problems.push(FieldError::new(
                        "verification.url",
                        "its host is not in allowed_hosts, so no credential could be sent there",
                    ));
                }
            }
            for problem in problems {
                seen.entry((problem.field, problem.message))
                    .or_insert(context.clone());
            }
        }
        for ((field, message), context) in seen {
            errors.push(FieldError::new(
                field,
                if context.is_empty() {
                    message
                } else {
                    format!("{message} (with {context})")
                },
            ));
        }
    }
}

fn describe_input(settings: &ConnectionSettings, captured: &CapturedValues) -> String {
    settings
        .iter()
        .chain(captured.iter())
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
