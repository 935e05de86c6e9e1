//! A published host port is held by the daemon while its container runs, as docker-proxy's
//! socket holds it for Docker: one bound, non-listening socket per port, without
//! `SO_REUSEADDR`, so a host program that tries the port later gets "address already in
//! use" instead of silently losing its traffic to the DNAT rule. Not listening, the socket
//! never accepts anything (the DNAT rules take the traffic before it could).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::OwnedFd;

use berth_net::firewall::{PortMapping, Protocol};
use rustix::net::{AddressFamily, SocketFlags, SocketType};

/// The sockets holding one container's published ports; dropping it frees them.
#[derive(Debug, Default)]
pub(super) struct Reservation {
    _sockets: Vec<OwnedFd>,
}

/// A host port someone else holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Taken {
    pub address: Ipv4Addr,
    pub port: u16,
}

fn hold(protocol: Protocol, address: Ipv4Addr, port: u16) -> rustix::io::Result<OwnedFd> {
    let kind = match protocol {
        Protocol::Tcp => SocketType::STREAM,
        Protocol::Udp => SocketType::DGRAM,
    };
    let socket = rustix::net::socket_with(AddressFamily::INET, kind, SocketFlags::CLOEXEC, None)?;
    rustix::net::bind(&socket, &SocketAddrV4::new(address, port))?;
    Ok(socket)
}

/// Holds every host port of `mappings` (each port of a range); the first one taken is the
/// error, and nothing stays held then.
pub(super) fn reserve(mappings: &[PortMapping]) -> Result<Reservation, Taken> {
    let mut sockets = Vec::new();
    for m in mappings {
        let address = m.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        for offset in 0..m.count {
            let Some(port) = m.host_port.checked_add(offset) else {
                break;
            };
            let socket = hold(m.protocol, address, port).map_err(|_| Taken { address, port })?;
            sockets.push(socket);
        }
    }
    Ok(Reservation { _sockets: sockets })
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, UdpSocket};

    use super::*;

    fn mapping(protocol: Protocol, port: u16, count: u16) -> PortMapping {
        PortMapping {
            network: "n".into(),
            protocol,
            host_ip: Some(Ipv4Addr::LOCALHOST),
            host_port: port,
            container_ip: Ipv4Addr::new(10, 0, 0, 2),
            container_port: 80,
            count,
        }
    }

    /// A port free for TCP and UDP on 127.0.0.1 right now, with the next one free too.
    fn free_pair() -> u16 {
        loop {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = probe.local_addr().unwrap().port();
            drop(probe);
            let free = |p: u16| {
                TcpListener::bind(("127.0.0.1", p)).is_ok()
                    && UdpSocket::bind(("127.0.0.1", p)).is_ok()
            };
            if port < u16::MAX && free(port) && free(port + 1) {
                return port;
            }
        }
    }

    #[test]
    fn held_ports_refuse_other_binds_until_released() {
        let port = free_pair();
        let held = reserve(&[
            mapping(Protocol::Tcp, port, 2),
            mapping(Protocol::Udp, port, 1),
        ])
        .unwrap();
        assert!(TcpListener::bind(("127.0.0.1", port)).is_err());
        assert!(TcpListener::bind(("127.0.0.1", port + 1)).is_err());
        assert!(TcpListener::bind(("0.0.0.0", port)).is_err());
        assert!(UdpSocket::bind(("127.0.0.1", port)).is_err());
        // A second reservation of a held port names it, and keeps nothing.
        let taken = reserve(&[
            mapping(Protocol::Udp, port + 1, 1),
            mapping(Protocol::Tcp, port + 1, 1),
        ])
        .unwrap_err();
        assert_eq!(taken.port, port + 1);
        assert!(UdpSocket::bind(("127.0.0.1", port + 1)).is_ok());
        drop(held);
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
        assert!(UdpSocket::bind(("127.0.0.1", port)).is_ok());
    }
}
