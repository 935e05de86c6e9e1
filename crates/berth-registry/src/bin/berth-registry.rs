//! `berth-registry serve|gc`: the registry server (later `berth registry serve|gc`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use berth_registry::server::storage::Storage;
use berth_registry::server::storage::gc::GcOptions;
use berth_registry::server::{AuthConfig, Config, config};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "berth-registry", about = "OCI distribution registry")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the registry API.
    Serve(ServeArgs),
    /// Delete blobs no manifest references and expire abandoned uploads.
    Gc(GcArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long)]
    addr: Option<String>,
    #[arg(long)]
    root: Option<PathBuf>,
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// `htpasswd:FILE` or `token` (then --htpasswd FILE checks the token endpoint's logins).
    #[arg(long)]
    auth: Option<String>,
    #[arg(long)]
    htpasswd: Option<PathBuf>,
    #[arg(long)]
    token_issuer: Option<String>,
    #[arg(long)]
    token_service: Option<String>,
    #[arg(long)]
    token_realm: Option<String>,
    #[arg(long)]
    token_ttl_secs: Option<u64>,
    #[arg(long)]
    anonymous_pull: bool,
    /// JSON configuration file; flags override its values.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(clap::Args)]
struct GcArgs {
    #[arg(long)]
    root: Option<PathBuf>,
    #[arg(long)]
    dry_run: bool,
    /// Keep unreferenced blobs younger than this many seconds (pushes in flight).
    #[arg(long)]
    grace_secs: Option<u64>,
    /// Remove upload sessions idle for longer than this many seconds.
    #[arg(long)]
    upload_max_age_secs: Option<u64>,
    #[arg(long)]
    config: Option<PathBuf>,
}

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    Ok(match path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    })
}

fn serve_config(args: ServeArgs) -> anyhow::Result<Config> {
    let mut cfg = load_config(args.config.as_ref())?;
    if let Some(addr) = args.addr {
        cfg.addr = addr;
    }
    cfg.root = args.root.or(cfg.root);
    cfg.tls_cert = args.tls_cert.or(cfg.tls_cert);
    cfg.tls_key = args.tls_key.or(cfg.tls_key);
    cfg.anonymous_pull |= args.anonymous_pull;
    match args.auth.as_deref() {
        None => {}
        Some("none") => cfg.auth = None,
        Some(a) if a.starts_with("htpasswd:") => {
            cfg.auth = Some(AuthConfig::Htpasswd {
                file: PathBuf::from(&a["htpasswd:".len()..]),
            });
        }
        Some("token") => {
            let htpasswd = args
                .htpasswd
                .context("--auth token needs --htpasswd FILE for the token endpoint's users")?;
            cfg.auth = Some(AuthConfig::Token {
                htpasswd,
                issuer: args.token_issuer.unwrap_or_else(config::default_issuer),
                service: args.token_service.unwrap_or_else(config::default_service),
                realm: args.token_realm,
                ttl_secs: args.token_ttl_secs.unwrap_or(300),
                key_file: None,
            });
        }
        Some(other) => anyhow::bail!("--auth {other:?}: expected htpasswd:FILE, token or none"),
    }
    Ok(cfg)
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            let cfg = serve_config(args)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let handle = berth_registry::server::start(&cfg).await?;
                // Tests and scripts read the bound address from this line.
                println!("listening on {}", handle.addr);
                tokio::signal::ctrl_c().await?;
                handle.shutdown();
                Ok(())
            })
        }
        Command::Gc(args) => {
            let cfg = load_config(args.config.as_ref())?;
            let root = args.root.or(cfg.root).context("gc needs --root")?;
            let opts = GcOptions {
                dry_run: args.dry_run,
                blob_grace: Duration::from_secs(args.grace_secs.unwrap_or(cfg.gc_blob_grace_secs)),
                upload_max_age: Duration::from_secs(
                    args.upload_max_age_secs
                        .unwrap_or(cfg.gc_upload_max_age_secs),
                ),
            };
            let report = Storage::open(&root)?.gc(&opts)?;
            for d in &report.blobs_deleted {
                println!(
                    "{} blob {d}",
                    if opts.dry_run {
                        "would delete"
                    } else {
                        "deleted"
                    }
                );
            }
            for u in &report.uploads_expired {
                println!(
                    "{} upload {u}",
                    if opts.dry_run {
                        "would expire"
                    } else {
                        "expired"
                    }
                );
            }
            println!(
                "marked {} manifests, {} blobs; {} blobs ({} bytes) {}; {} in grace period; {} links removed",
                report.manifests_marked,
                report.blobs_marked,
                report.blobs_deleted.len(),
                report.bytes_freed,
                if opts.dry_run { "deletable" } else { "deleted" },
                report.blobs_in_grace,
                report.layer_links_removed
            );
            Ok(())
        }
    }
}
