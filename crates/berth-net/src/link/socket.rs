//! A synchronous rtnetlink request/acknowledge channel.

use std::os::fd::OwnedFd;

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use super::message::{self, NLMSG_DONE, NLMSG_ERROR, Request};
use super::{LinkError, LinkOp, NetnsHandle};

const RECV_BUFFER: usize = 64 * 1024;

/// A route-netlink socket bound to one network namespace.
#[derive(Debug)]
pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

impl Netlink {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Self, LinkError> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            None, // NETLINK_ROUTE
        )
        .map_err(|errno| LinkError::Socket {
            source: errno.into(),
        })?;
        Ok(Self { fd, seq: 0 })
    }

    /// Opens a socket inside `netns`; later requests on it act on that namespace.
    pub fn open_in(netns: &NetnsHandle) -> Result<Self, LinkError> {
        netns.run(Self::open)?
    }

    /// Sends one request and waits for its acknowledgement, returning the payloads of any data
    /// messages the kernel sent before it.
    pub(crate) fn request(
        &mut self,
        op: LinkOp,
        target: &str,
        request: Request,
    ) -> Result<Vec<Vec<u8>>, LinkError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let bytes = request.finish(seq);
        let io_error = |errno: rustix::io::Errno| LinkError::Io {
            op,
            target: target.to_string(),
            source: errno.into(),
        };
        rustix::net::send(&self.fd, &bytes, SendFlags::empty()).map_err(io_error)?;
        let mut data = Vec::new();
        let mut buf = vec![0u8; RECV_BUFFER];
        loop {
            let (len, _) =
                rustix::net::recv(&self.fd, &mut buf[..], RecvFlags::empty()).map_err(io_error)?;
            if len == 0 {
                return Err(LinkError::NoAck {
                    op,
                    target: target.to_string(),
                });
            }
            for reply in message::parse_replies(&buf[..len]) {
                if reply.seq != seq {
                    continue; // a late answer to an earlier request
                }
                match reply.msg_type {
                    NLMSG_ERROR => {
                        return match message::error_code(reply.payload) {
                            Some(0) => Ok(data),
                            Some(errno) => Err(LinkError::Kernel {
                                op,
                                target: target.to_string(),
                                errno,
                                source: std::io::Error::from_raw_os_error(errno),
                            }),
                            None => Err(LinkError::NoAck {
                                op,
                                target: target.to_string(),
                            }),
                        };
                    }
                    NLMSG_DONE => return Ok(data),
                    _ => data.push(reply.payload.to_vec()),
                }
            }
        }
    }
}
