//! Byte-level rtnetlink message building and reply parsing. Only the handful of messages Berth
//! sends are covered; layouts follow `linux/netlink.h`, `linux/rtnetlink.h` and `linux/if_link.h`.

pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
pub(crate) const RTM_NEWLINK: u16 = 16;
pub(crate) const RTM_DELLINK: u16 = 17;
pub(crate) const RTM_GETLINK: u16 = 18;
pub(crate) const RTM_SETLINK: u16 = 19;
pub(crate) const RTM_NEWADDR: u16 = 20;
pub(crate) const RTM_NEWROUTE: u16 = 24;

pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;

pub(crate) const IFLA_ADDRESS: u16 = 1;
pub(crate) const IFLA_IFNAME: u16 = 3;
pub(crate) const IFLA_MASTER: u16 = 10;
pub(crate) const IFLA_PROTINFO: u16 = 12;
pub(crate) const IFLA_LINKINFO: u16 = 18;
pub(crate) const IFLA_BRPORT_MODE: u16 = 4;
pub(crate) const IFLA_NET_NS_FD: u16 = 28;
pub(crate) const IFLA_INFO_KIND: u16 = 1;
pub(crate) const IFLA_INFO_DATA: u16 = 2;
pub(crate) const VETH_INFO_PEER: u16 = 1;

pub(crate) const IFA_ADDRESS: u16 = 1;
pub(crate) const IFA_LOCAL: u16 = 2;
pub(crate) const IFA_BROADCAST: u16 = 4;

pub(crate) const RTA_OIF: u16 = 4;
pub(crate) const RTA_GATEWAY: u16 = 5;

pub(crate) const AF_UNSPEC: u8 = 0;
pub(crate) const AF_INET: u8 = 2;
pub(crate) const AF_INET6: u8 = 10;
/// `IFA_F_NODAD`: usable at once, no duplicate address detection (our own bridge).
pub(crate) const IFA_F_NODAD: u8 = 0x02;
pub(crate) const AF_BRIDGE: u8 = 7;
pub(crate) const IFF_UP: u32 = 0x1;
const NLA_F_NESTED: u16 = 0x8000;
const NLMSG_HDRLEN: usize = 16;

/// One netlink request under construction: header, fixed family struct, then attributes.
#[derive(Debug)]
pub(crate) struct Request {
    buf: Vec<u8>,
    open_nests: Vec<usize>,
}

impl Request {
    pub(crate) fn new(msg_type: u16, flags: u16) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in `finish`
        buf.extend_from_slice(&msg_type.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // sequence, set in `finish`
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
        Self {
            buf,
            open_nests: Vec::new(),
        }
    }

    /// Appends `struct ifinfomsg`.
    pub(crate) fn ifinfomsg(self, index: i32, flags: u32, change: u32) -> Self {
        self.ifinfomsg_family(AF_UNSPEC, index, flags, change)
    }

    /// Appends `struct ifinfomsg` with an explicit address family.
    pub(crate) fn ifinfomsg_family(
        mut self,
        family: u8,
        index: i32,
        flags: u32,
        change: u32,
    ) -> Self {
        self.buf.push(family);
        self.buf.push(0);
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&change.to_ne_bytes());
        self
    }

    /// Appends `struct ifaddrmsg` for IPv4.
    pub(crate) fn ifaddrmsg(self, prefix_len: u8, index: u32) -> Self {
        self.ifaddrmsg_family(AF_INET, prefix_len, 0, index)
    }

    /// Appends `struct ifaddrmsg` for `family` with `flags` (`IFA_F_*`).
    pub(crate) fn ifaddrmsg_family(
        mut self,
        family: u8,
        prefix_len: u8,
        flags: u8,
        index: u32,
    ) -> Self {
        self.buf
            .extend_from_slice(&[family, prefix_len, flags, 0 /* universe */]);
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self
    }

    /// Appends `struct rtmsg` for an IPv4 unicast route in the main table.
    pub(crate) fn rtmsg(self, dst_len: u8) -> Self {
        self.rtmsg_family(AF_INET, dst_len)
    }

    /// Appends `struct rtmsg` for a unicast route of `family` in the main table.
    pub(crate) fn rtmsg_family(mut self, family: u8, dst_len: u8) -> Self {
        const RT_TABLE_MAIN: u8 = 254;
        const RTPROT_BOOT: u8 = 3;
        const RT_SCOPE_UNIVERSE: u8 = 0;
        const RTN_UNICAST: u8 = 1;
        self.buf.extend_from_slice(&[
            family,
            dst_len,
            0,
            0,
            RT_TABLE_MAIN,
            RTPROT_BOOT,
            RT_SCOPE_UNIVERSE,
            RTN_UNICAST,
        ]);
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self
    }

    pub(crate) fn attr(mut self, kind: u16, payload: &[u8]) -> Self {
        let len = 4 + payload.len();
        self.buf
            .extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
        self
    }

    pub(crate) fn attr_str(self, kind: u16, value: &str) -> Self {
        let mut bytes = value.as_bytes().to_vec();
        bytes.push(0);
        self.attr(kind, &bytes)
    }

    pub(crate) fn attr_u32(self, kind: u16, value: u32) -> Self {
        self.attr(kind, &value.to_ne_bytes())
    }

    /// Opens a nested attribute; close it with [`Request::end_nest`].
    pub(crate) fn nest(mut self, kind: u16) -> Self {
        self.open_nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }

    pub(crate) fn end_nest(mut self) -> Self {
        if let Some(start) = self.open_nests.pop() {
            let len = u16::try_from(self.buf.len() - start).unwrap_or(u16::MAX);
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    /// Patches length and sequence number and returns the bytes to send.
    pub(crate) fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

/// One message of a kernel reply.
#[derive(Debug)]
pub(crate) struct Reply<'a> {
    pub(crate) msg_type: u16,
    pub(crate) seq: u32,
    pub(crate) payload: &'a [u8],
}

/// Splits a datagram into netlink messages; malformed trailing bytes are ignored.
pub(crate) fn parse_replies(mut data: &[u8]) -> Vec<Reply<'_>> {
    let mut out = Vec::new();
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            break;
        }
        out.push(Reply {
            msg_type: u16::from_ne_bytes([data[4], data[5]]),
            seq: u32::from_ne_bytes([data[8], data[9], data[10], data[11]]),
            payload: &data[NLMSG_HDRLEN..len],
        });
        let aligned = (len + 3) & !3;
        data = data.get(aligned..).unwrap_or(&[]);
    }
    out
}

