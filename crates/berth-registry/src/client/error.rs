//! Client errors: each names the request (method + URL) or the digest it is about.

use berth_oci::Digest;
use reqwest::StatusCode;

use super::credentials::CredentialsError;
use super::manifest::ManifestError;
use super::sink::SinkError;
use berth_oci::Platform;
use berth_oci::ReferenceError;

/// One entry of a registry's `{"errors":[{"code","message","detail"}]}` body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct RegistryErrorEntry {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// The registry's error entries rendered as `CODE: message; …`, or the start of the raw body.
pub fn describe_registry_errors(errors: &[RegistryErrorEntry], raw: &str) -> String {
    if errors.is_empty() {
        let snippet: String = raw.chars().take(200).collect();
        return if snippet.trim().is_empty() {
            "(empty body)".to_owned()
        } else {
            snippet
        };
    }
    errors
        .iter()
        .map(|e| format!("{}: {}", e.code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `a: b: c` from an error and its sources (reqwest hides the cause in `source()`).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("setting up the HTTP client: {detail}")]
    HttpInit { detail: String },
    #[error("invalid registry URL {url:?}: {detail}")]
    BadUrl { url: String, detail: String },
    #[error("{method} {url}: {detail}")]
    Request {
        method: String,
        url: String,
        detail: String,
    },
    #[error("{method} {url}: {status}: {}", describe_registry_errors(.errors, .body))]
    Status {
        method: String,
        url: String,
        status: StatusCode,
        errors: Vec<RegistryErrorEntry>,
        body: String,
    },
    #[error("{method} {url}: 401 Unauthorized{}: {}", if *.had_credentials { " (credentials rejected)" } else { " (no credentials; run login)" }, describe_registry_errors(.errors, .body))]
    Unauthorized {
        method: String,
        url: String,
        had_credentials: bool,
        errors: Vec<RegistryErrorEntry>,
        body: String,
    },
    #[error("{url}: bad WWW-Authenticate challenge {header:?}")]
    BadChallenge { url: String, header: String },
    #[error("token request to {realm}: {detail}")]
    Token { realm: String, detail: String },
    #[error("{url}: content digest {actual} does not match expected {expected}")]
    DigestMismatch {
        url: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{url}: {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        url: String,
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("{url}: {digest}: body ended after {received} of {expected} bytes: {detail}")]
    Truncated {
        url: String,
        digest: Digest,
        received: u64,
        expected: u64,
        detail: String,
    },
    #[error("{url}: manifest larger than {limit} bytes")]
    ManifestTooLarge { url: String, limit: usize },
    #[error("{url}: {source}")]
    Manifest { url: String, source: ManifestError },
    #[error("{reference}: no manifest for platform {wanted} (index offers: {})", .available.join(", "))]
    NoMatchingPlatform {
        reference: String,
        wanted: Platform,
        available: Vec<String>,
    },
    #[error("{url}: upload response has no usable Location header ({location:?})")]
    BadLocation { url: String, location: String },
    #[error("blob {digest}: {source}")]
    Blob { digest: Digest, source: SinkError },
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("nothing to push: {what}")]
    NothingToPush { what: String },
    #[error("{url}: bad tag list: {detail}")]
    TagList { url: String, detail: String },
    #[error("download task failed: {detail}")]
    Task { detail: String },
}

impl ClientError {
    /// The HTTP status when the registry answered with an error.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            ClientError::Unauthorized { .. } => Some(StatusCode::UNAUTHORIZED),
            _ => None,
        }
    }
}
