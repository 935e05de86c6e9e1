//! The embedded resolver at 127.0.0.11 inside a test namespace, queried with hickory-proto
//! (an independent DNS implementation), forwarding to a fake upstream on the host's loopback.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use berth_net::dns::{self, DnsRecords, DnsServer, EMBEDDED_RESOLVER, ServerConfig};
use berth_net::link::Netlink;
use common::TestNetns;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// A fake upstream resolver on 127.0.0.1: `example.test` is 192.0.2.7, all else NXDOMAIN.
struct FakeUpstream {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FakeUpstream {
    fn start() -> Self {
        let socket = UdpSocket::bind(("127.0.0.1", 0)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopping) = (Arc::clone(&queries), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !stopping.load(Ordering::SeqCst) {
                let Ok((len, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(reply) = fake_answer(&buf[..len]) {
                    count.fetch_add(1, Ordering::SeqCst);
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        // The same answers over TCP on the same port, one query per connection.
        let listener = TcpListener::bind(addr).unwrap();
        let (count, stopping) = (Arc::clone(&queries), Arc::clone(&stop));
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).is_err() {
                    continue;
                }
                let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if stream.read_exact(&mut query).is_err() {
                    continue;
                }
                if let Some(reply) = fake_answer(&query) {
                    count.fetch_add(1, Ordering::SeqCst);
                    let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&reply);
                    let _ = stream.write_all(&framed);
                }
            }
        });
        Self {
            addr,
            queries,
            stop,
        }
    }
}

fn fake_answer(bytes: &[u8]) -> Option<Vec<u8>> {
    let request = Message::from_vec(bytes).ok()?;
    let mut reply = Message::response(request.metadata.id, OpCode::Query);
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    let query = request.queries.first()?.clone();
    if query.name().to_ascii() == "example.test." {
        let data = RData::A(A(Ipv4Addr::new(192, 0, 2, 7)));
        reply.add_answer(Record::from_rdata(query.name().clone(), 60, data));
    } else {
        reply.metadata.response_code = ResponseCode::NXDomain;
    }
    reply.add_query(query);
    reply.to_vec().ok()
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Sends an A (or other) query from inside `netns` to the embedded resolver.
fn ask(netns: &TestNetns, name: &str, qtype: RecordType) -> Message {
    let mut message = Message::new(0x4242, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    let bytes = message.to_vec().unwrap();
    let reply = netns
        .handle
        .run(move || -> std::io::Result<Vec<u8>> {
            let socket = UdpSocket::bind(("127.0.0.1", 0))?;
            socket.set_read_timeout(Some(Duration::from_secs(3)))?;
            socket.send_to(&bytes, (EMBEDDED_RESOLVER, 53))?;
            let mut buf = [0u8; 1500];
            let len = socket.recv(&mut buf)?;
            Ok(buf[..len].to_vec())
        })
        .unwrap()
        .expect("resolver answers");
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(reply.metadata.id, 0x4242);
    reply
}

/// The same over TCP (length-prefixed).
fn ask_tcp(netns: &TestNetns, name: &str) -> Message {
    let mut message = Message::new(0x5151, MessageType::Query, OpCode::Query);
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    let bytes = message.to_vec().unwrap();
    let reply = netns
        .handle
        .run(move || -> std::io::Result<Vec<u8>> {
            let mut stream = TcpStream::connect((EMBEDDED_RESOLVER, 53))?;
            stream.set_read_timeout(Some(Duration::from_secs(3)))?;
            let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&bytes);
            stream.write_all(&framed)?;
            let mut len = [0u8; 2];
            stream.read_exact(&mut len)?;
            let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut reply)?;
            Ok(reply)
        })
        .unwrap()
        .expect("resolver answers over TCP");
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(reply.metadata.id, 0x5151);
    reply
}

fn addresses(reply: &Message) -> Vec<Ipv4Addr> {
    reply
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(A(ip)) => Some(*ip),
            _ => None,
        })
        .collect()
}

