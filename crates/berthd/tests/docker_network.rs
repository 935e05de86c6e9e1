//! The real `docker` CLI against berthd: what inspect, `ps` and `port` show of a container's
//! network, `--mac-address` (per endpoint), /etc/hosts across connect/disconnect. Each test
//! daemon has its own bridge and nftables table (named from its data root) and removes them
//! when it stops; only loopback and the test's own namespaces are contacted.

mod common;

use std::net::TcpListener;
use std::process::Command;

use common::Daemon;

/// A host port nobody holds right now.
fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind a probe");
    probe.local_addr().expect("probe address").port()
}

/// `02:42` + the IPv4 address's bytes, as Docker (≤ 25) derives a container's MAC.
fn docker_mac(ip: &str) -> String {
    let bytes: Vec<u8> = ip.split('.').map(|b| b.parse().expect("octet")).collect();
    assert_eq!(bytes.len(), 4, "{ip}");
    format!(
        "02:42:{:02x}:{:02x}:{:02x}:{:02x}",
        bytes[0], bytes[1], bytes[2], bytes[3]
    )
}

#[test]
fn inspect_ps_and_port_show_the_default_bridge_endpoint() {
    let d = Daemon::start();
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    d.ok(&[
        "run", "-d", "--name", "web", "-p", &publish, "--expose", "443", "busybox", "sleep", "300",
    ]);

    let top = d.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.IPPrefixLen}} {{.NetworkSettings.MacAddress}} {{.NetworkSettings.EndpointID}}",
        "web",
    ]);
    let fields: Vec<&str> = top.split(' ').collect();
    assert_eq!(fields.len(), 5, "{top}");
    let per_network = d.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.bridge.IPAddress}} {{.NetworkSettings.Networks.bridge.Gateway}} {{.NetworkSettings.Networks.bridge.IPPrefixLen}} {{.NetworkSettings.Networks.bridge.MacAddress}} {{.NetworkSettings.Networks.bridge.EndpointID}}",
        "web",
    ]);
    assert_eq!(
        top, per_network,
        "top-level fields mirror the bridge endpoint"
    );
    assert!(fields[0].parse::<std::net::Ipv4Addr>().is_ok(), "{top}");
    assert_eq!(fields[3], docker_mac(fields[0]), "{top}");
    assert_eq!(fields[4].len(), 64, "{top}");
    // The MAC is the interface's own.
    let inside = d.ok(&["exec", "web", "cat", "/sys/class/net/eth0/address"]);
    assert_eq!(inside, fields[3]);
    let sandbox_key = d.ok(&["inspect", "-f", "{{.NetworkSettings.SandboxKey}}", "web"]);
    assert!(std::path::Path::new(&sandbox_key).exists(), "{sandbox_key}");

    let ports = d.ok(&["inspect", "-f", "{{json .NetworkSettings.Ports}}", "web"]);
    let ports: serde_json::Value = serde_json::from_str(&ports).expect("ports json");
    assert_eq!(
        ports["80/tcp"],
        serde_json::json!([{"HostIp": "127.0.0.1", "HostPort": port.to_string()}])
    );
    assert!(ports["443/tcp"].is_null(), "{ports}");
    assert!(
        ports.as_object().unwrap().contains_key("443/tcp"),
        "{ports}"
    );

    assert_eq!(
        d.ok(&["port", "web"]),
        format!("80/tcp -> 127.0.0.1:{port}")
    );
    assert_eq!(d.ok(&["port", "web", "80"]), format!("127.0.0.1:{port}"));
    let ps = d.ok(&["ps", "--format", "{{.Ports}}|{{.Networks}}"]);
    // The CLI orders the entries itself (unpublished ones first).
    assert_eq!(
        ps,
        format!("443/tcp, 127.0.0.1:{port}->80/tcp|bridge"),
        "docker ps"
    );

    // Not on the default bridge: the top-level fields are empty, as Docker's.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "alone",
        "--network",
        "none",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "[{{.NetworkSettings.IPAddress}}][{{.NetworkSettings.MacAddress}}]",
            "alone"
        ]),
        "[][]"
    );
    d.ok(&["rm", "-f", "web", "alone"]);
}

/// `POST /containers/create` with a body of our own (the docker CLI sends a per-endpoint MAC
/// only with API ≥ 1.44).
fn create_raw(d: &Daemon, name: &str, body: &serde_json::Value) -> String {
    berth_testutil::require_program("curl");
    let out = Command::new("curl")
        .args(["-sS", "--fail-with-body", "--unix-socket"])
        .arg(d.socket())
        .args(["-H", "Content-Type: application/json", "-d"])
        .arg(body.to_string())
        .arg(format!("http://berth/v1.41/containers/create?name={name}"))
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "create {name}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).expect("create reply");
    created["Id"].as_str().expect("Id").to_string()
}

#[test]
fn mac_address_per_endpoint_and_hosts_follow_connect_and_disconnect() {
    let d = Daemon::start();
    let mac = "02:42:0a:dd:ee:01";
    create_raw(
        &d,
        "mac",
        &serde_json::json!({
            "Image": "busybox",
            "Cmd": ["sleep", "300"],
            "Hostname": "machost",
            "NetworkingConfig": {"EndpointsConfig": {"bridge": {"MacAddress": mac}}}
        }),
    );
    d.ok(&["start", "mac"]);
    assert_eq!(
        d.ok(&["exec", "mac", "cat", "/sys/class/net/eth0/address"]),
        mac
    );
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.NetworkSettings.MacAddress}}", "mac"]),
        mac
    );

    // A user network, connected while the container runs: /etc/hosts gains the new address
    // for the hostname, and loses it again on disconnect.
    let k = std::process::id() % 250;
    let subnet = format!("10.216.{k}.0/24");
    let network = format!("netfix-hosts-{}", std::process::id());
    d.ok(&["network", "create", "--subnet", &subnet, &network]);
    d.ok(&["network", "connect", "--alias", "cache", &network, "mac"]);
    let ip = d.ok(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}"),
        "mac",
    ]);
    assert!(ip.starts_with(&format!("10.216.{k}.")), "{ip}");
    let hosts = d.ok(&["exec", "mac", "cat", "/etc/hosts"]);
    assert!(
        hosts.lines().any(|l| l == format!("{ip}\tmachost")),
        "{hosts}"
    );
    let bridge_ip = d.ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "mac"]);
    assert!(
        hosts.lines().any(|l| l == format!("{bridge_ip}\tmachost")),
        "{hosts}"
    );
    let dns_names = d.ok(&[
        "inspect",
        "-f",
        &format!("{{{{json (index .NetworkSettings.Networks \"{network}\").DNSNames}}}}"),
        "mac",
    ]);
    assert!(dns_names.contains("\"cache\""), "{dns_names}");
    let aliases = d.ok(&[
        "inspect",
        "-f",
        &format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Aliases}}}}"),
        "mac",
    ]);
    let id = d.ok(&["inspect", "-f", "{{.Id}}", "mac"]);
    assert_eq!(aliases, format!("[\"cache\",\"{}\"]", &id[..12]));
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{json .NetworkSettings.Networks.bridge.Aliases}}",
            "mac"
        ]),
        "null"
    );

    d.ok(&["network", "disconnect", &network, "mac"]);
    let hosts = d.ok(&["exec", "mac", "cat", "/etc/hosts"]);
    assert!(!hosts.contains(&ip), "{hosts}");
    assert!(
        hosts.lines().any(|l| l == format!("{bridge_ip}\tmachost")),
        "{hosts}"
    );
    d.ok(&["rm", "-f", "mac"]);
    d.ok(&["network", "rm", &network]);
}
