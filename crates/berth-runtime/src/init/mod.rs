//! The container's init: runs in the new namespaces from `clone` up to `execve`.
//!
//! Sequence: unshare the namespaces the parent left to us → the mounts that do not need the
//! cgroup → wait for the parent's `Go` (ids mapped, cgroup created, us moved into it) → take
//! back the inherited CPU mask → unshare the cgroup namespace → hostname → rest of the rootfs
//! prepare → ask the parent to run prestart/createRuntime hooks → createContainer hooks →
//! pivot → finalize → resolve the program → process settings → `Ready` → block on the exec
//! fifo until `start` → startContainer hooks → `execve`.

mod error;
mod lookup;
pub(crate) mod settings;
pub(crate) mod trampoline;

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use oci_spec::runtime::Spec;

pub use error::InitError;

use crate::channel::{Channel, Message};
use crate::container::placement::Placement;
use crate::process::hooks;
use crate::process::seccomp::CompiledFilter;
use crate::rootfs::{self, RootfsConfig};
use crate::sys;

/// The namespaces `clone` may leave to the init (see [`InitUnshares::at_start`]).
pub(crate) const UNSHARED_BY_INIT: u64 =
    (libc::CLONE_NEWNET | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS | libc::CLONE_NEWNS) as u64;

/// Namespaces the init creates itself rather than getting them from `clone`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InitUnshares {
    /// `CLONE_NEW*` flags (within [`UNSHARED_BY_INIT`]) unshared first thing, before `Go`:
    /// the kernel's work then overlaps the parent's cgroup setup.
    pub at_start: u64,
    /// Unshare the cgroup namespace once inside the container's cgroup.
    pub cgroup_ns: bool,
}

/// What the init does beyond the spec's own fields, derived from the spec (by
/// `container::create::InitShape`, in the runtime and in its spawner alike).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InitSteps {
    pub unshares: InitUnshares,
    pub in_user_namespace: bool,
    /// We were cloned into a new user namespace (our ids are mapped once `Go` arrives).
    pub new_user_namespace: bool,
    pub has_runtime_hooks: bool,
}

/// Everything the init needs; it lives in the parent's memory, which the init inherits.
#[derive(Debug)]
pub(crate) struct InitArgs<'a> {
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub steps: InitSteps,
    pub console_socket: Option<&'a Path>,
    /// `O_PATH` descriptor of `<state dir>/exec.fifo`.
    pub fifo: BorrowedFd<'a>,
    /// `linux.seccomp`, compiled by the parent: the init only loads it.
    pub seccomp: Option<&'a CompiledFilter>,
    /// The CPU mask to take back after `Go` when the parent moved us to another CPU.
    pub placement: Option<&'a Placement>,
    /// The exec trampoline, when our binary may be writable (see [`trampoline`]).
    pub trampoline: Option<BorrowedFd<'a>>,
}

/// Runs the init; never returns. On failure the error goes to the parent and we exit with
/// its code.
pub(crate) fn run(args: &InitArgs<'_>, chan: &Channel) -> ! {
    let err = match steps(args, chan) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = chan.send(&Message::Error {
        message: err.to_string(),
        exit_code: err.exit_code(),
    });
    sys::proc::exit_now(err.exit_code())
}

