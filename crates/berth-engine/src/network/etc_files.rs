//! The container's `/etc/hosts` and `/etc/resolv.conf`, by Docker's rules: the embedded
//! resolver (127.0.0.11) on user-defined networks; elsewhere the host's resolvers minus
//! loopback ones (which a container cannot reach), falling back to public DNS as Docker does.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use berth_net::dns::EMBEDDED_RESOLVER;
use berth_net::files::{self, DnsOverrides, HostsSpec, ResolvConf, ResolverMode};
use bollard_stubs::models::{ContainerConfig, HostConfig};

use super::NetError;

/// Docker's fallback when the host has only loopback resolvers.
const FALLBACK_DNS: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
    IpAddr::V4(Ipv4Addr::new(8, 8, 4, 4)),
];

pub fn host_resolv_conf(path: &Path) -> ResolvConf {
    ResolvConf::parse(&std::fs::read_to_string(path).unwrap_or_default())
}

fn parse_ips(field: &'static str, values: &[String]) -> Result<Vec<IpAddr>, NetError> {
    values
        .iter()
        .map(|v| {
            v.parse().map_err(|_| NetError::Invalid {
                field,
                value: v.clone(),
                why: "not an IP address".to_string(),
            })
        })
        .collect()
}

/// `--add-host name:ip` (also `name=ip`); `host-gateway` is the first network's gateway.
fn extra_hosts(
    host: &HostConfig,
    gateway: Option<Ipv4Addr>,
) -> Result<Vec<(String, IpAddr)>, NetError> {
    let mut out = Vec::new();
    for entry in host.extra_hosts.iter().flatten() {
        let invalid = |why: &str| NetError::Invalid {
            field: "extra host",
            value: entry.clone(),
            why: why.to_string(),
        };
        let (name, ip) = entry
            .split_once([':', '='])
            .ok_or_else(|| invalid("expected name:ip"))?;
        let ip = match ip {
            "host-gateway" => {
                IpAddr::V4(gateway.ok_or_else(|| invalid("no gateway on this network"))?)
            }
            ip => ip
                .trim_matches(['[', ']'])
                .parse()
                .map_err(|_| invalid("not an IP address"))?,
        };
        out.push((name.to_string(), ip));
    }
    Ok(out)
}

pub struct Inputs<'a> {
    pub hostname: &'a str,
    pub config: &'a ContainerConfig,
    pub host: &'a HostConfig,
    pub addresses: &'a [IpAddr],
    pub gateway: Option<Ipv4Addr>,
    pub embedded_dns: bool,
    pub host_resolv: &'a ResolvConf,
}

pub fn hosts(inputs: &Inputs<'_>) -> Result<String, NetError> {
    let extra = extra_hosts(inputs.host, inputs.gateway)?;
    let extra: Vec<(&str, IpAddr)> = extra.iter().map(|(n, ip)| (n.as_str(), *ip)).collect();
    files::hosts_file(&HostsSpec {
        hostname: inputs.hostname,
        domainname: inputs.config.domainname.as_deref(),
        addresses: inputs.addresses,
        extra_hosts: &extra,
    })
    .map_err(|source| NetError::File {
        file: "/etc/hosts",
        source,
    })
}

pub fn resolv_conf(inputs: &Inputs<'_>) -> Result<String, NetError> {
    let servers = parse_ips("dns", inputs.host.dns.as_deref().unwrap_or_default())?;
    let overrides = DnsOverrides {
        servers: &servers,
        search: inputs.host.dns_search.as_deref().unwrap_or_default(),
        options: inputs.host.dns_options.as_deref().unwrap_or_default(),
    };
    let mode = if inputs.embedded_dns {
        ResolverMode::Embedded(IpAddr::V4(EMBEDDED_RESOLVER))
    } else {
        ResolverMode::Host {
            fallback: &FALLBACK_DNS,
        }
    };
    files::resolv_conf(inputs.host_resolv, mode, &overrides).map_err(|source| NetError::File {
        file: "/etc/resolv.conf",
        source,
    })
}

/// Where the embedded resolver forwards: `--dns` servers if given, else the host's.
pub fn dns_upstreams(
    host: &HostConfig,
    host_resolv: &ResolvConf,
) -> Result<Vec<SocketAddr>, NetError> {
    let servers = parse_ips("dns", host.dns.as_deref().unwrap_or_default())?;
    if servers.is_empty() {
        Ok(host_resolv.upstreams())
    } else {
        Ok(servers
            .into_iter()
            .map(|ip| SocketAddr::new(ip, 53))
            .collect())
    }
}
