//! The one error type of this crate. Messages never contain a credential: provider error
//! descriptions are kept, token values never are.

/// Everything that can go wrong with a connection, its authorization or its tokens.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error(
        "no connection with link name `{link_name}` exists in this organization; list them with `trestle connections list`"
    )]
    NotFound { link_name: String },

    #[error(
        "no service with key `{service_key}` exists; list services with `trestle services list`"
    )]
    ServiceNotFound { service_key: String },

    #[error("invalid link name `{link_name}`: {reason}")]
    InvalidLinkName { link_name: String, reason: String },

    #[error(
        "the link name `{link_name}` is already used by another connection of this organization; choose another name"
    )]
    LinkNameTaken { link_name: String },

    #[error(
        "the link name of `{link_name}` can no longer change: the connection has already been authorized and scripts may refer to it"
    )]
    LinkNameLocked { link_name: String },

    #[error("invalid value for `{field}`: {message}")]
    InvalidInput { field: String, message: String },

    #[error(
        "connection `{link_name}` is not authorized in the {environment} environment; authorize it with `trestle connections authorize {link_name} --environment {environment}`"
    )]
    NotAuthorized {
        link_name: String,
        environment: String,
    },

    #[error(
        "connection `{link_name}` needs to be authorized again in the {environment} environment (the service no longer accepts its grant); run `trestle connections reauthorize {link_name} --environment {environment}`"
    )]
    NeedsReauthorization {
        link_name: String,
        environment: String,
    },

    #[error(
        "connection `{link_name}` was revoked in the {environment} environment; authorize it again to use it"
    )]
    Revoked {
        link_name: String,
        environment: String,
    },

    #[error(
        "the service `{service_key}` uses {auth_type}, which does not support this operation: {operation}"
    )]
    UnsupportedOperation {
        service_key: String,
        auth_type: String,
        operation: String,
    },

    #[error(
        "the authorization callback has an unknown or already used `state`; start the authorization again"
    )]
    StateInvalid,

    #[error(
        "the authorization took longer than {minutes} minutes and its `state` expired; start the authorization again"
    )]
    StateExpired { minutes: i64 },

    #[error(
        "the authorization callback for service `{callback_service}` carries a `state` issued for another service; start the authorization again"
    )]
    StateServiceMismatch { callback_service: String },

    #[error(
        "the authorization callback was started in another browser session; start the authorization again from this browser"
    )]
    StateSessionMismatch,

    #[error(
        "the authorization response names issuer `{received}` but the service's issuer is `{expected}` (possible mix-up attack); the callback was rejected"
    )]
    IssuerMismatch { expected: String, received: String },

    #[error("the service refused the authorization: {error}{}", description_suffix(.description))]
    AuthorizationDenied {
        error: String,
        description: Option<String>,
    },

    #[error("the service `{service_key}` rejected the grant ({error}{}); the connection must be authorized again", description_suffix(.description))]
    InvalidGrant {
        service_key: String,
        error: String,
        description: Option<String>,
    },

    #[error(
        "the service `{service_key}` rejected the OAuth client credentials ({error}); check the client id and secret configured for this service"
    )]
    InvalidClient { service_key: String, error: String },

    #[error("the token endpoint of `{service_key}` answered with an error: {error}{}", description_suffix(.description))]
    TokenRequestRejected {
        service_key: String,
        error: String,
        description: Option<String>,
    },

    #[error(
        "the token endpoint of `{service_key}` is unavailable ({detail}); the connection keeps its status and the request can be retried later"
    )]
    TokenEndpointUnavailable { service_key: String, detail: String },

    #[error(
        "the token endpoint of `{service_key}` sent a response that is not a valid token response: {detail}"
    )]
    TokenResponseInvalid { service_key: String, detail: String },

    #[error(
        "another process is refreshing connection `{link_name}` and did not finish within {seconds} seconds; retry the request"
    )]
    RefreshLockTimeout { link_name: String, seconds: u64 },

    #[error(
        "the credentials of connection `{link_name}` were rejected by the service's verification request (HTTP {status})"
    )]
    VerificationFailed { link_name: String, status: u16 },

    #[error(
        "the service `{service_key}` still rejects the credentials of `{link_name}` after a refresh (HTTP {status})"
    )]
    StillUnauthorizedAfterRefresh {
        service_key: String,
        link_name: String,
        status: u16,
    },

    #[error(
        "a request for `{service_key}` to host `{host}` was refused by the egress policy and nothing was sent: {reason}"
    )]
    EgressRefused {
        service_key: String,
        host: String,
        reason: String,
    },

    #[error("the service definition `{service_key}` cannot be used: {message}")]
    ServiceDefinition {
        service_key: String,
        message: String,
    },

    #[error("storage error: {message}")]
    Storage { code: &'static str, message: String },

    #[error("credential encryption error: {message}")]
    Vault { code: &'static str, message: String },
}

fn description_suffix(description: &Option<String>) -> String {
    match description {
        Some(text) if !text.is_empty() => format!(": {text}"),
        _ => String::new(),
    }
}

impl ConnectionError {
    /// A stable, machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "CONNECTION_NOT_FOUND",
            Self::ServiceNotFound { .. } => "SERVICE_NOT_FOUND",
            Self::InvalidLinkName { .. } => "INVALID_LINK_NAME",
            Self::LinkNameTaken { .. } => "LINK_NAME_TAKEN",
            Self::LinkNameLocked { .. } => "LINK_NAME_LOCKED",
            Self::InvalidInput { .. } => "INVALID_CONNECTION_INPUT",
            Self::NotAuthorized { .. } => "CONNECTION_NOT_AUTHORIZED",
            Self::NeedsReauthorization { .. } => "CONNECTION_NEEDS_REAUTHORIZATION",
            Self::Revoked { .. } => "CONNECTION_REVOKED",
            Self::UnsupportedOperation { .. } => "UNSUPPORTED_OPERATION",
            Self::StateInvalid => "OAUTH_STATE_INVALID",
            Self::StateExpired { .. } => "OAUTH_STATE_EXPIRED",
            Self::StateServiceMismatch { .. } => "OAUTH_STATE_SERVICE_MISMATCH",
            Self::StateSessionMismatch => "OAUTH_STATE_SESSION_MISMATCH",
            Self::IssuerMismatch { .. } => "OAUTH_ISSUER_MISMATCH",
            Self::AuthorizationDenied { .. } => "OAUTH_AUTHORIZATION_DENIED",
            Self::InvalidGrant { .. } => "OAUTH_INVALID_GRANT",
            Self::InvalidClient { .. } => "OAUTH_INVALID_CLIENT",
            Self::TokenRequestRejected { .. } => "OAUTH_TOKEN_REQUEST_REJECTED",
            Self::TokenEndpointUnavailable { .. } => "OAUTH_TOKEN_ENDPOINT_UNAVAILABLE",
            Self::TokenResponseInvalid { .. } => "OAUTH_TOKEN_RESPONSE_INVALID",
            Self::RefreshLockTimeout { .. } => "REFRESH_LOCK_TIMEOUT",
            Self::VerificationFailed { .. } => "CONNECTION_VERIFICATION_FAILED",
            Self::StillUnauthorizedAfterRefresh { .. } => "CONNECTION_UNAUTHORIZED_AFTER_REFRESH",
            Self::ServiceDefinition { .. } => "SERVICE_DEFINITION_UNUSABLE",
            Self::EgressRefused { .. } => "EGRESS_REFUSED",
            Self::Storage { code, .. } => code,
            Self::Vault { code, .. } => code,
        }
    }

    /// True for errors caused by a temporary condition at the service; such errors never change
    /// a connection's status.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::TokenEndpointUnavailable { .. } | Self::RefreshLockTimeout { .. }
        )
    }
}
