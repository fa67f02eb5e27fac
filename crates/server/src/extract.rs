//! Request extractors whose rejections are [`ApiError`]s, so axum's plain-text rejections never
//! reach a client. Handlers use [`ApiJson`], [`ApiPath`] and [`ApiQuery`] instead of axum's
//! `Json`, `Path` and `Query`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The request body limit in force, put into request extensions by the router so error messages
/// can name it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl BodyLimit {
    /// Used when no limit was configured: 1 MiB.
    pub const DEFAULT_BYTES: usize = 1024 * 1024;
}

/// A JSON request body: requires `Content-Type: application/json` (or `+json`), respects the
/// body limit and reports syntax errors (400) and shape errors such as unknown fields (422) with
/// their line and column.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json_content_type(request.headers())?;
        let limit_bytes = request
            .extensions()
            .get::<BodyLimit>()
            .map_or(BodyLimit::DEFAULT_BYTES, |limit| limit.0);
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| bytes_rejection_to_api_error(rejection, limit_bytes))?;
        parse_json_body(&body).map(ApiJson)
    }
}

/// Parses a JSON body, classifying serde's error into syntax (400) or shape (422).
pub fn parse_json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|json_error| {
        let line = json_error.line();
        let column = json_error.column();
        let message = json_error.to_string();
        // serde_json reports some shape errors (a number where an enum is expected) as
        // syntax errors; a body that parses as JSON at all is well-formed, so its error is
        // about shape.
        let well_formed = || serde_json::from_slice::<serde_json::Value>(body).is_ok();
        match json_error.classify() {
            serde_json::error::Category::Syntax if well_formed() => ApiError::InvalidRequestBody {
                message,
                line,
                column,
            },
            serde_json::error::Category::Data => ApiError::InvalidRequestBody {
                message,
                line,
                column,
            },
            serde_json::error::Category::Io
            | serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof => ApiError::MalformedJson {
                message: if body.iter().all(u8::is_ascii_whitespace) {
                    "the body is empty; send a JSON object".to_owned()
                } else {
                    message
                },
                line,
                column,
            },
        }
    })
}

fn require_json_content_type(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return Err(ApiError::UnsupportedMediaType {
            received: "no Content-Type header".to_owned(),
        });
    };
    let content_type_text = content_type.to_str().unwrap_or_default();
    let essence = content_type_text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType {
            received: format!(
                "`{}`",
                content_type_text.chars().take(100).collect::<String>()
            ),
        })
    }
}

/// Maps a failure to read the body: over the limit is 413, anything else a 400.
pub fn bytes_rejection_to_api_error(rejection: BytesRejection, limit_bytes: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge { limit_bytes }
    } else {
        ApiError::MalformedJson {
            message: format!(
                "the request body could not be read: {}",
                rejection.body_text()
            ),
            line: 0,
            column: 0,
        }
    }
}

/// Path parameters (ids, names). A malformed id is a 400 naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(ApiError::InvalidPathParameter {
                message: rejection.body_text(),
            }),
        }
    }
}

/// Query string parameters. Unknown or malformed parameters are a 400 naming the problem.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::InvalidQueryParameter {
                message: rejection.body_text(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
    }

    #[test]
    fn syntax_errors_are_malformed_json_and_shape_errors_are_invalid_body() {
        assert_eq!(
            parse_json_body::<Sample>(b"{").unwrap_err().code(),
            "MALFORMED_JSON"
        );
        assert_eq!(
            parse_json_body::<Sample>(b"").unwrap_err().code(),
            "MALFORMED_JSON"
        );
        let unknown = parse_json_body::<Sample>(br#"{"name":"a","extra":1}"#).unwrap_err();
        assert_eq!(unknown.code(), "INVALID_REQUEST_BODY");
        assert!(unknown.to_string().contains("unknown field `extra`"));
        assert_eq!(
            parse_json_body::<Sample>(br#"{"name":3}"#)
                .unwrap_err()
                .code(),
            "INVALID_REQUEST_BODY"
        );
    }

    #[test]
    fn content_type_must_be_json() {
        let mut headers = axum::http::HeaderMap::new();
        assert!(require_json_content_type(&headers).is_err());
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(require_json_content_type(&headers).is_err());
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(require_json_content_type(&headers).is_ok());
        headers.insert(
            header::CONTENT_TYPE,
            "application/merge-patch+json".parse().unwrap(),
        );
        assert!(require_json_content_type(&headers).is_ok());
    }
}
