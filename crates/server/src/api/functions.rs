//! Stored Deluge functions and running them on the server, like Zoho's function editor:
//! `GET/POST /api/v1/environments/{environment}/functions`,
//! `GET/PATCH/DELETE /api/v1/environments/{environment}/functions/{name}` and
//! `POST /api/v1/environments/{environment}/functions/run` (an inline script, or a stored
//! function by name with named arguments checked against its declared parameters).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trestle_runtime::RuntimeError;
use trestle_store::{
    Actor, EnvironmentKind, NewStoredFunction, OrganizationId, StoredFunction,
    StoredFunctionChanges, StoredFunctionParameter,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::views::EnvironmentName;
use crate::api::{ReadErrors, WriteErrors, record_audit};
use crate::auth::AuthenticatedPrincipal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(run_function))
        .routes(routes!(list_functions, create_function))
        .routes(routes!(show_function, update_function, delete_function))
}

/// A script to run, or a stored function's name, with named arguments.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunFunctionRequest {
    /// Deluge source to run as it is. Give either `script` or `function`.
    #[serde(default)]
    pub script: Option<String>,
    /// The name of a stored function of this environment to run. Give either `script` or
    /// `function`.
    #[serde(default)]
    pub function: Option<String>,
    /// Named arguments as JSON values (maps become Deluge maps). For a stored function every
    /// declared parameter must be given (null is a value) with a value of its type.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub arguments: serde_json::Map<String, serde_json::Value>,
    /// Lower statement budget for this run (never above the server's).
    #[serde(default)]
    pub max_statements: Option<u64>,
}

/// What the run did.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunFunctionResponse {
    /// `info` lines in order.
    pub info: Vec<String>,
    /// Any JSON value (null when the function returns nothing).
    pub return_value: serde_json::Value,
    /// Every effect performed, with credential values redacted.
    pub effects: Vec<EffectView>,
    pub timing: TimingView,
    /// Present when the script failed (compile error, runtime error, limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RunErrorView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EffectView {
    /// `invoke_url`, `integration_task`, `current_time`, ...
    pub kind: String,
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// A summary: status, final URL, content type, size, attempts; or `{error}`.
    #[schema(value_type = Object)]
    pub response: serde_json::Value,
    pub duration_ms: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimingView {
    pub total_ms: u64,
    pub statements: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunErrorView {
    pub code: String,
    pub message: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

/// The organization of a request whose path names only the environment: an API token's, or
/// the only organization of a console user.
pub(crate) async fn organization_of(
    state: &AppState,
    principal: &AuthenticatedPrincipal,
) -> Result<crate::auth::OrganizationAccess, ApiError> {
    let organization_id: OrganizationId = match principal.token_organization() {
        Some(organization) => organization,
        None => {
            let organizations = principal.organizations(&state.store).await?;
            match organizations.as_slice() {
                [only] => only.organization.id,
                _ => {
                    return Err(ApiError::validation(
                        "organization",
                        "this endpoint acts in one organization: use an API token of that organization (Authorization: Bearer trestle_...)",
                    ));
                }
            }
        }
    };
    principal
        .organization_access(&state.store, organization_id)
        .await
}

pub(crate) fn runtime_of(state: &AppState) -> Result<&trestle_runtime::FunctionRuntime, ApiError> {
    state.functions.as_deref().ok_or_else(|| ApiError::Domain {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "FUNCTIONS_NOT_CONFIGURED",
        message: "this server runs without the function runtime (no connection manager configured)"
            .to_owned(),
        details: None,
    })
}

/// Runs a script in the environment with that environment's connections and stand-in routes.
/// Script failures are part of a 200 answer (`error`), as in Zoho's editor.
#[utoipa::path(post, path = "/functions/run", tag = "functions",
    params(("environment" = EnvironmentName, Path, description = "`production` or `sandbox`")),
    request_body = RunFunctionRequest,
    responses((status = 200, description = "The run's info lines, return value, effects and timing", body = RunFunctionResponse), WriteErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn run_function(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(environment): ApiPath<EnvironmentName>,
    ApiJson(request): ApiJson<RunFunctionRequest>,
) -> Result<Json<RunFunctionResponse>, ApiError> {
    let access = organization_of(&state, &principal).await?;
    access.require_developer("run functions")?;
    let runtime = runtime_of(&state)?;
    let report = match (request.script, request.function) {
        (Some(script), None) => {
            let arguments = request
                .arguments
                .iter()
                .map(|(name, value)| (name.clone(), trestle_functions::json::json_to_owned(value)))
                .collect();
            runtime
                .run_script(trestle_runtime::ScriptRun {
                    organization: access.organization_id,
                    environment: environment.into(),
                    source: script,
                    arguments,
                    max_statements: request.max_statements,
                })
                .await
        }
        (None, Some(function)) => runtime
            .run_stored_function(trestle_runtime::StoredFunctionRun {
                organization: access.organization_id,
                environment: environment.into(),
                name: function,
                arguments: request.arguments,
                max_statements: request.max_statements,
            })
            .await
            .map_err(function_error)?,
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::validation(
                "script",
                "give either `script` (Deluge source) or `function` (the name of a stored function), not both and not neither",
            ));
        }
    };
    Ok(Json(RunFunctionResponse {
        info: report.info,
        return_value: report.return_value,
        effects: report
            .effects
            .into_iter()
            .map(|effect| EffectView {
                kind: effect.kind.to_owned(),
                request: effect.request,
                response: effect.response,
                duration_ms: effect.duration_ms,
            })
            .collect(),
        timing: TimingView {
            total_ms: report.timing.total_ms,
            statements: report.timing.statements,
        },
        error: report.error.map(|error| RunErrorView {
            code: error.code,
            message: error.message,
            line: error.line,
            column: error.column,
        }),
    }))
}

/// A stored function as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredFunctionView {
    pub id: uuid::Uuid,
    pub name: String,
    pub environment: EnvironmentName,
    /// Declared parameters in order.
    pub parameters: Vec<FunctionParameterView>,
    /// Deluge source of the function body.
    pub script: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who created it: `{"kind": "user", "id": ...}` or `{"kind": "api_token", "id": ...}`.
    #[schema(value_type = Object)]
    pub created_by: Actor,
    /// Who changed it last.
    #[schema(value_type = Object)]
    pub updated_by: Actor,
}

