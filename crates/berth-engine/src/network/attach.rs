//! A container joining and leaving networks: `attach` before its process starts, `detach`
//! when it stops, `connect`/`disconnect` while it runs, `restore` after a daemon restart.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_net::dns::{self, DnsServer, EMBEDDED_RESOLVER, ServerConfig};
use berth_net::firewall::{FirewallError, PortMapping, Protocol};
use berth_net::link::{self, Netlink, NetnsHandle};
use berth_net::network::{EndpointSpec, Networks};
use bollard_stubs::models::{ContainerConfig, EndpointSettings, HostConfig, NetworkingConfig};

use super::crud::ensure_kernel;
use super::etc_files::{self, Inputs};
use super::registry::{Driver, NetworkRecord, Registry};
use super::sandbox::{self, EndpointRecord, SandboxRecord};
use super::{Inner, NetError, NetworkService, ports};

/// How long the embedded resolver waits for each upstream.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// What the engine knows about a container about to start.
#[derive(Debug, Clone, Copy)]
pub struct AttachRequest<'a> {
    pub id: &'a str,
    /// The container's name (a leading `/` is dropped).
    pub name: &'a str,
    pub hostname: &'a str,
    pub config: &'a ContainerConfig,
    pub host: &'a HostConfig,
    pub endpoints: Option<&'a NetworkingConfig>,
    /// For `--network container:<id>`: that container's namespace if the caller knows it
    /// better (`/proc/<pid>/ns/net`); by default the one the network service set up for it.
    pub joined_netns: Option<&'a Path>,
}

/// What the container's OCI spec and files need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The network namespace to join; `None` means the host's (`--network host`).
    pub netns_path: Option<PathBuf>,
    /// Contents for the container's `/etc/hosts`.
    pub hosts: String,
    /// Contents for the container's `/etc/resolv.conf`.
    pub resolv_conf: String,
}

enum Mode<'a> {
    Bridge(&'a str),
    Host,
    None,
    Container,
}

fn mode(host: &HostConfig) -> Mode<'_> {
    match host.network_mode.as_deref().unwrap_or("") {
        "" | "default" => Mode::Bridge("bridge"),
        "host" => Mode::Host,
        "none" => Mode::None,
        m if m.starts_with("container:") => Mode::Container,
        other => Mode::Bridge(other),
    }
}

/// The host end of a container's veth: unique per container and network, ≤ 15 bytes.
fn host_ifname(container: &str, network_id: &str) -> String {
    let part = |s: &str, n: usize| s.get(..n).unwrap_or(s).to_string();
    format!("vb{}{}", part(container, 7), part(network_id, 6))
}

/// The endpoint settings given for `record` (keyed by name, ID or the `--network` value).
fn settings_for<'a>(
    endpoints: Option<&'a NetworkingConfig>,
    record: &NetworkRecord,
    key: &str,
) -> Option<&'a EndpointSettings> {
    let map = endpoints?.endpoints_config.as_ref()?;
    map.get(&record.name)
        .or_else(|| map.get(&record.id))
        .or_else(|| map.get(key))
        // Clients name the default bridge by the network mode they were given.
        .or_else(|| map.get("default").filter(|_| record.name == "bridge"))
}

/// Re-adds a running container's names to the shared DNS records.
pub(super) fn publish_names(nets: &Networks, registry: &Registry, sandbox: &SandboxRecord) {
    for e in &sandbox.endpoints {
        if registry
            .by_id(&e.network_id)
            .is_some_and(NetworkRecord::is_user_bridge)
        {
            for name in &e.endpoint.names {
                nets.dns_records()
                    .add(&e.network_id, name, e.endpoint.address);
                if let Some(v6) = e.endpoint.ipv6 {
                    nets.dns_records().add(&e.network_id, name, v6.address);
                }
            }
        }
    }
}

/// `--mac-address`: six hex pairs separated by `:` or `-`, a unicast address (the kernel
/// refuses multicast ones on a veth).
fn parse_mac(text: &str) -> Result<[u8; 6], NetError> {
    let invalid = |why: &str| NetError::Invalid {
        field: "mac-address",
        value: text.to_string(),
        why: why.to_string(),
    };
    let parts: Vec<&str> = text.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(invalid("expected six hex pairs like 02:42:ac:11:00:02"));
    }
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(&parts) {
        if part.len() != 2 {
            return Err(invalid("expected six hex pairs like 02:42:ac:11:00:02"));
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| invalid("not a hex number"))?;
    }
    if mac[0] & 1 == 1 {
        return Err(invalid("a multicast address cannot be an interface's"));
    }
    Ok(mac)
}

