//! The `trestle` command: parses arguments and wires the library crates together.
//! Each command group lives in its own module; this file only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// mimalloc: the Deluge VM allocates many small texts, maps and lists; glibc malloc made
// them the largest cost in the benchmark (bench/deluge).
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin_command;
mod connections_command;
mod deluge_command;
mod keys_command;
mod oauth_clients_command;
mod remote_client;
mod serve_command;
mod services_command;

#[derive(Debug, Parser)]
#[command(
    name = "trestle",
    version,
    about = "Connections, Deluge functions and a Bigin-compatible CRM for topping developers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Services: list and show the built-in catalog; create, update, delete custom services.
    Services(services_command::ServicesArgs),
    /// Connections on a server: list, show, create, authorize, reauthorize, test, revoke, delete.
    Connections(connections_command::ConnectionsArgs),
    /// Clients of Trestle's own OAuth server (for the Bigin-compatible API): create, list, delete.
    OauthClients(oauth_clients_command::OauthClientsArgs),
    /// Master keys for credentials at rest: generate, list, rotate.
    Keys(keys_command::KeysArgs),
    /// Run the server: zero-config SQLite under ./trestle-data, or --db postgres://...
    Serve(serve_command::ServeArgs),
    /// Operator tasks on the database, no running server needed.
    Admin(admin_command::AdminArgs),
    /// Deluge functions: check files, run a function locally.
    Deluge(deluge_command::DelugeArgs),
}

fn main() -> ExitCode {
    // The binary's one TLS crypto provider (ring), installed before any client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Services(arguments) => services_command::run(arguments),
        Command::Connections(arguments) => connections_command::run(arguments),
        Command::OauthClients(arguments) => oauth_clients_command::run(arguments),
        Command::Keys(arguments) => keys_command::run(arguments),
        Command::Serve(arguments) => serve_command::run(arguments),
        Command::Admin(arguments) => admin_command::run(arguments),
        Command::Deluge(arguments) => deluge_command::run(arguments),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(remote_client::exit_code(&error))
        }
    }
}
