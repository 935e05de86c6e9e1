//! Bridges, veth pairs, addresses and routes over rtnetlink, in the host or a container's
//! network namespace.

mod attach;
mod error;
mod message;
mod netns;
mod ops;
mod socket;
mod sys;

pub use attach::{
    ContainerLink, ContainerLink6, attach_container, detach_container, mac_from_ipv4, reap_later,
};
pub use error::{LinkError, LinkOp};
pub use netns::{NetnsHandle, remove_persistent as remove_persistent_netns};
pub use ops::validate_ifname;
pub use socket::Netlink;

use std::net::{Ipv4Addr, Ipv6Addr};

/// Creates bridge `name` (unless it exists), gives it `gateway/prefix_len` and brings it up.
/// An existing link of that name that is not a bridge is an error, never reused.
pub fn ensure_bridge(name: &str, gateway: Ipv4Addr, prefix_len: u8) -> Result<(), LinkError> {
    let mut netlink = Netlink::open()?;
    match netlink.link_kind(name)? {
        None => netlink.create_bridge(name)?,
        Some(Some(kind)) if kind == "bridge" => {}
        Some(kind) => {
            return Err(LinkError::NotABridge {
                name: name.to_string(),
                kind: kind.unwrap_or_else(|| "device".to_string()),
            });
        }
    }
    netlink.add_address(name, gateway, prefix_len)?;
    netlink.set_up(name)
}

/// Gives bridge `name` (made by [`ensure_bridge`]) its IPv6 gateway address.
pub fn ensure_bridge_ipv6(name: &str, gateway: Ipv6Addr, prefix_len: u8) -> Result<(), LinkError> {
    Netlink::open()?.add_address6(name, gateway, prefix_len)
}

/// Deletes bridge `name`; `Ok(false)` if it did not exist.
pub fn delete_bridge(name: &str) -> Result<bool, LinkError> {
    Netlink::open()?.delete_link(name)
}
