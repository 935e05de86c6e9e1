//! Renders the complete nftables table for a [`FirewallState`]. The whole table is replaced
//! atomically on every change, so there are no rule handles to track.

use std::fmt::Write;

use super::state::{FirewallState, NetworkRule, PortMapping};

/// An `nft -f` script that replaces `table ip <table>` with the rules for `state`.
pub(crate) fn replace_table_script(table: &str, state: &FirewallState) -> String {
    let mut s = String::new();
    // Creating the table first makes the delete succeed whether or not it existed.
    let _ = writeln!(s, "table ip {table} {{}}");
    let _ = writeln!(s, "delete table ip {table}");
    let _ = writeln!(s, "table ip {table} {{");
    render_dnat_chains(&mut s, state);
    render_postrouting(&mut s, state);
    render_forward(&mut s, state);
    s.push_str("}\n");
    super::render6::replace_table6(&mut s, table, state);
    s
}

/// An `nft -f` script that removes the tables (`ip` and `ip6`) if they exist.
pub(crate) fn delete_table_script(table: &str) -> String {
    format!(
        "table ip {table} {{}}\ndelete table ip {table}\ntable ip6 {table} {{}}\ndelete table ip6 {table}\n"
    )
}

fn render_dnat_chains(s: &mut String, state: &FirewallState) {
    // Only packets addressed to this host are candidates for port publishing (Docker's
    // `-m addrtype --dst-type LOCAL`); the output hook covers the host's own clients,
    // including 127.0.0.1.
    s.push_str(
        "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n",
    );
    s.push_str("    fib daddr type local jump published\n  }\n");
    s.push_str("  chain output {\n    type nat hook output priority -100; policy accept;\n");
    s.push_str("    fib daddr type local jump published\n  }\n");
    s.push_str("  chain published {\n");
    for mapping in state.ports.values().flatten() {
        if state
            .networks
            .get(&mapping.network)
            .is_some_and(|network| !network.internal)
        {
            render_mapping(s, mapping);
        }
    }
    s.push_str("  }\n");
}

fn render_mapping(s: &mut String, m: &PortMapping) {
    for offset in 0..m.count {
        let (Some(host_port), Some(container_port)) = (
            m.host_port.checked_add(offset),
            m.container_port.checked_add(offset),
        ) else {
            break;
        };
        s.push_str("    ");
        if let Some(host_ip) = m.host_ip {
            let _ = write!(s, "ip daddr {host_ip} ");
        }
        let _ = writeln!(
            s,
            "{proto} dport {host_port} dnat to {ip}:{container_port}",
            proto = m.protocol.as_str(),
            ip = m.container_ip,
        );
    }
}

fn render_postrouting(s: &mut String, state: &FirewallState) {
    s.push_str(
        "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n",
    );
    for NetworkRule {
        bridge,
        subnet,
        internal,
        ..
    } in state.networks.values()
    {
        if *internal {
            continue;
        }
        // Outbound traffic leaving through any other interface takes the host's address.
        let _ = writeln!(
            s,
            "    ip saddr {subnet} oifname != \"{bridge}\" masquerade"
        );
        // Hairpin: a container reaching a published port of its own network via a host
        // address must see replies come back from the host, not straight from the peer.
        let _ = writeln!(
            s,
            "    oifname \"{bridge}\" ip saddr {subnet} ct status dnat masquerade"
        );
        // DNAT from the host's loopback (route_localnet=1 on the bridge lets it route):
        // the container cannot answer 127.0.0.1, so the source becomes the gateway.
        let _ = writeln!(
            s,
            "    oifname \"{bridge}\" ip saddr 127.0.0.0/8 masquerade"
        );
    }
    s.push_str("  }\n");
}

