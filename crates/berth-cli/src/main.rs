//! `berth`: the Berth command line. Subcommands that are whole programs of their own live in
//! `berth-<name>` binaries beside this one (Docker's CLI-plugin model): `berth registry serve`
//! runs `berth-registry serve`.

mod plugin;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "berth", version, about = "Berth container engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an OCI distribution registry (`serve`, `gc`; see `berth registry --help`).
    #[command(disable_help_flag = true)]
    Registry {
        /// Arguments for `berth-registry`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Registry { args } => plugin::exec("berth-registry", &args),
    }
}
