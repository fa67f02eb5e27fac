//! `trestle deluge check` and `trestle deluge run`: argument parsing and wiring only; the
//! work is in trestle-deluge (compile, run) and trestle-functions (drive, cassettes).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use trestle_deluge::compile::render;
use trestle_deluge::{CompileDiagnostic, Error, Limits, OwnedValue, Program, RunContext};
use trestle_functions::cassette::{Cassette, RecordingPerformer, ReplayPerformer};
use trestle_functions::local::LocalPerformer;
use trestle_functions::{EffectPerformer, FunctionsError, run_to_completion, start_run};

#[path = "deluge_remote.rs"]
mod deluge_remote;

#[derive(Debug, Args)]
pub struct DelugeArgs {
    #[command(subcommand)]
    command: DelugeCommand,
}

#[derive(Debug, Subcommand)]
enum DelugeCommand {
    /// Check Deluge files for syntax and compile errors (folders are searched for *.dg).
    Check(CheckArgs),
    /// Run a Deluge function locally: info lines, then the return value.
    Run(RunArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Files or folders (searched recursively for *.dg).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print one line at the end: `N files, M ok, K with errors`.
    #[arg(long)]
    summary: bool,
    /// Output format for the diagnostics.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The Deluge file to run (not with --function).
    #[arg(required_unless_present = "function", conflicts_with = "function")]
    file: Option<PathBuf>,
    /// Run this stored function of the server environment instead of a file (with --server).
    #[arg(long, value_name = "NAME", requires = "server")]
    function: Option<String>,
    /// A named argument, its value as JSON: --arg 'name="Bigin"' --arg 'contact={"id":1}'.
    /// With --function a value that is not JSON is sent as text: --arg name=Bigin.
    #[arg(long = "arg", value_name = "NAME=JSON")]
    arguments: Vec<String>,
    /// A system variable such as loginuserid (read as zoho.loginuserid), as JSON.
    #[arg(long = "system", value_name = "NAME=JSON")]
    system_variables: Vec<String>,
    /// Statements the run may execute (Zoho CRM allows 200,000).
    #[arg(long, value_name = "N")]
    max_statements: Option<u64>,
    /// Wall time the run may take, in milliseconds.
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// Write every effect's request and response to this cassette file.
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    record: Option<PathBuf>,
    /// Answer effects from this cassette file, offline.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Run on this Trestle server instead, with its connections (see deluge_remote.rs).
    #[arg(long, value_name = "URL", conflicts_with_all = ["record", "replay"])]
    server: Option<String>,
    /// The server environment to run in, with --server: sandbox or production.
    #[arg(long = "env", value_name = "NAME", default_value = "sandbox")]
    environment: String,
    /// API token for --server.
    #[arg(long, env = "TRESTLE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

pub fn run(arguments: DelugeArgs) -> anyhow::Result<()> {
    match arguments.command {
        DelugeCommand::Check(check) => run_check(check),
        DelugeCommand::Run(run) => run_function(run),
    }
}

fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect_folder(path, &mut files)?;
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            bail!("{}: no such file or folder", path.display());
        }
    }
    Ok(files)
}

fn collect_folder(folder: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("cannot read folder {}", folder.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_folder(&entry, files)?;
        } else if entry.extension().is_some_and(|extension| extension == "dg") {
            files.push(entry);
        }
    }
    Ok(())
}

fn read_source(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    // Scripts exported from Zoho are UTF-8; anything else is read leniently rather than
    // refused, and its invalid bytes show up in the diagnostics' source lines.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn compile_file(source: &str) -> Result<Arc<Program>, Vec<CompileDiagnostic>> {
    match trestle_deluge::compile_source(source) {
        Ok(program) => Ok(program),
        Err(Error::Compile { diagnostics }) => Err(diagnostics),
        Err(other) => Err(vec![CompileDiagnostic {
            code: other.code(),
            message: other.message(),
            location: other.location().unwrap_or_default(),
        }]),
    }
}

