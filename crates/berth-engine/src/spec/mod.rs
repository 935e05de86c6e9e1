//! A Docker container config (already merged with its image's) becomes an OCI runtime spec
//! with Docker's secure defaults — what moby's `oci/defaults.go` and `daemon/oci_linux.go`
//! build: namespaces, default mounts, the default capability set, masked and read-only
//! /proc and /sys paths, the device cgroup, the default seccomp profile, the user resolved in
//! the image's /etc/passwd, resources from the HostConfig.
//!
//! `build` reads the host only where Docker does: the rootfs's passwd/group files, host
//! device nodes, the kernel version and capability limits, the cgroup layout.

mod caps;
mod devices;
mod error;
mod init;
mod merge;
mod mounts;
mod namespaces;
mod process;
mod resources;
mod rootfs_file;
pub mod seccomp;
mod security;
mod tmpfs;
mod user;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;

use bollard_stubs::models::{ContainerConfig, HostConfig};
use oci_spec::runtime::{Linux, Root, Spec};

pub use caps::DEFAULT as DEFAULT_CAPABILITIES;
pub use error::SpecError;
pub use init::init_binary;
pub use merge::{DEFAULT_PATH, merge_image_config, process_args};
pub use mounts::INIT_PATH;
pub use process::daemon_env;
pub use user::{ResolvedUser, resolve as resolve_user};

pub(crate) use mounts::mount as oci_mount;
pub(crate) use tmpfs::mount_for as tmpfs_mount;

/// Host files bind-mounted at /etc/hosts, /etc/hostname and /etc/resolv.conf.
#[derive(Debug, Clone, Copy)]
pub struct EtcFiles<'a> {
    pub hosts: &'a Path,
    pub hostname: &'a Path,
    pub resolv_conf: &'a Path,
}

/// Everything one container's spec is built from.
#[derive(Debug, Clone)]
pub struct SpecInput<'a> {
    pub id: &'a str,
    /// Already merged with the image config ([`merge_image_config`]).
    pub config: &'a ContainerConfig,
    pub host: &'a HostConfig,
    /// Absolute path of the container's mounted rootfs.
    pub rootfs: &'a Path,
    pub etc: EtcFiles<'a>,
    /// `/berth/<id>`.
    pub cgroups_path: String,
    /// The network namespace the daemon prepares for the container (its network setup),
    /// joined instead of a new empty one; `None` for a fresh namespace (or host networking).
    pub netns: Option<&'a Path>,
}

