//! The real `docker` CLI against berthd: what inspect, `ps` and `port` show of a container's
//! network, `--mac-address` (per endpoint), /etc/hosts across connect/disconnect. Each test
//! daemon has its own bridge and nftables table (named from its data root) and removes them
//! when it stops; only loopback and the test's own namespaces are contacted.

mod common;

use std::process::Command;

use common::Daemon;
use common::net::{free_port, run_text, unique_net};

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
    // API < 1.45: the short ID and the hostname are listed as aliases too.
    assert_eq!(
        aliases,
        format!("[\"cache\",\"{}\",\"machost\"]", &id[..12])
    );
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

/// `--mac-address` as API < 1.44 clients send it: container-wide `Config.MacAddress` (the
/// docker 28 CLI itself refuses the flag against any API 1.41 daemon, Docker 20.10's too:
/// "specify mac-address per network requires API version 1.44").
#[test]
fn legacy_container_wide_mac_address_reaches_the_interface() {
    let d = Daemon::start();
    let mac = "02:42:ac:11:00:99";
    create_raw(
        &d,
        "macdefault",
        &serde_json::json!({
            "Image": "busybox", "Cmd": ["sleep", "300"], "MacAddress": mac, "HostConfig": {}
        }),
    );
    d.ok(&["start", "macdefault"]);
    let link = d.ok(&["exec", "macdefault", "ip", "link", "show", "eth0"]);
    assert!(link.contains(&format!("link/ether {mac} ")), "{link}");
    assert_eq!(
        d.ok(&[
            "inspect",
            "-f",
            "{{.NetworkSettings.MacAddress}}",
            "macdefault"
        ]),
        mac
    );

    let (subnet, network) = unique_net(1);
    d.ok(&["network", "create", "--subnet", &subnet, &network]);
    let user_mac = "02:42:ac:11:00:9a";
    create_raw(
        &d,
        "macuser",
        &serde_json::json!({
            "Image": "busybox", "Cmd": ["sleep", "300"], "MacAddress": user_mac,
            "Hostname": "net6host", "HostConfig": {"NetworkMode": network}
        }),
    );
    d.ok(&["start", "macuser"]);
    assert_eq!(
        d.ok(&["exec", "macuser", "cat", "/sys/class/net/eth0/address"]),
        user_mac
    );
    let shown = d.ok(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{network}\").MacAddress}}}}"),
        "macuser",
    ]);
    assert_eq!(shown, user_mac);

    // DNSNames as Docker lists them: name, short ID, hostname; the hostname resolves too.
    let id = d.ok(&["inspect", "-f", "{{.Id}}", "macuser"]);
    let dns_names = d.ok(&[
        "inspect",
        "-f",
        &format!("{{{{json (index .NetworkSettings.Networks \"{network}\").DNSNames}}}}"),
        "macuser",
    ]);
    assert_eq!(
        dns_names,
        format!("[\"macuser\",\"{}\",\"net6host\"]", &id[..12])
    );
    let aliases = d.ok(&[
        "inspect",
        "-f",
        &format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Aliases}}}}"),
        "macuser",
    ]);
    assert_eq!(aliases, format!("[\"{}\",\"net6host\"]", &id[..12]));
    let ip = d.ok(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}"),
        "macuser",
    ]);
    let lookup = d.ok(&[
        "run",
        "--rm",
        "--network",
        &network,
        "busybox",
        "nslookup",
        "net6host",
    ]);
    assert!(lookup.contains(&ip), "{lookup}");
    d.ok(&["rm", "-f", "macdefault", "macuser"]);
    d.ok(&["network", "rm", &network]);
}

