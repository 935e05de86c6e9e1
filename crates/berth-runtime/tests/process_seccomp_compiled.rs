//! seccomp NOTIFY listeners, compiled (cached-BPF) filters, and the cost of a Docker-sized
//! profile.

mod process_support;

use berth_runtime::process::seccomp;
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompBuilder, LinuxSeccompOperator as Op,
};
use process_support::seccomp_rules::{allow_all_but, mkdir_errno, rule, with_args};
use process_support::{Outcome, in_child};

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
/// (`cargo test -p berth-runtime --test process_seccomp_compiled -- --nocapture docker_sized`).
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
fn compile_cached_reuses_the_stored_program_and_ignores_tampered_entries() {
    use std::os::unix::fs::PermissionsExt;
    berth_testutil::require_root();
    let cache = tempfile::Builder::new()
        .prefix("berth-process-seccomp-cache-")
        .tempdir()
        .unwrap();
    let dir = cache.path().join("filters");
    let (profile, _) = docker_like_profile();

    let started = std::time::Instant::now();
    let first = seccomp::CompiledFilter::compile_cached(&profile, &dir).unwrap();
    let cold = started.elapsed();
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(
        std::fs::metadata(entry).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );

    let mut warm = Vec::new();
    for _ in 0..20 {
        let started = std::time::Instant::now();
        let again = seccomp::CompiledFilter::compile_cached(&profile, &dir).unwrap();
        warm.push(started.elapsed());
        assert_eq!(again.program_bytes(), first.program_bytes());
        assert_eq!(again.flags(), first.flags());
    }
    println!(
        "Docker-sized profile via compile_cached: cold {cold:?}, warm {}",
        min_median(warm)
    );

    // A different profile gets its own entry.
    let other = allow_all_but(vec![rule(&["mkdir"], Action::ScmpActErrno, None)]);
    let small = seccomp::CompiledFilter::compile_cached(&other, &dir).unwrap();
    assert_ne!(small.program_bytes(), first.program_bytes());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);

    // Garbage or a group-writable entry is not trusted: recompiled and rewritten.
    std::fs::write(entry, b"not a filter").unwrap();
    let healed = seccomp::CompiledFilter::compile_cached(&profile, &dir).unwrap();
    assert_eq!(healed.program_bytes(), first.program_bytes());
    std::fs::set_permissions(entry, std::fs::Permissions::from_mode(0o666)).unwrap();
    let healed = seccomp::CompiledFilter::compile_cached(&profile, &dir).unwrap();
    assert_eq!(healed.program_bytes(), first.program_bytes());
    assert_eq!(
        std::fs::metadata(entry).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn filter_flags_reach_the_seccomp_syscall() {
    use oci_spec::runtime::LinuxSeccompFilterFlag as Flag;
    let mut profile = allow_all_but(vec![rule(&["mkdir"], Action::ScmpActErrno, None)]);
    profile.set_flags(Some(vec![
        Flag::SeccompFilterFlagLog,
        Flag::SeccompFilterFlagSpecAllow,
    ]));
    let compiled = seccomp::CompiledFilter::compile(&profile).unwrap();
    assert_eq!(
        compiled.flags(),
        libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
    );
    let notify = allow_all_but(vec![rule(&["getppid"], Action::ScmpActNotify, None)]);
    let mut with_tsync = notify.clone();
    with_tsync.set_flags(Some(vec![Flag::SeccompFilterFlagTsync]));
    assert_eq!(
        seccomp::CompiledFilter::compile(&notify).unwrap().flags(),
        libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
    );
    assert_eq!(
        seccomp::CompiledFilter::compile(&with_tsync)
            .unwrap()
            .flags(),
        libc::SECCOMP_FILTER_FLAG_TSYNC
            | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
            | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH
    );
}
