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
//! Secrets are accepted in request bodies and never returned. The answer types below mirror
//! the connections crate's views field by field (the `From` impls destructure them, so a new
//! field there fails to compile here until the document shows it too).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, COOKIE, LOCATION, REFERRER_POLICY, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trestle_connections::{
    BROWSER_BINDING_COOKIE, ConnectionError, ConnectionManager, ConnectionView, CreateConnection,
    EnvironmentKind, PendingAuthorization, UpdateConnection,
};
use trestle_store::connections::{ConnectionEventRecord, ConnectionStatus};
use trestle_store::{OrganizationId, Role};
use trestle_vault::SecretString;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::views::EnvironmentName;
use crate::api::{ConnectionErrors, ReadErrors};
use crate::auth::{AuthenticatedPrincipal, OrganizationAccess};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// Organization-scoped routes (full paths; merge them at the root).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_services, create_service))
        .routes(routes!(show_service, update_service, delete_service))
        .routes(routes!(list_connections, create_connection))
        .routes(routes!(
            show_connection,
            update_connection,
            delete_connection
        ))
        .routes(routes!(authorize_connection))
        .routes(routes!(reauthorize_connection))
        .routes(routes!(enter_credentials))
        .routes(routes!(test_connection))
        .routes(routes!(revoke_connection))
        .routes(routes!(connection_events))
}

/// Browser routes of the OAuth flow, merged at the root.
pub fn browser_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(launch))
        .routes(routes!(callback))
}

/// A service of the catalog or a custom service, in lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceSummary {
    pub key: String,
    pub display_name: String,
    pub category: String,
    /// oauth2_authorization_code, oauth2_client_credentials, oauth1, api_key, basic, bearer, none.
    pub auth_type: String,
    /// `builtin` (ships with Trestle) or `custom` (created by a developer).
    pub origin: String,
}

/// Every service the organization can connect to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    pub services: Vec<ServiceSummary>,
}

/// One service's full definition (endpoints, scopes, how the credential is attached...).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDetail {
    /// The service definition (see the services crate for every field).
    #[schema(value_type = Object)]
    pub service: Value,
    /// Whether the organization stored an OAuth client for this custom service.
    pub has_client_credentials: bool,
}

/// A custom service just saved.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedService {
    /// The validated definition built from the form (never the client secret).
    #[schema(value_type = Object)]
    pub service: Value,
}

/// Status of a connection in one environment.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatusName {
    NotAuthorized,
    Active,
    Refreshing,
    NeedsReauthorization,
    Revoked,
    Error,
}

impl From<ConnectionStatus> for ConnectionStatusName {
    fn from(status: ConnectionStatus) -> Self {
        match status {
            ConnectionStatus::NotAuthorized => ConnectionStatusName::NotAuthorized,
            ConnectionStatus::Active => ConnectionStatusName::Active,
            ConnectionStatus::Refreshing => ConnectionStatusName::Refreshing,
            ConnectionStatus::NeedsReauthorization => ConnectionStatusName::NeedsReauthorization,
            ConnectionStatus::Revoked => ConnectionStatusName::Revoked,
            ConnectionStatus::Error => ConnectionStatusName::Error,
        }
    }
}

/// A connection (never a secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionBody {
    pub id: String,
    pub namespace: String,
    pub name: String,
    /// `<namespace>__<name>`: how scripts refer to the connection.
    pub link_name: String,
    /// False once the connection has been authorized: scripts may refer to it.
    pub link_name_editable: bool,
    pub service_key: String,
    pub requested_scopes: Vec<String>,
    pub settings: BTreeMap<String, String>,
    pub oauth_client_id: Option<String>,
    pub has_oauth_client_secret: bool,
    /// One entry per environment (production, sandbox).
    pub environments: Vec<ConnectionEnvironmentBody>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A connection's state in one environment.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionEnvironmentBody {
    pub environment: EnvironmentName,
    pub status: ConnectionStatusName,
    pub granted_scopes: Vec<String>,
    /// Values captured during authorization (for example Zoho's `api_domain`). Not secrets.
    pub captured_values: BTreeMap<String, String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub authorized_at: Option<DateTime<Utc>>,
    pub last_refresh_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub has_credentials: bool,
}

