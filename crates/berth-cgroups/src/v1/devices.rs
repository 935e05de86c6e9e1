//! v1 devices: deny everything, then replay the spec's rules in order.

use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::devices::DeviceRule;
use crate::{CgroupError, fs};

pub(super) fn set(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    let rules = rules
        .iter()
        .map(DeviceRule::from_oci)
        .collect::<Result<Vec<_>, _>>()?;
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
