//! Bridges and veth pairs over rtnetlink, proved with real traffic between test namespaces.

mod common;

use std::net::{Ipv4Addr, SocketAddr};

use berth_net::link::{self, ContainerLink, Netlink, mac_from_ipv4};
use common::{LinkGuard, TestNetns, tcp_fetch, tcp_server_in, unique};

fn attach(bridge: &str, netns: &TestNetns, host_if: &str, ip: Ipv4Addr, gw: Ipv4Addr) {
    link::attach_container(&ContainerLink {
        bridge,
        host_ifname: host_if,
        container_ifname: "eth0",
        netns: &netns.handle,
        address: ip,
        prefix_len: 24,
        gateway: Some(gw),
        mac: None,
        ipv6: None,
    })
    .unwrap();
}

#[test]
fn two_containers_on_one_bridge_talk_and_see_their_gateway() {
    let bridge = unique("bt");
    let _bridge_guard = LinkGuard(bridge.clone());
    let gw = Ipv4Addr::new(172, 30, 11, 1);
    link::ensure_bridge(&bridge, gw, 24).unwrap();
    // Idempotent: a second call on an existing, configured bridge succeeds.
    link::ensure_bridge(&bridge, gw, 24).unwrap();

    let (a, b) = (TestNetns::new(), TestNetns::new());
    let (veth_a, veth_b) = (unique("vt"), unique("vt"));
    let _guards = (LinkGuard(veth_a.clone()), LinkGuard(veth_b.clone()));
    let (ip_a, ip_b) = (Ipv4Addr::new(172, 30, 11, 2), Ipv4Addr::new(172, 30, 11, 3));
    attach(&bridge, &a, &veth_a, ip_a, gw);
    attach(&bridge, &b, &veth_b, ip_b, gw);

    // Inside: eth0 exists with the derived MAC and address; the host end is not in there.
    let mut inside = Netlink::open_in(&a.handle).unwrap();
    assert!(inside.link_index("eth0").unwrap().is_some());
    assert!(inside.link_index(&veth_a).unwrap().is_none());
    let shown = std::process::Command::new("ip")
        .args(["-n", &a.name, "addr", "show", "eth0"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("link/ether 02:42:ac:1e:0b:02"), "{shown}");
    assert!(shown.contains("inet 172.30.11.2/24"), "{shown}");
    assert_eq!(mac_from_ipv4(ip_a), [0x02, 0x42, 172, 30, 11, 2]);

    let hairpin = format!("/sys/class/net/{veth_a}/brport/hairpin_mode");
    assert_eq!(std::fs::read_to_string(hairpin).unwrap().trim(), "1");

    let server = tcp_server_in(&b.handle, SocketAddr::from((ip_b, 7001)), b"hello from b");
    assert_eq!(tcp_fetch(Some(&a.handle), server).unwrap(), b"hello from b");
    // The host reaches the container through the bridge address.
    assert_eq!(tcp_fetch(None, server).unwrap(), b"hello from b");
    // The default route goes via the gateway: the bridge address answers from inside.
    let host_server = tcp_server_in_host(gw);
    assert_eq!(tcp_fetch(Some(&a.handle), host_server).unwrap(), b"host");

    assert!(link::detach_container(&veth_a).unwrap());
    assert!(
        !link::detach_container(&veth_a).unwrap(),
        "second delete is a no-op"
    );
    assert!(link::delete_bridge(&bridge).unwrap());
    assert!(!link::delete_bridge(&bridge).unwrap());
}

fn tcp_server_in_host(ip: Ipv4Addr) -> SocketAddr {
    use std::io::Write;
    let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(b"host");
        }
    });
    addr
}

#[test]
fn errors_name_the_interface_and_errno() {
    let mut netlink = Netlink::open().unwrap();
    let missing = unique("nx");
    let err = netlink.set_up(&missing).unwrap_err();
    assert_eq!(err.errno(), Some(19));
    assert!(err.to_string().contains(&missing), "{err}");
    let bridge = unique("bt");
    let _guard = LinkGuard(bridge.clone());
    netlink.create_bridge(&bridge).unwrap();
    let err = netlink.create_bridge(&bridge).unwrap_err();
    assert_eq!(err.errno(), Some(17), "{err}");
    assert!(err.to_string().contains(&bridge), "{err}");
    assert!(netlink.set_up("bad/name").is_err());
    assert_eq!(
        netlink.link_kind(&bridge).unwrap(),
        Some(Some("bridge".into()))
    );
    // A veth that happens to carry the bridge's name is refused, not reused.
    let (veth, peer) = (unique("vt"), unique("vt"));
    let _veths = (LinkGuard(veth.clone()), LinkGuard(peer.clone()));
    netlink.create_veth(&veth, &peer, None).unwrap();
    let err = link::ensure_bridge(&veth, Ipv4Addr::new(172, 30, 12, 1), 24).unwrap_err();
    assert!(
        matches!(err, link::LinkError::NotABridge { ref kind, .. } if kind == "veth"),
        "{err}"
    );
}
