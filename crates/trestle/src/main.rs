//! The `trestle` command: parses arguments and wires the library crates together.
//! Each command group lives in its own module; this file only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod keys_command;
mod services_command;

#[derive(Debug, Parser)]
#[command(name = "trestle", version, about = "Connections, Deluge functions and a Bigin-compatible CRM for topping developers")]
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Services(arguments) => services_command::run(arguments),
        Command::Keys(arguments) => keys_command::run(arguments),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
