//! The network service for real (root): namespaces, veths, bridges, nftables, embedded DNS.
//! Each test has its own nftables table and bridge names (see fixtures::options) and talks
//! only to loopback and its own namespaces.

mod fixtures;
mod joined;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Instant;

use bollard_stubs::models::{EndpointIpamConfig, EndpointSettings, NetworkingConfig, PortBinding};

use berth_engine::network::NetError;
use fixtures::*;

fn address_on(service: &berth_engine::network::NetworkService, id: &str, network: &str) -> String {
    let settings = service.settings(id).expect("settings");
    settings.networks.expect("networks")[network]
        .ip_address
        .clone()
        .expect("address")
}

fn host_links_of(container_id: &str) -> Vec<String> {
    let out = std::process::Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .expect("ip link");
    let prefix = format!("vb{}", &container_id[..7]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split(':')
                .nth(1)
                .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
        })
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

/// The container's host-side veths once the kernel has finished removing its namespace
/// (the pairs go with it, in the background): empty unless something was left behind.
fn host_links_after_teardown(container_id: &str) -> Vec<String> {
    let deadline = Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let links = host_links_of(container_id);
        if links.is_empty() || Instant::now() > deadline {
            return links;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn containers_on_a_user_network_reach_each_other_by_name() {
    let net = TestNet::new();
    let (subnet, _) = unique_subnet();
    let network = net.create(&unique("usernet"), &subnet, false);

    let mut a = Spec::new(&network.name);
    a.endpoints = Some(NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            network.name.clone(),
            EndpointSettings {
                aliases: Some(vec!["db".to_string()]),
                ..Default::default()
            },
        )])),
    });
    let b = Spec::new(&network.name);
    let att_a = net.service.attach(&a.request()).expect("attach a");
    let att_b = net.service.attach(&b.request()).expect("attach b");
    assert!(
        att_b.resolv_conf.contains("nameserver 127.0.0.11"),
        "{}",
        att_b.resolv_conf
    );
    let ip_a = address_on(&net.service, &a.id, &network.name);
    let ip_b = address_on(&net.service, &b.id, &network.name);
    assert!(
        att_a.hosts.contains(&format!("{ip_a}\t{}", &a.id[..12])),
        "{}",
        att_a.hosts
    );

    // b resolves a by name, alias and short ID through its /etc/resolv.conf, and pings it.
    for name in [a.name.as_str(), "db", &a.id[..12]] {
        let out = run_as(&att_b, &["/bin/busybox", "nslookup", name]);
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains(&ip_a),
            "resolving {name}: {}",
            text(&out)
        );
    }
    let out = run_as(
        &att_b,
        &["/bin/busybox", "ping", "-c", "1", "-W", "3", &ip_a],
    );
    assert!(out.status.success(), "ping a: {}", text(&out));
    let out = run_as(
        &att_a,
        &["/bin/busybox", "ping", "-c", "1", "-W", "3", &ip_b],
    );
    assert!(out.status.success(), "ping b: {}", text(&out));

    // Removing the network is refused while containers are attached.
    let busy = net.service.remove(&network.name).unwrap_err();
    assert!(matches!(busy, NetError::ActiveEndpoints { .. }), "{busy}");

    // a leaves: its name disappears at once, and nothing of it is left on the host.
    net.service.detach(&a.id).expect("detach a");
    let out = run_as(&att_b, &["/bin/busybox", "nslookup", &a.name]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(&ip_a),
        "{}",
        text(&out)
    );
    assert!(
        host_links_after_teardown(&a.id).is_empty(),
        "veth left: {:?}",
        host_links_of(&a.id)
    );
    assert!(
        !att_a.netns_path.as_ref().unwrap().exists(),
        "netns file left"
    );
    net.service.detach(&a.id).expect("detach is idempotent");

    net.service.detach(&b.id).expect("detach b");
    net.service.remove(&network.name).expect("remove network");
    let bridge = network.bridge.as_ref().unwrap().device.clone();
    assert!(!link_exists(&bridge), "bridge {bridge} left");
}

