//! `create`: bundle → an init process waiting on the exec fifo, with state saved.

use std::ffi::CString;
use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};

use super::cleanup::Teardown;
use super::placement::Placement;
use super::record::{self, EXEC_FIFO, Record};
use super::spawn::{NamespacePlan, SpawnError, Spawned, spawn};
use super::spawner::{SpawnRequest, Spawner, SpawnerError};
use super::{ContainerId, time};
use super::{device_rules, foreground};
use crate::channel::{Channel, ChannelError, Message};
use crate::init::{self, InitArgs, InitSteps, InitUnshares, UNSHARED_BY_INIT, trampoline};
use crate::process::hooks;
use crate::spec::{self, SpecError};
use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("container {id} already exists")]
    Exists { id: String },
    #[error("cannot create {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("bundle {path}: {source}")]
    Bundle {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("process.terminal is true but no --console-socket was given")]
    ConsoleSocketRequired,
    #[error("--console-socket given but process.terminal is false")]
    ConsoleSocketUnused,
    #[error("cgroup {path}: {source}")]
    Cgroup {
        path: String,
        source: berth_cgroups::CgroupError,
    },
    #[error(transparent)]
    Console(#[from] super::foreground::ForegroundError),
    #[error("starting the init: {0}")]
    Spawn(#[from] SpawnError),
    #[error("writing {file} for pid {pid}: {source}")]
    IdMap {
        file: &'static str,
        pid: i32,
        source: std::io::Error,
    },
    #[error("running {kind} hooks: {source}")]
    Hook {
        kind: &'static str,
        source: hooks::HookError,
    },
    #[error(transparent)]
    Spawner(#[from] SpawnerError),
    #[error("making the exec trampoline (a sealed memfd): {0}")]
    Trampoline(std::io::Error),
    #[error("sync with the init: {0}")]
    Channel(#[from] ChannelError),
    #[error("linux.seccomp: {0}")]
    Seccomp(#[from] crate::process::seccomp::SeccompError),
    #[error("unable to start container process: {message}")]
    Init { message: String, exit_code: i32 },
    #[error("the init exited before it was ready")]
    InitVanished,
    #[error(transparent)]
    Record(#[from] record::RecordError),
    #[error("writing pid file {path}: {source}")]
    PidFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl CreateError {
    /// 127/126 when the program is missing/not executable, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            CreateError::Init { exit_code, .. } => *exit_code,
            _ => 1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub root: PathBuf,
    pub id: ContainerId,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// Extra descriptors (3, 4, ...) passed through to the container process.
    pub preserve_fds: u32,
}

impl CreateOptions {
    /// Options for container `id` from the bundle at `bundle`, state under `root`, with every
    /// optional setting at runc's default (set the public fields to change them).
    pub fn new(root: PathBuf, id: ContainerId, bundle: PathBuf) -> CreateOptions {
        CreateOptions {
            root,
            id,
            bundle,
            pid_file: None,
            console_socket: None,
            no_pivot: false,
            no_new_keyring: false,
            preserve_fds: 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Created {
    pub pid: i32,
    pub record: Record,
}

/// A bundle directory (canonical) and its parsed `config.json`.
#[derive(Debug)]
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    /// Of the bytes the spec was parsed from (see [`spec::load_with_digest`]).
    config_digest: u64,
}

impl Bundle {
    pub fn load(path: &Path) -> Result<Bundle, CreateError> {
        let dir = path.canonicalize().map_err(|source| CreateError::Bundle {
            path: path.to_path_buf(),
            source,
        })?;
        let (spec, config_digest) = spec::load_with_digest(&dir)?;
        Ok(Bundle {
            dir,
            spec,
            config_digest,
        })
    }
}

/// Where the container's init comes from. No container process may reach a writable runtime
/// binary through `/proc/<pid>/exe` (CVE-2019-5736).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitOrigin {
    /// Cloned by this process; the program is exec'd through the trampoline (see
    /// `init::trampoline`), or directly where there is none for this architecture.
    Here,
    /// [`InitOrigin::Here`] where the trampoline guards the container, else cloned by a
    /// [`Spawner`] started from a read-only copy of this binary, which must then call
    /// [`super::serve_if_spawner`] first thing in `main` (berth-runc does).
    HereOrSpawner,
}

/// Creates the container; on any failure nothing is left behind (process, cgroup, state dir).
pub fn create(opts: &CreateOptions) -> Result<Created, CreateError> {
    create_from(opts, Bundle::load(&opts.bundle)?, InitOrigin::Here)
}

/// What the init must do, from the spec alone: the runtime and its spawner both derive it.
#[derive(Debug)]
pub(crate) struct InitShape {
    pub plan: NamespacePlan,
    pub steps: InitSteps,
}

impl InitShape {
    pub(crate) fn of(spec: &Spec) -> Result<InitShape, SpawnError> {
        let namespaces = spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().clone())
            .unwrap_or_default();
        let mut plan = NamespacePlan::from_spec(&namespaces)?;
        // A new cgroup namespace takes the cgroup its creator is in as its root, so the init
        // unshares it itself once it is inside the container's cgroup (as runc does), not at
        // clone.
        let unshare_cgroupns = plan.new_flags & libc::CLONE_NEWCGROUP as u64 != 0;
        plan.new_flags &= !(libc::CLONE_NEWCGROUP as u64);
        // The namespaces the init can make itself, first thing after clone, while we create
        // the cgroup: a network namespace alone costs ~0.6 ms here, now overlapped instead of
        // serial. The pid (and time) namespace only applies to children, so clone makes those;
        // with a new user namespace everything stays at clone (the init is unprivileged until
        // it is mapped).
        let new_user_namespace = plan.new_flags & libc::CLONE_NEWUSER as u64 != 0;
        let unshare_at_start = if new_user_namespace {
            0
        } else {
            plan.new_flags & UNSHARED_BY_INIT
        };
        plan.new_flags &= !unshare_at_start;
        let in_user_namespace = new_user_namespace
            || plan
                .joins
                .iter()
                .any(|(t, _)| *t == LinuxNamespaceType::User);
        #[allow(deprecated)]
        let has_runtime_hooks = spec.hooks().as_ref().is_some_and(|h| {
            h.prestart().as_ref().is_some_and(|v| !v.is_empty())
                || h.create_runtime().as_ref().is_some_and(|v| !v.is_empty())
        });
        let steps = InitSteps {
            unshares: InitUnshares {
                at_start: unshare_at_start,
                cgroup_ns: unshare_cgroupns,
            },
            in_user_namespace,
            new_user_namespace,
            has_runtime_hooks,
        };
        Ok(InitShape { plan, steps })
    }
}

/// [`create`] from the bundle `opts.bundle` names, already loaded, with the init from `origin`.
pub fn create_from(
    opts: &CreateOptions,
    loaded: Bundle,
    origin: InitOrigin,
) -> Result<Created, CreateError> {
    create_with(opts, loaded, origin, false).map(|(created, _)| created)
}

/// [`create_from`] for a container started right away (`run`): the exec fifo is opened for
/// reading before the init is ready, so the init goes on to its program the moment it is,
/// without a round trip through us. Returns the open fifo for `start::start_opened`.
pub(crate) fn create_to_start(
    opts: &CreateOptions,
    loaded: Bundle,
    origin: InitOrigin,
) -> Result<(Created, fs::File), CreateError> {
    let (created, fifo) = create_with(opts, loaded, origin, true)?;
    Ok((
        created,
        fifo.expect("create_in opens the exec fifo when asked to"),
    ))
}

fn create_with(
    opts: &CreateOptions,
    loaded: Bundle,
    origin: InitOrigin,
    open_start: bool,
) -> Result<(Created, Option<fs::File>), CreateError> {
    let Bundle {
        dir: bundle,
        spec,
        config_digest,
    } = loaded;
    let rootfs = spec::rootfs_path(&spec, &bundle)?;
    spec::validate(&spec, &rootfs)?;
    let terminal = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    match (terminal, &opts.console_socket) {
        (true, None) => return Err(CreateError::ConsoleSocketRequired),
        (false, Some(_)) => return Err(CreateError::ConsoleSocketUnused),
        _ => {}
    }
    let shape = InitShape::of(&spec)?;
    let origin = init_origin(origin, &spec)?;

    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(&opts.root)
        .map_err(|source| CreateError::StateDir {
            path: opts.root.clone(),
            source,
        })?;
    let dir = record::container_dir(&opts.root, &opts.id);
    match fs::DirBuilder::new().mode(0o711).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CreateError::Exists {
                id: opts.id.to_string(),
            });
        }
        Err(source) => return Err(CreateError::StateDir { path: dir, source }),
    }
    let mut teardown = Teardown::new(dir.clone());
    let target = Target {
        spec: &spec,
        config_digest,
        bundle: &bundle,
        rootfs: &rootfs,
        dir: &dir,
    };
    let result = create_in(opts, target, &shape, origin, open_start, &mut teardown);
    if result.is_ok() {
        teardown.disarm();
    }
    result
}

/// [`InitOrigin`] resolved for one container.
enum Origin {
    /// We clone the init; it execs the program through `trampoline`, or directly without one
    /// (our binary is read-only, or there is no trampoline for this architecture).
    Here { trampoline: Option<OwnedFd> },
    /// A spawner (a read-only exec of our binary) clones it.
    Spawner(Box<Spawner>),
}

fn init_origin(origin: InitOrigin, spec: &Spec) -> Result<Origin, CreateError> {
    let here = || -> Result<Origin, CreateError> {
        if !trampoline::AVAILABLE {
            return Ok(Origin::Here { trampoline: None });
        }
        let fd = trampoline::load().map_err(CreateError::Trampoline)?;
        Ok(Origin::Here {
            trampoline: Some(fd),
        })
    };
    // No spawner when our binary is read-only already: then the init may exec directly.
    let spawner = || -> Result<Origin, CreateError> {
        Ok(match Spawner::launch()? {
            Some(spawner) => Origin::Spawner(Box::new(spawner)),
            None => Origin::Here { trampoline: None },
        })
    };
    match origin {
        InitOrigin::Here => here(),
        // Where memfds may not be executed (`vm.memfd_noexec = 2`), the spawner it is.
        InitOrigin::HereOrSpawner if trampoline::guards(spec) => here().or_else(|_| spawner()),
        InitOrigin::HereOrSpawner => spawner(),
    }
}

/// The container being created: its spec, bundle, rootfs and state dir.
#[derive(Clone, Copy)]
struct Target<'a> {
    spec: &'a Spec,
    config_digest: u64,
    bundle: &'a Path,
    rootfs: &'a Path,
    dir: &'a Path,
}

/// The init on its way: cloned by us, or asked of the spawner.
enum Starting {
    Cloned(Spawned, Channel),
    Asked(Box<Spawner>),
}

fn create_in(
    opts: &CreateOptions,
    target: Target<'_>,
    shape: &InitShape,
    origin: Origin,
    open_start: bool,
    teardown: &mut Teardown,
) -> Result<(Created, Option<fs::File>), CreateError> {
    let Target {
        spec,
        config_digest,
        bundle,
        rootfs,
        dir,
    } = target;
    let fifo_path = dir.join(EXEC_FIFO);
    let fifo_c = CString::new(fifo_path.as_os_str().as_encoded_bytes()).map_err(|_| {
        CreateError::StateDir {
            path: fifo_path.clone(),
            source: std::io::ErrorKind::InvalidInput.into(),
        }
    })?;
    sys::fd::mkfifo(&fifo_c, 0o622).map_err(|source| CreateError::StateDir {
        path: fifo_path.clone(),
        source,
    })?;
    // mkfifo's mode is filtered by our umask; the init may run as a non-root (or user-namespaced)
    // user and must be able to open it for writing.
    fs::set_permissions(
        &fifo_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o622),
    )
    .map_err(|source| CreateError::StateDir {
        path: fifo_path.clone(),
        source,
    })?;

    let linux = spec.linux().as_ref();
    let cgroups_path = cgroups_path(spec, &opts.id);
    teardown.set_cgroup(cgroups_path.clone());
    let cgroup_err = |source| CreateError::Cgroup {
        path: cgroups_path.clone(),
        source,
    };
    let new_userns = shape.steps.new_user_namespace;
    // The manager (it reads the mount table) before the clone: once the init runs, its
    // namespaces take longer than our cgroup work, so this is off the critical path. On v2 the
    // init is born in the cgroup, which must exist first; elsewhere (v1, or a new user
    // namespace) we create the cgroup and move the init into it while it makes its
    // namespaces.
    let cgroup = berth_cgroups::manager(&cgroups_path).map_err(cgroup_err)?;
    let clone_target = if new_userns {
        None
    } else {
        cgroup.create_clone_target().map_err(cgroup_err)?
    };
    // Checked here, so a bad socket path is our error, before any container process exists.
    let console = opts
        .console_socket
        .as_deref()
        .map(foreground::socket_handle)
        .transpose()?;
    let seccomp_cache = opts.root.join(crate::process::seccomp::CACHE_DIR);
    let seccomp = linux
        .and_then(|l| l.seccomp().as_ref())
        .map(|profile| crate::process::seccomp::prepare(profile, Some(&seccomp_cache)))
        .transpose()?;
    let starting = match origin {
        Origin::Spawner(mut spawner) => {
            spawner.request(SpawnRequest {
                config_digest,
                bundle: bundle.to_path_buf(),
                rootfs: rootfs.to_path_buf(),
                no_pivot: opts.no_pivot,
                no_new_keyring: opts.no_new_keyring,
                preserve_fds: opts.preserve_fds,
                console_socket: opts.console_socket.clone(),
                fifo: fifo_path.clone(),
                clone_target: clone_target
                    .as_ref()
                    .and_then(|_| cgroup.paths().into_iter().next())
                    .map(|(_, dir)| dir),
                seccomp_cache,
            })?;
            Starting::Asked(spawner)
        }
        Origin::Here { trampoline } => {
            let fifo: OwnedFd = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_PATH)
                .open(&fifo_path)
                .map_err(|source| CreateError::StateDir {
                    path: fifo_path.clone(),
                    source,
                })?
                .into();
            let (parent_end, child_end) = sys::fd::seqpacket_pair().map_err(SpawnError::Clone)?;
            let parent_chan = Channel(parent_end);
            let child_chan = Channel(child_end);
            // The init has namespaces to make while we make its cgroup: run it beside us.
            let placement = (shape.steps.unshares.at_start != 0)
                .then(Placement::elsewhere)
                .flatten();
            let args = InitArgs {
                spec,
                bundle,
                rootfs,
                no_pivot: opts.no_pivot,
                no_new_keyring: opts.no_new_keyring,
                preserve_fds: opts.preserve_fds,
                steps: shape.steps,
                console_socket: console.as_ref().map(|(_, via)| via.as_path()),
                fifo: fifo.as_fd(),
                seccomp: seccomp.as_ref(),
                placement: placement.as_ref(),
                trampoline: trampoline.as_ref().map(|fd| fd.as_fd()),
            };
            // Born non-dumpable: until the init execs, nothing may open its exe (our binary).
            sys::proc::set_dumpable(false).map_err(SpawnError::Clone)?;
            let clone_into = clone_target.as_ref().map(|fd| fd.as_fd());
            let spawned = spawn(&shape.plan, clone_into, &parent_chan, &child_chan, || {
                // In the init: our copy of the parent's end must go, so the parent's death is
                // EOF.
                sys::fd::close_inherited(parent_chan.0.as_raw_fd());
                init::run(&args, &child_chan)
            })?;
            teardown.set_pid(spawned.pid);
            if let Some(placement) = &placement {
                placement.move_init(spawned.pid);
            }
            Starting::Cloned(spawned, parent_chan)
        }
    };
    let created_for_clone = clone_target.is_some();
    drop(clone_target);
    let devices = linux.and_then(|l| l.devices().clone()).unwrap_or_default();
    let resources = linux
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    let configured = (|| {
        if !created_for_clone {
            cgroup.create().map_err(cgroup_err)?;
        }
        cgroup
            .set(&device_rules::complete(&resources, &devices))
            .map_err(cgroup_err)
    })();
    // Learn the init's pid before acting on a cgroup failure, so the teardown can kill it.
    let (spawned, parent_chan, spawner) = match starting {
        Starting::Cloned(spawned, chan) => (spawned, chan, None),
        Starting::Asked(mut spawner) => {
            let chan = spawner.take_init_channel();
            let spawned = spawner.spawned()?;
            teardown.set_pid(spawned.pid);
            (spawned, chan, Some(spawner))
        }
    };
    let pid = spawned.pid;
    configured?;

    if new_userns && let Some(l) = linux {
        write_id_maps(
            pid,
            l.uid_mappings().as_deref(),
            l.gid_mappings().as_deref(),
        )?;
    }
    // Unless it was born there (v2), we move the init into its cgroup, while it makes its
    // namespaces and first mounts (see `init`).
    if !spawned.born_in_cgroup {
        cgroup.enter(pid).map_err(cgroup_err)?;
    }

    let start_time = record::proc_stat(pid)
        .map(|(_, t)| t)
        .ok_or(CreateError::InitVanished)?;
    let record = Record {
        id: opts.id.to_string(),
        oci_version: spec.version().clone(),
        pid,
        pid_start_time: start_time,
        bundle: bundle.to_path_buf(),
        rootfs: rootfs.to_path_buf(),
        created: time::rfc3339_nano(SystemTime::now()),
        owner: owner_name(sys::proc::euid()),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroups_path: cgroups_path.clone(),
        hooks: spec.hooks().clone(),
    };
    let creating = serde_json::to_string(&record.oci_state("creating")).unwrap_or_default();
    let go = Message::Go {
        state: creating.clone(),
    };
    if let Err(e) = parent_chan.send(&go) {
        // The init failed before `Go` (its first mounts, say): report its error, not ours.
        return Err(match recv_from_init(&parent_chan) {
            Ok(Message::Error { message, exit_code }) => CreateError::Init { message, exit_code },
            _ => e.into(),
        });
    }
    // Reaped only now: the init needed `Go` sooner.
    drop(spawner);
    // Saved while the init works alone, not after `Ready`. Until then the state reads
    // `created`: a `start` meanwhile waits on the exec fifo like one after `create`; a
    // failure removes the state dir with the rest (`teardown`).
    record.save(dir)?;
    let start_end = open_start
        .then(|| super::start::open_fifo(dir))
        .transpose()
        .map_err(|source| CreateError::StateDir {
            path: dir.join(EXEC_FIFO),
            source,
        })?;
    loop {
        match recv_from_init(&parent_chan)? {
            Message::RunRuntimeHooks => {
                #[allow(deprecated)]
                let hooks = spec.hooks().as_ref();
                #[allow(deprecated)]
                let prestart = hooks.and_then(|h| h.prestart().clone()).unwrap_or_default();
                let create_runtime = hooks
                    .and_then(|h| h.create_runtime().clone())
                    .unwrap_or_default();
                for (kind, list) in [("prestart", prestart), ("createRuntime", create_runtime)] {
                    if !list.is_empty() {
                        hooks::run(&list, creating.as_bytes())
                            .map_err(|source| CreateError::Hook { kind, source })?;
                    }
                }
                parent_chan.send(&Message::RuntimeHooksDone)?;
            }
            Message::Ready => break,
            Message::Error { message, exit_code } => {
                return Err(CreateError::Init { message, exit_code });
            }
            other => {
                return Err(CreateError::Init {
                    message: format!("unexpected message {other:?}"),
                    exit_code: 1,
                });
            }
        }
    }
    if let Some(path) = &opts.pid_file {
        write_pid_file(path, pid)?;
    }
    Ok((Created { pid, record }, start_end))
}

