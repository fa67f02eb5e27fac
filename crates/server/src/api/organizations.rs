//! Organizations: create (platform administrators), list the caller's, show one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use trestle_store::{OrganizationId, Role};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::views::{EnvironmentView, OrganizationWithRole};
use crate::api::{ReadErrors, WriteErrors, record_audit};
use crate::auth::AuthenticatedPrincipal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_organizations, create_organization))
        .routes(routes!(show_organization))
}

/// New organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganizationRequest {
    /// 1 to 200 characters.
    pub name: String,
}

/// A new organization, its two environments, and the creator's role (admin).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOrganizationView {
    pub organization: OrganizationWithRole,
    pub environments: Vec<EnvironmentView>,
}

/// The list of the caller's organizations.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationList {
    pub organizations: Vec<OrganizationWithRole>,
}

/// Organizations the caller belongs to (for an API token: its organization).
#[utoipa::path(get, path = "", tag = "organizations",
    responses((status = 200, description = "The caller's organizations", body = OrganizationList), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn list_organizations(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
) -> Result<Json<OrganizationList>, ApiError> {
    let organizations = principal.organizations(&state.store).await?;
    Ok(Json(OrganizationList {
        organizations: organizations.into_iter().map(Into::into).collect(),
    }))
}

/// Creates an organization with its `production` and `sandbox` environments; the caller
/// becomes its admin. Platform administrators only, from a console session.
#[utoipa::path(post, path = "", tag = "organizations", request_body = CreateOrganizationRequest,
    responses((status = 201, description = "Created", body = CreatedOrganizationView), WriteErrors),
    security(("session_cookie" = [])))]
async fn create_organization(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiJson(request): ApiJson<CreateOrganizationRequest>,
) -> Result<(StatusCode, Json<CreatedOrganizationView>), ApiError> {
    if !principal.is_platform_admin {
        return Err(ApiError::forbidden(
            "only a platform administrator can create organizations (see `trestle admin create-org`)",
        ));
    }
    let created = state.store.organizations().create(&request.name).await?;
    let membership = state
        .store
        .memberships()
        .add(created.organization.id, principal.user.id, Role::Admin)
        .await?;
    record_audit(
        &state,
        &principal,
        Some(created.organization.id),
        "organization.created",
        Some(("organization", created.organization.id.to_string())),
        serde_json::json!({ "name": created.organization.name }),
    )
    .await?;
    let organization = OrganizationWithRole {
        id: created.organization.id.as_uuid(),
        name: created.organization.name,
        created_at: created.organization.created_at,
        role: membership.role.into(),
    };
    Ok((
        StatusCode::CREATED,
        Json(CreatedOrganizationView {
            organization,
            environments: vec![created.production.into(), created.sandbox.into()],
        }),
    ))
}

/// One organization the caller belongs to.
#[utoipa::path(get, path = "/{org_id}", tag = "organizations",
    params(("org_id" = Uuid, Path, description = "Organization id")),
    responses((status = 200, description = "The organization", body = OrganizationWithRole), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn show_organization(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
) -> Result<Json<OrganizationWithRole>, ApiError> {
    let organization_id = OrganizationId::from_uuid(org_id);
    let access = principal
        .organization_access(&state.store, organization_id)
        .await?;
    let organization = state.store.organizations().get(organization_id).await?;
    Ok(Json(OrganizationWithRole {
        id: organization.id.as_uuid(),
        name: organization.name,
        created_at: organization.created_at,
        role: access.role.into(),
    }))
}
