//! The services crate's one error type.

use serde::Serialize;

/// A problem with one field of a definition or custom-service form, addressed by its path
/// (`oauth2.token_url`, `api_key_parameters[1].name`), ready to be returned to an API client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the field.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.field, self.message)
    }
}

/// Everything that can go wrong with service definitions, settings and captured values.
#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    /// No service with this key.
    #[error("there is no service `{key}`; `trestle services list` shows every service key")]
    ServiceNotFound { key: String },

    /// A service with this key exists already.
    #[error("a service with key `{key}` already exists; choose another service link name")]
    DuplicateServiceKey { key: String },

    /// A built-in catalog file does not parse.
    #[error("catalog file {file} is not a valid service definition: {reason}")]
    CatalogFile { file: String, reason: String },

    /// A definition (built-in or custom) failed validation.
    #[error("the service definition is invalid: {}", join_field_errors(.errors))]
    InvalidDefinition { errors: Vec<FieldError> },

    /// A connection setting has an invalid value.
    #[error("setting `{setting}` is invalid: {reason}")]
    InvalidSetting { setting: String, reason: String },

    /// A required connection setting has no value.
    #[error("setting `{setting}` is required for service `{service}`")]
    MissingSetting { service: String, setting: String },

    /// A setting name the service does not define.
    #[error("service `{service}` has no setting `{setting}` (its settings: {known})")]
    UnknownSetting {
        service: String,
        setting: String,
        known: String,
    },

    /// A value from the callback or token response failed its allow-list pattern. The value
    /// itself is not echoed: it may come from an attacker.
    #[error(
        "the value of `{parameter}` from the {source_name} does not match the allowed pattern for \
         `{name}`; authorization stopped so no code, secret or token is sent to an unexpected host"
    )]
    CapturedValueRejected {
        name: String,
        parameter: String,
        source_name: &'static str,
    },

    /// A required captured value was not sent.
    #[error("the {source_name} did not include `{parameter}`, which service `{service}` requires")]
    CapturedValueMissing {
        service: String,
        parameter: String,
        source_name: &'static str,
    },

    /// A template refers to a variable with no value, or is malformed.
    #[error("{field}: {reason}")]
    Template { field: String, reason: String },

    /// A resolved URL is not a valid or allowed URL.
    #[error("{field}: {reason}")]
    InvalidUrl { field: String, reason: String },

    /// A credential placeholder had no value when rendering credentials for a request.
    #[error("the connection has no stored `{name}`; authorize the connection again")]
    CredentialMissing { name: String },
}

impl ServicesError {
    /// Stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            ServicesError::ServiceNotFound { .. } => "SERVICE_NOT_FOUND",
            ServicesError::DuplicateServiceKey { .. } => "SERVICE_DUPLICATE_KEY",
            ServicesError::CatalogFile { .. } => "SERVICE_CATALOG_INVALID",
            ServicesError::InvalidDefinition { .. } => "SERVICE_DEFINITION_INVALID",
            ServicesError::InvalidSetting { .. } => "SERVICE_SETTING_INVALID",
            ServicesError::MissingSetting { .. } => "SERVICE_SETTING_MISSING",
            ServicesError::UnknownSetting { .. } => "SERVICE_SETTING_UNKNOWN",
            ServicesError::CapturedValueRejected { .. } => "SERVICE_CAPTURED_VALUE_REJECTED",
            ServicesError::CapturedValueMissing { .. } => "SERVICE_CAPTURED_VALUE_MISSING",
            ServicesError::Template { .. } => "SERVICE_TEMPLATE_UNRESOLVED",
            ServicesError::InvalidUrl { .. } => "SERVICE_URL_INVALID",
            ServicesError::CredentialMissing { .. } => "SERVICE_CREDENTIAL_MISSING",
        }
    }

    /// The field errors of an `InvalidDefinition`, or one error addressing the field concerned.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            ServicesError::InvalidDefinition { errors } => errors.clone(),
            ServicesError::InvalidSetting { setting, .. }
            | ServicesError::MissingSetting { setting, .. }
            | ServicesError::UnknownSetting { setting, .. } => {
                vec![FieldError::new(
                    format!("settings.{setting}"),
                    self.to_string(),
                )]
            }
            ServicesError::Template { field, .. } | ServicesError::InvalidUrl { field, .. } => {
                vec![FieldError::new(field.clone(), self.to_string())]
            }
            _ => vec![FieldError::new("", self.to_string())],
        }
    }
}

fn join_field_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(FieldError::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
