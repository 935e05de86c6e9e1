//! The container's namespaces: Docker's mount, network, uts, pid, ipc (+ cgroup when the
//! cgroup namespace mode is private, Docker's default on cgroup v2 hosts), minus those the
//! HostConfig shares with the host (`--network host`, `--pid host`, ...).

use bollard_stubs::models::{HostConfig, HostConfigCgroupnsModeEnum};
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use super::SpecError;

/// How one namespace is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Private,
    Host,
}

/// The namespaces, and whether the container has its own network and UTS namespace.
#[derive(Debug, Clone)]
pub struct Namespaces {
    pub list: Vec<LinuxNamespace>,
    pub network: Mode,
    pub uts: Mode,
}

/// `netns`: a network namespace prepared by the daemon (bridge networking) to join instead of
/// creating an empty one.
pub fn build(host: &HostConfig, netns: Option<&std::path::Path>) -> Result<Namespaces, SpecError> {
    // `container:<id>` joins the owner's namespace: the network service bind-mounts it at the
    // joiner's own netns path, so the spec joins that path like any prepared namespace.
    let network = match host.network_mode.as_deref() {
        Some(m) if m.starts_with("container:") && netns.is_some() => Mode::Private,
        other => mode("NetworkMode", other)?,
    };
    let uts = mode("UTSMode", host.uts_mode.as_deref())?;
    let pid = mode("PidMode", host.pid_mode.as_deref())?;
    let ipc = mode("IpcMode", host.ipc_mode.as_deref())?;
    match host.userns_mode.as_deref().unwrap_or("") {
        "" | "host" => {}
        other => {
            return Err(SpecError::UnsupportedMode {
                option: "UsernsMode",
                mode: other.to_string(),
            });
        }
    }
    let cgroup = match host.cgroupns_mode {
        Some(HostConfigCgroupnsModeEnum::PRIVATE) => Mode::Private,
        Some(HostConfigCgroupnsModeEnum::HOST) => Mode::Host,
        _ if cgroup_v2_host() => Mode::Private,
        _ => Mode::Host,
    };
    let mut list = vec![namespace(LinuxNamespaceType::Mount)];
    for (mode, typ) in [
        (network, LinuxNamespaceType::Network),
        (uts, LinuxNamespaceType::Uts),
        (pid, LinuxNamespaceType::Pid),
        (ipc, LinuxNamespaceType::Ipc),
        (cgroup, LinuxNamespaceType::Cgroup),
    ] {
        if mode == Mode::Private {
            let mut ns = namespace(typ);
            if typ == LinuxNamespaceType::Network
                && let Some(path) = netns
            {
                ns.set_path(Some(path.to_path_buf()));
            }
            list.push(ns);
        }
    }
    Ok(Namespaces { list, network, uts })
}

/// "host" shares the host's; joining another container's (`container:<id>`, other than the
/// network's, which `build` handles) is not supported here yet; anything else (bridge, none, private, shareable, a network name) is private.
fn mode(option: &'static str, value: Option<&str>) -> Result<Mode, SpecError> {
    match value.unwrap_or("") {
        "host" => Ok(Mode::Host),
        v if v.starts_with("container:") || v.starts_with("ns:") => {
            Err(SpecError::UnsupportedMode {
                option,
                mode: v.to_string(),
            })
        }
        _ => Ok(Mode::Private),
    }
}

fn namespace(typ: LinuxNamespaceType) -> LinuxNamespace {
    let mut ns = LinuxNamespace::default();
    ns.set_typ(typ);
    ns
}

/// Whether /sys/fs/cgroup is the unified (v2) hierarchy.
fn cgroup_v2_host() -> bool {
    matches!(
        berth_cgroups::detect(),
        Ok(berth_cgroups::Hierarchy::V2 { .. })
    )
}
