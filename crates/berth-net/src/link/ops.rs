//! Single rtnetlink operations on links, addresses and routes, each naming its target in errors.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::message::*;
use super::{LinkError, LinkOp, Netlink, NetnsHandle};

const ENODEV: i32 = 19;
const EEXIST: i32 = 17;

/// Checks a Linux interface name: 1-15 bytes, no '/', ':', whitespace or NUL, not "." or "..".
pub fn validate_ifname(name: &str) -> Result<(), LinkError> {
    let bad_char = |c: char| c == '/' || c == ':' || c == '\0' || c.is_whitespace();
    if name.is_empty() || name.len() > 15 || name == "." || name == ".." || name.contains(bad_char)
    {
        return Err(LinkError::InvalidName {
            name: name.to_string(),
        });
    }
    Ok(())
}

impl Netlink {
    /// The index of interface `name`, or `None` if there is no such interface.
    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>, LinkError> {
        Ok(self.link_info(name)?.map(|(index, _)| index))
    }

    /// The kind of interface `name` ("bridge", "veth", …; `None` inside for plain devices
    /// such as `lo`), or `None` if there is no such interface.
    pub fn link_kind(&mut self, name: &str) -> Result<Option<Option<String>>, LinkError> {
        Ok(self.link_info(name)?.map(|(_, kind)| kind))
    }

    fn link_info(&mut self, name: &str) -> Result<Option<(u32, Option<String>)>, LinkError> {
        validate_ifname(name)?;
        let request = Request::new(RTM_GETLINK, 0)
            .ifinfomsg(0, 0, 0)
            .attr_str(IFLA_IFNAME, name);
        match self.request(LinkOp::LookupLink, name, request) {
            Ok(replies) => Ok(replies
                .iter()
                .find_map(|payload| Some((link_index(payload)?, link_kind(payload))))),
            Err(error) if error.errno() == Some(ENODEV) => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn require_index(&mut self, op: LinkOp, name: &str) -> Result<u32, LinkError> {
        self.link_index(name)?.ok_or_else(|| LinkError::Kernel {
            op,
            target: name.to_string(),
            errno: ENODEV,
            source: std::io::Error::from_raw_os_error(ENODEV),
        })
    }

    /// Creates a bridge (fails with EEXIST if a link of that name exists).
    pub fn create_bridge(&mut self, name: &str) -> Result<(), LinkError> {
        validate_ifname(name)?;
        let request = Request::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)
            .ifinfomsg(0, 0, 0)
            .attr_str(IFLA_IFNAME, name)
            .nest(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "bridge")
            .end_nest();
        self.request(LinkOp::CreateBridge, name, request).map(drop)
    }

    /// Creates a veth pair `host` <-> `peer`. With `peer_netns`, the peer end is created
    /// directly inside that namespace, so its name (e.g. `eth0`) never collides on the host.
    pub fn create_veth(
        &mut self,
        host: &str,
        peer: &str,
        peer_netns: Option<&NetnsHandle>,
    ) -> Result<(), LinkError> {
        validate_ifname(host)?;
        validate_ifname(peer)?;
        let mut request = Request::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)
            .ifinfomsg(0, 0, 0)
            .attr_str(IFLA_IFNAME, host)
            .nest(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "veth")
            .nest(IFLA_INFO_DATA)
            .nest(VETH_INFO_PEER)
            .ifinfomsg(0, 0, 0)
            .attr_str(IFLA_IFNAME, peer);
        if let Some(netns) = peer_netns {
            request = request.attr_u32(IFLA_NET_NS_FD, fd_number(netns));
        }
        let request = request.end_nest().end_nest().end_nest();
        let target = match peer_netns {
            Some(netns) => format!("{host} (peer {peer} in {})", netns.path().display()),
            None => format!("{host} (peer {peer})"),
        };
        self.request(LinkOp::CreateVeth, &target, request).map(drop)
    }

