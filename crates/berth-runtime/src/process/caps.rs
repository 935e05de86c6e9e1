//! Linux capabilities: the five sets of `process.capabilities`.
//!
//! Capabilities are handled by number so that the running kernel decides what exists: a
//! capability above `/proc/sys/kernel/cap_last_cap` is skipped with a warning (as runc does),
//! since profiles written for newer kernels name capabilities older kernels do not have.

use std::io;

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};
use rustix::thread::{self as rthread, CapabilitySet, CapabilitySets};

const CAP_LAST_CAP_PATH: &str = "/proc/sys/kernel/cap_last_cap";

#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    #[error("unknown capability {name:?}")]
    UnknownCapability { name: String },
    #[error("reading {CAP_LAST_CAP_PATH}: {source}")]
    ReadLastCap { source: io::Error },
    #[error("{CAP_LAST_CAP_PATH} holds {content:?}, not a capability number")]
    ParseLastCap { content: String },
    #[error("dropping {capability} from the bounding set (needs CAP_SETPCAP): {source}")]
    DropBounding {
        capability: String,
        source: io::Error,
    },
    #[error("setting PR_SET_KEEPCAPS to {keep}: {source}")]
    KeepCaps { keep: bool, source: io::Error },
    #[error(
        "capset(effective={effective:#x}, permitted={permitted:#x}, inheritable={inheritable:#x}): {source}"
    )]
    Capset {
        effective: u64,
        permitted: u64,
        inheritable: u64,
        source: io::Error,
    },
    #[error("clearing the ambient capability set: {source}")]
    ClearAmbient { source: io::Error },
    #[error(
        "raising ambient capability {capability} (it must also be in the permitted and inheritable sets): {source}"
    )]
    RaiseAmbient {
        capability: String,
        source: io::Error,
    },
    #[error("setting no_new_privs: {source}")]
    NoNewPrivs { source: io::Error },
}

/// Every capability Linux defines, by name, indexed by its number (`linux/capability.h`).
pub const ALL_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Parses a capability name such as `CAP_NET_BIND_SERVICE` (also accepted: `NET_BIND_SERVICE`,
/// any case). For callers holding raw names, e.g. `--cap-add` flags.
pub fn parse_name(name: &str) -> Result<Capability, CapsError> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        CapsError::UnknownCapability {
            name: name.to_string(),
        }
    })
}

/// The kernel's number for `cap` (see `linux/capability.h`).
pub fn number(cap: Capability) -> u32 {
    use Capability::*;
    match cap {
        Chown => 0,
        DacOverride => 1,
        DacReadSearch => 2,
        Fowner => 3,
        Fsetid => 4,
        Kill => 5,
        Setgid => 6,
        Setuid => 7,
        Setpcap => 8,
        LinuxImmutable => 9,
        NetBindService => 10,
        NetBroadcast => 11,
        NetAdmin => 12,
        NetRaw => 13,
        IpcLock => 14,
        IpcOwner => 15,
        SysModule => 16,
        SysRawio => 17,
        SysChroot => 18,
        SysPtrace => 19,
        SysPacct => 20,
        SysAdmin => 21,
        SysBoot => 22,
        SysNice => 23,
        SysResource => 24,
        SysTime => 25,
        SysTtyConfig => 26,
        Mknod => 27,
        Lease => 28,
        AuditWrite => 29,
        AuditControl => 30,
        Setfcap => 31,
        MacOverride => 32,
        MacAdmin => 33,
        Syslog => 34,
        WakeAlarm => 35,
        BlockSuspend => 36,
        AuditRead => 37,
        Perfmon => 38,
        Bpf => 39,
        CheckpointRestore => 40,
    }
}

/// The highest capability number the running kernel knows.
pub fn last_cap() -> Result<u32, CapsError> {
    let content = std::fs::read_to_string(CAP_LAST_CAP_PATH)
        .map_err(|source| CapsError::ReadLastCap { source })?;
    content
        .trim()
        .parse()
        .map_err(|_| CapsError::ParseLastCap { content })
}

/// A capability set as a bit mask of the capabilities the kernel knows.
fn mask(set: Option<&Capabilities>, last: u32, which: &str) -> u64 {
    let mut bits = 0u64;
    for cap in set.into_iter().flatten() {
        let n = number(*cap);
        if n > last {
            tracing::warn!(capability = %format!("CAP_{cap}"), set = which, "capability unknown to the running kernel; ignored");
            continue;
        }
        bits |= 1 << n;
    }
    bits
}

fn single(n: u32) -> CapabilitySet {
    CapabilitySet::from_bits_retain(1u64 << n)
}

