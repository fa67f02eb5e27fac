//! Running a Deluge function on the server, like the Run button of Zoho's function editor:
//! `POST /api/v1/environments/{environment}/functions/run`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use trestle_store::OrganizationId;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::WriteErrors;
use crate::api::views::EnvironmentName;
use crate::auth::AuthenticatedPrincipal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(run_function))
}

/// A script to run, with its named arguments.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunFunctionRequest {
    /// Deluge source.
    pub script: String,
    /// Named arguments as JSON values (maps become Deluge maps).
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
    let arguments = request
        .arguments
        .iter()
        .map(|(name, value)| (name.clone(), trestle_functions::json::json_to_owned(value)))
        .collect();
    let report = runtime
        .run_script(trestle_runtime::ScriptRun {
            organization: access.organization_id,
            environment: environment.into(),
            source: request.script,
            arguments,
            max_statements: request.max_statements,
        })
        .await;
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
