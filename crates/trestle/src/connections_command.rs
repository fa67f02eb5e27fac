//! `trestle connections ...`: connections of an organization on a running server (the
//! `/api/v1/organizations/{org}/connections` API): list, show, create, authorize,
//! reauthorize, test, revoke, delete, per environment.

use std::io::Read;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use crate::remote_client::{RemoteClient, ServerArgs, cell, path_segment, pretty_json, table};
use crate::services_command::write_stdout;

/// `trestle connections`
#[derive(Debug, Args)]
pub struct ConnectionsArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(subcommand)]
    command: ConnectionsCommand,
}

/// `--env`, shared by the commands that act in one environment.
#[derive(Debug, Clone, Args)]
struct EnvironmentArg {
    /// Environment: sandbox or production.
    #[arg(long = "env", visible_alias = "environment", value_name = "NAME", default_value = "sandbox", value_parser = ["sandbox", "production"])]
    environment: String,
}

#[derive(Debug, Subcommand)]
enum ConnectionsCommand {
    /// List the organization's connections with their status in each environment.
    List {
        /// Show only this environment's status.
        #[arg(long = "env", visible_alias = "environment", value_name = "NAME", value_parser = ["sandbox", "production"])]
        environment: Option<String>,
    },
    /// Show one connection: service, scopes, settings and each environment's status.
    Show {
        /// Link name, e.g. crm__zoho_books.
        link_name: String,
    },
    /// Create a connection to a service (not authorized yet).
    Create {
        /// Topping namespace; the link name is `<namespace>__<name>`.
        #[arg(long)]
        namespace: String,
        /// Connection name, e.g. "Zoho Books".
        #[arg(long)]
        name: String,
        /// Service key, e.g. zoho_books (see `trestle services list`).
        #[arg(long = "service", value_name = "KEY")]
        service_key: String,
        /// The part after `__` when the one made from --name does not suit.
        #[arg(long, value_name = "NAME")]
        link_name: Option<String>,
        /// A scope to request (repeat for several); default: the service's default scopes.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// A per-connection setting such as a data centre: NAME=VALUE (repeatable).
        #[arg(long = "setting", value_name = "NAME=VALUE")]
        settings: Vec<String>,
        /// This connection's own OAuth client id (instead of the service's).
        #[arg(long, value_name = "ID")]
        oauth_client_id: Option<String>,
        /// File holding this connection's own OAuth client secret (`-` for standard input).
        #[arg(long, value_name = "PATH")]
        oauth_client_secret_file: Option<String>,
    },
    /// Authorize in one environment. OAuth 2 code services: prints the URL to open in the
    /// browser. Client credentials: fetches a token. API key, basic, bearer: give the secrets
    /// with --credential.
    Authorize(AuthorizeArgs),
    /// Authorize again (after revocation, or when the status is needs_reauthorization).
    Reauthorize(AuthorizeArgs),
    /// Check that the connection works in one environment (refreshes an expired token and
    /// sends the service's verification request when it has one).
    Test {
        link_name: String,
        #[command(flatten)]
        environment: EnvironmentArg,
    },
    /// Revoke the authorization in one environment (at the service too, when it can).
    Revoke {
        link_name: String,
        #[command(flatten)]
        environment: EnvironmentArg,
    },
    /// Delete the connection in every environment (revoked at the service first, when it can).
    Delete { link_name: String },
}

#[derive(Debug, Args)]
struct AuthorizeArgs {
    /// Link name, e.g. crm__zoho_books.
    link_name: String,
    #[command(flatten)]
    environment: EnvironmentArg,
    /// A credential field: NAME=VALUE, NAME=@PATH (read from a file) or NAME=- (standard
    /// input). Fields: api_key, username, password, token... (repeatable). Prefer @PATH or -:
    /// other users of this machine can see command lines.
    #[arg(long = "credential", value_name = "NAME=VALUE")]
    credentials: Vec<String>,
}

