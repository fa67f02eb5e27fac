//! Connections and services over HTTP, plus the two browser endpoints of the OAuth flow.
//!
//! - `/api/v1/organizations/{org_id}/services...`: list, show, create/update/delete custom services.
//! - `/api/v1/organizations/{org_id}/connections...`: create, list, show, update, delete,
//!   authorize / reauthorize (answer: the launch URL to open), credentials (API key, basic,
//!   bearer, client credentials), test, revoke, events.
//! - `GET /api/v1/oauth/launch/{token}`: binds the flow to this browser (HttpOnly cookie) and
//!   redirects to the provider. `GET /api/v1/oauth/callback/{service_key}`: the provider's
//!   redirect; the flow completes only with the cookie set at launch.
//!
//! Secrets are accepted in request bodies and never returned.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, COOKIE, LOCATION, REFERRER_POLICY, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use trestle_connections::{
    BROWSER_BINDING_COOKIE, ConnectionError, ConnectionManager, CreateConnection, EnvironmentKind,
    UpdateConnection,
};
use trestle_store::{OrganizationId, Role};
use trestle_vault::SecretString;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::auth::{AuthenticatedPrincipal, OrganizationAccess};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

const ORGANIZATION: &str = "/api/v1/organizations/{org_id}";

/// Organization-scoped routes (full paths; merge them at the root).
pub fn routes() -> OpenApiRouter<AppState> {
    let path = |suffix: &str| format!("{ORGANIZATION}{suffix}");
    OpenApiRouter::new()
        .route(&path("/services"), get(list_services).post(create_service))
        .route(
            &path("/services/{service_key}"),
            get(show_service).put(update_service).delete(delete_service),
        )
        .route(
            &path("/connections"),
            get(list_connections).post(create_connection),
        )
        .route(
            &path("/connections/{link_name}"),
            get(show_connection)
                .patch(update_connection)
                .delete(delete_connection),
        )
        .route(
            &path("/connections/{link_name}/authorize"),
            post(authorize_connection),
        )
        .route(
            &path("/connections/{link_name}/reauthorize"),
            post(authorize_connection),
        )
        .route(
            &path("/connections/{link_name}/credentials"),
            post(enter_credentials),
        )
        .route(
            &path("/connections/{link_name}/test"),
            post(test_connection),
        )
        .route(
            &path("/connections/{link_name}/revoke"),
            post(revoke_connection),
        )
        .route(
            &path("/connections/{link_name}/events"),
            get(connection_events),
        )
}

/// Browser routes of the OAuth flow, merged at the root.
pub fn browser_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/api/v1/oauth/launch/{launch_token}", get(launch))
        .route("/api/v1/oauth/callback/{service_key}", get(callback))
}

