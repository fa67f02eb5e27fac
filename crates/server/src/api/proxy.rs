//! The proxy API: `/api/v1/environments/{environment}/proxy/{link_name}/{*path}` forwards any
//! method, query and body to the connection's API base with its credential attached, through
//! the same engine (egress policy, limits, retries) as scripts, and streams the response back
//! without buffering it. API tokens only: widgets and external programs call it; a console
//! session cannot.

use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::any;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;

use crate::api::functions::{organization_of, runtime_of};
use crate::api::views::EnvironmentName;
use crate::auth::AuthenticatedPrincipal;
use crate::error::ApiError;
use crate::state::AppState;

/// Largest request body the proxy forwards.
const MAX_PROXY_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// Response headers never passed back (hop-by-hop, or recomputed here).
const DROPPED_RESPONSE_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "set-cookie",
    "upgrade",
    "trailer",
];

/// The proxy routes: a catch-all path with any method, so they are plain routes outside the
/// OpenAPI document (described in the crate docs instead).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route(
            "/api/v1/environments/{environment}/proxy/{link_name}",
            any(proxy_root),
        )
        .route(
            "/api/v1/environments/{environment}/proxy/{link_name}/{*path}",
            any(proxy_path),
        )
}

#[derive(Debug, Deserialize)]
struct ProxyRoot {
    environment: EnvironmentName,
    link_name: String,
}

#[derive(Debug, Deserialize)]
struct ProxyPath {
    environment: EnvironmentName,
    link_name: String,
    path: String,
}

async fn proxy_root(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    Path(path): Path<ProxyRoot>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    // Boxed: the forwarding future is large (the engine's and the HTTP client's state), and
    // axum moves the handler's future several times before polling it.
    Box::pin(forward(
        state,
        principal,
        path.environment,
        path.link_name,
        String::new(),
        query,
        request,
    ))
    .await
}

async fn proxy_path(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    Path(path): Path<ProxyPath>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    // Boxed: the forwarding future is large (the engine's and the HTTP client's state), and
    // axum moves the handler's future several times before polling it.
    Box::pin(forward(
        state,
        principal,
        path.environment,
        path.link_name,
        path.path,
        query,
        request,
    ))
    .await
}

async fn forward(
    state: AppState,
    principal: AuthenticatedPrincipal,
    environment: EnvironmentName,
    link_name: String,
    path: String,
    query: Option<String>,
    request: Request,
) -> Result<Response, ApiError> {
    if principal.token_organization().is_none() {
        return Err(ApiError::forbidden(
            "the proxy API takes an API token of the organization (Authorization: Bearer trestle_...), not a console session",
        ));
    }
    let access = organization_of(&state, &principal).await?;
    let runtime = runtime_of(&state)?;
    let method = request.method().as_str().to_owned();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|value| (name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    let body = axum::body::to_bytes(request.into_body(), MAX_PROXY_REQUEST_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge {
            limit_bytes: MAX_PROXY_REQUEST_BYTES,
        })?;
    let result = runtime
        .proxy(trestle_runtime::ProxyRequest {
            organization: access.organization_id,
            environment: environment.into(),
            link_name,
            method,
            path,
            query,
            headers,
            body,
        })
        .await;
    let response = match result {
        Ok(response) => response,
        Err(error) => return Err(proxy_error(error)),
    };
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(response.head.status).unwrap_or(StatusCode::BAD_GATEWAY));
    for (name, value) in &response.head.headers {
        if DROPPED_RESPONSE_HEADERS.contains(&name.as_str()) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            builder = builder.header(name, value);
        }
    }
    // Streamed as it arrives; a failure after the status was sent (the size limit, the
    // timeout, a broken upstream) aborts the body, so the client sees an incomplete response
    // rather than a truncated one that looks whole.
    builder
        .body(Body::from_stream(response.body))
        .map_err(|error| ApiError::Internal(format!("building the proxied response: {error}")))
}

fn proxy_error(error: trestle_runtime::RuntimeError) -> ApiError {
    use trestle_runtime::RuntimeError;
    let status = match &error {
        RuntimeError::Connection { code, .. } if *code == "CONNECTION_NOT_FOUND" => {
            StatusCode::NOT_FOUND
        }
        RuntimeError::Connection { .. } => StatusCode::CONFLICT,
        RuntimeError::Outbound {
            egress_refusal: true,
            ..
        } => StatusCode::FORBIDDEN,
        RuntimeError::Outbound { .. } => StatusCode::BAD_GATEWAY,
        RuntimeError::InvalidRequest { .. } | RuntimeError::InvalidRoute { .. } => {
            StatusCode::BAD_REQUEST
        }
        RuntimeError::Storage { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        RuntimeError::InvalidFunction { .. }
        | RuntimeError::InvalidArguments { .. }
        | RuntimeError::FunctionNotFound { .. } => StatusCode::BAD_REQUEST,
    };
    ApiError::Domain {
        status,
        code: error.code(),
        message: error.to_string(),
        details: None,
    }
}
