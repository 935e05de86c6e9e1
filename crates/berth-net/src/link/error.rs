use std::path::PathBuf;

/// What a netlink request was trying to do, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOp {
    CreateBridge,
    CreateVeth,
    DeleteLink,
    LookupLink,
    SetUp,
    SetMaster,
    SetHairpin,
    SetName,
    SetMac,
    MoveToNetns,
    AddAddress,
    AddRoute,
}

impl std::fmt::Display for LinkOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            Self::CreateBridge => "create bridge",
            Self::CreateVeth => "create veth pair",
            Self::DeleteLink => "delete link",
            Self::LookupLink => "look up link",
            Self::SetUp => "set link up",
            Self::SetMaster => "attach link to bridge",
            Self::SetHairpin => "set bridge port hairpin mode",
            Self::SetName => "rename link",
            Self::SetMac => "set MAC address",
            Self::MoveToNetns => "move link to network namespace",
            Self::AddAddress => "add address",
            Self::AddRoute => "add route",
        };
        f.write_str(text)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("invalid interface name {name:?}: must be 1-15 bytes without '/', ':' or whitespace")]
    InvalidName { name: String },
    #[error("{name} exists and is a {kind}, not a bridge")]
    NotABridge { name: String, kind: String },
    #[error("open rtnetlink socket: {source}")]
    Socket { source: std::io::Error },
    #[error("rtnetlink {op} on {target}: send/receive failed: {source}")]
    Io {
        op: LinkOp,
        target: String,
        source: std::io::Error,
    },
    #[error("{op} on {target}: kernel answered errno {errno}: {source}")]
    Kernel {
        op: LinkOp,
        target: String,
        errno: i32,
        source: std::io::Error,
    },
    #[error("{op} on {target}: kernel reply had no acknowledgement")]
    NoAck { op: LinkOp, target: String },
    #[error("open network namespace {path}: {source}")]
    OpenNetns {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("enter network namespace {path}: {source}")]
    EnterNetns {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the thread that entered network namespace {path} panicked")]
    NetnsThread { path: PathBuf },
    #[error("create network namespace at {path}: {step}: {source}")]
    CreateNetns {
        path: PathBuf,
        step: &'static str,
        source: std::io::Error,
    },
    #[error("remove network namespace {path}: {step}: {source}")]
    RemoveNetns {
        path: PathBuf,
        step: &'static str,
        source: std::io::Error,
    },
}

impl LinkError {
    /// The errno the kernel answered with, if this error came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}
