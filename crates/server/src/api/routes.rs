//! Per-environment operator configuration, stored in the database so every server process
//! applies the same:
//! - stand-in routes, `GET/PUT /api/v1/environments/{environment}/egress-routes`: a route sends
//!   every request for a service host (e.g. `books.zoho.com`) to a stand-in base URL (e.g.
//!   `http://127.0.0.1:9100`), so toppings run unchanged against local stand-ins;
//! - service overrides, `/api/v1/environments/{environment}/service-overrides[/{service_key}]`:
//!   a service's OAuth endpoints, the operator's OAuth client for it (the secret is stored
//!   encrypted and never shown back) and operator-fixed template variables (the `bigin` service
//!   pointed at this Trestle: `accounts_server` and `api_domain` = its public URL).
//!
//! Both apply only to the environment they are configured in. Routed targets are exempt from
//! the SSRF guard and overrides decide where client secrets and codes are sent, so only a
//! platform administrator (the operator) may change them; members can read them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trestle_connections::{ServiceOverrideInput, ServiceOverrideView};
use trestle_store::NewAuditEntry;
use trestle_vault::SecretString;
use utoipa::{IntoParams, ToSchema};
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
    OpenApiRouter::new()
        .routes(routes!(list_egress_routes, replace_egress_routes))
        .routes(routes!(list_service_overrides))
        .routes(routes!(
            show_service_override,
            replace_service_override,
            delete_service_override
        ))
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
    let routes = runtime
        .routes(access.organization_id, environment.into())
        .await
        .map_err(runtime_error)?;
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
    require_operator(&access, &principal, "change stand-in routes")?;
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
        .await
        .map_err(runtime_error)?;
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