impl From<ConnectionView> for ConnectionBody {
    fn from(view: ConnectionView) -> Self {
        let ConnectionView {
            id,
            namespace,
            name,
            link_name,
            link_name_editable,
            service_key,
            requested_scopes,
            settings,
            oauth_client_id,
            has_oauth_client_secret,
            environments,
            created_at,
            updated_at,
        } = view;
        ConnectionBody {
            id,
            namespace,
            name,
            link_name,
            link_name_editable,
            service_key,
            requested_scopes,
            settings,
            oauth_client_id,
            has_oauth_client_secret,
            environments: environments
                .into_iter()
                .map(|environment| {
                    let trestle_connections::EnvironmentView {
                        environment,
                        status,
                        granted_scopes,
                        captured_values,
                        expires_at,
                        authorized_at,
                        last_refresh_at,
                        last_error,
                        last_error_at,
                        has_credentials,
                    } = environment;
                    ConnectionEnvironmentBody {
                        environment: environment.into(),
                        status: status.into(),
                        granted_scopes,
                        captured_values,
                        expires_at,
                        authorized_at,
                        last_refresh_at,
                        last_error,
                        last_error_at,
                        has_credentials,
                    }
                })
                .collect(),
            created_at,
            updated_at,
        }
    }
}

/// One connection.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionResponse {
    pub connection: ConnectionBody,
}

/// The organization's connections, by link name.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionBody>,
}

/// The connection works in the environment tested.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionTestResult {
    /// Always true (a failed test is an error answer).
    pub ok: bool,
    pub connection: ConnectionBody,
}

/// A started browser authorization.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationBody {
    pub link_name: String,
    pub environment: EnvironmentName,
    /// Open this in the browser that should complete the authorization (single use).
    pub launch_url: String,
    /// Where the provider sends the browser back (register it at the provider).
    pub callback_url: String,
    pub expires_at: DateTime<Utc>,
}

/// The answer of authorize and reauthorize.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationResponse {
    pub authorization: AuthorizationBody,
}

impl From<PendingAuthorization> for AuthorizationResponse {
    fn from(pending: PendingAuthorization) -> Self {
        let PendingAuthorization {
            link_name,
            environment,
            launch_url,
            callback_url,
            expires_at,
        } = pending;
        AuthorizationResponse {
            authorization: AuthorizationBody {
                link_name,
                environment: environment.into(),
                launch_url,
                callback_url,
                expires_at,
            },
        }
    }
}

/// Something that happened to a connection (authorized, refreshed, failed, revoked...).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionEventBody {
    pub id: String,
    pub organization_id: Uuid,
    pub connection_id: String,
    pub link_name: String,
    pub environment: Option<EnvironmentName>,
    pub kind: String,
    /// A JSON object as text (never secrets).
    pub detail: String,
    pub occurred_at: DateTime<Utc>,
}

impl From<ConnectionEventRecord> for ConnectionEventBody {
    fn from(record: ConnectionEventRecord) -> Self {
        let ConnectionEventRecord {
            id,
            organization_id,
            connection_id,
            link_name,
            environment,
            kind,
            detail,
            occurred_at,
        } = record;
        ConnectionEventBody {
            id,
            organization_id: organization_id.as_uuid(),
            connection_id: connection_id.to_string(),
            link_name,
            environment: environment.map(Into::into),
            kind,
            detail,
            occurred_at,
        }
    }
}

/// A connection's events, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionEventList {
    pub events: Vec<ConnectionEventBody>,
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
            | ConnectionError::ServiceDefinition { .. }
            | ConnectionError::EgressRefused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
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

/// The caller's access to the organization and the connection manager: the preamble of every
/// organization-scoped handler here.
async fn organization_manager(
    state: &AppState,
    principal: &AuthenticatedPrincipal,
    org_id: Uuid,
) -> Result<(OrganizationAccess, Arc<ConnectionManager>), ApiError> {
    let access = access(state, principal, org_id).await?;
    Ok((access, manager(state)?))
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

/// The environment an action applies to.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct EnvironmentQuery {
    /// production (default) or sandbox.
    #[serde(default)]
    #[param(value_type = Option<EnvironmentName>)]
    environment: Option<EnvironmentKind>,
}

impl EnvironmentQuery {
    fn environment(&self) -> EnvironmentKind {
        self.environment.unwrap_or(EnvironmentKind::Production)
    }
}

/// Every service the organization can use: the built-in catalog, then its custom services.
#[utoipa::path(get, path = "/api/v1/organizations/{org_id}/services", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id")),
    responses((status = 200, description = "Services", body = ServiceList), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn list_services(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
) -> Result<Json<ServiceList>, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, org_id).await?;
    let services = manager.list_services(access.organization_id).await?;
    Ok(Json(ServiceList {
        services: services
            .iter()
            .map(|service| ServiceSummary {
                key: service.key.clone(),
                display_name: service.display_name.clone(),
                category: service.category.clone(),
                auth_type: service.auth_type.as_str().to_owned(),
                origin: match service.origin {
                    trestle_services::ServiceOrigin::Builtin => "builtin",
                    trestle_services::ServiceOrigin::Custom => "custom",
                }
                .to_owned(),
            })
            .collect(),
    }))
}