/// One declared parameter.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionParameterView {
    /// A Deluge identifier, unique within the function.
    pub name: String,
    /// `string`, `int`, `decimal`, `date`, `map`, `list` or `bool`.
    #[serde(rename = "type")]
    pub parameter_type: String,
}

impl From<StoredFunction> for StoredFunctionView {
    fn from(function: StoredFunction) -> Self {
        StoredFunctionView {
            id: function.id.as_uuid(),
            name: function.name,
            environment: function.environment.into(),
            parameters: function
                .parameters
                .into_iter()
                .map(|parameter| FunctionParameterView {
                    name: parameter.name,
                    parameter_type: parameter.parameter_type,
                })
                .collect(),
            script: function.script,
            created_at: function.created_at,
            updated_at: function.updated_at,
            created_by: function.created_by,
            updated_by: function.updated_by,
        }
    }
}

/// A function to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFunctionRequest {
    /// A Deluge identifier (letters, digits, underscores; not starting with a digit), unique
    /// in the environment regardless of case.
    pub name: String,
    #[serde(default)]
    pub parameters: Vec<FunctionParameterView>,
    /// Deluge source of the function body; it must compile.
    pub script: String,
}

/// Changes to a function; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFunctionRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub parameters: Option<Vec<FunctionParameterView>>,
    #[serde(default)]
    pub script: Option<String>,
}

/// Every stored function of an environment.
#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionListResponse {
    pub functions: Vec<StoredFunctionView>,
}

#[derive(Debug, Deserialize)]
struct FunctionPath {
    environment: EnvironmentName,
    name: String,
}

fn store_parameters(parameters: Vec<FunctionParameterView>) -> Vec<StoredFunctionParameter> {
    trestle_runtime::normalized_parameters(
        parameters
            .into_iter()
            .map(|parameter| StoredFunctionParameter {
                name: parameter.name,
                parameter_type: parameter.parameter_type,
            })
            .collect(),
    )
}

