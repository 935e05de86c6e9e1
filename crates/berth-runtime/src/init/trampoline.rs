//! The exec trampoline: how an init cloned from a writable runtime binary runs the container's
//! program without ever letting it reach that binary (CVE-2019-5736).
//!
//! The attack needs the container's process to execute the runtime's binary: a program that
//! is, or whose `#!` interpreter is, `/proc/self/exe` resolves to the executable of the
//! process calling `execve`. So the init does not exec the program itself. It execs this
//! trampoline, a 329-byte executable in a sealed memfd, which execs the program. Seen from
//! the program, `/proc/self/exe` of its exec'ing process is the trampoline: read-only, no
//! libc, made anew for each container, and all it can do is exec its first argument.
//!
//! Before that exec the init runs our binary, but nothing of the container runs yet: the init
//! has a new PID namespace (see [`guards`]; otherwise a spawner starts it) and is
//! non-dumpable, so only a host process with `CAP_SYS_PTRACE` could open its `/proc/<pid>/exe`.
//!
//! Compared with starting the init from a read-only copy of the runtime (an exec of the whole
//! runtime, ~0.4 ms of glibc start-up here before any work), this costs one exec of a binary
//! without libc (~30 µs) right before the program's own.

use std::ffi::CString;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use oci_spec::runtime::{LinuxNamespaceType, LinuxSeccomp, LinuxSeccompAction, Spec};

use crate::sys;

/// `trampoline.s`, assembled (x86-64).
#[cfg(target_arch = "x86_64")]
const CODE: &[u8] = &[
    0x4c, 0x8b, 0x64, 0x24, 0x08, 0x4d, 0x85, 0xe4, 0x0f, 0x84, 0x8f, 0x00, 0x00, 0x00, 0x4c, 0x89,
    0xe7, 0x48, 0x8d, 0x74, 0x24, 0x10, 0x48, 0x8b, 0x0c, 0x24, 0x48, 0x8d, 0x54, 0xcc, 0x10, 0xb8,
    0x3b, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0xf7, 0xd8, 0x49, 0x89, 0xc5, 0x48, 0x8d, 0x35, 0x83,
    0x00, 0x00, 0x00, 0xba, 0x0c, 0x00, 0x00, 0x00, 0xe8, 0x6c, 0x00, 0x00, 0x00, 0x4c, 0x89, 0xe6,
    0x31, 0xd2, 0x80, 0x3c, 0x16, 0x00, 0x74, 0x05, 0x48, 0xff, 0xc2, 0xeb, 0xf5, 0xe8, 0x57, 0x00,
    0x00, 0x00, 0x48, 0x8d, 0x35, 0x69, 0x00, 0x00, 0x00, 0xba, 0x0f, 0x00, 0x00, 0x00, 0xe8, 0x46,
    0x00, 0x00, 0x00, 0x4c, 0x89, 0xe8, 0x48, 0x8d, 0x74, 0x24, 0xc0, 0xc6, 0x06, 0x0a, 0xb9, 0x0a,
    0x00, 0x00, 0x00, 0x31, 0xd2, 0x48, 0xf7, 0xf1, 0x80, 0xc2, 0x30, 0x48, 0xff, 0xce, 0x88, 0x16,
    0x48, 0x85, 0xc0, 0x75, 0xee, 0x48, 0x8d, 0x54, 0x24, 0xc1, 0x48, 0x29, 0xf2, 0xe8, 0x17, 0x00,
    0x00, 0x00, 0xbf, 0x7e, 0x00, 0x00, 0x00, 0x49, 0x83, 0xfd, 0x02, 0x75, 0x05, 0xbf, 0x7f, 0x00,
    0x00, 0x00, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xbf, 0x02, 0x00, 0x00, 0x00, 0xb8, 0x01,
    0x00, 0x00, 0x00, 0x0f, 0x05, 0xc3, 0x62, 0x65, 0x72, 0x74, 0x68, 0x3a, 0x20, 0x65, 0x78, 0x65,
    0x63, 0x20, 0x20, 0x66, 0x61, 0x69, 0x6c, 0x65, 0x64, 0x3a, 0x20, 0x65, 0x72, 0x72, 0x6e, 0x6f,
    0x20,
];

