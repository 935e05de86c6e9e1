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
