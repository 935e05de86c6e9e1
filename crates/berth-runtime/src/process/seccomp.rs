//! `linux.seccomp`, compiled and loaded with libseccomp.
//!
//! Semantics follow runc: syscall names the libseccomp/kernel tables do not know are skipped
//! with a warning (profiles list syscalls of newer kernels); rules whose action equals the
//! default action are skipped (libseccomp rejects them); several args on one rule are ANDed,
//! several rules for one syscall are ORed, and a rule that compares the same argument twice is
//! split into one rule per condition (libseccomp can compare each argument once per rule).
//! The no_new_privs bit is left to the caller.

use std::os::fd::OwnedFd;

use libseccomp::error::SeccompError as LibError;
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};

mod cache;
mod program;

pub use program::CompiledFilter;

/// Syscalls take at most six arguments.
const MAX_SYSCALL_ARGS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("creating a seccomp filter with default action {action}: {source}")]
    NewFilter { action: String, source: LibError },
    #[error("{action} cannot be the default seccomp action")]
    InvalidDefaultAction { action: String },
    #[error("errnoRet {errno} for {what} does not fit in 16 bits")]
    ErrnoOutOfRange { what: String, errno: u32 },
    #[error("adding architecture {arch:?} to the seccomp filter: {source}")]
    AddArch { arch: Arch, source: LibError },
    #[error("seccomp flag {flag} is not supported by this libseccomp/kernel: {source}")]
    UnsupportedFlag { flag: String, source: LibError },
    #[error("syscall {syscall}: argument index {index} is out of range (0..=5)")]
    ArgIndexOutOfRange { syscall: String, index: usize },
    #[error("adding seccomp rule {action} for syscall {syscall}: {source}")]
    AddRule {
        syscall: String,
        action: String,
        source: LibError,
    },
    #[error(
        "seccomp action SCMP_ACT_NOTIFY (syscall {syscall}) needs a listener: use seccomp::load_with_notify and hand the fd to the agent at linux.seccomp.listenerPath"
    )]
    NotifyNeedsListener { syscall: String },
    #[error("taking the seccomp notify fd: {source}")]
    NotifyFd { source: std::io::Error },
    #[error("exporting the seccomp BPF program: {source}")]
    ExportBpf { source: LibError },
    #[error("reading the exported seccomp BPF program: {source}")]
    Export { source: std::io::Error },
    #[error("a seccomp BPF program of {bytes} bytes is not 1..=4096 instructions of 8 bytes")]
    InvalidProgram { bytes: usize },
    #[error(
        "loading the seccomp filter (flags {flags:#x}; needs no_new_privs or CAP_SYS_ADMIN): {source}"
    )]
    LoadProgram { flags: u64, source: std::io::Error },
    #[error("serialising the seccomp profile for its cache key: {source}")]
    CacheKey { source: serde_json::Error },
    #[error("seccomp TSYNC could not synchronise thread {thread}")]
    TsyncFailed { thread: i64 },
}

fn action_name(action: LinuxSeccompAction) -> String {
    action.to_string()
}

fn errno_action(what: &str, errno: Option<u32>) -> Result<u16, SeccompError> {
    let errno = errno.unwrap_or(libc::EPERM as u32);
    u16::try_from(errno).map_err(|_| SeccompError::ErrnoOutOfRange {
        what: what.to_string(),
        errno,
    })
}

/// Maps an OCI action (with its `errnoRet`) to libseccomp's. ERRNO and TRACE default to EPERM,
/// as in runc; SCMP_ACT_KILL is the historical name of KILL_THREAD.
fn to_action(
    action: LinuxSeccompAction,
    errno: Option<u32>,
    what: &str,
) -> Result<ScmpAction, SeccompError> {
    use LinuxSeccompAction::*;
    Ok(match action {
        ScmpActKill | ScmpActKillThread => ScmpAction::KillThread,
        ScmpActKillProcess => ScmpAction::KillProcess,
        ScmpActTrap => ScmpAction::Trap,
        ScmpActErrno => ScmpAction::Errno(i32::from(errno_action(what, errno)?)),
        ScmpActTrace => ScmpAction::Trace(errno_action(what, errno)?),
        ScmpActLog => ScmpAction::Log,
        ScmpActAllow => ScmpAction::Allow,
        ScmpActNotify => ScmpAction::Notify,
    })
}