pub(super) fn add_endpoint(
    inner: &mut Inner,
    sandbox: &mut SandboxRecord,
    netns: &NetnsHandle,
    record: &NetworkRecord,
    settings: Option<&EndpointSettings>,
) -> Result<(), NetError> {
    if sandbox.endpoint(&record.id).is_some() {
        return Err(NetError::AlreadyAttached {
            container: sandbox.name.clone(),
            network: record.name.clone(),
        });
    }
    let requested_ip = settings
        .and_then(|s| s.ipam_config.as_ref())
        .and_then(|c| c.ipv4_address.as_deref())
        .filter(|ip| !ip.is_empty())
        .map(|ip| {
            ip.parse::<Ipv4Addr>().map_err(|_| NetError::Invalid {
                field: "ip",
                value: ip.to_string(),
                why: "not an IPv4 address".to_string(),
            })
        })
        .transpose()?;
    let aliases: Vec<String> = settings.and_then(|s| s.aliases.clone()).unwrap_or_default();
    let mac = settings
        .and_then(|s| s.mac_address.as_deref())
        .filter(|m| !m.is_empty())
        .map(parse_mac)
        .transpose()?;
    if !record.is_user_bridge() && (requested_ip.is_some() || !aliases.is_empty()) {
        return Err(NetError::Invalid {
            field: if requested_ip.is_some() { "ip" } else { "network-alias" },
            value: record.name.clone(),
            why: "user specified IP addresses and aliases are supported on user defined networks only"
                .to_string(),
        });
    }
    ensure_kernel(inner, record)?;
    let mut names = Vec::new();
    if record.is_user_bridge() {
        names.push(sandbox.name.clone());
        names.extend(aliases.iter().cloned());
        names.push(
            sandbox
                .container
                .get(..12)
                .unwrap_or(&sandbox.container)
                .to_string(),
        );
        // Docker's DNSNames: name, aliases, short ID, hostname, each once.
        names.push(sandbox.hostname.clone());
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| !n.is_empty() && seen.insert(n.clone()));
    }
    let ifname = sandbox.next_ifname();
    let host_ifname = host_ifname(&sandbox.container, &record.id);
    let endpoint = inner.nets.connect(
        &record.id,
        &EndpointSpec {
            container: &sandbox.container,
            netns,
            host_ifname: &host_ifname,
            ifname: &ifname,
            requested_ip,
            names: &names,
            mac,
            // The first endpoint with a way out routes the container (Docker's gateway
            // endpoint); later ones only add their subnet.
            default_route: !sandbox
                .endpoints
                .iter()
                .any(|e| e.endpoint.gateway.is_some()),
        },
    )?;
    sandbox.endpoints.push(EndpointRecord {
        network_id: record.id.clone(),
        endpoint_id: crate::containers::names::new_id(),
        ifname,
        aliases,
        endpoint,
    });
    Ok(())
}

fn publish_ports(
    inner: &mut Inner,
    sandbox: &mut SandboxRecord,
    request: &AttachRequest<'_>,
) -> Result<(), NetError> {
    sandbox.exposed = request.config.exposed_ports.clone().unwrap_or_default();
    let Some(primary) = sandbox.endpoints.first() else {
        return Ok(());
    };
    let internal = inner
        .registry
        .by_id(&primary.network_id)
        .and_then(|r| r.bridge.as_ref())
        .is_some_and(|b| b.internal);
    if internal {
        return Ok(()); // Docker publishes nothing from an internal network.
    }
    let held: Vec<PortMapping> = inner
        .nets
        .firewall()
        .state()
        .ports
        .iter()
        .filter(|(owner, _)| *owner != request.id)
        .flat_map(|(_, ms)| ms.iter().cloned())
        .collect();
    let published = |protocol: Protocol, port: u16| {
        held.iter().any(|m| {
            m.protocol == protocol
                && (u32::from(m.host_port)..u32::from(m.host_port) + u32::from(m.count))
                    .contains(&u32::from(port))
        })
    };
    let mappings = ports::mappings(
        request.host.port_bindings.as_ref(),
        request.host.publish_all_ports.unwrap_or(false),
        &sandbox.exposed,
        ports::Target {
            network: &primary.network_id,
            container_ip: primary.endpoint.address,
            container: request.name,
        },
        &published,
    )?;
    if mappings.is_empty() {
        return Ok(());
    }
    let held = super::reserve::reserve(&mappings).map_err(|taken| NetError::PortAllocated {
        container: request.name.to_string(),
        address: taken.address.to_string(),
        port: taken.port,
    })?;
    inner
        .nets
        .firewall()
        .publish(request.id, mappings.clone())
        .map_err(|e| match e {
            FirewallError::PortInUse { host_port, .. } => NetError::PortAllocated {
                container: request.name.to_string(),
                address: Ipv4Addr::UNSPECIFIED.to_string(),
                port: host_port,
            },
            other => NetError::Firewall(other),
        })?;
    inner.reservations.insert(request.id.to_string(), held);
    sandbox.ports = mappings;
    Ok(())
}

