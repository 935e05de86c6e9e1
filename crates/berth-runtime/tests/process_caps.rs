//! Capabilities, user switch and no_new_privs, checked from inside a forked child and after
//! it execs busybox (as root).

mod process_support;

use berth_runtime::process::{caps, user};
use oci_spec::runtime::{Capability, LinuxCapabilities, LinuxCapabilitiesBuilder, UserBuilder};
use process_support::{busybox, cap_mask, exec_in_child, in_child, status_field};

const CHOWN: u32 = 0;
const NET_BIND_SERVICE: u32 = 10;
const NET_RAW: u32 = 13;

fn set(caps: &[Capability]) -> oci_spec::runtime::Capabilities {
    caps.iter().copied().collect()
}

fn requested() -> LinuxCapabilities {
    LinuxCapabilitiesBuilder::default()
        .bounding(set(&[
            Capability::Chown,
            Capability::NetBindService,
            Capability::NetRaw,
        ]))
        .permitted(set(&[Capability::Chown, Capability::NetBindService]))
        .effective(set(&[Capability::Chown, Capability::NetBindService]))
        .inheritable(set(&[Capability::NetBindService]))
        .ambient(set(&[Capability::NetBindService]))
        .build()
        .unwrap()
}

#[test]
fn caps_sets_are_exactly_as_requested_before_exec() {
    berth_testutil::require_root();
    let report = in_child(|| {
        let caps = requested();
        caps::drop_bounding(&caps).map_err(|e| e.to_string())?;
        caps::apply(&caps).map_err(|e| e.to_string())?;
        std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())
    })
    .expect_ok();
    assert_eq!(
        status_field(&report, "CapBnd"),
        cap_mask(&[CHOWN, NET_BIND_SERVICE, NET_RAW])
    );
    assert_eq!(
        status_field(&report, "CapPrm"),
        cap_mask(&[CHOWN, NET_BIND_SERVICE])
    );
    assert_eq!(
        status_field(&report, "CapEff"),
        cap_mask(&[CHOWN, NET_BIND_SERVICE])
    );
    assert_eq!(
        status_field(&report, "CapInh"),
        cap_mask(&[NET_BIND_SERVICE])
    );
    assert_eq!(
        status_field(&report, "CapAmb"),
        cap_mask(&[NET_BIND_SERVICE])
    );
}

/// The init's order: bounding → keepcaps → user → apply → no_new_privs → exec. A non-root
/// process keeps exactly its ambient capabilities across execve.
#[test]
fn non_root_user_keeps_ambient_caps_across_exec_with_groups_and_nnp() {
    berth_testutil::require_root();
    let user = UserBuilder::default()
        .uid(1000u32)
        .gid(1001u32)
        .additional_gids(vec![10u32, 20, 30])
        .umask(0o027u32)
        .build()
        .unwrap();
    let out = exec_in_child(
        || {
            let caps = requested();
            caps::drop_bounding(&caps).map_err(|e| e.to_string())?;
            caps::set_keep(true).map_err(|e| e.to_string())?;
            user::switch(&user).map_err(|e| e.to_string())?;
            caps::set_keep(false).map_err(|e| e.to_string())?;
            caps::apply(&caps).map_err(|e| e.to_string())?;
            caps::no_new_privs().map_err(|e| e.to_string())
        },
        &[busybox(), "cat", "/proc/self/status"],
    )
    .expect_ok();
    assert_eq!(status_field(&out, "Uid"), "1000\t1000\t1000\t1000");
    assert_eq!(status_field(&out, "Gid"), "1001\t1001\t1001\t1001");
    assert_eq!(status_field(&out, "Groups"), "10 20 30");
    assert_eq!(status_field(&out, "Umask"), "0027");
    assert_eq!(status_field(&out, "NoNewPrivs"), "1");
    assert_eq!(
        status_field(&out, "CapBnd"),
        cap_mask(&[CHOWN, NET_BIND_SERVICE, NET_RAW])
    );
    // After execve a non-root process's permitted/effective sets are its ambient set.
    assert_eq!(status_field(&out, "CapAmb"), cap_mask(&[NET_BIND_SERVICE]));
    assert_eq!(status_field(&out, "CapPrm"), cap_mask(&[NET_BIND_SERVICE]));
    assert_eq!(status_field(&out, "CapEff"), cap_mask(&[NET_BIND_SERVICE]));
    assert_eq!(status_field(&out, "CapInh"), cap_mask(&[NET_BIND_SERVICE]));
}

