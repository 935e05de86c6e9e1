//! Resolver threads: one for UDP, optionally one accepting TCP; both answer names from
//! [`super::DnsRecords`] and forward the rest upstream.

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::resolve::{self, Decision, Resolver};
use super::wire::{self, Rcode};
use super::{DnsError, DnsRecords};

/// How often the serving threads check whether they should stop.
const STOP_POLL: Duration = Duration::from_millis(200);
/// Forwarded queries (and TCP connections) in flight at once; beyond that: SERVFAIL/close.
const MAX_IN_FLIGHT: usize = 64;
/// An idle TCP client is dropped after this long.
const TCP_IDLE: Duration = Duration::from_secs(5);
const TCP_MAX: usize = u16::MAX as usize;

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

/// A running resolver; stops (and joins its threads) on drop.
#[derive(Debug)]
pub struct DnsServer {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared {
    resolver: Resolver,
    stop: Arc<AtomicBool>,
    in_flight: AtomicUsize,
}

impl Shared {
    /// Reserves a slot for a helper thread; `false` if all are taken.
    fn acquire(&self) -> bool {
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= MAX_IN_FLIGHT {
            self.release();
            return false;
        }
        true
    }

    fn release(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl DnsServer {
    /// Serves UDP on `socket` (typically from [`super::bind_in_netns`]) until dropped.
    pub fn spawn(socket: UdpSocket, config: ServerConfig) -> Result<Self, DnsError> {
        Self::spawn_with_tcp(socket, None, config)
    }

    /// Serves UDP on `socket` and, with `tcp`, TCP too (clients retry truncated answers
    /// over TCP; see [`super::bind_tcp_in_netns`]).
    pub fn spawn_with_tcp(
        socket: UdpSocket,
        tcp: Option<TcpListener>,
        config: ServerConfig,
    ) -> Result<Self, DnsError> {
        let socket_error = |source| DnsError::Socket { source };
        let local_addr = socket.local_addr().map_err(socket_error)?;
        socket
            .set_read_timeout(Some(STOP_POLL))
            .map_err(socket_error)?;
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            resolver: Resolver::new(config),
            stop: Arc::clone(&stop),
            in_flight: AtomicUsize::new(0),
        });
        let mut server = Self {
            local_addr,
            stop,
            threads: Vec::new(),
        };
        let udp_shared = Arc::clone(&shared);
        let socket = Arc::new(socket);
        server
            .threads
            .push(spawn_named(format!("berth-dns {local_addr}"), move || {
                serve_udp(&udp_shared, &socket)
            })?);
        if let Some(listener) = tcp {
            listener.set_nonblocking(true).map_err(socket_error)?;
            server.threads.push(spawn_named(
                format!("berth-dns-tcp {local_addr}"),
                move || serve_tcp(&shared, &listener),
            )?);
        }
        Ok(server)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn spawn_named(
    name: String,
    work: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, DnsError> {
    std::thread::Builder::new()
        .name(name)
        .spawn(work)
        .map_err(|source| DnsError::Thread { source })
}

fn serve_udp(shared: &Arc<Shared>, socket: &Arc<UdpSocket>) {
    let mut buf = [0u8; 4096];
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok((len, client)) = socket.recv_from(&mut buf) else {
            continue; // timeout (poll the stop flag) or a transient error
        };
        match shared.resolver.decide(&buf[..len], wire::UDP_MAX) {
            Decision::Reply(reply) => {
                let _ = socket.send_to(&reply, client);
            }
            Decision::Drop => {}
            Decision::Forward { id } => {
                forward_udp(shared, socket, buf[..len].to_vec(), id, client)
            }
        }
    }
}

/// Relays a query on a helper thread (in the daemon's namespace, so host-local resolvers
/// such as 127.0.0.53 work) and sends the answer back to the client.
fn forward_udp(
    shared: &Arc<Shared>,
    socket: &Arc<UdpSocket>,
    packet: Vec<u8>,
    id: u16,
    client: SocketAddr,
) {
    let servfail = wire::error_reply(id, Rcode::ServFail);
    if shared.resolver.config.upstreams.is_empty() || !shared.acquire() {
        let _ = socket.send_to(&servfail, client);
        return;
    }
    let (helper_shared, helper_socket) = (Arc::clone(shared), Arc::clone(socket));
    let spawned = spawn_named("berth-dns-forward".into(), move || {
        let reply =
            resolve::forward_udp(&helper_shared.resolver.config, &packet, id).unwrap_or(servfail);
        let _ = helper_socket.send_to(&reply, client);
        helper_shared.release();
    });
    if spawned.is_err() {
        shared.release();
    }
}

fn serve_tcp(shared: &Arc<Shared>, listener: &TcpListener) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                if !shared.acquire() {
                    continue; // dropping the stream closes it
                }
                let connection_shared = Arc::clone(shared);
                let spawned = spawn_named("berth-dns-tcp-conn".into(), move || {
                    serve_tcp_connection(&connection_shared, stream);
                    connection_shared.release();
                });
                if spawned.is_err() {
                    shared.release();
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn serve_tcp_connection(shared: &Shared, mut stream: TcpStream) {
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(TCP_IDLE)).is_err() {
        return;
    }
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok(query) = resolve::read_framed(&mut stream) else {
            return;
        };
        let reply = match shared.resolver.decide(&query, TCP_MAX) {
            Decision::Reply(reply) => reply,
            Decision::Drop => return,
            Decision::Forward { id } => resolve::forward_tcp(&shared.resolver.config, &query)
                .unwrap_or_else(|| wire::error_reply(id, Rcode::ServFail)),
        };
        if resolve::write_framed(&mut stream, &reply).is_err() {
            return;
        }
    }
}
