//! The OCI distribution registry server (`berth registry serve`).

pub mod auth;
mod clock;
pub mod config;
mod dispatch;
pub mod error;
mod fastpath;
mod handlers;
mod http;
pub mod manifest;
pub mod names;
pub mod routes;
pub mod storage;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use config::{AuthConfig, Config, ConfigError};
use storage::uploads::Uploads;
use storage::{Storage, StorageError};

use self::auth::htpasswd::{Htpasswd, HtpasswdError};
use self::auth::token::TokenKey;
use self::auth::{Auth, AuthMode, TokenSettings};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Htpasswd(#[from] HtpasswdError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("read token key {path}: {source}")]
    TokenKey {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Shared state of a running registry.
#[derive(Debug)]
pub struct Registry {
    storage: Storage,
    uploads: Uploads,
    auth: Auth,
    max_manifest_bytes: u64,
    delete_enabled: bool,
    tls: bool,
}

impl Registry {
    pub fn new(config: &Config) -> Result<Registry, ServeError> {
        let storage = Storage::open(config.root()?)?;
        let uploads = Uploads::new(
            storage.clone(),
            config.max_upload_sessions,
            config.max_blob_bytes,
        );
        let mode = match &config.auth {
            None => AuthMode::Open,
            Some(AuthConfig::Htpasswd { file }) => AuthMode::Htpasswd(Htpasswd::load(file)?),
            Some(AuthConfig::Token {
                htpasswd,
                issuer,
                service,
                realm,
                ttl_secs,
                key_file,
            }) => {
                let key = match key_file {
                    Some(path) => std::fs::read(path).map_err(|source| ServeError::TokenKey {
                        path: path.clone(),
                        source,
                    })?,
                    None => storage::random_hex(32).into_bytes(),
                };
                AuthMode::Token(Box::new(TokenSettings {
                    users: Htpasswd::load(htpasswd)?,
                    issuer: issuer.clone(),
                    service: service.clone(),
                    realm: realm.clone(),
                    ttl_secs: *ttl_secs,
                    key: TokenKey::new(&key),
                }))
            }
        };
        let auth = Auth {
            mode,
            anonymous_pull: config.anonymous_pull,
            rules: config.access.clone(),
        };
        Ok(Registry {
            storage,
            uploads,
            auth,
            max_manifest_bytes: config.max_manifest_bytes,
            delete_enabled: config.delete_enabled,
            tls: config.tls_cert.is_some(),
        })
    }
}

/// A bound, serving registry; dropping the handle does not stop it, [`ServerHandle::shutdown`] does.
#[derive(Debug)]
pub struct ServerHandle {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// Stops accepting connections (in-flight requests on open connections are dropped).
    pub fn shutdown(self) {
        self.task.abort();
    }

    /// Waits until the accept loop ends.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Binds `config.addr` and serves on the current tokio runtime.
pub async fn start(config: &Config) -> Result<ServerHandle, ServeError> {
    let registry = Arc::new(Registry::new(config)?);
    let acceptor = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        (None, None) => None,
        _ => return Err(ConfigError::TlsHalf.into()),
    };
    let listener = TcpListener::bind(&config.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.addr.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: config.addr.clone(),
        source,
    })?;
    let expiry = expiry_loop(
        registry.clone(),
        Duration::from_secs(config.upload_expiry_interval_secs),
        Duration::from_secs(config.gc_upload_max_age_secs),
    );
    // One task for both, so shutdown (abort) ends both.
    let task = tokio::spawn(async move {
        tokio::join!(accept_loop(listener, registry, acceptor), expiry);
    });
    Ok(ServerHandle { addr, task })
}

/// Expires abandoned upload sessions every `interval` (never when it is zero).
async fn expiry_loop(registry: Arc<Registry>, interval: Duration, max_age: Duration) {
    if interval.is_zero() {
        return;
    }
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let registry = registry.clone();
        let result =
            tokio::task::spawn_blocking(move || registry.uploads.expire_idle(max_age)).await;
        match result {
            Ok(Ok(expired)) => {
                for id in expired {
                    tracing::info!(upload = id.as_str(), "expired abandoned upload");
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "expiring uploads"),
            Err(e) => tracing::warn!(error = %e, "upload expiry task failed"),
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    registry: Arc<Registry>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let registry = registry.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls_stream) => {
                        serve_connection(TokioIo::new(tls_stream), registry, peer).await
                    }
                    Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                },
                None => fastpath::serve_plain(stream, registry, peer).await,
            }
        });
    }
}

pub(crate) async fn serve_connection<I>(io: I, registry: Arc<Registry>, peer: SocketAddr)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let registry = registry.clone();
        async move { Ok::<_, std::convert::Infallible>(dispatch::handle(&registry, req, peer).await) }
    });
    if let Err(e) = http1::Builder::new().serve_connection(io, service).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