#[test]
fn root_exec_gets_the_bounding_set_and_empty_lists_drop_everything() {
    berth_testutil::require_root();
    let only_kill = LinuxCapabilitiesBuilder::default()
        .bounding(set(&[Capability::Kill]))
        .permitted(set(&[Capability::Kill]))
        .effective(set(&[Capability::Kill]))
        .inheritable(set(&[]))
        .ambient(set(&[]))
        .build()
        .unwrap();
    let out = exec_in_child(
        || {
            caps::drop_bounding(&only_kill).map_err(|e| e.to_string())?;
            caps::apply(&only_kill).map_err(|e| e.to_string())
        },
        &[busybox(), "cat", "/proc/self/status"],
    )
    .expect_ok();
    assert_eq!(status_field(&out, "CapBnd"), cap_mask(&[5]));
    assert_eq!(status_field(&out, "CapEff"), cap_mask(&[5]));
    assert_eq!(status_field(&out, "CapAmb"), cap_mask(&[]));
    assert_eq!(status_field(&out, "NoNewPrivs"), "0");

    let nothing = LinuxCapabilities::default();
    let mut nothing = nothing;
    nothing.set_bounding(None);
    let report = in_child(|| {
        caps::drop_bounding(&nothing).map_err(|e| e.to_string())?;
        std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())
    })
    .expect_ok();
    assert_eq!(status_field(&report, "CapBnd"), cap_mask(&[]));
}

#[test]
fn ambient_without_inheritable_is_a_clear_error() {
    berth_testutil::require_root();
    let caps = LinuxCapabilitiesBuilder::default()
        .permitted(set(&[Capability::NetRaw]))
        .effective(set(&[Capability::NetRaw]))
        .inheritable(set(&[]))
        .ambient(set(&[Capability::NetRaw]))
        .build()
        .unwrap();
    let outcome = in_child(|| {
        caps::apply(&caps)
            .map(|_| String::new())
            .map_err(|e| e.to_string())
    });
    let process_support::Outcome::Exited { code: 1, report } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(
        report.contains("CAP_NET_RAW") && report.contains("inheritable"),
        "{report}"
    );
}

#[test]
fn capability_names_parse_and_unknown_ones_are_named() {
    assert_eq!(
        caps::parse_name("CAP_NET_BIND_SERVICE").unwrap(),
        Capability::NetBindService
    );
    assert_eq!(
        caps::number(caps::parse_name("CAP_CHECKPOINT_RESTORE").unwrap()),
        40
    );
    let err = caps::parse_name("CAP_MAKE_COFFEE").unwrap_err();
    assert_eq!(err.to_string(), "unknown capability \"CAP_MAKE_COFFEE\"");
    let last = caps::last_cap().unwrap();
    let kernel: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(last, kernel);
}

/// In a user namespace whose setgroups is "deny", the switch skips setgroups (as runc) instead
/// of failing, and still changes gid/uid.
#[test]
fn setgroups_is_skipped_when_the_user_namespace_denies_it() {
    berth_testutil::require_root();
    let user = UserBuilder::default()
        .uid(0u32)
        .gid(0u32)
        .additional_gids(vec![10u32])
        .build()
        .unwrap();
    let report = in_child(|| {
        // SAFETY: the forked child is single-threaded, as CLONE_NEWUSER requires; nothing
        // else in it depends on the namespaces it had.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWUSER) }
            .map_err(|e| format!("unshare(CLONE_NEWUSER): {e}"))?;
        // Map only our own ids: allowed to ourselves once setgroups is denied.
        for (file, content) in [
            ("/proc/self/setgroups", "deny"),
            ("/proc/self/uid_map", "0 0 1"),
            ("/proc/self/gid_map", "0 0 1"),
        ] {
            std::fs::write(file, content).map_err(|e| format!("{file}: {e}"))?;
        }
        if user::setgroups_allowed().map_err(|e| e.to_string())? {
            return Err("setgroups reported allowed after writing deny".to_string());
        }
        user::switch(&user).map_err(|e| e.to_string())?;
        std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())
    })
    .expect_ok();
    assert_eq!(status_field(&report, "Uid"), "0\t0\t0\t0");
    assert_eq!(status_field(&report, "Gid"), "0\t0\t0\t0");
    // The groups inherited from the test process (root's) are kept: setgroups was skipped.
    assert!(
        !status_field(&report, "Groups")
            .split_whitespace()
            .any(|g| g == "10"),
        "{report}"
    );
}
