//! v1 cpuset: a new cgroup starts with empty cpus/mems, and tasks cannot join it until they are
//! filled, so (like runc) each new level inherits its parent's values.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::{CgroupError, fs};

const FILES: [&str; 2] = ["cpuset.cpus", "cpuset.mems"];

/// Creates `dir` level by level below `mountpoint`, copying cpus/mems down where empty.
pub(super) fn create_with_parent_values(mountpoint: &Path, dir: &Path) -> Result<(), CgroupError> {
    let Ok(relative) = dir.strip_prefix(mountpoint) else {
        return fs::create_dir_all(dir);
    };
    let mut parent = mountpoint.to_path_buf();
    for component in relative.components() {
        let current = parent.join(component);
        fs::create_dir_all(&current)?;
        for file in FILES {
            if fs::read(&current, file)?.trim().is_empty() {
                let inherited = fs::read(&parent, file)?;
                fs::write(&current, file, inherited.trim())?;
            }
        }
        parent = current;
    }
    Ok(())
}

pub(super) fn set(dir: Option<&Path>, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    let cpus = cpu.cpus().as_deref().filter(|v| !v.is_empty());
    let mems = cpu.mems().as_deref().filter(|v| !v.is_empty());
    if cpus.is_none() && mems.is_none() {
        return Ok(());
    }
    let dir = super::require_dir(dir, "cpuset", "linux.resources.cpu.cpus/mems")?;
    if let Some(cpus) = cpus {
        fs::write(dir, "cpuset.cpus", cpus)?;
    }
    if let Some(mems) = mems {
        fs::write(dir, "cpuset.mems", mems)?;
    }
    Ok(())
}