/// One service's definition.
#[utoipa::path(get, path = "/api/v1/organizations/{org_id}/services/{service_key}", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id"),
        ("service_key" = String, Path, description = "Service key, e.g. zoho_books")),
    responses((status = 200, description = "The definition", body = ServiceDetail), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn show_service(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ServicePath>,
) -> Result<Json<ServiceDetail>, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, path.org_id).await?;
    let entry = manager
        .service(access.organization_id, &path.service_key)
        .await?;
    Ok(Json(ServiceDetail {
        service: to_json(&entry.definition)?,
        has_client_credentials: entry.custom_client.is_some(),
    }))
}

async fn save_service(
    state: AppState,
    principal: AuthenticatedPrincipal,
    org_id: Uuid,
    input: trestle_services::CustomServiceInput,
    replace: bool,
) -> Result<Json<SavedService>, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, org_id).await?;
    require_developer(&access, "create or change custom services")?;
    let definition = manager
        .save_custom_service(access.organization_id, input, replace)
        .await?;
    Ok(Json(SavedService {
        service: to_json(&definition)?,
    }))
}

fn to_json(value: &impl Serialize) -> Result<Value, ApiError> {
    serde_json::to_value(value)
        .map_err(|error| ApiError::Internal(format!("a service could not be shown: {error}")))
}

/// Creates a custom service from the fields of Zoho's custom-service form (service_name,
/// service_link_name, auth_type, URLs, client_id and client_secret, scopes, scope_delimiter,
/// token_param_type...). Every invalid field is reported.
#[utoipa::path(post, path = "/api/v1/organizations/{org_id}/services", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id")),
    request_body(content = Object, description = "The custom-service form"),
    responses((status = 201, description = "Created", body = SavedService), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn create_service(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<trestle_services::CustomServiceInput>,
) -> Result<(StatusCode, Json<SavedService>), ApiError> {
    Ok((
        StatusCode::CREATED,
        save_service(state, principal, org_id, input, false).await?,
    ))
}

/// Replaces a custom service's definition (service_link_name must equal the path's key).
#[utoipa::path(put, path = "/api/v1/organizations/{org_id}/services/{service_key}", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id"),
        ("service_key" = String, Path, description = "The custom service's link name")),
    request_body(content = Object, description = "The custom-service form"),
    responses((status = 200, description = "Saved", body = SavedService), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn update_service(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ServicePath>,
    ApiJson(input): ApiJson<trestle_services::CustomServiceInput>,
) -> Result<Json<SavedService>, ApiError> {
    if input.service_link_name != path.service_key {
        return Err(ApiError::validation(
            "service_link_name",
            "must equal the service key in the path",
        ));
    }
    save_service(state, principal, path.org_id, input, true).await
}

/// Deletes a custom service; refused while a connection uses it.
#[utoipa::path(delete, path = "/api/v1/organizations/{org_id}/services/{service_key}", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id"),
        ("service_key" = String, Path, description = "The custom service's link name")),
    responses((status = 204, description = "Deleted"), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn delete_service(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ServicePath>,
) -> Result<StatusCode, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, path.org_id).await?;
    require_developer(&access, "delete custom services")?;
    manager
        .delete_custom_service(access.organization_id, &path.service_key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new connection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateConnectionRequest {
    /// Topping namespace (the part before `__`).
    namespace: String,
    name: String,
    /// The part after `__`; generated from `name` when absent.
    #[serde(default)]
    link_name: Option<String>,
    service_key: String,
    /// Requested scopes; the service's default scopes when absent.
    #[serde(default)]
    scopes: Option<Vec<String>>,
    /// Per-connection settings (data centre, subdomain...).
    #[serde(default)]
    settings: BTreeMap<String, String>,
    /// This connection's own OAuth client (instead of the service's).
    #[serde(default)]
    oauth_client_id: Option<String>,
    /// Stored encrypted, never shown back.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    oauth_client_secret: Option<SecretString>,
}

/// Creates a connection (not authorized in either environment yet).
#[utoipa::path(post, path = "/api/v1/organizations/{org_id}/connections", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id")),
    request_body = CreateConnectionRequest,
    responses((status = 201, description = "Created", body = ConnectionResponse), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn create_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<CreateConnectionRequest>,
) -> Result<(StatusCode, Json<ConnectionResponse>), ApiError> {
    let (access, manager) = organization_manager(&state, &principal, org_id).await?;
    require_developer(&access, "create connections")?;
    let view = manager
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
    Ok((StatusCode::CREATED, connection_response(view)))
}

fn connection_response(view: ConnectionView) -> Json<ConnectionResponse> {
    Json(ConnectionResponse {
        connection: view.into(),
    })
}

/// The organization's connections with their status in each environment.
#[utoipa::path(get, path = "/api/v1/organizations/{org_id}/connections", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id")),
    responses((status = 200, description = "Connections", body = ConnectionList), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn list_connections(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(org_id): ApiPath<Uuid>,
) -> Result<Json<ConnectionList>, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, org_id).await?;
    let views = manager.list_connections(access.organization_id).await?;
    Ok(Json(ConnectionList {
        connections: views.into_iter().map(Into::into).collect(),
    }))
}

