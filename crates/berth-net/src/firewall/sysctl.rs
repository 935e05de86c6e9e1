//! The two sysctls port publishing needs.

use std::path::PathBuf;

use super::FirewallError;

fn write_sysctl(path: PathBuf, value: &str) -> Result<(), FirewallError> {
    std::fs::write(&path, value).map_err(|source| FirewallError::Sysctl { path, source })
}

/// Turns on `net.ipv4.ip_forward`; returns `true` if it was off (so we changed it).
pub(crate) fn enable_ip_forward() -> Result<bool, FirewallError> {
    let path = PathBuf::from("/proc/sys/net/ipv4/ip_forward");
    let current = std::fs::read_to_string(&path).map_err(|source| FirewallError::Sysctl {
        path: path.clone(),
        source,
    })?;
    if current.trim() == "1" {
        return Ok(false);
    }
    write_sysctl(path, "1").map(|()| true)
}

/// Turns on `net.ipv6.conf.all.forwarding` (as Docker does for IPv6 networks); returns
/// `true` if it was off.
pub(crate) fn enable_ipv6_forward() -> Result<bool, FirewallError> {
    let path = PathBuf::from("/proc/sys/net/ipv6/conf/all/forwarding");
    let current = std::fs::read_to_string(&path).map_err(|source| FirewallError::Sysctl {
        path: path.clone(),
        source,
    })?;
    if current.trim() == "1" {
        return Ok(false);
    }
    write_sysctl(path, "1").map(|()| true)
}

fn route_localnet_path(bridge: &str) -> PathBuf {
    PathBuf::from(format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"))
}

/// Lets packets DNATed from 127.0.0.1 be routed out of `bridge`.
pub(crate) fn set_route_localnet(bridge: &str, on: bool) -> Result<(), FirewallError> {
    write_sysctl(route_localnet_path(bridge), if on { "1" } else { "0" })
}

/// Whether the bridge still exists (its sysctl directory does).
pub(crate) fn bridge_exists(bridge: &str) -> bool {
    route_localnet_path(bridge).exists()
}
