//! AppArmor/SELinux requests on this host. The test first records what the host has, then
//! asserts the matching behaviour (this VM has neither: both requests must fail clearly).

mod process_support;

use std::path::Path;

use berth_runtime::process::lsm;
use process_support::in_child;

fn host_has_apparmor() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

fn host_has_selinux() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

#[test]
fn nothing_requested_is_a_no_op() {
    lsm::apply(None, None).unwrap();
    lsm::apply(Some(""), Some("")).unwrap();
}

#[test]
fn apparmor_request_matches_the_host() {
    berth_testutil::require_root();
    assert_eq!(lsm::apparmor_enabled(), host_has_apparmor());
    let result = in_child(|| {
        lsm::apply(Some("berth-test-profile"), None)
            .map(|()| String::new())
            .map_err(|e| e.to_string())
    });
    if host_has_apparmor() {
        // Unknown profiles are rejected by the kernel when written.
        let process_support::Outcome::Exited { code: 1, report } = result else {
            panic!("writing an unknown AppArmor profile succeeded: {result:?}");
        };
        assert!(report.contains("exec berth-test-profile"), "{report}");
    } else {
        assert_eq!(
            result,
            process_support::Outcome::Exited {
                code: 1,
                report: "apparmor profile berth-test-profile requested but AppArmor is not enabled on this host"
                    .to_string()
            }
        );
    }
}

#[test]
fn selinux_request_matches_the_host() {
    berth_testutil::require_root();
    assert_eq!(lsm::selinux_enabled(), host_has_selinux());
    let label = "system_u:system_r:container_t:s0:c1,c2";
    if host_has_selinux() {
        // Only reach the write in a child: on success it would relabel our next exec.
        let outcome = in_child(|| {
            lsm::apply(None, Some(label))
                .map(|()| String::new())
                .map_err(|e| e.to_string())
        });
        assert!(
            matches!(outcome, process_support::Outcome::Exited { .. }),
            "{outcome:?}"
        );
    } else {
        assert_eq!(
            lsm::apply(None, Some(label)).unwrap_err().to_string(),
            format!(
                "selinux label {label} requested but SELinux is not enabled on this host (/sys/fs/selinux is not mounted)"
            )
        );
    }
}