/// `berth args` and `docker args` print the same bytes and exit alike.
fn same_as_docker(d: &Daemon, args: &[&str]) -> String {
    let ours = d.berth(args);
    let theirs = d.docker(args);
    let text = |o: &std::process::Output| {
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let ((out, err), (dout, derr)) = (text(&ours), text(&theirs));
    assert_eq!(
        out, dout,
        "stdout of {args:?} (stderr: {err} / docker: {derr})"
    );
    assert_eq!(err, derr, "stderr of {args:?}");
    assert_eq!(
        ours.status.code(),
        theirs.status.code(),
        "exit of {args:?}: {err} / docker: {derr}"
    );
    out
}

#[test]
fn berth_network_commands_print_what_docker_prints() {
    let d = Daemon::start();
    let (subnet, network) = unique_net(2);
    let created = d.berth(&[
        "network", "create", "--subnet", &subnet, "--label", "net6=yes", &network,
    ]);
    assert!(created.status.success(), "{created:?}");
    let id = String::from_utf8_lossy(&created.stdout).trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    assert_eq!(d.ok(&["network", "inspect", "-f", "{{.Id}}", &network]), id);
    let second = format!("{network}-10");
    let third = format!("{network}-9");
    d.ok(&["network", "create", "--internal", &second]);
    d.ok(&["network", "create", &third]);

    let table = same_as_docker(&d, &["network", "ls"]);
    assert!(table.starts_with("NETWORK ID"), "{table}");
    assert!(table.contains(&id[..12]), "{table}");
    // Natural order: -9 before -10.
    let at = |name: &str| table.find(&format!("{name} ")).expect(name);
    assert!(at(&third) < at(&second), "{table}");
    same_as_docker(&d, &["network", "ls", "-q"]);
    same_as_docker(&d, &["network", "ls", "--no-trunc"]);
    same_as_docker(&d, &["network", "ls", "--filter", "label=net6=yes"]);
    same_as_docker(&d, &["network", "ls", "-f", "driver=bridge", "-q"]);
    same_as_docker(
        &d,
        &[
            "network",
            "ls",
            "-f",
            "type=custom",
            "--format",
            "{{.Name}}",
        ],
    );
    same_as_docker(
        &d,
        &[
            "network",
            "ls",
            "--format",
            "table {{.Name}}\t{{.Internal}}\t{{.IPv6}}\t{{.Labels}}",
        ],
    );
    same_as_docker(&d, &["network", "ls", "--format", "json"]);
    same_as_docker(&d, &["network", "inspect", &network, "bridge"]);
    same_as_docker(
        &d,
        &[
            "network",
            "inspect",
            "-f",
            "{{.Name}} {{.Internal}}",
            &second,
        ],
    );
    same_as_docker(&d, &["network", "inspect", "net6-no-such"]);

    // Errors, worded as docker words them (its own checks and the daemon's).
    for args in [
        &["network", "create", &network][..],
        &["network", "create", "--gateway", "10.1.0.1", "net6-x"],
        &[
            "network",
            "create",
            "--subnet",
            "bogus",
            "--gateway",
            "10.1.0.1",
            "net6-x",
        ],
        &[
            "network",
            "create",
            "--subnet",
            "10.1.0.0/16",
            "--gateway",
            "10.2.0.1",
            "net6-x",
        ],
        &[
            "network",
            "create",
            "--subnet",
            "10.1.0.0/16",
            "--subnet",
            "10.2.0.0/16",
            "--ip-range",
            "10.1.1.0/24",
            "--ip-range",
            "10.1.2.0/24",
            "net6-x",
        ],
        &["network", "rm", "net6-no-such"],
        &["network", "connect", &network, "net6-no-such"],
        &["network", "disconnect", "net6-no-such", "net6-no-such"],
        &["network", "ls", "--filter", "bogus=1"],
    ] {
        same_as_docker(&d, args);
    }

    // connect / disconnect and port.
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    d.ok(&[
        "run",
        "-d",
        "--name",
        "portnet6",
        "-p",
        &publish,
        "-p",
        "127.0.0.1::53/udp",
        "busybox",
        "sleep",
        "300",
    ]);
    let out = d.berth(&["network", "connect", "--alias", "svc", &network, "portnet6"]);
    assert!(out.status.success(), "{out:?}");
    let aliases = d.ok(&[
        "inspect",
        "-f",
        &format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Aliases}}}}"),
        "portnet6",
    ]);
    assert!(aliases.contains("\"svc\""), "{aliases}");
    same_as_docker(&d, &["port", "portnet6"]);
    assert_eq!(
        same_as_docker(&d, &["port", "portnet6", "80/tcp"]),
        format!("127.0.0.1:{port}\n")
    );
    same_as_docker(&d, &["port", "portnet6", "53/udp"]);
    same_as_docker(&d, &["port", "portnet6", "81"]);
    // A network in use is not removed.
    same_as_docker(&d, &["network", "rm", &network]);
    let out = d.berth(&["network", "disconnect", &network, "portnet6"]);
    assert!(out.status.success(), "{out:?}");
    let networks = d.ok(&[
        "inspect",
        "-f",
        "{{len .NetworkSettings.Networks}}",
        "portnet6",
    ]);
    assert_eq!(networks, "1");

    // rm prints the names it removed; -f ignores missing ones.
    let out = d.berth(&["network", "rm", &network, "net6-no-such"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{network}\n"));
    assert_eq!(out.status.code(), Some(1));
    let out = d.berth(&["network", "rm", "-f", "net6-no-such"]);
    assert!(out.status.success(), "{out:?}");
    // prune removes the unused custom networks and lists them as docker does (the order of
    // the names is the daemon's, so compare them sorted).
    let prune_output = |out: std::process::Output| {
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        (
            text.starts_with("Deleted Networks:\n") && text.ends_with("\n\n"),
            lines,
        )
    };
    let (theirs_shape, theirs) = prune_output(d.docker(&["network", "prune", "-f"]));
    assert!(theirs_shape, "{theirs:?}");
    assert!(
        theirs.contains(&second) && theirs.contains(&third),
        "{theirs:?}"
    );
    d.ok(&["network", "create", "--internal", &second]);
    d.ok(&["network", "create", &third]);
    let (ours_shape, ours) = prune_output(d.berth(&["network", "prune", "-f"]));
    assert!(ours_shape, "{ours:?}");
    assert_eq!(ours, theirs);
    // Nothing left to prune: both print nothing.
    same_as_docker(&d, &["network", "prune", "-f"]);
    assert_eq!(
        same_as_docker(&d, &["container", "port", "portnet6", "53/udp"]),
        d.ok(&["port", "portnet6", "53/udp"]) + "\n"
    );
    d.ok(&["rm", "-f", "portnet6"]);
}

/// Host interfaces enslaved to `bridge` (the host ends of containers' veths).
fn ports_of_bridge(bridge: &str) -> Vec<String> {
    run_text("ip", &["-o", "link", "show", "master", bridge])
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .collect()
}

/// This daemon's nftables table (empty when there is none).
fn nft_table(d: &Daemon) -> String {
    let paths = berth_engine::Paths::new(d.data_root(), d.exec_root());
    let table = berth_engine::network::NetworkOptions::for_paths(&paths).table;
    run_text("nft", &["list", "table", "ip", &table])
}

#[test]
fn kill_9_restart_and_rm_leave_no_veth_rule_address_or_name_behind() {
    berth_testutil::require_program("nft");
    let d = Daemon::start();
    let (subnet, network) = unique_net(3);
    let id = d.ok(&["network", "create", "--subnet", &subnet, &network]);
    let bridge = format!("br-{}", &id[..12]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    d.ok(&[
        "run",
        "-d",
        "--name",
        "k9web",
        "--network",
        &network,
        "-p",
        &publish,
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
    ]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "k9peer",
        "--network",
        &network,
        "busybox",
        "sleep",
        "300",
    ]);
    let web_ip = d.ok(&[
        "inspect",
        "-f",
        &format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}"),
        "k9web",
    ]);
    assert_eq!(ports_of_bridge(&bridge).len(), 2, "two veths on {bridge}");
    let rules = nft_table(&d);
    assert!(rules.contains(&format!("dport {port}")), "{rules}");
    assert!(rules.contains(&web_ip), "{rules}");
    let lookup = d.ok(&["exec", "k9peer", "nslookup", "k9web"]);
    assert!(lookup.contains(&web_ip), "{lookup}");

    // SIGKILL: no teardown runs; the containers outlive the daemon.
    let berthd: Vec<i32> = common::pids_mentioning(&d.socket());
    assert_eq!(berthd.len(), 1, "berthd's pid: {berthd:?}");
    common::signal(berthd[0], rustix::process::Signal::KILL);
    let d = d.restart_with(|_| {});
    // Restored: the published port still answers from loopback.
    let page = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .expect("curl");
    let code = String::from_utf8_lossy(&page.stdout).into_owned();
    assert!(code == "404" || code == "200", "after restart: {code}");

    d.ok(&["rm", "-f", "k9web", "k9peer"]);
    // The veths go with the container's namespace, which the kernel reaps in the background.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ports_of_bridge(&bridge).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        ports_of_bridge(&bridge).is_empty(),
        "veths left on {bridge}: {:?}",
        ports_of_bridge(&bridge)
    );
    // Host ends are named vb<container><network>: none for this network remains anywhere.
    let leftover: Vec<String> = run_text("ip", &["-o", "link", "show"])
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .filter(|name| name.starts_with("vb") && name.contains(&id[..6]))
        .map(str::to_owned)
        .collect();
    assert!(leftover.is_empty(), "{leftover:?}");
    let rules = nft_table(&d);
    assert!(!rules.contains(&format!("dport {port}")), "{rules}");
    assert!(!rules.contains(&web_ip), "{rules}");
    // The name is gone from DNS and the address is free again.
    let lookup = d.docker(&[
        "run",
        "--rm",
        "--network",
        &network,
        "busybox",
        "nslookup",
        "k9web",
    ]);
    assert!(
        !String::from_utf8_lossy(&lookup.stdout).contains(&web_ip),
        "{lookup:?}"
    );
    d.ok(&[
        "run",
        "--rm",
        "--network",
        &network,
        "--ip",
        &web_ip,
        "busybox",
        "true",
    ]);
    d.ok(&["network", "rm", &network]);
    assert!(
        run_text("ip", &["-o", "link", "show", &bridge]).is_empty(),
        "{bridge} removed with its network"
    );
}

