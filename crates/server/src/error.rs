//! The one place where errors become HTTP responses.
//!
//! Every handler returns `Result<_, ApiError>`; every extractor rejection, unknown route and
//! wrong method is turned into an [`ApiError`] too, so a client only ever sees one error shape:
//!
//! ```json
//! { "code": "STABLE_CODE", "message": "what went wrong and how to fix it", "details": null }
//! ```
//!
//! Other crates' errors get a `From` impl in this file (see `From<StoreError>`), so handlers can
//! use `?` and the mapping from a domain error to an HTTP status lives here and nowhere else.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use trestle_store::StoreError;
use utoipa::ToSchema;

/// The body of every error response of the management API.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, for example `ORGANIZATION_NOT_FOUND`.
    pub code: String,
    /// A sentence for people: what is wrong and how to fix it.
    pub message: String,
    /// Structured context (the offending field, line and column, a limit...), or null.
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

/// What a handler or extractor can fail with. Each variant has a stable code and one status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not syntactically valid JSON.
    #[error("the request body is not valid JSON: {message}")]
    MalformedJson {
        message: String,
        line: usize,
        column: usize,
    },
    /// The body is JSON but does not match the expected shape (unknown field, wrong type...).
    #[error("the request body does not match the expected shape: {message}")]
    InvalidRequestBody {
        message: String,
        line: usize,
        column: usize,
    },
    /// The request needs `Content-Type: application/json`.
    #[error(
        "this endpoint takes a JSON body; send the header `Content-Type: application/json` (got {received})"
    )]
    UnsupportedMediaType { received: String },
    /// The body is larger than the configured limit.
    #[error("the request body is larger than the limit of {limit_bytes} bytes")]
    PayloadTooLarge { limit_bytes: usize },
    /// A path segment could not be parsed (for example an id that is not a UUID).
    #[error("{message}")]
    InvalidPathParameter { message: String },
    /// A query string parameter could not be parsed.
    #[error("{message}")]
    InvalidQueryParameter { message: String },
    /// A well-formed request asks for something invalid (too short a password, a bad email...).
    #[error("{message}")]
    Validation {
        field: &'static str,
        message: String,
    },
    /// No session cookie or API token, or it is unknown, expired or revoked.
    #[error(
        "authentication required: sign in at POST /api/v1/auth/login or send `Authorization: Bearer trestle_...`"
    )]
    Unauthenticated,
    /// The `Authorization` header is present but not a Trestle API token.
    #[error("{message}")]
    MalformedAuthorization { message: String },
    /// Wrong email or password.
    #[error("the email or password is wrong")]
    InvalidCredentials,
    /// The account must change its one-time password before doing anything else.
    #[error(
        "this account must change its password first: POST /api/v1/auth/password with current_password and new_password"
    )]
    PasswordChangeRequired,
    /// A cookie-authenticated unsafe request came without the right CSRF token.
    #[error(
        "missing or wrong CSRF token: send the `csrf_token` returned at login in the `X-CSRF-Token` header"
    )]
    CsrfTokenInvalid,
    /// The principal is a member but its role does not allow this.
    #[error("{message}")]
    Forbidden { message: String },
    /// The thing does not exist, or belongs to an organization the caller cannot see.
    #[error("{resource} not found")]
    NotFound { resource: Resource },
    /// No route matches the path.
    #[error("no endpoint at {path}; the API is described at /api/v1/openapi.json")]
    RouteNotFound { path: String },
    /// The route exists but not with this method.
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    /// The request conflicts with existing data (a taken email, an existing membership...).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Too many failed logins for this account or client address.
    #[error("too many failed sign-in attempts; try again in {retry_after_seconds} seconds")]
    TooManyLoginAttempts { retry_after_seconds: u64 },
    /// The database cannot be reached or is not migrated.
    #[error("the service is not ready: {message}")]
    ServiceUnavailable { message: String },
    /// An error from another domain crate, mapped by its `From` impl below.
    #[error("{message}")]
    Domain {
        status: StatusCode,
        code: &'static str,
        message: String,
        details: Option<Value>,
    },
    /// A storage error that is not the client's fault.
    #[error("storage error: {0}")]
    Store(StoreError),
    /// A bug or an unexpected failure; the client sees a generic message, the log the detail.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The kinds of things the API can report as not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Organization,
    User,
    Member,
    Environment,
    ApiToken,
}

impl Resource {
    fn code(self) -> &'static str {
        match self {
            Resource::Organization => "ORGANIZATION_NOT_FOUND",
            Resource::User => "USER_NOT_FOUND",
            Resource::Member => "MEMBER_NOT_FOUND",
            Resource::Environment => "ENVIRONMENT_NOT_FOUND",
            Resource::ApiToken => "API_TOKEN_NOT_FOUND",
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Resource::Organization => "organization",
            Resource::User => "user",
            Resource::Member => "member",
            Resource::Environment => "environment",
            Resource::ApiToken => "API token",
        };
        formatter.write_str(name)
    }
}

