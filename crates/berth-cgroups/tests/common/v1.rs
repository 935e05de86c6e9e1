//! Helpers for tests against the host's v1 hierarchies.

use std::path::PathBuf;

use super::{TestCgroup, unique_name};

pub const V1_ROOT: &str = "/sys/fs/cgroup";

pub fn test_cgroup(test: &str) -> TestCgroup {
    berth_testutil::require_root();
    let path = format!("/{}", unique_name(test));
    let manager = berth_cgroups::manager(&path).expect("manager");
    TestCgroup::new(manager, path)
}

pub fn dir_of(cg: &TestCgroup, controller: &str) -> PathBuf {
    cg.manager
        .paths()
        .into_iter()
        .find(|(controllers, _)| controllers.split(',').any(|c| c == controller))
        .map(|(_, dir)| dir)
        .unwrap_or_else(|| panic!("no {controller} directory"))
}
