//! Content of a container's `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`, following
//! Docker's layout. Pure functions: the engine decides where the files go.

use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

/// A value that would break the file's line/word structure (empty, whitespace, control
/// characters, comment markers): refused rather than written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid {field} {value:?}: must be non-empty, without whitespace, control characters or '#'"
)]
pub struct InvalidEntry {
    pub field: &'static str,
    pub value: String,
}

fn check(field: &'static str, value: &str) -> Result<(), InvalidEntry> {
    let bad = |c: char| c.is_whitespace() || c.is_control() || c == '#' || c == ';';
    if value.is_empty() || value.contains(bad) {
        return Err(InvalidEntry {
            field,
            value: value.to_string(),
        });
    }
    Ok(())
}

/// `/etc/hostname`.
pub fn hostname_file(hostname: &str) -> Result<String, InvalidEntry> {
    check("hostname", hostname)?;
    Ok(format!("{hostname}\n"))
}

/// What goes into a container's `/etc/hosts`.
#[derive(Debug, Clone, Default)]
pub struct HostsSpec<'a> {
    pub hostname: &'a str,
    /// Docker's `--domainname`: adds `hostname.domainname` before the short name.
    pub domainname: Option<&'a str>,
    /// The container's own addresses (one per network), each mapped to its hostname.
    pub addresses: &'a [IpAddr],
    /// `--add-host name:ip` entries, in the order given.
    pub extra_hosts: &'a [(&'a str, IpAddr)],
}

/// `/etc/hosts`: the loopback and IPv6 defaults, the extra hosts, then the container itself.
pub fn hosts_file(spec: &HostsSpec<'_>) -> Result<String, InvalidEntry> {
    check("hostname", spec.hostname)?;
    if let Some(domain) = spec.domainname.filter(|d| !d.is_empty()) {
        check("domainname", domain)?;
    }
    for (name, _) in spec.extra_hosts {
        check("extra host name", name)?;
    }
    let mut out = String::from(
        "127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\n\
         ff02::1\tip6-allnodes\n\
         ff02::2\tip6-allrouters\n",
    );
    for (name, address) in spec.extra_hosts {
        let _ = writeln!(out, "{address}\t{name}");
    }
    let names = match spec.domainname {
        Some(domain) if !domain.is_empty() => {
            format!("{}.{domain} {}", spec.hostname, spec.hostname)
        }
        _ => spec.hostname.to_string(),
    };
    for address in spec.addresses {
        let _ = writeln!(out, "{address}\t{names}");
    }
    Ok(out)
}

/// The parts of a `resolv.conf` that matter to containers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<IpAddr>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

impl ResolvConf {
    /// Parses `resolv.conf` text; unknown lines, comments and unparsable addresses are skipped
    /// (the file is the host's, and glibc ignores them too). The last `search`/`domain` wins.
    pub fn parse(text: &str) -> Self {
        let mut conf = Self::default();
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    // Zone ids ("fe80::1%eth0") do not parse as IpAddr; such servers are
                    // link-local to the host and useless in a container anyway.
                    if let Some(Ok(address)) = words.next().map(str::parse) {
                        conf.nameservers.push(address);
                    }
                }
                Some("search") | Some("domain") => conf.search = words.map(String::from).collect(),
                Some("options") => conf.options.extend(words.map(String::from)),
                _ => {}
            }
        }
        conf
    }

    /// Where the embedded resolver forwards: every host nameserver on port 53 (forwarding
    /// runs in the daemon's namespace, so loopback resolvers are fine here).
    pub fn upstreams(&self) -> Vec<SocketAddr> {
        self.nameservers
            .iter()
            .map(|ip| SocketAddr::new(*ip, 53))
            .collect()
    }
}

/// Overrides from `--dns`, `--dns-search`, `--dns-option`; empty means "take the host's".
#[derive(Debug, Clone, Default)]
pub struct DnsOverrides<'a> {
    pub servers: &'a [IpAddr],
    pub search: &'a [String],
    pub options: &'a [String],
}

/// How the container resolves names.
#[derive(Debug, Clone, Copy)]
pub enum ResolverMode<'a> {
    /// User-defined networks: the embedded resolver at this address answers (and forwards).
    Embedded(IpAddr),
    /// Default bridge / no embedded DNS: the host's servers, minus loopback ones the
    /// container cannot reach; `fallback` is used if none remain (Docker uses public DNS
    /// there; the engine chooses).
    Host { fallback: &'a [IpAddr] },
}

/// `/etc/resolv.conf` for a container.
pub fn resolv_conf(
    host: &ResolvConf,
    mode: ResolverMode<'_>,
    overrides: &DnsOverrides<'_>,
) -> Result<String, InvalidEntry> {
    for domain in overrides.search {
        check("dns search domain", domain)?;
    }
    for option in overrides.options {
        check("dns option", option)?;
    }
    let search = if overrides.search.is_empty() {
        &host.search
    } else {
        overrides.search
    };
    let mut options: Vec<String> = if overrides.options.is_empty() {
        host.options.clone()
    } else {
        overrides.options.to_vec()
    };
    let servers: Vec<IpAddr> = match mode {
        // With the embedded resolver, `--dns` servers become its upstreams, not entries here.
        ResolverMode::Embedded(address) => {
            // Docker adds ndots:0 so single-label container names are tried as-is first.
            if !options.iter().any(|o| o.starts_with("ndots:")) {
                options.push("ndots:0".to_string());
            }
            vec![address]
        }
        ResolverMode::Host { fallback } => {
            let chosen: Vec<IpAddr> = if overrides.servers.is_empty() {
                host.nameservers
                    .iter()
                    .copied()
                    .filter(|ip| !ip.is_loopback())
                    .collect()
            } else {
                overrides.servers.to_vec()
            };
            if chosen.is_empty() {
                fallback.to_vec()
            } else {
                chosen
            }
        }
    };
    let mut out = String::new();
    for server in servers {
        let _ = writeln!(out, "nameserver {server}");
    }
    if !search.is_empty() {
        let _ = writeln!(out, "search {}", search.join(" "));
    }
    if !options.is_empty() {
        let _ = writeln!(out, "options {}", options.join(" "));
    }
    Ok(out)
}
