//! One fuzz case: bytes through the whole pipeline (parse, compile, run) with small limits,
//! answering every effect with null (every third with an error the script can catch).
//! Shared by the cargo-fuzz target (`fuzz/`) and the bounded run in the test suite, so
//! both exercise exactly the same code.

use crate::compile::render;
use crate::effect::EffectResult;
use crate::error::Error;
use crate::limits::Limits;
use crate::value::OwnedValue;
use crate::vm::{Resume, Run, RunContext, Step};

/// How a fuzz case ended (for statistics in tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseEnd {
    CompileErrors,
    Finished,
    Failed,
}

/// Limits small enough that any input finishes quickly.
pub fn fuzz_limits() -> Limits {
    Limits {
        max_statements: 2_000,
        max_call_depth: 5,
        max_effects: 20,
        max_text_bytes: 64 * 1024,
        max_info_bytes: 64 * 1024,
        max_collection_elements: 20_000,
        statements_per_slice: 500,
        max_wall_time_ms: 1_000,
    }
}

/// Runs one input. Never panics (that is what fuzzing checks) and always terminates: the
/// number of steps is bounded by the statement and effect limits.
pub fn run_one(bytes: &[u8]) -> CaseEnd {
    let source = String::from_utf8_lossy(bytes);
    let program = match crate::compile::compile_source(&source) {
        Ok(program) => program,
        Err(Error::Compile { diagnostics }) => {
            let _ = render::render_text("fuzz.dg", &source, &diagnostics);
            return CaseEnd::CompileErrors;
        }
        Err(_) => return CaseEnd::CompileErrors,
    };
    let limits = fuzz_limits();
    // Give every input a value so scripts reading them get past the first line.
    let arguments = program
        .inputs()
        .iter()
        .map(|input| (input.name.clone(), OwnedValue::Text("fuzz".to_owned())))
        .collect();
    let Ok(mut run) = Run::new(program, arguments, limits, RunContext::default()) else {
        return CaseEnd::Failed;
    };
    let max_steps =
        limits.max_statements / limits.statements_per_slice + u64::from(limits.max_effects) + 4;
    let mut input = Resume::Continue;
    let mut effects_answered = 0u32;
    for _ in 0..max_steps {
        match run.resume(input) {
            Step::Finished(_) => return CaseEnd::Finished,
            Step::Failed(failure) => {
                let _ = failure.error.to_string();
                return CaseEnd::Failed;
            }
            Step::Yield => input = Resume::Continue,
            Step::Effect(_) => {
                effects_answered += 1;
                input = Resume::Effect(if effects_answered.is_multiple_of(3) {
                    EffectResult::Error("fuzz: effect failed".to_owned())
                } else {
                    EffectResult::Value(OwnedValue::Null)
                });
            }
        }
    }
    // Unreachable by construction; reaching it means a limit is not enforced.
    CaseEnd::Failed
}