#[test]
fn published_ports_answer_on_loopback_and_from_outside() {
    let net = TestNet::new();
    let outside = Outside::new(net.dir.path());
    let mut web = Spec::new("bridge");
    web.config.exposed_ports = Some(vec!["80/tcp".to_string()]);
    // A port found free can be taken by a test running alongside before the attach binds
    // it; then the attach says PortAllocated, and another free port is tried.
    let mut tries = 0;
    let (host_port, attachment) = loop {
        let host_port = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        web.host.port_bindings = Some(HashMap::from([(
            "80/tcp".to_string(),
            Some(vec![PortBinding {
                host_ip: Some(String::new()),
                host_port: Some(host_port.to_string()),
            }]),
        )]));
        match net.service.attach(&web.request()) {
            Ok(attachment) => break (host_port, attachment),
            Err(NetError::PortAllocated { .. }) if tries < 5 => tries += 1,
            Err(error) => panic!("attach web: {error}"),
        }
    };
    // The default bridge: the host's resolvers, no embedded DNS.
    assert!(
        !attachment.resolv_conf.contains("127.0.0.11"),
        "{}",
        attachment.resolv_conf
    );
    let netns = attachment.netns_path.clone().unwrap();
    let _httpd = Httpd::start(&netns, 80, "hello from berth");

    let local = http_get(None, SocketAddr::from((Ipv4Addr::LOCALHOST, host_port)))
        .expect("fetch via 127.0.0.1");
    assert!(local.contains("hello from berth"), "{local}");
    let remote = http_get(
        Some(&outside.netns),
        SocketAddr::from((outside.host_address, host_port)),
    )
    .expect("fetch from the outside namespace");
    assert!(remote.contains("hello from berth"), "{remote}");

    let settings = net.service.settings(&web.id).unwrap();
    let bindings = settings.ports.unwrap()["80/tcp"].clone().unwrap();
    assert_eq!(
        bindings[0].host_port.as_deref(),
        Some(host_port.to_string().as_str())
    );

    // The same host port for another container: a clear error, and nothing left behind.
    let mut clash = Spec::new("bridge");
    clash.host.port_bindings = web.host.port_bindings.clone();
    let error = net.service.attach(&clash.request()).unwrap_err();
    assert!(
        error.to_string().contains("port is already allocated"),
        "{error}"
    );
    assert!(net.service.settings(&clash.id).is_none());
    assert!(host_links_after_teardown(&clash.id).is_empty());
    // A host program cannot take the port from under the running container either.
    let taken = TcpListener::bind(("0.0.0.0", host_port)).unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse, "{taken}");
    assert!(TcpListener::bind(("127.0.0.1", host_port)).is_err());

    // Stop: the rule is gone, the port no longer answers.
    let table = net.service.options().table.clone();
    assert!(nft_table(&table).contains(&host_port.to_string()));
    net.service.detach(&web.id).expect("detach");
    assert!(
        !nft_table(&table).contains(&host_port.to_string()),
        "{}",
        nft_table(&table)
    );
    assert!(http_get(None, SocketAddr::from((Ipv4Addr::LOCALHOST, host_port))).is_err());
    assert!(!netns.exists());
    // And the port is the host's again.
    TcpListener::bind(("0.0.0.0", host_port)).expect("the port is free after the stop");
}

#[test]
fn internal_networks_have_no_way_out() {
    let net = TestNet::new();
    let outside = Outside::new(net.dir.path());
    let (subnet, _) = unique_subnet();
    let internal = net.create(&unique("internal"), &subnet, true);
    let spec = Spec::new(&internal.name);
    let attachment = net.service.attach(&spec.request()).expect("attach");
    let netns = attachment.netns_path.clone().unwrap();
    let routes = run_in(&netns, &[], &["ip", "route", "show"]);
    assert!(
        !String::from_utf8_lossy(&routes.stdout).contains("default"),
        "{}",
        text(&routes)
    );
    let _server = Httpd::start(outside.netns.path(), 8080, "outside");
    let handle = berth_net::link::NetnsHandle::open(&netns).unwrap();
    let reached = http_get(
        Some(&handle),
        SocketAddr::from((outside.host_address, 8080)),
    );
    assert!(
        reached.is_err(),
        "an internal container reached the outside: {reached:?}"
    );
    net.service.detach(&spec.id).unwrap();
}