/// The stored functions of the environment, by name.
#[utoipa::path(get, path = "/functions", tag = "functions",
    params(("environment" = EnvironmentName, Path, description = "`production` or `sandbox`")),
    responses((status = 200, description = "The environment's stored functions", body = FunctionListResponse), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn list_functions(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(environment): ApiPath<EnvironmentName>,
) -> Result<Json<FunctionListResponse>, ApiError> {
    let access = organization_of(&state, &principal).await?;
    let functions = state
        .store
        .stored_functions()
        .list(access.organization_id, environment.into())
        .await?;
    Ok(Json(FunctionListResponse {
        functions: functions
            .into_iter()
            .map(StoredFunctionView::from)
            .collect(),
    }))
}

/// Saves a new function. The name must be a Deluge identifier not yet used in the
/// environment, each parameter type one of the editor's, and the script must compile.
/// Audit-logged as `function.created`.
#[utoipa::path(post, path = "/functions", tag = "functions",
    params(("environment" = EnvironmentName, Path, description = "`production` or `sandbox`")),
    request_body = CreateFunctionRequest,
    responses((status = 201, description = "The saved function", body = StoredFunctionView), WriteErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn create_function(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(environment): ApiPath<EnvironmentName>,
    ApiJson(request): ApiJson<CreateFunctionRequest>,
) -> Result<(StatusCode, Json<StoredFunctionView>), ApiError> {
    let access = organization_of(&state, &principal).await?;
    access.require_developer("create functions")?;
    let parameters = store_parameters(request.parameters);
    trestle_runtime::validate_function(&request.name, &parameters, &request.script)
        .map_err(function_error)?;
    let environment: EnvironmentKind = environment.into();
    let function = state
        .store
        .stored_functions()
        .create(NewStoredFunction {
            organization_id: access.organization_id,
            environment,
            name: request.name,
            parameters,
            script: request.script,
            author: principal.actor(),
        })
        .await
        .map_err(|error| function_error(error.into()))?;
    record_audit(
        &state,
        &principal,
        Some(access.organization_id),
        "function.created",
        Some(("function", function.id.to_string())),
        serde_json::json!({ "name": function.name, "environment": environment.as_str() }),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(function.into())))
}

/// One stored function, found by name regardless of case.
#[utoipa::path(get, path = "/functions/{name}", tag = "functions",
    params(("environment" = EnvironmentName, Path, description = "`production` or `sandbox`"),
        ("name" = String, Path, description = "The function's name")),
    responses((status = 200, description = "The function", body = StoredFunctionView), ReadErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn show_function(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<FunctionPath>,
) -> Result<Json<StoredFunctionView>, ApiError> {
    let access = organization_of(&state, &principal).await?;
    let environment: EnvironmentKind = path.environment.into();
    let function = state
        .store
        .stored_functions()
        .find(access.organization_id, environment, &path.name)
        .await?
        .ok_or_else(|| not_found(&path.name, environment))?;
    Ok(Json(function.into()))
}

/// Changes a function's name, parameters or script (the same rules as creating it).
/// Audit-logged as `function.updated`.
#[utoipa::path(patch, path = "/functions/{name}", tag = "functions",
    params(("environment" = EnvironmentName, Path, description = "`production` or `sandbox`"),
        ("name" = String, Path, description = "The function's name")),
    request_body = UpdateFunctionRequest,
    responses((status = 200, description = "The changed function", body = StoredFunctionView), WriteErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn update_function(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<FunctionPath>,
    ApiJson(request): ApiJson<UpdateFunctionRequest>,
) -> Result<Json<StoredFunctionView>, ApiError> {
    let access = organization_of(&state, &principal).await?;
    access.require_developer("change functions")?;
    let environment: EnvironmentKind = path.environment.into();
    let functions = state.store.stored_functions();
    let current = functions
        .find(access.organization_id, environment, &path.name)
        .await?
        .ok_or_else(|| not_found(&path.name, environment))?;
    let parameters = request.parameters.map(store_parameters);
    trestle_runtime::validate_function(
        request.name.as_deref().unwrap_or(&current.name),
        parameters.as_deref().unwrap_or(&current.parameters),
        request.script.as_deref().unwrap_or(&current.script),
    )
    .map_err(function_error)?;
    let changed_fields: Vec<&str> = [
        ("name", request.name.is_some()),
        ("parameters", parameters.is_some()),
        ("script", request.script.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect();
    let function = functions
        .update(
            access.organization_id,
            environment,
            &current.name,
            StoredFunctionChanges {
                name: request.name,
                parameters,
                script: request.script,
            },
            principal.actor(),
        )
        .await
        .map_err(|error| function_error(error.into()))?;
    record_audit(
        &state,
        &principal,
        Some(access.organization_id),
        "function.updated",
        Some(("function", function.id.to_string())),
        serde_json::json!({
            "name": function.name,
            "previous_name": current.name,
            "environment": environment.as_str(),
            "changed": changed_fields,
        }),
    )
    .await?;
    Ok(Json(function.into()))
}

/// Deletes a function. Functions that call it fail with a clear error from then on.
/// Audit-logged as `function.deleted`.
#[utoipa::path(delete, path = "/functions/{name}", tag = "functions",
    params(("environment" = EnvironmentName, Path, description = "`production` or `sandbox`"),
        ("name" = String, Path, description = "The function's name")),
    responses((status = 204, description = "Deleted"), WriteErrors),
    security(("api_token" = []), ("session_cookie" = [])))]
async fn delete_function(
    State(state): State<AppState>,
    principal: AuthenticatedPrincipal,
    ApiPath(path): ApiPath<FunctionPath>,
) -> Result<StatusCode, ApiError> {
    let access = organization_of(&state, &principal).await?;
    access.require_developer("delete functions")?;
    let environment: EnvironmentKind = path.environment.into();
    let functions = state.store.stored_functions();
    let current = functions
        .find(access.organization_id, environment, &path.name)
        .await?
        .ok_or_else(|| not_found(&path.name, environment))?;
    functions
        .delete(access.organization_id, environment, &current.name)
        .await
        .map_err(|error| function_error(error.into()))?;
    record_audit(
        &state,
        &principal,
        Some(access.organization_id),
        "function.deleted",
        Some(("function", current.id.to_string())),
        serde_json::json!({ "name": current.name, "environment": environment.as_str() }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn not_found(name: &str, environment: EnvironmentKind) -> ApiError {
    function_error(RuntimeError::FunctionNotFound {
        name: name.to_owned(),
        environment: environment.as_str().to_owned(),
    })
}

/// The runtime's function errors in the API's one error shape.
fn function_error(error: RuntimeError) -> ApiError {
    let (status, details) = match &error {
        RuntimeError::InvalidFunction { field, .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(serde_json::json!({ "field": field })),
        ),
        RuntimeError::InvalidArguments { .. } => (StatusCode::UNPROCESSABLE_ENTITY, None),
        RuntimeError::FunctionNotFound { .. } => (StatusCode::NOT_FOUND, None),
        RuntimeError::Storage { code, .. } => (
            match *code {
                "ALREADY_EXISTS" | "CONFLICT" => StatusCode::CONFLICT,
                "NOT_FOUND" => StatusCode::NOT_FOUND,
                "INVALID_INPUT" => StatusCode::UNPROCESSABLE_ENTITY,
                "DATABASE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            None,
        ),
        _ => (StatusCode::BAD_REQUEST, None),
    };
    let code = match &error {
        RuntimeError::Storage { code, .. } if *code == "ALREADY_EXISTS" => "FUNCTION_NAME_TAKEN",
        other => other.code(),
    };
    let message = match &error {
        RuntimeError::Storage { code, .. } if *code == "ALREADY_EXISTS" => {
            "this environment already has a function of that name (names are unique regardless of case); choose another name or change that function".to_owned()
        }
        RuntimeError::Storage { .. } if status.is_server_error() => {
            "the function could not be stored; try again".to_owned()
        }
        other => other.to_string(),
    };
    ApiError::Domain {
        status,
        code,
        message,
        details,
    }
}
