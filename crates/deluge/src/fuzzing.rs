//! One fuzz case: bytes through the whole pipeline (parse, compile, run) with small limits,
//! answering every effect with null (every third with an error the script can catch).
//! Shared by the cargo-fuzz target (`fuzz/`) and the bounded run in the test suite, so
//! both exercise exactly the same code.

use crate::compile::{FastPaths, Program, compile_source_with, render};
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
    let arguments = fuzz_arguments(&program);
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

/// Runs one input compiled with and without the fused fast paths and returns both
/// transcripts when they differ (the fast paths must never change what a program does:
/// the fuzz target fails on any difference).
pub fn fast_paths_difference(bytes: &[u8]) -> Option<String> {
    let source = String::from_utf8_lossy(bytes);
    let fast = transcript(&source, FastPaths::On);
    let ordinary = transcript(&source, FastPaths::Off);
    (fast != ordinary).then(|| format!("with fast paths: {fast:#?}\nwithout: {ordinary:#?}"))
}

/// Gives every input a value so scripts reading them get past the first line.
fn fuzz_arguments(program: &Program) -> Vec<(String, OwnedValue)> {
    program
        .inputs()
        .iter()
        .map(|input| (input.name.clone(), OwnedValue::Text("fuzz".to_owned())))
        .collect()
}

/// Every step of a run as `run_one` drives it, in debug form.
fn transcript(source: &str, fast_paths: FastPaths) -> Vec<String> {
    let program = match compile_source_with(source, fast_paths) {
        Ok(program) => program,
        Err(error) => return vec![format!("{error:?}")],
    };
    let limits = fuzz_limits();
    let arguments = fuzz_arguments(&program);
    let mut run = match Run::new(program, arguments, limits, RunContext::default()) {
        Ok(run) => run,
        Err(error) => return vec![format!("{error:?}")],
    };
    let max_steps =
        limits.max_statements / limits.statements_per_slice + u64::from(limits.max_effects) + 4;
    let mut steps = Vec::new();
    let mut input = Resume::Continue;
    let mut effects_answered = 0u32;
    for _ in 0..max_steps {
        let step = run.resume(input);
        steps.push(format!("{step:?}"));
        input = match step {
            Step::Finished(_) | Step::Failed(_) => return steps,
            Step::Yield => Resume::Continue,
            Step::Effect(_) => {
                effects_answered += 1;
                Resume::Effect(if effects_answered.is_multiple_of(3) {
                    EffectResult::Error("fuzz: effect failed".to_owned())
                } else {
                    EffectResult::Value(OwnedValue::Null)
                })
            }
        };
    }
    steps
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::fast_paths_difference;

    /// The fixture programs, the benchmark programs, the examples and the corpus of real
    /// scripts (when TRESTLE_DELUGE_CORPUS is set) behave the same with and without the
    /// fused fast paths.
    #[test]
    fn real_programs_behave_the_same_with_and_without_fast_paths() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut folders = vec![
            root.join("tests/programs"),
            root.join("../../bench/deluge"),
            root.join("../../examples"),
        ];
        match std::env::var_os("TRESTLE_DELUGE_CORPUS") {
            Some(corpus) => folders.push(PathBuf::from(corpus)),
            None if std::env::var("CI").is_ok_and(|value| value == "true") => {
                panic!("TRESTLE_DELUGE_CORPUS is not set (scripts/test.sh sets it)")
            }
            None => eprintln!(
                "SKIPPED (part): real_programs_behave_the_same_with_and_without_fast_paths runs without the corpus: it needs TRESTLE_DELUGE_CORPUS"
            ),
        }
        let mut checked = 0;
        for folder in folders {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            let mut paths: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for path in paths
                .iter()
                .filter(|path| path.extension().is_some_and(|ext| ext == "dg"))
            {
                let bytes = std::fs::read(path).unwrap();
                if let Some(difference) = fast_paths_difference(&bytes) {
                    panic!("{}: {difference}", path.display());
                }
                checked += 1;
            }
        }
        assert!(checked >= 40, "only {checked} programs found");
    }
}
