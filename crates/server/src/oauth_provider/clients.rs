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

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trestle_crm::scopes::GrantedScopes;
use trestle_store::oauth_provider::{ClientType, OauthClient, OauthGrant};
use trestle_store::{EnvironmentKind, OrganizationId};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::ConnectionErrors;
use crate::api::views::EnvironmentName;
use crate::auth::AuthenticatedPrincipal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// The client management routes, with their OpenAPI entries (full paths; merge at the root).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, register_client))
        .routes(routes!(delete_client))
        .routes(routes!(issue_self_client_code))
}

/// A client to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterClientRequest {
    /// Defaults to the API token's organization.
    #[schema(value_type = Option<Uuid>)]
    pub organization_id: Option<OrganizationId>,
    /// Shown on the consent page.
    pub name: String,
    /// `web` (secret and redirect URIs), `public` (no secret, PKCE) or `server` (self client,
    /// client credentials).
    pub client_type: String,
    /// Allowed redirect URIs (web and public clients).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// Which organization's clients to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListClientsQuery {
    /// Defaults to the API token's organization.
    #[param(value_type = Option<Uuid>)]
    pub organization_id: Option<OrganizationId>,
}

/// A self-client grant code request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfClientCodeRequest {
    /// Scopes, comma separated, e.g. `ZohoBigin.modules.ALL`.
    pub scope: String,
    /// `production` (default) or `sandbox`.
    #[serde(default)]
    pub environment: Option<String>,
}

/// A registered client (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct OauthClientView {
    pub client_id: String,
    pub organization_id: Uuid,
    pub name: String,
    /// web, public or server.
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A client just registered: `client_secret` is shown only in this answer (null for public
/// clients).
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredClient {
    #[serde(flatten)]
    pub client: OauthClientView,
    pub client_secret: Option<String>,
}

/// The organization's clients.
#[derive(Debug, Serialize, ToSchema)]
pub struct OauthClientList {
    pub items: Vec<OauthClientView>,
}

/// A self-client grant code, to exchange at `/oauth/v2/token`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SelfClientCode {
    pub code: String,
    /// Seconds until the code expires.
    pub expires_in: i64,
    pub scope: String,
    pub environment: EnvironmentName,
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

fn client_view(client: &OauthClient) -> OauthClientView {
    OauthClientView {
        client_id: client.id.clone(),
        organization_id: client.organization_id.as_uuid(),
        name: client.name.clone(),
        client_type: client.client_type.as_str().to_owned(),
        redirect_uris: client.redirect_uris.clone(),
        created_by: client.created_by.map(|user_id| user_id.as_uuid()),
        created_at: client.created_at,
    }
}

/// Registers a client of Trestle's OAuth server. The secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/oauth-clients", tag = "oauth-clients",
    request_body = RegisterClientRequest,
    responses((status = 201, description = "Registered; `client_secret` is shown only now", body = RegisteredClient), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn register_client(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiJson(request): ApiJson<RegisterClientRequest>,
) -> Result<(StatusCode, Json<RegisteredClient>), ApiError> {
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
        serde_json::json!({ "name": registered.client.name, "client_type": client_type.as_str() }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisteredClient {
            client: client_view(&registered.client),
            client_secret: registered
                .client_secret
                .as_ref()
                .map(|secret| secret.expose().to_owned()),
        }),
    ))
}

/// The organization's clients (never a secret).
#[utoipa::path(get, path = "/api/v1/oauth-clients", tag = "oauth-clients",
    params(ListClientsQuery),
    responses((status = 200, description = "Clients", body = OauthClientList), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn list_clients(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiQuery(query): ApiQuery<ListClientsQuery>,
) -> Result<Json<OauthClientList>, ApiError> {
    let organization_id = organization_of(&principal, query.organization_id)?;
    principal
        .organization_access(&state.store, organization_id)
        .await?;
    let clients = state
        .store
        .oauth_provider()
        .list_clients(organization_id)
        .await?;
    Ok(Json(OauthClientList {
        items: clients.iter().map(client_view).collect(),
    }))
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

/// Deletes a client and every code and token issued to it.
#[utoipa::path(delete, path = "/api/v1/oauth-clients/{client_id}", tag = "oauth-clients",
    params(("client_id" = String, Path, description = "The client_id")),
    responses((status = 204, description = "Deleted"), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn delete_client(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(client_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
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
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A self-client grant code for the caller (Zoho's "Self Client"), exchanged at
/// `/oauth/v2/token` like any code, without a redirect_uri.
#[utoipa::path(post, path = "/api/v1/oauth-clients/{client_id}/grant-codes", tag = "oauth-clients",
    params(("client_id" = String, Path, description = "The client_id")),
    request_body = SelfClientCodeRequest,
    responses((status = 201, description = "The code (single use, short-lived)", body = SelfClientCode), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn issue_self_client_code(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(client_id): ApiPath<String>,
    ApiJson(request): ApiJson<SelfClientCodeRequest>,
) -> Result<(StatusCode, Json<SelfClientCode>), ApiError> {
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
        Json(SelfClientCode {
            code: code.expose().to_owned(),
            expires_in: trestle_store::oauth_provider::GRANT_CODE_LIFETIME.num_seconds(),
            scope: grant.scopes,
            environment: kind.into(),
        }),
    ))
}