/// The fixture's Drop removes the bridges and the nftables table of a daemon that was
/// SIGKILLed with containers running (no teardown of its own ran).
#[test]
fn fixture_leaves_no_bridge_or_table_after_sigkill() {
    let d = Daemon::start();
    let (subnet, network) = unique_net(4);
    let id = d.ok(&["network", "create", "--subnet", &subnet, &network]);
    let user_bridge = format!("br-{}", &id[..12]);
    d.ok(&[
        "run",
        "-d",
        "--network",
        &network,
        "busybox",
        "sleep",
        "300",
    ]);
    d.ok(&[
        "run",
        "-d",
        "-p",
        "127.0.0.1::80",
        "busybox",
        "sleep",
        "300",
    ]);
    let paths = berth_engine::Paths::new(d.data_root(), d.exec_root());
    let options = berth_engine::network::NetworkOptions::for_paths(&paths);
    let link_exists = |name: &str| !run_text("ip", &["-o", "link", "show", name]).is_empty();
    assert!(link_exists(&options.default_bridge));
    assert!(link_exists(&user_bridge));
    assert!(!nft_table(&d).is_empty());
    let networks = [
        id.clone(),
        d.ok(&["network", "inspect", "-f", "{{.Id}}", "bridge"]),
    ];
    let berthd = common::pids_mentioning(&d.socket());
    assert_eq!(berthd.len(), 1, "berthd's pid: {berthd:?}");
    common::signal(berthd[0], rustix::process::Signal::KILL);
    drop(d);
    // No host end of a veth of either network is left (the kernel reaps them shortly after
    // the containers' namespaces go).
    let veths = || -> Vec<String> {
        run_text("ip", &["-o", "link", "show"])
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .filter(|n| n.starts_with("vb") && networks.iter().any(|id| n.contains(&id[..6])))
            .map(str::to_owned)
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !veths().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(veths().is_empty(), "{:?}", veths());
    assert!(
        !link_exists(&options.default_bridge),
        "{}",
        options.default_bridge
    );
    assert!(!link_exists(&user_bridge), "{user_bridge}");
    let tables = run_text("nft", &["list", "tables"]);
    assert!(!tables.contains(&options.table), "{tables}");
}
