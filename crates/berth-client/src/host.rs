//! Where the daemon listens: `unix:///path`, `tcp://host:port` (or a bare socket path).

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Unix(PathBuf),
    Tcp(String),
}

#[derive(Debug, thiserror::Error)]
pub enum HostParseError {
    #[error("invalid host `{host}`: scheme `{scheme}` is not supported (use unix:// or tcp://)")]
    UnsupportedScheme { host: String, scheme: String },
    #[error("invalid host `{host}`: no address after the scheme")]
    Empty { host: String },
}

impl Host {
    pub fn parse(host: &str) -> Result<Host, HostParseError> {
        let (scheme, rest) = match host.split_once("://") {
            Some((scheme, rest)) => (scheme, rest),
            None if host.starts_with('/') => ("unix", host),
            None => ("tcp", host),
        };
        if rest.is_empty() {
            return Err(HostParseError::Empty {
                host: host.to_owned(),
            });
        }
        match scheme {
            "unix" => Ok(Host::Unix(PathBuf::from(rest))),
            "tcp" | "http" => Ok(Host::Tcp(rest.trim_end_matches('/').to_owned())),
            other => Err(HostParseError::UnsupportedScheme {
                host: host.to_owned(),
                scheme: other.to_owned(),
            }),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Unix(path) => write!(f, "unix://{}", path.display()),
            Host::Tcp(addr) => write!(f, "tcp://{addr}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_host_forms() {
        assert_eq!(
            Host::parse("unix:///run/berth/berth.sock").unwrap(),
            Host::Unix("/run/berth/berth.sock".into())
        );
        assert_eq!(
            Host::parse("/tmp/x.sock").unwrap(),
            Host::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            Host::parse("tcp://127.0.0.1:2375").unwrap(),
            Host::Tcp("127.0.0.1:2375".into())
        );
        assert!(Host::parse("ssh://x").is_err());
        assert!(Host::parse("unix://").is_err());
    }
}
