//! The container's mounts as moby's `WithMounts` makes them: Docker's default filesystems
//! (minus any a user mount replaces), then the user's — the /etc/hosts, /etc/hostname and
//! /etc/resolv.conf files, `Binds` and `Tmpfs` — sorted so parents mount before children.

use std::collections::HashSet;
use std::path::{Component, Path};

use bollard_stubs::models::HostConfig;
use oci_spec::runtime::Mount;

use super::{EtcFiles, SpecError, tmpfs};

/// Docker's default /dev/shm size (64 MiB) when `ShmSize` is unset.
pub const DEFAULT_SHM_SIZE: i64 = 64 << 20;

/// Docker's default mounts: (destination, type, source, options).
const DEFAULTS: &[(&str, &str, &str, &[&str])] = &[
    ("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
    (
        "/dev",
        "tmpfs",
        "tmpfs",
        &["nosuid", "strictatime", "mode=755", "size=65536k"],
    ),
    (
        "/dev/pts",
        "devpts",
        "devpts",
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ],
    ),
    (
        "/sys",
        "sysfs",
        "sysfs",
        &["nosuid", "noexec", "nodev", "ro"],
    ),
    (
        "/sys/fs/cgroup",
        "cgroup",
        "cgroup",
        &["ro", "nosuid", "noexec", "nodev"],
    ),
    (
        "/dev/mqueue",
        "mqueue",
        "mqueue",
        &["nosuid", "noexec", "nodev"],
    ),
    (
        "/dev/shm",
        "tmpfs",
        "shm",
        &["nosuid", "noexec", "nodev", "mode=1777"],
    ),
];

/// Bind propagation modes, and the rootfs propagation each one needs (Docker keeps the root
/// shared for shared volumes, at least slave for slave ones).
const PROPAGATION: &[&str] = &[
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
];

/// Everything `build` needs that is not in the HostConfig.
pub struct MountContext<'a> {
    pub etc: &'a EtcFiles<'a>,
    pub privileged: bool,
    pub readonly_rootfs: bool,
    /// The volume service's mounts (volumes, binds, `--mount`, `--volumes-from`); when
    /// given they replace the `Binds` (which they already contain).
    pub resolved: Option<&'a [Mount]>,
    /// The `--init` binary, bind-mounted read-only at [`INIT_PATH`].
    pub init: Option<&'a Path>,
}

/// Where Docker puts its init in the container.
pub const INIT_PATH: &str = "/sbin/docker-init";

/// The mounts, and the rootfs propagation the binds require (`None`: the runtime's default).
pub fn build(
    host: &HostConfig,
    ctx: &MountContext<'_>,
) -> Result<(Vec<Mount>, Option<String>), SpecError> {
    let mut user: Vec<Mount> = Vec::new();
    let mut root_propagation = None;
    let etc_options: &[&str] = if ctx.readonly_rootfs {
        &["rbind", "ro", "rprivate"]
    } else {
        &["rbind", "rprivate"]
    };
    match ctx.resolved {
        Some(resolved) => {
            for m in resolved {
                root_propagation = stronger(root_propagation, root_propagation_for(m));
                user.push(m.clone());
            }
        }
        None => {
            for spec in host.binds.iter().flatten() {
                let (bind, propagation) = parse_bind(spec)?;
                root_propagation = stronger(root_propagation, propagation);
                user.push(bind);
            }
        }
    }
    if let Some(init) = ctx.init {
        user.push(mount(
            INIT_PATH,
            "bind",
            &init.to_string_lossy(),
            &["bind", "ro", "rprivate"],
        ));
    }
    for (destination, source) in [
        ("/etc/resolv.conf", ctx.etc.resolv_conf),
        ("/etc/hostname", ctx.etc.hostname),
        ("/etc/hosts", ctx.etc.hosts),
    ] {
        user.push(mount(
            destination,
            "bind",
            &source.to_string_lossy(),
            etc_options,
        ));
    }
    let mut tmpfs_mounts: Vec<(&String, &String)> = host.tmpfs.iter().flatten().collect();
    tmpfs_mounts.sort();
    for (destination, options) in tmpfs_mounts {
        user.push(tmpfs::mount_for(destination, options)?);
    }
    let mut seen = HashSet::new();
    for m in &user {
        if !seen.insert(m.destination().clone()) {
            return Err(SpecError::DuplicateMount {
                destination: m.destination().display().to_string(),
            });
        }
    }
    user.sort_by_key(|m| depth(m.destination()));

    let ipc = host.ipc_mode.as_deref().unwrap_or("");
    let user_dev = seen.contains(Path::new("/dev"));
    let mut mounts = Vec::new();
    for (destination, typ, source, options) in DEFAULTS {
        if seen.contains(Path::new(destination)) || (user_dev && destination.starts_with("/dev/")) {
            continue;
        }
        let mut options: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        if ctx.privileged && (*typ == "sysfs" || *typ == "cgroup") {
            options.retain(|o| o != "ro");
        }
        if *destination == "/dev/shm" {
            match ipc {
                "none" => continue,
                "host" => {
                    mounts.push(mount(
                        destination,
                        "bind",
                        "/dev/shm",
                        &["rbind", "rprivate"],
                    ));
                    continue;
                }
                _ => {
                    let size = host.shm_size.filter(|s| *s > 0).unwrap_or(DEFAULT_SHM_SIZE);
                    options.push(format!("size={size}"));
                }
            }
        }
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        mounts.push(mount(destination, typ, source, &options));
    }
    mounts.extend(user);
    Ok((mounts, root_propagation))
}

