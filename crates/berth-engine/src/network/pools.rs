//! Picking a subnet for a network created without `--subnet`, from Docker's default pools,
//! skipping any that overlap a route on the host or another of our networks.

use std::net::Ipv4Addr;

use berth_net::Subnet;

/// Docker's defaults: 172.17-31.0.0/16, then 192.168.0-240.0/20.
fn candidates() -> impl Iterator<Item = Subnet> {
    let wide = (17..=31).filter_map(|b| Subnet::new(Ipv4Addr::new(172, b, 0, 0), 16));
    let narrow = (0..16).filter_map(|i| Subnet::new(Ipv4Addr::new(192, 168, i * 16, 0), 20));
    wide.chain(narrow)
}

/// The host's IPv4 routes (connected subnets included) from `/proc/net/route`; the default
/// route is left out (it overlaps everything).
pub fn host_routes() -> Vec<Subnet> {
    std::fs::read_to_string("/proc/net/route")
        .map(|text| parse_routes(&text))
        .unwrap_or_default()
}

fn parse_routes(text: &str) -> Vec<Subnet> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let destination = u32::from_str_radix(fields.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(fields.get(7)?, 16).ok()?;
            // The file prints both in host byte order of a little-endian machine.
            let destination = Ipv4Addr::from(u32::from_be(destination.to_le()));
            let prefix_len = u32::from_be(mask.to_le()).leading_ones() as u8;
            (prefix_len > 0).then(|| Subnet::new(destination, prefix_len))?
        })
        .collect()
}

/// The first default-pool subnet overlapping none of `taken`.
pub fn first_free(taken: &[Subnet]) -> Option<Subnet> {
    candidates().find(|candidate| !taken.iter().any(|t| t.overlaps(candidate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_taken_pools_in_docker_order() {
        let s = |text: &str| text.parse::<Subnet>().unwrap();
        assert_eq!(first_free(&[]), Some(s("172.17.0.0/16")));
        assert_eq!(
            first_free(&[s("172.17.0.0/16"), s("172.18.5.0/24")]),
            Some(s("172.19.0.0/16"))
        );
        let all_wide: Vec<Subnet> = vec![s("172.16.0.0/12")];
        assert_eq!(first_free(&all_wide), Some(s("192.168.0.0/20")));
    }

    #[test]
    fn parses_proc_net_route() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t0102000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                    docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        let routes: Vec<String> = parse_routes(text).iter().map(ToString::to_string).collect();
        assert_eq!(routes, ["10.0.2.0/24", "172.17.0.0/16"]);
    }
}