#[test]
fn requested_ip_none_and_host_modes() {
    let net = TestNet::new();
    let (subnet, k) = unique_subnet();
    let network = net.create(&unique("fixed"), &subnet, false);
    let mut fixed = Spec::new(&network.name);
    let wanted = format!("10.213.{k}.77");
    fixed.endpoints = Some(NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            network.name.clone(),
            EndpointSettings {
                ipam_config: Some(EndpointIpamConfig {
                    ipv4_address: Some(wanted.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )])),
    });
    net.service
        .attach(&fixed.request())
        .expect("attach with --ip");
    assert_eq!(address_on(&net.service, &fixed.id, &network.name), wanted);

    let none = Spec::new("none");
    let attachment = net.service.attach(&none.request()).expect("attach none");
    let links = run_in(
        attachment.netns_path.as_ref().unwrap(),
        &[],
        &["ip", "-o", "link"],
    );
    let listed = String::from_utf8_lossy(&links.stdout).into_owned();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.contains("lo:") && listed.contains("UP"), "{listed}");

    let host = Spec::new("host");
    let attachment = net.service.attach(&host.request()).expect("attach host");
    assert_eq!(attachment.netns_path, None);
    assert!(
        net.service
            .settings(&host.id)
            .unwrap()
            .networks
            .unwrap()
            .contains_key("host")
    );
    for id in [&fixed.id, &none.id, &host.id] {
        net.service.detach(id).unwrap();
    }
}

#[test]
fn restart_keeps_running_containers_and_cleans_up_the_rest() {
    let mut net = TestNet::new();
    let (subnet, _) = unique_subnet();
    let network = net.create(&unique("restart"), &subnet, false);
    let keep = Spec::new(&network.name);
    let gone = Spec::new(&network.name);
    let kept = net.service.attach(&keep.request()).unwrap();
    let lost = net.service.attach(&gone.request()).unwrap();
    let ip_gone = address_on(&net.service, &gone.id, &network.name);

    net.reopen();
    net.service.restore(&[(keep.id.clone(), 1)]);
    assert!(net.service.settings(&gone.id).is_none());
    assert!(!lost.netns_path.unwrap().exists());
    assert!(host_links_after_teardown(&gone.id).is_empty());
    // The kept container's resolver is back and answers its own name.
    let out = run_as(&kept, &["/bin/busybox", "nslookup", &keep.name]);
    assert!(out.status.success(), "{}", text(&out));
    // The address of the cleaned-up container is free again.
    let mut again = Spec::new(&network.name);
    again.endpoints = Some(NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            network.name.clone(),
            EndpointSettings {
                ipam_config: Some(EndpointIpamConfig {
                    ipv4_address: Some(ip_gone.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )])),
    });
    net.service
        .attach(&again.request())
        .expect("reuse the released address");
    net.service.detach(&again.id).unwrap();
    net.service.detach(&keep.id).unwrap();
}

#[test]
fn attach_and_detach_latency() {
    let net = TestNet::new();
    let rounds = 10;
    let mut total = std::time::Duration::ZERO;
    let mut worst = std::time::Duration::ZERO;
    for _ in 0..rounds {
        let spec = Spec::new("bridge");
        let start = Instant::now();
        let attachment = net.service.attach(&spec.request()).expect("attach");
        let attached = start.elapsed();
        net.service.detach(&spec.id).expect("detach");
        let took = start.elapsed();
        eprintln!("attach {attached:?} detach {:?}", took - attached);
        total += took;
        worst = worst.max(took);
        assert!(!attachment.netns_path.unwrap().exists());
    }
    eprintln!(
        "attach+detach on the default bridge: mean {:?}, worst {:?} over {rounds} rounds",
        total / rounds,
        worst
    );
}