/// One connection.
#[utoipa::path(get, path = "/api/v1/organizations/{org_id}/connections/{link_name}", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id"),
        ("link_name" = String, Path, description = "Link name, `<namespace>__<name>`")),
    responses((status = 200, description = "The connection", body = ConnectionResponse), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn show_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
) -> Result<Json<ConnectionResponse>, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, path.org_id).await?;
    let view = manager
        .get_connection(access.organization_id, &path.link_name)
        .await?;
    Ok(connection_response(view))
}

/// Changes to a connection; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
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

/// Renames a connection, changes its requested scopes or settings.
#[utoipa::path(patch, path = "/api/v1/organizations/{org_id}/connections/{link_name}", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id"),
        ("link_name" = String, Path, description = "Link name, `<namespace>__<name>`")),
    request_body = UpdateConnectionRequest,
    responses((status = 200, description = "The changed connection", body = ConnectionResponse), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn update_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiJson(request): ApiJson<UpdateConnectionRequest>,
) -> Result<Json<ConnectionResponse>, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, path.org_id).await?;
    require_developer(&access, "change connections")?;
    let view = manager
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
    Ok(connection_response(view))
}

/// Deletes a connection in every environment, revoking it at the service first when the
/// service has a revocation endpoint.
#[utoipa::path(delete, path = "/api/v1/organizations/{org_id}/connections/{link_name}", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id"),
        ("link_name" = String, Path, description = "Link name, `<namespace>__<name>`")),
    responses((status = 204, description = "Deleted"), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn delete_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
) -> Result<StatusCode, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, path.org_id).await?;
    require_developer(&access, "delete connections")?;
    manager
        .delete_connection(access.organization_id, &path.link_name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts the browser authorization of an OAuth 2 authorization code connection: the answer's
/// launch URL is opened in the browser that should complete it.
#[utoipa::path(post, path = "/api/v1/organizations/{org_id}/connections/{link_name}/authorize", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id"),
        ("link_name" = String, Path, description = "Link name, `<namespace>__<name>`"), EnvironmentQuery),
    responses((status = 200, description = "The launch URL", body = AuthorizationResponse), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn authorize_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiQuery(query): ApiQuery<EnvironmentQuery>,
) -> Result<Json<AuthorizationResponse>, ApiError> {
    begin_authorization(state, principal, path, query).await
}

/// Authorizes again (after a revocation or when the status is needs_reauthorization); same
/// answer as authorize.
#[utoipa::path(post, path = "/api/v1/organizations/{org_id}/connections/{link_name}/reauthorize", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id"),
        ("link_name" = String, Path, description = "Link name, `<namespace>__<name>`"), EnvironmentQuery),
    responses((status = 200, description = "The launch URL", body = AuthorizationResponse), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn reauthorize_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiQuery(query): ApiQuery<EnvironmentQuery>,
) -> Result<Json<AuthorizationResponse>, ApiError> {
    begin_authorization(state, principal, path, query).await
}

async fn begin_authorization(
    state: AppState,
    principal: AuthenticatedPrincipal,
    path: ConnectionPath,
    query: EnvironmentQuery,
) -> Result<Json<AuthorizationResponse>, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, path.org_id).await?;
    let pending = manager
        .begin_authorization(access.organization_id, &path.link_name, query.environment())
        .await?;
    Ok(Json(pending.into()))
}

