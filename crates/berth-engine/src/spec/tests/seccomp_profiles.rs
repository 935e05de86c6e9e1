//! User-supplied seccomp profiles (Docker's JSON format) and their conditions.

use bollard_stubs::models::HostConfig;
use oci_spec::runtime::{Arch, LinuxSeccompAction};

use super::{Fixture, sh, syscall_rules};
use crate::spec::seccomp::{Profile, Target, default_profile, resolve};

const PROFILE: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 38,
  "archMap": [
    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
  ],
  "syscalls": [
    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
    {"name": "exit", "action": "SCMP_ACT_ALLOW"},
    {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "2.6"}},
    {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]}
  ]
}"#;

fn host_with(opt: &str) -> HostConfig {
    HostConfig {
        security_opt: Some(vec![opt.to_string()]),
        ..Default::default()
    }
}

#[test]
fn inline_profile_is_resolved_for_this_container() {
    let f = Fixture::new();
    let spec = f
        .build(&sh(&["true"]), &host_with(&format!("seccomp={PROFILE}")))
        .unwrap();
    let seccomp = spec.linux().as_ref().unwrap().seccomp().clone().unwrap();
    assert_eq!(seccomp.default_errno_ret(), Some(38));
    assert!(!syscall_rules(&spec, "read").is_empty());
    assert!(
        !syscall_rules(&spec, "exit").is_empty(),
        "the deprecated `name` form"
    );
    assert!(syscall_rules(&spec, "mount").is_empty(), "no CAP_SYS_ADMIN");
    assert!(
        syscall_rules(&spec, "reboot").is_empty(),
        "excluded on kernels >= 2.6"
    );
    assert_eq!(
        syscall_rules(&spec, "socket")[0].args().as_ref().unwrap()[0].value(),
        40
    );
    assert_eq!(seccomp.architectures().as_ref().map(Vec::len), Some(2));
}

#[test]
fn a_path_is_refused_and_unconfined_works() {
    let f = Fixture::new();
    let path = f.dir.path().join("profile.json");
    std::fs::write(&path, PROFILE).unwrap();
    // An API caller must not make the daemon read host files: profiles arrive as JSON.
    let err = f
        .build(
            &sh(&["true"]),
            &host_with(&format!("seccomp={}", path.display())),
        )
        .unwrap_err();
    assert!(err.to_string().contains("not a path"), "{err}");
    let spec = f
        .build(&sh(&["true"]), &host_with("seccomp=unconfined"))
        .unwrap();
    assert!(spec.linux().as_ref().unwrap().seccomp().is_none());
    let spec = f
        .build(&sh(&["true"]), &host_with("no-new-privileges"))
        .unwrap();
    assert_eq!(
        spec.process().as_ref().unwrap().no_new_privileges(),
        Some(true)
    );
}

#[test]
fn broken_profiles_are_invalid_arguments() {
    let f = Fixture::new();
    for bad in [
        "seccomp={not json",
        r#"seccomp={"defaultAction": "SCMP_ACT_NOPE"}"#,
        r#"seccomp={"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#,
        r#"seccomp={"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]}"#,
        r#"seccomp={"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["b"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "five"}}]}"#,
    ] {
        let err = f.build(&sh(&["true"]), &host_with(bad)).unwrap_err();
        assert_eq!(
            crate::HasKind::kind(&err),
            crate::ErrorKind::InvalidArgument,
            "{bad}: {err}"
        );
    }
}

#[test]
fn default_profile_conditions_by_arch_cap_and_kernel() {
    let profile: Profile = default_profile();
    let caps = vec!["CAP_SYS_PTRACE".to_string()];
    let names = |target: &Target<'_>| -> Vec<String> {
        let seccomp = resolve(&profile, target).unwrap();
        seccomp
            .syscalls()
            .iter()
            .flatten()
            .flat_map(|s| s.names().clone())
            .collect()
    };
    let arm = Target {
        caps: &caps,
        arch: "arm64",
        kernel: (4, 4),
    };
    let arm_names = names(&arm);
    assert!(arm_names.contains(&"set_tls".to_string()));
    assert!(!arm_names.contains(&"arch_prctl".to_string()));
    assert!(
        arm_names.contains(&"kcmp".to_string()),
        "CAP_SYS_PTRACE rule"
    );
    let arm_seccomp = resolve(&profile, &arm).unwrap();
    assert_eq!(
        arm_seccomp.architectures().clone().unwrap(),
        [Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    );
    // The unconditional ptrace rule needs kernel 4.8; with 4.4 only the CAP_SYS_PTRACE one.
    let ptrace_rules = arm_names.iter().filter(|n| *n == "ptrace").count();
    assert_eq!(ptrace_rules, 1);
    let new_kernel = Target {
        caps: &[],
        arch: "amd64",
        kernel: (6, 1),
    };
    let seccomp = resolve(&profile, &new_kernel).unwrap();
    assert_eq!(seccomp.default_action(), LinuxSeccompAction::ScmpActErrno);
    let amd = names(&new_kernel);
    assert!(amd.contains(&"ptrace".to_string()) && amd.contains(&"arch_prctl".to_string()));
    assert!(!amd.contains(&"kcmp".to_string()));
    // Every allow-listed name is a plain syscall name.
    assert!(
        amd.iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()))
    );
    assert!(amd.len() > 350);
}
