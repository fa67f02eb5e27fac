//! The management API as the CLI sees it: a server URL, an API token, the organization to act
//! in, and one call that returns the JSON answer or a failure carrying the server's error
//! code and message. Used by `trestle connections`, `trestle services create|update|delete`
//! and `trestle oauth-clients`.
//!
//! Exit codes (see [`exit_code`]): 0 success; 1 the request was refused (a 4xx, or a 502 when
//! the third-party service refused a credential) or the local input is wrong; 2 the command
//! line is wrong (clap); 3 the server could not be reached or failed (other 5xx, an answer
//! that is not Trestle's JSON).

use std::fmt;
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::Value;

/// Exit code: the server refused the request, or the local input is wrong.
pub const EXIT_REFUSED: u8 = 1;
/// Exit code: the server could not be reached, or it failed.
pub const EXIT_UNAVAILABLE: u8 = 3;

/// How to reach the server, shared by every command that talks to one.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// URL of the Trestle server, e.g. http://127.0.0.1:8080 (also TRESTLE_SERVER).
    #[arg(long, env = "TRESTLE_SERVER", value_name = "URL", global = true)]
    pub server: Option<String>,
    /// API token of the organization (also TRESTLE_TOKEN; `trestle admin issue-token` makes one).
    #[arg(
        long,
        env = "TRESTLE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        global = true
    )]
    pub token: Option<String>,
    /// Organization id; by default the API token's own organization (also TRESTLE_ORG).
    #[arg(long = "org", env = "TRESTLE_ORG", value_name = "ID", global = true)]
    pub organization: Option<String>,
    /// Print the server's JSON instead of the human-readable output.
    #[arg(long, global = true)]
    pub json: bool,
}

/// A failure the server reported, or the server being out of reach. Carried inside
/// `anyhow::Error` so `main` can pick the exit code.
#[derive(Debug)]
pub enum RemoteFailure {
    /// The server answered 4xx (or 502: the third-party service refused) with its error shape.
    Refused {
        status: u16,
        code: String,
        message: String,
        details: Value,
    },
    /// No answer, a 5xx, or an answer that is not the API's JSON.
    Unavailable { message: String },
}

impl fmt::Display for RemoteFailure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteFailure::Refused {
                status,
                code,
                message,
                details,
            } => {
                write!(formatter, "{code} ({status}): {message}")?;
                for (field, problem) in field_problems(details) {
                    write!(formatter, "\n  {field}: {problem}")?;
                }
                Ok(())
            }
            RemoteFailure::Unavailable { message } => formatter.write_str(message),
        }
    }
}

impl std::error::Error for RemoteFailure {}

/// The exit code for an error returned by a command.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    match error.downcast_ref::<RemoteFailure>() {
        Some(RemoteFailure::Unavailable { .. }) => EXIT_UNAVAILABLE,
        _ => EXIT_REFUSED,
    }
}

/// A connected client: base URL, token and the organization id in use.
pub struct RemoteClient {
    base_url: String,
    token: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    organization: Option<String>,
    /// Print JSON instead of tables.
    pub json: bool,
}