#[test]
fn resolves_names_round_robin_updates_live_and_forwards_the_rest() {
    berth_testutil::require_root();
    let container = TestNetns::new();
    Netlink::open_in(&container.handle)
        .unwrap()
        .set_up("lo")
        .unwrap();
    let upstream = FakeUpstream::start();
    let records = DnsRecords::new();
    let (a, b) = (Ipv4Addr::new(172, 30, 40, 2), Ipv4Addr::new(172, 30, 40, 3));
    records.add("app", "web", a);
    records.add("app", "web", b);
    records.add("app", "db-alias", Ipv4Addr::new(172, 30, 40, 9));
    records.add("other", "secret", Ipv4Addr::new(172, 30, 41, 2));

    let socket =
        dns::bind_in_netns(&container.handle, SocketAddr::from((EMBEDDED_RESOLVER, 53))).unwrap();
    let server = DnsServer::spawn(
        socket,
        ServerConfig {
            networks: vec!["app".into()],
            records: records.clone(),
            upstreams: vec![upstream.addr],
            upstream_timeout: Duration::from_secs(1),
        },
    )
    .unwrap();
    assert_eq!(
        server.local_addr(),
        SocketAddr::from((EMBEDDED_RESOLVER, 53))
    );

    // Round-robin: both addresses every time, a different one first on successive queries.
    let first = addresses(&ask(&container, "web.", RecordType::A));
    let second = addresses(&ask(&container, "WEB.", RecordType::A));
    assert_eq!(first.len(), 2);
    assert_eq!(second.len(), 2);
    assert_ne!(first[0], second[0], "{first:?} then {second:?}");
    let reply = ask(&container, "db-alias.", RecordType::A);
    assert!(reply.metadata.authoritative);
    assert_eq!(addresses(&reply), vec![Ipv4Addr::new(172, 30, 40, 9)]);
    // A known name without IPv6: NOERROR with no answers, answered locally.
    let before = upstream.queries.load(Ordering::SeqCst);
    let reply = ask(&container, "web.", RecordType::AAAA);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert!(reply.answers.is_empty());
    assert_eq!(upstream.queries.load(Ordering::SeqCst), before);

    // Removal applies immediately; the name then goes upstream (which says NXDOMAIN).
    assert!(records.remove("app", "web", a));
    assert_eq!(addresses(&ask(&container, "web.", RecordType::A)), vec![b]);
    records.remove_address("app", b);
    let reply = ask(&container, "web.", RecordType::A);
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    // Names on a network this container is not on are not visible.
    let reply = ask(&container, "secret.", RecordType::A);
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    // Additions apply immediately too.
    records.add("app", "late", a);
    assert_eq!(addresses(&ask(&container, "late.", RecordType::A)), vec![a]);

    // Everything else is forwarded to the upstream and relayed back.
    let before = upstream.queries.load(Ordering::SeqCst);
    let reply = ask(&container, "example.test.", RecordType::A);
    assert_eq!(addresses(&reply), vec![Ipv4Addr::new(192, 0, 2, 7)]);
    assert_eq!(upstream.queries.load(Ordering::SeqCst), before + 1);
    drop(server);
}

#[test]
fn no_upstream_means_servfail_and_garbage_means_formerr() {
    berth_testutil::require_root();
    let container = TestNetns::new();
    Netlink::open_in(&container.handle)
        .unwrap()
        .set_up("lo")
        .unwrap();
    let socket =
        dns::bind_in_netns(&container.handle, SocketAddr::from((EMBEDDED_RESOLVER, 53))).unwrap();
    let _server = DnsServer::spawn(
        socket,
        ServerConfig {
            networks: vec!["app".into()],
            records: DnsRecords::new(),
            upstreams: Vec::new(),
            upstream_timeout: Duration::from_secs(1),
        },
    )
    .unwrap();
    let reply = ask(&container, "anything.test.", RecordType::A);
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    let garbage = container
        .handle
        .run(|| -> std::io::Result<Vec<u8>> {
            let socket = UdpSocket::bind(("127.0.0.1", 0))?;
            socket.set_read_timeout(Some(Duration::from_secs(3)))?;
            socket.send_to(&[0xAB, 0xCD, 0x01, 0x00, 0, 9], (EMBEDDED_RESOLVER, 53))?;
            let mut buf = [0u8; 512];
            let len = socket.recv(&mut buf)?;
            Ok(buf[..len].to_vec())
        })
        .unwrap()
        .unwrap();
    let reply = Message::from_vec(&garbage).unwrap();
    assert_eq!(reply.metadata.id, 0xABCD);
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn large_answers_truncate_over_udp_and_come_whole_over_tcp() {
    berth_testutil::require_root();
    let container = TestNetns::new();
    Netlink::open_in(&container.handle)
        .unwrap()
        .set_up("lo")
        .unwrap();
    let upstream = FakeUpstream::start();
    let records = DnsRecords::new();
    for host in 2..102u8 {
        records.add("app", "many", Ipv4Addr::new(172, 30, 42, host));
    }
    let at = SocketAddr::from((EMBEDDED_RESOLVER, 53));
    let udp = dns::bind_in_netns(&container.handle, at).unwrap();
    let tcp = dns::bind_tcp_in_netns(&container.handle, at).unwrap();
    let _server = DnsServer::spawn_with_tcp(
        udp,
        Some(tcp),
        ServerConfig {
            networks: vec!["app".into()],
            records,
            upstreams: vec![upstream.addr],
            upstream_timeout: Duration::from_secs(1),
        },
    )
    .unwrap();
    let over_udp = ask(&container, "many.", RecordType::A);
    assert!(over_udp.metadata.truncation);
    assert!(addresses(&over_udp).len() < 100);
    let over_tcp = ask_tcp(&container, "many.");
    assert!(!over_tcp.metadata.truncation);
    assert_eq!(addresses(&over_tcp).len(), 100);
    // Forwarding over TCP reaches the upstream's TCP side.
    let forwarded = ask_tcp(&container, "example.test.");
    assert_eq!(addresses(&forwarded), vec![Ipv4Addr::new(192, 0, 2, 7)]);
    let missing = ask_tcp(&container, "nothing.test.");
    assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
}
