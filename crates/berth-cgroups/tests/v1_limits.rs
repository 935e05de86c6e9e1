//! cgroup v1 limits on this hybrid host: each resource is written, read back and enforced;
//! what the VM refuses comes back as a clear error.

mod common;

use berth_cgroups::CgroupError;
use common::v1::{dir_of, test_cgroup};
use common::{TestCgroup, read_trimmed, suite};
use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxHugepageLimitBuilder, LinuxMemoryBuilder,
    LinuxNetworkBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
    LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
};
#[test]
fn memory_limit_oom_kills_and_is_counted() {
    let mut cg = test_cgroup("oom");
    let pid = cg.spawn_inside(
        "sh",
        &[
            "-c",
            "read line; exec dd if=/dev/zero of=/dev/null bs=256M count=1",
        ],
    );
    let limit = 32 << 20;
    let memory = LinuxMemoryBuilder::default()
        .limit(limit)
        .swap(limit)
        .build()
        .unwrap();
    let resources = LinuxResourcesBuilder::default()
        .memory(memory)
        .build()
        .unwrap();
    cg.manager.set(&resources).unwrap();
    let dir = dir_of(&cg, "memory");
    assert_eq!(
        read_trimmed(dir.join("memory.limit_in_bytes")),
        limit.to_string()
    );
    assert_eq!(
        read_trimmed(dir.join("memory.memsw.limit_in_bytes")),
        limit.to_string()
    );
    assert_eq!(cg.manager.oom_kill_count().unwrap(), 0);

    cg.release(pid);
    let (status, _, stderr) = cg.wait_output(pid);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "dd should be OOM-killed: {stderr}"
    );
    assert!(cg.manager.oom_kill_count().unwrap() >= 1);
    let stats = cg.manager.stats().unwrap();
    assert_eq!(
        stats.memory.usage.max, limit as u64,
        "usage must have reached the limit"
    );
    assert_eq!(stats.memory.usage.limit, limit as u64);
}

#[test]
fn memory_swap_ordering_when_raising_and_lowering() {
    let mut cg = test_cgroup("memsw");
    cg.spawn_inside("sleep", &["100"]);
    let dir = dir_of(&cg, "memory");
    let set = |cg: &TestCgroup, limit: i64, swap: i64| {
        let memory = LinuxMemoryBuilder::default()
            .limit(limit)
            .swap(swap)
            .build()
            .unwrap();
        let resources = LinuxResourcesBuilder::default()
            .memory(memory)
            .build()
            .unwrap();
        cg.manager.set(&resources).unwrap();
        assert_eq!(
            read_trimmed(dir.join("memory.limit_in_bytes")),
            limit.to_string()
        );
        assert_eq!(
            read_trimmed(dir.join("memory.memsw.limit_in_bytes")),
            swap.to_string()
        );
    };
    set(&cg, 64 << 20, 128 << 20);
    // Raising both above the current memsw needs memsw written first.
    set(&cg, 256 << 20, 512 << 20);
    // Lowering both below the current limit needs the limit written first.
    set(&cg, 32 << 20, 48 << 20);
    let reservation = LinuxMemoryBuilder::default()
        .reservation(16i64 << 20)
        .swappiness(10u64)
        .build()
        .unwrap();
    cg.manager
        .set(
            &LinuxResourcesBuilder::default()
                .memory(reservation)
                .build()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        read_trimmed(dir.join("memory.soft_limit_in_bytes")),
        (16u64 << 20).to_string()
    );
    assert_eq!(read_trimmed(dir.join("memory.swappiness")), "10");
}

