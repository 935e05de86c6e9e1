//! HostConfig resources, ulimits, env, sysctls and oom score in the spec.

use bollard_stubs::models::{ContainerConfig, HostConfig, ResourcesUlimits};
use oci_spec::runtime::PosixRlimitType;

use super::{Fixture, sh};
use crate::spec::SpecError;

#[test]
fn memory_cpu_pids_map_like_docker() {
    let f = Fixture::new();
    let host = HostConfig {
        memory: Some(100 << 20),
        memory_reservation: Some(50 << 20),
        nano_cpus: Some(1_500_000_000),
        cpu_shares: Some(512),
        cpuset_cpus: Some("0".into()),
        cpuset_mems: Some("0".into()),
        pids_limit: Some(64),
        oom_kill_disable: Some(true),
        blkio_weight: Some(300),
        ..Default::default()
    };
    let spec = f.build(&sh(&["true"]), &host).unwrap();
    let r = spec.linux().as_ref().unwrap().resources().clone().unwrap();
    let mem = r.memory().unwrap();
    assert_eq!(mem.limit(), Some(100 << 20));
    assert_eq!(
        mem.swap(),
        Some(200 << 20),
        "swap defaults to twice the limit"
    );
    assert_eq!(mem.reservation(), Some(50 << 20));
    assert_eq!(mem.disable_oom_killer(), Some(true));
    let cpu = r.cpu().clone().unwrap();
    assert_eq!((cpu.quota(), cpu.period()), (Some(150_000), Some(100_000)));
    assert_eq!(cpu.shares(), Some(512));
    assert_eq!(cpu.cpus().as_deref(), Some("0"));
    assert_eq!(cpu.mems().as_deref(), Some("0"));
    assert_eq!(r.pids().unwrap().limit(), 64);
    assert_eq!(r.block_io().clone().unwrap().weight(), Some(300));
}

#[test]
fn explicit_quota_period_and_unlimited_swap() {
    let f = Fixture::new();
    let host = HostConfig {
        memory: Some(64 << 20),
        memory_swap: Some(-1),
        cpu_quota: Some(50_000),
        cpu_period: Some(200_000),
        ..Default::default()
    };
    let spec = f.build(&sh(&["true"]), &host).unwrap();
    let r = spec.linux().as_ref().unwrap().resources().clone().unwrap();
    assert_eq!(r.memory().unwrap().swap(), Some(-1));
    let cpu = r.cpu().clone().unwrap();
    assert_eq!((cpu.quota(), cpu.period()), (Some(50_000), Some(200_000)));
}

#[test]
fn nothing_set_means_no_limits() {
    let f = Fixture::new();
    let spec = f.build(&sh(&["true"]), &HostConfig::default()).unwrap();
    let r = spec.linux().as_ref().unwrap().resources().clone().unwrap();
    assert!(r.memory().is_none() && r.cpu().is_none() && r.pids().is_none());
    assert!(r.block_io().is_none());
    let process = spec.process().as_ref().unwrap();
    assert!(process.rlimits().is_none());
    assert!(process.oom_score_adj().is_none());
}

#[test]
fn invalid_resources_are_invalid_arguments() {
    let f = Fixture::new();
    for host in [
        HostConfig {
            nano_cpus: Some(1_000_000_000),
            cpu_quota: Some(1000),
            ..Default::default()
        },
        HostConfig {
            memory: Some(100 << 20),
            memory_swap: Some(10 << 20),
            ..Default::default()
        },
        HostConfig {
            memory: Some(10 << 20),
            memory_reservation: Some(20 << 20),
            ..Default::default()
        },
        HostConfig {
            oom_score_adj: Some(5000),
            ..Default::default()
        },
        HostConfig {
            blkio_weight: Some(5),
            ..Default::default()
        },
    ] {
        let err = f.build(&sh(&["true"]), &host).unwrap_err();
        assert_eq!(
            crate::HasKind::kind(&err),
            crate::ErrorKind::InvalidArgument,
            "{err}"
        );
    }
}

#[test]
fn a_relative_working_dir_is_refused() {
    let f = Fixture::new();
    let config = ContainerConfig {
        working_dir: Some("srv".into()),
        ..sh(&["true"])
    };
    let err = f.build(&config, &HostConfig::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the working directory 'srv' is invalid, it needs to be an absolute path"
    );
}

#[test]
fn ulimits_become_rlimits() {
    let f = Fixture::new();
    let ulimit = |name: &str, soft, hard| ResourcesUlimits {
        name: Some(name.into()),
        soft: Some(soft),
        hard: Some(hard),
    };
    let host = HostConfig {
        ulimits: Some(vec![ulimit("nofile", 1024, 2048), ulimit("core", -1, -1)]),
        oom_score_adj: Some(200),
        ..Default::default()
    };
    let spec = f.build(&sh(&["true"]), &host).unwrap();
    let process = spec.process().as_ref().unwrap();
    let rl = process.rlimits().clone().unwrap();
    assert_eq!(rl[0].typ(), PosixRlimitType::RlimitNofile);
    assert_eq!((rl[0].soft(), rl[0].hard()), (1024, 2048));
    assert_eq!((rl[1].soft(), rl[1].hard()), (u64::MAX, u64::MAX));
    assert_eq!(process.oom_score_adj(), Some(200));
    for bad in [
        ulimit("files", 1, 1),
        ulimit("nofile", 10, 5),
        ulimit("nproc", -7, 1),
    ] {
        let host = HostConfig {
            ulimits: Some(vec![bad]),
            ..Default::default()
        };
        assert!(matches!(
            f.build(&sh(&["true"]), &host),
            Err(SpecError::InvalidUlimit { .. })
        ));
    }
}

#[test]
fn environment_like_docker() {
    let f = Fixture::new();
    let config = ContainerConfig {
        tty: Some(true),
        hostname: Some("web".into()),
        domainname: Some("example.org".into()),
        working_dir: Some("/srv".into()),
        env: Some(vec![
            "PATH=/custom/bin".into(),
            "FOO=bar".into(),
            "HOSTNAME".into(),
        ]),
        ..sh(&["env"])
    };
    let host = HostConfig {
        sysctls: Some(
            [(
                "net.ipv4.ip_unprivileged_port_start".to_string(),
                "1024".to_string(),
            )]
            .into(),
        ),
        ..Default::default()
    };
    let spec = f.build(&config, &host).unwrap();
    let process = spec.process().as_ref().unwrap();
    assert_eq!(
        process.env().clone().unwrap(),
        ["PATH=/custom/bin", "TERM=xterm", "FOO=bar", "HOME=/root"]
    );
    assert_eq!(process.terminal(), Some(true));
    assert_eq!(process.cwd().to_str(), Some("/srv"));
    assert_eq!(spec.hostname().as_deref(), Some("web"));
    assert!(spec.domainname().is_none());
    let sysctl = spec.linux().as_ref().unwrap().sysctl().clone().unwrap();
    assert_eq!(sysctl["net.ipv4.ip_unprivileged_port_start"], "1024");
    assert_eq!(sysctl["net.ipv4.ping_group_range"], "0 2147483647");
    assert_eq!(sysctl["kernel.domainname"], "example.org");
}
