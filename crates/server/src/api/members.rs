//! Users and their memberships within one organization: add (creating the user with a
//! one-time password when the email is new), list, show, change role, remove.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use trestle_store::{NewUser, OrganizationId, StoreError, UserId, password};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::views::{MemberView, RoleView};
use crate::api::{ReadErrors, WriteErrors, record_audit};
use crate::auth::AuthenticatedPrincipal;
use crate::error::{ApiError, Resource};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members, add_member))
        .routes(routes!(show_member, change_member_role, remove_member))
}

/// Adds a member; creates the user when no account has this email.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    pub email: String,
    /// Used only when the user is created; defaults to the part of the email before `@`.
    pub display_name: Option<String>,
    pub role: RoleView,
}

/// The new member, and for a newly created user the one-time password to hand over (shown
/// only here; it must be changed at first sign-in).
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedMember {
    pub member: MemberView,
    pub user_created: bool,
    pub one_time_password: Option<String>,
}

/// New role of a member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRoleRequest {
    pub role: RoleView,
}

/// The members of an organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<MemberView>,
}

/// Path of one member.
#[derive(Debug, Deserialize)]
pub struct MemberPath {
    pub org_id: Uuid,
    pub user_id: Uuid,
}

/// Members of the organization, in order of joining.
#[utoipa::path(get, path = "", tag = "members",
    params(("org_id" = Uuid, Path, description = "Organization id")),
    responses((status = 200, description = "Members", body = MemberList), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn list_members(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
) -> Result<Json<MemberList>, ApiError> {
    let access = principal
        .organization_access(&state.store, OrganizationId::from_uuid(org_id))
        .await?;
    let members = state
        .store
        .memberships()
        .list_members(access.organization_id)
        .await?;
    Ok(Json(MemberList {
        members: members.into_iter().map(Into::into).collect(),
    }))
}

/// Adds a user to the organization with a role (admins only). A new email creates the user
/// with a one-time password, returned once.
#[utoipa::path(post, path = "", tag = "members", request_body = AddMemberRequest,
    params(("org_id" = Uuid, Path, description = "Organization id")),
    responses((status = 201, description = "Added", body = AddedMember), WriteErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn add_member(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<AddMemberRequest>,
) -> Result<(StatusCode, Json<AddedMember>), ApiError> {
    let access = principal
        .organization_access(&state.store, OrganizationId::from_uuid(org_id))
        .await?;
    access.require_admin("add members")?;
    let organization_id = access.organization_id;
    let store = &state.store;
    let existing = store.users().find_by_email(&request.email).await?;
    let (user, one_time_password) = match existing {
        Some(user) => {
            store
                .memberships()
                .add(organization_id, user.id, request.role.into())
                .await
                .map_err(|store_error| match store_error {
                    StoreError::AlreadyExists { .. } => ApiError::Conflict {
                        code: "ALREADY_MEMBER",
                        message: format!("{} is already a member of this organization", user.email),
                    },
                    other => other.into(),
                })?;
            (user, None)
        }
        None => {
            let display_name = request.display_name.clone().unwrap_or_else(|| {
                request
                    .email
                    .trim()
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            });
            let one_time_password = password::generate_one_time_password();
            let password_for_hashing = one_time_password.clone();
            let password_hash =
                tokio::task::spawn_blocking(move || password::hash_password(&password_for_hashing))
                    .await
                    .map_err(|join_error| {
                        ApiError::Internal(format!("password hashing failed: {join_error}"))
                    })??;
            let (user, _membership) = store
                .users()
                .create_in_organization(
                    organization_id,
                    &NewUser {
                        email: &request.email,
                        display_name: &display_name,
                        password_hash: &password_hash,
                        must_change_password: true,
                    },
                    request.role.into(),
                )
                .await
                .map_err(|store_error| match store_error {
                    StoreError::InvalidInput { field, message } => ApiError::Validation {
                        field: if field == "display name" {
                            "display_name"
                        } else {
                            field
                        },
                        message: format!("{field} {message}"),
                    },
                    other => other.into(),
                })?;
            (user, Some(one_time_password))
        }
    };
    let member = store.memberships().member(organization_id, user.id).await?;
    record_audit(
        &state,
        &principal,
        Some(organization_id),
        "member.added",
        Some(("user", user.id.to_string())),
        serde_json::json!({ "role": member.role.as_str(), "user_created": one_time_password.is_some() }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(AddedMember {
            member: member.into(),
            user_created: one_time_password.is_some(),
            one_time_password,
        }),
    ))
}

/// One member of the organization.
#[utoipa::path(get, path = "/{user_id}", tag = "members",
    params(("org_id" = Uuid, Path, description = "Organization id"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The member", body = MemberView), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn show_member(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<MemberPath>,
) -> Result<Json<MemberView>, ApiError> {
    let access = principal
        .organization_access(&state.store, OrganizationId::from_uuid(path.org_id))
        .await?;
    let member = state
        .store
        .memberships()
        .member(access.organization_id, UserId::from_uuid(path.user_id))
        .await
        .map_err(member_not_found)?;
    Ok(Json(member.into()))
}

/// Changes a member's role (admins only). The last admin cannot be demoted.
#[utoipa::path(patch, path = "/{user_id}", tag = "members", request_body = ChangeRoleRequest,
    params(("org_id" = Uuid, Path, description = "Organization id"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The member with the new role", body = MemberView), WriteErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn change_member_role(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<MemberPath>,
    ApiJson(request): ApiJson<ChangeRoleRequest>,
) -> Result<Json<MemberView>, ApiError> {
    let access = principal
        .organization_access(&state.store, OrganizationId::from_uuid(path.org_id))
        .await?;
    access.require_admin("change roles")?;
    let user_id = UserId::from_uuid(path.user_id);
    let previous = state
        .store
        .memberships()
        .member(access.organization_id, user_id)
        .await
        .map_err(member_not_found)?;
    state
        .store
        .memberships()
        .set_role(access.organization_id, user_id, request.role.into())
        .await
        .map_err(last_admin_conflict)?;
    let member = state
        .store
        .memberships()
        .member(access.organization_id, user_id)
        .await
        .map_err(member_not_found)?;
    record_audit(
        &state,
        &principal,
        Some(access.organization_id),
        "member.role_changed",
        Some(("user", user_id.to_string())),
        serde_json::json!({ "from": previous.role.as_str(), "to": member.role.as_str() }),
    )
    .await?;
    Ok(Json(member.into()))
}

/// Removes a member from the organization (admins only); their API tokens for it stop
/// working. The last admin cannot be removed.
#[utoipa::path(delete, path = "/{user_id}", tag = "members",
    params(("org_id" = Uuid, Path, description = "Organization id"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Removed"), WriteErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn remove_member(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<MemberPath>,
) -> Result<StatusCode, ApiError> {
    let access = principal
        .organization_access(&state.store, OrganizationId::from_uuid(path.org_id))
        .await?;
    access.require_admin("remove members")?;
    let user_id = UserId::from_uuid(path.user_id);
    state
        .store
        .memberships()
        .remove(access.organization_id, user_id)
        .await
        .map_err(|store_error| match store_error {
            StoreError::NotFound { .. } => ApiError::not_found(Resource::Member),
            other => last_admin_conflict(other),
        })?;
    record_audit(
        &state,
        &principal,
        Some(access.organization_id),
        "member.removed",
        Some(("user", user_id.to_string())),
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn member_not_found(store_error: StoreError) -> ApiError {
    match store_error {
        StoreError::NotFound { .. } => ApiError::not_found(Resource::Member),
        other => other.into(),
    }
}

fn last_admin_conflict(store_error: StoreError) -> ApiError {
    match store_error {
        StoreError::Conflict { message } => ApiError::Conflict {
            code: "LAST_ADMIN",
            message,
        },
        StoreError::NotFound { .. } => ApiError::not_found(Resource::Member),
        other => other.into(),
    }
}
