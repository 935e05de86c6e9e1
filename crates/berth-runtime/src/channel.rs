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
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => Err(ChannelError::Closed),
            other => Ok(other?),
        }
    }

    pub fn recv(&self) -> Result<Message, ChannelError> {
        let mut buf = vec![0u8; 64 * 1024];
        match sys::fd::recv_packet(self.0.as_fd(), &mut buf)? {
            0 => Err(ChannelError::Closed),
            n => Ok(serde_json::from_slice(&buf[..n])?),
        }
    }
}
