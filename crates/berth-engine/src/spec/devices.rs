//! Devices and the device cgroup: Docker's default rules (deny all; allow null, zero, full,
//! random, urandom, tty, console; deny fuse — the runtime adds the standard allow-list and
//! creates the standard nodes itself), `--device` mappings, `--device-cgroup-rule`, and a
//! privileged container's every host device with everything allowed.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use bollard_stubs::models::{DeviceMapping, HostConfig};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

use super::SpecError;

/// Docker's default device cgroup rules after "deny all": (type, major, minor, allow).
const DEFAULT_RULES: &[(LinuxDeviceType, i64, i64, bool)] = &[
    (LinuxDeviceType::C, 1, 5, true),
    (LinuxDeviceType::C, 1, 3, true),
    (LinuxDeviceType::C, 1, 9, true),
    (LinuxDeviceType::C, 1, 8, true),
    (LinuxDeviceType::C, 5, 0, true),
    (LinuxDeviceType::C, 5, 1, true),
    (LinuxDeviceType::C, 10, 229, false),
];

/// /dev entries a privileged container does not get (containerd's `HostDevices`).
const HOST_DEV_SKIP: &[&str] = &[
    "pts",
    "shm",
    "fd",
    "mqueue",
    ".lxc",
    ".lxd-mounts",
    ".udev",
    "console",
];

pub struct Devices {
    pub devices: Vec<LinuxDevice>,
    pub rules: Vec<LinuxDeviceCgroup>,
}

pub fn build(host: &HostConfig, privileged: bool) -> Result<Devices, SpecError> {
    let mut devices = Vec::new();
    let mut rules = Vec::new();
    if privileged {
        host_devices(Path::new("/dev"), &mut devices)?;
        rules.push(rule(true, None, None, None, "rwm"));
    } else {
        rules.push(rule(false, None, None, None, "rwm"));
        for (typ, major, minor, allow) in DEFAULT_RULES {
            rules.push(rule(*allow, Some(*typ), Some(*major), Some(*minor), "rwm"));
        }
    }
    for mapping in host.devices.iter().flatten() {
        mapped(mapping, &mut devices, &mut rules)?;
    }
    for text in host.device_cgroup_rules.iter().flatten() {
        rules.push(parse_rule(text)?);
    }
    Ok(Devices { devices, rules })
}

fn rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(allow);
    r.set_typ(typ);
    r.set_major(major);
    r.set_minor(minor);
    r.set_access(Some(access.to_string()));
    r
}

/// `PathOnHost` (a device node, or a directory of them) appears at `PathInContainer`.
fn mapped(
    mapping: &DeviceMapping,
    devices: &mut Vec<LinuxDevice>,
    rules: &mut Vec<LinuxDeviceCgroup>,
) -> Result<(), SpecError> {
    let on_host = mapping.path_on_host.as_deref().unwrap_or("");
    let spec = format!(
        "{on_host}:{}:{}",
        mapping.path_in_container.as_deref().unwrap_or(""),
        mapping.cgroup_permissions.as_deref().unwrap_or("")
    );
    let invalid = |reason| SpecError::InvalidDevice {
        spec: spec.clone(),
        reason,
    };
    if !on_host.starts_with('/') {
        return Err(invalid("the host path must be absolute"));
    }
    let in_container = match mapping.path_in_container.as_deref() {
        None | Some("") => on_host,
        Some(p) if p.starts_with('/') => p,
        Some(_) => return Err(invalid("the container path must be absolute")),
    };
    let access = match mapping.cgroup_permissions.as_deref() {
        None | Some("") => "rwm",
        Some(p) if p.len() <= 3 && p.chars().all(|c| "rwm".contains(c)) => p,
        Some(_) => return Err(invalid("permissions must be a combination of r, w and m")),
    };
    let resolved = std::fs::canonicalize(on_host).map_err(|source| SpecError::DeviceStat {
        path: on_host.into(),
        source,
    })?;
    let mut found = Vec::new();
    match device_at(&resolved) {
        Some(dev) => found.push((dev, PathBuf::from(in_container))),
        None if resolved.is_dir() => {
            let mut children = Vec::new();
            walk(&resolved, &[], &mut children).map_err(|source| SpecError::DeviceStat {
                path: resolved.clone(),
                source,
            })?;
            for (path, dev) in children {
                let rel = path.strip_prefix(&resolved).unwrap_or(&path);
                found.push((dev, Path::new(in_container).join(rel)));
            }
        }
        None => {}
    }
    if found.is_empty() {
        return Err(SpecError::DeviceStat {
            path: on_host.into(),
            source: std::io::Error::other("not a device node"),
        });
    }
    for (mut dev, path) in found {
        dev.set_path(path);
        rules.push(rule(
            true,
            Some(dev.typ()),
            Some(dev.major()),
            Some(dev.minor()),
            access,
        ));
        devices.push(dev);
    }
    Ok(())
}