fn to_arch(arch: Arch) -> ScmpArch {
    use Arch::*;
    match arch {
        ScmpArchNative => ScmpArch::Native,
        ScmpArchX86 => ScmpArch::X86,
        ScmpArchX86_64 => ScmpArch::X8664,
        ScmpArchX32 => ScmpArch::X32,
        ScmpArchArm => ScmpArch::Arm,
        ScmpArchAarch64 => ScmpArch::Aarch64,
        ScmpArchMips => ScmpArch::Mips,
        ScmpArchMips64 => ScmpArch::Mips64,
        ScmpArchMips64n32 => ScmpArch::Mips64N32,
        ScmpArchMipsel => ScmpArch::Mipsel,
        ScmpArchMipsel64 => ScmpArch::Mipsel64,
        ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        ScmpArchPpc => ScmpArch::Ppc,
        ScmpArchPpc64 => ScmpArch::Ppc64,
        ScmpArchPpc64le => ScmpArch::Ppc64Le,
        ScmpArchS390 => ScmpArch::S390,
        ScmpArchS390x => ScmpArch::S390X,
        ScmpArchParisc => ScmpArch::Parisc,
        ScmpArchParisc64 => ScmpArch::Parisc64,
        ScmpArchRiscv64 => ScmpArch::Riscv64,
        ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        ScmpArchM68k => ScmpArch::M68k,
        ScmpArchSh => ScmpArch::Sh,
        ScmpArchSheb => ScmpArch::Sheb,
    }
}

fn to_condition(syscall: &str, arg: &LinuxSeccompArg) -> Result<ScmpArgCompare, SeccompError> {
    use LinuxSeccompOperator::*;
    let index = arg.index();
    if index >= MAX_SYSCALL_ARGS {
        return Err(SeccompError::ArgIndexOutOfRange {
            syscall: syscall.to_string(),
            index,
        });
    }
    // For MASKED_EQ the OCI `value` is the mask and `valueTwo` the value compared (as runc).
    let (op, datum) = match arg.op() {
        ScmpCmpNe => (ScmpCompareOp::NotEqual, arg.value()),
        ScmpCmpLt => (ScmpCompareOp::Less, arg.value()),
        ScmpCmpLe => (ScmpCompareOp::LessOrEqual, arg.value()),
        ScmpCmpEq => (ScmpCompareOp::Equal, arg.value()),
        ScmpCmpGe => (ScmpCompareOp::GreaterEqual, arg.value()),
        ScmpCmpGt => (ScmpCompareOp::Greater, arg.value()),
        ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(arg.value()),
            arg.value_two().unwrap_or(0),
        ),
    };
    Ok(ScmpArgCompare::new(index as u32, op, datum))
}

fn set_flag(ctx: &mut ScmpFilterContext, flag: LinuxSeccompFilterFlag) -> Result<(), SeccompError> {
    use LinuxSeccompFilterFlag::*;
    let result = match flag {
        SeccompFilterFlagLog => ctx.set_ctl_log(true),
        SeccompFilterFlagTsync => ctx.set_ctl_tsync(true),
        SeccompFilterFlagSpecAllow => ctx.set_ctl_ssb(true),
        SeccompFilterFlagWaitKillableRecv => ctx.set_ctl_waitkill(true),
    };
    result
        .map(|_| ())
        .map_err(|source| SeccompError::UnsupportedFlag {
            flag: flag.to_string(),
            source,
        })
}

/// Adds the rules of one OCI syscall entry.
fn add_syscall_rules(
    ctx: &mut ScmpFilterContext,
    rule: &LinuxSyscall,
    default: ScmpAction,
) -> Result<(), SeccompError> {
    let names = rule.names().join(",");
    let action = to_action(rule.action(), rule.errno_ret(), &names)?;
    if action == default {
        return Ok(());
    }
    let args = rule.args().as_deref().unwrap_or_default();
    let mut per_index = [0usize; MAX_SYSCALL_ARGS];
    let mut conditions = Vec::with_capacity(args.len());
    for arg in args {
        let condition = to_condition(&names, arg)?;
        per_index[arg.index()] += 1;
        conditions.push(condition);
    }
    let split = per_index.iter().any(|n| *n > 1);

    for name in rule.names() {
        let Ok(syscall) = ScmpSyscall::from_name(name) else {
            tracing::warn!(syscall = %name, "seccomp: syscall unknown to libseccomp; rule skipped");
            continue;
        };
        let add = |ctx: &mut ScmpFilterContext, conds: &[ScmpArgCompare]| {
            ctx.add_rule_conditional(action, syscall, conds)
                .map(|_| ())
                .map_err(|source| SeccompError::AddRule {
                    syscall: name.clone(),
                    action: action_name(rule.action()),
                    source,
                })
        };
        if split {
            for condition in &conditions {
                add(ctx, std::slice::from_ref(condition))?;
            }
        } else {
            add(ctx, &conditions)?;
        }
    }
    Ok(())
}

