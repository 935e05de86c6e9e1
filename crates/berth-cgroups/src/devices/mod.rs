//! Device cgroup rules, parsed once from the OCI spec and shared by v1 (devices.allow/deny) and
//! v2 (the eBPF program).

mod emulator;

pub(crate) use emulator::Ruleset;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::CgroupError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceKind {
    /// `a`: every device, char and block.
    All,
    Char,
    Block,
}

/// Access bits, with the kernel's BPF_DEVCG_ACC_* values.
pub(crate) const ACCESS_MKNOD: u8 = 1;
pub(crate) const ACCESS_READ: u8 = 2;
pub(crate) const ACCESS_WRITE: u8 = 4;
pub(crate) const ACCESS_ALL: u8 = ACCESS_MKNOD | ACCESS_READ | ACCESS_WRITE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceRule {
    pub allow: bool,
    pub kind: DeviceKind,
    /// `None` is the `*` wildcard.
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

impl DeviceRule {
    /// A rule from its parts (tests build rule sets with it).
    #[cfg(test)]
    pub fn new(
        allow: bool,
        kind: DeviceKind,
        major: Option<u32>,
        minor: Option<u32>,
        access: u8,
    ) -> Self {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access,
        }
    }

    pub fn from_oci(rule: &LinuxDeviceCgroup) -> Result<Self, CgroupError> {
        let invalid = |reason| CgroupError::InvalidDeviceRule {
            rule: rule.to_string(),
            reason,
        };
        let kind = match rule.typ() {
            None | Some(LinuxDeviceType::A) => DeviceKind::All,
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => DeviceKind::Char,
            Some(LinuxDeviceType::B) => DeviceKind::Block,
            Some(LinuxDeviceType::P) => {
                return Err(invalid("FIFOs are not governed by the device cgroup"));
            }
        };
        let number = |value: Option<i64>| match value {
            None => Ok(None),
            Some(n) if n < 0 => Ok(None),
            Some(n) => u32::try_from(n)
                .map(Some)
                .map_err(|_| invalid("major/minor does not fit in 32 bits")),
        };
        let access = parse_access(rule.access().as_deref().unwrap_or(""))
            .ok_or_else(|| invalid("access may only contain r, w and m"))?;
        Ok(DeviceRule {
            allow: rule.allow(),
            kind,
            major: number(rule.major())?,
            minor: number(rule.minor())?,
            access,
        })
    }

    /// True for `a` (any type, any number): the rules that switch the default.
    pub fn is_wildcard(&self) -> bool {
        self.kind == DeviceKind::All
    }

    /// The line for devices.allow / devices.deny, e.g. `c 1:3 rwm`.
    pub fn to_v1_string(self) -> String {
        let kind = match self.kind {
            DeviceKind::All => return "a *:* rwm".to_owned(),
            DeviceKind::Char => 'c',
            DeviceKind::Block => 'b',
        };
        let number = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
        format!(
            "{kind} {}:{} {}",
            number(self.major),
            number(self.minor),
            access_string(self.access)
        )
    }
}

impl DeviceRule {
    /// Parses a `devices.list` line such as `c 1:3 rw` or `b 8:* m`.
    pub fn from_v1_string(line: &str, allow: bool) -> Option<Self> {
        let mut parts = line.split_whitespace();
        let kind = match parts.next()? {
            "a" => DeviceKind::All,
            "c" => DeviceKind::Char,
            "b" => DeviceKind::Block,
            _ => return None,
        };
        let (major, minor) = parts.next()?.split_once(':')?;
        let number = |n: &str| -> Option<Option<u32>> {
            if n == "*" {
                Some(None)
            } else {
                n.parse().ok().map(Some)
            }
        };
        let access = parse_access(parts.next()?)?;
        Some(DeviceRule {
            allow,
            kind,
            major: number(major)?,
            minor: number(minor)?,
            access,
        })
    }
}

/// An empty access string means all access, as in runc.
fn parse_access(text: &str) -> Option<u8> {
    if text.is_empty() {
        return Some(ACCESS_ALL);
    }
    text.chars().try_fold(0u8, |acc, c| match c {
        'r' => Some(acc | ACCESS_READ),
        'w' => Some(acc | ACCESS_WRITE),
        'm' => Some(acc | ACCESS_MKNOD),
        _ => None,
    })
}

fn access_string(access: u8) -> String {
    [(ACCESS_READ, 'r'), (ACCESS_WRITE, 'w'), (ACCESS_MKNOD, 'm')]
        .iter()
        .filter(|(bit, _)| access & bit != 0)
        .map(|(_, c)| *c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    #[test]
    fn parses_and_formats_rules() {
        let oci = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .major(1)
            .minor(3)
            .access("rw")
            .build()
            .unwrap();
        let rule = DeviceRule::from_oci(&oci).unwrap();
        assert_eq!(rule.to_v1_string(), "c 1:3 rw");
        let all = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .build()
            .unwrap();
        let rule = DeviceRule::from_oci(&all).unwrap();
        assert!(rule.is_wildcard());
        assert_eq!(rule.access, ACCESS_ALL);
        assert_eq!(rule.to_v1_string(), "a *:* rwm");
        let wild_minor = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::B)
            .major(8)
            .access("m")
            .build()
            .unwrap();
        assert_eq!(
            DeviceRule::from_oci(&wild_minor).unwrap().to_v1_string(),
            "b 8:* m"
        );
    }

    #[test]
    fn rejects_bad_access_and_fifo() {
        let bad = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .access("rx")
            .build()
            .unwrap();
        assert!(DeviceRule::from_oci(&bad).is_err());
        let fifo = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::P)
            .build()
            .unwrap();
        assert!(DeviceRule::from_oci(&fifo).is_err());
    }
}