pub(super) fn render_forward(s: &mut String, state: &FirewallState) {
    s.push_str("  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
    let bridges: Vec<&str> = state.networks.values().map(|n| n.bridge.as_str()).collect();
    for network in state.networks.values() {
        let bridge = &network.bridge;
        if network.internal {
            // Internal networks talk only among themselves.
            let _ = writeln!(s, "    iifname \"{bridge}\" oifname != \"{bridge}\" drop");
            let _ = writeln!(s, "    oifname \"{bridge}\" iifname != \"{bridge}\" drop");
            continue;
        }
        // Isolation: nothing is forwarded from one Berth bridge to another.
        let others: Vec<String> = bridges
            .iter()
            .filter(|other| **other != bridge)
            .map(|other| format!("\"{other}\""))
            .collect();
        if !others.is_empty() {
            let _ = writeln!(
                s,
                "    iifname \"{bridge}\" oifname {{ {} }} drop",
                others.join(", ")
            );
        }
    }
    s.push_str("  }\n");
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::firewall::{NetworkRule, PortMapping, Protocol};

    fn state() -> FirewallState {
        let mut state = FirewallState::default();
        for (name, bridge, subnet, internal) in [
            ("front", "br-front", "172.30.1.0/24", false),
            ("back", "br-back", "172.30.2.0/24", false),
            ("db", "br-db", "172.30.3.0/24", true),
        ] {
            let rule = NetworkRule {
                bridge: bridge.into(),
                subnet: subnet.parse().unwrap(),
                internal,
                ipv6: None,
            };
            state.networks.insert(name.into(), rule);
        }
        let web = PortMapping {
            network: "front".into(),
            protocol: Protocol::Tcp,
            host_ip: None,
            host_port: 8080,
            container_ip: Ipv4Addr::new(172, 30, 1, 2),
            container_port: 80,
            count: 1,
        };
        let dns = PortMapping {
            protocol: Protocol::Udp,
            host_ip: Some(Ipv4Addr::new(127, 0, 0, 1)),
            host_port: 5300,
            container_port: 53,
            count: 2,
            ..web.clone()
        };
        // Ports on an internal network are never published.
        let hidden = PortMapping {
            network: "db".into(),
            container_ip: Ipv4Addr::new(172, 30, 3, 2),
            host_port: 5432,
            container_port: 5432,
            ..web.clone()
        };
        state.ports.insert("web".into(), vec![web, dns]);
        state.ports.insert("db".into(), vec![hidden]);
        state
    }

    #[test]
    fn golden_table() {
        let rendered = replace_table_script("berth", &state());
        let expected = include_str!("testdata/three_networks.nft");
        assert_eq!(rendered, expected, "rendered:\n{rendered}");
    }

    #[test]
    fn ipv6_networks_get_an_ip6_table() {
        let mut state = state();
        let front = state.networks.get_mut("front").unwrap();
        front.ipv6 = Some(crate::firewall::Ipv6Net {
            subnet: "fd00:6:1::/64".parse().unwrap(),
            gateway: "fd00:6:1::1".parse().unwrap(),
        });
        let rendered = replace_table_script("berth", &state);
        let ip6 = rendered
            .split("table ip6 berth {\n")
            .nth(1)
            .expect("an ip6 table");
        for line in [
            "ip6 daddr != ::1 fib daddr type local jump published",
            // 172.30.1.2 is host 2 of its IPv4 subnet, so host 2 of the IPv6 one.
            "tcp dport 8080 dnat to [fd00:6:1::2]:80",
            "ip6 saddr fd00:6:1::/64 oifname != \"br-front\" masquerade",
            "iifname \"br-db\" oifname != \"br-db\" drop",
        ] {
            assert!(ip6.contains(line), "{line} missing in:\n{ip6}");
        }
        // The 127.0.0.1-bound mapping stays IPv4 only.
        assert!(!ip6.contains("5300"), "{ip6}");
    }

    #[test]
    fn delete_script_is_idempotent_form() {
        assert_eq!(
            delete_table_script("t"),
            "table ip t {}\ndelete table ip t\ntable ip6 t {}\ndelete table ip6 t\n"
        );
    }
}
