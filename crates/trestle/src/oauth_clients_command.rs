//! `trestle oauth-clients ...`: clients of Trestle's own OAuth 2 authorization server (the
//! `/api/v1/oauth-clients` API) that programs use to call the Bigin-compatible API. The client
//! secret is printed once, when the client is created; the server keeps only its hash.

use clap::{Args, Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{Value, json};

use crate::remote_client::{RemoteClient, ServerArgs, cell, path_segment, pretty_json, table};
use crate::services_command::write_stdout;

/// `trestle oauth-clients`
#[derive(Debug, Args)]
pub struct OauthClientsArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(subcommand)]
    command: OauthClientsCommand,
}

#[derive(Debug, Subcommand)]
enum OauthClientsCommand {
    /// Register a client; prints its client_id and (web and server clients) its secret, once.
    Create {
        /// Name shown on the consent page.
        #[arg(long)]
        name: String,
        /// web: a server-side app with a secret and redirect URIs; public: an app that cannot
        /// keep a secret (PKCE); server: server-to-server (self client, client credentials).
        #[arg(long = "type", value_enum)]
        client_type: ClientTypeArg,
        /// An allowed redirect URI (repeatable; web and public clients).
        #[arg(long = "redirect-uri", value_name = "URL")]
        redirect_uris: Vec<String>,
    },
    /// List the organization's clients (never a secret).
    List,
    /// Delete a client and every token issued to it.
    Delete {
        /// The client_id, e.g. 1000.ABC...
        client_id: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ClientTypeArg {
    Web,
    Public,
    Server,
}

impl ClientTypeArg {
    fn as_str(self) -> &'static str {
        match self {
            ClientTypeArg::Web => "web",
            ClientTypeArg::Public => "public",
            ClientTypeArg::Server => "server",
        }
    }
}

/// Runs a `trestle oauth-clients` command.
pub fn run(arguments: OauthClientsArgs) -> anyhow::Result<()> {
    let mut client = RemoteClient::new(&arguments.server)?;
    let output = match arguments.command {
        OauthClientsCommand::Create {
            name,
            client_type,
            redirect_uris,
        } => {
            let organization_id = client.organization_id()?;
            let answer = client.call(
                Method::POST,
                "/api/v1/oauth-clients",
                Some(&json!({
                    "organization_id": organization_id, "name": name,
                    "client_type": client_type.as_str(), "redirect_uris": redirect_uris,
                })),
            )?;
            if client.json {
                pretty_json(&answer)?
            } else {
                let mut text = format!(
                    "created OAuth client {} ({})\nclient_id:     {}\n",
                    cell(&answer["name"]),
                    cell(&answer["client_type"]),
                    cell(&answer["client_id"]),
                );
                match answer["client_secret"].as_str() {
                    Some(secret) => text.push_str(&format!(
                        "client_secret: {secret}\nThe secret is shown only now: store it safely.\n"
                    )),
                    None => text.push_str("client_secret: none (a public client uses PKCE)\n"),
                }
                text
            }
        }
        OauthClientsCommand::List => {
            let organization_id = client.organization_id()?;
            let answer = client.call(
                Method::GET,
                &format!(
                    "/api/v1/oauth-clients?organization_id={}",
                    path_segment(&organization_id)
                ),
                None,
            )?;
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            if client.json {
                pretty_json(&Value::Array(items))?
            } else if items.is_empty() {
                "no OAuth clients yet; register one with `trestle oauth-clients create --name NAME --type web --redirect-uri URL`\n".to_owned()
            } else {
                let rows: Vec<Vec<String>> = items
                    .iter()
                    .map(|item| {
                        vec![
                            cell(&item["client_id"]),
                            cell(&item["client_type"]),
                            cell(&item["name"]),
                            cell(&item["redirect_uris"]),
                        ]
                    })
                    .collect();
                table(&["CLIENT ID", "TYPE", "NAME", "REDIRECT URIS"], &rows)
            }
        }
        OauthClientsCommand::Delete { client_id } => {
            client.call(
                Method::DELETE,
                &format!("/api/v1/oauth-clients/{}", path_segment(&client_id)),
                None,
            )?;
            if client.json {
                pretty_json(&json!({ "deleted": client_id }))?
            } else {
                format!("deleted OAuth client {client_id} and its tokens\n")
            }
        }
    };
    write_stdout(&output)
}
