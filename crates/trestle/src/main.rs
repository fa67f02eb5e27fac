//! The `trestle` command: parses arguments and wires the library crates together.
//! Each command group lives in its own module; this file only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod admin_command;
mod serve_command;

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
    /// Run the server: zero-config SQLite under ./trestle-data, or --db postgres://...
    Serve(serve_command::ServeArgs),
    /// Operator tasks on the database, no running server needed.
    Admin(admin_command::AdminArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(arguments) => serve_command::run(arguments),
        Command::Admin(arguments) => admin_command::run(arguments),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
