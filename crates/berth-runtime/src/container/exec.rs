//! `exec`: a new process inside a running container: join every namespace of its init, join
//! its cgroup, fork again (so the pid namespace applies), apply the process settings, exec.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::ContainerId;
use super::create::write_pid_file;
use super::foreground::{self, ForegroundError};
use super::lookup::{self, LookupError};
use super::record::Status;
use super::spawn::{clone_child, clone_flag};
use crate::channel::{Channel, ChannelError, Message};
use crate::init::{InitError, settings};
use crate::spec::{self, SpecError};
use crate::sys;
use crate::sys::proc::Forked;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("cannot exec in container {id}: it is {status}")]
    NotRunning { id: String, status: Status },
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("process file {path}: {message}")]
    ProcessFile { path: PathBuf, message: String },
    #[error("invalid process: `{field}` {reason}")]
    InvalidProcess {
        field: &'static str,
        reason: &'static str,
    },
    #[error("opening namespace {path}: {source}")]
    Namespace {
        path: String,
        source: std::io::Error,
    },
    #[error("fork: {0}")]
    Fork(std::io::Error),
    #[error("sync with the exec'd process: {0}")]
    Channel(#[from] ChannelError),
    #[error("linux.seccomp: {0}")]
    Seccomp(#[from] crate::process::seccomp::SeccompError),
    #[error("joining the container's cgroup: {0}")]
    Cgroup(#[from] berth_cgroups::CgroupError),
    #[error("unable to start container process: {message}")]
    Process { message: String, exit_code: i32 },
    #[error(transparent)]
    PidFile(#[from] super::CreateError),
    #[error(transparent)]
    Foreground(#[from] ForegroundError),
}

impl ExecError {
    pub fn exit_code(&self) -> i32 {
        match self {
            ExecError::Process { exit_code, .. } => *exit_code,
            _ => 1,
        }
    }
}

/// Where the exec'd process's settings come from.
#[derive(Debug, Clone)]
pub enum ProcessSource {
    /// `--process FILE`: a complete OCI process JSON.
    File(PathBuf),
    /// The container's own `process` with these changes (runc's flags).
    Overrides(ProcessOverrides),
}

#[derive(Debug, Clone, Default)]
pub struct ProcessOverrides {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub user: Option<(u32, Option<u32>)>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub tty: bool,
    pub no_new_privs: bool,
}

#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub root: PathBuf,
    pub id: ContainerId,
    pub process: ProcessSource,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    /// Descriptors 3..3+N the caller passed us stay open in the process (runc's
    /// `--preserve-fds`, e.g. for socket activation).
    pub preserve_fds: u32,
}

/// Runs the process; returns its exit code (foreground) or 0 once started (detached).
pub fn exec(opts: &ExecOptions) -> Result<i32, ExecError> {
    let found = lookup::find(&opts.root, &opts.id)?;
    if !matches!(found.status, Status::Running | Status::Created) {
        return Err(ExecError::NotRunning {
            id: opts.id.to_string(),
            status: found.status,
        });
    }
    let container_spec = spec::load(&found.record.bundle)?;
    let process = build_process(&opts.process, container_spec.process().as_ref())?;
    let seccomp = container_spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(|profile| {
            let cache = opts.root.join(crate::process::seccomp::CACHE_DIR);
            crate::process::seccomp::prepare(profile, Some(&cache))
        })
        .transpose()?;
    let namespaces = open_namespaces(found.record.pid)?;
    let cgroup = berth_cgroups::manager(&found.record.cgroups_path)?;

    let terminal = process.terminal().unwrap_or(false);
    let tty = foreground::TtySetup::prepare(
        terminal,
        opts.console_socket.as_deref(),
        opts.detach,
        &found.dir,
    )?;
    let console_socket = tty.socket_path();
    let signals = if opts.detach {
        None
    } else {
        Some(foreground::block_signals()?)
    };
    if !opts.detach {
        sys::proc::set_child_subreaper().map_err(ExecError::Fork)?;
    }

    let (parent_end, child_end) = sys::fd::seqpacket_pair().map_err(ExecError::Fork)?;
    let (parent_chan, child_chan) = (Channel(parent_end), Channel(child_end));
    // The process is never moved by pid into the cgroup (a write to `cgroup.procs` takes the
    // kernel's global threadgroup lock, whose write side waits for an RCU grace period: ~15 ms
    // on this host). On v2 the intermediate is born in it; on v1 it joins itself (`tasks`).
    let target = cgroup.create_clone_target()?;
    let (forked, born_in_cgroup) =
        clone_child(0, target.as_ref().map(|t| t.as_fd())).map_err(ExecError::Fork)?;
    let join = (!born_in_cgroup).then_some(&*cgroup);
    let intermediate = match forked {
        Forked::Child => {
            sys::fd::close_inherited(parent_chan.0.as_raw_fd());
            intermediate_main(
                &namespaces,
                join,
                &child_chan,
                &process,
                seccomp.as_ref(),
                console_socket.as_deref(),
                opts.preserve_fds,
            )
        }
        Forked::Parent { child } => child,
    };
    drop(child_chan);
    let reply = parent_chan.recv();
    let _ = sys::proc::wait_exit(intermediate);
    let pid = match reply? {
        Message::Pid { pid, .. } => pid,
        Message::Error { message, exit_code } => {
            return Err(ExecError::Process { message, exit_code });
        }
        other => {
            return Err(ExecError::Process {
                message: format!("unexpected {other:?}"),
                exit_code: 1,
            });
        }
    };
    parent_chan.send(&Message::Go {
        state: String::new(),
    })?;
    // The channel is close-on-exec: EOF means the exec happened.
    match parent_chan.recv() {
        Err(ChannelError::Closed) => {}
        Ok(Message::Error { message, exit_code }) => {
            let _ = sys::proc::wait_exit(pid);
            return Err(ExecError::Process { message, exit_code });
        }
        Ok(other) => {
            return Err(ExecError::Process {
                message: format!("unexpected {other:?}"),
                exit_code: 1,
            });
        }
        Err(e) => return Err(e.into()),
    }
    if let Some(path) = &opts.pid_file {
        write_pid_file(path, pid)?;
    }
    match signals {
        None => Ok(0),
        Some(signals) => Ok(foreground::wait(pid, signals, tty)?),
    }
}

fn build_process(source: &ProcessSource, base: Option<&Process>) -> Result<Process, ExecError> {
    match source {
        ProcessSource::File(path) => {
            let text = std::fs::read(path).map_err(|e| ExecError::ProcessFile {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let mut de = serde_json::Deserializer::from_slice(&text);
            serde_path_to_error::deserialize(&mut de).map_err(|e| ExecError::ProcessFile {
                path: path.clone(),
                message: format!("field `{}`: {}", e.path(), e.inner()),
            })
        }
        ProcessSource::Overrides(o) => {
            let mut p = base.cloned().unwrap_or_default();
            if o.args.is_empty() {
                return Err(ExecError::InvalidProcess {
                    field: "args",
                    reason: "must name a program",
                });
            }
            p.set_args(Some(o.args.clone()));
            let mut env = p.env().clone().unwrap_or_default();
            env.extend(o.env.iter().cloned());
            p.set_env(Some(env));
            if let Some(cwd) = &o.cwd {
                p.set_cwd(cwd.clone());
            }
            if let Some((uid, gid)) = o.user {
                let mut user = p.user().clone();
                user.set_uid(uid);
                user.set_gid(gid.unwrap_or(user.gid()));
                p.set_user(user);
            }
            if !o.additional_gids.is_empty() {
                let mut user = p.user().clone();
                user.set_additional_gids(Some(o.additional_gids.clone()));
                p.set_user(user);
            }
            if !o.caps.is_empty() {
                add_caps(&mut p, &o.caps)?;
            }
            p.set_terminal(Some(o.tty));
            if o.no_new_privs {
                p.set_no_new_privileges(Some(true));
            }
            Ok(p)
        }
    }
}

fn add_caps(p: &mut Process, names: &[String]) -> Result<(), ExecError> {
    use std::str::FromStr;
    let mut caps = p.capabilities().clone().unwrap_or_default();
    for name in names {
        let cap = oci_spec::runtime::Capability::from_str(name).map_err(|_| {
            ExecError::InvalidProcess {
                field: "--cap",
                reason: "unknown capability name",
            }
        })?;
        let add = |s: &Option<oci_spec::runtime::Capabilities>| {
            let mut s = s.clone().unwrap_or_default();
            s.insert(cap);
            Some(s)
        };
        caps.set_bounding(add(caps.bounding()));
        caps.set_effective(add(caps.effective()));
        caps.set_permitted(add(caps.permitted()));
        caps.set_ambient(add(caps.ambient()));
    }
    p.set_capabilities(Some(caps));
    Ok(())
}

/// The init's namespaces that differ from ours (joining our own is pointless and, for the user
/// namespace, an error), user first and mount last.
fn open_namespaces(pid: i32) -> Result<Vec<(LinuxNamespaceType, File)>, ExecError> {
    use std::os::unix::fs::MetadataExt;
    const ORDER: [(LinuxNamespaceType, &str); 8] = [
        (LinuxNamespaceType::User, "user"),
        (LinuxNamespaceType::Ipc, "ipc"),
        (LinuxNamespaceType::Uts, "uts"),
        (LinuxNamespaceType::Network, "net"),
        (LinuxNamespaceType::Pid, "pid"),
        (LinuxNamespaceType::Cgroup, "cgroup"),
        (LinuxNamespaceType::Time, "time"),
        (LinuxNamespaceType::Mount, "mnt"),
    ];
    let mut out = Vec::new();
    for (typ, name) in ORDER {
        let path = format!("/proc/{pid}/ns/{name}");
        let theirs = match std::fs::metadata(&path) {
            Ok(m) => m.ino(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(ExecError::Namespace { path, source }),
        };
        let ours = std::fs::metadata(format!("/proc/self/ns/{name}"))
            .map(|m| m.ino())
            .ok();
        if ours == Some(theirs) {
            continue;
        }
        let file = File::open(&path).map_err(|source| ExecError::Namespace { path, source })?;
        out.push((typ, file));
    }
    Ok(out)
}

/// In the first child: join the cgroup (unless born in it) and the namespaces, fork the real
/// process, report its pid, exit.
fn intermediate_main(
    namespaces: &[(LinuxNamespaceType, File)],
    join_cgroup: Option<&dyn berth_cgroups::Manager>,
    chan: &Channel,
    process: &Process,
    seccomp: Option<&crate::process::seccomp::CompiledFilter>,
    console_socket: Option<&Path>,
    preserve_fds: u32,
) -> ! {
    let fail = |message: String| -> ! {
        let _ = chan.send(&Message::Error {
            message,
            exit_code: 1,
        });
        sys::proc::exit_now(1)
    };
    if let Err(e) = sys::proc::set_dumpable(false) {
        fail(format!("prctl(PR_SET_DUMPABLE): {e}"));
    }
    // Before the mount namespace changes: the cgroup files are the host's.
    if let Some(cgroup) = join_cgroup
        && let Err(e) = cgroup.join_self()
    {
        fail(format!("joining the container's cgroup: {e}"));
    }
    for (typ, file) in namespaces {
        if let Err(e) = sys::ns::setns(file.as_fd(), clone_flag(*typ)) {
            fail(format!("setns into the container's {typ} namespace: {e}"));
        }
    }
    match sys::proc::clone_fork(0) {
        Ok(Forked::Child) => {
            let err = match exec_main(chan, process, seccomp, console_socket, preserve_fds) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            let _ = chan.send(&Message::Error {
                message: err.to_string(),
                exit_code: err.exit_code(),
            });
            sys::proc::exit_now(err.exit_code())
        }
        Ok(Forked::Parent { child }) => {
            let reply = Message::Pid {
                pid: child,
                born_in_cgroup: false,
            };
            let code = i32::from(chan.send(&reply).is_err());
            sys::proc::exit_now(code)
        }
        Err(e) => fail(format!("fork into the pid namespace: {e}")),
    }
}

/// In the process that becomes the exec'd program.
fn exec_main(
    chan: &Channel,
    process: &Process,
    seccomp: Option<&crate::process::seccomp::CompiledFilter>,
    console_socket: Option<&Path>,
    preserve_fds: u32,
) -> Result<std::convert::Infallible, InitError> {
    match chan.recv()? {
        Message::Go { .. } => {}
        other => {
            return Err(InitError::Protocol {
                got: format!("{other:?}"),
            });
        }
    }
    let program = settings::resolve(process)?;
    settings::apply(process, seccomp, console_socket)?;
    sys::signal::SigSet::empty()
        .set_mask()
        .map_err(InitError::sys("sigprocmask"))?;
    Err(settings::exec(&program, preserve_fds, None))
}
