//! Which scheme and TLS checks a registry gets, as dockerd decides: a secure registry is HTTPS
//! with verified certificates; an insecure one (named by `--insecure-registry`, or resolving
//! into an insecure range, loopback included) is HTTPS without certificate checks, or plain
//! HTTP when it does not speak TLS. The answer is settled once per client and domain.

use std::net::IpAddr;

use reqwest::{StatusCode, Url};

use super::error::{ClientError, error_chain};
use super::insecure::host_of;
use super::transport::RegistryClient;

/// How a registry is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// HTTPS with certificate verification (every secure registry).
    Verified,
    /// An insecure registry that speaks TLS: HTTPS, certificate not checked.
    Unverified,
    /// An insecure registry without TLS.
    Plain,
}

/// How long an insecure registry's HTTPS ping may take before plain HTTP is the answer
/// (dockerd's TLS handshake timeout); only a server that never answers a TLS hello waits it out.
const HTTPS_PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl RegistryClient {
    /// Whether `domain` is an insecure registry: listed by name, or one of its addresses in
    /// an insecure range (loopback always is). Docker Hub never is.
    pub async fn is_insecure(&self, domain: &str) -> bool {
        let insecure = &self.inner.insecure;
        if domain == "docker.io" {
            return false;
        }
        if insecure.lists_name(domain) {
            return true;
        }
        let host = host_of(domain);
        if host == "localhost" {
            return true;
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return insecure.covers(ip);
        }
        // A name that does not resolve is taken as secure, as dockerd does.
        match tokio::net::lookup_host((host, 0)).await {
            Ok(addrs) => addrs.map(|a| a.ip()).any(|ip| insecure.covers(ip)),
            Err(_) => false,
        }
    }

    /// `https` or `http`: the scheme requests to `domain` use.
    pub async fn scheme_for(&self, domain: &str) -> Result<&'static str, ClientError> {
        Ok(match self.scheme(domain).await? {
            Scheme::Plain => "http",
            Scheme::Verified | Scheme::Unverified => "https",
        })
    }

    /// The HTTP client and URL for a request to `url` on behalf of `domain`: an insecure
    /// registry's own URLs get plain HTTP or unchecked TLS as settled for it.
    pub(crate) async fn route(
        &self,
        domain: &str,
        url: &Url,
    ) -> Result<(&reqwest::Client, Url), ClientError> {
        let inner = &self.inner;
        if !same_authority(url, domain) {
            return Ok((&inner.http, url.clone()));
        }
        let mut url = url.clone();
        let http = match self.scheme(domain).await? {
            Scheme::Verified => &inner.http,
            Scheme::Unverified if url.scheme() == "https" => &inner.unverified_http,
            Scheme::Unverified => &inner.http,
            Scheme::Plain => {
                if url.scheme() == "https" {
                    // Changing https to http cannot fail for a URL with a host.
                    let _ = url.set_scheme("http");
                }
                &inner.http
            }
        };
        Ok((http, url))
    }

    async fn scheme(&self, domain: &str) -> Result<Scheme, ClientError> {
        if let Some(known) = self.known_scheme(domain) {
            return Ok(known);
        }
        let scheme = if self.is_insecure(domain).await {
            self.probe(domain).await?
        } else {
            Scheme::Verified
        };
        if let Ok(mut schemes) = self.inner.schemes.lock() {
            schemes.insert(domain.to_owned(), scheme);
        }
        Ok(scheme)
    }

    fn known_scheme(&self, domain: &str) -> Option<Scheme> {
        let schemes = self.inner.schemes.lock().ok()?;
        schemes.get(domain).copied()
    }

    /// Pings an insecure registry's `/v2/` over HTTPS (certificate unchecked) and plain HTTP
    /// together. HTTPS wins when it answers; a plain-HTTP answer other than 400 (what TLS
    /// servers say to plain HTTP) settles it too, as a port that speaks HTTP does not speak
    /// TLS: so a plain-HTTP server that ignores TLS hellos costs no timeout.
    async fn probe(&self, domain: &str) -> Result<Scheme, ClientError> {
        let https = tokio::time::timeout(
            HTTPS_PING_TIMEOUT,
            self.ping(&self.inner.unverified_http, "https", domain),
        );
        let http = self.ping(&self.inner.http, "http", domain);
        tokio::pin!(https, http);
        let mut http_answer: Option<Result<StatusCode, ClientError>> = None;
        loop {
            tokio::select! {
                tls = &mut https => {
                    if let Ok(Ok(_)) = tls {
                        return Ok(Scheme::Unverified);
                    }
                    let plain = match http_answer {
                        Some(answer) => answer,
                        None => (&mut http).await,
                    };
                    return plain.map(|_| Scheme::Plain);
                }
                plain = &mut http, if http_answer.is_none() => {
                    // TLS servers answer plain HTTP with 400; any other answer is a server
                    // that speaks plain HTTP on this port.
                    if plain.as_ref().is_ok_and(|s| *s != StatusCode::BAD_REQUEST) {
                        return Ok(Scheme::Plain);
                    }
                    http_answer = Some(plain);
                }
            }
        }
    }

    async fn ping(
        &self,
        http: &reqwest::Client,
        scheme: &str,
        domain: &str,
    ) -> Result<StatusCode, ClientError> {
        let text = format!("{scheme}://{domain}/v2/");
        let url = Url::parse(&text).map_err(|e| ClientError::BadUrl {
            detail: e.to_string(),
            url: text.clone(),
        })?;
        let resp = http
            .get(url)
            .send()
            .await
            .map_err(|e| ClientError::Request {
                method: "GET".to_owned(),
                url: text,
                detail: error_chain(&e),
            })?;
        Ok(resp.status())
    }
}

