//! The HTTP side: which scheme and host a registry domain maps to, sending a request with auth
//! (one retry after a 401 challenge), and turning error responses into [`ClientError`]s.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode, Url};
use serde::Deserialize;

use super::auth::AuthState;
use super::challenge::{self, Challenge};
use super::credentials::{CredentialStore, Credentials};
use super::error::{ClientError, RegistryErrorEntry, error_chain};

/// Docker Hub's user-facing name and the host its API actually lives on.
const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Registries (`host` or `host:port`) spoken to over plain HTTP, like dockerd's
    /// `--insecure-registry`. Loopback registries always use plain HTTP.
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
    pub(crate) config: ClientConfig,
    pub(crate) auth: AuthState,
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
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| ClientError::HttpInit {
                detail: error_chain(&e),
            })?;
        let auth = AuthState::new(config.credential_store.clone());
        Ok(RegistryClient {
            inner: Arc::new(Inner { http, config, auth }),
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

    /// `http` for loopback and configured insecure registries, `https` otherwise.
    pub fn scheme_for(&self, domain: &str) -> &'static str {
        let insecure = self
            .inner
            .config
            .insecure_registries
            .iter()
            .any(|r| r == domain || (!r.contains(':') && host_of(domain) == r.as_str()));
        if insecure || is_loopback(host_of(domain)) {
            "http"
        } else {
            "https"
        }
    }

    /// `https://registry-1.docker.io/v2/` for `docker.io`, `http://localhost:5000/v2/`, …
    pub fn api_base(&self, domain: &str) -> Result<Url, ClientError> {
        let host = if domain == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            domain
        };
        let text = format!("{}://{host}/v2/", self.scheme_for(domain));
        Url::parse(&text).map_err(|e| ClientError::BadUrl {
            detail: e.to_string(),
            url: text,
        })
    }

    /// Sends `req`; on a 401 with a challenge, authenticates and sends it once more.
    pub(crate) async fn send(&self, req: Request<'_>) -> Result<Response, ClientError> {
        let auth = &self.inner.auth;
        let mut retried = false;
        loop {
            let header = auth
                .header_for(&self.inner.http, req.domain, req.scopes)
                .await?;
            let mut builder = self.inner.http.request(req.method.clone(), req.url.clone());
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
            let resp = builder.send().await.map_err(|e| ClientError::Request {
                method: req.method.to_string(),
                url: req.url.to_string(),
                detail: error_chain(&e),
            })?;
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
        let header = self
            .inner
            .auth
            .header_for(&self.inner.http, req.domain, req.scopes)
            .await?;
        let mut builder = self.inner.http.request(req.method.clone(), req.url.clone());
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
            .map_err(|e| ClientError::Request {
                method: req.method.to_string(),
                url: req.url.to_string(),
                detail: error_chain(&e),
            })
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

/// The host part of `host`, `host:port`, `[v6]:port`.
fn host_of(domain: &str) -> &str {
    if let Some(rest) = domain.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match domain.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => domain,
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Header value as text, if present and ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_api_hosts() {
        let client = RegistryClient::new(ClientConfig {
            insecure_registries: vec!["reg.lan:5000".into(), "plain.lan".into()],
            ..ClientConfig::default()
        })
        .unwrap();
        let base = |d: &str| client.api_base(d).unwrap().to_string();
        assert_eq!(base("docker.io"), "https://registry-1.docker.io/v2/");
        assert_eq!(base("localhost:5000"), "http://localhost:5000/v2/");
        assert_eq!(base("127.0.0.2:80"), "http://127.0.0.2/v2/");
        assert_eq!(base("[::1]:5000"), "http://[::1]:5000/v2/");
        assert_eq!(base("reg.lan:5000"), "http://reg.lan:5000/v2/");
        assert_eq!(base("reg.lan:5001"), "https://reg.lan:5001/v2/");
        assert_eq!(base("plain.lan:8443"), "http://plain.lan:8443/v2/");
        assert_eq!(base("quay.io"), "https://quay.io/v2/");
    }
}
