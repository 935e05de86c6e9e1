//! A UDP resolver thread: answers names from [`DnsRecords`], forwards the rest upstream.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::wire::{self, ParseError, Rcode, TYPE_A};
use super::{DnsError, DnsRecords};

/// How often the serving thread checks whether it should stop.
const STOP_POLL: Duration = Duration::from_millis(200);
/// Forwarded queries in flight at once; beyond that clients get SERVFAIL at once.
const MAX_IN_FLIGHT: usize = 64;

/// What one resolver serves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Networks whose names this resolver answers (those its container is attached to).
    pub networks: Vec<String>,
    pub records: DnsRecords,
    /// Where other names go, tried in order (from the host's `/etc/resolv.conf`).
    pub upstreams: Vec<SocketAddr>,
    /// How long to wait for each upstream.
    pub upstream_timeout: Duration,
}

/// A running resolver; stops (and joins its thread) on drop.
#[derive(Debug)]
pub struct DnsServer {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DnsServer {
    /// Serves on `socket` (typically bound with [`super::bind_in_netns`]) until dropped.
    pub fn spawn(socket: UdpSocket, config: ServerConfig) -> Result<Self, DnsError> {
        let local_addr = socket
            .local_addr()
            .map_err(|source| DnsError::Socket { source })?;
        socket
            .set_read_timeout(Some(STOP_POLL))
            .map_err(|source| DnsError::Socket { source })?;
        let stop = Arc::new(AtomicBool::new(false));
        let serving = Serving {
            socket: Arc::new(socket),
            config: Arc::new(config),
            stop: Arc::clone(&stop),
            in_flight: Arc::new(AtomicUsize::new(0)),
            round_robin: AtomicUsize::new(0),
        };
        let thread = std::thread::Builder::new()
            .name(format!("berth-dns {local_addr}"))
            .spawn(move || serving.run())
            .map_err(|source| DnsError::Thread { source })?;
        Ok(Self {
            local_addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Serving {
    socket: Arc<UdpSocket>,
    config: Arc<ServerConfig>,
    stop: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    round_robin: AtomicUsize,
}

impl Serving {
    fn run(&self) {
        let mut buf = [0u8; 4096];
        while !self.stop.load(Ordering::SeqCst) {
            let Ok((len, client)) = self.socket.recv_from(&mut buf) else {
                continue; // timeout (poll the stop flag) or a transient error
            };
            self.handle(&buf[..len], client);
        }
    }

    fn handle(&self, packet: &[u8], client: SocketAddr) {
        let query = match wire::parse_query(packet) {
            Ok(query) => query,
            Err(ParseError::Malformed { id }) => {
                let _ = self
                    .socket
                    .send_to(&wire::error_reply(id, Rcode::FormErr), client);
                return;
            }
            Err(ParseError::NoHeader) => return,
        };
        let addresses = self
            .config
            .records
            .lookup(&self.config.networks, &query.name);
        if !addresses.is_empty() && query.is_internet() {
            let reply = match query.qtype {
                TYPE_A => {
                    // Rotate so successive clients spread over the containers behind a name.
                    let mut rotated = addresses;
                    let turn = self.round_robin.fetch_add(1, Ordering::Relaxed);
                    let len = rotated.len();
                    rotated.rotate_left(turn % len);
                    wire::answer(&query, Rcode::NoError, &rotated)
                }
                // The name exists but has no records of this type (e.g. AAAA): NODATA.
                _ => wire::answer(&query, Rcode::NoError, &[]),
            };
            let _ = self.socket.send_to(&reply, client);
            return;
        }
        self.forward(packet.to_vec(), query.id, client);
    }

    /// Relays the query verbatim to the upstreams on a helper thread (in the daemon's
    /// namespace, so host-local resolvers such as 127.0.0.53 work).
    fn forward(&self, packet: Vec<u8>, id: u16, client: SocketAddr) {
        let socket = Arc::clone(&self.socket);
        if self.config.upstreams.is_empty()
            || self.in_flight.fetch_add(1, Ordering::SeqCst) >= MAX_IN_FLIGHT
        {
            if !self.config.upstreams.is_empty() {
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            let _ = socket.send_to(&wire::error_reply(id, Rcode::ServFail), client);
            return;
        }
        let config = Arc::clone(&self.config);
        let in_flight = Arc::clone(&self.in_flight);
        let spawned = std::thread::Builder::new()
            .name("berth-dns-forward".into())
            .spawn(move || {
                let reply = ask_upstreams(&config, &packet, id)
                    .unwrap_or_else(|| wire::error_reply(id, Rcode::ServFail));
                let _ = socket.send_to(&reply, client);
                in_flight.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn ask_upstreams(config: &ServerConfig, packet: &[u8], id: u16) -> Option<Vec<u8>> {
    for upstream in &config.upstreams {
        let bind: SocketAddr = if upstream.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let Ok(socket) = UdpSocket::bind(bind) else {
            continue;
        };
        if socket
            .set_read_timeout(Some(config.upstream_timeout))
            .is_err()
            || socket.connect(upstream).is_err()
            || socket.send(packet).is_err()
        {
            continue;
        }
        let mut buf = vec![0u8; 4096];
        // Skip stray datagrams whose id does not match ours.
        while let Ok(len) = socket.recv(&mut buf) {
            if len >= 2 && buf[0..2] == id.to_be_bytes() {
                buf.truncate(len);
                return Some(buf);
            }
        }
    }
    None
}
