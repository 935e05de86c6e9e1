//! The v2 manager on this hybrid host's controller-less unified mount: creating cgroups, moving
//! processes, freezing, listing, stats from core files, destroying, and eBPF device programs
//! (BPF_F_ALLOW_MULTI attach + replacement) all work without any controller enabled.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use berth_cgroups::{CgroupError, FreezerState, v2_manager_at};
use common::{TestCgroup, cpu_ticks, eventually, read_trimmed, unique_name};
use oci_spec::runtime::{
    LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxPidsBuilder,
    LinuxResourcesBuilder,
};

const UNIFIED: &str = "/sys/fs/cgroup/unified";

/// A v2 cgroup `<unified>/<unique>/c1`, the `<unique>` level being the manager's root.
fn test_cgroup(test: &str) -> (TestCgroup, PathBuf) {
    berth_testutil::require_root();
    let mounted = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup/unified ") && l.contains(" - cgroup2 "));
    assert!(mounted, "this test needs the cgroup2 mount at {UNIFIED}");
    let root = PathBuf::from(UNIFIED).join(unique_name(test));
    std::fs::create_dir(&root).unwrap();
    let manager = v2_manager_at(&root, "/c1").unwrap();
    let mut cg = TestCgroup::new(manager, "/c1".into());
    cg.extra_dirs.push(root.clone());
    (cg, root.join("c1"))
}

#[test]
fn apply_and_pids_listing_recurse_into_children() {
    let (mut cg, dir) = test_cgroup("v2apply");
    let first = cg.spawn_inside("sleep", &["100"]);
    let name = dir.strip_prefix(UNIFIED).unwrap().display().to_string();
    assert!(
        read_trimmed(format!("/proc/{first}/cgroup"))
            .lines()
            .any(|l| l == format!("0::/{name}")),
        "pid {first} is not in {name}"
    );
    let second = cg.spawn_inside("sleep", &["100"]);
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/cgroup.procs"), second.to_string()).unwrap();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(cg.manager.pids().unwrap(), expected);
}

#[test]
fn freeze_and_thaw_via_cgroup_freeze() {
    let (mut cg, dir) = test_cgroup("v2freeze");
    let pid = cg.spawn_inside("sh", &["-c", "while :; do :; done"]);
    cg.manager.freeze(FreezerState::Frozen).unwrap();
    assert!(
        read_trimmed(dir.join("cgroup.events"))
            .lines()
            .any(|l| l == "frozen 1")
    );
    assert_eq!(cg.manager.freezer_state().unwrap(), FreezerState::Frozen);
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(cpu_ticks(pid), before, "a frozen process must not run");
    cg.manager.freeze(FreezerState::Thawed).unwrap();
    assert_eq!(cg.manager.freezer_state().unwrap(), FreezerState::Thawed);
    assert!(eventually(Duration::from_secs(3), || cpu_ticks(pid) > before));
}

#[test]
fn stats_from_core_cpu_accounting() {
    let (mut cg, _) = test_cgroup("v2stats");
    let pid = cg.spawn_inside("sh", &["-c", "while :; do :; done"]);
    assert!(eventually(Duration::from_secs(3), || cpu_ticks(pid) > 5));
    let stats = cg.manager.stats().unwrap();
    assert!(stats.cpu.usage.total > 0);
    assert!(stats.cpu.usage.user + stats.cpu.usage.kernel > 0);
}

#[test]
fn destroy_removes_the_tree() {
    let (mut cg, dir) = test_cgroup("v2destroy");
    let pid = cg.spawn_inside("sleep", &["100"]);
    std::fs::create_dir_all(dir.join("a/b")).unwrap();
    common::kill(pid);
    let _ = cg.wait_output(pid);
    cg.manager.destroy().unwrap();
    assert!(!dir.exists());
}

#[test]
fn limits_without_their_controller_are_errors_not_ignored() {
    let (mut cg, _) = test_cgroup("v2nocontroller");
    cg.spawn_inside("sleep", &["100"]);
    let pids = LinuxPidsBuilder::default().limit(10i64).build().unwrap();
    let err = cg
        .manager
        .set(&LinuxResourcesBuilder::default().pids(pids).build().unwrap())
        .expect_err("pids controller is not enabled on this mount");
    assert!(matches!(err, CgroupError::Write { .. }), "{err}");
    assert!(
        err.to_string().contains("pids.max") && err.to_string().contains("\"10\""),
        "{err}"
    );
}

fn char_rule(allow: bool, minor: i64) -> LinuxDeviceCgroup {
    LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(LinuxDeviceType::C)
        .major(1)
        .minor(minor)
        .access("rw")
        .build()
        .unwrap()
}

fn deny_all() -> LinuxDeviceCgroup {
    LinuxDeviceCgroupBuilder::default()
        .allow(false)
        .access("rwm")
        .build()
        .unwrap()
}

fn probe(cg: &mut TestCgroup, nodes: &std::path::Path) -> String {
    let pid = cg.spawn_inside("sh", &["-c", &common::device_probe_script(nodes)]);
    cg.release(pid);
    let (_, stdout, stderr) = cg.wait_output(pid);
    format!("{stdout}{stderr}")
}

#[test]
fn ebpf_device_program_denies_and_is_replaced_on_update() {
    let (mut cg, _) = test_cgroup("v2devices");
    let nodes = tempfile::tempdir().unwrap();
    common::make_device_nodes(nodes.path());
    // Create the cgroup first (set needs the directory); the helper process just holds it.
    cg.spawn_inside("sleep", &["100"]);

    let allow_null = LinuxResourcesBuilder::default()
        .devices(vec![deny_all(), char_rule(true, 3)])
        .build()
        .unwrap();
    cg.manager.set(&allow_null).unwrap();
    let output = probe(&mut cg, nodes.path());
    assert!(
        output.contains("null-ok") && output.contains("zero-denied"),
        "{output}"
    );

    // Update: with ALLOW_MULTI every attached program must allow, so zero only opens if the
    // previous berth program was detached.
    let allow_zero = LinuxResourcesBuilder::default()
        .devices(vec![deny_all(), char_rule(true, 5)])
        .build()
        .unwrap();
    cg.manager.set(&allow_zero).unwrap();
    let output = probe(&mut cg, nodes.path());
    assert!(
        output.contains("null-denied") && output.contains("zero-ok"),
        "{output}"
    );
}
