//! API tokens for programs: create (shown once), list, show, revoke. A token acts for the
//! member who created it, with that member's current role, in one organization only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use trestle_store::{ApiToken, ApiTokenId, OrganizationId, Role, StoreError};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::views::ApiTokenView;
use crate::api::{ReadErrors, WriteErrors, record_audit};
use crate::auth::{AuthenticatedPrincipal, OrganizationAccess};
use crate::error::{ApiError, Resource};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(show_token, revoke_token))
}

/// Longest lifetime a token can be given, in days (ten years).
const MAX_EXPIRES_IN_DAYS: u32 = 3650;

/// New API token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What the token is for (1 to 100 characters).
    pub name: String,
    /// Days until it expires (1 to 3650); omitted or null: until revoked.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

/// A token just created. `token` is shown only in this answer: store it now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: String,
    pub api_token: ApiTokenView,
}

/// Tokens of the organization (admins see all, others their own), newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<ApiTokenView>,
}

/// Path of one token.
#[derive(Debug, Deserialize)]
pub struct TokenPath {
    pub org_id: Uuid,
    pub token_id: Uuid,
}

/// The organization's API tokens: all of them for admins, the caller's own for others.
#[utoipa::path(get, path = "", tag = "tokens",
    params(("org_id" = Uuid, Path, description = "Organization id")),
    responses((status = 200, description = "Tokens (never the secret)", body = TokenList), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn list_tokens(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
) -> Result<Json<TokenList>, ApiError> {
    let access = principal
        .organization_access(&state.store, OrganizationId::from_uuid(org_id))
        .await?;
    let tokens = state
        .store
        .api_tokens()
        .list(access.organization_id)
        .await?;
    Ok(Json(TokenList {
        tokens: tokens
            .into_iter()
            .filter(|token| may_see(&principal, &access, token))
            .map(Into::into)
            .collect(),
    }))
}

/// Creates an API token acting for the caller in this organization. Only from a console
/// session (a token cannot mint tokens). The secret is in this answer only.
#[utoipa::path(post, path = "", tag = "tokens", request_body = CreateTokenRequest,
    params(("org_id" = Uuid, Path, description = "Organization id")),
    responses((status = 201, description = "Created; `token` is shown only now", body = CreatedToken), WriteErrors),
    security(("session_cookie" = [])))]
async fn create_token(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let access = principal
        .organization_access(&state.store, OrganizationId::from_uuid(org_id))
        .await?;
    if !principal.is_session() {
        return Err(ApiError::forbidden(
            "API tokens are created from a console session, not with another API token",
        ));
    }
    let expires_at = match request.expires_in_days {
        None => None,
        Some(days) if (1..=MAX_EXPIRES_IN_DAYS).contains(&days) => {
            Some(Utc::now() + TimeDelta::days(i64::from(days)))
        }
        Some(_) => {
            return Err(ApiError::validation(
                "expires_in_days",
                format!("expires_in_days must be between 1 and {MAX_EXPIRES_IN_DAYS}"),
            ));
        }
    };
    let issued = state
        .store
        .api_tokens()
        .issue(
            access.organization_id,
            &request.name,
            Some(principal.user.id),
            expires_at,
        )
        .await
        .map_err(|store_error| match store_error {
            StoreError::InvalidInput { message, .. } => {
                ApiError::validation("name", format!("name {message}"))
            }
            other => other.into(),
        })?;
    record_audit(
        &state,
        &principal,
        Some(access.organization_id),
        "api_token.created",
        Some(("api_token", issued.api_token.id.to_string())),
        serde_json::json!({ "name": issued.api_token.name, "prefix": issued.api_token.token_prefix }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: issued.token.expose().to_owned(),
            api_token: issued.api_token.into(),
        }),
    ))
}

/// One API token (admins: any of the organization's; others: their own).
#[utoipa::path(get, path = "/{token_id}", tag = "tokens",
    params(("org_id" = Uuid, Path, description = "Organization id"), ("token_id" = Uuid, Path, description = "API token id")),
    responses((status = 200, description = "The token (never the secret)", body = ApiTokenView), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn show_token(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<TokenPath>,
) -> Result<Json<ApiTokenView>, ApiError> {
    let (_, token) = visible_token(&state, &principal, &path).await?;
    Ok(Json(token.into()))
}

/// Revokes an API token at once (admins: any of the organization's; others: their own).
/// Revoking twice is harmless.
#[utoipa::path(delete, path = "/{token_id}", tag = "tokens",
    params(("org_id" = Uuid, Path, description = "Organization id"), ("token_id" = Uuid, Path, description = "API token id")),
    responses((status = 204, description = "Revoked"), WriteErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn revoke_token(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<TokenPath>,
) -> Result<StatusCode, ApiError> {
    let (access, token) = visible_token(&state, &principal, &path).await?;
    let revoked = state
        .store
        .api_tokens()
        .revoke(access.organization_id, token.id)
        .await?;
    record_audit(
        &state,
        &principal,
        Some(access.organization_id),
        "api_token.revoked",
        Some(("api_token", revoked.id.to_string())),
        serde_json::json!({ "name": revoked.name, "prefix": revoked.token_prefix }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn visible_token(
    state: &AppState,
    principal: &AuthenticatedPrincipal,
    path: &TokenPath,
) -> Result<(OrganizationAccess, ApiToken), ApiError> {
    let access = principal
        .organization_access(&state.store, OrganizationId::from_uuid(path.org_id))
        .await?;
    let token = state
        .store
        .api_tokens()
        .get(access.organization_id, ApiTokenId::from_uuid(path.token_id))
        .await?;
    if may_see(principal, &access, &token) {
        Ok((access, token))
    } else {
        Err(ApiError::not_found(Resource::ApiToken))
    }
}

fn may_see(
    principal: &AuthenticatedPrincipal,
    access: &OrganizationAccess,
    token: &ApiToken,
) -> bool {
    access.role == Role::Admin || token.created_by == Some(principal.user.id)
}
