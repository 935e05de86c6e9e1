//! The embedded resolver. Like Docker, each container gets a resolver at `127.0.0.11:53`
//! inside its own network namespace: the socket is bound there (via [`bind_in_netns`]) and
//! served by a thread of the daemon. The address is the same on every network, needs no
//! firewall rule and never collides with the container's own addresses; forwarding happens
//! from the daemon's namespace, so the host's resolvers (even 127.0.0.53) stay reachable.

mod records;
mod resolve;
mod server;
mod wire;

use std::net::{SocketAddr, TcpListener, UdpSocket};

pub use records::DnsRecords;
pub use server::{DnsServer, ServerConfig};

use crate::link::{LinkError, NetnsHandle};

/// Docker's well-known embedded resolver address.
pub const EMBEDDED_RESOLVER: std::net::Ipv4Addr = std::net::Ipv4Addr::new(127, 0, 0, 11);

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("bind resolver socket {addr} in {netns}: {source}")]
    Bind {
        addr: SocketAddr,
        netns: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("resolver socket: {source}")]
    Socket { source: std::io::Error },
    #[error("start resolver thread: {source}")]
    Thread { source: std::io::Error },
    #[error(transparent)]
    Netns(#[from] LinkError),
}

/// Binds a UDP socket at `addr` inside `netns` (its `lo` must be up for 127.0.0.11).
pub fn bind_in_netns(netns: &NetnsHandle, addr: SocketAddr) -> Result<UdpSocket, DnsError> {
    netns
        .run(|| UdpSocket::bind(addr))?
        .map_err(|source| DnsError::Bind {
            addr,
            netns: netns.path().to_path_buf(),
            source,
        })
}

/// Binds a TCP listener at `addr` inside `netns`, for [`DnsServer::spawn_with_tcp`].
pub fn bind_tcp_in_netns(netns: &NetnsHandle, addr: SocketAddr) -> Result<TcpListener, DnsError> {
    netns
        .run(|| TcpListener::bind(addr))?
        .map_err(|source| DnsError::Bind {
            addr,
            netns: netns.path().to_path_buf(),
            source,
        })
}