/// Every device node below `/dev` (not following symlinks), for privileged containers.
fn host_devices(dev: &Path, out: &mut Vec<LinuxDevice>) -> Result<(), SpecError> {
    let mut found = Vec::new();
    walk(dev, HOST_DEV_SKIP, &mut found).map_err(|source| SpecError::HostDevices {
        path: dev.to_path_buf(),
        source,
    })?;
    out.extend(found.into_iter().map(|(_, d)| d));
    Ok(())
}

fn walk(dir: &Path, skip: &[&str], out: &mut Vec<(PathBuf, LinuxDevice)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if skip.iter().any(|s| entry.file_name() == *s) {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, &[], out)?;
        } else if let Some(dev) = device_at(&path) {
            out.push((path, dev));
        }
    }
    Ok(())
}

/// The device node at `path` (not following a final symlink), as the spec describes it.
fn device_at(path: &Path) -> Option<LinuxDevice> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let typ = if meta.file_type().is_char_device() {
        LinuxDeviceType::C
    } else if meta.file_type().is_block_device() {
        LinuxDeviceType::B
    } else {
        return None;
    };
    let rdev = meta.rdev();
    let mut dev = LinuxDevice::default();
    dev.set_path(path.to_path_buf());
    dev.set_typ(typ);
    dev.set_major(i64::from(rustix::fs::major(rdev)));
    dev.set_minor(i64::from(rustix::fs::minor(rdev)));
    dev.set_file_mode(Some(meta.mode() & 0o7777));
    dev.set_uid(Some(meta.uid()));
    dev.set_gid(Some(meta.gid()));
    Some(dev)
}

/// `c 1:3 rwm`, `b *:* m`, `a *:* rwm`.
fn parse_rule(text: &str) -> Result<LinuxDeviceCgroup, SpecError> {
    let invalid = || SpecError::InvalidDeviceCgroupRule {
        rule: text.to_string(),
    };
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [typ, numbers, access] = fields.as_slice() else {
        return Err(invalid());
    };
    let typ = match *typ {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(invalid()),
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(invalid)?;
    let number = |s: &str| -> Result<Option<i64>, SpecError> {
        match s {
            "*" => Ok(None),
            n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                n.parse().map(Some).map_err(|_| invalid())
            }
            _ => Err(invalid()),
        }
    };
    if access.is_empty() || access.len() > 3 || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(invalid());
    }
    Ok(rule(
        true,
        Some(typ),
        number(major)?,
        number(minor)?,
        access,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_rules_parse_like_docker() {
        let r = parse_rule("c 1:3 mr").unwrap();
        assert_eq!(
            (r.typ(), r.major(), r.minor()),
            (Some(LinuxDeviceType::C), Some(1), Some(3))
        );
        assert_eq!(r.access().as_deref(), Some("mr"));
        let any = parse_rule("a *:* rwm").unwrap();
        assert_eq!((any.major(), any.minor()), (None, None));
        for bad in ["c 1:3", "x 1:3 rwm", "c 1-3 rwm", "c 1:3 rwx", "c :3 r", ""] {
            assert!(parse_rule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn device_mapping_of_dev_null() {
        let host = HostConfig {
            devices: Some(vec![DeviceMapping {
                path_on_host: Some("/dev/null".into()),
                path_in_container: Some("/dev/mynull".into()),
                cgroup_permissions: Some("rw".into()),
            }]),
            ..Default::default()
        };
        let d = build(&host, false).unwrap();
        assert_eq!(d.devices.len(), 1);
        assert_eq!(d.devices[0].path(), Path::new("/dev/mynull"));
        assert_eq!((d.devices[0].major(), d.devices[0].minor()), (1, 3));
        let last = d.rules.last().unwrap();
        assert!(last.allow() && last.access().as_deref() == Some("rw"));
        assert!(!d.rules[0].allow(), "deny-all comes first");
    }

    #[test]
    fn bad_device_mappings_fail() {
        for (on_host, perms) in [
            ("/nonexistent/dev", "rwm"),
            ("/dev/null", "rwx"),
            ("/etc/hostname", "r"),
        ] {
            let host = HostConfig {
                devices: Some(vec![DeviceMapping {
                    path_on_host: Some(on_host.into()),
                    path_in_container: None,
                    cgroup_permissions: Some(perms.into()),
                }]),
                ..Default::default()
            };
            assert!(build(&host, false).is_err(), "{on_host} {perms}");
        }
    }
}
