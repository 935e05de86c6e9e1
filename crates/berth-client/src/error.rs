//! What can go wrong talking to the daemon.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Cannot connect to the daemon at {host}. Is the daemon running? ({source})")]
    Connect { host: String, source: io::Error },
    #[error("{op}: {source}")]
    Io { op: &'static str, source: io::Error },
    #[error("malformed HTTP response: {reason}")]
    MalformedResponse { reason: String },
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("decoding the response of {target}: {source}")]
    Json {
        target: String,
        source: serde_json::Error,
    },
    #[error("encoding the request body: {source}")]
    Encode { source: serde_json::Error },
    #[error("the daemon did not upgrade the connection (status {status})")]
    NotUpgraded { status: u16 },
}

/// A non-2xx answer: the status and Docker's `{"message": ...}` (or the raw body).
#[derive(Debug, Clone, thiserror::Error)]
#[error("Error response from daemon: {message}")]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl Error {
    pub(crate) fn io(op: &'static str) -> impl FnOnce(io::Error) -> Error {
        move |source| Error::Io { op, source }
    }

    /// The HTTP status when the daemon answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            _ => None,
        }
    }
}