fn cap_name(n: u32) -> String {
    ALL.iter()
        .find(|c| number(**c) == n)
        .map(|c| format!("CAP_{c}"))
        .unwrap_or_else(|| format!("capability {n}"))
}

const ALL: [Capability; 41] = {
    use Capability::*;
    [
        Chown,
        DacOverride,
        DacReadSearch,
        Fowner,
        Fsetid,
        Kill,
        Setgid,
        Setuid,
        Setpcap,
        LinuxImmutable,
        NetBindService,
        NetBroadcast,
        NetAdmin,
        NetRaw,
        IpcLock,
        IpcOwner,
        SysModule,
        SysRawio,
        SysChroot,
        SysPtrace,
        SysPacct,
        SysAdmin,
        SysBoot,
        SysNice,
        SysResource,
        SysTime,
        SysTtyConfig,
        Mknod,
        Lease,
        AuditWrite,
        AuditControl,
        Setfcap,
        MacOverride,
        MacAdmin,
        Syslog,
        WakeAlarm,
        BlockSuspend,
        AuditRead,
        Perfmon,
        Bpf,
        CheckpointRestore,
    ]
};

/// Drops every capability not in `caps.bounding` from the bounding set (needs CAP_SETPCAP).
/// A missing `bounding` list means an empty one, as in runc.
pub fn drop_bounding(caps: &LinuxCapabilities) -> Result<(), CapsError> {
    let last = last_cap()?;
    let keep = mask(caps.bounding().as_ref(), last, "bounding");
    for n in 0..=last {
        if keep & (1 << n) != 0 {
            continue;
        }
        rthread::remove_capability_from_bounding_set(single(n)).map_err(|e| {
            CapsError::DropBounding {
                capability: cap_name(n),
                source: e.into(),
            }
        })?;
    }
    Ok(())
}

/// `PR_SET_KEEPCAPS`: keep permitted capabilities across the uid change in `user::switch`.
pub fn set_keep(keep: bool) -> Result<(), CapsError> {
    rthread::set_keep_capabilities(keep).map_err(|e| CapsError::KeepCaps {
        keep,
        source: e.into(),
    })
}

/// Sets effective, permitted and inheritable (capset), then raises the ambient set.
pub fn apply(caps: &LinuxCapabilities) -> Result<(), CapsError> {
    let last = last_cap()?;
    let effective = mask(caps.effective().as_ref(), last, "effective");
    let permitted = mask(caps.permitted().as_ref(), last, "permitted");
    let inheritable = mask(caps.inheritable().as_ref(), last, "inheritable");
    let sets = CapabilitySets {
        effective: CapabilitySet::from_bits_retain(effective),
        permitted: CapabilitySet::from_bits_retain(permitted),
        inheritable: CapabilitySet::from_bits_retain(inheritable),
    };
    rthread::set_capabilities(None, sets).map_err(|e| CapsError::Capset {
        effective,
        permitted,
        inheritable,
        source: e.into(),
    })?;

    rthread::clear_ambient_capability_set()
        .map_err(|e| CapsError::ClearAmbient { source: e.into() })?;
    let ambient = mask(caps.ambient().as_ref(), last, "ambient");
    for n in (0..=last).filter(|n| ambient & (1 << n) != 0) {
        rthread::configure_capability_in_ambient_set(single(n), true).map_err(|e| {
            CapsError::RaiseAmbient {
                capability: cap_name(n),
                source: e.into(),
            }
        })?;
    }
    Ok(())
}

/// `PR_SET_NO_NEW_PRIVS` (irreversible): `execve` can no longer grant privileges.
pub fn no_new_privs() -> Result<(), CapsError> {
    rthread::set_no_new_privs(true).map_err(|e| CapsError::NoNewPrivs { source: e.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_beyond_the_kernels_last_are_ignored() {
        let set: Capabilities = [Capability::Chown, Capability::Syslog, Capability::Bpf]
            .into_iter()
            .collect();
        // A kernel whose last capability is CAP_AUDIT_CONTROL (30) knows only CAP_CHOWN here.
        assert_eq!(mask(Some(&set), 30, "bounding"), 1);
        assert_eq!(mask(Some(&set), 40, "bounding"), 1 | 1 << 34 | 1 << 39);
        assert_eq!(mask(None, 40, "ambient"), 0);
    }

    #[test]
    fn every_capability_has_a_distinct_number_up_to_40() {
        let mut numbers: Vec<u32> = ALL.iter().map(|c| number(*c)).collect();
        numbers.sort();
        assert_eq!(numbers, (0..=40).collect::<Vec<_>>());
        assert_eq!(cap_name(21), "CAP_SYS_ADMIN");
        assert_eq!(cap_name(63), "capability 63");
    }
}