    /// Deletes a link; returns `false` if it was already gone (deletes are idempotent).
    pub fn delete_link(&mut self, name: &str) -> Result<bool, LinkError> {
        let Some(index) = self.link_index(name)? else {
            return Ok(false);
        };
        let request = Request::new(RTM_DELLINK, 0).ifinfomsg(index_arg(index), 0, 0);
        match self.request(LinkOp::DeleteLink, name, request) {
            Ok(_) => Ok(true),
            Err(error) if error.errno() == Some(ENODEV) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Brings a link up.
    pub fn set_up(&mut self, name: &str) -> Result<(), LinkError> {
        self.set_link(LinkOp::SetUp, name, IFF_UP, |request| request)
    }

    /// Enslaves `name` to `bridge`.
    pub fn set_master(&mut self, name: &str, bridge: &str) -> Result<(), LinkError> {
        let master = self.require_index(LinkOp::SetMaster, bridge)?;
        self.set_link(LinkOp::SetMaster, name, 0, |request| {
            request.attr_u32(IFLA_MASTER, master)
        })
    }

    /// Sets hairpin mode on a bridge port, so a frame may leave through the port it came in
    /// on: needed when a container reaches its own published port through the host.
    pub fn set_hairpin(&mut self, name: &str, on: bool) -> Result<(), LinkError> {
        let index = self.require_index(LinkOp::SetHairpin, name)?;
        let request = Request::new(RTM_SETLINK, 0)
            .ifinfomsg_family(AF_BRIDGE, index_arg(index), 0, 0)
            .nest(IFLA_PROTINFO)
            .attr(IFLA_BRPORT_MODE, &[u8::from(on)])
            .end_nest();
        self.request(LinkOp::SetHairpin, name, request).map(drop)
    }

    /// Renames a (down) link.
    pub fn set_name(&mut self, name: &str, new_name: &str) -> Result<(), LinkError> {
        validate_ifname(new_name)?;
        self.set_link(LinkOp::SetName, name, 0, |request| {
            request.attr_str(IFLA_IFNAME, new_name)
        })
    }

    /// Sets a link's hardware address.
    pub fn set_mac(&mut self, name: &str, mac: [u8; 6]) -> Result<(), LinkError> {
        self.set_link(LinkOp::SetMac, name, 0, |request| {
            request.attr(IFLA_ADDRESS, &mac)
        })
    }

    /// Moves a link into another network namespace.
    pub fn move_to_netns(&mut self, name: &str, netns: &NetnsHandle) -> Result<(), LinkError> {
        let fd = fd_number(netns);
        self.set_link(LinkOp::MoveToNetns, name, 0, |request| {
            request.attr_u32(IFLA_NET_NS_FD, fd)
        })
    }

    /// `RTM_NEWLINK` on an existing link; `up_flags` is applied with the IFF_UP change mask.
    fn set_link(
        &mut self,
        op: LinkOp,
        name: &str,
        up_flags: u32,
        attrs: impl FnOnce(Request) -> Request,
    ) -> Result<(), LinkError> {
        let index = self.require_index(op, name)?;
        let change = if up_flags & IFF_UP != 0 { IFF_UP } else { 0 };
        let request =
            attrs(Request::new(RTM_NEWLINK, 0).ifinfomsg(index_arg(index), up_flags, change));
        self.request(op, name, request).map(drop)
    }

    /// Adds `address/prefix_len` to a link; an identical existing address is accepted.
    pub fn add_address(
        &mut self,
        name: &str,
        address: Ipv4Addr,
        prefix_len: u8,
    ) -> Result<(), LinkError> {
        let index = self.require_index(LinkOp::AddAddress, name)?;
        let broadcast = broadcast(address, prefix_len);
        let request = Request::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL)
            .ifaddrmsg(prefix_len.min(32), index)
            .attr(IFA_LOCAL, &address.octets())
            .attr(IFA_ADDRESS, &address.octets())
            .attr(IFA_BROADCAST, &broadcast.octets());
        let target = format!("{address}/{prefix_len} on {name}");
        match self.request(LinkOp::AddAddress, &target, request) {
            Err(error) if error.errno() == Some(EEXIST) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Adds IPv6 `address/prefix_len` to a link, without duplicate address detection (the
    /// addresses come from our own IPAM); an identical existing address is accepted.
    pub fn add_address6(
        &mut self,
        name: &str,
        address: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<(), LinkError> {
        let index = self.require_index(LinkOp::AddAddress, name)?;
        let request = Request::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL)
            .ifaddrmsg_family(AF_INET6, prefix_len.min(128), IFA_F_NODAD, index)
            .attr(IFA_LOCAL, &address.octets())
            .attr(IFA_ADDRESS, &address.octets());
        let target = format!("{address}/{prefix_len} on {name}");
        match self.request(LinkOp::AddAddress, &target, request) {
            Err(error) if error.errno() == Some(EEXIST) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Adds the IPv6 `default via gateway dev name`.
    pub fn add_default_route6(&mut self, gateway: Ipv6Addr, name: &str) -> Result<(), LinkError> {
        let index = self.require_index(LinkOp::AddRoute, name)?;
        let request = Request::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL)
            .rtmsg_family(AF_INET6, 0)
            .attr(RTA_GATEWAY, &gateway.octets())
            .attr_u32(RTA_OIF, index);
        let target = format!("default via {gateway} dev {name}");
        self.request(LinkOp::AddRoute, &target, request).map(drop)
    }

    /// Adds `default via gateway dev name`.
    pub fn add_default_route(&mut self, gateway: Ipv4Addr, name: &str) -> Result<(), LinkError> {
        let index = self.require_index(LinkOp::AddRoute, name)?;
        let request = Request::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL)
            .rtmsg(0)
            .attr(RTA_GATEWAY, &gateway.octets())
            .attr_u32(RTA_OIF, index);
        let target = format!("default via {gateway} dev {name}");
        self.request(LinkOp::AddRoute, &target, request).map(drop)
    }
}

fn fd_number(netns: &NetnsHandle) -> u32 {
    use std::os::fd::AsRawFd;
    u32::try_from(netns.fd().as_raw_fd()).unwrap_or(u32::MAX)
}

fn index_arg(index: u32) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

fn broadcast(address: Ipv4Addr, prefix_len: u8) -> Ipv4Addr {
    let host_bits = 32u32.saturating_sub(u32::from(prefix_len.min(32)));
    let host_mask = if host_bits == 32 {
        u32::MAX
    } else {
        (1u32 << host_bits) - 1
    };
    Ipv4Addr::from(u32::from(address) | host_mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_are_checked() {
        for good in ["eth0", "br-0123456789ab", "a"] {
            validate_ifname(good).unwrap();
        }
        for bad in ["", "way-too-long-name0", "a/b", "a b", "x:1", ".", ".."] {
            assert!(validate_ifname(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn broadcast_addresses() {
        let ip = Ipv4Addr::new(172, 30, 1, 7);
        assert_eq!(broadcast(ip, 24), Ipv4Addr::new(172, 30, 1, 255));
        assert_eq!(broadcast(ip, 16), Ipv4Addr::new(172, 30, 255, 255));
        assert_eq!(broadcast(ip, 32), ip);
        assert_eq!(broadcast(ip, 0), Ipv4Addr::BROADCAST);
    }
}
