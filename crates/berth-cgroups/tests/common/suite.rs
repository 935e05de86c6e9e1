//! The conformance suite every `Manager` implementation runs (v1 controllers, v2 unified):
//! each function takes a fresh test cgroup and exercises one behaviour through the trait.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use berth_cgroups::{FreezerState, Manager};
use oci_spec::runtime::{
    LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResourcesBuilder,
};

use super::{TestCgroup, cpu_ticks, eventually};

/// `pids()` lists the cgroup's processes and those of its sub-cgroups; `procs_dir` is the
/// directory (of some hierarchy) in which the sub-cgroup is made.
pub fn pids_recurse_into_children(cg: &mut TestCgroup, procs_dir: &Path) {
    let first = cg.spawn_inside("sleep", &["100"]);
    let second = cg.spawn_inside("sleep", &["100"]);
    std::fs::create_dir(procs_dir.join("sub")).unwrap();
    std::fs::write(procs_dir.join("sub/cgroup.procs"), second.to_string()).unwrap();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(cg.manager.pids().unwrap(), expected);
}

/// `create` makes the cgroup with no process in it; `join_self`, called by a single-threaded
/// process (here: the forked child just before exec), moves exactly that process in. `twin`
/// is a second manager for the same cgroup, moved into the child.
pub fn join_self_moves_the_calling_process(cg: &mut TestCgroup, twin: Box<dyn Manager>) {
    cg.manager.create().unwrap();
    assert!(cg.manager.pids().unwrap().is_empty(), "created empty");
    let mut command = Command::new("sleep");
    command.arg("100");
    // SAFETY: the hook runs in the forked child before exec; it only opens and writes cgroup
    // files (glibc keeps malloc usable in a forked child).
    unsafe {
        command.pre_exec(move || twin.join_self().map_err(std::io::Error::other));
    }
    let pid = cg.adopt(command.spawn().expect("spawn sleep joining its cgroup"));
    assert_eq!(cg.manager.pids().unwrap(), vec![pid]);
}

/// Freezing stops a busy process (no CPU time accrues), thawing lets it run again.
/// `while_frozen` adds hierarchy-specific checks.
pub fn freeze_stops_and_thaw_resumes(cg: &mut TestCgroup, while_frozen: impl Fn(i32)) {
    let pid = cg.spawn_inside("sh", &["-c", "while :; do :; done"]);
    cg.manager.freeze(FreezerState::Frozen).unwrap();
    assert_eq!(cg.manager.freezer_state().unwrap(), FreezerState::Frozen);
    while_frozen(pid);
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(cpu_ticks(pid), before, "a frozen process must not run");
    cg.manager.freeze(FreezerState::Thawed).unwrap();
    assert_eq!(cg.manager.freezer_state().unwrap(), FreezerState::Thawed);
    assert!(
        eventually(Duration::from_secs(3), || cpu_ticks(pid) > before),
        "a thawed process must run"
    );
}

/// `destroy` removes the cgroup and sub-cgroups made inside it (`sub_parent`).
pub fn destroy_removes_the_tree(cg: &mut TestCgroup, sub_parent: &Path) {
    let pid = cg.spawn_inside("sleep", &["100"]);
    std::fs::create_dir_all(sub_parent.join("a/b")).unwrap();
    let dirs: Vec<_> = cg.manager.paths().into_iter().map(|(_, d)| d).collect();
    super::kill(pid);
    let _ = cg.wait_output(pid);
    cg.manager.destroy().unwrap();
    for dir in &dirs {
        assert!(!dir.exists(), "{} still exists", dir.display());
    }
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

/// Runs the open-each-node probe inside the cgroup and returns what it printed.
fn probe(cg: &mut TestCgroup, nodes: &Path) -> String {
    let pid = cg.spawn_inside("sh", &["-c", &super::device_probe_script(nodes)]);
    cg.release(pid);
    let (_, stdout, stderr) = cg.wait_output(pid);
    format!("{stdout}{stderr}")
}

/// Deny all + allow /dev/null: null opens, zero does not. Then an update to "allow zero only"
/// must take effect completely (on v2 this proves the previous eBPF program was replaced:
/// with BPF_F_ALLOW_MULTI every attached program must allow an access).
pub fn device_rules_apply_and_update(cg: &mut TestCgroup) {
    let nodes = tempfile::tempdir().unwrap();
    super::make_device_nodes(nodes.path());
    cg.spawn_inside("sleep", &["100"]); // holds the cgroup while probes come and go

    let allow_null = LinuxResourcesBuilder::default()
        .devices(vec![deny_all(), char_rule(true, 3)])
        .build()
        .unwrap();
    cg.manager.set(&allow_null).unwrap();
    let output = probe(cg, nodes.path());
    assert!(
        output.contains("null-ok") && output.contains("zero-denied"),
        "{output}"
    );

    let allow_zero = LinuxResourcesBuilder::default()
        .devices(vec![deny_all(), char_rule(true, 5)])
        .build()
        .unwrap();
    cg.manager.set(&allow_zero).unwrap();
    let output = probe(cg, nodes.path());
    assert!(
        output.contains("null-denied") && output.contains("zero-ok"),
        "{output}"
    );
}

/// `destroy` with a live process inside fails for every directory (EBUSY) and names them all.
pub fn destroy_reports_every_busy_directory(cg: &mut TestCgroup) {
    cg.spawn_inside("sleep", &["100"]);
    let dirs: Vec<_> = cg.manager.paths().into_iter().map(|(_, d)| d).collect();
    match cg.manager.destroy() {
        Err(berth_cgroups::CgroupError::Destroy { failures }) => {
            let failed: Vec<_> = failures.iter().map(|f| f.path.clone()).collect();
            assert_eq!(failed, dirs);
            for failure in &failures {
                assert_eq!(
                    failure.source.raw_os_error(),
                    Some(libc::EBUSY),
                    "{failure:?}"
                );
            }
        }
        other => panic!("destroy of a busy cgroup must fail for each directory: {other:?}"),
    }
    assert!(
        dirs.iter().all(|d| d.is_dir()),
        "nothing may be half-removed"
    );
}