/// Whether `url` points at `domain` (`host` or `host:port`) itself.
fn same_authority(url: &Url, domain: &str) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    match url.port() {
        Some(port) => format!("{host}:{port}") == domain,
        None => {
            host == domain
                || url
                    .port_or_known_default()
                    .is_some_and(|p| format!("{host}:{p}") == domain)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientConfig;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn client(insecure: &[&str]) -> RegistryClient {
        RegistryClient::new(ClientConfig {
            insecure_registries: insecure.iter().map(|s| s.to_string()).collect(),
            ..ClientConfig::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn which_registries_are_insecure() {
        let c = client(&["reg.lan:5000", "plain.lan", "10.213.0.0/16"]);
        assert!(c.is_insecure("localhost:5000").await);
        assert!(c.is_insecure("127.0.0.2:80").await);
        assert!(c.is_insecure("[::1]:5000").await);
        assert!(c.is_insecure("reg.lan:5000").await);
        assert!(c.is_insecure("plain.lan").await);
        // Addresses only (a name not listed would be looked up in DNS).
        assert!(!c.is_insecure("192.0.2.1:5000").await);
        assert!(c.is_insecure("10.213.4.1:5000").await);
        assert!(!c.is_insecure("10.214.4.1:5000").await);
        assert!(!c.is_insecure("docker.io").await);
    }

    #[tokio::test]
    async fn secure_registries_keep_verified_https() {
        let c = client(&[]);
        let url = c.api_base("192.0.2.1:5000").unwrap();
        let (_, routed) = c.route("192.0.2.1:5000", &url).await.unwrap();
        assert_eq!(routed.as_str(), "https://192.0.2.1:5000/v2/");
        assert_eq!(
            c.api_base("docker.io").unwrap().as_str(),
            "https://registry-1.docker.io/v2/"
        );
    }

    /// A loopback server that answers every request with `200 {}` in plain HTTP and ignores
    /// anything that is not HTTP (a TLS hello), like the hand-written test registries.
    async fn plain_http_server() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let reply =
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
                    let _ = conn.write_all(reply.as_bytes()).await;
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn loopback_without_tls_falls_back_to_plain_http_at_once() {
        let addr = plain_http_server().await;
        let c = client(&[]);
        let started = std::time::Instant::now();
        assert_eq!(c.scheme_for(&addr).await.unwrap(), "http");
        assert!(started.elapsed() < HTTPS_PING_TIMEOUT / 2);
        let url = c.api_base(&addr).unwrap();
        let (_, routed) = c.route(&addr, &url).await.unwrap();
        assert_eq!(routed.as_str(), format!("http://{addr}/v2/"));
        // Other hosts' URLs (a token realm, a redirect) keep their own scheme.
        let other = Url::parse("https://auth.example/token").unwrap();
        let (_, routed) = c.route(&addr, &other).await.unwrap();
        assert_eq!(routed, other);
    }
}
