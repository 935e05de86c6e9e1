//! Shared fixtures: uniquely named network namespaces and links, removed on drop.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use berth_net::link::{Netlink, NetnsHandle};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A short name unique to this process and call: `<prefix><pid%10000>x<n>` (≤ 15 bytes).
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}{}x{n}", std::process::id() % 10000)
}

pub fn run(args: &[&str]) {
    let status = Command::new(args[0])
        .args(&args[1..])
        .status()
        .unwrap_or_else(|e| panic!("run {args:?}: {e}"));
    assert!(status.success(), "{args:?} failed: {status}");
}

/// `ip netns add` on creation, `ip netns delete` on drop.
pub struct TestNetns {
    pub name: String,
    pub handle: NetnsHandle,
}

impl TestNetns {
    pub fn new() -> Self {
        berth_testutil::require_root();
        berth_testutil::require_program("ip");
        let name = unique("berthnet-");
        run(&["ip", "netns", "add", &name]);
        let handle = NetnsHandle::named(&name).expect("open test netns");
        Self { name, handle }
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

/// Deletes a host link on drop (and asserts nothing is left when the test passed).
pub struct LinkGuard(pub String);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        if let Ok(mut netlink) = Netlink::open() {
            let _ = netlink.delete_link(&self.0);
            if !std::thread::panicking() {
                assert_eq!(
                    netlink.link_index(&self.0).unwrap(),
                    None,
                    "{} left",
                    self.0
                );
            }
        }
    }
}

/// A TCP echo-once server listening inside `netns`; returns its address.
pub fn tcp_server_in(netns: &NetnsHandle, addr: SocketAddr, reply: &'static [u8]) -> SocketAddr {
    let listener = netns
        .run(|| TcpListener::bind(addr))
        .unwrap()
        .expect("bind in netns");
    let local = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.write_all(reply);
        }
    });
    local
}

/// Connects to `addr` from inside `netns` (or the host with `None`) and returns what it read.
pub fn tcp_fetch(netns: Option<&NetnsHandle>, addr: SocketAddr) -> std::io::Result<Vec<u8>> {
    let fetch = move || -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut out = Vec::new();
        stream.read_to_end(&mut out)?;
        Ok(out)
    };
    match netns {
        Some(ns) => ns.run(fetch).expect("enter netns"),
        None => fetch(),
    }
}

/// A TCP server inside `netns` that answers each connection with the client's IP address.
pub fn tcp_peer_server_in(netns: &NetnsHandle, addr: SocketAddr) -> SocketAddr {
    let listener = netns
        .run(|| TcpListener::bind(addr))
        .unwrap()
        .expect("bind in netns");
    let local = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let peer = stream
                .peer_addr()
                .map(|p| p.ip().to_string())
                .unwrap_or_default();
            let _ = stream.write_all(peer.as_bytes());
        }
    });
    local
}

/// Like [`tcp_fetch`] with a custom connect timeout (for connections expected to fail).
pub fn tcp_fetch_within(
    netns: Option<&NetnsHandle>,
    addr: SocketAddr,
    timeout: Duration,
) -> std::io::Result<Vec<u8>> {
    let fetch = move || -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut out = Vec::new();
        stream.read_to_end(&mut out)?;
        Ok(out)
    };
    match netns {
        Some(ns) => ns.run(fetch).expect("enter netns"),
        None => fetch(),
    }
}

/// A UDP server inside `netns` that echoes every datagram prefixed with "echo:".
pub fn udp_echo_server_in(netns: &NetnsHandle, addr: SocketAddr) -> SocketAddr {
    let socket = netns
        .run(|| std::net::UdpSocket::bind(addr))
        .unwrap()
        .expect("bind udp in netns");
    let local = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            let mut reply = b"echo:".to_vec();
            reply.extend_from_slice(&buf[..len]);
            let _ = socket.send_to(&reply, from);
        }
    });
    local
}

/// Sends one datagram to `addr` from `netns` (or the host) and waits up to 2 s for the answer.
pub fn udp_ask(
    netns: Option<&NetnsHandle>,
    addr: SocketAddr,
    message: &[u8],
) -> std::io::Result<Vec<u8>> {
    let message = message.to_vec();
    let ask = move || -> std::io::Result<Vec<u8>> {
        let socket = std::net::UdpSocket::bind(("0.0.0.0", 0))?;
        socket.set_read_timeout(Some(Duration::from_secs(2)))?;
        socket.send_to(&message, addr)?;
        let mut buf = [0u8; 1500];
        let (len, _) = socket.recv_from(&mut buf)?;
        Ok(buf[..len].to_vec())
    };
    match netns {
        Some(ns) => ns.run(ask).expect("enter netns"),
        None => ask(),
    }
}

