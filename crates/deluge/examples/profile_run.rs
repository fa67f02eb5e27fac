//! Runs a Deluge script with the VM alone, for profilers (callgrind, perf): no binary
//! start-up, no async runtime, every effect answered with null. Prints the info lines and
//! the return value like `trestle deluge run`.
//!
//! `cargo run --release -p trestle-deluge --example profile_run -- FILE [--max-statements N]`
//! (`--disassemble` prints the compiled code instead of running it)

use std::process::ExitCode;

use trestle_deluge::{Limits, Resume, Run, RunContext, Step};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let flag_value = arguments
        .iter()
        .position(|argument| argument == "--max-statements")
        .map(|position| position + 1);
    let path = arguments
        .iter()
        .enumerate()
        .find(|(index, argument)| !argument.starts_with("--") && Some(*index) != flag_value)
        .map(|(_, argument)| argument);
    let Some(path) = path else {
        eprintln!("usage: profile_run FILE [--max-statements N]");
        return ExitCode::from(2);
    };
    let mut limits = Limits::default();
    if let Some(value) = flag_value.and_then(|index| arguments.get(index))
        && let Ok(value) = value.parse()
    {
        limits.max_statements = value;
    }
    let source = match std::fs::read_to_string(path) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("cannot read {path}: {error}");
            return ExitCode::from(2);
        }
    };
    let program = match trestle_deluge::compile_source(&source) {
        Ok(program) => program,
        Err(error) => {
            eprintln!("{path}: {error}");
            return ExitCode::from(1);
        }
    };
    if arguments.iter().any(|argument| argument == "--disassemble") {
        print!("{}", program.disassemble());
        return ExitCode::SUCCESS;
    }
    let mut run = match Run::new(program, Vec::new(), limits, RunContext::default()) {
        Ok(run) => run,
        Err(error) => {
            eprintln!("{path}: {error}");
            return ExitCode::from(1);
        }
    };
    let mut input = Resume::Continue;
    loop {
        match run.resume(input) {
            Step::Yield => input = Resume::Continue,
            Step::Effect(_) => {
                input = Resume::Effect(trestle_deluge::EffectResult::Value(
                    trestle_deluge::OwnedValue::Null,
                ))
            }
            Step::Finished(outcome) => {
                for line in &outcome.info_lines {
                    println!("{line}");
                }
                println!("{}", outcome.return_value.to_display_string());
                return ExitCode::SUCCESS;
            }
            Step::Failed(failure) => {
                for line in &failure.info_lines {
                    println!("{line}");
                }
                eprintln!("{path}: {}", failure.error);
                return ExitCode::from(1);
            }
        }
    }
}
