//! The `trestle` command: parses arguments and wires the library crates together.
//! Each command group lives in its own module; this file only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "trestle", version, about = "Connections, Deluge functions and a Bigin-compatible CRM for topping developers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {}
}
