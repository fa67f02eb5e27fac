//! The loop that drives a run: resume, perform the effect, resume again.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use trestle_deluge::{
    Effect, EffectResult, Limits, Outcome, OwnedValue, Program, Resume, Run, RunContext, Step,
};

use crate::error::FunctionsError;

/// The future an [`EffectPerformer`] returns.
pub type PerformFuture<'a> =
    Pin<Box<dyn Future<Output = Result<EffectResult, FunctionsError>> + Send + 'a>>;

/// Performs the effects of runs. `Ok(EffectResult::Error(..))` is a failure the script
/// sees (and may catch); `Err(..)` ends the run (a replay mismatch, a refused effect).
pub trait EffectPerformer: Send + Sync {
    fn perform<'a>(&'a self, effect: &'a Effect) -> PerformFuture<'a>;
}

/// Creates a run of `program` with named arguments.
pub fn start_run(
    program: Arc<Program>,
    arguments: Vec<(String, OwnedValue)>,
    limits: Limits,
    context: RunContext,
) -> Result<Run, FunctionsError> {
    Run::new(program, arguments, limits, context).map_err(FunctionsError::NotStarted)
}

/// Drives `run` until it finishes, performing its effects with `performer`. The wall
/// clock ([`Limits::max_wall_time_ms`]) is checked at every effect and every yield; an
/// effect still pending when the time runs out is abandoned.
pub async fn run_to_completion(
    mut run: Run,
    performer: &dyn EffectPerformer,
) -> Result<Outcome, FunctionsError> {
    let started = Instant::now();
    let wall_time = Duration::from_millis(run.limits().max_wall_time_ms);
    let mut input = Resume::Continue;
    loop {
        match run.resume(input) {
            Step::Finished(outcome) => return Ok(outcome),
            Step::Failed(failure) => {
                return Err(FunctionsError::ScriptFailed {
                    failure: Box::new(failure),
                });
            }
            Step::Yield => {
                if started.elapsed() > wall_time {
                    return Err(wall_time_failure(&mut run));
                }
                // Let other runs on this worker thread make progress.
                tokio::task::yield_now().await;
                input = Resume::Continue;
            }
            Step::Effect(effect) => {
                let remaining = wall_time.saturating_sub(started.elapsed());
                let result = tokio::time::timeout(remaining, performer.perform(&effect)).await;
                match result {
                    Ok(Ok(result)) => input = Resume::Effect(result),
                    Ok(Err(error)) => return Err(error),
                    Err(_elapsed) => return Err(wall_time_failure(&mut run)),
                }
            }
        }
    }
}

fn wall_time_failure(run: &mut Run) -> FunctionsError {
    FunctionsError::ScriptFailed {
        failure: Box::new(run.fail_wall_time()),
    }
}
