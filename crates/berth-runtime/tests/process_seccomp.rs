//! seccomp filters loaded into forked children (as root, so no_new_privs is not required).

mod process_support;

use berth_runtime::process::{caps, seccomp};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompBuilder, LinuxSeccompFilterFlag,
    LinuxSeccompOperator as Op,
};
use process_support::seccomp_rules::{allow_all_but, mkdir_errno, rule, with_args};
use process_support::{Outcome, busybox, errno, exec_in_child, in_child, status_field};

#[test]
fn denied_syscalls_return_the_requested_errno() {
    berth_testutil::require_root();
    let dir = tempfile::tempdir().unwrap();
    let target = std::ffi::CString::new(dir.path().join("x").to_str().unwrap()).unwrap();
    let profile = allow_all_but(vec![
        // An unknown name is skipped with a warning; the rest of the rule still applies.
        rule(
            &["no_such_syscall_berth", "mkdir", "mkdirat"],
            Action::ScmpActErrno,
            None,
        ),
        rule(&["getcwd"], Action::ScmpActErrno, Some(38)),
    ]);
    let report = in_child(|| {
        seccomp::load(&profile).map_err(|e| e.to_string())?;
        let mkdir = mkdir_errno(&target);
        let mut buf = [0u8; 256];
        // SAFETY: `buf` is a valid writable buffer of the given length.
        let cwd = unsafe { libc::getcwd(buf.as_mut_ptr().cast(), buf.len()) };
        let getcwd = if cwd.is_null() { errno() } else { 0 };
        let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
        Ok(format!(
            "mkdir={mkdir} getcwd={getcwd} seccomp={}",
            status_field(&status, "Seccomp")
        ))
    })
    .expect_ok();
    assert_eq!(
        report,
        format!("mkdir={} getcwd={} seccomp=2", libc::EPERM, libc::ENOSYS)
    );
    assert!(!dir.path().join("x").exists());
}

fn personality(arg: u64) -> i32 {
    // SAFETY: personality takes a plain integer; 0xffffffff only queries.
    let r = unsafe { libc::syscall(libc::SYS_personality, arg) };
    if r == -1 { errno() } else { 0 }
}

fn kill_errno(pid: i32, sig: i32) -> i32 {
    // SAFETY: kill with signal 0 or SIGCONT to ourselves has no lasting effect.
    let r = unsafe { libc::kill(pid, sig) };
    if r == 0 { 0 } else { errno() }
}

#[test]
fn argument_filters_and_or_like_runc() {
    berth_testutil::require_root();
    let profile = |me: i32| {
        LinuxSeccompBuilder::default()
            .default_action(Action::ScmpActErrno)
            .default_errno_ret(libc::EACCES as u32)
            .syscalls(vec![
                // Everything the child needs, then the filtered ones (Docker-profile style).
                rule(
                    &[
                        "write",
                        "exit_group",
                        "exit",
                        "getpid",
                        "openat",
                        "read",
                        "close",
                        "fstat",
                        "newfstatat",
                        "statx",
                        "mmap",
                        "munmap",
                        "brk",
                        "rt_sigreturn",
                        "rt_sigprocmask",
                        "sigaltstack",
                        "futex",
                        "lseek",
                        "mremap",
                        "madvise",
                        "getrandom",
                    ],
                    Action::ScmpActAllow,
                    None,
                ),
                // Two rules for personality: OR.
                with_args(
                    rule(&["personality"], Action::ScmpActAllow, None),
                    &[(0, Op::ScmpCmpEq, 0xffff_ffff, None)],
                ),
                with_args(
                    rule(&["personality"], Action::ScmpActAllow, None),
                    &[(0, Op::ScmpCmpMaskedEq, 0xff00, Some(0))],
                ),
                // Two args on one rule: AND (kill(self, 0) only). Comparisons are on the 64-bit
                // unsigned register values, as in the kernel.
                with_args(
                    rule(&["kill"], Action::ScmpActAllow, None),
                    &[
                        (1, Op::ScmpCmpEq, 0, None),
                        (0, Op::ScmpCmpEq, me as u64, None),
                    ],
                ),
            ])
            .build()
            .unwrap()
    };
    let report = in_child(|| {
        // SAFETY: getpid cannot fail.
        let me = unsafe { libc::getpid() };
        seccomp::load(&profile(me)).map_err(|e| e.to_string())?;
        Ok(format!(
            "query={} masked_ok={} masked_bad={} kill0={} kill_cont={} kill_init={}",
            personality(0xffff_ffff),
            personality(0x0008),
            personality(0x0100),
            kill_errno(me, 0),
            kill_errno(me, libc::SIGCONT),
            kill_errno(1, 0),
        ))
    })
    .expect_ok();
    let eacces = libc::EACCES;
    assert_eq!(
        report,
        format!(
            "query=0 masked_ok=0 masked_bad={eacces} kill0=0 kill_cont={eacces} kill_init={eacces}"
        )
    );
}

#[test]
fn kill_actions_end_the_process_with_sigsys() {
    berth_testutil::require_root();
    for action in [
        Action::ScmpActKill,
        Action::ScmpActKillProcess,
        Action::ScmpActKillThread,
    ] {
        let profile = allow_all_but(vec![rule(&["getppid"], action, None)]);
        let outcome = in_child(|| {
            seccomp::load(&profile).map_err(|e| e.to_string())?;
            // SAFETY: getppid cannot fail; here it is the denied syscall.
            unsafe { libc::getppid() };
            Ok("getppid returned".to_string())
        });
        assert_eq!(
            outcome,
            Outcome::Signaled {
                signal: libc::SIGSYS,
                report: String::new()
            },
            "{action}"
        );
    }
}

static TRAPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_sigsys(_: libc::c_int) {
    TRAPPED.store(true, std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn trap_delivers_sigsys_and_log_allows() {
    berth_testutil::require_root();
    let profile = LinuxSeccompBuilder::default()
        .default_action(Action::ScmpActAllow)
        .flags(vec![LinuxSeccompFilterFlag::SeccompFilterFlagLog])
        .syscalls(vec![
            rule(&["getppid"], Action::ScmpActTrap, None),
            rule(&["getpgrp"], Action::ScmpActLog, None),
        ])
        .build()
        .unwrap();
    let report = in_child(|| {
        // SAFETY: installs a handler that only stores to an atomic (async-signal-safe).
        unsafe { libc::signal(libc::SIGSYS, on_sigsys as *const () as libc::sighandler_t) };
        seccomp::load(&profile).map_err(|e| e.to_string())?;
        // SAFETY: getpgrp/getppid cannot fail; getppid is trapped.
        let pgrp = unsafe { libc::getpgrp() };
        // SAFETY: as above.
        unsafe { libc::getppid() };
        Ok(format!(
            "pgrp_ok={} trapped={}",
            pgrp > 0,
            TRAPPED.load(std::sync::atomic::Ordering::SeqCst)
        ))
    })
    .expect_ok();
    assert_eq!(report, "pgrp_ok=true trapped=true");
}

#[test]
fn filter_survives_exec_with_no_new_privs() {
    berth_testutil::require_root();
    let profile = allow_all_but(vec![rule(
        &["mkdir", "mkdirat"],
        Action::ScmpActErrno,
        None,
    )]);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("blocked");
    let out = exec_in_child(
        || {
            caps::no_new_privs().map_err(|e| e.to_string())?;
            seccomp::load(&profile).map_err(|e| e.to_string())
        },
        &[
            busybox(),
            "sh",
            "-c",
            &format!(
                "mkdir {} 2>&1; grep -E 'NoNewPrivs|Seccomp:' /proc/self/status",
                target.display()
            ),
        ],
    )
    .expect_ok();
    assert!(out.contains("Operation not permitted"), "{out}");
    assert_eq!(status_field(&out, "NoNewPrivs"), "1");
    assert_eq!(status_field(&out, "Seccomp"), "2");
    assert!(!target.exists());
}

#[test]
fn bad_values_are_named() {
    let too_big = allow_all_but(vec![rule(&["mkdir"], Action::ScmpActErrno, Some(70000))]);
    assert_eq!(
        seccomp::build(&too_big).unwrap_err().to_string(),
        "errnoRet 70000 for mkdir does not fit in 16 bits"
    );
    let bad_index = allow_all_but(vec![with_args(
        rule(&["kill"], Action::ScmpActErrno, None),
        &[(6, Op::ScmpCmpEq, 0, None)],
    )]);
    assert_eq!(
        seccomp::build(&bad_index).unwrap_err().to_string(),
        "syscall kill: argument index 6 is out of range (0..=5)"
    );
    let unknown_action: Result<LinuxSeccomp, _> = serde_json::from_str(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_EXPLODE"}]}"#,
    );
    let msg = unknown_action.unwrap_err().to_string();
    assert!(msg.contains("SCMP_ACT_EXPLODE"), "{msg}");
    let unknown_op: Result<LinuxSeccomp, _> = serde_json::from_str(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_ALMOST"}]}]}"#,
    );
    let msg = unknown_op.unwrap_err().to_string();
    assert!(msg.contains("SCMP_CMP_ALMOST"), "{msg}");
}

#[test]
fn same_argument_twice_splits_into_or_rules_and_trace_without_tracer_is_enosys() {
    berth_testutil::require_root();
    let profile = allow_all_but(vec![
        // Two conditions on arg 1 cannot be ANDed by libseccomp: runc (and we) OR them.
        with_args(
            rule(&["kill"], Action::ScmpActErrno, Some(libc::EBADE as u32)),
            &[
                (1, Op::ScmpCmpEq, libc::SIGCONT as u64, None),
                (1, Op::ScmpCmpEq, libc::SIGWINCH as u64, None),
            ],
        ),
        rule(&["getppid"], Action::ScmpActTrace, Some(7)),
    ]);
    let report = in_child(|| {
        seccomp::load(&profile).map_err(|e| e.to_string())?;
        // SAFETY: getpid cannot fail.
        let me = unsafe { libc::getpid() };
        // SAFETY: getppid is traced; with no tracer the kernel fails it with ENOSYS (the raw
        // syscall, since glibc's getppid does not treat its result as an error).
        let ppid = unsafe { libc::syscall(libc::SYS_getppid) };
        let ppid_errno = errno();
        Ok(format!(
            "cont={} winch={} zero={} ppid={} errno={}",
            kill_errno(me, libc::SIGCONT),
            kill_errno(me, libc::SIGWINCH),
            kill_errno(me, 0),
            ppid,
            ppid_errno
        ))
    })
    .expect_ok();
    assert_eq!(
        report,
        format!(
            "cont={0} winch={0} zero=0 ppid=-1 errno={1}",
            libc::EBADE,
            libc::ENOSYS
        )
    );
}
