//! `process.rlimits`.

use std::io;

use oci_spec::runtime::{PosixRlimit, PosixRlimitType};
use rustix::io::Errno;
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

const NR_OPEN_PATH: &str = "/proc/sys/fs/nr_open";

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
    #[error("{limit}: hard limit {hard} is above the kernel's fs.nr_open ({nr_open})")]
    AboveNrOpen {
        limit: String,
        hard: u64,
        nr_open: u64,
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

/// Why setrlimit said EPERM: RLIMIT_NOFILE above fs.nr_open (no capability helps), or a
/// raised hard limit (needs CAP_SYS_RESOURCE).
fn explain_eperm(rlimit: &PosixRlimit, limit: String) -> RlimitError {
    let (soft, hard) = (rlimit.soft(), rlimit.hard());
    let resource = resource(rlimit.typ());
    if resource == Resource::Nofile {
        let nr_open = std::fs::read_to_string(NR_OPEN_PATH)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok());
        if let Some(nr_open) = nr_open.filter(|n| hard > *n) {
            return RlimitError::AboveNrOpen {
                limit,
                hard,
                nr_open,
            };
        }
    }
    let current = getrlimit(resource).maximum;
    if current.is_some_and(|current| hard > current) {
        let current_hard = current.map_or("unlimited".to_string(), |v| v.to_string());
        return RlimitError::NeedsSysResource {
            limit,
            soft,
            hard,
            current_hard,
        };
    }
    RlimitError::Set {
        limit,
        soft,
        hard,
        source: Errno::PERM.into(),
    }
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
            Err(Errno::PERM) => return Err(explain_eperm(rlimit, limit)),
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