/// Secrets entered by a person.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CredentialsRequest {
    /// production (default) or sandbox.
    #[serde(default)]
    #[schema(value_type = Option<EnvironmentName>)]
    environment: Option<EnvironmentKind>,
    /// Values by credential field name (`api_key`, `username`, `password`, `token`...).
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    values: BTreeMap<String, SecretString>,
}

/// Authorizes an API key, basic, bearer or client credentials connection with entered
/// secrets (none for client credentials), verified with the service's verification request
/// when it has one.
#[utoipa::path(post, path = "/api/v1/organizations/{org_id}/connections/{link_name}/credentials", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id"),
        ("link_name" = String, Path, description = "Link name, `<namespace>__<name>`")),
    request_body = CredentialsRequest,
    responses((status = 200, description = "Authorized", body = ConnectionResponse), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn enter_credentials(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiJson(request): ApiJson<CredentialsRequest>,
) -> Result<Json<ConnectionResponse>, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, path.org_id).await?;
    let environment = request.environment.unwrap_or(EnvironmentKind::Production);
    let view = manager
        .authorize_with_credentials(
            access.organization_id,
            &path.link_name,
            environment,
            request.values,
        )
        .await?;
    Ok(connection_response(view))
}

/// Checks that the connection works: refreshes an expiring token and sends the service's
/// verification request when it has one.
#[utoipa::path(post, path = "/api/v1/organizations/{org_id}/connections/{link_name}/test", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id"),
        ("link_name" = String, Path, description = "Link name, `<namespace>__<name>`"), EnvironmentQuery),
    responses((status = 200, description = "It works", body = ConnectionTestResult), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn test_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiQuery(query): ApiQuery<EnvironmentQuery>,
) -> Result<Json<ConnectionTestResult>, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, path.org_id).await?;
    let view = manager
        .test_connection(access.organization_id, &path.link_name, query.environment())
        .await?;
    Ok(Json(ConnectionTestResult {
        ok: true,
        connection: view.into(),
    }))
}

/// Revokes the authorization in one environment (at the service too, when it can).
#[utoipa::path(post, path = "/api/v1/organizations/{org_id}/connections/{link_name}/revoke", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id"),
        ("link_name" = String, Path, description = "Link name, `<namespace>__<name>`"), EnvironmentQuery),
    responses((status = 200, description = "Revoked", body = ConnectionResponse), ConnectionErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn revoke_connection(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
    ApiQuery(query): ApiQuery<EnvironmentQuery>,
) -> Result<Json<ConnectionResponse>, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, path.org_id).await?;
    let view = manager
        .revoke_connection(access.organization_id, &path.link_name, query.environment())
        .await?;
    Ok(connection_response(view))
}

/// What happened to a connection: authorizations, refreshes, failures, revocations.
#[utoipa::path(get, path = "/api/v1/organizations/{org_id}/connections/{link_name}/events", tag = "connections",
    params(("org_id" = Uuid, Path, description = "Organization id"),
        ("link_name" = String, Path, description = "Link name, `<namespace>__<name>`")),
    responses((status = 200, description = "Events", body = ConnectionEventList), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn connection_events(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<ConnectionPath>,
) -> Result<Json<ConnectionEventList>, ApiError> {
    let (access, manager) = organization_manager(&state, &principal, path.org_id).await?;
    let events = manager
        .events(access.organization_id, &path.link_name)
        .await?;
    Ok(Json(ConnectionEventList {
        events: events.into_iter().map(Into::into).collect(),
    }))
}

/// Opens a started authorization in this browser: sets the HttpOnly cookie that binds the
/// flow to it and redirects to the provider. Single use.
#[utoipa::path(get, path = "/api/v1/oauth/launch/{launch_token}", tag = "connections",
    params(("launch_token" = String, Path, description = "From the authorize answer's launch_url")),
    responses((status = 303, description = "Redirect to the provider's authorize page"), ConnectionErrors),
    security(()))]
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

/// The provider's redirect back (per service, against mix-up attacks): completes the flow only
/// in the browser that opened the launch URL, then shows a page saying so.
#[utoipa::path(get, path = "/api/v1/oauth/callback/{service_key}", tag = "connections",
    params(("service_key" = String, Path, description = "The service the flow was started for"),
        ("code" = Option<String>, Query, description = "Authorization code"),
        ("state" = Option<String>, Query, description = "The flow's single-use state"),
        ("iss" = Option<String>, Query, description = "Issuer (RFC 9207), checked when sent"),
        ("error" = Option<String>, Query, description = "The provider's error, when the user declined")),
    responses((status = 200, description = "HTML page: the connection is authorized", content_type = "text/html", body = String), ConnectionErrors),
    security(()))]
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