/// Runs a `trestle connections` command.
pub fn run(arguments: ConnectionsArgs) -> anyhow::Result<()> {
    let mut client = RemoteClient::new(&arguments.server)?;
    let output = match arguments.command {
        ConnectionsCommand::List { environment } => list(&mut client, environment.as_deref())?,
        ConnectionsCommand::Show { link_name } => {
            let connection = get_connection(&mut client, &link_name)?;
            if client.json {
                pretty_json(&connection)?
            } else {
                describe(&connection)
            }
        }
        ConnectionsCommand::Create {
            namespace,
            name,
            service_key,
            link_name,
            scopes,
            settings,
            oauth_client_id,
            oauth_client_secret_file,
        } => {
            let mut body = json!({
                "namespace": namespace, "name": name, "service_key": service_key,
                "settings": parse_pairs("--setting", &settings)?,
            });
            if let Some(link_name) = link_name {
                body["link_name"] = Value::from(link_name);
            }
            if !scopes.is_empty() {
                body["scopes"] = Value::from(scopes);
            }
            if let Some(client_id) = oauth_client_id {
                body["oauth_client_id"] = Value::from(client_id);
            }
            if let Some(path) = oauth_client_secret_file {
                body["oauth_client_secret"] =
                    Value::from(read_secret("--oauth-client-secret-file", &path)?);
            }
            let path = client.organization_path("/connections")?;
            let answer = client.call(Method::POST, &path, Some(&body))?;
            if client.json {
                pretty_json(&answer["connection"])?
            } else {
                format!(
                    "created connection {} (service {}); authorize it with `trestle connections authorize {} --env sandbox`\n",
                    cell(&answer["connection"]["link_name"]),
                    cell(&answer["connection"]["service_key"]),
                    cell(&answer["connection"]["link_name"]),
                )
            }
        }
        ConnectionsCommand::Authorize(authorize_arguments) => {
            authorize(&mut client, authorize_arguments, "authorize")?
        }
        ConnectionsCommand::Reauthorize(authorize_arguments) => {
            authorize(&mut client, authorize_arguments, "reauthorize")?
        }
        ConnectionsCommand::Test {
            link_name,
            environment,
        } => {
            let answer = environment_action(&mut client, &link_name, "test", &environment)?;
            if client.json {
                pretty_json(&answer)?
            } else {
                format!(
                    "ok: {link_name} works in {} ({})\n",
                    environment.environment,
                    environment_status(&answer["connection"], &environment.environment)
                )
            }
        }
        ConnectionsCommand::Revoke {
            link_name,
            environment,
        } => {
            let answer = environment_action(&mut client, &link_name, "revoke", &environment)?;
            if client.json {
                pretty_json(&answer["connection"])?
            } else {
                format!(
                    "revoked {link_name} in {} ({})\n",
                    environment.environment,
                    environment_status(&answer["connection"], &environment.environment)
                )
            }
        }
        ConnectionsCommand::Delete { link_name } => {
            let path = connection_path(&mut client, &link_name, "")?;
            client.call(Method::DELETE, &path, None)?;
            if client.json {
                pretty_json(&json!({ "deleted": link_name }))?
            } else {
                format!("deleted connection {link_name}\n")
            }
        }
    };
    write_stdout(&output)
}

