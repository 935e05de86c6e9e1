//! seccomp filters loaded into forked children (as root, so no_new_privs is not required).

mod process_support;

use berth_runtime::process::{caps, seccomp};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompArgBuilder, LinuxSeccompBuilder,
    LinuxSeccompFilterFlag, LinuxSeccompOperator as Op, LinuxSyscall, LinuxSyscallBuilder,
};
use process_support::{Outcome, busybox, errno, exec_in_child, in_child, status_field};

fn rule(names: &[&str], action: Action, errno_ret: Option<u32>) -> LinuxSyscall {
    let mut b = LinuxSyscallBuilder::default()
        .names(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .action(action);
    if let Some(e) = errno_ret {
        b = b.errno_ret(e);
    }
    b.build().unwrap()
}

fn with_args(mut r: LinuxSyscall, args: &[(usize, Op, u64, Option<u64>)]) -> LinuxSyscall {
    let args = args
        .iter()
        .map(|(index, op, value, two)| {
            let mut b = LinuxSeccompArgBuilder::default()
                .index(*index)
                .op(*op)
                .value(*value);
            if let Some(two) = two {
                b = b.value_two(*two);
            }
            b.build().unwrap()
        })
        .collect();
    r.set_args(Some(args));
    r
}

fn allow_all_but(rules: Vec<LinuxSyscall>) -> LinuxSeccomp {
    LinuxSeccompBuilder::default()
        .default_action(Action::ScmpActAllow)
        .syscalls(rules)
        .build()
        .unwrap()
}

fn mkdir_errno(path: &std::ffi::CStr) -> i32 {
    // SAFETY: `path` is a valid C string; mkdir only reads it.
    let r = unsafe { libc::mkdir(path.as_ptr(), 0o700) };
    if r == 0 { 0 } else { errno() }
}

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
fn notify_is_refused_by_load_and_yields_a_listener_fd_with_load_with_notify() {
    berth_testutil::require_root();
    let profile = allow_all_but(vec![rule(&["getppid"], Action::ScmpActNotify, None)]);
    let err = seccomp::load(&profile).unwrap_err().to_string();
    assert!(
        err.contains("SCMP_ACT_NOTIFY") && err.contains("getppid"),
        "{err}"
    );

    let report = in_child(|| {
        let fd = seccomp::load_with_notify(&profile).map_err(|e| e.to_string())?;
        let fd = fd.ok_or("no notify fd")?;
        let flags = rustix::io::fcntl_getfd(&fd).map_err(|e| e.to_string())?;
        Ok(format!(
            "cloexec={}",
            flags.contains(rustix::io::FdFlags::CLOEXEC)
        ))
    })
    .expect_ok();
    assert_eq!(report, "cloexec=true");

    let bad_default = LinuxSeccompBuilder::default()
        .default_action(Action::ScmpActNotify)
        .build()
        .unwrap();
    assert_eq!(
        seccomp::build(&bad_default).unwrap_err().to_string(),
        "SCMP_ACT_NOTIFY cannot be the default seccomp action"
    );
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

/// A profile shaped like Docker's default: ERRNO(EPERM) by default, three x86 ABIs, one big
/// ALLOW rule over every syscall libseccomp knows natively but a denylist, plus Docker's
/// argument rules (personality ×5, socket NE AF_VSOCK, clone MASKED_EQ, clone3 → ENOSYS).
fn docker_like_profile() -> (LinuxSeccomp, usize) {
    use libseccomp::{ScmpArch, ScmpSyscall};
    let denied = [
        "personality",
        "socket",
        "clone",
        "clone3",
        "mount",
        "umount2",
        "reboot",
        "kexec_load",
        "init_module",
        "finit_module",
        "delete_module",
        "ptrace",
        "bpf",
        "setns",
        "unshare",
    ];
    let names: Vec<String> = (0..600)
        .filter_map(|n| {
            ScmpSyscall::from_raw_syscall(n)
                .get_name_by_arch(ScmpArch::native())
                .ok()
        })
        .filter(|name| !denied.contains(&name.as_str()))
        .collect();
    let count = names.len();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut rules = vec![rule(&names, Action::ScmpActAllow, None)];
    for persona in [0u64, 8, 0x20000, 0x20008, 0xffff_ffff] {
        rules.push(with_args(
            rule(&["personality"], Action::ScmpActAllow, None),
            &[(0, Op::ScmpCmpEq, persona, None)],
        ));
    }
    rules.push(with_args(
        rule(&["socket"], Action::ScmpActAllow, None),
        &[(0, Op::ScmpCmpNe, 40, None)],
    ));
    rules.push(with_args(
        rule(&["clone"], Action::ScmpActAllow, None),
        &[(0, Op::ScmpCmpMaskedEq, 0x7e02_0000, Some(0))],
    ));
    rules.push(rule(&["clone3"], Action::ScmpActErrno, Some(38)));
    let profile = LinuxSeccompBuilder::default()
        .default_action(Action::ScmpActErrno)
        .default_errno_ret(1u32)
        .architectures(vec![
            oci_spec::runtime::Arch::ScmpArchX86_64,
            oci_spec::runtime::Arch::ScmpArchX86,
            oci_spec::runtime::Arch::ScmpArchX32,
        ])
        .syscalls(rules)
        .build()
        .unwrap();
    (profile, count)
}

fn min_median(mut times: Vec<std::time::Duration>) -> String {
    times.sort();
    format!("min {:?} median {:?}", times[0], times[times.len() / 2])
}

/// Not a pass/fail benchmark: prints what a Docker-sized profile costs to build (rules into
/// libseccomp), to compile (rules + BPF generation), and to load once compiled
/// (`cargo test -p berth-runtime --test process_seccomp -- --nocapture docker_sized`).
#[test]
fn docker_sized_profile_builds_and_reports_its_cost() {
    berth_testutil::require_root();
    let (profile, count) = docker_like_profile();
    assert!(
        count > 300,
        "only {count} syscall names known to libseccomp"
    );
    let mut native_only = profile.clone();
    native_only.set_architectures(None);
    for (label, profile) in [("x86_64+x86+x32", &profile), ("native only", &native_only)] {
        let (mut build, mut compile) = (Vec::new(), Vec::new());
        let mut compiled = None;
        for _ in 0..20 {
            let started = std::time::Instant::now();
            drop(seccomp::build(profile).unwrap());
            build.push(started.elapsed());
            let started = std::time::Instant::now();
            compiled = Some(seccomp::CompiledFilter::compile(profile).unwrap());
            compile.push(started.elapsed());
        }
        let compiled = compiled.unwrap();
        let load_us = in_child(|| {
            let started = std::time::Instant::now();
            compiled.load().map_err(|e| e.to_string())?;
            Ok(started.elapsed().as_micros().to_string())
        })
        .expect_ok();
        println!(
            "Docker-sized profile, {count} names, {label}: build {}; compile {}; \
             load compiled ({} insns) {load_us}us",
            min_median(build),
            min_median(compile),
            compiled.instructions()
        );
    }
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

/// The listener fd really carries notifications: a grandchild's intercepted syscall is
/// answered by the child holding the fd (the seccomp agent's role).
#[test]
fn notify_listener_answers_the_notifying_syscall() {
    use std::os::fd::AsRawFd;
    berth_testutil::require_root();
    let profile = allow_all_but(vec![rule(&["getppid"], Action::ScmpActNotify, None)]);
    let report = in_child(|| {
        let fd = seccomp::load_with_notify(&profile)
            .map_err(|e| e.to_string())?
            .ok_or("no notify fd")?;
        let grandchild = process_support::spawn_child(|| {
            // SAFETY: getppid is intercepted; the agent (our parent) answers 4242.
            let answer = unsafe { libc::syscall(libc::SYS_getppid) };
            Ok(answer.to_string())
        });
        let request = libseccomp::ScmpNotifReq::receive(fd.as_raw_fd())
            .map_err(|e| format!("receive: {e}"))?;
        let name = request.data.syscall.get_name().map_err(|e| e.to_string())?;
        libseccomp::ScmpNotifResp::new_val(
            request.id,
            4242,
            libseccomp::ScmpNotifRespFlags::empty(),
        )
        .respond(fd.as_raw_fd())
        .map_err(|e| format!("respond: {e}"))?;
        match grandchild.wait() {
            Outcome::Exited { code: 0, report } => Ok(format!("{name} -> {report}")),
            other => Err(format!("grandchild: {other:?}")),
        }
    })
    .expect_ok();
    assert_eq!(report, "getppid -> 4242");
}

/// A compiled program survives a round trip through bytes (a cache) and loads the same rules.
#[test]
fn compiled_program_round_trips_and_loads_fast() {
    berth_testutil::require_root();
    let profile = allow_all_but(vec![rule(
        &["mkdir", "mkdirat"],
        Action::ScmpActErrno,
        Some(libc::EROFS as u32),
    )]);
    let compiled = seccomp::CompiledFilter::compile(&profile).unwrap();
    let bytes = compiled.program_bytes();
    assert_eq!(bytes.len(), compiled.instructions() * 8);
    let restored = seccomp::CompiledFilter::from_program_bytes(&bytes, compiled.flags()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = std::ffi::CString::new(dir.path().join("x").to_str().unwrap()).unwrap();
    let report = in_child(|| {
        let started = std::time::Instant::now();
        restored.load().map_err(|e| e.to_string())?;
        let took = started.elapsed();
        Ok(format!(
            "mkdir={} load_us={}",
            mkdir_errno(&target),
            took.as_micros()
        ))
    })
    .expect_ok();
    println!(
        "loading a compiled {}-instruction filter: {report}",
        compiled.instructions()
    );
    assert!(
        report.starts_with(&format!("mkdir={} ", libc::EROFS)),
        "{report}"
    );
    assert_eq!(
        seccomp::CompiledFilter::from_program_bytes(&bytes[..7], 0)
            .unwrap_err()
            .to_string(),
        "a seccomp BPF program of 7 bytes is not 1..=4096 instructions of 8 bytes"
    );
}