impl RemoteClient {
    /// Checks the flags and builds the client; no request is sent yet.
    pub fn new(arguments: &ServerArgs) -> anyhow::Result<RemoteClient> {
        let Some(server) = arguments
            .server
            .as_deref()
            .map(str::trim)
            .filter(|server| !server.is_empty())
        else {
            bail!(
                "no server given: pass --server http://HOST:PORT or set TRESTLE_SERVER (start one with `trestle serve`)"
            );
        };
        let parsed = url::Url::parse(server)
            .with_context(|| format!("--server {server}: not a URL (write http://HOST:PORT)"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("--server {server}: the URL must start with http:// or https://");
        }
        let Some(token) = arguments
            .token
            .as_deref()
            .map(str::trim)
            .filter(|token| !token.is_empty())
        else {
            bail!(
                "no API token given: pass --token trestle_... or set TRESTLE_TOKEN (`trestle admin issue-token` makes one)"
            );
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot create the HTTP client")?;
        Ok(RemoteClient {
            base_url: server.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http,
            runtime,
            organization: arguments
                .organization
                .as_deref()
                .map(str::trim)
                .filter(|organization| !organization.is_empty())
                .map(str::to_owned),
            json: arguments.json,
        })
    }

    /// The organization to act in: `--org`, or the one organization of the API token.
    pub fn organization_id(&mut self) -> anyhow::Result<String> {
        if let Some(organization) = &self.organization {
            return Ok(organization.clone());
        }
        let me = self.call(Method::GET, "/api/v1/me", None)?;
        let organizations: Vec<&str> = me["organizations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|organization| organization["id"].as_str())
            .collect();
        let organization = match organizations.as_slice() {
            [one] => (*one).to_owned(),
            [] => bail!("this API token belongs to no organization; pass --org ID"),
            many => bail!(
                "this login can act in {} organizations; pass --org ID (one of {})",
                many.len(),
                many.join(", ")
            ),
        };
        self.organization = Some(organization.clone());
        Ok(organization)
    }

    /// `/api/v1/organizations/{org}` followed by `suffix`.
    pub fn organization_path(&mut self, suffix: &str) -> anyhow::Result<String> {
        let organization = self.organization_id()?;
        Ok(format!(
            "/api/v1/organizations/{}{suffix}",
            path_segment(&organization)
        ))
    }

    /// Sends one request and returns the JSON answer (`Value::Null` for 204). A 4xx becomes
    /// [`RemoteFailure::Refused`], anything else unexpected [`RemoteFailure::Unavailable`].
    pub fn call(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base_url);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let (status, text) = self.runtime.block_on(async {
            let response = request.send().await.map_err(|error| RemoteFailure::Unavailable {
                message: format!(
                    "cannot reach the Trestle server at {} ({}); is `trestle serve` running there?",
                    self.base_url,
                    error_chain(&error)
                ),
            })?;
            let status = response.status().as_u16();
            let text = response
                .text()
                .await
                .map_err(|error| RemoteFailure::Unavailable {
                    message: format!("the server's answer was cut off ({})", error_chain(&error)),
                })?;
            Ok::<_, RemoteFailure>((status, text))
        })?;
        if status == 204 || (text.trim().is_empty() && (200..300).contains(&status)) {
            return Ok(Value::Null);
        }
        let answer: Option<Value> = serde_json::from_str(&text).ok();
        match (status, answer) {
            (200..=299, Some(answer)) => Ok(answer),
            // 502: the third-party service refused (a token request, a verification).
            (400..=499 | 502, Some(answer)) if answer["code"].is_string() => {
                Err(RemoteFailure::Refused {
                    status,
                    code: answer["code"].as_str().unwrap_or_default().to_owned(),
                    message: answer["message"].as_str().unwrap_or_default().to_owned(),
                    details: answer["details"].clone(),
                }
                .into())
            }
            (_, Some(answer)) if answer["code"].is_string() => Err(RemoteFailure::Unavailable {
                message: format!(
                    "the server failed ({status}, {}): {}",
                    answer["code"].as_str().unwrap_or_default(),
                    answer["message"].as_str().unwrap_or_default()
                ),
            }
            .into()),
            _ => Err(RemoteFailure::Unavailable {
                message: format!(
                    "{url} answered {status} with something that is not Trestle's JSON API; is --server the Trestle server's URL?"
                ),
            }
            .into()),
        }
    }
}

/// Encodes one path segment (link names and keys are plain, but ids come from the user).
pub fn path_segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Formats rows as aligned columns under a header; the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|title| title.chars().count()).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let mut output = String::new();
    let header_cells: Vec<String> = header.iter().map(|title| (*title).to_owned()).collect();
    for row in std::iter::once(&header_cells).chain(rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                let width = widths.get(index).copied().unwrap_or(0);
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        output.push_str(line.trim_end());
        output.push('\n');
    }
    output
}

/// A JSON value as one table cell: text as is, null as `-`.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        Value::Array(items) if items.is_empty() => "-".to_owned(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Pretty JSON with a final newline.
pub fn pretty_json(value: &Value) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// `field: problem` pairs from the error shape's details (`{"fields": [...]}` or a map).
fn field_problems(details: &Value) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let fields = details.get("fields").unwrap_or(details);
    match fields {
        Value::Array(items) => {
            for item in items {
                let field = item["field"].as_str().unwrap_or_default();
                let message = item["message"].as_str().unwrap_or_default();
                if !field.is_empty() || !message.is_empty() {
                    problems.push((field.to_owned(), message.to_owned()));
                }
            }
        }
        Value::Object(map) => {
            for (field, message) in map {
                if let Some(message) = message.as_str() {
                    problems.push((field.clone(), message.to_owned()));
                }
            }
        }
        _ => {}
    }
    problems
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_leave_the_last_unpadded() {
        let text = table(
            &["LINK NAME", "STATUS"],
            &[
                vec!["a__b".to_owned(), "active".to_owned()],
                vec!["crm__zoho_books".to_owned(), "-".to_owned()],
            ],
        );
        assert_eq!(
            text,
            "LINK NAME        STATUS\na__b             active\ncrm__zoho_books  -\n"
        );
    }

    #[test]
    fn refused_errors_list_field_problems() {
        let failure = RemoteFailure::Refused {
            status: 422,
            code: "VALIDATION_FAILED".to_owned(),
            message: "the service is invalid".to_owned(),
            details: serde_json::json!({"fields": [{"field": "api_base_url", "message": "must be an https URL"}]}),
        };
        assert_eq!(
            failure.to_string(),
            "VALIDATION_FAILED (422): the service is invalid\n  api_base_url: must be an https URL"
        );
        assert_eq!(exit_code(&anyhow::Error::new(failure)), EXIT_REFUSED);
        let unavailable = RemoteFailure::Unavailable {
            message: "down".to_owned(),
        };
        assert_eq!(
            exit_code(&anyhow::Error::new(unavailable)),
            EXIT_UNAVAILABLE
        );
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(path_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(path_segment("crm__books"), "crm__books");
    }
}
