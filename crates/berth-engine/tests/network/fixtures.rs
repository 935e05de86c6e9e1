//! Test fixtures: a network service with names of its own (table, default bridge), processes
//! inside a container's namespace, an "outside" namespace wired to the host. Everything is
//! removed on drop, even when the test fails.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use berth_engine::Paths;
use berth_engine::network::{
    AttachRequest, Attachment, CreateRequest, NetworkOptions, NetworkRecord, NetworkService,
};
use berth_net::link::{Netlink, NetnsHandle};
use bollard_stubs::models::{ContainerConfig, HostConfig, Ipam, IpamConfig, NetworkingConfig};

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SUBNETS: AtomicU32 = AtomicU32::new(0);
static OUTSIDES: AtomicU32 = AtomicU32::new(0);

/// `<prefix><pid%10000>n<k>`: unique per test process and call, ≤ 15 bytes for short prefixes.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}{}n{n}", std::process::id() % 10000)
}

/// A /24 for this test process: 10.213.<k>.0/24 with k unique across this process' calls.
pub fn unique_subnet() -> (String, u8) {
    let n = SUBNETS.fetch_add(1, Ordering::SeqCst);
    assert!(n < 7, "each test process has 7 subnets");
    let k = ((std::process::id() % 36) * 7 + n) as u8;
    (format!("10.213.{k}.0/24"), k)
}

pub struct TestNet {
    pub dir: tempfile::TempDir,
    pub paths: Paths,
    pub service: NetworkService,
}

impl TestNet {
    pub fn new() -> TestNet {
        berth_testutil::require_root();
        berth_testutil::require_program("nsenter");
        berth_testutil::require_program("nft");
        let dir = tempfile::Builder::new()
            .prefix("berth-net-engine-test")
            .tempdir()
            .expect("tempdir");
        let paths = Paths::new(dir.path().join("data"), dir.path().join("run"));
        let service = NetworkService::open_with(&paths, options()).expect("open network service");
        TestNet {
            dir,
            paths,
            service,
        }
    }

    pub fn reopen(&mut self) {
        let options = self.service.options().clone();
        self.service = NetworkService::open_with(&self.paths, options).expect("reopen");
    }