fn run_check(arguments: CheckArgs) -> anyhow::Result<()> {
    let files = collect_files(&arguments.paths)?;
    let mut files_with_errors = 0usize;
    let mut records = Vec::new();
    for file in &files {
        let source = read_source(file)?;
        let shown_path = file.display().to_string();
        if let Err(diagnostics) = compile_file(&source) {
            files_with_errors += 1;
            match arguments.format {
                OutputFormat::Text => {
                    print!(
                        "{}",
                        render::render_text(&shown_path, &source, &diagnostics)
                    );
                }
                OutputFormat::Json => records.extend(render::records(&shown_path, &diagnostics)),
            }
        }
    }
    let ok = files.len() - files_with_errors;
    match arguments.format {
        OutputFormat::Text => {
            if arguments.summary {
                println!(
                    "{} files, {ok} ok, {files_with_errors} with errors",
                    files.len()
                );
            }
        }
        OutputFormat::Json => {
            let report = serde_json::json!({
                "files": files.len(),
                "ok": ok,
                "with_errors": files_with_errors,
                "diagnostics": records,
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
    }
    if files_with_errors > 0 {
        bail!("{files_with_errors} of {} file(s) have errors", files.len());
    }
    Ok(())
}

fn parse_named_json(text: &str, flag: &str) -> anyhow::Result<(String, OwnedValue)> {
    let Some((name, json)) = text.split_once('=') else {
        bail!("{flag} {text}: write NAME=JSON, for example {flag} 'name=\"Bigin\"'");
    };
    let value: serde_json::Value = serde_json::from_str(json).with_context(|| {
        format!("{flag} {name}: `{json}` is not JSON (text needs quotes: {name}='\"text\"')")
    })?;
    Ok((
        name.trim().to_owned(),
        trestle_functions::json::json_to_owned(&value),
    ))
}

fn run_function(arguments: RunArgs) -> anyhow::Result<()> {
    // The one crypto provider of the binary; a second install attempt is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let (Some(function), Some(server)) = (&arguments.function, &arguments.server) {
        return deluge_remote::run_on_server(deluge_remote::RemoteRun {
            shown_path: function,
            what: deluge_remote::RemoteWhat::StoredFunction(function.clone()),
            arguments: &arguments.arguments,
            max_statements: arguments.max_statements,
            server,
            environment: &arguments.environment,
            token: arguments.token.as_deref(),
        });
    }
    let Some(file) = &arguments.file else {
        bail!("give the Deluge file to run, or --function NAME with --server URL");
    };
    let source = read_source(file)?;
    let shown_path = file.display().to_string();
    if let Some(server) = &arguments.server {
        return deluge_remote::run_on_server(deluge_remote::RemoteRun {
            shown_path: &shown_path,
            what: deluge_remote::RemoteWhat::Script(source),
            arguments: &arguments.arguments,
            max_statements: arguments.max_statements,
            server,
            environment: &arguments.environment,
            token: arguments.token.as_deref(),
        });
    }
    let program = match compile_file(&source) {
        Ok(program) => program,
        Err(diagnostics) => {
            eprint!(
                "{}",
                render::render_text(&shown_path, &source, &diagnostics)
            );
            bail!("{shown_path} has {} error(s)", diagnostics.len());
        }
    };
    let mut limits = Limits::default();
    if let Some(max_statements) = arguments.max_statements {
        limits.max_statements = max_statements;
    }
    if let Some(timeout_ms) = arguments.timeout_ms {
        limits.max_wall_time_ms = timeout_ms;
    }
    let mut context = RunContext::default();
    for text in &arguments.system_variables {
        let (name, value) = parse_named_json(text, "--system")?;
        let name = name.trim_start_matches("zoho.").to_ascii_lowercase();
        context.system_variables.insert(name, value);
    }
    let named_arguments = arguments
        .arguments
        .iter()
        .map(|text| parse_named_json(text, "--arg"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let run = start_run(program, named_arguments, limits, context)?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (result, recorded) = if let Some(replay) = &arguments.replay {
        let performer = ReplayPerformer::new(Cassette::load(replay)?);
        let result = runtime.block_on(run_to_completion(run, &performer));
        if result.is_ok() && performer.unused_entries() > 0 {
            eprintln!(
                "warning: the run did not use the last {} entries of {}",
                performer.unused_entries(),
                replay.display()
            );
        }
        (result, None)
    } else if arguments.record.is_some() {
        let performer = RecordingPerformer::new(LocalPerformer::new());
        let result = runtime.block_on(run_to_completion(run, &performer));
        (result, Some(performer.cassette()))
    } else {
        let performer: &dyn EffectPerformer = &LocalPerformer::new();
        (runtime.block_on(run_to_completion(run, performer)), None)
    };
    if let (Some(path), Some(cassette)) = (&arguments.record, recorded) {
        cassette.save(path)?;
    }
    match result {
        Ok(outcome) => {
            for line in &outcome.info_lines {
                println!("{line}");
            }
            println!("{}", outcome.return_value.to_display_string());
            Ok(())
        }
        Err(error) => {
            for line in error.info_lines() {
                println!("{line}");
            }
            report_failure(&shown_path, &source, &error);
            bail!("the function failed ({})", error.code());
        }
    }
}

fn report_failure(path: &str, source: &str, error: &FunctionsError) {
    match error {
        FunctionsError::ScriptFailed { failure } => match failure.error.location() {
            Some(location) => {
                let diagnostic = CompileDiagnostic {
                    code: failure.error.code(),
                    message: failure.error.message(),
                    location,
                };
                eprint!("{}", render::render_text(path, source, &[diagnostic]));
            }
            None => eprintln!("{path}: error[{}]: {}", error.code(), error),
        },
        other => eprintln!("{path}: error[{}]: {other}", other.code()),
    }
}
