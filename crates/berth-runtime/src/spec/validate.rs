//! Semantic checks on a parsed spec, so a bad config fails `create` before anything exists,
//! with the name of the offending field.

use std::collections::HashSet;
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::SpecError;

/// Checks the fields the runtime relies on. `rootfs` is the resolved `root.path`.
pub fn validate(spec: &Spec, rootfs: &Path) -> Result<(), SpecError> {
    check_version(spec.version())?;
    if !rootfs.is_dir() {
        return Err(SpecError::invalid(
            "root.path",
            format!("{} is not a directory", rootfs.display()),
        ));
    }
    check_process(spec)?;
    check_linux(spec)?;
    check_mounts(spec)?;
    check_hooks(spec)?;
    Ok(())
}

fn check_version(version: &str) -> Result<(), SpecError> {
    let major = version.split('.').next().unwrap_or("");
    if version.is_empty() {
        return Err(SpecError::invalid("ociVersion", "missing"));
    }
    if major != "1" {
        return Err(SpecError::invalid(
            "ociVersion",
            format!("unsupported version {version:?} (need 1.x)"),
        ));
    }
    Ok(())
}

fn check_process(spec: &Spec) -> Result<(), SpecError> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| SpecError::invalid("process", "missing"))?;
    match process.args() {
        Some(args) if !args.is_empty() && !args[0].is_empty() => {}
        _ => {
            return Err(SpecError::invalid(
                "process.args",
                "must contain at least the program",
            ));
        }
    }
    if !process.cwd().is_absolute() {
        return Err(SpecError::invalid(
            "process.cwd",
            format!("{} is not absolute", process.cwd().display()),
        ));
    }
    for (i, env) in process.env().iter().flatten().enumerate() {
        if !env.contains('=') || env.starts_with('=') {
            return Err(SpecError::invalid(
                format!("process.env[{i}]"),
                format!("{env:?} is not KEY=value"),
            ));
        }
    }
    Ok(())
}

fn check_linux(spec: &Spec) -> Result<(), SpecError> {
    let Some(linux) = spec.linux() else {
        return Err(SpecError::invalid(
            "linux",
            "missing (berth-runc runs Linux containers)",
        ));
    };
    let mut seen = HashSet::new();
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    for (i, ns) in namespaces.iter().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(SpecError::invalid(
                format!("linux.namespaces[{i}].type"),
                format!("namespace {} listed twice", ns.typ()),
            ));
        }
        if let Some(path) = ns.path()
            && !path.is_absolute()
        {
            return Err(SpecError::invalid(
                format!("linux.namespaces[{i}].path"),
                "must be absolute",
            ));
        }
    }
    let has = |t| seen.contains(&t);
    let maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    let new_userns = namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    if maps && !has(LinuxNamespaceType::User) {
        return Err(SpecError::invalid(
            "linux.uidMappings",
            "mappings need a user namespace",
        ));
    }
    if new_userns && !maps {
        return Err(SpecError::invalid(
            "linux.uidMappings",
            "a new user namespace needs uid and gid mappings",
        ));
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(SpecError::invalid(
            "hostname",
            "setting a hostname needs a uts namespace",
        ));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(SpecError::invalid(
            "domainname",
            "setting a domainname needs a uts namespace",
        ));
    }
    if !has(LinuxNamespaceType::Mount) {
        return Err(SpecError::invalid(
            "linux.namespaces",
            "a mount namespace is required",
        ));
    }
    for (field, paths) in [
        ("linux.maskedPaths", linux.masked_paths()),
        ("linux.readonlyPaths", linux.readonly_paths()),
    ] {
        for (i, p) in paths.iter().flatten().enumerate() {
            if !p.starts_with('/') {
                return Err(SpecError::invalid(
                    format!("{field}[{i}]"),
                    format!("{p:?} is not absolute"),
                ));
            }
        }
    }
    if let Some(path) = linux.cgroups_path()
        && path.to_string_lossy().contains(':')
        && !path.is_absolute()
    {
        return Err(SpecError::invalid(
            "linux.cgroupsPath",
            "systemd-style slice:prefix:name paths need the systemd cgroup driver, which berth-runc does not support",
        ));
    }
    for (i, dev) in linux.devices().iter().flatten().enumerate() {
        if !dev.path().is_absolute() {
            return Err(SpecError::invalid(
                format!("linux.devices[{i}].path"),
                "must be absolute",
            ));
        }
    }
    Ok(())
}

fn check_mounts(spec: &Spec) -> Result<(), SpecError> {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            return Err(SpecError::invalid(
                format!("mounts[{i}].destination"),
                format!("{} is not absolute", m.destination().display()),
            ));
        }
    }
    Ok(())
}

fn check_hooks(spec: &Spec) -> Result<(), SpecError> {
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    #[allow(deprecated)]
    let lists = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    for (name, list) in lists {
        for (i, hook) in list.iter().flatten().enumerate() {
            if !hook.path().is_absolute() {
                return Err(SpecError::invalid(
                    format!("hooks.{name}[{i}].path"),
                    "must be absolute",
                ));
            }
        }
    }
    Ok(())
}
