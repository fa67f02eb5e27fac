//! Per-environment stand-in routes (operator configuration):
//! `GET/PUT /api/v1/environments/{environment}/egress-routes`. A route sends every request for
//! a service host (e.g. `books.zoho.com`) to a stand-in base URL (e.g. `http://127.0.0.1:9100`),
//! so toppings run unchanged against local stand-ins. Routes apply only to the environment they
//! are configured in. Because a routed target is exempt from the SSRF guard, only a platform
//! administrator (the operator) may change them; members can read them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use trestle_store::NewAuditEntry;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::functions::{organization_of, runtime_of};
use crate::api::views::EnvironmentName;
use crate::api::{ReadErrors, WriteErrors};
use crate::auth::AuthenticatedPrincipal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_egress_routes, replace_egress_routes))
}

/// One stand-in route.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressRouteView {
    /// A bare host name, e.g. `books.zoho.com`.
    pub host: String,
    /// An http(s) base URL without query, e.g. `http://127.0.0.1:9100`.
    pub target: String,
}

/// The routes of one environment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressRoutes {
    pub routes: Vec<EgressRouteView>,
}

/// The stand-in routes in force in the environment.
#[utoipa::path(get, path = "/egress-routes", tag = "environments",
    params(("environment" = EnvironmentName, Path, description = "`production` or `sandbox`")),
    responses((status = 200, description = "Routes", body = EgressRoutes), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn list_egress_routes(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(environment): ApiPath<EnvironmentName>,
) -> Result<Json<EgressRoutes>, ApiError> {
    let access = organization_of(&state, &principal).await?;
    let runtime = runtime_of(&state)?;
    let routes = runtime.routes(access.organization_id, environment.into());
    Ok(Json(EgressRoutes {
        routes: routes
            .into_iter()
            .map(|route| EgressRouteView {
                host: route.host,
                target: route.target,
            })
            .collect(),
    }))
}

/// Replaces the environment's stand-in routes (an empty list removes them). Platform
/// administrators only; audit-logged as `egress_routes.replaced`.
#[utoipa::path(put, path = "/egress-routes", tag = "environments",
    params(("environment" = EnvironmentName, Path, description = "`production` or `sandbox`")),
    request_body = EgressRoutes,
    responses((status = 200, description = "Routes now in force", body = EgressRoutes), WriteErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn replace_egress_routes(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(environment): ApiPath<EnvironmentName>,
    ApiJson(request): ApiJson<EgressRoutes>,
) -> Result<Json<EgressRoutes>, ApiError> {
    let access = organization_of(&state, &principal).await?;
    access.require_admin("change stand-in routes")?;
    if !principal.is_platform_admin {
        return Err(ApiError::forbidden(
            "stand-in routes bypass the egress guard, so only a platform administrator (the operator) can change them",
        ));
    }
    let runtime = runtime_of(&state)?;
    let routes = runtime
        .set_routes(
            access.organization_id,
            environment.into(),
            request
                .routes
                .into_iter()
                .map(|route| trestle_runtime::EgressRoute {
                    host: route.host,
                    target: route.target,
                })
                .collect(),
        )
        .map_err(|error| ApiError::Domain {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: error.code(),
            message: error.to_string(),
            details: None,
        })?;
    let environment_kind: trestle_store::EnvironmentKind = environment.into();
    state
        .store
        .audit()
        .record(&NewAuditEntry {
            actor: principal.actor(),
            organization_id: Some(access.organization_id),
            action: "egress_routes.replaced",
            target_kind: Some("environment"),
            target_id: Some(environment_kind.as_str().to_owned()),
            details: serde_json::json!({ "routes": routes }),
        })
        .await?;
    Ok(Json(EgressRoutes {
        routes: routes
            .into_iter()
            .map(|route| EgressRouteView {
                host: route.host,
                target: route.target,
            })
            .collect(),
    }))
}
