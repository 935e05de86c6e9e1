//! A synchronous client of the Docker Engine API, written for a CLI whose startup time matters:
//! HTTP/1.1 by hand over a unix (or TCP) socket, no async runtime. It speaks Docker's API, so it
//! drives `berthd` and a real `dockerd` alike.

mod chunked;
mod conn;
mod error;
mod hijack;
mod host;
mod http;
pub mod mux;
mod query;

pub mod api;

pub use bollard_stubs::models;
pub use conn::Stream;
pub use error::{ApiError, Error};
pub use hijack::Hijacked;
pub use host::{Host, HostParseError};
pub use http::{Body, Response};
pub use query::Query;

/// The newest API version this client speaks; the server's is used when it is older.
pub const CLIENT_API_VERSION: &str = "1.41";

/// A connection target plus the negotiated API version. Each request opens its own connection
/// (a unix socket connect costs microseconds), so a `Client` is cheap to share.
#[derive(Debug, Clone)]
pub struct Client {
    host: Host,
    version: String,
    registry_auth: Option<String>,
}

impl Client {
    /// Connects to `host`, pings it and settles on min(ours, server's) API version.
    pub fn negotiate(host: Host) -> Result<Self, Error> {
        let mut client = Client {
            host,
            version: CLIENT_API_VERSION.to_owned(),
            registry_auth: None,
        };
        let ping = client.ping()?;
        if let Some(server) = ping.api_version {
            client.version = min_version(CLIENT_API_VERSION, &server).to_owned();
        }
        Ok(client)
    }

    /// A client that uses `version` without asking the server.
    pub fn with_version(host: Host, version: &str) -> Self {
        Client {
            host,
            version: version.to_owned(),
            registry_auth: None,
        }
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn api_version(&self) -> &str {
        &self.version
    }

    /// Sets the base64url `X-Registry-Auth` value sent with pull and push.
    pub fn set_registry_auth(&mut self, auth: Option<String>) {
        self.registry_auth = auth;
    }

    pub(crate) fn registry_auth(&self) -> Option<&str> {
        self.registry_auth.as_deref()
    }

    /// GET /_ping: the server's API version header.
    pub fn ping(&self) -> Result<Ping, Error> {
        let response = self.send_unversioned("GET", "/_ping", &[], Body::Empty)?;
        let api_version = response.header("api-version").map(str::to_owned);
        let response = response.error_for_status()?;
        let _ = response.text()?;
        Ok(Ping { api_version })
    }

    /// Sends `method path?query` under the negotiated version prefix; the response is returned
    /// whatever its status (see [`Response::error_for_status`]).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        query: &Query,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Result<Response, Error> {
        let target = format!("/v{}{}{}", self.version, path, query.as_suffix());
        self.send_unversioned(method, &target, headers, body)
    }

    fn send_unversioned(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Result<Response, Error> {
        let stream = conn::connect(&self.host)?;
        http::roundtrip(stream, method, target, headers, body)
    }

    /// Sends a request and fails on a non-2xx status with Docker's `{"message"}`.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        query: &Query,
        body: Body,
    ) -> Result<Response, Error> {
        self.send(method, path, query, &[], body)?
            .error_for_status()
    }

    /// GET returning a typed JSON body.
    pub fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
    ) -> Result<T, Error> {
        self.call("GET", path, query, Body::Empty)?.json()
    }
}

/// What `/_ping` told us.
#[derive(Debug, Clone)]
pub struct Ping {
    pub api_version: Option<String>,
}

/// The lower of two "major.minor" API versions (unparsable counts as lowest).
pub fn min_version<'a>(a: &'a str, b: &'a str) -> &'a str {
    fn parse(v: &str) -> (u32, u32) {
        let mut parts = v.split('.');
        let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        (major, minor)
    }
    if parse(b) < parse(a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::min_version;

    #[test]
    fn version_negotiation_picks_the_older() {
        assert_eq!(min_version("1.41", "1.53"), "1.41");
        assert_eq!(min_version("1.41", "1.40"), "1.40");
        assert_eq!(min_version("1.41", "1.9"), "1.9");
        assert_eq!(min_version("1.41", "1.41"), "1.41");
    }
}
