//! The daemon-facing `Networks`: create a network, connect containers, find each other by
//! name through the embedded resolver, talk, disconnect, remove.

mod common;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use berth_net::dns::{self, DnsServer, EMBEDDED_RESOLVER, ServerConfig};
use berth_net::link::Netlink;
use berth_net::network::{EndpointSpec, NetworkSpec, Networks};
use common::*;
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, RecordType};

fn resolve(netns: &TestNetns, name: &str) -> Vec<Ipv4Addr> {
    let mut message = Message::new(7, MessageType::Query, OpCode::Query);
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    let bytes = message.to_vec().unwrap();
    let reply = netns
        .handle
        .run(move || -> std::io::Result<Vec<u8>> {
            let socket = UdpSocket::bind(("127.0.0.1", 0))?;
            socket.set_read_timeout(Some(Duration::from_secs(3)))?;
            socket.send_to(&bytes, (EMBEDDED_RESOLVER, 53))?;
            let mut buf = [0u8; 1500];
            let len = socket.recv(&mut buf)?;
            Ok(buf[..len].to_vec())
        })
        .unwrap()
        .unwrap();
    Message::from_vec(&reply)
        .unwrap()
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(A(ip)) => Some(*ip),
            _ => None,
        })
        .collect()
}

#[test]
fn create_connect_resolve_talk_disconnect_remove() {
    berth_testutil::require_root();
    let dir = tempfile::tempdir().unwrap();
    let table = TableGuard(test_table());
    let (bridge, internal_bridge) = (unique("bt"), unique("bt"));
    let _bridges = (
        LinkGuard(bridge.clone()),
        LinkGuard(internal_bridge.clone()),
    );
    let (veth_web, veth_db, veth_int) = (unique("vt"), unique("vt"), unique("vt"));
    let _veths = (
        LinkGuard(veth_web.clone()),
        LinkGuard(veth_db.clone()),
        LinkGuard(veth_int.clone()),
    );
    let (web, db) = (TestNetns::new(), TestNetns::new());

    let mut networks = Networks::open(dir.path(), &table.0).unwrap();
    let pool = networks
        .create(&NetworkSpec {
            name: "app".into(),
            bridge: bridge.clone(),
            subnet: "172.30.50.0/24".parse().unwrap(),
            gateway: None,
            ip_range: None,
            internal: false,
            ipv6: None,
        })
        .unwrap();
    assert_eq!(pool.gateway, Ipv4Addr::new(172, 30, 50, 1));
    assert!(table.exists());

    let web_names = vec!["web".to_string()];
    let web_ep = networks
        .connect(
            "app",
            &EndpointSpec {
                container: "c-web",
                netns: &web.handle,
                host_ifname: &veth_web,
                ifname: "eth0",
                requested_ip: None,
                names: &web_names,
                mac: None,
                default_route: true,
            },
        )
        .unwrap();
    let db_names = vec!["db".to_string(), "database".to_string()];
    let db_ep = networks
        .connect(
            "app",
            &EndpointSpec {
                container: "c-db",
                netns: &db.handle,
                host_ifname: &veth_db,
                ifname: "eth0",
                requested_ip: Some(Ipv4Addr::new(172, 30, 50, 77)),
                names: &db_names,
                mac: None,
                default_route: true,
            },
        )
        .unwrap();
    assert_eq!(web_ep.address, Ipv4Addr::new(172, 30, 50, 2));
    assert_eq!(web_ep.gateway, Some(pool.gateway));
    assert_eq!(db_ep.address, Ipv4Addr::new(172, 30, 50, 77));

    let socket =
        dns::bind_in_netns(&web.handle, SocketAddr::from((EMBEDDED_RESOLVER, 53))).unwrap();
    let _resolver = DnsServer::spawn(
        socket,
        ServerConfig {
            networks: vec!["app".into()],
            records: networks.dns_records().clone(),
            upstreams: Vec::new(),
            upstream_timeout: Duration::from_secs(1),
        },
    )
    .unwrap();
    assert_eq!(resolve(&web, "database."), vec![db_ep.address]);
    let found = resolve(&web, "db.")[0];
    tcp_server_in(&db.handle, SocketAddr::from((db_ep.address, 5432)), b"pg");
    assert_eq!(
        tcp_fetch(Some(&web.handle), SocketAddr::from((found, 5432))).unwrap(),
        b"pg"
    );

    networks.disconnect(&db_ep).unwrap();
    networks.disconnect(&db_ep).unwrap(); // idempotent
    assert!(resolve(&web, "db.").is_empty());
    assert!(
        Netlink::open()
            .unwrap()
            .link_index(&veth_db)
            .unwrap()
            .is_none()
    );
    assert_eq!(networks.pool("app").unwrap().allocated.len(), 1);

    // An internal network's endpoint gets no default route.
    networks
        .create(&NetworkSpec {
            name: "private".into(),
            bridge: internal_bridge.clone(),
            subnet: "172.30.51.0/24".parse().unwrap(),
            gateway: None,
            ip_range: None,
            internal: true,
            ipv6: None,
        })
        .unwrap();
    let private = networks
        .connect(
            "private",
            &EndpointSpec {
                container: "c-db",
                netns: &db.handle,
                host_ifname: &veth_int,
                ifname: "eth1",
                requested_ip: None,
                names: &db_names,
                mac: None,
                default_route: true,
            },
        )
        .unwrap();
    assert_eq!(private.gateway, None);
    let routes = std::process::Command::new("ip")
        .args(["-n", &db.name, "route", "show", "default"])
        .output()
        .unwrap();
    assert!(
        routes.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&routes.stdout)
    );
    // Names on "private" are not visible to a resolver scoped to "app".
    assert!(resolve(&web, "database.").is_empty());

    assert!(matches!(
        networks.remove("app"),
        Err(berth_net::network::NetworkError::InUse { .. })
    ));
    networks.disconnect(&private).unwrap();
    networks.disconnect(&web_ep).unwrap();
    // A "host reboot": the kernel loses bridge and table, the state files survive.
    drop(networks);
    run(&["ip", "link", "delete", &internal_bridge]);
    run(&["nft", "delete", "table", "ip", &table.0]);
    let mut networks = Networks::open(dir.path(), &table.0).unwrap();
    networks.restore().unwrap();
    assert!(table.exists());
    assert!(
        Netlink::open()
            .unwrap()
            .link_index(&internal_bridge)
            .unwrap()
            .is_some()
    );

    networks.remove("private").unwrap();
    networks.remove("app").unwrap();
    assert!(networks.remove("app").is_err());
    assert!(
        Netlink::open()
            .unwrap()
            .link_index(&bridge)
            .unwrap()
            .is_none()
    );
    networks.firewall().teardown_all().unwrap();
    assert!(!table.exists());
}