#[test]
fn pids_limit_stops_forking_with_eagain() {
    let mut cg = test_cgroup("pids");
    let limit = 5;
    let script = r#"
        my $forked = 0;
        for (1..20) {
            my $pid = fork();
            if (!defined $pid) { printf "fork-failed errno=%d\n", $!+0; last }
            if ($pid == 0) { close STDOUT; close STDERR; sleep 30; exit 0 }
            $forked++;
        }
        print "forked=$forked\n";
    "#;
    let pid = cg.spawn_inside("perl", &["-e", &format!("<STDIN>; {script}")]);
    let pids = LinuxPidsBuilder::default().limit(limit).build().unwrap();
    cg.manager
        .set(&LinuxResourcesBuilder::default().pids(pids).build().unwrap())
        .unwrap();
    let dir = dir_of(&cg, "pids");
    assert_eq!(read_trimmed(dir.join("pids.max")), limit.to_string());
    cg.release(pid);
    let (_, stdout, stderr) = cg.wait_output(pid);
    assert!(
        stdout.contains(&format!("fork-failed errno={}", libc::EAGAIN)),
        "fork must fail with EAGAIN: {stdout} {stderr}"
    );
    assert!(
        stdout.contains(&format!("forked={}", limit - 1)),
        "{stdout}"
    );
    let current: i64 = read_trimmed(dir.join("pids.current")).parse().unwrap();
    assert!(current <= limit, "pids.current {current} > {limit}");
    let stats = cg.manager.stats().unwrap();
    assert_eq!(stats.pids.limit, limit as u64);
    assert!(stats.pids.current >= 1);
}

