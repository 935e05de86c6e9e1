//! `process.rlimits`.

use std::io;

use oci_spec::runtime::{PosixRlimit, PosixRlimitType};
use rustix::io::Errno;
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

#[derive(Debug, thiserror::Error)]
pub enum RlimitError {
    #[error("{limit}: soft limit {soft} is above hard limit {hard}")]
    SoftAboveHard { limit: String, soft: u64, hard: u64 },
    #[error(
        "{limit}: raising the hard limit from {current_hard} to {hard} (soft {soft}) needs CAP_SYS_RESOURCE, which this process does not have"
    )]
    NeedsSysResource {
        limit: String,
        soft: u64,
        hard: u64,
        current_hard: String,
    },
    #[error("{limit}: setrlimit(soft={soft}, hard={hard}): {source}")]
    Set {
        limit: String,
        soft: u64,
        hard: u64,
        source: io::Error,
    },
}

/// The kernel resource for an OCI rlimit type.
pub fn resource(typ: PosixRlimitType) -> Resource {
    use PosixRlimitType::*;
    match typ {
        RlimitCpu => Resource::Cpu,
        RlimitFsize => Resource::Fsize,
        RlimitData => Resource::Data,
        RlimitStack => Resource::Stack,
        RlimitCore => Resource::Core,
        RlimitRss => Resource::Rss,
        RlimitNproc => Resource::Nproc,
        RlimitNofile => Resource::Nofile,
        RlimitMemlock => Resource::Memlock,
        RlimitAs => Resource::As,
        RlimitLocks => Resource::Locks,
        RlimitSigpending => Resource::Sigpending,
        RlimitMsgqueue => Resource::Msgqueue,
        RlimitNice => Resource::Nice,
        RlimitRtprio => Resource::Rtprio,
        RlimitRttime => Resource::Rttime,
    }
}

/// `u64::MAX` is RLIM_INFINITY, which rustix spells `None`.
fn finite(value: u64) -> Option<u64> {
    (value != u64::MAX).then_some(value)
}

/// Sets each rlimit (setrlimit/prlimit). Raising a hard limit needs CAP_SYS_RESOURCE: the
/// error names the limit, the values and that capability.
pub fn apply(rlimits: &[PosixRlimit]) -> Result<(), RlimitError> {
    for rlimit in rlimits {
        let limit = rlimit.typ().to_string();
        let (soft, hard) = (rlimit.soft(), rlimit.hard());
        if soft > hard {
            return Err(RlimitError::SoftAboveHard { limit, soft, hard });
        }
        let resource = resource(rlimit.typ());
        let new = Rlimit {
            current: finite(soft),
            maximum: finite(hard),
        };
        match setrlimit(resource, new) {
            Ok(()) => {}
            Err(Errno::PERM) => {
                let current_hard = match getrlimit(resource).maximum {
                    Some(v) => v.to_string(),
                    None => "unlimited".to_string(),
                };
                return Err(RlimitError::NeedsSysResource {
                    limit,
                    soft,
                    hard,
                    current_hard,
                });
            }
            Err(e) => {
                return Err(RlimitError::Set {
                    limit,
                    soft,
                    hard,
                    source: e.into(),
                });
            }
        }
    }
    Ok(())
}
