//! The v2 manager on this hybrid host's controller-less unified mount: creating cgroups, moving
//! processes, freezing, listing, stats from core files, destroying, and eBPF device programs
//! (BPF_F_ALLOW_MULTI attach + replacement) all work without any controller enabled.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use berth_cgroups::{CgroupError, v2_manager_at};
use common::{TestCgroup, cpu_ticks, eventually, read_trimmed, suite, unique_name};
use oci_spec::runtime::{LinuxPidsBuilder, LinuxResourcesBuilder};

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
fn stats_from_core_cpu_accounting() {
    let (mut cg, _) = test_cgroup("v2stats");
    let pid = cg.spawn_inside("sh", &["-c", "while :; do :; done"]);
    assert!(eventually(Duration::from_secs(3), || cpu_ticks(pid) > 5));
    let stats = cg.manager.stats().unwrap();
    assert!(stats.cpu.usage.total > 0);
    assert!(stats.cpu.usage.user + stats.cpu.usage.kernel > 0);
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

#[test]
fn apply_moves_the_pid_into_the_unified_cgroup() {
    let (mut cg, dir) = test_cgroup("v2apply");
    let pid = cg.spawn_inside("sleep", &["100"]);
    let name = dir.strip_prefix(UNIFIED).unwrap().display().to_string();
    assert!(
        read_trimmed(format!("/proc/{pid}/cgroup"))
            .lines()
            .any(|l| l == format!("0::/{name}")),
        "pid {pid} is not in {name}"
    );
}

#[test]
fn join_self_moves_the_calling_process() {
    let (mut cg, dir) = test_cgroup("v2joinself");
    let twin = v2_manager_at(dir.parent().unwrap(), "/c1").unwrap();
    suite::join_self_moves_the_calling_process(&mut cg, twin);
}

#[test]
fn pids_recurse_into_children() {
    let (mut cg, dir) = test_cgroup("v2pids");
    suite::pids_recurse_into_children(&mut cg, &dir);
}

#[test]
fn freeze_and_thaw_via_cgroup_freeze() {
    let (mut cg, dir) = test_cgroup("v2freeze");
    suite::freeze_stops_and_thaw_resumes(&mut cg, |_| {
        let events = read_trimmed(dir.join("cgroup.events"));
        assert!(events.lines().any(|l| l == "frozen 1"), "{events}");
    });
}

#[test]
fn destroy_removes_the_tree() {
    let (mut cg, dir) = test_cgroup("v2destroy");
    suite::destroy_removes_the_tree(&mut cg, &dir);
}

#[test]
fn ebpf_device_program_denies_and_is_replaced_on_update() {
    let (mut cg, _) = test_cgroup("v2devices");
    suite::device_rules_apply_and_update(&mut cg);
}

#[test]
fn destroy_reports_every_busy_directory() {
    let (mut cg, _) = test_cgroup("v2destroybusy");
    suite::destroy_reports_every_busy_directory(&mut cg);
}

#[test]
fn unified_entries_are_written_verbatim() {
    let (mut cg, dir) = test_cgroup("v2unified");
    cg.spawn_inside("sleep", &["100"]);
    // Core cgroup files exist without any controller, so they exercise the verbatim path.
    let unified = std::collections::HashMap::from([
        ("cgroup.max.descendants".to_owned(), "3".to_owned()),
        ("cgroup.max.depth".to_owned(), "2".to_owned()),
    ]);
    cg.manager
        .set(
            &LinuxResourcesBuilder::default()
                .unified(unified)
                .build()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(read_trimmed(dir.join("cgroup.max.descendants")), "3");
    assert_eq!(read_trimmed(dir.join("cgroup.max.depth")), "2");
    let escape =
        std::collections::HashMap::from([("../cgroup.max.depth".to_owned(), "1".to_owned())]);
    let err = cg
        .manager
        .set(
            &LinuxResourcesBuilder::default()
                .unified(escape)
                .build()
                .unwrap(),
        )
        .unwrap_err();
    assert!(
        matches!(err, CgroupError::InvalidUnifiedKey { .. }),
        "{err}"
    );
}