#[test]
fn cpu_and_cpuset_values_are_written() {
    let mut cg = test_cgroup("cpu");
    cg.spawn_inside("sleep", &["100"]);
    let cpu = LinuxCpuBuilder::default()
        .shares(512u64)
        .quota(50_000i64)
        .period(200_000u64)
        .cpus("0")
        .mems("0")
        .realtime_period(1_000_000u64)
        .realtime_runtime(10_000i64)
        .build()
        .unwrap();
    cg.manager
        .set(&LinuxResourcesBuilder::default().cpu(cpu).build().unwrap())
        .unwrap();
    let cpu_dir = dir_of(&cg, "cpu");
    assert_eq!(read_trimmed(cpu_dir.join("cpu.shares")), "512");
    assert_eq!(read_trimmed(cpu_dir.join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read_trimmed(cpu_dir.join("cpu.cfs_period_us")), "200000");
    assert_eq!(read_trimmed(cpu_dir.join("cpu.rt_period_us")), "1000000");
    assert_eq!(read_trimmed(cpu_dir.join("cpu.rt_runtime_us")), "10000");
    let cpuset = dir_of(&cg, "cpuset");
    assert_eq!(read_trimmed(cpuset.join("cpuset.cpus")), "0");
    assert_eq!(read_trimmed(cpuset.join("cpuset.mems")), "0");
    // A smaller period with a quota: the fallback order must make it work.
    let cpu = LinuxCpuBuilder::default()
        .quota(10_000i64)
        .period(20_000u64)
        .build()
        .unwrap();
    cg.manager
        .set(&LinuxResourcesBuilder::default().cpu(cpu).build().unwrap())
        .unwrap();
    assert_eq!(read_trimmed(cpu_dir.join("cpu.cfs_period_us")), "20000");
    assert_eq!(read_trimmed(cpu_dir.join("cpu.cfs_quota_us")), "10000");
}

fn set_err(cg: &TestCgroup, resources: LinuxResources) -> CgroupError {
    cg.manager
        .set(&resources)
        .expect_err("this VM must refuse it")
}

#[test]
fn refused_limits_are_clear_errors() {
    let mut cg = test_cgroup("refused");
    cg.spawn_inside("sleep", &["100"]);

    // Throttling a block device that does not exist: the kernel answers ENODEV.
    let missing = LinuxThrottleDeviceBuilder::default()
        .major(8)
        .minor(0)
        .rate(1_048_576u64)
        .build()
        .unwrap();
    let blkio = LinuxBlockIoBuilder::default()
        .throttle_read_bps_device(vec![missing])
        .build()
        .unwrap();
    let err = set_err(
        &cg,
        LinuxResourcesBuilder::default()
            .block_io(blkio)
            .build()
            .unwrap(),
    );
    let message = err.to_string();
    assert!(matches!(err, CgroupError::Write { .. }), "{message}");
    assert!(
        message.contains("blkio.throttle.read_bps_device"),
        "{message}"
    );
    assert!(
        message.contains("\"8:0 1048576\"") && message.contains("refused"),
        "{message}"
    );

    // Per-device weight: the disk's I/O scheduler is not BFQ, so the kernel answers EOPNOTSUPP.
    let (major, minor) = block_device();
    let weight = LinuxWeightDeviceBuilder::default()
        .major(major)
        .minor(minor)
        .weight(300u16)
        .build()
        .unwrap();
    let blkio = LinuxBlockIoBuilder::default()
        .weight_device(vec![weight])
        .build()
        .unwrap();
    let err = set_err(
        &cg,
        LinuxResourcesBuilder::default()
            .block_io(blkio)
            .build()
            .unwrap(),
    );
    let message = err.to_string();
    assert!(
        message.contains("weight_device") && message.contains(&format!("\"{major}:{minor} 300\"")),
        "{message}"
    );
    assert!(message.contains("refused"), "{message}");

    let hugetlb = LinuxHugepageLimitBuilder::default()
        .page_size("2MB")
        .limit(2i64 << 20)
        .build()
        .unwrap();
    let err = set_err(
        &cg,
        LinuxResourcesBuilder::default()
            .hugepage_limits(vec![hugetlb])
            .build()
            .unwrap(),
    );
    assert!(
        matches!(
            err,
            CgroupError::ControllerMissing {
                controller: "hugetlb",
                ..
            }
        ),
        "{err}"
    );

    let network = LinuxNetworkBuilder::default()
        .class_id(0x100001u32)
        .build()
        .unwrap();
    let err = set_err(
        &cg,
        LinuxResourcesBuilder::default()
            .network(network)
            .build()
            .unwrap(),
    );
    assert!(
        matches!(
            err,
            CgroupError::ControllerMissing {
                controller: "net_cls",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("classID"), "{err}");

    let unified = std::collections::HashMap::from([("memory.high".to_owned(), "1".to_owned())]);
    let err = set_err(
        &cg,
        LinuxResourcesBuilder::default()
            .unified(unified)
            .build()
            .unwrap(),
    );
    assert!(matches!(err, CgroupError::UnifiedOnV1 { .. }), "{err}");
}

#[test]
fn blkio_weight_and_throttle_are_written() {
    let mut cg = test_cgroup("blkio");
    cg.spawn_inside("sleep", &["100"]);
    let (major, minor) = block_device();
    let throttle = LinuxThrottleDeviceBuilder::default()
        .major(major)
        .minor(minor)
        .rate(2_097_152u64)
        .build()
        .unwrap();
    let blkio = LinuxBlockIoBuilder::default()
        .weight(500u16)
        .throttle_write_bps_device(vec![throttle])
        .build()
        .unwrap();
    cg.manager
        .set(
            &LinuxResourcesBuilder::default()
                .block_io(blkio)
                .build()
                .unwrap(),
        )
        .unwrap();
    let dir = dir_of(&cg, "blkio");
    // This kernel has only BFQ's weight files in child cgroups.
    assert_eq!(read_trimmed(dir.join("blkio.bfq.weight")), "500");
    assert_eq!(
        read_trimmed(dir.join("blkio.throttle.write_bps_device")),
        format!("{major}:{minor} 2097152")
    );
}

/// The first virtio/SCSI disk: `major:minor` from /sys/block/<dev>/dev.
fn block_device() -> (i64, i64) {
    let dev = ["vda", "sda", "nvme0n1", "xvda"]
        .iter()
        .find_map(|d| std::fs::read_to_string(format!("/sys/block/{d}/dev")).ok())
        .expect("this test needs a vda/sda/nvme0n1/xvda disk");
    let (major, minor) = dev.trim().split_once(':').expect("major:minor");
    (major.parse().unwrap(), minor.parse().unwrap())
}

#[test]
fn device_allow_list_and_update() {
    let mut cg = test_cgroup("devices");
    suite::device_rules_apply_and_update(&mut cg);
    assert_eq!(
        read_trimmed(dir_of(&cg, "devices").join("devices.list")),
        "c 1:5 rw"
    );
}

#[test]
fn kernel_limits_and_oom_killer_switch_are_written() {
    let mut cg = test_cgroup("kmem");
    cg.spawn_inside("sleep", &["100"]);
    let memory = LinuxMemoryBuilder::default()
        .kernel(64i64 << 20)
        .kernel_tcp(16i64 << 20)
        .disable_oom_killer(true)
        .build()
        .unwrap();
    cg.manager
        .set(
            &LinuxResourcesBuilder::default()
                .memory(memory)
                .build()
                .unwrap(),
        )
        .unwrap();
    let dir = dir_of(&cg, "memory");
    assert_eq!(
        read_trimmed(dir.join("memory.kmem.tcp.limit_in_bytes")),
        (16u64 << 20).to_string()
    );
    let control = read_trimmed(dir.join("memory.oom_control"));
    assert!(
        control.lines().any(|l| l == "oom_kill_disable 1"),
        "{control}"
    );
}

#[test]
fn zero_and_unset_fields_write_nothing() {
    let mut cg = test_cgroup("zero");
    cg.spawn_inside("sleep", &["100"]);
    let memory_dir = dir_of(&cg, "memory");
    let pids_dir = dir_of(&cg, "pids");
    let cpu_dir = dir_of(&cg, "cpu");
    let before = (
        read_trimmed(memory_dir.join("memory.limit_in_bytes")),
        read_trimmed(pids_dir.join("pids.max")),
        read_trimmed(cpu_dir.join("cpu.shares")),
    );
    let resources = LinuxResourcesBuilder::default()
        .memory(LinuxMemoryBuilder::default().limit(0i64).build().unwrap())
        .pids(LinuxPidsBuilder::default().limit(0i64).build().unwrap())
        .cpu(LinuxCpuBuilder::default().shares(0u64).build().unwrap())
        // Requested-but-empty lists need no controller at all.
        .hugepage_limits(vec![])
        .build()
        .unwrap();
    cg.manager.set(&resources).unwrap();
    let after = (
        read_trimmed(memory_dir.join("memory.limit_in_bytes")),
        read_trimmed(pids_dir.join("pids.max")),
        read_trimmed(cpu_dir.join("cpu.shares")),
    );
    assert_eq!(before, after);
    assert_eq!(after.1, "max");
}

#[test]
fn unchanged_device_rules_are_not_rewritten() {
    let mut cg = test_cgroup("devsame");
    cg.spawn_inside("sleep", &["100"]);
    let rule = |minor: i64| {
        oci_spec::runtime::LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(oci_spec::runtime::LinuxDeviceType::C)
            .major(1)
            .minor(minor)
            .access("rwm")
            .build()
            .unwrap()
    };
    let deny_all = oci_spec::runtime::LinuxDeviceCgroupBuilder::default()
        .allow(false)
        .build()
        .unwrap();
    let devices = |minor| {
        LinuxResourcesBuilder::default()
            .devices(vec![deny_all.clone(), rule(minor)])
            .build()
            .unwrap()
    };
    cg.manager.set(&devices(3)).unwrap();
    // With a sub-cgroup the kernel refuses `deny a` (EINVAL): an identical update must not
    // write it, a different one reports the refusal.
    std::fs::create_dir(dir_of(&cg, "devices").join("sub")).unwrap();
    cg.manager.set(&devices(3)).unwrap();
    let err = cg.manager.set(&devices(5)).unwrap_err();
    assert!(err.to_string().contains("devices.deny"), "{err}");
    assert_eq!(
        read_trimmed(dir_of(&cg, "devices").join("devices.list")),
        "c 1:3 rwm"
    );
}