/// (Re)starts the container's embedded resolver for its user-defined networks.
pub(super) fn start_resolver(inner: &mut Inner, sandbox: &SandboxRecord) -> Result<(), NetError> {
    // Stop the old one first: the new one binds the same address.
    drop(inner.resolvers.remove(&sandbox.container));
    let networks: Vec<String> = sandbox
        .endpoints
        .iter()
        .filter(|e| {
            inner
                .registry
                .by_id(&e.network_id)
                .is_some_and(NetworkRecord::is_user_bridge)
        })
        .map(|e| e.network_id.clone())
        .collect();
    let Some(path) = sandbox.netns.as_ref().filter(|_| !networks.is_empty()) else {
        return Ok(());
    };
    let netns = NetnsHandle::open(path).map_err(NetError::Netns)?;
    let address = SocketAddr::from((EMBEDDED_RESOLVER, 53));
    let udp = dns::bind_in_netns(&netns, address).map_err(NetError::Dns)?;
    let tcp = dns::bind_tcp_in_netns(&netns, address).map_err(NetError::Dns)?;
    let server = DnsServer::spawn_with_tcp(
        udp,
        Some(tcp),
        ServerConfig {
            networks,
            records: inner.nets.dns_records().clone(),
            upstreams: sandbox.dns_upstreams.clone(),
            upstream_timeout: UPSTREAM_TIMEOUT,
        },
    )
    .map_err(NetError::Dns)?;
    inner.resolvers.insert(sandbox.container.clone(), server);
    Ok(())
}

/// Undoes everything a sandbox holds, keeping going past failures.
pub(super) fn teardown(
    inner: &mut Inner,
    sandbox: &SandboxRecord,
    sandbox_dir: &Path,
) -> Vec<NetError> {
    let mut failures = Vec::new();
    if let Some(server) = inner.resolvers.remove(&sandbox.container) {
        // Its threads notice the stop flag within a poll interval; nobody needs to wait.
        std::thread::spawn(move || drop(server));
    }
    let published = !sandbox.ports.is_empty()
        || inner
            .nets
            .firewall()
            .state()
            .ports
            .contains_key(&sandbox.container);
    if published && let Err(e) = inner.nets.firewall().unpublish(&sandbox.container) {
        failures.push(NetError::Firewall(e));
    }
    inner.reservations.remove(&sandbox.container);
    // Our own namespace goes first: its veth pairs go with it, deleted by the kernel in the
    // background instead of one synchronous RTM_DELLINK each.
    let netns_removed = match (&sandbox.netns, sandbox.owns_netns) {
        (Some(path), true) => match link::remove_persistent_netns(path) {
            Ok(_) => true,
            Err(error) => {
                failures.push(NetError::Netns(error));
                false
            }
        },
        _ => false,
    };
    for e in &sandbox.endpoints {
        let done = if netns_removed {
            inner.nets.release(&e.endpoint)
        } else {
            inner.nets.disconnect(&e.endpoint)
        };
        if let Err(error) = done {
            failures.push(error.into());
        }
    }
    if netns_removed {
        link::reap_later(
            sandbox
                .endpoints
                .iter()
                .map(|e| e.endpoint.host_ifname.clone())
                .collect(),
        );
    }
    if let Err(error) = sandbox::delete(sandbox_dir, &sandbox.container) {
        failures.push(error);
    }
    failures
}

