//! An organization's two environments, `production` and `sandbox`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use trestle_store::OrganizationId;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::ReadErrors;
use crate::api::views::{EnvironmentName, EnvironmentView};
use crate::auth::AuthenticatedPrincipal;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_environments))
        .routes(routes!(show_environment))
}

/// Both environments of an organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentList {
    pub environments: Vec<EnvironmentView>,
}

/// Path of one environment.
#[derive(Debug, Deserialize)]
pub struct EnvironmentPath {
    pub org_id: Uuid,
    pub environment: EnvironmentName,
}

/// The organization's environments, production first.
#[utoipa::path(get, path = "", tag = "environments",
    params(("org_id" = Uuid, Path, description = "Organization id")),
    responses((status = 200, description = "Environments", body = EnvironmentList), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn list_environments(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
) -> Result<Json<EnvironmentList>, ApiError> {
    let access = principal
        .organization_access(&state.store, OrganizationId::from_uuid(org_id))
        .await?;
    let environments = state
        .store
        .environments()
        .list(access.organization_id)
        .await?;
    Ok(Json(EnvironmentList {
        environments: environments.into_iter().map(Into::into).collect(),
    }))
}

/// One environment, by name.
#[utoipa::path(get, path = "/{environment}", tag = "environments",
    params(("org_id" = Uuid, Path, description = "Organization id"),
           ("environment" = EnvironmentName, Path, description = "`production` or `sandbox`")),
    responses((status = 200, description = "The environment", body = EnvironmentView), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn show_environment(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<EnvironmentPath>,
) -> Result<Json<EnvironmentView>, ApiError> {
    let access = principal
        .organization_access(&state.store, OrganizationId::from_uuid(path.org_id))
        .await?;
    let environment = state
        .store
        .environments()
        .by_kind(access.organization_id, path.environment.into())
        .await?;
    Ok(Json(environment.into()))
}