    pub fn create(&self, name: &str, subnet: &str, internal: bool) -> NetworkRecord {
        self.service
            .create(&CreateRequest {
                name: name.to_string(),
                internal: Some(internal),
                ipam: Some(Ipam {
                    config: Some(vec![IpamConfig {
                        subnet: Some(subnet.to_string()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .expect("create network")
    }
}

/// Names of this test only: never Berth's real table or bridge, never Docker's.
pub fn options() -> NetworkOptions {
    NetworkOptions {
        table: unique("berthtest-net"),
        default_bridge: unique("btn"),
        resolv_conf: PathBuf::from("/etc/resolv.conf"),
        hosts: PathBuf::from("/etc/hosts"),
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        let result = self.service.teardown_all();
        if !std::thread::panicking() {
            result.expect("teardown of the test's networks");
        }
    }
}

/// A container's inputs, owned.
pub struct Spec {
    pub id: String,
    pub name: String,
    pub config: ContainerConfig,
    pub host: HostConfig,
    pub endpoints: Option<NetworkingConfig>,
}

impl Spec {
    pub fn new(network_mode: &str) -> Spec {
        let id = berth_engine::containers::names::new_id();
        Spec {
            name: unique("ctr-"),
            id,
            config: ContainerConfig::default(),
            host: HostConfig {
                network_mode: Some(network_mode.to_string()),
                ..Default::default()
            },
            endpoints: None,
        }
    }

    pub fn request(&self) -> AttachRequest<'_> {
        AttachRequest {
            id: &self.id,
            name: &self.name,
            hostname: &self.id[..12],
            config: &self.config,
            host: &self.host,
            endpoints: self.endpoints.as_ref(),
            joined_netns: None,
        }
    }
}

/// Runs `args` inside `netns`, with `files` (path in the container → content) bind-mounted
/// over the host's in a private mount namespace (how a container sees its /etc files).
pub fn run_in(netns: &Path, files: &[(&str, &str)], args: &[&str]) -> Output {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut script = String::from("set -e\n");
    for (i, (target, content)) in files.iter().enumerate() {
        let source = scratch.path().join(format!("f{i}"));
        std::fs::write(&source, content).expect("write file");
        script.push_str(&format!("mount --bind {} {target}\n", source.display()));
    }
    script.push_str("exec nsenter --net=\"$0\" \"$@\"\n");
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .arg(netns)
        .args(args)
        .output()
        .expect("run unshare")
}

/// `run_in` with the container's /etc/resolv.conf and /etc/hosts.
pub fn run_as(attachment: &Attachment, args: &[&str]) -> Output {
    let netns = attachment
        .netns_path
        .as_ref()
        .expect("container has a netns");
    run_in(
        netns,
        &[
            ("/etc/resolv.conf", &attachment.resolv_conf),
            ("/etc/hosts", &attachment.hosts),
        ],
        args,
    )
}

pub fn text(output: &Output) -> String {
    format!(
        "status {}; stdout {}; stderr {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A busybox httpd serving `body` as /index.html inside `netns`; killed on drop.
pub struct Httpd {
    child: Child,
    _root: tempfile::TempDir,
}

impl Httpd {
    pub fn start(netns: &Path, port: u16, body: &str) -> Httpd {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("index.html"), body).expect("write index");
        let child = Command::new("nsenter")
            .arg(format!("--net={}", netns.display()))
            .args(["/bin/busybox", "httpd", "-f", "-p", &port.to_string(), "-h"])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start busybox httpd");
        // Wait until it listens (it binds right after exec).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let handle = NetnsHandle::open(netns).expect("open netns");
        while std::time::Instant::now() < deadline {
            let up = handle
                .run(|| TcpStream::connect(("127.0.0.1", port)).is_ok())
                .unwrap_or(false);
            if up {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Httpd { child, _root: root }
    }
}

impl Drop for Httpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET /index.html` over HTTP/1.0; the whole response.
pub fn http_get(netns: Option<&NetnsHandle>, address: SocketAddr) -> std::io::Result<String> {
    let fetch = move || -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(3))?;
        stream.set_read_timeout(Some(Duration::from_secs(3)))?;
        stream.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")?;
        let mut out = String::new();
        stream.read_to_string(&mut out)?;
        Ok(out)
    };
    match netns {
        Some(ns) => ns.run(fetch).expect("enter netns"),
        None => fetch(),
    }
}

/// A namespace standing for another machine, wired to the host by a veth pair
/// (host side `.1`, outside `.2` in 10.214.<k>.0/30).
pub struct Outside {
    pub netns: NetnsHandle,
    path: PathBuf,
    host_link: String,
    pub host_address: Ipv4Addr,
}

impl Outside {
    pub fn new(dir: &Path) -> Outside {
        let k = (std::process::id() % 250) as u8;
        let n = OUTSIDES.fetch_add(1, Ordering::SeqCst) as u8 % 60;
        let host_address = Ipv4Addr::new(10, 214, k, n * 4 + 1);
        let outside_address = Ipv4Addr::new(10, 214, k, n * 4 + 2);
        let path = dir.join(unique("outside"));
        let netns = NetnsHandle::create_persistent(&path).expect("outside netns");
        let host_link = unique("bto");
        let guard = Outside {
            netns,
            path,
            host_link,
            host_address,
        };
        let mut host = Netlink::open().expect("netlink");
        host.create_veth(&guard.host_link, "eth0", Some(&guard.netns))
            .expect("outside veth");
        host.add_address(&guard.host_link, host_address, 30)
            .expect("host address");
        host.set_up(&guard.host_link).expect("host link up");
        let mut inside = Netlink::open_in(&guard.netns).expect("netlink inside");
        inside
            .add_address("eth0", outside_address, 30)
            .expect("outside address");
        inside.set_up("eth0").expect("outside link up");
        inside.set_up("lo").expect("outside lo up");
        guard
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        if let Ok(mut host) = Netlink::open() {
            let _ = host.delete_link(&self.host_link);
        }
        let _ = berth_net::link::remove_persistent_netns(&self.path);
    }
}

/// Whether a host link exists.
pub fn link_exists(name: &str) -> bool {
    Netlink::open()
        .expect("netlink")
        .link_index(name)
        .expect("look up link")
        .is_some()
}

/// `nft list table ip <table>` (empty if the table does not exist).
pub fn nft_table(table: &str) -> String {
    let out = Command::new("nft")
        .args(["list", "table", "ip", table])
        .output()
        .expect("run nft");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
