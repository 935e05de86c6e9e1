//! The real `docker` CLI against berthd: `--dns`, `--dns-search`, `--dns-option` and
//! `--add-host` in the container's files on the default bridge and on a user network (where
//! the embedded resolver forwards to the `--dns` server), and published ports' rules leaving
//! with `docker stop` and coming back with `docker start`. The only DNS server contacted is
//! the test's own, on a loopback address of the host.

mod common;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use common::Daemon;

/// A DNS server on a loopback address of the host that answers every A query with
/// `answer` and every other query with no records. Stops when dropped.
struct FakeUpstream {
    address: Ipv4Addr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// `query` (a DNS message) turned into its reply: A → one record `answer`, else empty.
fn reply_to(query: &[u8], answer: Ipv4Addr) -> Option<Vec<u8>> {
    // The question's name starts after the 12-byte header and ends with a zero label.
    let name_end = 12 + query.get(12..)?.iter().position(|b| *b == 0)?;
    let qtype = u16::from_be_bytes([*query.get(name_end + 1)?, *query.get(name_end + 2)?]);
    let question_end = name_end + 5;
    let mut reply = query.get(..question_end)?.to_vec();
    reply[2] = 0x81; // QR, RD
    reply[3] = 0x80; // RA, NOERROR
    reply[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 0]);
    if qtype == 1 {
        reply[7] = 1;
        // Name pointer to the question, type A, class IN, TTL 60, 4 bytes of address.
        reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        reply.extend_from_slice(&answer.octets());
    }
    Some(reply)
}

