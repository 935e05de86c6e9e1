//! The device cgroup rules a container gets: the spec's rules, then (like runc) allow rules
//! for the devices in `linux.devices` and for the standard devices every container needs
//! (/dev/null, zero, full, random, urandom, tty, ptmx, pts/*, tun) plus mknod of anything.

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxResources};
use serde_json::json;

/// (type, major, minor, access); `None` is the `*` wildcard.
const DEFAULT_RULES: &[(&str, Option<i64>, Option<i64>, &str)] = &[
    ("c", None, None, "m"),
    ("b", None, None, "m"),
    ("c", Some(1), Some(3), "rwm"),
    ("c", Some(1), Some(8), "rwm"),
    ("c", Some(1), Some(7), "rwm"),
    ("c", Some(5), Some(0), "rwm"),
    ("c", Some(1), Some(5), "rwm"),
    ("c", Some(1), Some(9), "rwm"),
    ("c", Some(136), None, "rwm"),
    ("c", Some(5), Some(2), "rwm"),
    ("c", Some(10), Some(200), "rwm"),
];

fn rule(
    typ: &str,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> Option<LinuxDeviceCgroup> {
    serde_json::from_value(json!({
        "allow": true, "type": typ, "major": major, "minor": minor, "access": access
    }))
    .ok()
}

/// `resources` with the device rules completed.
pub fn complete(resources: &LinuxResources, devices: &[LinuxDevice]) -> LinuxResources {
    let mut out = resources.clone();
    let mut rules = resources.devices().clone().unwrap_or_default();
    for dev in devices {
        let typ = dev.typ();
        rules.extend(rule(
            typ.as_str(),
            Some(dev.major()),
            Some(dev.minor()),
            "rwm",
        ));
    }
    for (typ, major, minor, access) in DEFAULT_RULES {
        rules.extend(rule(typ, *major, *minor, access));
    }
    out.set_devices(Some(rules));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_defaults_after_the_specs_rules() {
        let resources: LinuxResources =
            serde_json::from_value(json!({"devices": [{"allow": false, "access": "rwm"}]}))
                .unwrap();
        let done = complete(&resources, &[]);
        let rules = done.devices().as_ref().unwrap();
        assert!(!rules[0].allow());
        assert_eq!(rules.len(), 1 + DEFAULT_RULES.len());
        assert_eq!(rules[3].major(), Some(1));
        assert_eq!(rules[3].minor(), Some(3));
    }
}
