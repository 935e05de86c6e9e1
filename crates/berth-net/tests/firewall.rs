//! nftables NAT, port publishing, isolation and internal networks with real traffic between
//! test namespaces, the host's loopback and an "outside" namespace.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use berth_net::firewall::{Firewall, FirewallConfig, NetworkRule, PortMapping, Protocol};
use common::*;

fn firewall(dir: &tempfile::TempDir) -> (Firewall, TableGuard) {
    berth_testutil::require_root();
    berth_testutil::require_program("nft");
    require_forwarding_not_dropped_elsewhere();
    let mut config = FirewallConfig::new(dir.path());
    config.table = test_table();
    let guard = TableGuard(config.table.clone());
    (Firewall::open(config).unwrap(), guard)
}

fn rule(bridge: &TestBridge, internal: bool) -> NetworkRule {
    NetworkRule {
        bridge: bridge.name.clone(),
        subnet: bridge.subnet(),
        internal,
        ipv6: None,
    }
}

const SHORT: Duration = Duration::from_millis(800);

#[test]
fn published_ports_reach_the_container_from_loopback_outside_and_hairpin() {
    let dir = tempfile::tempdir().unwrap();
    let (mut fw, table) = firewall(&dir);
    let mut net = TestBridge::new(21);
    let c1 = net.add_container(2);
    let c2 = net.add_container(3);
    let outside = OutsideHost::new(Ipv4Addr::new(172, 31, 21, 1), Ipv4Addr::new(172, 31, 21, 2));
    let c1_ip = Ipv4Addr::new(172, 30, 21, 2);
    tcp_server_in(
        &net.containers[c1].handle,
        SocketAddr::from((c1_ip, 8080)),
        b"web",
    );
    udp_echo_server_in(&net.containers[c1].handle, SocketAddr::from((c1_ip, 5353)));
    tcp_peer_server_in(
        &outside.netns.handle,
        SocketAddr::from(([172, 31, 21, 2], 9000)),
    );

    fw.add_network("front", rule(&net, false)).unwrap();
    let (tcp_port, udp_port) = (38080, 38053);
    let tcp = PortMapping {
        network: "front".into(),
        protocol: Protocol::Tcp,
        host_ip: None,
        host_port: tcp_port,
        container_ip: c1_ip,
        container_port: 8080,
        count: 1,
    };
    let udp = PortMapping {
        protocol: Protocol::Udp,
        host_port: udp_port,
        container_port: 5353,
        ..tcp.clone()
    };
    fw.publish("c1", vec![tcp, udp]).unwrap();
    assert!(table.exists());

    let loopback = SocketAddr::from(([127, 0, 0, 1], tcp_port));
    assert_eq!(tcp_fetch(None, loopback).unwrap(), b"web");
    let from_outside = SocketAddr::from(([172, 31, 21, 1], tcp_port));
    assert_eq!(
        tcp_fetch(Some(&outside.netns.handle), from_outside).unwrap(),
        b"web"
    );
    // Hairpin: containers on the network (the publisher itself and a neighbour) use the
    // host's address too.
    assert_eq!(
        tcp_fetch(Some(&net.containers[c1].handle), from_outside).unwrap(),
        b"web"
    );
    assert_eq!(
        tcp_fetch(Some(&net.containers[c2].handle), from_outside).unwrap(),
        b"web"
    );
    // UDP from loopback and from outside.
    let udp_loop = SocketAddr::from(([127, 0, 0, 1], udp_port));
    assert_eq!(udp_ask(None, udp_loop, b"hi").unwrap(), b"echo:hi");
    let udp_out = SocketAddr::from(([172, 31, 21, 1], udp_port));
    assert_eq!(
        udp_ask(Some(&outside.netns.handle), udp_out, b"yo").unwrap(),
        b"echo:yo"
    );
    // Masquerade: the outside host sees the host's address, not the container's.
    let seen = tcp_fetch(
        Some(&net.containers[c1].handle),
        SocketAddr::from(([172, 31, 21, 2], 9000)),
    );
    assert_eq!(String::from_utf8(seen.unwrap()).unwrap(), "172.31.21.1");

    // A host-IP-bound mapping answers only on that address.
    let bound = PortMapping {
        network: "front".into(),
        protocol: Protocol::Tcp,
        host_ip: Some(Ipv4Addr::new(172, 31, 21, 1)),
        host_port: 38081,
        container_ip: c1_ip,
        container_port: 8080,
        count: 1,
    };
    fw.publish("c1", vec![bound]).unwrap();
    let bound_addr = SocketAddr::from(([172, 31, 21, 1], 38081));
    assert_eq!(
        tcp_fetch(Some(&outside.netns.handle), bound_addr).unwrap(),
        b"web"
    );
    assert!(tcp_fetch_within(None, SocketAddr::from(([127, 0, 0, 1], 38081)), SHORT).is_err());
    // Replacing c1's mappings removed the earlier ones.
    assert!(tcp_fetch_within(None, loopback, SHORT).is_err());

    assert!(fw.unpublish("c1").unwrap());
    assert!(tcp_fetch_within(Some(&outside.netns.handle), bound_addr, SHORT).is_err());

    // After a "crash", a new Firewall from the saved state removes exactly our table.
    drop(fw);
    let mut config = FirewallConfig::new(dir.path());
    config.table = table.0.clone();
    let mut reopened = Firewall::open(config).unwrap();
    assert!(reopened.state().networks.contains_key("front"));
    assert_eq!(reopened.state().route_localnet, vec![net.name.clone()]);
    reopened.teardown_all().unwrap();
    assert!(!table.exists());
    reopened.teardown_all().unwrap(); // idempotent
    let localnet = format!("/proc/sys/net/ipv4/conf/{}/route_localnet", net.name);
    assert_eq!(std::fs::read_to_string(localnet).unwrap().trim(), "0");
}