pub(super) fn into_result(failures: Vec<NetError>) -> Result<(), NetError> {
    if failures.is_empty() {
        Ok(())
    } else {
        Err(NetError::Teardown(failures))
    }
}

impl NetworkService {
    /// Sets up the container's network before its process starts (see [`Attachment`]).
    pub fn attach(&self, request: &AttachRequest<'_>) -> Result<Attachment, NetError> {
        let mut inner = self.lock();
        if let Some(stale) = inner.sandboxes.remove(request.id) {
            let _ = teardown(&mut inner, &stale, &self.sandbox_dir);
        }
        let name = request.name.trim_start_matches('/');
        let host_resolv = etc_files::host_resolv_conf(&self.options.resolv_conf);
        let mut sandbox = SandboxRecord {
            container: request.id.to_string(),
            name: name.to_string(),
            netns: None,
            owns_netns: false,
            endpoints: Vec::new(),
            mode_network: None,
            ports: Vec::new(),
            exposed: Vec::new(),
            dns_upstreams: etc_files::dns_upstreams(request.host, &host_resolv)?,
            hostname: request.hostname.to_string(),
        };
        let mode = mode(request.host);
        let primary = match mode {
            Mode::Bridge(key) => {
                let record = inner.registry.find(key)?.clone();
                match record.driver {
                    Driver::Bridge => Some((record, key)),
                    // `--network <id of host or none>` means the mode itself.
                    Driver::Host | Driver::Null => {
                        return self.attach_mode(
                            &mut inner,
                            sandbox,
                            request,
                            record.driver,
                            &host_resolv,
                        );
                    }
                }
            }
            Mode::Host => {
                return self.attach_mode(&mut inner, sandbox, request, Driver::Host, &host_resolv);
            }
            Mode::None => {
                return self.attach_mode(&mut inner, sandbox, request, Driver::Null, &host_resolv);
            }
            Mode::Container => {
                return self.attach_joined(&mut inner, sandbox, request, &host_resolv);
            }
        };
        if let Some((record, key)) = primary {
            let path = self.netns_dir.join(request.id);
            let _ = link::remove_persistent_netns(&path);
            let netns = NetnsHandle::create_persistent(&path).map_err(NetError::Netns)?;
            sandbox.netns = Some(path);
            sandbox.owns_netns = true;
            let filled = self.fill(&mut inner, &mut sandbox, &netns, &record, key, request);
            if let Err(error) = filled {
                let _ = teardown(&mut inner, &sandbox, &self.sandbox_dir);
                return Err(error);
            }
        } else {
            sandbox::save(&self.sandbox_dir, &sandbox)?;
        }
        let attachment = self.files(&inner, &sandbox, request, &host_resolv);
        if let Err(error) = &attachment {
            let failures = teardown(&mut inner, &sandbox, &self.sandbox_dir);
            tracing::debug!(%error, ?failures, "attach rolled back");
        } else {
            inner.sandboxes.insert(request.id.to_string(), sandbox);
        }
        attachment
    }

    fn fill(
        &self,
        inner: &mut Inner,
        sandbox: &mut SandboxRecord,
        netns: &NetnsHandle,
        primary: &NetworkRecord,
        key: &str,
        request: &AttachRequest<'_>,
    ) -> Result<(), NetError> {
        // Saved first, so a crash half-way still leaves the namespace findable.
        sandbox::save(&self.sandbox_dir, sandbox)?;
        add_endpoint(
            inner,
            sandbox,
            netns,
            primary,
            settings_for(request.endpoints, primary, key),
        )?;
        // Further networks in EndpointsConfig (API ≥ 1.44 clients send several).
        let extra: Vec<(NetworkRecord, String)> = request
            .endpoints
            .and_then(|e| e.endpoints_config.as_ref())
            .map(|map| {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                keys.into_iter()
                    .filter_map(|k| Some((inner.registry.find(k).ok()?.clone(), k.clone())))
                    .filter(|(r, _)| r.id != primary.id)
                    .collect()
            })
            .unwrap_or_default();
        for (record, key) in extra {
            add_endpoint(
                inner,
                sandbox,
                netns,
                &record,
                settings_for(request.endpoints, &record, &key),
            )?;
        }
        publish_ports(inner, sandbox, request)?;
        start_resolver(inner, sandbox)?;
        sandbox::save(&self.sandbox_dir, sandbox)
    }