fn runtime_error(error: trestle_runtime::RuntimeError) -> ApiError {
    let status = match &error {
        trestle_runtime::RuntimeError::InvalidRoute { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::Domain {
        status,
        code: error.code(),
        message: error.to_string(),
        details: None,
    }
}

/// Organization admin and platform administrator (the operator): routes and overrides decide
/// where requests, codes and client secrets go.
fn require_operator(
    access: &crate::auth::OrganizationAccess,
    principal: &AuthenticatedPrincipal,
    action: &str,
) -> Result<(), ApiError> {
    access.require_admin(action)?;
    if !principal.is_platform_admin {
        return Err(ApiError::forbidden(format!(
            "only a platform administrator (the operator) can {action}: it decides where requests, authorization codes and client secrets are sent"
        )));
    }
    Ok(())
}

fn manager_of(state: &AppState) -> Result<&trestle_connections::ConnectionManager, ApiError> {
    if let Some(manager) = state.connections.as_deref() {
        return Ok(manager);
    }
    Ok(runtime_of(state)?.connections().as_ref())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct ServiceOverridePath {
    /// `production` or `sandbox`.
    environment: EnvironmentName,
    /// A service key, e.g. `zoho_books` or `bigin`.
    service_key: String,
}

/// The operator's overrides of one service in one environment. The client secret is never
/// shown: `client_secret_set` says whether one is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceOverrideResponse {
    pub service_key: String,
    pub environment: EnvironmentName,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub revoke_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_set: bool,
    pub variables: BTreeMap<String, String>,
    pub updated_at: DateTime<Utc>,
}

impl From<ServiceOverrideView> for ServiceOverrideResponse {
    fn from(view: ServiceOverrideView) -> Self {
        ServiceOverrideResponse {
            service_key: view.service_key,
            environment: view.environment.into(),
            authorize_url: view.authorize_url,
            token_url: view.token_url,
            revoke_url: view.revoke_url,
            client_id: view.client_id,
            client_secret_set: view.client_secret_set,
            variables: view.variables,
            updated_at: view.updated_at,
        }
    }
}

/// The service overrides of one environment.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceOverrideList {
    pub service_overrides: Vec<ServiceOverrideResponse>,
}

/// What the operator sets for one service; replaces the previous overrides as a whole, except
/// that leaving out `client_secret` keeps the stored secret while `client_id` stays the same.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceOverrideRequest {
    /// Replaces the OAuth authorization endpoint (https, or http on a loopback host).
    #[serde(default)]
    pub authorize_url: Option<String>,
    /// Replaces the OAuth token (and refresh) endpoint.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Replaces the OAuth revocation URL.
    #[serde(default)]
    pub revoke_url: Option<String>,
    /// The operator's OAuth client for this service in this environment.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Its secret; stored encrypted, never returned.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Template variables fixed by the operator (e.g. `accounts_server`, `api_domain`); they
    /// win over settings and are no longer captured from callbacks or token responses.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

/// Every service override of the environment.
#[utoipa::path(get, path = "/service-overrides", tag = "environments",
    params(("environment" = EnvironmentName, Path, description = "`production` or `sandbox`")),
    responses((status = 200, description = "Service overrides", body = ServiceOverrideList), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn list_service_overrides(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(environment): ApiPath<EnvironmentName>,
) -> Result<Json<ServiceOverrideList>, ApiError> {
    let access = organization_of(&state, &principal).await?;
    let overrides = manager_of(&state)?
        .service_overrides(access.organization_id, environment.into())
        .await?;
    Ok(Json(ServiceOverrideList {
        service_overrides: overrides.into_iter().map(Into::into).collect(),
    }))
}

/// The overrides of one service in the environment.
#[utoipa::path(get, path = "/service-overrides/{service_key}", tag = "environments",
    params(ServiceOverridePath),
    responses((status = 200, description = "The service's overrides", body = ServiceOverrideResponse), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn show_service_override(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ServiceOverridePath>,
) -> Result<Json<ServiceOverrideResponse>, ApiError> {
    let access = organization_of(&state, &principal).await?;
    manager_of(&state)?
        .service_override(
            access.organization_id,
            path.environment.into(),
            &path.service_key,
        )
        .await?
        .map(|view| Json(view.into()))
        .ok_or_else(|| override_not_found(&path))
}

/// Sets the overrides of one service in the environment. Platform administrators only;
/// audit-logged as `service_override.replaced` (without the secret).
#[utoipa::path(put, path = "/service-overrides/{service_key}", tag = "environments",
    params(ServiceOverridePath),
    request_body = ServiceOverrideRequest,
    responses((status = 200, description = "The overrides now in force", body = ServiceOverrideResponse), WriteErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn replace_service_override(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ServiceOverridePath>,
    ApiJson(request): ApiJson<ServiceOverrideRequest>,
) -> Result<Json<ServiceOverrideResponse>, ApiError> {
    let access = organization_of(&state, &principal).await?;
    require_operator(&access, &principal, "change service overrides")?;
    let secret_given = request.client_secret.is_some();
    let view = manager_of(&state)?
        .put_service_override(
            access.organization_id,
            path.environment.into(),
            &path.service_key,
            ServiceOverrideInput {
                authorize_url: request.authorize_url,
                token_url: request.token_url,
                revoke_url: request.revoke_url,
                client_id: request.client_id,
                client_secret: request.client_secret.map(SecretString::new),
                variables: request.variables,
            },
        )
        .await?;
    let environment_kind: trestle_store::EnvironmentKind = path.environment.into();
    state
        .store
        .audit()
        .record(&NewAuditEntry {
            actor: principal.actor(),
            organization_id: Some(access.organization_id),
            action: "service_override.replaced",
            target_kind: Some("service_override"),
            target_id: Some(format!(
                "{}/{}",
                environment_kind.as_str(),
                view.service_key
            )),
            details: serde_json::json!({
                "authorize_url": view.authorize_url,
                "token_url": view.token_url,
                "revoke_url": view.revoke_url,
                "client_id": view.client_id,
                "client_secret_changed": secret_given,
                "variables": view.variables,
            }),
        })
        .await?;
    Ok(Json(view.into()))
}

/// Removes the overrides of one service in the environment. Platform administrators only;
/// audit-logged as `service_override.deleted`.
#[utoipa::path(delete, path = "/service-overrides/{service_key}", tag = "environments",
    params(ServiceOverridePath),
    responses((status = 204, description = "Removed"), WriteErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn delete_service_override(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ServiceOverridePath>,
) -> Result<StatusCode, ApiError> {
    let access = organization_of(&state, &principal).await?;
    require_operator(&access, &principal, "change service overrides")?;
    let environment_kind: trestle_store::EnvironmentKind = path.environment.into();
    let deleted = manager_of(&state)?
        .delete_service_override(access.organization_id, environment_kind, &path.service_key)
        .await?;
    if !deleted {
        return Err(override_not_found(&path));
    }
    state
        .store
        .audit()
        .record(&NewAuditEntry {
            actor: principal.actor(),
            organization_id: Some(access.organization_id),
            action: "service_override.deleted",
            target_kind: Some("service_override"),
            target_id: Some(format!(
                "{}/{}",
                environment_kind.as_str(),
                path.service_key
            )),
            details: serde_json::Value::Null,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn override_not_found(path: &ServiceOverridePath) -> ApiError {
    let environment: trestle_store::EnvironmentKind = path.environment.into();
    ApiError::Domain {
        status: StatusCode::NOT_FOUND,
        code: "SERVICE_OVERRIDE_NOT_FOUND",
        message: format!(
            "the {environment} environment has no overrides for service `{}`; set them with PUT",
            path.service_key
        ),
        details: None,
    }
}