/// A process in a namespace of its own, standing for a running container; killed on drop.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn connect_and_disconnect_a_running_container() {
    let net = TestNet::new();
    let (subnet, _) = unique_subnet();
    let network = net.create(&unique("live"), &subnet, false);
    let peer = Spec::new(&network.name);
    let peer_attachment = net.service.attach(&peer.request()).expect("attach peer");

    let running = Running(
        std::process::Command::new("unshare")
            .args(["--net", "/bin/busybox", "sleep", "60"])
            .spawn()
            .expect("start a process in a new netns"),
    );
    let id = berth_engine::containers::names::new_id();
    let name = unique("live-");
    let netns = std::path::PathBuf::from(format!("/proc/{}/ns/net", running.0.id()));
    // unshare creates the namespace before exec; wait until the process is in it.
    let host_ns = std::fs::read_link("/proc/self/ns/net").unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    while std::fs::read_link(&netns).ok().as_ref() == Some(&host_ns) {
        assert!(
            Instant::now() < deadline,
            "the process never left the host netns"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let settings = EndpointSettings {
        aliases: Some(vec!["cache".to_string()]),
        ..Default::default()
    };
    let record = net
        .service
        .connect(&id, &name, &netns, &network.name, Some(&settings))
        .expect("connect");
    assert_eq!(record.id, network.id);
    assert_eq!(net.service.networks_of(&id)[0].id, network.id);
    let ip = address_on(&net.service, &id, &network.name);
    let out = run_as(&peer_attachment, &["/bin/busybox", "nslookup", "cache"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&ip),
        "{}",
        text(&out)
    );
    let out = run_as(
        &peer_attachment,
        &["/bin/busybox", "ping", "-c", "1", "-W", "3", &ip],
    );
    assert!(out.status.success(), "{}", text(&out));
    let again = net.service.connect(&id, &name, &netns, &network.name, None);
    assert!(
        matches!(again, Err(NetError::AlreadyAttached { .. })),
        "{again:?}"
    );

    net.service
        .disconnect(&id, &network.name)
        .expect("disconnect");
    assert!(host_links_of(&id).is_empty());
    let settings = net.service.settings(&id).unwrap();
    assert!(settings.networks.unwrap().is_empty());
    let out = run_as(
        &peer_attachment,
        &["/bin/busybox", "ping", "-c", "1", "-W", "1", &ip],
    );
    assert!(!out.status.success(), "still reachable: {}", text(&out));
    // The namespace was the process' own: detach must not touch it.
    net.service.detach(&id).expect("detach");
    assert!(netns.exists());
    net.service.detach(&peer.id).unwrap();
    drop(running);
}

#[test]
fn a_container_started_again_at_once_keeps_its_new_veth() {
    let net = TestNet::new();
    let spec = Spec::new("bridge");
    net.service.attach(&spec.request()).expect("first attach");
    net.service.detach(&spec.id).expect("detach");
    // Same container, same host-side name, while the kernel may still be removing the old
    // pair; then past the reaper's grace period, which must leave the new pair alone.
    let again = net.service.attach(&spec.request()).expect("attach again");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(host_links_of(&spec.id).len(), 1, "the new pair was reaped");
    let gateway = net.service.settings(&spec.id).unwrap().networks.unwrap()["bridge"]
        .gateway
        .clone()
        .unwrap();
    let out = run_as(
        &again,
        &["/bin/busybox", "ping", "-c", "1", "-W", "3", &gateway],
    );
    assert!(out.status.success(), "{}", text(&out));
    net.service.detach(&spec.id).expect("detach again");
    assert!(host_links_after_teardown(&spec.id).is_empty());
}

#[test]
fn a_second_network_adds_no_default_route_until_the_first_leaves() {
    let net = TestNet::new();
    let (subnet, k) = unique_subnet();
    let network = net.create(&unique("second"), &subnet, false);
    let spec = Spec::new("bridge");
    let attachment = net.service.attach(&spec.request()).expect("attach");
    let netns = attachment.netns_path.clone().unwrap();
    net.service
        .connect(&spec.id, &spec.name, &netns, &network.name, None)
        .expect("connect a second network");
    let routes = |label: &str| {
        let out = run_in(&netns, &[], &["ip", "route", "show", "default"]);
        assert!(out.status.success(), "{label}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let bridge_gateway = net.service.settings(&spec.id).unwrap().networks.unwrap()["bridge"]
        .gateway
        .clone()
        .unwrap();
    let before = routes("before");
    assert_eq!(before.lines().count(), 1, "{before}");
    assert!(
        before.contains(&format!("via {bridge_gateway} dev eth0")),
        "{before}"
    );

    net.service
        .disconnect(&spec.id, "bridge")
        .expect("disconnect the default bridge");
    let after = routes("after");
    assert!(
        after.contains(&format!("via 10.213.{k}.1 dev eth1")),
        "the second network took the route over: {after}"
    );
    net.service.detach(&spec.id).unwrap();
}
