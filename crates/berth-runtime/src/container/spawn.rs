//! Starting a process in new (and joined) namespaces: one `clone` with every `CLONE_NEW*` flag,
//! or, when the spec joins namespaces by path, an intermediate child that `setns`es first.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use crate::channel::{Channel, ChannelError, Message};
use crate::sys;
use crate::sys::proc::Forked;

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("clone: {0}")]
    Clone(std::io::Error),
    #[error("cannot open namespace {path}: {source}")]
    OpenNamespace {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("joining the intermediate process's namespaces failed: {0}")]
    Intermediate(String),
    #[error("sync with the intermediate process: {0}")]
    Channel(#[from] ChannelError),
}

/// The `CLONE_NEW*` bit for a namespace type.
pub fn clone_flag(typ: LinuxNamespaceType) -> libc::c_int {
    match typ {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => libc::CLONE_NEWTIME,
    }
}

/// Which namespaces to create and which to join (user namespace first, as the kernel needs
/// it to own the others).
#[derive(Debug, Default)]
pub struct NamespacePlan {
    pub new_flags: u64,
    pub joins: Vec<(LinuxNamespaceType, File)>,
}

impl NamespacePlan {
    pub fn from_spec(namespaces: &[LinuxNamespace]) -> Result<NamespacePlan, SpawnError> {
        let mut plan = NamespacePlan::default();
        for ns in namespaces {
            match ns.path() {
                None => plan.new_flags |= clone_flag(ns.typ()) as u64,
                Some(path) => {
                    let file = File::open(path).map_err(|source| SpawnError::OpenNamespace {
                        path: path.clone(),
                        source,
                    })?;
                    plan.joins.push((ns.typ(), file));
                }
            }
        }
        // User first (joining it grants the rights to join the others); mount last, so the
        // other namespace paths were opened in the original mount namespace.
        plan.joins.sort_by_key(|(t, _)| match t {
            LinuxNamespaceType::User => 0,
            LinuxNamespaceType::Mount => 2,
            _ => 1,
        });
        Ok(plan)
    }
}

/// A started child, seen from our pid namespace.
#[derive(Debug, Clone, Copy)]
pub struct Spawned {
    pub pid: i32,
    /// It started in the cgroup `spawn` was given (kernels before 5.7 cannot do that).
    pub born_in_cgroup: bool,
}

impl Spawned {
    /// How a process that started the init (an intermediate, the spawner) reports it.
    pub(crate) fn report(started: Result<Spawned, String>) -> Message {
        match started {
            Ok(spawned) => Message::Pid {
                pid: spawned.pid,
                born_in_cgroup: spawned.born_in_cgroup,
            },
            Err(message) => Message::Error {
                message,
                exit_code: 1,
            },
        }
    }

    /// Reads such a report back; `Err` carries the reporter's error text.
    pub(crate) fn from_report(reply: Message) -> Result<Spawned, String> {
        match reply {
            Message::Pid {
                pid,
                born_in_cgroup,
            } => Ok(Spawned {
                pid,
                born_in_cgroup,
            }),
            Message::Error { message, .. } => Err(message),
            other => Err(format!("unexpected message {other:?}")),
        }
    }
}

/// Starts `child` in the planned namespaces. `child` runs in the new process and should not
/// return (if it does, the process exits 1). With `cgroup` (an open cgroup v2 directory) the
/// child is born in that cgroup when the kernel can. With joins, an intermediate process
/// `setns`es, clones the child, reports it over `chan` (the child's end; we read it on
/// `parent_chan`), and exits.
pub fn spawn(
    plan: &NamespacePlan,
    cgroup: Option<BorrowedFd<'_>>,
    parent_chan: &Channel,
    chan: &Channel,
    child: impl FnOnce(),
) -> Result<Spawned, SpawnError> {
    if plan.joins.is_empty() {
        return match clone_child(plan.new_flags, cgroup).map_err(SpawnError::Clone)? {
            (Forked::Child, _) => {
                child();
                sys::proc::exit_now(1)
            }
            (Forked::Parent { child }, born_in_cgroup) => Ok(Spawned {
                pid: child,
                born_in_cgroup,
            }),
        };
    }
    let intermediate = match sys::proc::clone_fork(0).map_err(SpawnError::Clone)? {
        Forked::Child => intermediate_main(plan, cgroup, chan, child),
        Forked::Parent { child } => child,
    };
    let reply = parent_chan.recv();
    let _ = sys::proc::wait_exit(intermediate);
    Spawned::from_report(reply?).map_err(SpawnError::Intermediate)
}

/// `clone` with `flags`, into `cgroup` when given and the kernel can (`true` when it did).
pub(crate) fn clone_child(
    flags: u64,
    cgroup: Option<BorrowedFd<'_>>,
) -> std::io::Result<(Forked, bool)> {
    if let Some(cgroup) = cgroup {
        match sys::proc::clone_fork_into_cgroup(flags, cgroup) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::E2BIG)) => {}
            forked => return forked.map(|f| (f, true)),
        }
    }
    sys::proc::clone_fork(flags).map(|f| (f, false))
}

fn intermediate_main(
    plan: &NamespacePlan,
    cgroup: Option<BorrowedFd<'_>>,
    chan: &Channel,
    child: impl FnOnce(),
) -> ! {
    for (typ, file) in &plan.joins {
        if let Err(e) = sys::ns::setns(file.as_fd(), clone_flag(*typ)) {
            let _ = chan.send(&Spawned::report(Err(format!(
                "setns into {typ} namespace: {e}"
            ))));
            sys::proc::exit_now(1);
        }
    }
    let started = match clone_child(plan.new_flags, cgroup) {
        Ok((Forked::Child, _)) => {
            child();
            sys::proc::exit_now(1)
        }
        Ok((Forked::Parent { child }, born_in_cgroup)) => Ok(Spawned {
            pid: child,
            born_in_cgroup,
        }),
        Err(e) => Err(format!("clone: {e}")),
    };
    let failed = started.is_err();
    let sent = chan.send(&Spawned::report(started)).is_ok();
    sys::proc::exit_now(if sent && !failed { 0 } else { 1 })
}
