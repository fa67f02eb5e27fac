//! Liveness, readiness and metrics. Unauthenticated, outside `/api/v1`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::HealthErrors;
use crate::error::ApiError;
use crate::metrics::METRICS_CONTENT_TYPE;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// Answer of the health endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok`.
    pub status: String,
}

/// The process is up and answering.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "The process is up", body = HealthStatus)))]
async fn healthz() -> Json<HealthStatus> {
    Json(HealthStatus {
        status: "ok".to_owned(),
    })
}

/// The database is reachable and every migration this build knows is applied.
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses((status = 200, description = "Ready to serve", body = HealthStatus), HealthErrors))]
async fn readyz(State(state): State<AppState>) -> Result<Json<HealthStatus>, ApiError> {
    let unavailable = |message: String| ApiError::ServiceUnavailable { message };
    state
        .store
        .ping()
        .await
        .map_err(|store_error| unavailable(store_error.to_string()))?;
    let migrated = state
        .store
        .migrations_applied()
        .await
        .map_err(|store_error| unavailable(store_error.to_string()))?;
    if !migrated {
        return Err(unavailable(
            "the database schema is missing migrations this version needs".to_owned(),
        ));
    }
    Ok(Json(HealthStatus {
        status: "ok".to_owned(),
    }))
}

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Metrics", content_type = "application/openmetrics-text", body = String)))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(METRICS_CONTENT_TYPE),
        )],
        state.metrics.encode(),
    )
}