impl From<ConnectionError> for ApiError {
    fn from(error: ConnectionError) -> Self {
        let status = match &error {
            ConnectionError::NotFound { .. } | ConnectionError::ServiceNotFound { .. } => {
                StatusCode::NOT_FOUND
            }
            ConnectionError::InvalidLinkName { .. }
            | ConnectionError::InvalidInput { .. }
            | ConnectionError::UnsupportedOperation { .. }
            | ConnectionError::ServiceDefinition { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ConnectionError::LinkNameTaken { .. } | ConnectionError::LinkNameLocked { .. } => {
                StatusCode::CONFLICT
            }
            ConnectionError::NotAuthorized { .. }
            | ConnectionError::NeedsReauthorization { .. }
            | ConnectionError::Revoked { .. } => StatusCode::CONFLICT,
            ConnectionError::StateInvalid
            | ConnectionError::StateExpired { .. }
            | ConnectionError::StateServiceMismatch { .. }
            | ConnectionError::StateSessionMismatch
            | ConnectionError::IssuerMismatch { .. }
            | ConnectionError::AuthorizationDenied { .. } => StatusCode::BAD_REQUEST,
            ConnectionError::InvalidGrant { .. }
            | ConnectionError::InvalidClient { .. }
            | ConnectionError::TokenRequestRejected { .. }
            | ConnectionError::TokenResponseInvalid { .. }
            | ConnectionError::VerificationFailed { .. }
            | ConnectionError::StillUnauthorizedAfterRefresh { .. } => StatusCode::BAD_GATEWAY,
            ConnectionError::TokenEndpointUnavailable { .. }
            | ConnectionError::RefreshLockTimeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ConnectionError::Storage { .. } | ConnectionError::Vault { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError::Domain {
            status,
            code: error.code(),
            message: error.to_string(),
            details: None,
        }
    }
}

fn manager(state: &AppState) -> Result<Arc<ConnectionManager>, ApiError> {
    state.connections.clone().ok_or_else(|| ApiError::Domain {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "CONNECTIONS_NOT_CONFIGURED",
        message:
            "connections are not configured on this server (no master key / connection manager)"
                .to_owned(),
        details: None,
    })
}

async fn access(
    state: &AppState,
    principal: &AuthenticatedPrincipal,
    org_id: Uuid,
) -> Result<OrganizationAccess, ApiError> {
    principal
        .organization_access(&state.store, OrganizationId::from_uuid(org_id))
        .await
}

fn require_developer(access: &OrganizationAccess, action: &str) -> Result<(), ApiError> {
    if access.role == Role::User {
        return Err(ApiError::forbidden(format!(
            "only developers and admins may {action}"
        )));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct ServicePath {
    org_id: Uuid,
    service_key: String,
}

#[derive(Debug, Deserialize)]
struct ConnectionPath {
    org_id: Uuid,
    link_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentQuery {
    #[serde(default)]
    environment: Option<EnvironmentKind>,
}

impl EnvironmentQuery {
    fn environment(&self) -> EnvironmentKind {
        self.environment.unwrap_or(EnvironmentKind::Production)
    }
}

async fn list_services(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&state, &principal, org_id).await?;
    let services = manager(&state)?
        .list_services(access.organization_id)
        .await?;
    let services: Vec<Value> = services
        .iter()
        .map(|service| {
            json!({
                "key": service.key, "display_name": service.display_name, "category": service.category,
                "auth_type": service.auth_type, "origin": service.origin,
            })
        })
        .collect();
    Ok(Json(json!({ "services": services })))
}

async fn show_service(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ServicePath>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&state, &principal, path.org_id).await?;
    let entry = manager(&state)?
        .service(access.organization_id, &path.service_key)
        .await?;
    Ok(Json(json!({
        "service": entry.definition,
        "has_client_credentials": entry.custom_client.is_some(),
    })))
}

async fn save_service(
    state: AppState,
    principal: AuthenticatedPrincipal,
    org_id: Uuid,
    input: trestle_services::CustomServiceInput,
    replace: bool,
) -> Result<Json<Value>, ApiError> {
    let access = access(&state, &principal, org_id).await?;
    require_developer(&access, "create or change custom services")?;
    let definition = manager(&state)?
        .save_custom_service(access.organization_id, input, replace)
        .await?;
    Ok(Json(json!({ "service": definition })))
}

async fn create_service(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<trestle_services::CustomServiceInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        save_service(state, principal, org_id, input, false).await?,
    ))
}

async fn update_service(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ServicePath>,
    ApiJson(input): ApiJson<trestle_services::CustomServiceInput>,
) -> Result<Json<Value>, ApiError> {
    if input.service_link_name != path.service_key {
        return Err(ApiError::validation(
            "service_link_name",
            "must equal the service key in the path",
        ));
    }
    save_service(state, principal, path.org_id, input, true).await
}

async fn delete_service(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ServicePath>,
) -> Result<StatusCode, ApiError> {
    let access = access(&state, &principal, path.org_id).await?;
    require_developer(&access, "delete custom services")?;
    manager(&state)?
        .delete_custom_service(access.organization_id, &path.service_key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateConnectionRequest {
    namespace: String,
    name: String,
    #[serde(default)]
    link_name: Option<String>,
    service_key: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    settings: BTreeMap<String, String>,
    #[serde(default)]
    oauth_client_id: Option<String>,
    #[serde(default)]
    oauth_client_secret: Option<SecretString>,
}

async fn create_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<CreateConnectionRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let access = access(&state, &principal, org_id).await?;
    require_developer(&access, "create connections")?;
    let view = manager(&state)?
        .create_connection(
            access.organization_id,
            CreateConnection {
                namespace: request.namespace,
                name: request.name,
                link_name: request.link_name,
                service_key: request.service_key,
                scopes: request.scopes,
                settings: request.settings,
                oauth_client_id: request.oauth_client_id,
                oauth_client_secret: request.oauth_client_secret,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "connection": view }))))
}

async fn list_connections(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&state, &principal, org_id).await?;
    let views = manager(&state)?
        .list_connections(access.organization_id)
        .await?;
    Ok(Json(json!({ "connections": views })))
}

