//! v1 devices: deny everything, then replay the spec's rules in order. When the cgroup already
//! has exactly the wanted rules (an update that does not touch devices) nothing is written:
//! `deny a` would briefly block running processes and fails once sub-cgroups exist.

use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::devices::{DeviceRule, Ruleset};
use crate::{CgroupError, fs};

pub(super) fn set(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    let rules = rules
        .iter()
        .map(DeviceRule::from_oci)
        .collect::<Result<Vec<_>, _>>()?;
    let current = fs::read(dir, "devices.list")?;
    let wanted = Ruleset::from_rules(&rules);
    if Ruleset::from_v1_list(&current).is_some_and(|current| current.is_equivalent(&wanted)) {
        return Ok(());
    }
    fs::write(dir, "devices.deny", "a")?;
    for rule in &rules {
        let file = if rule.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        fs::write(dir, file, &rule.to_v1_string())?;
    }
    Ok(())
}