/// `linux.cgroupsPath`, or `/<id>` like runc's cgroupfs driver; relative paths become absolute.
pub(crate) fn cgroups_path(spec: &Spec, id: &ContainerId) -> String {
    match spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
    {
        Some(p) if p.is_absolute() => p.to_string_lossy().into_owned(),
        Some(p) if !p.as_os_str().is_empty() => format!("/{}", p.display()),
        _ => format!("/{id}"),
    }
}

/// Waits for the init's next message; its death before `Ready` is an error.
fn recv_from_init(chan: &Channel) -> Result<Message, CreateError> {
    match chan.recv() {
        Err(ChannelError::Closed) => Err(CreateError::InitVanished),
        other => Ok(other?),
    }
}

/// Writes `/proc/<pid>/{uid,gid}_map` (and `setgroups` = deny when we are not root, which
/// the kernel requires before an unprivileged gid_map).
fn write_id_maps(
    pid: i32,
    uids: Option<&[LinuxIdMapping]>,
    gids: Option<&[LinuxIdMapping]>,
) -> Result<(), CreateError> {
    let render = |maps: &[LinuxIdMapping]| {
        maps.iter()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect::<String>()
    };
    let write = |file: &'static str, text: &str| {
        fs::write(format!("/proc/{pid}/{file}"), text).map_err(|source| CreateError::IdMap {
            file,
            pid,
            source,
        })
    };
    if let Some(uids) = uids {
        write("uid_map", &render(uids))?;
    }
    if let Some(gids) = gids {
        if sys::proc::euid() != 0 {
            write("setgroups", "deny")?;
        }
        write("gid_map", &render(gids))?;
    }
    Ok(())
}

/// runc reports the state dir owner's user name.
pub(crate) fn owner_name(uid: u32) -> String {
    if uid == 0 {
        return "root".to_string();
    }
    fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)? == uid.to_string()).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

/// Writes the pid file atomically (temp + rename), as containerd expects to poll it.
pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<(), CreateError> {
    let err = |source| CreateError::PidFile {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("berth-tmp");
    fs::write(&tmp, pid.to_string()).map_err(err)?;
    fs::rename(&tmp, path).map_err(err)
}
