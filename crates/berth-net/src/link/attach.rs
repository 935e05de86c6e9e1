//! Plugging a container's network namespace into a bridge with a veth pair.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::{LinkError, Netlink, NetnsHandle};

const EEXIST: i32 = 17;

/// How one container joins one bridge network.
#[derive(Debug)]
pub struct ContainerLink<'a> {
    /// Bridge on the host to attach to.
    pub bridge: &'a str,
    /// Host-side veth name (unique on the host, ≤ 15 bytes).
    pub host_ifname: &'a str,
    /// Name inside the container, usually `eth0`.
    pub container_ifname: &'a str,
    pub netns: &'a NetnsHandle,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    /// Default route via this gateway (`None` for a container that needs no default route).
    pub gateway: Option<Ipv4Addr>,
    /// Defaults to [`mac_from_ipv4`] of `address`.
    pub mac: Option<[u8; 6]>,
    /// The IPv6 side, on a network with an IPv6 subnet.
    pub ipv6: Option<ContainerLink6>,
}

/// A container's IPv6 address on a dual-stack network.
#[derive(Debug, Clone, Copy)]
pub struct ContainerLink6 {
    pub address: Ipv6Addr,
    pub prefix_len: u8,
    /// Default route via this gateway (`None` on internal networks or later endpoints).
    pub gateway: Option<Ipv6Addr>,
}

/// Docker's scheme: locally administered `02:42` followed by the IPv4 address.
pub fn mac_from_ipv4(address: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = address.octets();
    [0x02, 0x42, a, b, c, d]
}

/// Creates the veth pair with its peer directly inside the container namespace, attaches the
/// host end to the bridge (in hairpin mode), then configures MAC, address, `lo`, the link and the default route
/// inside. On failure the host end is deleted again, which removes the peer too.
pub fn attach_container(link: &ContainerLink<'_>) -> Result<(), LinkError> {
    let mut host = Netlink::open()?;
    let created = host.create_veth(link.host_ifname, link.container_ifname, Some(link.netns));
    match created {
        // The pair of this container's previous run, its namespace still being torn down by
        // the kernel (see `reap_later`): remove it now and plug in again.
        Err(error) if error.errno() == Some(EEXIST) => {
            host.delete_link(link.host_ifname)?;
            host.create_veth(link.host_ifname, link.container_ifname, Some(link.netns))?;
        }
        other => other?,
    }
    let configured = configure(&mut host, link);
    if configured.is_err() {
        let _ = host.delete_link(link.host_ifname);
    }
    configured
}

fn configure(host: &mut Netlink, link: &ContainerLink<'_>) -> Result<(), LinkError> {
    host.set_master(link.host_ifname, link.bridge)?;
    // Published ports are DNATed in the kernel (no userland proxy), so a container reaching
    // its own published port comes back through the same bridge port, as with Docker.
    host.set_hairpin(link.host_ifname, true)?;
    host.set_up(link.host_ifname)?;
    let mut inside = Netlink::open_in(link.netns)?;
    let mac = link.mac.unwrap_or_else(|| mac_from_ipv4(link.address));
    inside.set_mac(link.container_ifname, mac)?;
    inside.add_address(link.container_ifname, link.address, link.prefix_len)?;
    inside.set_up("lo")?;
    inside.set_up(link.container_ifname)?;
    if let Some(gateway) = link.gateway {
        inside.add_default_route(gateway, link.container_ifname)?;
    }
    if let Some(v6) = link.ipv6 {
        inside.add_address6(link.container_ifname, v6.address, v6.prefix_len)?;
        if let Some(gateway) = v6.gateway {
            inside.add_default_route6(gateway, link.container_ifname)?;
        }
    }
    Ok(())
}

/// How long the kernel gets to drop the veth pairs of a removed namespace before
/// [`reap_later`] deletes what is left itself.
const REAP_GRACE: Duration = Duration::from_secs(2);

/// For veth pairs whose container namespace was just removed: the kernel deletes them as it
/// tears the namespace down, in the background, which spares the caller the synchronous
/// `RTM_DELLINK` (the larger part of a container's network teardown). Should anything still
/// hold the namespace, a background thread deletes the host ends after `REAP_GRACE`.
pub fn reap_later(host_ifnames: Vec<String>) {
    if host_ifnames.is_empty() {
        return;
    }
    // Noted now, so that a pair made later under the same name (the container started
    // again) is never taken for a left-over: interface indexes are not reused soon.
    let left: Vec<(String, u32)> = match Netlink::open() {
        Ok(mut netlink) => host_ifnames
            .into_iter()
            .filter_map(|name| Some((name.clone(), netlink.link_index(&name).ok()??)))
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "cannot look up veth pairs to reap");
            return;
        }
    };
    if left.is_empty() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("veth-reaper".to_string())
        .spawn(move || {
            std::thread::sleep(REAP_GRACE);
            let Ok(mut netlink) = Netlink::open() else {
                return;
            };
            for (name, index) in &left {
                if netlink.link_index(name).ok().flatten() != Some(*index) {
                    continue; // gone with its namespace, or a new pair of that name
                }
                if let Err(error) = netlink.delete_link(name) {
                    tracing::warn!(link = %name, %error, "deleting a left-over veth");
                }
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "no reaper thread; veth pairs may outlive their namespace");
    }
}

/// Removes the container's veth pair by its host end; `Ok(false)` if already gone.
pub fn detach_container(host_ifname: &str) -> Result<bool, LinkError> {
    Netlink::open()?.delete_link(host_ifname)
}
