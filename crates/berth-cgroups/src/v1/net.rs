//! v1 net_cls (class id) and net_prio (per-interface priorities).

use std::path::Path;

use oci_spec::runtime::LinuxNetwork;

use crate::{CgroupError, fs};

pub(super) fn set(
    cls_dir: Option<&Path>,
    prio_dir: Option<&Path>,
    network: &LinuxNetwork,
) -> Result<(), CgroupError> {
    if let Some(class_id) = network.class_id().filter(|&id| id != 0) {
        let dir = super::require_dir(cls_dir, "net_cls", "linux.resources.network.classID")?;
        fs::write(dir, "net_cls.classid", &class_id.to_string())?;
    }
    let priorities = network.priorities().as_deref().unwrap_or_default();
    if !priorities.is_empty() {
        let dir = super::require_dir(prio_dir, "net_prio", "linux.resources.network.priorities")?;
        for priority in priorities {
            let line = format!("{} {}", priority.name(), priority.priority());
            fs::write(dir, "net_prio.ifpriomap", &line)?;
        }
    }
    Ok(())
}
