//! The container's capability set: Docker's defaults tweaked by CapAdd/CapDrop (moby's
//! `caps.TweakCapabilities`), or everything for a privileged container.

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use super::SpecError;

/// Docker's default capabilities, in Docker's order.
pub const DEFAULT: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability Linux defines, indexed by number.
const KNOWN: [&str; 41] = berth_runtime::process::caps::ALL_NAMES;

const ALL: &str = "ALL";

/// The capability names (`CAP_*`, ordered, no duplicates) the container gets.
pub fn container_caps(
    add: &[String],
    drop: &[String],
    privileged: bool,
) -> Result<Vec<String>, SpecError> {
    if privileged {
        return Ok(available());
    }
    let add = normalize(add)?;
    let drop = normalize(drop)?;
    let mut caps: Vec<String> = if add.iter().any(|c| c == ALL) {
        available()
            .into_iter()
            .filter(|c| !drop.contains(c))
            .collect()
    } else if drop.iter().any(|c| c == ALL) {
        add
    } else {
        DEFAULT
            .iter()
            .map(|c| c.to_string())
            .filter(|c| !drop.contains(c))
            .chain(add)
            .collect()
    };
    let mut seen = Vec::with_capacity(caps.len());
    caps.retain(|c| {
        let new = !seen.contains(c);
        seen.push(c.clone());
        new
    });
    Ok(caps)
}

/// Docker's spec (moby `oci.SetCapabilities`): bounding = effective = permitted for root; only
/// the bounding set for any other uid, matching what execve leaves it. Never inheritable or
/// ambient.
pub fn to_oci(caps: &[String], root: bool) -> Result<LinuxCapabilities, SpecError> {
    let set: Capabilities = caps
        .iter()
        .map(|name| {
            serde_json::from_value::<Capability>(serde_json::Value::String(name.clone()))
                .map_err(|_| SpecError::UnknownCapability { name: name.clone() })
        })
        .collect::<Result<_, _>>()?;
    let mut oci = LinuxCapabilities::default();
    oci.set_bounding(Some(set.clone()));
    oci.set_effective(root.then(|| set.clone()));
    oci.set_permitted(root.then_some(set));
    oci.set_inheritable(None);
    oci.set_ambient(None);
    Ok(oci)
}

/// `chown`, `cap_chown`, `CAP_CHOWN` → `CAP_CHOWN`; `all` → `ALL`; unknown names are an error.
fn normalize(list: &[String]) -> Result<Vec<String>, SpecError> {
    list.iter()
        .map(|raw| {
            let upper = raw.trim().to_ascii_uppercase();
            if upper == ALL {
                return Ok(upper);
            }
            let name = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            if KNOWN.contains(&name.as_str()) {
                Ok(name)
            } else {
                Err(SpecError::UnknownCapability { name })
            }
        })
        .collect()
}

/// "All capabilities": those the running kernel has (`cap_last_cap`) and that this process
/// can still grant (its own bounding set; e.g. a VM may withhold CAP_SYS_RESOURCE).
fn available() -> Vec<String> {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(KNOWN.len() - 1);
    let bounding = own_bounding_set().unwrap_or(u64::MAX);
    KNOWN
        .iter()
        .enumerate()
        .filter(|(n, _)| *n <= last && bounding & (1u64 << n) != 0)
        .map(|(_, name)| name.to_string())
        .collect()
}

fn own_bounding_set() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapBnd:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(list: &[&str]) -> Vec<String> {
        list.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn defaults_without_tweaks() {
        assert_eq!(container_caps(&[], &[], false).unwrap(), s(&DEFAULT));
    }

    #[test]
    fn add_and_drop_accept_any_case_and_prefix() {
        let caps = container_caps(
            &s(&["sys_admin", "Cap_Net_Admin"]),
            &s(&["chown", "CAP_KILL"]),
            false,
        )
        .unwrap();
        assert!(caps.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(!caps.contains(&"CAP_KILL".to_string()));
        assert_eq!(caps.len(), DEFAULT.len());
    }

    #[test]
    fn drop_all_keeps_only_the_added() {
        let caps = container_caps(&s(&["NET_BIND_SERVICE"]), &s(&["all"]), false).unwrap();
        assert_eq!(caps, s(&["CAP_NET_BIND_SERVICE"]));
    }

    #[test]
    fn add_all_minus_drops() {
        let caps = container_caps(&s(&["ALL"]), &s(&["SYS_ADMIN"]), false).unwrap();
        assert!(!caps.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(caps.contains(&"CAP_SYS_PTRACE".to_string()));
    }

    #[test]
    fn unknown_capability_is_an_invalid_argument() {
        let err = container_caps(&s(&["FLY"]), &[], false).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability: \"CAP_FLY\"");
    }

    #[test]
    fn every_known_name_converts_to_an_oci_capability() {
        let oci = to_oci(&s(&KNOWN), true).unwrap();
        assert_eq!(oci.bounding().as_ref().unwrap().len(), KNOWN.len());
        assert_eq!(oci.effective(), oci.bounding());
        assert!(oci.inheritable().is_none() && oci.ambient().is_none());
        let user = to_oci(&s(&DEFAULT), false).unwrap();
        assert_eq!(user.bounding().as_ref().unwrap().len(), DEFAULT.len());
        assert!(user.effective().is_none() && user.permitted().is_none());
    }
}