fn list(client: &mut RemoteClient, environment: Option<&str>) -> anyhow::Result<String> {
    let path = client.organization_path("/connections")?;
    let answer = client.call(Method::GET, &path, None)?;
    let connections = answer["connections"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if client.json {
        return pretty_json(&Value::Array(connections));
    }
    if connections.is_empty() {
        return Ok(
            "no connections yet; create one with `trestle connections create --namespace NS --name NAME --service KEY`\n"
                .to_owned(),
        );
    }
    let environments: Vec<&str> = match environment {
        Some(environment) => vec![environment],
        None => vec!["sandbox", "production"],
    };
    let mut header = vec!["LINK NAME", "SERVICE"];
    header.extend(environments.iter().map(|environment| match *environment {
        "sandbox" => "SANDBOX",
        _ => "PRODUCTION",
    }));
    let rows: Vec<Vec<String>> = connections
        .iter()
        .map(|connection| {
            let mut row = vec![
                cell(&connection["link_name"]),
                cell(&connection["service_key"]),
            ];
            row.extend(
                environments
                    .iter()
                    .map(|environment| environment_status(connection, environment)),
            );
            row
        })
        .collect();
    Ok(table(&header, &rows))
}

fn authorize(
    client: &mut RemoteClient,
    arguments: AuthorizeArgs,
    action: &str,
) -> anyhow::Result<String> {
    let environment = arguments.environment.environment.clone();
    let link_name = arguments.link_name;
    let connection = get_connection(client, &link_name)?;
    let service_key = cell(&connection["service_key"]);
    let service_path =
        client.organization_path(&format!("/services/{}", path_segment(&service_key)))?;
    let service = client.call(Method::GET, &service_path, None)?;
    let auth_type = service["service"]["auth_type"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let credentials = arguments
        .credentials
        .iter()
        .map(|pair| parse_credential(pair))
        .collect::<anyhow::Result<serde_json::Map<String, Value>>>()?;

    if auth_type == "oauth2_authorization_code" {
        if !credentials.is_empty() {
            bail!(
                "{link_name} uses an OAuth 2 authorization code service ({service_key}): it is authorized in the browser, not with --credential"
            );
        }
        let answer = environment_action(client, &link_name, action, &arguments.environment)?;
        let authorization = &answer["authorization"];
        return if client.json {
            pretty_json(authorization)
        } else {
            Ok(format!(
                "Open this URL in the browser that should authorize {link_name} in {environment} (valid until {}):\n{}\n",
                cell(&authorization["expires_at"]),
                cell(&authorization["launch_url"]),
            ))
        };
    }
    if credentials.is_empty() && auth_type != "oauth2_client_credentials" && auth_type != "none" {
        bail!(
            "{link_name} uses a {auth_type} service ({service_key}): give its secrets with --credential NAME=@PATH (fields such as api_key, username, password, token)"
        );
    }
    let path = connection_path(client, &link_name, "/credentials")?;
    let answer = client.call(
        Method::POST,
        &path,
        Some(&json!({ "environment": environment, "values": credentials })),
    )?;
    if client.json {
        pretty_json(&answer["connection"])
    } else {
        Ok(format!(
            "authorized {link_name} in {environment} ({})\n",
            environment_status(&answer["connection"], &environment)
        ))
    }
}

fn get_connection(client: &mut RemoteClient, link_name: &str) -> anyhow::Result<Value> {
    let path = connection_path(client, link_name, "")?;
    Ok(client.call(Method::GET, &path, None)?["connection"].clone())
}

fn connection_path(
    client: &mut RemoteClient,
    link_name: &str,
    suffix: &str,
) -> anyhow::Result<String> {
    client.organization_path(&format!("/connections/{}{suffix}", path_segment(link_name)))
}

/// `POST .../connections/{link}/{action}?environment=...`
fn environment_action(
    client: &mut RemoteClient,
    link_name: &str,
    action: &str,
    environment: &EnvironmentArg,
) -> anyhow::Result<Value> {
    let path = connection_path(
        client,
        link_name,
        &format!("/{action}?environment={}", environment.environment),
    )?;
    client.call(Method::POST, &path, None)
}

/// The status of one environment, with the last error when there is one.
fn environment_status(connection: &Value, environment: &str) -> String {
    let Some(entry) = connection["environments"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|entry| entry["environment"] == environment)
    else {
        return "-".to_owned();
    };
    cell(&entry["status"])
}

fn describe(connection: &Value) -> String {
    let mut text = String::new();
    let mut line = |label: &str, value: String| text.push_str(&format!("{label:<20}{value}\n"));
    line("link name:", cell(&connection["link_name"]));
    line("name:", cell(&connection["name"]));
    line("namespace:", cell(&connection["namespace"]));
    line("service:", cell(&connection["service_key"]));
    line("requested scopes:", cell(&connection["requested_scopes"]));
    let settings = connection["settings"]
        .as_object()
        .map(|settings| {
            settings
                .iter()
                .map(|(name, value)| format!("{name}={}", cell(value)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|settings| !settings.is_empty())
        .unwrap_or_else(|| "-".to_owned());
    line("settings:", settings);
    line(
        "link name editable:",
        cell(&connection["link_name_editable"]),
    );
    line("created:", cell(&connection["created_at"]));
    let rows: Vec<Vec<String>> = connection["environments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            vec![
                cell(&entry["environment"]),
                cell(&entry["status"]),
                cell(&entry["granted_scopes"]),
                cell(&entry["expires_at"]),
                cell(&entry["last_error"]),
            ]
        })
        .collect();
    text.push('\n');
    text.push_str(&table(
        &[
            "ENVIRONMENT",
            "STATUS",
            "GRANTED SCOPES",
            "EXPIRES",
            "LAST ERROR",
        ],
        &rows,
    ));
    text
}

fn parse_pairs(flag: &str, pairs: &[String]) -> anyhow::Result<serde_json::Map<String, Value>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_owned(), Value::from(value)))
            }
            _ => bail!("{flag} {pair}: write NAME=VALUE, for example {flag} data_center=eu"),
        })
        .collect()
}

