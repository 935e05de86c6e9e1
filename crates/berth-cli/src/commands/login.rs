//! `login` (POST /auth, then the credentials into Docker's config.json) and `logout`.

use std::io::{self, BufRead, Read, Write};

use berth_client::models::AuthConfig;
use rustix::termios::{self, LocalModes, OptionalActions};

use crate::Ctx;
use crate::cli::LoginArgs;
use crate::config::{ConfigFile, registry_key};

pub fn login(ctx: &Ctx, args: LoginArgs) -> anyhow::Result<i32> {
    let registry = registry_key(args.server.as_deref());
    let username = match args.username {
        Some(u) => u,
        None => prompt("Username: ")?,
    };
    let password = if args.password_stdin {
        let mut p = String::new();
        io::stdin().read_to_string(&mut p)?;
        p.trim_end_matches(['\n', '\r']).to_owned()
    } else if let Some(p) = args.password {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        p
    } else {
        prompt_hidden("Password: ")?
    };
    if username.is_empty() || password.is_empty() {
        anyhow::bail!("Error: Cannot perform an interactive login from a non TTY device");
    }
    let response = ctx.client()?.auth(&AuthConfig {
        username: Some(username.clone()),
        password: Some(password.clone()),
        serveraddress: Some(registry.clone()),
    })?;
    let mut config = ConfigFile::load(&ctx.config_dir())?;
    // As the docker CLI: an identity token from the registry replaces the password on disk.
    match response["IdentityToken"].as_str().filter(|t| !t.is_empty()) {
        Some(token) => config.store_identity_token(&registry, &username, token),
        None => config.store(&registry, &username, &password),
    }
    config.save()?;
    let status = response["Status"].as_str().unwrap_or("Login Succeeded");
    println!("{status}");
    Ok(0)
}

pub fn logout(ctx: &Ctx, server: Option<&str>) -> anyhow::Result<i32> {
    let registry = registry_key(server);
    let mut config = ConfigFile::load(&ctx.config_dir())?;
    if config.remove(&registry) {
        config.save()?;
        println!("Removing login credentials for {registry}");
    } else {
        println!("Not logged in to {registry}");
    }
    Ok(0)
}

fn prompt(label: &str) -> anyhow::Result<String> {
    eprint!("{label}");
    io::stderr().flush()?;
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// Reads a line with echo off when stdin is a terminal.
fn prompt_hidden(label: &str) -> anyhow::Result<String> {
    let stdin = io::stdin();
    let saved = termios::tcgetattr(&stdin).ok();
    if let Some(saved) = &saved {
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        termios::tcsetattr(&stdin, OptionalActions::Now, &quiet)?;
    }
    let line = prompt(label);
    if let Some(saved) = &saved {
        let _ = termios::tcsetattr(&stdin, OptionalActions::Now, saved);
        eprintln!();
    }
    line
}