/// Where the code is loaded (any page-aligned address of a non-PIE executable).
const BASE: u64 = 0x40_0000;
const ELF_HEADER: usize = 64;
const PROGRAM_HEADER: usize = 56;

/// Whether this build has a trampoline for its architecture.
pub(crate) const AVAILABLE: bool = cfg!(target_arch = "x86_64");

/// The trampoline as a minimal static ELF executable: the header, one loadable segment.
#[cfg(target_arch = "x86_64")]
fn image() -> Vec<u8> {
    let code_at = (ELF_HEADER + PROGRAM_HEADER) as u64;
    let size = code_at + CODE.len() as u64;
    let mut elf = Vec::with_capacity(size as usize);
    elf.extend_from_slice(b"\x7fELF");
    elf.extend_from_slice(&[2, 1, 1, 0]); // 64-bit, little-endian, version 1, System V
    elf.extend_from_slice(&[0; 8]);
    elf.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf.extend_from_slice(&0x3eu16.to_le_bytes()); // EM_X86_64
    elf.extend_from_slice(&1u32.to_le_bytes());
    elf.extend_from_slice(&(BASE + code_at).to_le_bytes()); // entry
    elf.extend_from_slice(&(ELF_HEADER as u64).to_le_bytes()); // program headers
    elf.extend_from_slice(&0u64.to_le_bytes()); // no section headers
    elf.extend_from_slice(&0u32.to_le_bytes()); // flags
    for half in [ELF_HEADER as u16, PROGRAM_HEADER as u16, 1, 0, 0, 0] {
        elf.extend_from_slice(&half.to_le_bytes());
    }
    elf.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    elf.extend_from_slice(&5u32.to_le_bytes()); // PF_R | PF_X
    elf.extend_from_slice(&0u64.to_le_bytes()); // from file offset 0
    elf.extend_from_slice(&BASE.to_le_bytes()); // vaddr
    elf.extend_from_slice(&BASE.to_le_bytes()); // paddr
    elf.extend_from_slice(&size.to_le_bytes()); // file size
    elf.extend_from_slice(&size.to_le_bytes()); // memory size
    elf.extend_from_slice(&0x1000u64.to_le_bytes());
    debug_assert_eq!(elf.len() as u64, code_at);
    elf.extend_from_slice(CODE);
    elf
}

#[cfg(not(target_arch = "x86_64"))]
fn image() -> Vec<u8> {
    Vec::new()
}

/// A sealed memfd holding the trampoline (close-on-exec: execveat needs no path).
pub(crate) fn load() -> io::Result<OwnedFd> {
    if !AVAILABLE {
        return Err(io::ErrorKind::Unsupported.into());
    }
    let memfd = sys::exe::memfd_executable(c"berth-exec")?;
    let mut file = std::fs::File::from(memfd);
    file.write_all(&image())?;
    let memfd = OwnedFd::from(file);
    sys::exe::seal_all(memfd.as_fd())?;
    Ok(memfd)
}

/// Whether exec'ing through the trampoline keeps this container from our binary:
/// - the init has a new PID namespace: no process of the container, and none of another
///   container sharing its PID namespace, can see the init before it execs;
/// - no AppArmor or SELinux label: those apply to the next exec, the trampoline's;
/// - the seccomp profile (loaded before the exec) lets `execveat` through, whatever its
///   arguments.
///
/// Otherwise the init must descend from a read-only copy of the runtime (`Spawner`).
pub(crate) fn guards(spec: &Spec) -> bool {
    let Some(linux) = spec.linux().as_ref() else {
        return false;
    };
    let new_pid_namespace = linux.namespaces().as_deref().is_some_and(|list| {
        list.iter()
            .any(|ns| ns.typ() == LinuxNamespaceType::Pid && ns.path().is_none())
    });
    let process = spec.process().as_ref();
    let labelled = process.is_some_and(|p| {
        p.apparmor_profile()
            .as_deref()
            .is_some_and(|l| !l.is_empty())
            || p.selinux_label().as_deref().is_some_and(|l| !l.is_empty())
    });
    let exec_allowed = linux.seccomp().as_ref().is_none_or(allows_execveat);
    AVAILABLE && new_pid_namespace && !labelled && exec_allowed
}