/// A namespace standing for a machine outside the host: linked by its own veth pair, the
/// host end `host_ip/24`, `eth0` inside `ns_ip/24` with a default route via the host end.
pub struct OutsideHost {
    pub netns: TestNetns,
    pub host_link: LinkGuard,
}

impl OutsideHost {
    pub fn new(host_ip: std::net::Ipv4Addr, ns_ip: std::net::Ipv4Addr) -> Self {
        let netns = TestNetns::new();
        let host_if = unique("vo");
        let host_link = LinkGuard(host_if.clone());
        let mut host = Netlink::open().unwrap();
        host.create_veth(&host_if, "eth0", Some(&netns.handle))
            .unwrap();
        host.add_address(&host_if, host_ip, 24).unwrap();
        host.set_up(&host_if).unwrap();
        let mut inside = Netlink::open_in(&netns.handle).unwrap();
        inside.add_address("eth0", ns_ip, 24).unwrap();
        inside.set_up("lo").unwrap();
        inside.set_up("eth0").unwrap();
        inside.add_default_route(host_ip, "eth0").unwrap();
        Self { netns, host_link }
    }
}

/// A bridge with one or more attached "containers", all removed on drop.
pub struct TestBridge {
    pub name: String,
    pub gateway: std::net::Ipv4Addr,
    pub containers: Vec<TestNetns>,
    links: Vec<LinkGuard>,
    _bridge: LinkGuard,
}

impl TestBridge {
    /// Bridge with gateway `172.30.<third>.1/24`.
    pub fn new(third: u8) -> Self {
        let name = unique("bt");
        let bridge = LinkGuard(name.clone());
        let gateway = std::net::Ipv4Addr::new(172, 30, third, 1);
        berth_net::link::ensure_bridge(&name, gateway, 24).unwrap();
        Self {
            name,
            gateway,
            containers: Vec::new(),
            links: Vec::new(),
            _bridge: bridge,
        }
    }

    pub fn subnet(&self) -> berth_net::Subnet {
        berth_net::Subnet::new(self.gateway, 24).unwrap()
    }

    /// Adds a container with address `172.30.<third>.<host>`; returns its index.
    pub fn add_container(&mut self, host: u8) -> usize {
        let netns = TestNetns::new();
        let host_if = unique("vt");
        self.links.push(LinkGuard(host_if.clone()));
        let [a, b, c, _] = self.gateway.octets();
        berth_net::link::attach_container(&berth_net::link::ContainerLink {
            bridge: &self.name,
            host_ifname: &host_if,
            container_ifname: "eth0",
            netns: &netns.handle,
            address: std::net::Ipv4Addr::new(a, b, c, host),
            prefix_len: 24,
            gateway: Some(self.gateway),
            mac: None,
            ipv6: None,
        })
        .unwrap();
        self.containers.push(netns);
        self.containers.len() - 1
    }
}

/// Deletes an nftables table on drop and checks it is gone.
pub struct TableGuard(pub String);

impl TableGuard {
    pub fn exists(&self) -> bool {
        Command::new("nft")
            .args(["list", "table", "ip", &self.0])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

impl Drop for TableGuard {
    fn drop(&mut self) {
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", &self.0])
            .stderr(std::process::Stdio::null())
            .status();
        if !std::thread::panicking() {
            assert!(!self.exists(), "table {} left behind", self.0);
        }
    }
}

/// A unique nftables table name for a test.
pub fn test_table() -> String {
    unique("berthtest_").replace('x', "_")
}

/// Fails clearly if another firewall (e.g. a running dockerd's `FORWARD` policy DROP) drops
/// forwarded traffic: Berth never edits other tables, so these tests could not pass.
pub fn require_forwarding_not_dropped_elsewhere() {
    let out = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .expect("run nft list ruleset");
    let ruleset = String::from_utf8_lossy(&out.stdout);
    let dropping = ruleset
        .lines()
        .any(|line| line.contains("hook forward") && line.contains("policy drop"));
    assert!(
        !dropping,
        "another nftables/iptables table drops forwarded packets by policy (is dockerd \
         running?); forwarding tests cannot pass:\n{ruleset}"
    );
}