/// The errno of an `NLMSG_ERROR` payload (0 is a positive acknowledgement).
pub(crate) fn error_code(payload: &[u8]) -> Option<i32> {
    let bytes: [u8; 4] = payload.get(0..4)?.try_into().ok()?;
    Some(-i32::from_ne_bytes(bytes))
}

/// The interface index of an `RTM_NEWLINK` payload (`ifinfomsg.ifi_index`).
pub(crate) fn link_index(payload: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = payload.get(4..8)?.try_into().ok()?;
    u32::try_from(i32::from_ne_bytes(bytes)).ok()
}

/// Iterates `(type, payload)` over a run of netlink attributes; stops at malformed data.
pub(crate) fn attributes(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = usize::from(u16::from_ne_bytes([*data.first()?, *data.get(1)?]));
        let kind = u16::from_ne_bytes([*data.get(2)?, *data.get(3)?]) & !NLA_F_NESTED;
        if len < 4 || len > data.len() {
            return None;
        }
        let payload = &data[4..len];
        data = data.get((len + 3) & !3..).unwrap_or(&[]);
        Some((kind, payload))
    })
}

/// The `IFLA_INFO_KIND` (e.g. "bridge", "veth") of an `RTM_NEWLINK` payload, if any.
pub(crate) fn link_kind(payload: &[u8]) -> Option<String> {
    const IFINFOMSG_LEN: usize = 16;
    let (_, linkinfo) =
        attributes(payload.get(IFINFOMSG_LEN..)?).find(|(kind, _)| *kind == IFLA_LINKINFO)?;
    let (_, kind) = attributes(linkinfo).find(|(kind, _)| *kind == IFLA_INFO_KIND)?;
    let kind = kind.split(|b| *b == 0).next().unwrap_or(kind);
    Some(String::from_utf8_lossy(kind).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lengths_and_nesting_are_patched() {
        let bytes = Request::new(RTM_NEWLINK, NLM_F_CREATE)
            .ifinfomsg(0, 0, 0)
            .attr_str(IFLA_IFNAME, "br0")
            .nest(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "bridge")
            .end_nest()
            .finish(7);
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(
            u32::from_ne_bytes(bytes[0..4].try_into().unwrap()) as usize,
            bytes.len()
        );
        assert_eq!(u32::from_ne_bytes(bytes[8..12].try_into().unwrap()), 7);
        // ifname attr: 4 + "br0\0" = 8, then the nest: 4 + (4 + "bridge\0" padded to 12) = 16.
        let nest_start = 16 + 16 + 8;
        assert_eq!(
            u16::from_ne_bytes(bytes[nest_start..nest_start + 2].try_into().unwrap()),
            16
        );
        let replies = parse_replies(&bytes);
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].msg_type, RTM_NEWLINK);
    }

    #[test]
    fn link_kind_is_found_in_nested_linkinfo() {
        let bytes = Request::new(RTM_NEWLINK, 0)
            .ifinfomsg(3, 0, 0)
            .attr_str(IFLA_IFNAME, "br0")
            .nest(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "bridge")
            .end_nest()
            .finish(1);
        let replies = parse_replies(&bytes);
        assert_eq!(link_kind(replies[0].payload).as_deref(), Some("bridge"));
        assert_eq!(link_index(replies[0].payload), Some(3));
        assert_eq!(link_kind(&replies[0].payload[..20]), None);
    }

    #[test]
    fn truncated_replies_do_not_panic() {
        assert!(parse_replies(&[1, 2, 3]).is_empty());
        assert!(parse_replies(&[200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_empty());
        assert_eq!(error_code(&(-17i32).to_ne_bytes()), Some(17));
        assert_eq!(error_code(&[1]), None);
    }
}