impl FakeUpstream {
    fn start(answer: Ipv4Addr) -> FakeUpstream {
        let pid = std::process::id();
        let address = Ipv4Addr::new(127, 53, (pid >> 8) as u8, pid as u8);
        let socket = UdpSocket::bind(SocketAddr::from((address, 53)))
            .unwrap_or_else(|e| panic!("bind the fake upstream on {address}:53: {e}"));
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !stopped.load(Ordering::Relaxed) {
                if let Ok((len, from)) = socket.recv_from(&mut buf)
                    && let Some(reply) = reply_to(&buf[..len], answer)
                {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        FakeUpstream {
            address,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The `--dns*` and `--add-host` flags every container here is run with.
fn dns_flags(upstream: &str) -> Vec<String> {
    [
        "--dns",
        upstream,
        "--dns-search",
        "corp.berth.test",
        "--dns-search",
        "lab.berth.test",
        "--dns-option",
        "ndots:2",
        "--dns-option",
        "timeout:3",
        "--add-host",
        "db.berth.test:10.77.1.2",
        "--add-host",
        "gw.berth.test:host-gateway",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run_files(d: &Daemon, network: &str, upstream: &str) -> (String, String) {
    let flags = dns_flags(upstream);
    let mut args: Vec<&str> = vec!["run", "--rm", "--network", network];
    args.extend(flags.iter().map(String::as_str));
    args.extend([
        "busybox",
        "sh",
        "-c",
        "cat /etc/resolv.conf; echo '#--'; cat /etc/hosts",
    ]);
    let out = d.ok(&args);
    let (resolv, hosts) = out.split_once("#--").expect("both files printed");
    (resolv.to_string(), hosts.to_string())
}

fn gateway_of(d: &Daemon, network: &str) -> String {
    d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Gateway}}",
        network,
    ])
}

fn assert_common(resolv: &str, hosts: &str, gateway: &str) {
    assert!(
        resolv
            .lines()
            .any(|l| l == "search corp.berth.test lab.berth.test"),
        "{resolv}"
    );
    assert!(
        resolv.lines().any(|l| l == "options ndots:2 timeout:3"),
        "{resolv}"
    );
    assert!(
        hosts.lines().any(|l| l == "10.77.1.2\tdb.berth.test"),
        "{hosts}"
    );
    assert!(
        hosts
            .lines()
            .any(|l| l == format!("{gateway}\tgw.berth.test")),
        "host-gateway is the network's gateway {gateway}: {hosts}"
    );
}

#[test]
fn dns_flags_and_extra_hosts_on_the_default_bridge_and_a_user_network() {
    let d = Daemon::start();
    let upstream = FakeUpstream::start(Ipv4Addr::new(10, 77, 9, 9));
    let upstream_ip = upstream.address.to_string();

    // Default bridge: the given server is the container's own nameserver, alone.
    let (resolv, hosts) = run_files(&d, "bridge", &upstream_ip);
    let nameservers: Vec<&str> = resolv
        .lines()
        .filter(|l| l.starts_with("nameserver"))
        .collect();
    assert_eq!(
        nameservers,
        vec![format!("nameserver {upstream_ip}")],
        "{resolv}"
    );
    assert_common(&resolv, &hosts, &gateway_of(&d, "bridge"));

    // A user network: the embedded resolver in resolv.conf, forwarding to the given server.
    let pid = std::process::id();
    let network = format!("net6-dns-{pid}");
    let subnet = format!("10.196.{}.0/24", pid % 250);
    d.ok(&["network", "create", "--subnet", &subnet, &network]);
    let (resolv, hosts) = run_files(&d, &network, &upstream_ip);
    let nameservers: Vec<&str> = resolv
        .lines()
        .filter(|l| l.starts_with("nameserver"))
        .collect();
    assert_eq!(nameservers, vec!["nameserver 127.0.0.11"], "{resolv}");
    assert!(!resolv.contains(&upstream_ip), "{resolv}");
    assert_common(&resolv, &hosts, &gateway_of(&d, &network));

    let flags = dns_flags(&upstream_ip);
    let mut args: Vec<&str> = vec!["run", "--rm", "--network", &network];
    args.extend(flags.iter().map(String::as_str));
    args.extend(["busybox", "nslookup", "-type=a", "outside.berth.test."]);
    let lookup = d.ok(&args);
    assert!(
        lookup.contains("10.77.9.9"),
        "forwarded to {upstream_ip}: {lookup}"
    );

    // A malformed entry is refused at start with a message naming it.
    let bad = d.docker(&[
        "run",
        "--rm",
        "--network",
        &network,
        "--add-host",
        "nohost.berth.test:not-an-ip",
        "busybox",
        "true",
    ]);
    assert!(!bad.status.success(), "{bad:?}");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not-an-ip"),
        "{bad:?}"
    );
    d.ok(&["network", "rm", &network]);
}

fn nft_table(d: &Daemon) -> String {
    let paths = berth_engine::Paths::new(d.data_root(), d.exec_root());
    let table = berth_engine::network::NetworkOptions::for_paths(&paths).table;
    let out = Command::new("nft")
        .args(["list", "table", "ip", &table])
        .output()
        .expect("run nft");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The HTTP status from 127.0.0.1:`port`, retried for a few seconds while httpd starts.
fn http_code(port: u16) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let out = Command::new("curl")
            .args(["-s", "-m", "2", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("http://127.0.0.1:{port}/"))
            .output()
            .expect("run curl");
        let code = String::from_utf8_lossy(&out.stdout).into_owned();
        if code != "000" || std::time::Instant::now() > deadline {
            return code;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn stop_removes_published_rules_and_start_brings_them_back() {
    berth_testutil::require_program("nft");
    berth_testutil::require_program("curl");
    let d = Daemon::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let publish = format!("127.0.0.1:{port}:80");
    d.ok(&[
        "run", "-d", "--name", "stopweb", "-p", &publish, "busybox", "httpd", "-f", "-p", "80",
    ]);
    assert!(nft_table(&d).contains(&format!("dport {port}")));
    let code = http_code(port);
    assert!(code == "404" || code == "200", "running: {code}");
    // The daemon holds the port: a host program cannot take it from the container.
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_err());

    d.ok(&["stop", "-t", "1", "stopweb"]);
    let rules = nft_table(&d);
    assert!(!rules.contains(&format!("dport {port}")), "{rules}");
    assert_eq!(
        d.ok(&["port", "stopweb"]),
        "",
        "a stopped container publishes nothing"
    );
    drop(std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free once stopped"));

    d.ok(&["start", "stopweb"]);
    assert!(nft_table(&d).contains(&format!("dport {port}")));
    let code = http_code(port);
    assert!(code == "404" || code == "200", "started again: {code}");
    d.ok(&["rm", "-f", "stopweb"]);
    assert!(!nft_table(&d).contains(&format!("dport {port}")));
}
