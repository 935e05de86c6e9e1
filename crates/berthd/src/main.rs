//! `berthd`: opens the engine and serves the Docker Engine API on a unix socket until SIGINT or
//! SIGTERM. Containers keep running when it exits (each has its own shim).

mod memory;
mod sys;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

use berth_engine::images::auth::InsecureRegistries;
use berth_engine::{Engine, Paths};

#[derive(Parser)]
#[command(
    name = "berthd",
    version,
    about = "Berth daemon: the Docker Engine API on a unix socket"
)]
struct Args {
    /// Socket to listen on (`unix:///path` or a path).
    #[arg(
        short = 'H',
        long = "host",
        env = "BERTH_HOST",
        default_value = "unix:///run/berth/berth.sock"
    )]
    host: String,
    /// Persistent state: images, containers.
    #[arg(long, env = "BERTH_DATA_ROOT", default_value = "/var/lib/berth")]
    data_root: PathBuf,
    /// Runtime state: shim sockets, runtime state.
    #[arg(long, env = "BERTH_EXEC_ROOT", default_value = "/run/berth")]
    exec_root: PathBuf,
    /// A registry (`host[:port]`) or address range (CIDR) spoken to over HTTPS without
    /// certificate checks, or plain HTTP when it has no TLS (repeatable, as dockerd's).
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]|CIDR")]
    insecure_registries: Vec<String>,
    /// Log level (error, warn, info, debug, trace).
    #[arg(long, default_value = "info")]
    log_level: String,
}

fn main() -> anyhow::Result<()> {
    memory::configure_allocator();
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log_level))
        .with_writer(std::io::stderr)
        .init();
    let socket = socket_path(&args.host)?;
    InsecureRegistries::parse(&args.insecure_registries)?;
    let mut engine = Engine::open(Paths::new(&args.data_root, &args.exec_root))
        .with_context(|| format!("opening data root {}", args.data_root.display()))?;
    engine.insecure_registries = args.insecure_registries;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = berth_api::bind(&socket)?;
        tracing::info!(socket = %socket.display(), "berthd listening");
        let engine = Arc::new(engine);
        // Re-mount rootfs, re-watch live shims, record exits that happened while we were away.
        let restoring = engine.clone();
        tokio::task::spawn_blocking(move || restoring.restore()).await?;
        let server = tokio::spawn(berth_api::serve(engine.clone(), listener));
        tokio::spawn(memory::trim_when_idle());
        shutdown_signal().await;
        tracing::info!("shutting down; containers keep running");
        server.abort();
        let _ = std::fs::remove_file(&socket);
        tokio::task::spawn_blocking(move || engine.shutdown()).await?;

        anyhow::Ok(())
    })
}

fn socket_path(host: &str) -> anyhow::Result<PathBuf> {
    match host.strip_prefix("unix://") {
        Some(path) => Ok(PathBuf::from(path)),
        None if host.contains("://") => {
            anyhow::bail!("--host {host:?}: only unix:// sockets are supported")
        }
        None => Ok(PathBuf::from(host)),
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop me with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
