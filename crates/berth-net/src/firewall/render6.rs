//! The IPv6 half of Berth's rules: `table ip6 <table>` with masquerade, port publishing and
//! isolation for networks that have an IPv6 subnet. The table exists only while one does.

use std::fmt::Write;

use super::state::{FirewallState, PortMapping};

/// Removes `table ip6 <table>` if it exists, then (when a network has IPv6) adds it anew.
pub(crate) fn replace_table6(s: &mut String, table: &str, state: &FirewallState) {
    let _ = writeln!(s, "table ip6 {table} {{}}");
    let _ = writeln!(s, "delete table ip6 {table}");
    if !state.networks.values().any(|n| n.ipv6.is_some()) {
        return;
    }
    let _ = writeln!(s, "table ip6 {table} {{");
    s.push_str(
        "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n",
    );
    s.push_str("    fib daddr type local jump published\n  }\n");
    // ::1 cannot be routed to a bridge (IPv6 has no route_localnet): loopback clients use
    // the IPv4 path.
    s.push_str("  chain output {\n    type nat hook output priority -100; policy accept;\n");
    s.push_str("    ip6 daddr != ::1 fib daddr type local jump published\n  }\n");
    s.push_str("  chain published {\n");
    for mapping in state.ports.values().flatten() {
        render_mapping6(s, state, mapping);
    }
    s.push_str("  }\n");
    s.push_str(
        "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n",
    );
    for rule in state.networks.values().filter(|n| !n.internal) {
        let (Some(v6), bridge) = (rule.ipv6, &rule.bridge) else {
            continue;
        };
        let subnet = v6.subnet;
        let _ = writeln!(
            s,
            "    ip6 saddr {subnet} oifname != \"{bridge}\" masquerade"
        );
        let _ = writeln!(
            s,
            "    oifname \"{bridge}\" ip6 saddr {subnet} ct status dnat masquerade"
        );
    }
    s.push_str("  }\n");
    // Isolation and `--internal` are per bridge, the same rules for both families.
    super::render::render_forward(s, state);
    s.push_str("}\n");
}

fn render_mapping6(s: &mut String, state: &FirewallState, m: &PortMapping) {
    // Mappings bound to one IPv4 host address are IPv4 only.
    if m.host_ip.is_some() {
        return;
    }
    let Some(rule) = state.networks.get(&m.network).filter(|n| !n.internal) else {
        return;
    };
    let Some(target) = rule
        .ipv6
        .and_then(|v6| v6.address_for(&rule.subnet, m.container_ip))
    else {
        return;
    };
    for offset in 0..m.count {
        let (Some(host_port), Some(container_port)) = (
            m.host_port.checked_add(offset),
            m.container_port.checked_add(offset),
        ) else {
            break;
        };
        let _ = writeln!(
            s,
            "    {proto} dport {host_port} dnat to [{target}]:{container_port}",
            proto = m.protocol.as_str(),
        );
    }
}
