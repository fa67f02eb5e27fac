//! Bigin's response shapes: request-level errors, `{"data":[...]}` envelopes, 204 for
//! nothing found.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use trestle_crm::CrmError;
use trestle_store::StoreError;

/// A request-level failure, answered as `{"code","details","message","status":"error"}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct BiginError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

impl BiginError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> BiginError {
        BiginError {
            status,
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    pub fn with_details(mut self, details: Value) -> BiginError {
        self.details = details;
        self
    }

    /// The stable machine code (Bigin's `code`).
    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn invalid_token() -> BiginError {
        BiginError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_TOKEN",
            "invalid oauth token",
        )
    }

    pub fn authentication_failure() -> BiginError {
        BiginError::new(
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_FAILURE",
            "Authentication failed",
        )
    }

    pub fn scope_mismatch(needed: &str) -> BiginError {
        BiginError::new(
            StatusCode::UNAUTHORIZED,
            "OAUTH_SCOPE_MISMATCH",
            "invalid oauth scope to access this URL",
        )
        .with_details(json!({ "required_scope": needed }))
    }

    pub fn invalid_module(module: &str) -> BiginError {
        BiginError::from(CrmError::InvalidModule {
            module: module.to_owned(),
        })
    }

    pub fn required_param(param: &str) -> BiginError {
        BiginError::from(CrmError::RequiredParamMissing {
            param: param.to_owned(),
        })
    }

    /// `INVALID_DATA` for a request-level problem (malformed JSON, a bad parameter).
    pub fn invalid_data(message: impl Into<String>, details: Value) -> BiginError {
        BiginError::new(StatusCode::BAD_REQUEST, "INVALID_DATA", message).with_details(details)
    }

    pub fn limit_exceeded(limit: usize, what: &'static str) -> BiginError {
        BiginError::from(CrmError::LimitExceeded { limit, what })
    }
}

impl From<CrmError> for BiginError {
    fn from(error: CrmError) -> BiginError {
        let code = match &error {
            // Bigin reports a malformed request body or parameter as INVALID_DATA.
            CrmError::InvalidRequest { .. } => "INVALID_DATA",
            other => other.code(),
        };
        BiginError {
            status: StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            message: error.to_string(),
            details: error.details(),
        }
    }
}

impl From<StoreError> for BiginError {
    fn from(error: StoreError) -> BiginError {
        match error {
            StoreError::DatabaseUnavailable { .. } => BiginError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "INTERNAL_ERROR",
                "the database is unavailable; try again shortly",
            ),
            StoreError::InvalidInput { field, message } => {
                BiginError::invalid_data(format!("invalid {field}: {message}"), json!({}))
            }
            other => {
                tracing::error!(error = %other, "CRM storage failed");
                BiginError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_ERROR",
                    "Internal Server Error",
                )
            }
        }
    }
}

impl IntoResponse for BiginError {
    fn into_response(self) -> Response {
        json_response(
            self.status,
            &json!({
                "code": self.code,
                "details": self.details,
                "message": self.message,
                "status": "error",
            }),
        )
    }
}

/// A JSON body with a status.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        )],
        text,
    )
        .into_response()
}

/// Bigin's answer when a read finds nothing: 204 and no body.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The status of a batch: all succeeded (`all_ok`), mixed (202), all failed (400).
pub fn batch_status(successes: usize, total: usize, all_ok: StatusCode) -> StatusCode {
    if successes == total {
        all_ok
    } else if successes == 0 {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::ACCEPTED
    }
}

pub(crate) async fn invalid_url_pattern() -> BiginError {
    BiginError::new(
        StatusCode::NOT_FOUND,
        "INVALID_URL_PATTERN",
        "Please check if the URL trying to access is a correct one",
    )
}

pub(crate) async fn invalid_request_method() -> BiginError {
    BiginError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "INVALID_REQUEST_METHOD",
        "The http request method type is not a valid one",
    )
}
