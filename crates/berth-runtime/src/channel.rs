//! The parent ⇄ init sync channel: a `SOCK_SEQPACKET` pair carrying one JSON message per packet.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use serde::{Deserialize, Serialize};

use crate::sys;

/// Messages between the runtime (parent) and the container's init (or exec'd process).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Message {
    /// Parent → init: ids are mapped and cgroups applied; `state` is the OCI state JSON for
    /// the hooks that run inside the container.
    Go { state: String },
    /// Init → parent: namespaces and mounts exist; run prestart/createRuntime hooks now.
    RunRuntimeHooks,
    /// Parent → init: those hooks succeeded.
    RuntimeHooksDone,
    /// Init → parent: everything up to `execve` is done; the init now waits on the exec fifo
    /// (create) or is about to exec (exec).
    Ready,
    /// An intermediate child → parent: the pid of the process it forked (in the container's
    /// pid namespace, seen from ours), and whether that process was born in its cgroup.
    Pid {
        pid: i32,
        #[serde(default)]
        born_in_cgroup: bool,
    },
    /// Either side: a step failed. `exit_code` follows the shell convention (127: not found).
    Error { message: String, exit_code: i32 },
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("sync channel I/O failed: {0}")]
    Io(#[from] io::Error),
    #[error("the other side closed the sync channel (the process died)")]
    Closed,
    #[error("malformed sync message: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// One end of the channel.
#[derive(Debug)]
pub struct Channel(pub OwnedFd);

impl Channel {
    pub fn send(&self, msg: &Message) -> Result<(), ChannelError> {
        let bytes = serde_json::to_vec(msg)?;
        match sys::fd::send_packet(self.0.as_fd(), &bytes) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)) => {
                Err(ChannelError::Closed)
            }
            other => Ok(other?),
        }
    }

    pub fn recv(&self) -> Result<Message, ChannelError> {
        // Sized to the packet: a fresh 64 KiB buffer costs a dozen page faults in a newly
        // forked init, where every message waits on the critical path.
        let len = match sys::fd::next_packet_len(self.0.as_fd()) {
            // The peer closed with a message of ours unread. The kernel reports that once,
            // ahead of what the peer sent before closing (an init's error, say): read on.
            Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => {
                sys::fd::next_packet_len(self.0.as_fd())?
            }
            other => other?,
        };
        if len == 0 {
            return Err(ChannelError::Closed);
        }
        let mut buf = vec![0u8; len];
        let n = sys::fd::recv_packet(self.0.as_fd(), &mut buf)?;
        Ok(serde_json::from_slice(&buf[..n])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Channel, Channel) {
        let (a, b) = sys::fd::seqpacket_pair().unwrap();
        (Channel(a), Channel(b))
    }

    #[test]
    fn a_peer_that_closed_without_reading_still_delivers_what_it_sent() {
        let (parent, init) = pair();
        parent.send(&Message::Ready).unwrap();
        init.send(&Message::Error {
            message: "mount failed".into(),
            exit_code: 1,
        })
        .unwrap();
        drop(init); // with our message unread: the kernel flags ECONNRESET first
        match parent.recv().unwrap() {
            Message::Error { message, .. } => assert_eq!(message, "mount failed"),
            other => panic!("got {other:?}"),
        }
        assert!(matches!(parent.recv(), Err(ChannelError::Closed)));
        assert!(matches!(
            parent.send(&Message::Ready),
            Err(ChannelError::Closed)
        ));
    }
}
