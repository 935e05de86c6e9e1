//! `linux.sysctl`: only sysctls that live in a namespace the container owns (runc's rules),
//! written under /proc/sys without following any link out of it.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use super::error::{RootfsError, SysctlRejection};
use super::resolve::open_beneath_for_write;
use super::sys::{self, SysError};

/// IPC-namespaced sysctls besides `fs.mqueue.*`.
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Checks `key` against the container's namespaces and returns its path below /proc/sys.
/// `.` separates components; `/` stands for a literal `.` inside one (`eth0/1` → `eth0.1`),
/// as in sysctl(8).
pub fn validate(key: &str, namespaces: &[LinuxNamespace]) -> Result<PathBuf, SysctlRejection> {
    let has = |typ| namespaces.iter().any(|n| n.typ() == typ);
    if key.starts_with("fs.mqueue.") || IPC_SYSCTLS.contains(&key) {
        if !has(LinuxNamespaceType::Ipc) {
            return Err(SysctlRejection::NeedsIpcNamespace);
        }
    } else if key.starts_with("net.") {
        if !has(LinuxNamespaceType::Network) {
            return Err(SysctlRejection::NeedsNetNamespace);
        }
    } else if key == "kernel.hostname" && has(LinuxNamespaceType::Uts) {
        return Err(SysctlRejection::Hostname);
    } else if !(key == "kernel.domainname" && has(LinuxNamespaceType::Uts)) {
        return Err(SysctlRejection::NotNamespaced);
    }
    let mut path = PathBuf::new();
    for part in key.split('.') {
        let part = part.replace('/', ".");
        if part.is_empty() || part == "." || part == ".." || part.contains('\0') {
            return Err(SysctlRejection::Malformed);
        }
        path.push(part);
    }
    Ok(path)
}

/// Writes every sysctl of the spec (after pivot, with the container's /proc mounted).
pub fn apply(
    sysctls: &std::collections::HashMap<String, String>,
    namespaces: &[LinuxNamespace],
) -> Result<(), RootfsError> {
    if sysctls.is_empty() {
        return Ok(());
    }
    // Validate everything before writing anything.
    let mut checked = Vec::with_capacity(sysctls.len());
    for (key, value) in sysctls {
        let path = validate(key, namespaces).map_err(|reason| RootfsError::InvalidSysctl {
            key: key.clone(),
            reason,
        })?;
        checked.push((key, path, value));
    }
    let fail = |key: &str, call, path: &Path, errno| RootfsError::Sysctl {
        key: key.to_string(),
        source: SysError {
            call,
            path: Path::new("/proc/sys").join(path),
            errno,
        },
    };
    let first = checked[0].0.as_str();
    let proc_sys =
        sys::open_dir_path(Path::new("/proc/sys")).map_err(|source| RootfsError::Sysctl {
            key: first.to_string(),
            source,
        })?;
    match sys::fs_type(proc_sys.as_fd()) {
        Ok(sys::PROC_SUPER_MAGIC) => {}
        Ok(_) => {
            return Err(fail(
                first,
                "fstatfs",
                Path::new(""),
                rustix::io::Errno::XDEV,
            ));
        }
        Err(errno) => return Err(fail(first, "fstatfs", Path::new(""), errno)),
    }
    for (key, path, value) in checked {
        let fd = open_beneath_for_write(proc_sys.as_fd(), &path)
            .map_err(|e| fail(key, "openat2", &path, e))?;
        sys::write_all(fd.as_fd(), value.as_bytes()).map_err(|e| fail(key, "write", &path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(types: &[LinuxNamespaceType]) -> Vec<LinuxNamespace> {
        types
            .iter()
            .map(|t| {
                let mut n = LinuxNamespace::default();
                n.set_typ(*t);
                n
            })
            .collect()
    }

    #[test]
    fn only_namespaced_sysctls_pass() {
        use LinuxNamespaceType::*;
        let all = ns(&[Ipc, Network, Uts]);
        assert_eq!(
            validate("net.ipv4.ip_forward", &all).unwrap(),
            Path::new("net/ipv4/ip_forward")
        );
        assert_eq!(
            validate("net.ipv4.conf.eth0/1.forwarding", &all).unwrap(),
            Path::new("net/ipv4/conf/eth0.1/forwarding")
        );
        assert!(validate("kernel.shmmax", &all).is_ok());
        assert!(validate("fs.mqueue.msg_max", &all).is_ok());
        assert!(validate("kernel.domainname", &all).is_ok());
        assert_eq!(
            validate("kernel.hostname", &all),
            Err(SysctlRejection::Hostname)
        );
        assert_eq!(
            validate("kernel.core_pattern", &all),
            Err(SysctlRejection::NotNamespaced)
        );
        assert_eq!(
            validate("vm.swappiness", &all),
            Err(SysctlRejection::NotNamespaced)
        );
        assert_eq!(
            validate("net.ipv4.ip_forward", &ns(&[Ipc])),
            Err(SysctlRejection::NeedsNetNamespace)
        );
        assert_eq!(
            validate("kernel.sem", &ns(&[Network])),
            Err(SysctlRejection::NeedsIpcNamespace)
        );
    }

    #[test]
    fn path_tricks_are_malformed() {
        let all = ns(&[LinuxNamespaceType::Network]);
        for key in ["net..ipv4", "net./..", "net.//..", "net.ipv4.", "net.a\0b"] {
            assert_eq!(
                validate(key, &all),
                Err(SysctlRejection::Malformed),
                "{key:?}"
            );
        }
    }
}
