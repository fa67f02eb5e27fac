//! What a run on the server returns, like the Run button of Zoho's function editor.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use trestle_deluge::{Error, OwnedValue, Program, RunContext};
use trestle_functions::json::owned_to_json;
use trestle_functions::{FunctionsError, run_to_completion, start_run};
use trestle_store::{EnvironmentKind, OrganizationId};

use crate::FunctionRuntime;
use crate::error::RuntimeError;
use crate::performer::ServerPerformer;
use crate::stored;

/// A script to run in one organization's environment.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    pub organization: OrganizationId,
    pub environment: EnvironmentKind,
    pub source: String,
    pub arguments: Vec<(String, OwnedValue)>,
    pub max_statements: Option<u64>,
}

/// The result of a run: info lines, return value, effects (redacted), timing, and the error
/// when the script failed.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub info: Vec<String>,
    pub return_value: serde_json::Value,
    pub effects: Vec<EffectRecord>,
    pub timing: RunTiming,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
}

/// One effect the run performed. `request` and `response` never hold a credential value.
#[derive(Debug, Clone, Serialize)]
pub struct EffectRecord {
    pub kind: &'static str,
    pub request: serde_json::Value,
    pub response: serde_json::Value,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunTiming {
    pub total_ms: u64,
    pub statements: u64,
}

/// Why the run stopped, and where in the script.
#[derive(Debug, Clone, Serialize)]
pub struct RunError {
    pub code: String,
    pub message: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl RunError {
    fn from_deluge(error: &Error) -> RunError {
        let location = error.location();
        RunError {
            code: error.code().to_owned(),
            message: error.message(),
            line: location.map(|location| location.line),
            column: location.map(|location| location.column),
        }
    }
}

/// A stored function to run by name in one organization's environment, with named JSON
/// arguments checked against its declared parameters.
#[derive(Debug, Clone)]
pub struct StoredFunctionRun {
    pub organization: OrganizationId,
    pub environment: EnvironmentKind,
    pub name: String,
    pub arguments: serde_json::Map<String, serde_json::Value>,
    pub max_statements: Option<u64>,
}

impl FunctionRuntime {
    /// Compiles and runs a script, performing its effects in its organization and environment.
    /// Script failures (compile errors, runtime errors, limits) are part of the report.
    pub async fn run_script(&self, run: ScriptRun) -> RunReport {
        let started = Instant::now();
        let context = match self.egress_context(run.organization, run.environment).await {
            Ok(context) => context,
            Err(error) => return setup_failed_report(started, &error),
        };
        let performer = ServerPerformer::new(self, run.organization, run.environment, context);
        let program = match trestle_deluge::compile_source(&run.source) {
            Ok(program) => program,
            Err(error) => {
                return failed_report(
                    started,
                    RunError::from_deluge(&error),
                    Vec::new(),
                    0,
                    performer,
                );
            }
        };
        run_program(
            started,
            program,
            run.arguments,
            run.max_statements,
            performer,
        )
        .await
    }

    /// Runs a stored function by name. A missing function or arguments that do not match its
    /// parameters are errors before anything runs; script failures are part of the report.
    pub async fn run_stored_function(
        &self,
        run: StoredFunctionRun,
    ) -> Result<RunReport, RuntimeError> {
        let started = Instant::now();
        let function = self
            .connections
            .store()
            .stored_functions()
            .find(run.organization, run.environment, &run.name)
            .await?
            .ok_or_else(|| RuntimeError::FunctionNotFound {
                name: run.name.clone(),
                environment: run.environment.as_str().to_owned(),
            })?;
        let arguments = stored::arguments_from_json(&function, &run.arguments)?;
        let context = self
            .egress_context(run.organization, run.environment)
            .await?;
        let performer = ServerPerformer::new(self, run.organization, run.environment, context);
        let program = match trestle_deluge::compile_source(&function.script) {
            Ok(program) => program,
            Err(error) => {
                return Ok(failed_report(
                    started,
                    RunError::from_deluge(&error),
                    Vec::new(),
                    0,
                    performer,
                ));
            }
        };
        let arguments = stored::arguments_for_program(&program, arguments);
        Ok(run_program(started, program, arguments, run.max_statements, performer).await)
    }
}

async fn run_program(
    started: Instant,
    program: Arc<Program>,
    arguments: Vec<(String, OwnedValue)>,
    max_statements: Option<u64>,
    performer: ServerPerformer<'_>,
) -> RunReport {
    let mut limits = stored::server_limits();
    if let Some(max_statements) = max_statements {
        // A caller may lower the budget, never raise it above the server default.
        limits.max_statements = max_statements.min(limits.max_statements);
    }
    let started_run = start_run(program, arguments, limits, RunContext::default());
    let deluge_run = match started_run {
        Ok(deluge_run) => deluge_run,
        Err(error) => {
            return failed_report(started, functions_error(&error), Vec::new(), 0, performer);
        }
    };
    match run_to_completion(deluge_run, &performer).await {
        Ok(outcome) => RunReport {
            info: outcome.info_lines,
            return_value: owned_to_json(&outcome.return_value),
            effects: performer.into_records(),
            timing: RunTiming {
                total_ms: started.elapsed().as_millis() as u64,
                statements: outcome.statements_executed,
            },
            error: None,
        },
        Err(FunctionsError::ScriptFailed { failure }) => failed_report(
            started,
            RunError::from_deluge(&failure.error),
            failure.info_lines,
            failure.statements_executed,
            performer,
        ),
        Err(other) => failed_report(started, functions_error(&other), Vec::new(), 0, performer),
    }
}

/// A run that could not start (its environment's routes could not be read).
fn setup_failed_report(started: Instant, error: &RuntimeError) -> RunReport {
    RunReport {
        info: Vec::new(),
        return_value: serde_json::Value::Null,
        effects: Vec::new(),
        timing: RunTiming {
            total_ms: started.elapsed().as_millis() as u64,
            statements: 0,
        },
        error: Some(RunError {
            code: error.code().to_owned(),
            message: error.to_string(),
            line: None,
            column: None,
        }),
    }
}

fn failed_report(
    started: Instant,
    error: RunError,
    info: Vec<String>,
    statements: u64,
    performer: ServerPerformer<'_>,
) -> RunReport {
    RunReport {
        info,
        return_value: serde_json::Value::Null,
        effects: performer.into_records(),
        timing: RunTiming {
            total_ms: started.elapsed().as_millis() as u64,
            statements,
        },
        error: Some(error),
    }
}

fn functions_error(error: &FunctionsError) -> RunError {
    match error {
        FunctionsError::ScriptFailed { failure } => RunError::from_deluge(&failure.error),
        FunctionsError::NotStarted(error) => RunError::from_deluge(error),
        other => RunError {
            code: other.code().to_owned(),
            message: other.to_string(),
            line: None,
            column: None,
        },
    }
}
