//! cgroup v1 lifecycle on this hybrid host (v1 controllers + a controller-less unified mount):
//! detection, apply, freeze, listing, stats, destroy, speed.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_cgroups::{CgroupError, Hierarchy, detect, manager};
use common::v1::{V1_ROOT, dir_of, test_cgroup};
use common::{TestCgroup, cpu_ticks, eventually, read_trimmed, suite, unique_name};
use oci_spec::runtime::{LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder};
#[test]
fn detects_v1_on_this_hybrid_host() {
    assert_eq!(
        detect().unwrap(),
        Hierarchy::V1 {
            root: PathBuf::from(V1_ROOT)
        }
    );
    // Cached: a second call answers the same without re-reading /proc.
    assert_eq!(detect().unwrap(), detect().unwrap());
}

#[test]
fn rejects_paths_escaping_the_hierarchy() {
    for bad in ["/../../etc", "/a/../../b", "/", ""] {
        assert!(
            matches!(manager(bad), Err(CgroupError::InvalidPath { .. })),
            "{bad:?} must be rejected"
        );
    }
}

#[test]
fn apply_creates_nested_dirs_and_moves_pid_into_every_controller() {
    berth_testutil::require_root();
    let parent = unique_name("apply");
    let path = format!("/{parent}/nested/c1");
    let mut cg = TestCgroup::new(manager(&path).unwrap(), path.clone());
    for (_, dir) in cg.manager.paths() {
        let mountpoint = dir.ancestors().nth(3).unwrap().to_path_buf();
        cg.extra_dirs.push(mountpoint.join(&parent));
        cg.extra_dirs.push(mountpoint.join(&parent).join("nested"));
    }
    cg.extra_dirs.sort_by_key(|d| d.components().count());
    let pid = cg.spawn_inside("sleep", &["100"]);

    let proc_cgroup = read_trimmed(format!("/proc/{pid}/cgroup"));
    let mut checked = 0;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, own) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        if controllers.is_empty() {
            continue; // the unified hierarchy is not used on a v1 host
        }
        assert_eq!(own, path, "pid {pid} in {controllers}: {proc_cgroup}");
        checked += 1;
    }
    assert!(
        checked >= 8,
        "expected every v1 hierarchy, saw:\n{proc_cgroup}"
    );
    for (_, dir) in cg.manager.paths() {
        assert!(
            read_trimmed(dir.join("cgroup.procs"))
                .lines()
                .any(|l| l == pid.to_string())
        );
    }
    // cpuset was initialised from the parent, otherwise the pid could not have joined.
    assert_eq!(
        read_trimmed(dir_of(&cg, "cpuset").join("cpuset.cpus")),
        read_trimmed(Path::new(V1_ROOT).join("cpuset/cpuset.cpus"))
    );
}

#[test]
fn stats_of_a_busy_process_are_non_zero() {
    let mut cg = test_cgroup("stats");
    // Allocate after joining (v1 does not move old charges) and then spin.
    let script = r#"<STDIN>; my $x = "a" x 8_000_000; 1 while 1;"#;
    let pid = cg.spawn_inside("perl", &["-e", script]);
    cg.release(pid);
    assert!(eventually(Duration::from_secs(3), || cpu_ticks(pid) > 5));
    let stats = cg.manager.stats().unwrap();
    assert!(stats.cpu.usage.total > 0);
    assert!(!stats.cpu.usage.percpu.is_empty());
    assert!(
        stats.cpu.usage.user + stats.cpu.usage.kernel > 0,
        "{:?}",
        stats.cpu.usage
    );
    assert!(stats.memory.usage.usage > 0);
    assert!(!stats.memory.raw.is_empty());
    assert_eq!(stats.pids.current, 1);
    let json = serde_json::to_value(&stats).unwrap();
    assert!(json["cpu"]["usage"]["total"].as_u64().unwrap() > 0);
    assert!(json["memory"]["usage"]["usage"].as_u64().unwrap() > 0);
}

