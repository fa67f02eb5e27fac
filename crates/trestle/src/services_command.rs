//! `trestle services ...`: the service catalog, read from the binary (no server needed).

use std::io::Write;

use anyhow::Context;
use clap::{Args, Subcommand};
use trestle_services::Catalog;

/// `trestle services`
#[derive(Debug, Args)]
pub struct ServicesArgs {
    #[command(subcommand)]
    command: ServicesCommand,
}

#[derive(Debug, Subcommand)]
enum ServicesCommand {
    /// List every default service: key and display name, one per line.
    List {
        /// Print a JSON array (key, display_name, category, auth_type) instead.
        #[arg(long)]
        json: bool,
    },
    /// Print one service's definition as JSON.
    Show {
        /// Service key, e.g. zoho_books.
        key: String,
    },
}

/// Runs a `trestle services` command.
pub fn run(arguments: ServicesArgs) -> anyhow::Result<()> {
    let catalog = Catalog::builtin();
    let mut output = String::new();
    match arguments.command {
        ServicesCommand::List { json: true } => {
            output = serde_json::to_string_pretty(&catalog.entries())?;
            output.push('\n');
        }
        ServicesCommand::List { json: false } => {
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
        ServicesCommand::Show { key } => {
            let service = catalog
                .require(&key)
                .map_err(|error| anyhow::anyhow!("{} ({})", error, error.code()))?;
            output = serde_json::to_string_pretty(service)?;
            output.push('\n');
        }
    }
    write_stdout(&output)
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