/// Docker's default masked paths (`/proc/interrupts` and the per-CPU `thermal_throttle`
/// directories since Docker 28, `/sys/devices/virtual/powercap` since 25).
const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The sysctls Docker sets in a container with its own network namespace (unprivileged ping
/// and low ports), unless the HostConfig sets them.
const NETWORK_SYSCTLS: &[(&str, &str)] = &[
    ("net.ipv4.ip_unprivileged_port_start", "0"),
    ("net.ipv4.ping_group_range", "0 2147483647"),
];

/// The container's runtime spec, its `Binds` mounted as given (named volumes refused): for
/// callers without the volume service.
pub fn build(input: &SpecInput) -> Result<Spec, SpecError> {
    build_spec(input, None)
}

/// The container's runtime spec with the volume service's resolved mounts
/// (`Engine::resolve_mounts`) in place of the `Binds`.
pub fn build_with_mounts(
    input: &SpecInput,
    resolved: &[oci_spec::runtime::Mount],
) -> Result<Spec, SpecError> {
    build_spec(input, Some(resolved))
}

fn build_spec(
    input: &SpecInput,
    resolved: Option<&[oci_spec::runtime::Mount]>,
) -> Result<Spec, SpecError> {
    let config = input.config;
    let host = input.host;
    let privileged = host.privileged.unwrap_or(false);
    let readonly_rootfs = host.readonly_rootfs.unwrap_or(false);
    let security = security::parse(host.security_opt.as_deref().unwrap_or_default())?;
    let caps = caps::container_caps(
        host.cap_add.as_deref().unwrap_or_default(),
        host.cap_drop.as_deref().unwrap_or_default(),
        privileged,
    )?;
    let user = user::resolve(
        input.rootfs,
        config.user.as_deref().unwrap_or(""),
        host.group_add.as_deref().unwrap_or_default(),
    )?;
    let namespaces = namespaces::build(host, input.netns)?;
    let hostname = match config.hostname.as_deref() {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => input.id.chars().take(12).collect(),
    };
    let init = match host.init {
        Some(true) => Some(init::init_binary()?),
        _ => None,
    };
    let mut process = process::build(&process::ProcessInput {
        config,
        host,
        hostname: &hostname,
        user: &user,
        caps: &caps,
        security: &security,
    })?;
    let (mounts, rootfs_propagation) = mounts::build(
        host,
        &mounts::MountContext {
            etc: &input.etc,
            privileged,
            readonly_rootfs,
            resolved,
            init: init.as_deref(),
        },
    )?;
    if init.is_some() {
        init::wrap_args(&mut process);
    }
    let devices = devices::build(host, privileged)?;
    let resources = resources::build(host, devices.rules)?;
    let seccomp = seccomp::for_container(&security.seccomp, privileged, &caps)?;

    let unconfined = privileged || security.unconfined_paths;
    let mut linux = Linux::default();
    linux.set_namespaces(Some(namespaces.list));
    linux.set_devices(Some(devices.devices));
    linux.set_resources(Some(resources));
    linux.set_cgroups_path(Some(input.cgroups_path.clone().into()));
    linux.set_masked_paths(Some(if unconfined {
        Vec::new()
    } else {
        host.masked_paths
            .clone()
            .unwrap_or_else(default_masked_paths)
    }));
    linux.set_readonly_paths(Some(if unconfined {
        Vec::new()
    } else {
        host.readonly_paths
            .clone()
            .unwrap_or_else(|| READONLY_PATHS.iter().map(|p| p.to_string()).collect())
    }));
    let mut sysctl = sysctls(host, namespaces.network);
    // Docker sets the NIS domain name through the sysctl, not the spec's `domainname`.
    if let Some(domain) = config.domainname.as_deref().filter(|d| !d.is_empty())
        && namespaces.uts == namespaces::Mode::Private
    {
        sysctl.insert("kernel.domainname".to_string(), domain.to_string());
    }
    linux.set_sysctl(Some(sysctl));
    linux.set_seccomp(seccomp);
    linux.set_rootfs_propagation(rootfs_propagation);
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);

    let mut root = Root::default();
    root.set_path(input.rootfs.to_path_buf());
    root.set_readonly(Some(readonly_rootfs));

    let mut spec = Spec::default();
    spec.set_version("1.2.0".to_string());
    spec.set_process(Some(process));
    spec.set_root(Some(root));
    spec.set_hostname((namespaces.uts == namespaces::Mode::Private).then_some(hostname));
    spec.set_domainname(None);
    spec.set_mounts(Some(mounts));
    spec.set_annotations(None);
    spec.set_linux(Some(linux));
    Ok(spec)
}

/// Docker's list plus each CPU's `thermal_throttle` directory present on this host.
fn default_masked_paths() -> Vec<String> {
    let mut paths: Vec<String> = MASKED_PATHS.iter().map(|p| p.to_string()).collect();
    let mut throttles: Vec<String> = std::fs::read_dir("/sys/devices/system/cpu")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_prefix("cpu")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|e| e.path().join("thermal_throttle"))
        .filter(|p| p.exists())
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    throttles.sort();
    paths.extend(throttles);
    paths
}

fn sysctls(host: &HostConfig, network: namespaces::Mode) -> HashMap<String, String> {
    let mut sysctls = host.sysctls.clone().unwrap_or_default();
    if network == namespaces::Mode::Private {
        for (key, value) in NETWORK_SYSCTLS {
            sysctls
                .entry(key.to_string())
                .or_insert_with(|| value.to_string());
        }
    }
    sysctls
}
