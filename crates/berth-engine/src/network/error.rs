//! Everything that can go wrong wiring containers into networks, with Docker's error classes.

use std::path::PathBuf;

use berth_net::firewall::FirewallError;
use berth_net::link::LinkError;
use berth_net::network::NetworkError;

use crate::error::{ErrorKind, HasKind};

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network with name {0} already exists")]
    NameTaken(String),
    #[error("network name {name:?} is ambiguous: it matches {count} networks by ID prefix")]
    Ambiguous { name: String, count: usize },
    #[error("error while removing network: network {name} id {id} has active endpoints")]
    ActiveEndpoints { name: String, id: String },
    #[error("{name} is a pre-defined network and cannot be removed")]
    Predefined { name: String },
    #[error("network-scoped operation on {name} is not allowed: it is a {driver} network")]
    NotBridge { name: String, driver: String },
    #[error("plugin \"{0}\" not found: only the bridge driver is supported")]
    UnsupportedDriver(String),
    #[error("IPv6 networks are not supported by Berth yet (EnableIPv6)")]
    Ipv6Unsupported,
    #[error("invalid {field} {value:?}: {why}")]
    Invalid {
        field: &'static str,
        value: String,
        why: String,
    },
    #[error("no free private /16 subnet left for network {network}")]
    NoFreeSubnet { network: String },
    #[error("invalid port specification {spec:?}: {why}")]
    InvalidPort { spec: String, why: String },
    #[error(
        "driver failed programming external connectivity on endpoint {container}: Bind for {address}:{port} failed: port is already allocated"
    )]
    PortAllocated {
        container: String,
        address: String,
        port: u16,
    },
    #[error("container {container} is already attached to network {network}")]
    AlreadyAttached { container: String, network: String },
    #[error("container {container} is not connected to network {network}")]
    NotAttached { container: String, network: String },
    #[error("container {container} is not attached to any network")]
    NoSandbox { container: String },
    #[error("cannot join network of a non running container: {reference}")]
    JoinedNotRunning { reference: String },
    #[error("cannot join own network")]
    JoinOwn,
    #[error("conflicting options: {what}")]
    ConflictingOptions { what: &'static str },
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error("network namespace: {0}")]
    Netns(#[source] LinkError),
    #[error("port publishing: {0}")]
    Firewall(#[source] FirewallError),
    #[error("embedded DNS: {0}")]
    Dns(#[source] berth_net::dns::DnsError),
    #[error("container file {file}: {source}")]
    File {
        file: &'static str,
        source: berth_net::files::InvalidEntry,
    },
    #[error("network teardown incomplete: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Teardown(Vec<NetError>),
}

impl HasKind for NetError {
    fn kind(&self) -> ErrorKind {
        match self {
            NetError::NotFound(_) | NetError::NotAttached { .. } | NetError::NoSandbox { .. } => {
                ErrorKind::NotFound
            }
            NetError::NameTaken(_)
            | NetError::ActiveEndpoints { .. }
            | NetError::AlreadyAttached { .. }
            | NetError::JoinedNotRunning { .. } => ErrorKind::Conflict,
            NetError::Predefined { .. }
            | NetError::Ambiguous { .. }
            | NetError::NotBridge { .. }
            | NetError::UnsupportedDriver(_)
            | NetError::Ipv6Unsupported
            | NetError::Invalid { .. }
            | NetError::InvalidPort { .. }
            | NetError::JoinOwn
            | NetError::ConflictingOptions { .. }
            | NetError::File { .. } => ErrorKind::InvalidArgument,
            NetError::PortAllocated { .. } => ErrorKind::System,
            NetError::Firewall(FirewallError::PortInUse { .. }) => ErrorKind::Conflict,
            NetError::Network(NetworkError::Ipam { .. }) => ErrorKind::InvalidArgument,
            NetError::NoFreeSubnet { .. }
            | NetError::Read { .. }
            | NetError::Write { .. }
            | NetError::Corrupt { .. }
            | NetError::Network(_)
            | NetError::Netns(_)
            | NetError::Firewall(_)
            | NetError::Dns(_)
            | NetError::Teardown(_) => ErrorKind::System,
        }
    }
}