async fn show_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&state, &principal, path.org_id).await?;
    let view = manager(&state)?
        .get_connection(access.organization_id, &path.link_name)
        .await?;
    Ok(Json(json!({ "connection": view })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateConnectionRequest {
    #[serde(default)]
    name: Option<String>,
    /// The part after `__`; refused once the connection has been authorized.
    #[serde(default)]
    link_name: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    settings: Option<BTreeMap<String, String>>,
}

async fn update_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiJson(request): ApiJson<UpdateConnectionRequest>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&state, &principal, path.org_id).await?;
    require_developer(&access, "change connections")?;
    let view = manager(&state)?
        .update_connection(
            access.organization_id,
            &path.link_name,
            UpdateConnection {
                name: request.name,
                link_name: request.link_name,
                scopes: request.scopes,
                settings: request.settings,
            },
        )
        .await?;
    Ok(Json(json!({ "connection": view })))
}

async fn delete_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
) -> Result<StatusCode, ApiError> {
    let access = access(&state, &principal, path.org_id).await?;
    require_developer(&access, "delete connections")?;
    manager(&state)?
        .delete_connection(access.organization_id, &path.link_name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn authorize_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiQuery(query): ApiQuery<EnvironmentQuery>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&state, &principal, path.org_id).await?;
    let pending = manager(&state)?
        .begin_authorization(access.organization_id, &path.link_name, query.environment())
        .await?;
    Ok(Json(json!({ "authorization": pending })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsRequest {
    #[serde(default)]
    environment: Option<EnvironmentKind>,
    /// Values by credential field name (`api_key`, `username`, `password`, `token`...).
    #[serde(default)]
    values: BTreeMap<String, SecretString>,
}

async fn enter_credentials(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiJson(request): ApiJson<CredentialsRequest>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&state, &principal, path.org_id).await?;
    let environment = request.environment.unwrap_or(EnvironmentKind::Production);
    let view = manager(&state)?
        .authorize_with_credentials(
            access.organization_id,
            &path.link_name,
            environment,
            request.values,
        )
        .await?;
    Ok(Json(json!({ "connection": view })))
}

async fn test_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiQuery(query): ApiQuery<EnvironmentQuery>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&state, &principal, path.org_id).await?;
    let view = manager(&state)?
        .test_connection(access.organization_id, &path.link_name, query.environment())
        .await?;
    Ok(Json(json!({ "ok": true, "connection": view })))
}

async fn revoke_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiQuery(query): ApiQuery<EnvironmentQuery>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&state, &principal, path.org_id).await?;
    let view = manager(&state)?
        .revoke_connection(access.organization_id, &path.link_name, query.environment())
        .await?;
    Ok(Json(json!({ "connection": view })))
}

async fn connection_events(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
) -> Result<Json<Value>, ApiError> {
    let access = access(&state, &principal, path.org_id).await?;
    let events = manager(&state)?
        .events(access.organization_id, &path.link_name)
        .await?;
    Ok(Json(json!({ "events": events })))
}

async fn launch(
    State(state): State<AppState>,
    ApiPath(launch_token): ApiPath<String>,
) -> Result<Response, ApiError> {
    let manager = manager(&state)?;
    let launched = manager.launch_authorization(&launch_token).await?;
    let secure = if manager.config().public_base_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{BROWSER_BINDING_COOKIE}={}; Path=/api/v1/oauth/callback; HttpOnly; SameSite=Lax; Max-Age=600{secure}",
        launched.browser_binding
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(LOCATION, header_value(launched.provider_url.as_str())?);
    headers.insert(SET_COOKIE, header_value(&cookie)?);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}

async fn callback(
    State(state): State<AppState>,
    ApiPath(service_key): ApiPath<String>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    let manager = manager(&state)?;
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
    let binding = browser_binding(&headers);
    let completed = manager
        .complete_authorization(&service_key, &pairs, binding.as_deref())
        .await?;
    let page = format!(
        "<!doctype html><meta charset=utf-8><title>Connection authorized</title>\
         <p>The connection <b>{}</b> is authorized in the {} environment. You can close this window.</p>",
        html_escape(&completed.link_name),
        completed.environment
    );
    let mut response = Html(page).into_response();
    let headers = response.headers_mut();
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        SET_COOKIE,
        header_value(&format!("{BROWSER_BINDING_COOKIE}=; Path=/api/v1/oauth/callback; HttpOnly; SameSite=Lax; Max-Age=0"))?,
    );
    Ok(response)
}

fn browser_binding(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookies| {
            cookies.split(';').map(str::trim).find_map(|pair| {
                pair.strip_prefix(BROWSER_BINDING_COOKIE)
                    .and_then(|rest| rest.strip_prefix('='))
                    .map(str::to_owned)
            })
        })
}

fn header_value(text: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(text)
        .map_err(|_| ApiError::Internal("a header value could not be encoded".to_owned()))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
