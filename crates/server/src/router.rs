//! Assembles the route groups, the OpenAPI document and the cross-cutting layers.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router, middleware};
use tower_http::trace::TraceLayer;

use crate::api;
use crate::error::ApiError;
use crate::extract::BodyLimit;
use crate::metrics::{remember_matched_route, track_http_metrics};
use crate::state::AppState;

/// The whole HTTP application: every route group, `/api/v1/openapi.json`, JSON errors for
/// unknown routes and wrong methods, the body limit, request tracing and metrics.
pub fn build_router(state: AppState) -> Router {
    let (routes, openapi_document) = api::openapi_router().split_for_parts();
    let openapi_json: Arc<String> = Arc::new(
        serde_json::to_string_pretty(&openapi_document).unwrap_or_else(|_| "{}".to_owned()),
    );
    let body_limit = state.config.max_body_bytes;
    let metrics = state.metrics.clone();

    routes
        .merge(crate::bigin::router())
        .merge(crate::oauth_provider::router())
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let openapi_json = Arc::clone(&openapi_json);
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        openapi_json.as_str().to_owned(),
                    )
                }
            }),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(route_not_found)
        .route_layer(middleware::from_fn(remember_matched_route))
        .layer(Extension(BodyLimit(body_limit)))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(json_for_bare_errors))
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn_with_state(metrics, track_http_metrics))
        .with_state(state)
}

/// The OpenAPI document, for tests and tools that want it without starting a server.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api::openapi_router().into_openapi()
}

async fn route_not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound {
        path: truncated(uri.path()),
    }
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: truncated(method.as_str()),
        path: truncated(uri.path()),
    }
}

/// Anything that still answers an error without a body (a layer's own rejection) gets the
/// standard error shape, so clients never see an empty or plain-text error.
async fn json_for_bare_errors(
    method: Method,
    uri: Uri,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed {
            method: truncated(method.as_str()),
            path: truncated(uri.path()),
        },
        StatusCode::NOT_FOUND => ApiError::RouteNotFound {
            path: truncated(uri.path()),
        },
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit_bytes: 0 },
        other => ApiError::Domain {
            status: other,
            code: "REQUEST_REJECTED",
            message: other
                .canonical_reason()
                .unwrap_or("request rejected")
                .to_owned(),
            details: None,
        },
    };
    let mut replacement = error.into_response();
    for (name, value) in response.headers() {
        if name == header::ALLOW {
            replacement.headers_mut().insert(name, value.clone());
        }
    }
    replacement
}

fn truncated(text: &str) -> String {
    text.chars().take(200).collect()
}
