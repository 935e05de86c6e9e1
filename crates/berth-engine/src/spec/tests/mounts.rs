//! Binds, tmpfs, shm size, read-only rootfs and the namespaces' host modes.

use bollard_stubs::models::HostConfig;
use oci_spec::runtime::LinuxNamespaceType;

use super::{Fixture, mount_dests, options_of, sh};
use crate::spec::SpecError;

fn host_with(binds: &[&str]) -> HostConfig {
    HostConfig {
        binds: Some(binds.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

#[test]
fn binds_and_tmpfs_follow_the_defaults_sorted_by_depth() {
    let f = Fixture::new();
    let host = HostConfig {
        tmpfs: Some([("/run/app".to_string(), "size=1m,mode=700".to_string())].into()),
        shm_size: Some(1 << 20),
        ..host_with(&["/var/lib/data:/data/deep:ro", "/srv:/srv:rshared"])
    };
    let spec = f.build(&sh(&["true"]), &host).unwrap();
    let dests = mount_dests(&spec);
    assert_eq!(
        &dests[7..],
        [
            "/srv",
            "/data/deep",
            "/etc/resolv.conf",
            "/etc/hostname",
            "/etc/hosts",
            "/run/app"
        ]
    );
    assert_eq!(options_of(&spec, "/data/deep"), ["rbind", "ro", "rprivate"]);
    assert_eq!(options_of(&spec, "/srv"), ["rbind", "rshared"]);
    assert_eq!(
        options_of(&spec, "/run/app"),
        [
            "noexec", "nosuid", "nodev", "rprivate", "size=1m", "mode=700"
        ]
    );
    assert!(options_of(&spec, "/dev/shm").contains(&"size=1048576".to_string()));
    let linux = spec.linux().as_ref().unwrap();
    assert_eq!(linux.rootfs_propagation().as_deref(), Some("rshared"));
}

#[test]
fn a_user_mount_replaces_the_default_at_its_destination() {
    let f = Fixture::new();
    let host = HostConfig {
        tmpfs: Some([("/dev/shm".to_string(), "size=2m".to_string())].into()),
        ..Default::default()
    };
    let spec = f.build(&sh(&["true"]), &host).unwrap();
    let dests = mount_dests(&spec);
    assert_eq!(dests.iter().filter(|d| *d == "/dev/shm").count(), 1);
    assert!(options_of(&spec, "/dev/shm").contains(&"size=2m".to_string()));
}

#[test]
fn readonly_rootfs_makes_the_etc_files_read_only() {
    let f = Fixture::new();
    let host = HostConfig {
        readonly_rootfs: Some(true),
        ..Default::default()
    };
    let spec = f.build(&sh(&["true"]), &host).unwrap();
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    assert_eq!(options_of(&spec, "/etc/hosts"), ["rbind", "ro", "rprivate"]);
}

#[test]
fn bad_binds_are_invalid_arguments() {
    let f = Fixture::new();
    for (bind, named) in [
        ("myvolume:/data", true),
        ("/data", false),
        ("/a:relative", false),
        ("/a:/", false),
        ("/a:/b:rw,ro", false),
        ("/a:/b:shared,slave", false),
        ("/a:/b:fancy", false),
        ("/a:/b:ro:extra", false),
    ] {
        let err = f.build(&sh(&["true"]), &host_with(&[bind])).unwrap_err();
        assert_eq!(
            matches!(err, SpecError::NamedVolume { .. }),
            named,
            "{bind}: {err}"
        );
        assert_eq!(
            crate::HasKind::kind(&err),
            crate::ErrorKind::InvalidArgument
        );
    }
    let err = f
        .build(&sh(&["true"]), &host_with(&["/a:/x", "/b:/x"]))
        .unwrap_err();
    assert!(matches!(err, SpecError::DuplicateMount { .. }), "{err}");
}

#[test]
fn host_modes_drop_namespaces() {
    let f = Fixture::new();
    let host = HostConfig {
        network_mode: Some("host".into()),
        pid_mode: Some("host".into()),
        ipc_mode: Some("host".into()),
        uts_mode: Some("host".into()),
        ..Default::default()
    };
    let spec = f.build(&sh(&["true"]), &host).unwrap();
    let linux = spec.linux().as_ref().unwrap();
    let ns: Vec<_> = linux
        .namespaces()
        .iter()
        .flatten()
        .map(|n| n.typ())
        .collect();
    assert!(ns.contains(&LinuxNamespaceType::Mount));
    for gone in [
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
    ] {
        assert!(!ns.contains(&gone), "{gone:?}");
    }
    assert!(spec.hostname().is_none());
    assert!(
        linux.sysctl().as_ref().unwrap().is_empty(),
        "no network sysctls on the host's network"
    );
    assert_eq!(options_of(&spec, "/dev/shm"), ["rbind", "rprivate"]);

    let joined = HostConfig {
        network_mode: Some("container:abc".into()),
        ..Default::default()
    };
    assert!(matches!(
        f.build(&sh(&["true"]), &joined),
        Err(SpecError::UnsupportedMode { .. })
    ));
}
