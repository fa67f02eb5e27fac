//! Management API for the clients of Trestle's authorization server (management error
//! shapes, console session or API token):
//!
//! - `POST /api/v1/oauth-clients` `{"organization_id"?, "name", "client_type":
//!   "web"|"public"|"server", "redirect_uris":[...]}`: registers a client; the answer shows
//!   `client_secret` once. `organization_id` defaults to an API token's organization.
//! - `GET /api/v1/oauth-clients?organization_id=`: lists the organization's clients.
//! - `DELETE /api/v1/oauth-clients/{client_id}`: deletes a client with its tokens.
//! - `POST /api/v1/oauth-clients/{client_id}/grant-codes` `{"scope", "environment"}`: a
//!   self-client grant code for the caller (Zoho's "Self Client"), exchanged at
//!   `/oauth/v2/token` like any code (no redirect_uri); for scripts, tests and the CLI.
//!
//! Registering, deleting and self-client codes need the organization's admin or developer
//! role.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use trestle_crm::scopes::GrantedScopes;
use trestle_store::oauth_provider::{ClientType, OauthClient, OauthGrant};
use trestle_store::{EnvironmentKind, OrganizationId};

use crate::auth::AuthenticatedPrincipal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/oauth-clients",
            get(list_clients).post(register_client),
        )
        .route("/api/v1/oauth-clients/{client_id}", delete(delete_client))
        .route(
            "/api/v1/oauth-clients/{client_id}/grant-codes",
            post(issue_self_client_code),
        )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterClientRequest {
    pub organization_id: Option<OrganizationId>,
    pub name: String,
    pub client_type: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListClientsQuery {
    pub organization_id: Option<OrganizationId>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfClientCodeRequest {
    pub scope: String,
    #[serde(default)]
    pub environment: Option<String>,
}

fn organization_of(
    principal: &AuthenticatedPrincipal,
    requested: Option<OrganizationId>,
) -> Result<OrganizationId, ApiError> {
    requested
        .or_else(|| principal.token_organization())
        .ok_or_else(|| {
            ApiError::validation(
                "organization_id",
                "name the organization the client belongs to (organization_id)",
            )
        })
}

fn client_view(client: &OauthClient) -> serde_json::Value {
    json!({
        "client_id": client.id,
        "organization_id": client.organization_id,
        "name": client.name,
        "client_type": client.client_type.as_str(),
        "redirect_uris": client.redirect_uris,
        "created_by": client.created_by,
        "created_at": client.created_at,
    })
}

async fn register_client(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiJson(request): ApiJson<RegisterClientRequest>,
) -> Result<Response, ApiError> {
    let organization_id = organization_of(&principal, request.organization_id)?;
    principal
        .organization_access(&state.store, organization_id)
        .await?
        .require_developer("register OAuth clients")?;
    let client_type = ClientType::parse(&request.client_type)
        .ok_or_else(|| ApiError::validation("client_type", "must be web, public or server"))?;
    let registered = state
        .store
        .oauth_provider()
        .register_client(
            organization_id,
            &request.name,
            client_type,
            &request.redirect_uris,
            Some(principal.user.id),
        )
        .await?;
    crate::api::record_audit(
        &state,
        &principal,
        Some(organization_id),
        "oauth_client.registered",
        Some(("oauth_client", registered.client.id.clone())),
        json!({ "name": registered.client.name, "client_type": client_type.as_str() }),
    )
    .await?;
    let mut body = client_view(&registered.client);
    body["client_secret"] = match &registered.client_secret {
        Some(secret) => json!(secret.expose()),
        None => serde_json::Value::Null,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn list_clients(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiQuery(query): ApiQuery<ListClientsQuery>,
) -> Result<Response, ApiError> {
    let organization_id = organization_of(&principal, query.organization_id)?;
    principal
        .organization_access(&state.store, organization_id)
        .await?;
    let clients = state
        .store
        .oauth_provider()
        .list_clients(organization_id)
        .await?;
    let items: Vec<serde_json::Value> = clients.iter().map(client_view).collect();
    Ok(Json(json!({ "items": items })).into_response())
}

async fn find_client(
    state: &AppState,
    principal: &AuthenticatedPrincipal,
    client_id: &str,
    action: &str,
) -> Result<OauthClient, ApiError> {
    let not_found = || ApiError::Domain {
        status: StatusCode::NOT_FOUND,
        code: "OAUTH_CLIENT_NOT_FOUND",
        message: "no OAuth client with this client_id in your organizations".to_owned(),
        details: None,
    };
    let client = state
        .store
        .oauth_provider()
        .client(client_id)
        .await?
        .ok_or_else(not_found)?;
    let access = principal
        .organization_access(&state.store, client.organization_id)
        .await
        .map_err(|_| not_found())?;
    access.require_developer(action)?;
    Ok(client)
}

async fn delete_client(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    let client = find_client(&state, &principal, &client_id, "delete OAuth clients").await?;
    state
        .store
        .oauth_provider()
        .delete_client(client.organization_id, &client.id)
        .await?;
    crate::api::record_audit(
        &state,
        &principal,
        Some(client.organization_id),
        "oauth_client.deleted",
        Some(("oauth_client", client.id.clone())),
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn issue_self_client_code(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    Path(client_id): Path<String>,
    ApiJson(request): ApiJson<SelfClientCodeRequest>,
) -> Result<Response, ApiError> {
    let client = find_client(&state, &principal, &client_id, "issue self-client codes").await?;
    let scopes = GrantedScopes::parse(&request.scope)
        .map_err(|error| ApiError::validation("scope", error.to_string()))?;
    let kind = match request.environment.as_deref().unwrap_or("production") {
        "production" => EnvironmentKind::Production,
        "sandbox" => EnvironmentKind::Sandbox,
        _ => {
            return Err(ApiError::validation(
                "environment",
                "must be production or sandbox",
            ));
        }
    };
    let environment = state
        .store
        .environments()
        .by_kind(client.organization_id, kind)
        .await?;
    let grant = OauthGrant {
        client_id: client.id.clone(),
        user_id: principal.user.id,
        organization_id: client.organization_id,
        environment_id: environment.id,
        scopes: scopes.to_scope_string(),
    };
    let code = state
        .store
        .oauth_provider()
        .issue_grant_code(&grant, None, None)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "code": code.expose(),
            "expires_in": trestle_store::oauth_provider::GRANT_CODE_LIFETIME.num_seconds(),
            "scope": grant.scopes,
            "environment": kind.as_str(),
        })),
    )
        .into_response())
}
