//! The HTTP side: which scheme and host a registry domain maps to, sending a request with auth
//! (one retry after a 401 challenge), and turning error responses into [`ClientError`]s.
//!
//! Insecure registries (listed, in a listed range, or on loopback) get dockerd's treatment:
//! HTTPS without certificate verification, plain HTTP when the registry does not speak TLS.
//! Which one a registry speaks is settled once per client by pinging its `/v2/`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode, Url};
use serde::Deserialize;

use super::auth::AuthState;
use super::challenge::{self, Challenge};
use super::credentials::{CredentialStore, Credentials};
use super::error::{ClientError, RegistryErrorEntry, error_chain};
use super::insecure::InsecureRegistries;
use super::scheme::Scheme;

/// Docker Hub's user-facing name and the host its API actually lives on.
const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// dockerd's `--insecure-registry` entries (`host`, `host:port` or a CIDR range): spoken to
    /// over HTTPS without certificate checks, or plain HTTP when they have no TLS. Loopback
    /// registries always are insecure.
    pub insecure_registries: Vec<String>,
    /// Where stored logins are read from; `None` means anonymous unless credentials are set.
    pub credential_store: Option<CredentialStore>,
    /// Parallel blob transfers per pull or push.
    pub max_concurrent_transfers: usize,
    /// Blobs up to this size are pushed in one PUT; larger ones as `upload_mode` says.
    pub chunk_size: u64,
    pub upload_mode: UploadMode,
    pub user_agent: String,
    pub connect_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            insecure_registries: Vec::new(),
            credential_store: None,
            max_concurrent_transfers: 4,
            chunk_size: 16 << 20,
            upload_mode: UploadMode::Streamed,
            user_agent: format!("berth/{}", env!("CARGO_PKG_VERSION")),
            connect_timeout: Duration::from_secs(30),
        }
    }
}

/// How blobs larger than [`ClientConfig::chunk_size`] go up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    /// One PATCH streaming the whole blob (what docker and skopeo do): fastest, little memory.
    Streamed,
    /// PATCHes of `chunk_size` bytes with `Content-Range` (for registries or proxies that
    /// limit request sizes).
    Chunked,
}

/// A registry client; cheap to clone (shared connection pool, token cache).
#[derive(Clone)]
pub struct RegistryClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// For insecure registries' HTTPS: certificates are not checked.
    pub(crate) unverified_http: reqwest::Client,
    pub(crate) config: ClientConfig,
    pub(crate) auth: AuthState,
    pub(crate) insecure: InsecureRegistries,
    /// How each domain this client spoke to is reached, settled on first use.
    pub(crate) schemes: Mutex<HashMap<String, Scheme>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("config", &self.inner.config)
            .finish()
    }
}

/// One request, re-sendable after an auth challenge (bodies are in memory: bounded by chunk size).
pub(crate) struct Request<'a> {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, String)>,
    pub body: Option<Bytes>,
    pub domain: &'a str,
    pub scopes: &'a [String],
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<RegistryErrorEntry>,
}

impl RegistryClient {
    pub fn new(config: ClientConfig) -> Result<RegistryClient, ClientError> {
        let build = |verify: bool| {
            reqwest::Client::builder()
                .user_agent(config.user_agent.clone())
                .connect_timeout(config.connect_timeout)
                .danger_accept_invalid_certs(!verify)
                .build()
                .map_err(|e| ClientError::HttpInit {
                    detail: error_chain(&e),
                })
        };
        let (http, unverified_http) = (build(true)?, build(false)?);
        let auth = AuthState::new(config.credential_store.clone());
        let insecure = InsecureRegistries::lenient(&config.insecure_registries);
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                http,
                unverified_http,
                config,
                auth,
                insecure,
                schemes: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Uses these credentials for `domain` (overrides the credential store).
    pub fn set_credentials(&self, domain: &str, creds: Credentials) {
        self.inner.auth.set_credentials(domain, creds);
    }

    /// Gets bearer tokens for `domain` with this identity token (the refresh token a login
    /// returned) instead of a password.
    pub fn set_identity_token(&self, domain: &str, token: String) {
        self.inner.auth.set_identity_token(domain, token);
    }

    /// `https://registry-1.docker.io/v2/` for `docker.io`, `https://localhost:5000/v2/`, …
    /// Requests to an insecure registry without TLS are sent over `http` instead (see
    /// [`RegistryClient::scheme_for`]).
    pub fn api_base(&self, domain: &str) -> Result<Url, ClientError> {
        let host = if domain == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            domain
        };
        let text = format!("https://{host}/v2/");
        Url::parse(&text).map_err(|e| ClientError::BadUrl {
            detail: e.to_string(),
            url: text,
        })
    }