impl ApiError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson { .. } => "MALFORMED_JSON",
            ApiError::InvalidRequestBody { .. } => "INVALID_REQUEST_BODY",
            ApiError::UnsupportedMediaType { .. } => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            ApiError::InvalidPathParameter { .. } => "INVALID_PATH_PARAMETER",
            ApiError::InvalidQueryParameter { .. } => "INVALID_QUERY_PARAMETER",
            ApiError::Validation { .. } => "VALIDATION_FAILED",
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::MalformedAuthorization { .. } => "MALFORMED_AUTHORIZATION",
            ApiError::InvalidCredentials => "INVALID_CREDENTIALS",
            ApiError::PasswordChangeRequired => "PASSWORD_CHANGE_REQUIRED",
            ApiError::CsrfTokenInvalid => "CSRF_TOKEN_INVALID",
            ApiError::Forbidden { .. } => "FORBIDDEN",
            ApiError::NotFound { resource } => resource.code(),
            ApiError::RouteNotFound { .. } => "ROUTE_NOT_FOUND",
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ApiError::Conflict { code, .. } => code,
            ApiError::TooManyLoginAttempts { .. } => "TOO_MANY_LOGIN_ATTEMPTS",
            ApiError::ServiceUnavailable { .. } => "SERVICE_UNAVAILABLE",
            ApiError::Domain { code, .. } => code,
            ApiError::Store(store_error) => store_error_status_and_code(store_error).1,
            ApiError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson { .. }
            | ApiError::InvalidPathParameter { .. }
            | ApiError::InvalidQueryParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::InvalidRequestBody { .. } | ApiError::Validation { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthenticated
            | ApiError::MalformedAuthorization { .. }
            | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::PasswordChangeRequired
            | ApiError::CsrfTokenInvalid
            | ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } | ApiError::RouteNotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooManyLoginAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Domain { status, .. } => *status,
            ApiError::Store(store_error) => store_error_status_and_code(store_error).0,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            ApiError::MalformedJson { line, column, .. }
            | ApiError::InvalidRequestBody { line, column, .. } => {
                Some(serde_json::json!({ "line": line, "column": column }))
            }
            ApiError::PayloadTooLarge { limit_bytes } => {
                Some(serde_json::json!({ "limit_bytes": limit_bytes }))
            }
            ApiError::Validation { field, .. } => Some(serde_json::json!({ "field": field })),
            ApiError::TooManyLoginAttempts {
                retry_after_seconds,
            } => Some(serde_json::json!({ "retry_after_seconds": retry_after_seconds })),
            ApiError::Domain { details, .. } => details.clone(),
            ApiError::Store(StoreError::InvalidInput { field, .. }) => {
                Some(serde_json::json!({ "field": field }))
            }
            _ => None,
        }
    }

    /// The message a client sees. Server-side failures never reveal their internals.
    fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => {
                "an internal error occurred; it has been logged for the operator".to_owned()
            }
            ApiError::Store(store_error)
                if store_error_status_and_code(store_error).0.is_server_error() =>
            {
                "a storage error occurred; it has been logged for the operator".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// Shorthand for a validation failure on one field.
    pub fn validation(field: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Validation {
            field,
            message: message.into(),
        }
    }

    /// Shorthand for "your role does not allow this".
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::Forbidden {
            message: message.into(),
        }
    }

    /// Shorthand for a missing resource.
    pub fn not_found(resource: Resource) -> ApiError {
        ApiError::NotFound { resource }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "request failed");
        } else {
            tracing::debug!(code = self.code(), error = %self, "request rejected");
        }
        let body = ErrorBody {
            code: self.code().to_owned(),
            message: self.public_message(),
            details: self.details(),
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyLoginAttempts {
            retry_after_seconds,
        } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(store_error: StoreError) -> Self {
        if let StoreError::NotFound { entity } = &store_error {
            let resource = match *entity {
                "organization" => Some(Resource::Organization),
                "user" => Some(Resource::User),
                "member" | "membership" => Some(Resource::Member),
                "environment" => Some(Resource::Environment),
                "API token" | "api token" => Some(Resource::ApiToken),
                _ => None,
            };
            if let Some(resource) = resource {
                return ApiError::NotFound { resource };
            }
        }
        ApiError::Store(store_error)
    }
}

/// How storage errors surface: client-caused ones keep their store code, the rest are 500/503.
fn store_error_status_and_code(store_error: &StoreError) -> (StatusCode, &'static str) {
    let status = match store_error {
        StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
        StoreError::AlreadyExists { .. } | StoreError::Conflict { .. } => StatusCode::CONFLICT,
        StoreError::InvalidInput { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        StoreError::InvalidId { .. } => StatusCode::BAD_REQUEST,
        StoreError::DatabaseUnavailable { .. } | StoreError::MigrationFailed { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        StoreError::InvalidDatabaseUrl { .. }
        | StoreError::CorruptData { .. }
        | StoreError::PasswordHashing { .. }
        | StoreError::Database { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, store_error.code())
}
