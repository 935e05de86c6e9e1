//! IPAM: allocation order, explicit requests, release, persistence and no double allocation.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use berth_net::Subnet;
use berth_net::ipam::{Ipam, IpamError, PoolConfig};
use proptest::prelude::*;

fn config(subnet: &str, gateway: Option<Ipv4Addr>, range: Option<&str>) -> PoolConfig {
    PoolConfig {
        subnet: subnet.parse().unwrap(),
        gateway,
        ip_range: range.map(|r| r.parse().unwrap()),
    }
}

#[test]
fn allocates_first_free_skips_gateway_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ipam.json");
    let mut ipam = Ipam::open(&path).unwrap();
    let pool = ipam
        .add_network("web", &config("172.30.5.0/24", None, None))
        .unwrap();
    assert_eq!(pool.gateway, Ipv4Addr::new(172, 30, 5, 1));
    let a = ipam.allocate("web", "ctr-a", None).unwrap();
    let b = ipam.allocate("web", "ctr-b", None).unwrap();
    assert_eq!(
        (a, b),
        (Ipv4Addr::new(172, 30, 5, 2), Ipv4Addr::new(172, 30, 5, 3))
    );
    let explicit = Ipv4Addr::new(172, 30, 5, 200);
    assert_eq!(
        ipam.allocate("web", "ctr-c", Some(explicit)).unwrap(),
        explicit
    );
    assert!(matches!(
        ipam.allocate("web", "ctr-d", Some(explicit)),
        Err(IpamError::AddressInUse { ref owner, .. }) if owner == "ctr-c"
    ));
    for bad in [
        Ipv4Addr::new(172, 30, 5, 1),
        Ipv4Addr::new(172, 30, 5, 255),
        Ipv4Addr::new(10, 0, 0, 1),
    ] {
        assert!(matches!(
            ipam.allocate("web", "x", Some(bad)),
            Err(IpamError::AddressNotAssignable { .. })
        ));
    }
    assert!(ipam.release("web", a).unwrap());
    assert!(!ipam.release("web", a).unwrap());
    drop(ipam);

    // A restart sees the same allocations; the freed first address is handed out again.
    let mut ipam = Ipam::open(&path).unwrap();
    assert_eq!(ipam.pool("web").unwrap().allocated.len(), 2);
    assert_eq!(ipam.allocate("web", "ctr-e", None).unwrap(), a);
    assert_eq!(ipam.release_owner("web", "ctr-c").unwrap(), 1);
    assert!(matches!(
        ipam.allocate("nope", "x", None),
        Err(IpamError::UnknownNetwork { .. })
    ));
    assert!(ipam.remove_network("web").unwrap());
    assert!(!ipam.remove_network("web").unwrap());
    assert!(Ipam::open(&path).unwrap().pool("web").is_none());
}

#[test]
fn ranges_gateways_overlaps_and_exhaustion() {
    let dir = tempfile::tempdir().unwrap();
    let mut ipam = Ipam::open(dir.path().join("state/ipam.json")).unwrap();
    ipam.add_network(
        "small",
        &config(
            "172.30.6.0/29",
            Some(Ipv4Addr::new(172, 30, 6, 6)),
            Some("172.30.6.4/30"),
        ),
    )
    .unwrap();
    // Range .4-.7: .4 and .5 are free, .6 is the gateway, .7 is the subnet broadcast.
    assert_eq!(
        ipam.allocate("small", "a", None).unwrap(),
        Ipv4Addr::new(172, 30, 6, 4)
    );
    assert_eq!(
        ipam.allocate("small", "b", None).unwrap(),
        Ipv4Addr::new(172, 30, 6, 5)
    );
    assert!(matches!(
        ipam.allocate("small", "c", None),
        Err(IpamError::Exhausted { .. })
    ));
    // An explicit address outside the range but inside the subnet is allowed (like Docker).
    assert_eq!(
        ipam.allocate("small", "c", Some(Ipv4Addr::new(172, 30, 6, 2)))
            .unwrap(),
        Ipv4Addr::new(172, 30, 6, 2)
    );
    assert!(matches!(
        ipam.add_network("over", &config("172.30.0.0/16", None, None)),
        Err(IpamError::Overlap { .. })
    ));
    assert!(matches!(
        ipam.add_network(
            "gw",
            &config("172.30.7.0/24", Some(Ipv4Addr::new(172, 30, 8, 1)), None)
        ),
        Err(IpamError::GatewayOutsideSubnet { .. })
    ));
    assert!(matches!(
        ipam.add_network("rng", &config("172.30.7.0/24", None, Some("172.30.8.0/28"))),
        Err(IpamError::RangeOutsideSubnet { .. })
    ));
    assert!(matches!(
        ipam.add_network("small", &config("172.30.9.0/24", None, None)),
        Err(IpamError::NetworkExists { .. })
    ));
}

#[test]
fn corrupt_state_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ipam.json");
    std::fs::write(&path, b"{not json").unwrap();
    let err = Ipam::open(&path).unwrap_err();
    assert!(err.to_string().contains("ipam.json"), "{err}");
}

#[derive(Debug, Clone)]
enum Op {
    Allocate(Option<u8>),
    Release(u8),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::option::of(0u8..16).prop_map(Op::Allocate),
        2 => (0u8..16).prop_map(Op::Release),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn never_hands_out_an_address_twice(ops in proptest::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ipam.json");
        let subnet: Subnet = "172.30.10.0/28".parse().unwrap();
        let mut ipam = Ipam::open(&path).unwrap();
        ipam.add_network("n", &config("172.30.10.0/28", None, None)).unwrap();
        let mut model: BTreeMap<Ipv4Addr, usize> = BTreeMap::new();
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Allocate(host) => {
                    let requested = host.map(|h| Ipv4Addr::new(172, 30, 10, h));
                    match ipam.allocate("n", &format!("c{step}"), requested) {
                        Ok(address) => {
                            prop_assert!(subnet.contains(address));
                            prop_assert!(address != Ipv4Addr::new(172, 30, 10, 1));
                            prop_assert!(model.insert(address, step).is_none(), "{address} twice");
                        }
                        Err(IpamError::Exhausted { .. }) => prop_assert_eq!(model.len(), 13),
                        Err(IpamError::AddressInUse { address, .. }) => {
                            prop_assert!(model.contains_key(&address))
                        }
                        Err(IpamError::AddressNotAssignable { .. }) => {
                            prop_assert!(matches!(host, Some(0 | 1 | 15)))
                        }
                        Err(other) => prop_assert!(false, "unexpected {other}"),
                    }
                }
                Op::Release(host) => {
                    let address = Ipv4Addr::new(172, 30, 10, host);
                    prop_assert_eq!(ipam.release("n", address).unwrap(), model.remove(&address).is_some());
                }
                Op::Reopen => ipam = Ipam::open(&path).unwrap(),
            }
            let held: Vec<_> = ipam.pool("n").unwrap().allocated.keys().copied().collect();
            prop_assert_eq!(held, model.keys().copied().collect::<Vec<_>>());
        }
    }
}