/// Compiles `seccomp` into a libseccomp filter without loading it (also useful to export BPF).
pub fn build(seccomp: &LinuxSeccomp) -> Result<ScmpFilterContext, SeccompError> {
    let default_action = seccomp.default_action();
    if default_action == LinuxSeccompAction::ScmpActNotify {
        return Err(SeccompError::InvalidDefaultAction {
            action: action_name(default_action),
        });
    }
    let default = to_action(
        default_action,
        seccomp.default_errno_ret(),
        "the default action",
    )?;
    let mut ctx = ScmpFilterContext::new(default).map_err(|source| SeccompError::NewFilter {
        action: action_name(default_action),
        source,
    })?;
    // libseccomp sets no_new_privs on load by default; that is the caller's decision.
    ctx.set_ctl_nnp(false)
        .map_err(|source| SeccompError::NewFilter {
            action: action_name(default_action),
            source,
        })?;
    // A binary tree over syscall numbers instead of libseccomp's default linear list: Docker's
    // profile becomes a filter whose every path is ~20 instructions long instead of hundreds.
    // That is paid on each filtered syscall, and at load time, when the kernel (5.11+) runs the
    // filter once per syscall number to build its allow cache: 0.9 ms per container start
    // here with the linear list. libseccomp before 2.5 lacks the attribute; it stays linear.
    let _ = ctx.set_ctl_optimize(2);
    for arch in seccomp.architectures().iter().flatten() {
        ctx.add_arch(to_arch(*arch))
            .map_err(|source| SeccompError::AddArch {
                arch: *arch,
                source,
            })?;
    }
    for flag in seccomp.flags().iter().flatten() {
        set_flag(&mut ctx, *flag)?;
    }
    for rule in seccomp.syscalls().iter().flatten() {
        add_syscall_rules(&mut ctx, rule, default)?;
    }
    Ok(ctx)
}

fn first_notify_syscall(seccomp: &LinuxSeccomp) -> Option<String> {
    seccomp
        .syscalls()
        .iter()
        .flatten()
        .find(|r| r.action() == LinuxSeccompAction::ScmpActNotify)
        .map(|r| r.names().join(","))
}

/// Builds the filter (default action, per-syscall actions incl. errno/kill/trap/log/allow,
/// argument conditions, architectures) and loads it into the current thread.
///
/// A profile using SCMP_ACT_NOTIFY is refused here: its notify fd must reach a seccomp
/// agent, which `load_with_notify` makes possible.
pub fn load(seccomp: &LinuxSeccomp) -> Result<(), SeccompError> {
    if let Some(syscall) = first_notify_syscall(seccomp) {
        return Err(SeccompError::NotifyNeedsListener { syscall });
    }
    CompiledFilter::compile(seccomp)?.load().map(|_| ())
}

/// Where a runtime keeps compiled filters under its state root (`#` is not allowed in
/// container IDs, so this never names a container).
pub const CACHE_DIR: &str = "#seccomp-cache";

/// Compiles `seccomp` before the container's process exists — from `cache_dir` when the
/// same profile was compiled before — so the process only loads the program: libseccomp's
/// compile of Docker's default profile costs tens of milliseconds per container.
/// A profile using SCMP_ACT_NOTIFY is refused, as by `load`.
pub fn prepare(
    seccomp: &LinuxSeccomp,
    cache_dir: Option<&std::path::Path>,
) -> Result<CompiledFilter, SeccompError> {
    if let Some(syscall) = first_notify_syscall(seccomp) {
        return Err(SeccompError::NotifyNeedsListener { syscall });
    }
    match cache_dir {
        Some(dir) => CompiledFilter::compile_cached(seccomp, dir),
        None => CompiledFilter::compile(seccomp),
    }
}

/// Like `load`, and when the profile uses SCMP_ACT_NOTIFY returns the filter's notify fd
/// (close-on-exec) for the caller to send to the agent at `listenerPath`.
pub fn load_with_notify(seccomp: &LinuxSeccomp) -> Result<Option<OwnedFd>, SeccompError> {
    CompiledFilter::compile(seccomp)?.load()
}