#[test]
fn port_ranges_map_one_to_one() {
    let dir = tempfile::tempdir().unwrap();
    let (mut fw, _table) = firewall(&dir);
    let mut net = TestBridge::new(25);
    let c = net.add_container(2);
    let ip = Ipv4Addr::new(172, 30, 25, 2);
    tcp_server_in(
        &net.containers[c].handle,
        SocketAddr::from((ip, 7000)),
        b"seven-0",
    );
    tcp_server_in(
        &net.containers[c].handle,
        SocketAddr::from((ip, 7001)),
        b"seven-1",
    );
    fw.add_network("ranges", rule(&net, false)).unwrap();
    let mapping = PortMapping {
        network: "ranges".into(),
        protocol: Protocol::Tcp,
        host_ip: None,
        host_port: 39000,
        container_ip: ip,
        container_port: 7000,
        count: 2,
    };
    fw.publish("c", vec![mapping.clone()]).unwrap();
    assert_eq!(
        tcp_fetch(None, SocketAddr::from(([127, 0, 0, 1], 39000))).unwrap(),
        b"seven-0"
    );
    assert_eq!(
        tcp_fetch(None, SocketAddr::from(([127, 0, 0, 1], 39001))).unwrap(),
        b"seven-1"
    );
    let overflow = PortMapping {
        host_port: 65535,
        ..mapping.clone()
    };
    assert!(fw.publish("d", vec![overflow]).is_err());
    // The same host port cannot be published twice (by another owner or within one call);
    // another protocol or a disjoint host address can.
    let clash = PortMapping {
        host_port: 39001,
        container_port: 9,
        count: 1,
        ..mapping.clone()
    };
    assert!(matches!(
        fw.publish("other", vec![clash.clone()]),
        Err(berth_net::firewall::FirewallError::PortInUse { ref owner, .. }) if owner == "c"
    ));
    assert!(
        fw.publish("other", vec![clash.clone(), clash.clone()])
            .is_err()
    );
    let udp = PortMapping {
        protocol: Protocol::Udp,
        ..clash.clone()
    };
    fw.publish("other", vec![udp]).unwrap();
    // Re-publishing one's own ports (a replacement) is not a clash.
    fw.publish("c", vec![mapping.clone()]).unwrap();
    let unknown = PortMapping {
        network: "nope".into(),
        ..mapping
    };
    assert!(fw.publish("d", vec![unknown]).is_err());
    // Teardown removes exactly our table: a neighbouring table survives.
    let other = TableGuard(test_table());
    run(&["nft", "add", "table", "ip", &other.0]);
    fw.teardown_all().unwrap();
    assert!(other.exists());
}

#[test]
fn bridges_are_isolated_from_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let (mut fw, _table) = firewall(&dir);
    let mut a = TestBridge::new(22);
    let mut b = TestBridge::new(23);
    let ca = a.add_container(2);
    let cb = b.add_container(2);
    let server_b = tcp_server_in(
        &b.containers[cb].handle,
        SocketAddr::from(([172, 30, 23, 2], 80)),
        b"b",
    );
    let server_a = tcp_server_in(
        &a.containers[ca].handle,
        SocketAddr::from(([172, 30, 22, 2], 80)),
        b"a",
    );
    // Without Berth's rules the host routes between the bridges.
    assert_eq!(
        tcp_fetch(Some(&a.containers[ca].handle), server_b).unwrap(),
        b"b"
    );

    fw.add_network("a", rule(&a, false)).unwrap();
    fw.add_network("b", rule(&b, false)).unwrap();
    assert!(tcp_fetch_within(Some(&a.containers[ca].handle), server_b, SHORT).is_err());
    assert!(tcp_fetch_within(Some(&b.containers[cb].handle), server_a, SHORT).is_err());
    // The host itself still reaches both.
    assert_eq!(tcp_fetch(None, server_a).unwrap(), b"a");

    assert!(fw.remove_network("b").unwrap());
    assert!(!fw.remove_network("b").unwrap());
    assert_eq!(
        tcp_fetch(Some(&a.containers[ca].handle), server_b).unwrap(),
        b"b"
    );
    fw.teardown_all().unwrap();
}

#[test]
fn internal_network_has_no_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let (mut fw, _table) = firewall(&dir);
    let mut internal = TestBridge::new(24);
    let mut open = TestBridge::new(26);
    let ci = internal.add_container(2);
    let co = open.add_container(2);
    let outside = OutsideHost::new(Ipv4Addr::new(172, 31, 24, 1), Ipv4Addr::new(172, 31, 24, 2));
    let server = tcp_peer_server_in(
        &outside.netns.handle,
        SocketAddr::from(([172, 31, 24, 2], 9000)),
    );
    fw.add_network("internal", rule(&internal, true)).unwrap();
    fw.add_network("open", rule(&open, false)).unwrap();

    // Even with a default route inside, nothing leaves the internal bridge.
    assert!(tcp_fetch_within(Some(&internal.containers[ci].handle), server, SHORT).is_err());
    let seen = tcp_fetch(Some(&open.containers[co].handle), server).unwrap();
    assert_eq!(String::from_utf8(seen).unwrap(), "172.31.24.1");
    // And nothing comes in: the outside cannot reach the internal container's address.
    let inner = tcp_server_in(
        &internal.containers[ci].handle,
        SocketAddr::from(([172, 30, 24, 2], 80)),
        b"x",
    );
    assert!(tcp_fetch_within(Some(&outside.netns.handle), inner, SHORT).is_err());
    assert!(!fw.state().route_localnet.contains(&internal.name));
    fw.teardown_all().unwrap();
}