pub fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(destination.into());
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(source.into()));
    m.set_options(Some(options.iter().map(|o| o.to_string()).collect()));
    m
}

/// `/host:/container[:opts]`, opts among ro, rw, z, Z, nocopy and one propagation mode.
fn parse_bind(spec: &str) -> Result<(Mount, Option<&'static str>), SpecError> {
    let invalid = |reason| SpecError::InvalidBind {
        spec: spec.to_string(),
        reason,
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, destination, mode) = match parts.as_slice() {
        [source, destination] => (*source, *destination, ""),
        [source, destination, mode] => (*source, *destination, *mode),
        [_] => return Err(invalid("anonymous volumes are not supported here")),
        _ => return Err(invalid("too many colons")),
    };
    if source.is_empty() {
        return Err(invalid("empty source"));
    }
    if !source.starts_with('/') {
        return Err(SpecError::NamedVolume {
            name: source.to_string(),
        });
    }
    check_destination(destination).map_err(invalid)?;
    let mut readonly = None;
    let mut propagation = None;
    for opt in mode.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" | "rw" if readonly.is_some() => return Err(invalid("ro and rw both given")),
            "ro" => readonly = Some(true),
            "rw" => readonly = Some(false),
            "z" | "Z" | "nocopy" => {}
            p if PROPAGATION.contains(&p) => {
                if propagation.is_some() {
                    return Err(invalid("more than one propagation mode"));
                }
                propagation = PROPAGATION.iter().copied().find(|known| *known == p);
            }
            _ => return Err(invalid("unknown mode")),
        }
    }
    let mut options = vec!["rbind"];
    if readonly == Some(true) {
        options.push("ro");
    }
    options.push(propagation.unwrap_or("rprivate"));
    Ok((
        mount(destination, "bind", source, &options),
        root_propagation_needed(propagation),
    ))
}

/// Docker keeps the root shared for shared binds, at least slave for slave ones.
fn root_propagation_needed(propagation: Option<&str>) -> Option<&'static str> {
    match propagation {
        Some("shared" | "rshared") => Some("rshared"),
        Some("slave" | "rslave") => Some("rslave"),
        _ => None,
    }
}

/// The rootfs propagation a resolved bind mount needs (from its options).
fn root_propagation_for(m: &Mount) -> Option<&'static str> {
    let options = m.options().as_deref().unwrap_or_default();
    options
        .iter()
        .filter_map(|o| root_propagation_needed(Some(o.as_str())))
        .next()
}

/// Absolute, clean enough to compare, and not `/` itself.
pub fn check_destination(destination: &str) -> Result<(), &'static str> {
    if !destination.starts_with('/') {
        return Err("destination must be an absolute path");
    }
    if Path::new(destination)
        .components()
        .all(|c| matches!(c, Component::RootDir))
    {
        return Err("destination can't be '/'");
    }
    Ok(())
}

fn stronger(current: Option<String>, wanted: Option<&str>) -> Option<String> {
    match (current.as_deref(), wanted) {
        (Some("rshared"), _) | (_, None) => current,
        (_, Some(w)) => Some(w.to_string()),
    }
}

fn depth(path: &Path) -> usize {
    path.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count()
}