fn steps(args: &InitArgs<'_>, chan: &Channel) -> Result<std::convert::Infallible, InitError> {
    sys::proc::set_dumpable(false).map_err(InitError::sys("prctl(PR_SET_DUMPABLE)"))?;
    if args.steps.unshares.at_start != 0 {
        sys::ns::unshare(args.steps.unshares.at_start as libc::c_int)
            .map_err(InitError::sys("unshare of the container's namespaces"))?;
    }
    let cfg = RootfsConfig {
        spec: args.spec,
        bundle: args.bundle,
        rootfs: args.rootfs,
        no_pivot: args.no_pivot,
        in_user_namespace: args.steps.in_user_namespace,
    };
    // In a mount namespace of our own (and no user namespace to be mapped first), the mounts
    // that do not show the cgroup are made while the parent still creates the cgroup.
    let early = args.steps.unshares.at_start & libc::CLONE_NEWNS as u64 != 0
        && !args.steps.in_user_namespace;
    let preparation = if early {
        let mut preparation = rootfs::Preparation::begin(&cfg)?;
        preparation.mount_independent_of_cgroup()?;
        Some(preparation)
    } else {
        None
    };
    let state = match chan.recv()? {
        Message::Go { state } => state,
        other => {
            return Err(InitError::Protocol {
                got: format!("{other:?}"),
            });
        }
    };
    if let Some(placement) = args.placement {
        placement
            .restore()
            .map_err(InitError::sys("sched_setaffinity"))?;
    }
    if args.steps.new_user_namespace {
        sys::proc::become_namespace_root()
            .map_err(InitError::sys("become root in the user namespace"))?;
    }
    if args.steps.unshares.cgroup_ns {
        sys::ns::unshare(libc::CLONE_NEWCGROUP)
            .map_err(InitError::sys("unshare(CLONE_NEWCGROUP)"))?;
    }
    let spec = args.spec;
    if let Some(name) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        sys::ns::set_hostname(name).map_err(InitError::sys("sethostname"))?;
    }
    if let Some(name) = spec.domainname().as_deref().filter(|h| !h.is_empty()) {
        sys::ns::set_domainname(name).map_err(InitError::sys("setdomainname"))?;
    }
    if !args.no_new_keyring {
        join_keyring()?;
    }
    match preparation {
        Some(preparation) => preparation.finish()?,
        None => rootfs::prepare(&cfg)?,
    }
    if args.steps.has_runtime_hooks {
        chan.send(&Message::RunRuntimeHooks)?;
        match chan.recv()? {
            Message::RuntimeHooksDone => {}
            other => {
                return Err(InitError::Protocol {
                    got: format!("{other:?}"),
                });
            }
        }
    }
    let spec_hooks = spec.hooks().as_ref();
    run_hooks(
        "createContainer",
        spec_hooks.and_then(|h| h.create_container().as_deref()),
        &state,
    )?;
    rootfs::pivot(&cfg)?;
    rootfs::finalize(&cfg)?;

    let process = spec.process().as_ref().ok_or(InitError::NotFound {
        program: String::new(),
    })?;
    let program = settings::resolve(process)?;
    settings::apply(process, args.seccomp, args.console_socket)?;
    sys::signal::SigSet::empty()
        .set_mask()
        .map_err(InitError::sys("sigprocmask"))?;

    chan.send(&Message::Ready)?;
    let mut fifo = open_exec_fifo(args.fifo)?;
    // startContainer hooks run before we release `start`, so poststart hooks (run by `start`
    // once it has read the byte) always come after them.
    run_hooks(
        "startContainer",
        spec_hooks.and_then(|h| h.start_container().as_deref()),
        &state,
    )?;
    release_start(&mut fifo)?;
    Err(settings::exec(&program, args.preserve_fds, args.trampoline))
}

fn run_hooks(
    kind: &'static str,
    list: Option<&[oci_spec::runtime::Hook]>,
    state: &str,
) -> Result<(), InitError> {
    match list {
        Some(list) if !list.is_empty() => {
            hooks::run(list, state.as_bytes()).map_err(|source| InitError::Hook { kind, source })
        }
        _ => Ok(()),
    }
}

fn join_keyring() -> Result<(), InitError> {
    match sys::proc::join_session_keyring(c"_ses.berth") {
        // Kernels without keyrings, or a seccomp'd host: carry on like runc does.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)) => Ok(()),
        other => other.map_err(InitError::sys("keyctl(JOIN_SESSION_KEYRING)")),
    }
}

/// Opens the exec fifo for writing through our `O_PATH` descriptor: blocks until `start`
/// opens it for reading.
fn open_exec_fifo(fifo: BorrowedFd<'_>) -> Result<std::fs::File, InitError> {
    let path = format!("/proc/self/fd/{}", fifo.as_raw_fd());
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(InitError::sys("open exec fifo"))
}

/// Writes the one byte `start` waits for.
fn release_start(fifo: &mut std::fs::File) -> Result<(), InitError> {
    use std::io::Write;
    fifo.write_all(b"0")
        .map_err(InitError::sys("write exec fifo"))
}