    /// Sends `req`; on a 401 with a challenge, authenticates and sends it once more.
    pub(crate) async fn send(&self, req: Request<'_>) -> Result<Response, ClientError> {
        let auth = &self.inner.auth;
        let (http, url) = self.route(req.domain, &req.url).await?;
        let mut retried = false;
        loop {
            let header = auth.header_for(http, req.domain, req.scopes).await?;
            let mut builder = http.request(req.method.clone(), url.clone());
            for (name, value) in &req.headers {
                builder = builder.header(name, value);
            }
            let sent_auth = header.is_some();
            if let Some(h) = header {
                builder = builder.header(reqwest::header::AUTHORIZATION, h);
            }
            if let Some(body) = &req.body {
                builder = builder.body(body.clone());
            }
            let resp = builder
                .send()
                .await
                .map_err(|e| request_error(&req.method, &url, req.domain, &e))?;
            if resp.status() != StatusCode::UNAUTHORIZED || retried {
                return Ok(resp);
            }
            let Some(parsed) = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(|h| (h.to_owned(), challenge::parse(h)))
            else {
                return Ok(resp);
            };
            match parsed {
                // Basic without credentials: a retry would only repeat the 401.
                (_, Some(Challenge::Basic)) if auth.credentials(req.domain)?.is_none() => {
                    auth.remember_challenge(req.domain, Challenge::Basic);
                    return Ok(resp);
                }
                (_, Some(c)) => auth.remember_challenge(req.domain, c),
                (header, None) => {
                    return Err(ClientError::BadChallenge {
                        url: req.url.to_string(),
                        header,
                    });
                }
            }
            // Only a token the registry refused is stale; another task's fresh one is not.
            if sent_auth {
                auth.forget_token(req.domain, req.scopes);
            }
            retried = true;
        }
    }

    /// Sends `req` once with a streamed `body` (no retry after a 401).
    pub(crate) async fn send_once(
        &self,
        req: Request<'_>,
        body: reqwest::Body,
    ) -> Result<Response, ClientError> {
        let (http, url) = self.route(req.domain, &req.url).await?;
        let header = self
            .inner
            .auth
            .header_for(http, req.domain, req.scopes)
            .await?;
        let mut builder = http.request(req.method.clone(), url.clone());
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        if let Some(h) = header {
            builder = builder.header(reqwest::header::AUTHORIZATION, h);
        }
        builder
            .body(body)
            .send()
            .await
            .map_err(|e| request_error(&req.method, &url, req.domain, &e))
    }

    /// Passes through a response whose status is in `ok`, else reads the error body into an error.
    pub(crate) async fn expect(
        &self,
        resp: Response,
        method: &Method,
        domain: &str,
        ok: &[StatusCode],
    ) -> Result<Response, ClientError> {
        let status = resp.status();
        if ok.contains(&status) {
            return Ok(resp);
        }
        let url = resp.url().to_string();
        // A HEAD has no body; a broken body still leaves the status to report.
        let body = resp.bytes().await.unwrap_or_default();
        let text = String::from_utf8_lossy(&body).into_owned();
        let errors = serde_json::from_slice::<ErrorBody>(&body)
            .map(|b| b.errors)
            .unwrap_or_default();
        if status == StatusCode::UNAUTHORIZED {
            return Err(ClientError::Unauthorized {
                method: method.to_string(),
                url,
                had_credentials: self.inner.auth.credentials(domain)?.is_some(),
                errors,
                body: text,
            });
        }
        Err(ClientError::Status {
            method: method.to_string(),
            url,
            status,
            errors,
            body: text,
        })
    }
}

/// A failed request; an HTTPS request a plain-HTTP server answered, or whose certificate
/// was refused, says how to reach the registry anyway.
fn request_error(method: &Method, url: &Url, domain: &str, e: &reqwest::Error) -> ClientError {
    let mut detail = error_chain(e);
    if url.scheme() == "https" && looks_like_plain_http(&detail) {
        detail.push_str(&format!(
            " (the registry answered HTTPS in plain HTTP: if {domain} has no TLS, start berthd \
             with --insecure-registry {domain})"
        ));
    } else if url.scheme() == "https" && detail.contains("invalid peer certificate") {
        detail.push_str(&format!(
            " (to skip certificate checks for {domain}, start berthd with \
             --insecure-registry {domain})"
        ));
    }
    ClientError::Request {
        method: method.to_string(),
        url: url.to_string(),
        detail,
    }
}

/// rustls' words for a server that answered a TLS handshake with something else.
fn looks_like_plain_http(detail: &str) -> bool {
    [
        "InvalidContentType",
        "corrupt message",
        "invalid content type",
    ]
    .iter()
    .any(|w| detail.contains(w))
}

/// Header value as text, if present and ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
}
