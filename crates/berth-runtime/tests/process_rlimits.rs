//! rlimits and oom_score_adj, applied in forked children (as root). CAP_SYS_RESOURCE is
//! dropped from the child's effective set first, so the "needs CAP_SYS_RESOURCE" errors are
//! tested whatever the host grants.

mod process_support;

use berth_runtime::process::{oom, rlimits};
use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType};
use process_support::{Outcome, busybox, drop_effective, exec_in_child, in_child};

const CAP_SYS_RESOURCE: u32 = 24;

fn limit(typ: PosixRlimitType, soft: u64, hard: u64) -> PosixRlimit {
    PosixRlimitBuilder::default()
        .typ(typ)
        .soft(soft)
        .hard(hard)
        .build()
        .unwrap()
}

fn failure(outcome: Outcome) -> String {
    match outcome {
        Outcome::Exited { code: 1, report } => report,
        other => panic!("expected the child to report an error, got {other:?}"),
    }
}

/// The row of `/proc/self/limits` for `name`, e.g. "Max open files".
fn limits_row(limits: &str, name: &str) -> Vec<String> {
    let line = limits
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in:\n{limits}"));
    line[name.len()..]
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn rlimits_are_set_and_survive_exec() {
    berth_testutil::require_root();
    let wanted = [
        limit(PosixRlimitType::RlimitNofile, 1024, 2048),
        limit(PosixRlimitType::RlimitCore, 0, u64::MAX),
        limit(PosixRlimitType::RlimitNproc, 500, 600),
        limit(PosixRlimitType::RlimitMsgqueue, 8192, 8192),
    ];
    let out = exec_in_child(
        || rlimits::apply(&wanted).map_err(|e| e.to_string()),
        &[busybox(), "cat", "/proc/self/limits"],
    )
    .expect_ok();
    assert_eq!(limits_row(&out, "Max open files")[..2], ["1024", "2048"]);
    assert_eq!(
        limits_row(&out, "Max core file size")[..2],
        ["0", "unlimited"]
    );
    assert_eq!(limits_row(&out, "Max processes")[..2], ["500", "600"]);
    assert_eq!(limits_row(&out, "Max msgqueue size")[..2], ["8192", "8192"]);
}

#[test]
fn raising_a_hard_limit_names_cap_sys_resource() {
    berth_testutil::require_root();
    let report = failure(in_child(|| {
        drop_effective(CAP_SYS_RESOURCE)?;
        rlimits::apply(&[limit(PosixRlimitType::RlimitNofile, 64, 128)])
            .map_err(|e| e.to_string())?;
        match rlimits::apply(&[limit(PosixRlimitType::RlimitNofile, 64, 4096)]) {
            Ok(()) => Ok("raised the hard limit without CAP_SYS_RESOURCE".to_string()),
            Err(e) => Err(e.to_string()),
        }
    }));
    assert_eq!(
        report,
        "RLIMIT_NOFILE: raising the hard limit from 128 to 4096 (soft 64) needs CAP_SYS_RESOURCE, \
         which this process does not have"
    );
}

#[test]
fn soft_above_hard_is_rejected_with_the_values() {
    let err = rlimits::apply(&[limit(PosixRlimitType::RlimitStack, 10, 5)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "RLIMIT_STACK: soft limit 10 is above hard limit 5"
    );
}

#[test]
fn oom_score_adj_raises_and_lowering_names_cap_sys_resource() {
    berth_testutil::require_root();
    let report = failure(in_child(|| {
        drop_effective(CAP_SYS_RESOURCE)?;
        oom::set_score_adj(500).map_err(|e| format!("raise: {e}"))?;
        let now = std::fs::read_to_string("/proc/self/oom_score_adj").map_err(|e| e.to_string())?;
        if now.trim() != "500" {
            return Ok(format!("oom_score_adj is {now} after setting 500"));
        }
        match oom::set_score_adj(-500) {
            Ok(()) => Ok("lowered oom_score_adj without CAP_SYS_RESOURCE".to_string()),
            Err(e) => Err(e.to_string()),
        }
    }));
    assert_eq!(
        report,
        "lowering oom_score_adj to -500 (from 500) needs CAP_SYS_RESOURCE, which this process \
         does not have"
    );
    assert_eq!(
        oom::set_score_adj(1001).unwrap_err().to_string(),
        "oom_score_adj 1001 is outside -1000..=1000"
    );
}

#[test]
fn nofile_above_nr_open_says_so_instead_of_blaming_a_capability() {
    berth_testutil::require_root();
    let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The kernel refuses this before any capability check, so nothing changes here.
    let err =
        rlimits::apply(&[limit(PosixRlimitType::RlimitNofile, 1024, nr_open + 1)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "RLIMIT_NOFILE: hard limit {} is above the kernel's fs.nr_open ({nr_open})",
            nr_open + 1
        )
    );
}