/// Whether `profile` surely allows `execveat` (a rule with argument conditions: not sure).
fn allows_execveat(profile: &LinuxSeccomp) -> bool {
    let lets_through = |action: LinuxSeccompAction| {
        matches!(
            action,
            LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
        )
    };
    let rules: Vec<_> = profile
        .syscalls()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|rule| rule.names().iter().any(|name| name == "execveat"))
        .collect();
    if rules.is_empty() {
        return lets_through(profile.default_action());
    }
    rules.iter().all(|rule| {
        lets_through(rule.action()) && rule.args().as_deref().unwrap_or_default().is_empty()
    })
}

/// Executes `path` with `argv` and `envp` through the trampoline; returns only on failure
/// (of the trampoline's own exec: the program's failure is the trampoline's exit code).
pub(crate) fn exec(
    trampoline: BorrowedFd<'_>,
    path: &CString,
    argv: &[CString],
    envp: &[CString],
) -> io::Error {
    let mut args = Vec::with_capacity(argv.len() + 1);
    args.push(path.clone());
    args.extend_from_slice(argv);
    sys::exe::execveat_fd(trampoline, &args, envp)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    fn spec_with(edit: impl FnOnce(&mut serde_json::Value)) -> Spec {
        let mut config = crate::spec::default_spec();
        edit(&mut config);
        serde_json::from_value(config).unwrap()
    }

    fn seccomp(default: &str, rules: serde_json::Value) -> Spec {
        spec_with(|c| {
            c["linux"]["seccomp"] = serde_json::json!({"defaultAction": default, "syscalls": rules})
        })
    }

    #[test]
    fn guards_a_container_with_its_own_pid_namespace() {
        assert!(guards(&spec_with(|_| {})));
        assert!(!guards(&spec_with(|c| {
            let list = c["linux"]["namespaces"].as_array_mut().unwrap();
            list.retain(|ns| ns["type"] != "pid");
        })));
        assert!(!guards(&spec_with(|c| {
            let list = c["linux"]["namespaces"].as_array_mut().unwrap();
            for ns in list.iter_mut().filter(|ns| ns["type"] == "pid") {
                ns["path"] = "/proc/1/ns/pid".into();
            }
        })));
    }

    #[test]
    fn not_under_an_lsm_label() {
        assert!(!guards(&spec_with(
            |c| c["process"]["apparmorProfile"] = "docker-default".into()
        )));
        assert!(!guards(&spec_with(
            |c| c["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0".into()
        )));
    }

    #[test]
    fn only_when_seccomp_surely_lets_execveat_through() {
        let allow =
            serde_json::json!([{"names": ["read", "execveat"], "action": "SCMP_ACT_ALLOW"}]);
        assert!(guards(&seccomp("SCMP_ACT_ERRNO", allow)));
        assert!(guards(&seccomp("SCMP_ACT_ALLOW", serde_json::json!([]))));
        assert!(guards(&seccomp("SCMP_ACT_LOG", serde_json::json!([]))));
        assert!(!guards(&seccomp("SCMP_ACT_ERRNO", serde_json::json!([]))));
        let deny = serde_json::json!([{"names": ["execveat"], "action": "SCMP_ACT_ERRNO"}]);
        assert!(!guards(&seccomp("SCMP_ACT_ALLOW", deny)));
        let conditional = serde_json::json!([{"names": ["execveat"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 4, "value": 4096, "op": "SCMP_CMP_EQ"}]}]);
        assert!(!guards(&seccomp("SCMP_ACT_ERRNO", conditional)));
    }
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    /// Runs the trampoline from its memfd with `args` (path first), like the init does.
    fn through_trampoline(args: &[&str]) -> std::process::Output {
        let fd = load().unwrap();
        let via = format!("/proc/self/fd/{}", fd.as_raw_fd());
        // The memfd is close-on-exec, so the child opens it by path before its exec.
        let file = std::fs::File::open(&via).unwrap();
        let path = format!("/proc/self/fd/{}", file.as_raw_fd());
        sys::fd::set_cloexec(file.as_raw_fd(), false).unwrap();
        Command::new(path)
            .arg0(args[0])
            .args(&args[1..])
            .env_clear()
            .env("GREETING", "hello")
            .output()
            .unwrap()
    }

    #[test]
    fn runs_the_program_with_its_own_argv0_and_environment() {
        let script = "tr '\\0' ' ' < /proc/$$/cmdline; echo $GREETING";
        let out = through_trampoline(&["/bin/sh", "shell", "-c", script, "zero"]);
        assert!(out.status.success(), "{out:?}");
        let expected = format!("shell -c {script} zero hello\n");
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    }

    #[test]
    fn a_missing_program_exits_127_and_says_why() {
        let out = through_trampoline(&["/nonexistent/program", "program"]);
        assert_eq!(out.status.code(), Some(127));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "berth: exec /nonexistent/program failed: errno 2\n"
        );
    }

    #[test]
    fn a_program_that_cannot_run_exits_126() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("text");
        std::fs::write(&text, "not a program").unwrap();
        let out = through_trampoline(&[text.to_str().unwrap(), "text"]);
        assert_eq!(out.status.code(), Some(126), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("errno 13"));
    }

    #[test]
    fn no_arguments_at_all_exits_127() {
        // Linux 5.18+ passes an empty argv[0] for an empty argv (the exec of "" fails with
        // ENOENT); older kernels pass none, which the trampoline checks for.
        let fd = load().unwrap();
        let none: [CString; 0] = [];
        // In a child: on success execveat would replace the test process.
        // SAFETY: the child only calls execveat and _exit.
        let child = unsafe { libc::fork() };
        if child == 0 {
            sys::exe::execveat_fd(fd.as_fd(), &none, &none);
            // SAFETY: leaving the forked child without running the test harness's code.
            unsafe { libc::_exit(99) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child forked above.
        unsafe { libc::waitpid(child, &mut status, 0) };
        assert!(libc::WIFEXITED(status));
        assert_eq!(libc::WEXITSTATUS(status), 127);
    }

    #[test]
    fn its_memfd_cannot_be_written() {
        let fd = load().unwrap();
        let via = format!("/proc/self/fd/{}", fd.as_raw_fd());
        let mut file = std::fs::OpenOptions::new().write(true).open(via).unwrap();
        assert!(file.write_all(b"x").is_err());
    }

    #[test]
    fn the_machine_code_matches_its_source() {
        let dir = tempfile::tempdir().unwrap();
        let source = concat!(env!("CARGO_MANIFEST_DIR"), "/src/init/trampoline.s");
        let (object, binary) = (dir.path().join("t.o"), dir.path().join("t.bin"));
        let assembled = Command::new("as")
            .arg("-o")
            .arg(&object)
            .arg(source)
            .status();
        assert!(assembled.expect("as (binutils) is needed").success());
        let copied = Command::new("objcopy")
            .args(["-O", "binary", "-j", ".text"])
            .arg(&object)
            .arg(&binary)
            .status();
        assert!(copied.expect("objcopy (binutils) is needed").success());
        assert_eq!(std::fs::read(binary).unwrap(), CODE);
    }
}
