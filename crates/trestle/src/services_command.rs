//! `trestle services ...`: `list` and `show` read the catalog built into the binary (no server
//! needed); `create`, `update` and `delete` manage an organization's custom services on a
//! running server, from a TOML or JSON file with the fields of Zoho's custom-service form.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::Value;
use trestle_services::Catalog;

use crate::remote_client::{RemoteClient, ServerArgs, cell, path_segment, pretty_json};

/// `trestle services`
#[derive(Debug, Args)]
pub struct ServicesArgs {
    #[command(subcommand)]
    command: ServicesCommand,
}

#[derive(Debug, Subcommand)]
enum ServicesCommand {
    /// List every default service: key and display name, one per line. With --remote: the
    /// server's list for the organization, custom services included.
    List {
        /// Ask the server (--server, --token) instead of the catalog built into the binary.
        #[arg(long)]
        remote: bool,
        /// --json prints a JSON array (key, display_name, category, auth_type) instead.
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print one service's definition as JSON (with --remote: from the server, so custom
    /// services too).
    Show {
        /// Service key, e.g. zoho_books.
        key: String,
        /// Ask the server (--server, --token) instead of the catalog built into the binary.
        #[arg(long)]
        remote: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Create a custom service on the server from a TOML or JSON file (service_name,
    /// service_link_name, auth_type, URLs, client_id, client_secret, scopes...).
    Create {
        /// The definition: a .toml or .json file, or `-` for JSON on standard input.
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Replace a custom service's definition from a TOML or JSON file (same fields as create;
    /// service_link_name must stay the same).
    Update {
        /// The definition: a .toml or .json file, or `-` for JSON on standard input.
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete a custom service (refused while a connection uses it).
    Delete {
        /// Service link name of the custom service.
        key: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Runs a `trestle services` command.
pub fn run(arguments: ServicesArgs) -> anyhow::Result<()> {
    let catalog = Catalog::builtin();
    let mut output = String::new();
    match arguments.command {
        ServicesCommand::List {
            remote: true,
            server,
        } => {
            output = list_remote(&server)?;
        }
        ServicesCommand::List {
            remote: false,
            server,
        } if server.json => {
            output = serde_json::to_string_pretty(&catalog.entries())?;
            output.push('\n');
        }
        ServicesCommand::List { remote: false, .. } => {
            let width = catalog
                .list()
                .iter()
                .map(|service| service.key.len())
                .max()
                .unwrap_or(0);
            for service in catalog.list() {
                output.push_str(&format!(
                    "{:<width$}  {}\n",
                    service.key, service.display_name
                ));
            }
        }
        ServicesCommand::Show {
            key,
            remote: true,
            server,
        } => {
            let mut client = RemoteClient::new(&server)?;
            let path = client.organization_path(&format!("/services/{}", path_segment(&key)))?;
            output = pretty_json(&client.call(Method::GET, &path, None)?["service"])?;
        }
        ServicesCommand::Show { key, .. } => {
            let service = catalog
                .require(&key)
                .map_err(|error| anyhow::anyhow!("{} ({})", error, error.code()))?;
            output = serde_json::to_string_pretty(service)?;
            output.push('\n');
        }
        ServicesCommand::Create { file, server } => {
            output = save_custom_service(&file, &server, false)?;
        }
        ServicesCommand::Update { file, server } => {
            output = save_custom_service(&file, &server, true)?;
        }
        ServicesCommand::Delete { key, server } => {
            let mut client = RemoteClient::new(&server)?;
            let path = client.organization_path(&format!("/services/{}", path_segment(&key)))?;
            client.call(Method::DELETE, &path, None)?;
            output = if client.json {
                pretty_json(&serde_json::json!({ "deleted": key }))?
            } else {
                format!("deleted custom service {key}\n")
            };
        }
    }
    write_stdout(&output)
}

/// The organization's services from the server: key, display name and origin.
fn list_remote(server: &ServerArgs) -> anyhow::Result<String> {
    let mut client = RemoteClient::new(server)?;
    let path = client.organization_path("/services")?;
    let services = client.call(Method::GET, &path, None)?["services"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if client.json {
        return pretty_json(&Value::Array(services));
    }
    let rows: Vec<Vec<String>> = services
        .iter()
        .map(|service| {
            vec![
                cell(&service["key"]),
                cell(&service["display_name"]),
                cell(&service["origin"]),
            ]
        })
        .collect();
    Ok(crate::remote_client::table(
        &["KEY", "DISPLAY NAME", "ORIGIN"],
        &rows,
    ))
}

/// `POST .../services` (create) or `PUT .../services/{key}` (update) with the file's content.
fn save_custom_service(file: &Path, server: &ServerArgs, replace: bool) -> anyhow::Result<String> {
    let definition = read_definition(file)?;
    let Some(key) = definition["service_link_name"].as_str().map(str::to_owned) else {
        bail!(
            "{}: service_link_name is missing (lower-case letters, digits and _, e.g. service_link_name = \"acme_crm\")",
            file.display()
        );
    };
    let mut client = RemoteClient::new(server)?;
    let (method, path) = if replace {
        (
            Method::PUT,
            client.organization_path(&format!("/services/{}", path_segment(&key)))?,
        )
    } else {
        (Method::POST, client.organization_path("/services")?)
    };
    let answer = client.call(method, &path, Some(&definition))?;
    if client.json {
        return pretty_json(&answer["service"]);
    }
    Ok(format!(
        "{} custom service {} ({}, {})\n",
        if replace { "updated" } else { "created" },
        cell(&answer["service"]["key"]),
        cell(&answer["service"]["display_name"]),
        cell(&answer["service"]["auth_type"]),
    ))
}

/// A definition file as JSON: TOML when the name ends in `.toml`, JSON otherwise.
fn read_definition(file: &Path) -> anyhow::Result<Value> {
    let text = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("cannot read the definition from standard input")?;
        text
    } else {
        std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the service definition {}", file.display()))?
    };
    let is_toml = file
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("toml"));
    let definition: Value = if is_toml {
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", file.display()))?
    } else {
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not valid JSON (name the file .toml for TOML)",
                file.display()
            )
        })?
    };
    if !definition.is_object() {
        bail!(
            "{}: the definition must be a table/object of fields",
            file.display()
        );
    }
    Ok(definition)
}

/// Writes to standard output; a closed pipe (`trestle services list | head`) is not an error.
pub(crate) fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
