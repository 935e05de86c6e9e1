//! `berth`: the Berth command line, a Docker-compatible client of the Docker Engine API.
//! It talks to `berthd` (started on demand) or any dockerd (`-H`, `BERTH_HOST`, `DOCKER_HOST`).
//! Subcommands that are whole programs of their own live in `berth-<name>` binaries beside
//! this one (Docker's CLI-plugin model): `berth registry serve` runs `berth-registry serve`.

mod cli;
mod commands;
mod config;
mod connect;
mod format;
mod plugin;
mod stdio;
mod sys;
mod tty;

use std::cell::OnceCell;
use std::io::Write;
use std::path::PathBuf;

use berth_client::Client;
use clap::Parser;

use cli::Cli;

/// An error that carries the exit status Docker would use.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StatusError {
    pub message: String,
    pub code: i32,
}

/// What every command gets: the connection (made on first use) and the config directory.
pub struct Ctx {
    host: Option<String>,
    config_dir: Option<PathBuf>,
    client: OnceCell<Client>,
}

impl Ctx {
    pub fn client(&self) -> anyhow::Result<&Client> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = connect::connect(self.host.as_deref())?;
        Ok(self.client.get_or_init(|| client))
    }

    pub fn config_dir(&self) -> PathBuf {
        config::config_dir(self.config_dir.as_deref())
    }
}

fn main() {
    sys::default_sigpipe();
    let cli = Cli::parse();
    let ctx = Ctx {
        host: cli.host,
        config_dir: cli.config,
        client: OnceCell::new(),
    };
    let code = match commands::dispatch(&ctx, cli.command) {
        Ok(code) => code,
        Err(err) => report(&err),
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

/// Prints an error as docker does and picks the exit status.
fn report(err: &anyhow::Error) -> i32 {
    if let Some(status) = err.downcast_ref::<StatusError>() {
        if !status.message.is_empty() {
            eprintln!("{}", status.message);
        }
        return status.code;
    }
    if let Some(io) = err.downcast_ref::<std::io::Error>() {
        // A closed pipe (`berth ps | head`) is not worth a message.
        if io.kind() == std::io::ErrorKind::BrokenPipe {
            return 0;
        }
    }
    eprintln!("{err:#}");
    1
}
