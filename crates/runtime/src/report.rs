//! What a run on the server returns, like the Run button of Zoho's function editor.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use trestle_deluge::{Error, Limits, OwnedValue, RunContext};
use trestle_functions::json::owned_to_json;
use trestle_functions::{FunctionsError, run_to_completion, start_run};
use trestle_store::{EnvironmentKind, OrganizationId};

use crate::FunctionRuntime;
use crate::performer::ServerPerformer;

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

impl FunctionRuntime {
    /// Compiles and runs a script, performing its effects in its organization and environment.
    /// Script failures (compile errors, runtime errors, limits) are part of the report.
    pub async fn run_script(&self, run: ScriptRun) -> RunReport {
        let started = Instant::now();
        let context = match self.egress_context(run.organization, run.environment).await {
            Ok(context) => context,
            Err(error) => {
                return RunReport {
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
                };
            }
        };
        let performer = ServerPerformer::new(self, run.organization, run.environment, context);
        let failed = |error: RunError,
                      info: Vec<String>,
                      statements: u64,
                      performer: ServerPerformer<'_>| RunReport {
            info,
            return_value: serde_json::Value::Null,
            effects: performer.into_records(),
            timing: RunTiming {
                total_ms: started.elapsed().as_millis() as u64,
                statements,
            },
            error: Some(error),
        };
        let program = match trestle_deluge::compile_source(&run.source) {
            Ok(program) => program,
            Err(error) => return failed(RunError::from_deluge(&error), Vec::new(), 0, performer),
        };
        let mut limits = Limits::default();
        if let Some(max_statements) = run.max_statements {
            // A caller may lower the budget, never raise it above the server default.
            limits.max_statements = max_statements.min(limits.max_statements);
        }
        let started_run = start_run(
            Arc::clone(&program),
            run.arguments,
            limits,
            RunContext::default(),
        );
        let deluge_run = match started_run {
            Ok(deluge_run) => deluge_run,
            Err(error) => {
                return failed(functions_error(&error), Vec::new(), 0, performer);
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
            Err(FunctionsError::ScriptFailed { failure }) => {
                let error = RunError::from_deluge(&failure.error);
                failed(
                    error,
                    failure.info_lines,
                    failure.statements_executed,
                    performer,
                )
            }
            Err(other) => failed(functions_error(&other), Vec::new(), 0, performer),
        }
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
