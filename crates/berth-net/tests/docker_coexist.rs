//! Berth beside a real dockerd with its iptables firewall on: Docker sets the `filter FORWARD`
//! policy to DROP once it turned IP forwarding on, which would drop Berth's forwarded traffic
//! whatever Berth's own table accepts. Berth's tagged accepts in `DOCKER-USER` keep its
//! containers' way out and published ports working, and leave Docker's rules as they were.
//!
//! The "host" here is a network namespace of the test's own (dockerd runs in it, so the
//! machine's real firewall is never changed); the containers and the outside machine are
//! namespaces linked to it.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use berth_net::firewall::{Firewall, FirewallConfig, NetworkRule, PortMapping, Protocol};
use common::*;

/// dockerd (20.10, iptables on, no default bridge) running in a namespace of its own that
/// had IP forwarding off, as on a fresh host. Stopped, and its namespace and files removed,
/// on drop.
struct DockerHost {
    netns: TestNetns,
    dir: tempfile::TempDir,
    dockerd: Child,
}

impl DockerHost {
    fn start() -> DockerHost {
        for program in ["dockerd", "docker", "nsenter", "iptables", "nft"] {
            berth_testutil::require_program(program);
        }
        let netns = TestNetns::new();
        netns
            .handle
            .run(|| std::fs::write("/proc/sys/net/ipv4/ip_forward", "0"))
            .expect("enter the host namespace")
            .expect("turn IP forwarding off");
        // Short: containerd's socket path under the exec root must fit in sun_path.
        let dir = tempfile::Builder::new()
            .prefix("n6dk")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let path = |p: &str| dir.path().join(p);
        let dockerd = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", netns.name))
            .arg("dockerd")
            .arg("--data-root")
            .arg(path("data"))
            .arg("--exec-root")
            .arg(path("x"))
            .arg("--pidfile")
            .arg(path("d.pid"))
            .arg("-H")
            .arg(format!("unix://{}", path("d.sock").display()))
            .args(["--bridge", "none"])
            .stdout(std::fs::File::create(path("dockerd.log")).expect("log"))
            .stderr(std::fs::File::create(path("dockerd.err")).expect("log"))
            .spawn()
            .expect("spawn dockerd");
        let host = DockerHost {
            netns,
            dir,
            dockerd,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !host.answers() {
            assert!(
                Instant::now() < deadline,
                "dockerd did not start: {}",
                std::fs::read_to_string(host.dir.path().join("dockerd.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        host
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("d.sock")
    }

    fn answers(&self) -> bool {
        Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket().display()))
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for DockerHost {
    fn drop(&mut self) {
        // SIGTERM: dockerd stops its containerd and exits cleanly.
        let _ = Command::new("kill")
            .args(["-TERM", &self.dockerd.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(self.dockerd.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.dockerd.kill();
        let _ = self.dockerd.wait();
    }
}

/// `iptables -S` (all of table filter) in the current thread's namespace.
fn iptables_rules() -> String {
    let out = Command::new("iptables")
        .args(["-w", "-S"])
        .output()
        .expect("run iptables");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SHORT: Duration = Duration::from_millis(800);

#[test]
fn forwarding_and_published_ports_work_beside_dockers_forward_drop() {
    let docker = DockerHost::start();
    let dir = tempfile::tempdir().unwrap();
    docker
        .netns
        .handle
        .run(|| {
            // What dockerd did to this "host": FORWARD policy DROP, its DOCKER-USER chain.
            let docker_rules = iptables_rules();
            assert!(
                docker_rules.lines().any(|l| l == "-P FORWARD DROP"),
                "{docker_rules}"
            );
            assert!(
                docker_rules.lines().any(|l| l == "-N DOCKER-USER"),
                "{docker_rules}"
            );

            let mut config = FirewallConfig::new(dir.path());
            config.table = test_table();
            let mut fw = Firewall::open(config.clone()).unwrap();
            let mut net = TestBridge::new(41);
            let c = net.add_container(2);
            let container_ip = Ipv4Addr::new(172, 30, 41, 2);
            let outside =
                OutsideHost::new(Ipv4Addr::new(172, 31, 41, 1), Ipv4Addr::new(172, 31, 41, 2));
            let outside_server = tcp_peer_server_in(
                &outside.netns.handle,
                SocketAddr::from(([172, 31, 41, 2], 9000)),
            );
            tcp_server_in(
                &net.containers[c].handle,
                SocketAddr::from((container_ip, 8080)),
                b"web",
            );

            let rule = NetworkRule {
                bridge: net.name.clone(),
                subnet: net.subnet(),
                internal: false,
                ipv6: None,
            };
            fw.add_network("front", rule).unwrap();
            fw.publish(
                "web",
                vec![PortMapping {
                    network: "front".into(),
                    protocol: Protocol::Tcp,
                    host_ip: None,
                    host_port: 38041,
                    container_ip,
                    container_port: 8080,
                    count: 1,
                }],
            )
            .unwrap();
            let tag = format!("\"berth:{}\"", config.table);
            let ours: Vec<String> = iptables_rules()
                .lines()
                .filter(|l| l.contains(&tag))
                .map(str::to_owned)
                .collect();
            assert_eq!(
                ours,
                vec![
                    format!(
                        "-A DOCKER-USER -o {} -m comment --comment {tag} -j ACCEPT",
                        net.name
                    ),
                    format!(
                        "-A DOCKER-USER -i {} -m comment --comment {tag} -j ACCEPT",
                        net.name
                    ),
                ],
            );

            // Out: the container reaches the outside machine, masqueraded.
            let container = &net.containers[c].handle;
            let seen = tcp_fetch(Some(container), outside_server).expect("container → outside");
            assert_eq!(String::from_utf8_lossy(&seen), "172.31.41.1");
            // In: the outside machine reaches the published port.
            let published = SocketAddr::from(([172, 31, 41, 1], 38041));
            let page = tcp_fetch(Some(&outside.netns.handle), published).expect("outside → -p");
            assert_eq!(page, b"web");

            // Without our accepts, Docker's policy drops both ways — why they are there.
            for line in &ours {
                // `-A DOCKER-USER …` as listed, run as `-D DOCKER-USER …`.
                let words = line.split_whitespace().skip(1).map(|w| w.trim_matches('"'));
                let args: Vec<&str> = ["iptables", "-w", "-D"].into_iter().chain(words).collect();
                run(&args);
            }
            assert!(tcp_fetch_within(Some(container), outside_server, SHORT).is_err());
            assert!(tcp_fetch_within(Some(&outside.netns.handle), published, SHORT).is_err());
            // A daemon restart re-applies them.
            let mut fw = Firewall::open(config).unwrap();
            fw.reapply().unwrap();
            let seen = tcp_fetch(Some(container), outside_server).expect("after reapply");
            assert_eq!(String::from_utf8_lossy(&seen), "172.31.41.1");

            // Removing the network takes exactly our rules away: Docker's are as they were.
            assert!(fw.remove_network("front").unwrap());
            assert_eq!(iptables_rules(), docker_rules);
            fw.add_network(
                "front",
                NetworkRule {
                    bridge: net.name.clone(),
                    subnet: net.subnet(),
                    internal: false,
                    ipv6: None,
                },
            )
            .unwrap();
            assert_ne!(iptables_rules(), docker_rules);
            fw.teardown_all().unwrap();
            assert_eq!(iptables_rules(), docker_rules);
            drop(outside);
            drop(net);
        })
        .expect("run in the host namespace");
}
