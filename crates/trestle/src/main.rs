//! The `trestle` command: parses arguments and wires the library crates together.
//! Each command group lives in its own module; this file only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// mimalloc: the Deluge VM allocates many small texts, maps and lists; glibc malloc made
// them the largest cost in the benchmark (bench/deluge).
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin_command;
mod deluge_command;
mod keys_command;
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
    /// The service catalog: list services, show one definition.
    Services(services_command::ServicesArgs),
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
        Command::Keys(arguments) => keys_command::run(arguments),
        Command::Serve(arguments) => serve_command::run(arguments),
        Command::Admin(arguments) => admin_command::run(arguments),
        Command::Deluge(arguments) => deluge_command::run(arguments),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