/// `NAME=VALUE`, `NAME=@PATH` or `NAME=-`.
fn parse_credential(pair: &str) -> anyhow::Result<(String, Value)> {
    let Some((name, value)) = pair
        .split_once('=')
        .filter(|(name, _)| !name.trim().is_empty())
    else {
        bail!(
            "--credential {}: write NAME=VALUE, NAME=@PATH or NAME=-, for example --credential api_key=@key.txt",
            pair.split_once('=').map_or(pair, |(name, _)| name)
        );
    };
    let name = name.trim().to_owned();
    let flag = format!("--credential {name}");
    let value = if value == "-" {
        read_secret(&flag, "-")?
    } else if let Some(path) = value.strip_prefix('@') {
        read_secret(&flag, path)?
    } else {
        value.to_owned()
    };
    Ok((name, Value::from(value)))
}

/// A secret from a file or standard input (`-`), without its final line break.
fn read_secret(flag: &str, path: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    if path == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .with_context(|| format!("{flag}: cannot read standard input"))?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("{flag}: cannot read the file {path}"))?;
    }
    let text = text.trim_end_matches(['\r', '\n']).to_owned();
    if text.is_empty() {
        bail!("{flag}: the secret is empty");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_values_files_and_are_checked() {
        let folder = tempfile::tempdir().unwrap();
        let key_file = folder.path().join("key.txt");
        std::fs::write(&key_file, "k-123\n").unwrap();
        assert_eq!(
            parse_credential("api_key=plain").unwrap(),
            ("api_key".to_owned(), Value::from("plain"))
        );
        assert_eq!(
            parse_credential(&format!("api_key=@{}", key_file.display())).unwrap(),
            ("api_key".to_owned(), Value::from("k-123"))
        );
        let error = parse_credential("api_key").unwrap_err().to_string();
        assert!(error.contains("write NAME=VALUE"), "{error}");
        let error = parse_credential("api_key=@/no/such/file")
            .unwrap_err()
            .to_string();
        assert!(error.contains("cannot read the file"), "{error}");
    }

    #[test]
    fn settings_need_a_name() {
        assert!(parse_pairs("--setting", &["=eu".to_owned()]).is_err());
        let settings = parse_pairs("--setting", &["data_center=eu".to_owned()]).unwrap();
        assert_eq!(settings["data_center"], "eu");
    }
}
