//! `trestle deluge run FILE --server URL --env NAME`: runs the script on a Trestle server
//! (`POST /api/v1/environments/{env}/functions/run`) with that environment's connections and
//! stand-in routes, and prints like the local mode: info lines, then the return value.
//! `trestle deluge run --function NAME --server URL` runs a stored function instead.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

/// What the server run needs from the command line.
pub struct RemoteRun<'a> {
    pub shown_path: &'a str,
    pub what: RemoteWhat,
    /// `NAME=JSON` pairs as given with --arg.
    pub arguments: &'a [String],
    pub max_statements: Option<u64>,
    pub server: &'a str,
    pub environment: &'a str,
    pub token: Option<&'a str>,
}

/// What the server runs.
pub enum RemoteWhat {
    /// Deluge source read from a file.
    Script(String),
    /// The name of a stored function of the environment.
    StoredFunction(String),
}

pub fn run_on_server(run: RemoteRun<'_>) -> anyhow::Result<()> {
    let Some(token) = run.token.filter(|token| !token.is_empty()) else {
        bail!(
            "--server needs an API token of the organization: pass --token trestle_... or set TRESTLE_TOKEN"
        );
    };
    let environment = run.environment.to_ascii_lowercase();
    if environment != "sandbox" && environment != "production" {
        bail!("--env {}: write `sandbox` or `production`", run.environment);
    }
    let mut arguments = serde_json::Map::new();
    for text in run.arguments {
        let Some((name, json)) = text.split_once('=') else {
            bail!("--arg {text}: write NAME=JSON, for example --arg 'name=\"Bigin\"'");
        };
        let value: Value = match (serde_json::from_str(json), &run.what) {
            (Ok(value), _) => value,
            // A stored function declares its parameter types; the server checks the text.
            (Err(_), RemoteWhat::StoredFunction(_)) => Value::String(json.to_owned()),
            (Err(error), RemoteWhat::Script(_)) => {
                return Err(error).with_context(|| {
                    format!(
                        "--arg {name}: `{json}` is not JSON (text needs quotes: {name}='\"text\"')"
                    )
                });
            }
        };
        arguments.insert(name.trim().to_owned(), value);
    }
    let mut body = match run.what {
        RemoteWhat::Script(source) => {
            serde_json::json!({ "script": source, "arguments": arguments })
        }
        RemoteWhat::StoredFunction(name) => {
            serde_json::json!({ "function": name, "arguments": arguments })
        }
    };
    if let Some(max_statements) = run.max_statements {
        body["max_statements"] = Value::from(max_statements);
    }
    let url = format!(
        "{}/api/v1/environments/{environment}/functions/run",
        run.server.trim_end_matches('/')
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (status, text) = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()
            .context("cannot create the HTTP client")?;
        let response = client
            .post(&url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("cannot reach the Trestle server at {}", run.server))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .context("reading the server's answer")?;
        anyhow::Ok((status, text))
    })?;
    let report: Value = serde_json::from_str(&text)
        .with_context(|| format!("the server answered {status} with something that is not JSON"))?;
    if !status.is_success() {
        let code = report["code"].as_str().unwrap_or("UNKNOWN");
        let message = report["message"].as_str().unwrap_or(&text);
        bail!("the server refused the run ({status}, {code}): {message}");
    }
    for line in report["info"].as_array().into_iter().flatten() {
        println!("{}", line.as_str().unwrap_or_default());
    }
    if let Some(error) = report.get("error").filter(|error| !error.is_null()) {
        let code = error["code"].as_str().unwrap_or("UNKNOWN");
        let message = error["message"].as_str().unwrap_or_default();
        match (error["line"].as_u64(), error["column"].as_u64()) {
            (Some(line), Some(column)) => {
                eprintln!(
                    "{}:{line}:{column}: error[{code}]: {message}",
                    run.shown_path
                )
            }
            _ => eprintln!("{}: error[{code}]: {message}", run.shown_path),
        }
        bail!("the function failed ({code})");
    }
    let return_value = trestle_functions::json::json_to_owned(&report["return_value"]);
    println!("{}", return_value.to_display_string());
    Ok(())
}
