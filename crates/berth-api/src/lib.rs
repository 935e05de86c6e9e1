//! berth-api: the Docker Engine REST API (v1.41 paths, versioned or not) over
//! [`berth_engine::Engine`], served on a unix socket with hyper. This is the one place engine
//! errors become HTTP status codes.

pub mod error;
pub mod filters;
pub mod http;
mod router;
pub mod routes;

use std::path::Path;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::UnixListener;

use berth_engine::Engine;

/// The API version we speak (Docker 20.10's); clients may ask for any version up to it.
pub const API_VERSION: &str = "1.41";
/// The oldest API version accepted.
pub const MIN_API_VERSION: &str = "1.12";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("listening on {path}: {source}")]
    Bind {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Binds `socket` (replacing a stale socket file; the caller made sure no daemon answers on it)
/// with mode 0660.
pub fn bind(socket: &Path) -> Result<UnixListener, ServeError> {
    let err = |source| ServeError::Bind {
        path: socket.to_path_buf(),
        source,
    };
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    match std::fs::remove_file(socket) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    let listener = UnixListener::bind(socket).map_err(err)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o660)).map_err(err)?;
    Ok(listener)
}

/// Serves connections until the task is dropped.
pub async fn serve(engine: Arc<Engine>, listener: UnixListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "accept");
                continue;
            }
        };
        let engine = engine.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| router::route(engine.clone(), req));
            let conn = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection");
            }
        });
    }
}