#[test]
fn repeated_apply_set_destroy_moves_the_process_and_limits_each_round() {
    berth_testutil::require_root();
    let resources = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64i64 << 20)
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(100i64).build().unwrap())
        .build()
        .unwrap();
    let mut cg = test_cgroup("rounds");
    let pid = cg.spawn_inside("sleep", &["100"]);
    for i in 0..5 {
        let path = format!("{}-{i}", cg.cgroups_path);
        let m = manager(&path).unwrap();
        m.apply(pid).unwrap();
        m.set(&resources).unwrap();
        assert_eq!(m.pids().unwrap(), vec![pid], "round {i}: pid moved in");
        assert_eq!(m.stats().unwrap().pids.limit, 100, "round {i}: pids limit");
        cg.manager.apply(pid).unwrap(); // move it back so the round's cgroup can go
        m.destroy().unwrap();
        for (_, dir) in m.paths() {
            assert!(!dir.exists(), "round {i}: {} removed", dir.display());
        }
    }
}

#[test]
fn freeze_stops_and_thaw_resumes() {
    let mut cg = test_cgroup("freeze");
    let freezer = dir_of(&cg, "freezer");
    suite::freeze_stops_and_thaw_resumes(&mut cg, |pid| {
        assert_eq!(read_trimmed(freezer.join("freezer.state")), "FROZEN");
        let state = common::process_state(pid);
        assert!(state.starts_with('D'), "frozen task state is {state}");
    });
}

#[test]
fn join_self_moves_the_calling_process() {
    let mut cg = test_cgroup("joinself");
    let twin = manager(&cg.cgroups_path).unwrap();
    suite::join_self_moves_the_calling_process(&mut cg, twin);
}

#[test]
fn pids_recurse_into_children() {
    let mut cg = test_cgroup("pidslist");
    let pids_dir = dir_of(&cg, "pids");
    suite::pids_recurse_into_children(&mut cg, &pids_dir);
}

#[test]
fn destroy_removes_every_directory() {
    let mut cg = test_cgroup("destroy");
    let memory_dir = dir_of(&cg, "memory");
    suite::destroy_removes_the_tree(&mut cg, &memory_dir);
}

#[test]
fn blkio_stats_count_direct_io() {
    let mut cg = test_cgroup("blkiostats");
    let scratch = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let file = scratch.path().join("data");
    // O_DIRECT bypasses the page cache, so the block layer (and blkio) sees every byte.
    let script = format!(
        "read line; dd if=/dev/zero of={f} bs=64k count=16 oflag=direct && \
         exec dd if={f} of=/dev/null bs=64k iflag=direct",
        f = file.display()
    );
    let pid = cg.spawn_inside("sh", &["-c", &script]);
    // Newer kernels (6.x) count a v1 cgroup's I/O only on a disk with a throttle rule for it:
    // a limit no test reaches, on the disk holding the scratch file.
    let disk = disk_of(scratch.path());
    let rule = format!("{disk} {}", 1u64 << 40);
    for file in [
        "blkio.throttle.read_bps_device",
        "blkio.throttle.write_bps_device",
    ] {
        std::fs::write(dir_of(&cg, "blkio").join(file), &rule)
            .unwrap_or_else(|e| panic!("{file} <- {rule}: {e}"));
    }
    cg.release(pid);
    let (status, _, stderr) = cg.wait_output(pid);
    assert!(status.success(), "dd failed: {stderr}");
    let stats = cg.manager.stats().unwrap();
    let bytes = |op: &str| -> u64 {
        stats
            .blkio
            .io_service_bytes_recursive
            .iter()
            .filter(|e| e.op == op)
            .map(|e| e.value)
            .sum()
    };
    assert!(bytes("Write") >= 16 * 65536, "{:?}", stats.blkio);
    assert!(bytes("Read") >= 16 * 65536, "{:?}", stats.blkio);
    assert!(!stats.blkio.io_serviced_recursive.is_empty());
}

/// `major:minor` of the whole disk holding `path` (a partition's parent).
fn disk_of(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(path).unwrap().dev();
    let (major, minor) = (rustix::fs::major(dev), rustix::fs::minor(dev));
    let sys = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    if sys.join("partition").exists() {
        let parent = std::fs::canonicalize(&sys).unwrap().join("../dev");
        return read_trimmed(&parent);
    }
    format!("{major}:{minor}")
}

#[test]
fn destroy_reports_every_busy_directory() {
    let mut cg = test_cgroup("destroybusy");
    suite::destroy_reports_every_busy_directory(&mut cg);
}
