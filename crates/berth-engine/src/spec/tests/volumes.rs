//! Specs built with the volume service's resolved mounts.

use bollard_stubs::models::HostConfig;

use super::{Fixture, mount_dests, options_of, sh};
use crate::spec::{SpecError, oci_mount};

#[test]
fn resolved_mounts_replace_the_binds() {
    let f = Fixture::new();
    // A named volume in Binds: refused without the volume service, fine with its mounts.
    let host = HostConfig {
        binds: Some(vec!["data:/data".into(), "/srv:/srv:rshared".into()]),
        ..Default::default()
    };
    assert!(matches!(
        f.build(&sh(&["true"]), &host),
        Err(SpecError::NamedVolume { .. })
    ));
    let resolved = [
        oci_mount(
            "/data",
            "bind",
            "/var/lib/berth/volumes/data/_data",
            &["rbind", "rprivate"],
        ),
        oci_mount("/srv", "bind", "/srv", &["rbind", "rshared"]),
    ];
    let spec = f
        .build_with(&sh(&["true"]), &host, Some(&resolved))
        .unwrap();
    let dests = mount_dests(&spec);
    assert_eq!(dests.iter().filter(|d| *d == "/data").count(), 1);
    assert_eq!(options_of(&spec, "/data"), ["rbind", "rprivate"]);
    assert_eq!(
        spec.linux()
            .as_ref()
            .unwrap()
            .rootfs_propagation()
            .as_deref(),
        Some("rshared"),
        "a shared volume keeps the root shared"
    );
    let duplicate = [oci_mount("/etc/hosts", "bind", "/tmp/x", &["rbind"])];
    assert!(matches!(
        f.build_with(&sh(&["true"]), &HostConfig::default(), Some(&duplicate)),
        Err(SpecError::DuplicateMount { .. })
    ));
}
