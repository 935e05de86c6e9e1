//! Replays device rules with the v1 kernel's semantics to get a clean ruleset (a default plus
//! exceptions) for the v2 eBPF program, so both versions grant exactly the same devices.

use super::{DeviceKind, DeviceRule};

/// The net effect of a rule list: a default action and exceptions that all do the opposite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ruleset {
    pub default_allow: bool,
    /// Never wildcards (`a`); each has `allow == !default_allow`.
    pub exceptions: Vec<DeviceRule>,
}

impl Ruleset {
    /// Starts from "deny everything", as runc does (and as berth's v1 path writes `deny a`).
    pub fn from_rules(rules: &[DeviceRule]) -> Self {
        let mut set = Ruleset {
            default_allow: false,
            exceptions: Vec::new(),
        };
        for rule in rules {
            set.apply(rule);
        }
        set
    }

    /// Reads a v1 `devices.list`: `a *:* rwm` alone means allow-all, otherwise the lines are the
    /// allowed exceptions to deny-all. `None` if a line does not parse.
    pub fn from_v1_list(content: &str) -> Option<Self> {
        let lines: Vec<&str> = content.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.iter().any(|l| l.trim() == "a *:* rwm") {
            return Some(Ruleset {
                default_allow: true,
                exceptions: Vec::new(),
            });
        }
        let exceptions = lines
            .iter()
            .map(|line| DeviceRule::from_v1_string(line.trim(), true))
            .collect::<Option<Vec<_>>>()?;
        Some(Ruleset {
            default_allow: false,
            exceptions,
        })
    }

    /// Same default and the same exceptions in any order.
    pub fn is_equivalent(&self, other: &Ruleset) -> bool {
        self.default_allow == other.default_allow
            && self.exceptions.len() == other.exceptions.len()
            && self.exceptions.iter().all(|e| other.exceptions.contains(e))
    }

    fn apply(&mut self, rule: &DeviceRule) {
        if rule.is_wildcard() {
            self.default_allow = rule.allow;
            self.exceptions.clear();
            return;
        }
        if rule.allow == self.default_allow {
            self.remove_access(rule);
        } else {
            self.add(rule);
        }
    }

    /// Like the kernel's dev_exception_add: merge access into an identical entry.
    fn add(&mut self, rule: &DeviceRule) {
        if let Some(existing) = self.exceptions.iter_mut().find(|e| same_device(e, rule)) {
            existing.access |= rule.access;
        } else {
            self.exceptions.push(*rule);
        }
    }

    /// Like the kernel's dev_exception_rm: only an exactly matching entry loses access bits.
    fn remove_access(&mut self, rule: &DeviceRule) {
        for existing in self.exceptions.iter_mut().filter(|e| same_device(e, rule)) {
            existing.access &= !rule.access;
        }
        self.exceptions.retain(|e| e.access != 0);
    }
}

fn same_device(a: &DeviceRule, b: &DeviceRule) -> bool {
    a.kind == b.kind && a.major == b.major && a.minor == b.minor && a.kind != DeviceKind::All
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::{ACCESS_ALL, ACCESS_MKNOD, ACCESS_READ, ACCESS_WRITE};

    #[test]
    fn deny_all_then_allows_is_an_allow_list() {
        let set = Ruleset::from_rules(&[
            DeviceRule::new(false, DeviceKind::All, None, None, ACCESS_ALL),
            DeviceRule::new(true, DeviceKind::Char, Some(1), Some(3), ACCESS_READ),
            DeviceRule::new(true, DeviceKind::Char, Some(1), Some(3), ACCESS_WRITE),
        ]);
        assert!(!set.default_allow);
        assert_eq!(set.exceptions.len(), 1);
        assert_eq!(set.exceptions[0].access, ACCESS_READ | ACCESS_WRITE);
    }

    #[test]
    fn allow_all_then_deny_is_a_deny_list_and_wildcard_resets() {
        let set = Ruleset::from_rules(&[
            DeviceRule::new(true, DeviceKind::Char, Some(5), Some(1), ACCESS_ALL),
            DeviceRule::new(true, DeviceKind::All, None, None, ACCESS_ALL),
            DeviceRule::new(false, DeviceKind::Block, Some(8), None, ACCESS_MKNOD),
        ]);
        assert!(set.default_allow);
        assert_eq!(
            set.exceptions,
            vec![DeviceRule::new(
                false,
                DeviceKind::Block,
                Some(8),
                None,
                ACCESS_MKNOD
            )]
        );
    }

    #[test]
    fn reads_v1_device_lists() {
        let allow_all = Ruleset::from_v1_list("a *:* rwm\n").unwrap();
        assert!(allow_all.default_allow && allow_all.exceptions.is_empty());
        let list = Ruleset::from_v1_list("c 1:3 rw\nb 8:* m\n").unwrap();
        let wanted = Ruleset::from_rules(&[
            DeviceRule::new(false, DeviceKind::All, None, None, ACCESS_ALL),
            DeviceRule::new(true, DeviceKind::Block, Some(8), None, ACCESS_MKNOD),
            DeviceRule::new(
                true,
                DeviceKind::Char,
                Some(1),
                Some(3),
                ACCESS_READ | ACCESS_WRITE,
            ),
        ]);
        assert!(list.is_equivalent(&wanted));
        assert!(
            Ruleset::from_v1_list("")
                .unwrap()
                .is_equivalent(&Ruleset::from_rules(&[]))
        );
        assert!(Ruleset::from_v1_list("x 1:2 r").is_none());
    }

    #[test]
    fn deny_removes_access_from_matching_allow() {
        let set = Ruleset::from_rules(&[
            DeviceRule::new(true, DeviceKind::Char, Some(1), Some(5), ACCESS_ALL),
            DeviceRule::new(false, DeviceKind::Char, Some(1), Some(5), ACCESS_MKNOD),
            DeviceRule::new(false, DeviceKind::Char, Some(1), None, ACCESS_ALL),
        ]);
        assert!(!set.default_allow);
        assert_eq!(
            set.exceptions.len(),
            1,
            "a non-identical deny does not punch holes"
        );
        assert_eq!(set.exceptions[0].access, ACCESS_READ | ACCESS_WRITE);
    }
}
