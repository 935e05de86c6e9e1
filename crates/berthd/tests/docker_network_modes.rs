//! The real `docker` CLI against berthd: IPv6 networks, and `--network container:<name>`.
//! Only loopback and the test's own bridge and namespaces are contacted.

mod common;

use std::process::Command;

use common::Daemon;
use common::net::{free_port, run_text, unique_net};

/// `docker network create --ipv6 --subnet fd00:…/64`: each container gets an IPv6 address
/// and default route, they reach each other and the gateway over IPv6, inspect shows it,
/// `table ip6` masquerades the subnet and publishes ports to the IPv6 address; removing the
/// network removes the IPv6 table again. Only the test's own bridge is contacted.
#[test]
fn ipv6_network_addresses_routes_nat_and_inspect() {
    let d = Daemon::start();
    let pid = std::process::id();
    let subnet6 = format!("fd00:6:{:x}::/64", pid & 0xffff);
    let prefix6 = format!("fd00:6:{:x}::", pid & 0xffff);
    let (subnet, network) = unique_net(5);
    d.ok(&[
        "network", "create", "--ipv6", "--subnet", &subnet6, "--subnet", &subnet, &network,
    ]);
    assert_eq!(
        d.ok(&[
            "network",
            "inspect",
            "-f",
            "{{.EnableIPv6}} {{len .IPAM.Config}}",
            &network
        ]),
        "true 2"
    );
    let port = free_port();
    let publish = format!("{port}:80");
    d.ok(&[
        "run",
        "-d",
        "--name",
        "web6",
        "--network",
        &network,
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        "mkdir /w && echo net6-v6 > /w/index.html && exec httpd -f -p 80 -h /w",
    ]);
    let field = |f: &str| {
        d.ok(&[
            "inspect",
            "-f",
            &format!("{{{{(index .NetworkSettings.Networks \"{network}\").{f}}}}}"),
            "web6",
        ])
    };
    let address6 = field("GlobalIPv6Address");
    let gateway6 = field("IPv6Gateway");
    assert_eq!(gateway6, format!("{prefix6}1"));
    assert!(address6.starts_with(&prefix6), "{address6}");
    assert_eq!(field("GlobalIPv6PrefixLen"), "64");
    let hosts = d.ok(&["exec", "web6", "cat", "/etc/hosts"]);
    assert!(
        hosts
            .lines()
            .any(|l| l.starts_with(&format!("{address6}\t"))),
        "{hosts}"
    );
    let in_network = d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .Containers}}{{.IPv6Address}}{{end}}",
        &network,
    ]);
    assert_eq!(in_network, format!("{address6}/64"));

    // Another container: its own address and route, the peer and the gateway over IPv6.
    let script = format!(
        "ip -6 addr show eth0; ip -6 route; wget -qO- http://[{address6}]/; ping -c1 -W3 {gateway6}; nslookup -type=aaaa web6"
    );
    let out = d.ok(&[
        "run",
        "--rm",
        "--network",
        &network,
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    assert!(out.contains(&format!("inet6 {prefix6}")), "{out}");
    assert!(
        out.contains(&format!("default via {gateway6} dev eth0")),
        "{out}"
    );
    assert!(out.contains("net6-v6"), "{out}");
    assert!(out.contains("1 packets received"), "{out}");
    // The embedded DNS answers AAAA with the IPv6 address.
    assert!(out.contains(&format!("Address: {address6}")), "{out}");

    // The host reaches the published port through its IPv6 address on the bridge (DNAT in
    // table ip6), and the subnet is masqueraded on the way out.
    let page = run_text(
        "curl",
        &["-s", "-m", "5", &format!("http://[{gateway6}]:{port}/")],
    );
    assert_eq!(page.trim(), "net6-v6");
    let paths = berth_engine::Paths::new(d.data_root(), d.exec_root());
    let table = berth_engine::network::NetworkOptions::for_paths(&paths).table;
    let rules = run_text("nft", &["list", "table", "ip6", &table]);
    assert!(
        rules.contains(&format!("dnat to [{address6}]:80")),
        "{rules}"
    );
    assert!(
        rules.contains(&format!("ip6 saddr {subnet6} oifname != ")),
        "{rules}"
    );

    d.ok(&["rm", "-f", "web6"]);
    d.ok(&["network", "rm", &network]);
    let out = Command::new("nft")
        .args(["list", "table", "ip6", &table])
        .output()
        .expect("nft");
    assert!(!out.status.success(), "table ip6 {table} is still there");
}

#[test]
fn network_container_mode_shares_the_owners_interfaces_and_localhost() {
    let d = Daemon::start();
    d.ok(&[
        "run",
        "-d",
        "--name",
        "owner",
        "busybox",
        "sh",
        "-c",
        "echo shared > /tmp/index.html && httpd -f -p 127.0.0.1:8099 -h /tmp",
    ]);
    let owner_ip = d.ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "owner"]);
    assert!(!owner_ip.is_empty(), "{}", d.log());
    // The joiner sees the owner's eth0 address and reaches its loopback-only server.
    let seen = d.ok(&[
        "run",
        "--rm",
        "--network",
        "container:owner",
        "busybox",
        "sh",
        "-c",
        "ip -4 -o addr show eth0; \
         for i in $(seq 50); do wget -qO- http://127.0.0.1:8099/ && break; sleep 0.1; done",
    ]);
    assert!(seen.contains(&format!("inet {owner_ip}/")), "{seen}");
    assert!(seen.contains("shared"), "{seen}");
    // Docker's refusals for this mode.
    let out = d.docker(&[
        "run",
        "--rm",
        "--network",
        "container:owner",
        "-p",
        "8100:80",
        "busybox",
        "true",
    ]);
    assert!(!out.status.success(), "{out:?}");
    d.ok(&["rm", "-f", "owner"]);
}
