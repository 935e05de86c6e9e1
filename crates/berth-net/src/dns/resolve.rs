//! What to do with one query, shared by the UDP and TCP listeners, and the forwarding to the
//! upstream resolvers over either transport.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::ServerConfig;
use super::wire::{self, ParseError, Rcode, TYPE_A, TYPE_AAAA};

pub(crate) enum Decision {
    /// Send this reply.
    Reply(Vec<u8>),
    /// Not ours: relay the query to the upstreams (reply SERVFAIL with `id` if they fail).
    Forward { id: u16 },
    /// Not even a DNS header: ignore.
    Drop,
}

#[derive(Debug)]
pub(crate) struct Resolver {
    pub(crate) config: ServerConfig,
    round_robin: AtomicUsize,
}

impl Resolver {
    pub(crate) fn new(config: ServerConfig) -> Self {
        Self {
            config,
            round_robin: AtomicUsize::new(0),
        }
    }

    pub(crate) fn decide(&self, packet: &[u8], max_len: usize) -> Decision {
        let query = match wire::parse_query(packet) {
            Ok(query) => query,
            Err(ParseError::Malformed { id }) => {
                return Decision::Reply(wire::error_reply(id, Rcode::FormErr));
            }
            Err(ParseError::NoHeader) => return Decision::Drop,
        };
        let mut addresses = self
            .config
            .records
            .lookup(&self.config.networks, &query.name);
        if addresses.is_empty() || !query.is_internet() {
            return Decision::Forward { id: query.id };
        }
        // A gets the IPv4 addresses, AAAA the IPv6 ones; a name without records of the
        // asked type (or any other type) gets NODATA.
        addresses.retain(|a| match query.qtype {
            TYPE_A => a.is_ipv4(),
            TYPE_AAAA => a.is_ipv6(),
            _ => false,
        });
        if addresses.is_empty() {
            return Decision::Reply(wire::answer(&query, Rcode::NoError, &[], max_len));
        }
        // Rotate so successive clients spread over the containers behind a name.
        let turn = self.round_robin.fetch_add(1, Ordering::Relaxed);
        let len = addresses.len();
        addresses.rotate_left(turn % len);
        Decision::Reply(wire::answer(&query, Rcode::NoError, &addresses, max_len))
    }
}

/// Asks each upstream over UDP in turn; the first reply with our id wins.
pub(crate) fn forward_udp(config: &ServerConfig, packet: &[u8], id: u16) -> Option<Vec<u8>> {
    config.upstreams.iter().find_map(|upstream| {
        let socket = UdpSocket::bind(unspecified_for(upstream)).ok()?;
        socket
            .set_read_timeout(Some(config.upstream_timeout))
            .ok()?;
        socket.connect(upstream).ok()?;
        socket.send(packet).ok()?;
        let mut buf = vec![0u8; 4096];
        // Skip stray datagrams whose id does not match ours.
        while let Ok(len) = socket.recv(&mut buf) {
            if len >= 2 && buf[0..2] == id.to_be_bytes() {
                buf.truncate(len);
                return Some(buf);
            }
        }
        None
    })
}

/// Asks each upstream over TCP in turn (used for queries that arrived over TCP).
pub(crate) fn forward_tcp(config: &ServerConfig, packet: &[u8]) -> Option<Vec<u8>> {
    config.upstreams.iter().find_map(|upstream| {
        let mut stream = TcpStream::connect_timeout(upstream, config.upstream_timeout).ok()?;
        stream
            .set_read_timeout(Some(config.upstream_timeout))
            .ok()?;
        write_framed(&mut stream, packet).ok()?;
        read_framed(&mut stream).ok()
    })
}

fn unspecified_for(upstream: &SocketAddr) -> SocketAddr {
    if upstream.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    }
}

/// Reads one length-prefixed DNS message (RFC 1035 §4.2.2).
pub(crate) fn read_framed(stream: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut message)?;
    Ok(message)
}

pub(crate) fn write_framed(stream: &mut impl Write, message: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(message.len())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    stream.write_all(&framed)
}