    /// `host` (the host's namespace and files) and `none` (a namespace with only `lo`).
    fn attach_mode(
        &self,
        inner: &mut Inner,
        mut sandbox: SandboxRecord,
        request: &AttachRequest<'_>,
        driver: Driver,
        host_resolv: &berth_net::files::ResolvConf,
    ) -> Result<Attachment, NetError> {
        let network = inner
            .registry
            .all()
            .find(|r| r.driver == driver && r.predefined)
            .cloned();
        sandbox.mode_network = network.map(|r| r.id);
        let attachment = if driver == Driver::Host {
            let read = |path: &Path| {
                std::fs::read_to_string(path).map_err(|source| NetError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            };
            let mut hosts = read(&self.options.hosts)?;
            for entry in request.host.extra_hosts.iter().flatten() {
                if let Some((name, ip)) = entry.split_once([':', '=']) {
                    hosts.push_str(&format!("{ip}\t{name}\n"));
                }
            }
            Attachment {
                netns_path: None,
                hosts,
                resolv_conf: read(&self.options.resolv_conf)?,
            }
        } else {
            let path = self.netns_dir.join(request.id);
            let _ = link::remove_persistent_netns(&path);
            let netns = NetnsHandle::create_persistent(&path).map_err(NetError::Netns)?;
            sandbox.netns = Some(path.clone());
            sandbox.owns_netns = true;
            let lo = Netlink::open_in(&netns).and_then(|mut n| n.set_up("lo"));
            let files = lo.map_err(NetError::Netns).and_then(|()| {
                sandbox::save(&self.sandbox_dir, &sandbox)?;
                self.files(inner, &sandbox, request, host_resolv)
            });
            match files {
                Ok(files) => files,
                Err(error) => {
                    let _ = teardown(inner, &sandbox, &self.sandbox_dir);
                    return Err(error);
                }
            }
        };
        sandbox::save(&self.sandbox_dir, &sandbox)?;
        inner.sandboxes.insert(request.id.to_string(), sandbox);
        Ok(attachment)
    }

    pub(super) fn files(
        &self,
        inner: &Inner,
        sandbox: &SandboxRecord,
        request: &AttachRequest<'_>,
        host_resolv: &berth_net::files::ResolvConf,
    ) -> Result<Attachment, NetError> {
        // Docker lists the container's IPv6 addresses for its hostname too.
        let addresses: Vec<IpAddr> = sandbox
            .endpoints
            .iter()
            .map(|e| IpAddr::V4(e.endpoint.address))
            .chain(
                sandbox
                    .endpoints
                    .iter()
                    .filter_map(|e| Some(IpAddr::V6(e.endpoint.ipv6?.address))),
            )
            .collect();
        let embedded_dns = sandbox.endpoints.iter().any(|e| {
            inner
                .registry
                .by_id(&e.network_id)
                .is_some_and(NetworkRecord::is_user_bridge)
        });
        let inputs = Inputs {
            hostname: request.hostname,
            config: request.config,
            host: request.host,
            addresses: &addresses,
            gateway: sandbox.endpoints.first().and_then(|e| e.endpoint.gateway),
            embedded_dns,
            host_resolv,
        };
        Ok(Attachment {
            netns_path: sandbox.netns.clone(),
            hosts: etc_files::hosts(&inputs)?,
            resolv_conf: etc_files::resolv_conf(&inputs)?,
        })
    }

    /// Undoes [`NetworkService::attach`] (and any connects): resolver stopped, ports
    /// unpublished, veths removed, addresses released, namespace removed. Best effort and
    /// complete; a container with nothing attached is fine.
    pub fn detach(&self, container_id: &str) -> Result<(), NetError> {
        let mut inner = self.lock();
        let Some(sandbox) = inner.sandboxes.remove(container_id) else {
            return Ok(());
        };
        into_result(teardown(&mut inner, &sandbox, &self.sandbox_dir))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_mac;

    #[test]
    fn mac_addresses_are_parsed_and_checked() {
        assert_eq!(
            parse_mac("02:42:AC:11:00:99").unwrap(),
            [0x02, 0x42, 0xac, 0x11, 0x00, 0x99]
        );
        assert_eq!(parse_mac("92-d0-c6-0a-29-33").unwrap()[0], 0x92);
        for bad in [
            "02:42:ac:11:00",
            "01:00:5e:00:00:01",
            "zz:42:ac:11:00:02",
            "2:42:ac:11:0:2",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad}");
        }
    }
}
