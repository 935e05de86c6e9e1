//! The init's spawner: how a runtime whose binary is writable starts a container that the exec
//! trampoline cannot guard (CVE-2019-5736; see `init::trampoline` for when it can).
//!
//! No container process may reach a writable runtime binary through `/proc/<pid>/exe`. When
//! another container's processes could see the init before it execs (a shared PID
//! namespace), or an LSM label or the seccomp profile rules out the trampoline, the init must
//! descend from an exec of a read-only copy of us. The runtime starts a spawner from the copy
//! and goes on while the spawner starts up:
//!
//! 1. runtime: orders [`Order::Spawn`] with a digest of the `config.json` bytes it parsed
//!    (the spawner reads the bundle again and refuses a `config.json` that changed in
//!    between), then creates the cgroup meanwhile.
//! 2. spawner: clones the init with the same [`spawn`] as the in-process path, reports the
//!    pid (one JSON line) and exits. The init inherits the sync channel the runtime made at
//!    launch and talks to the runtime directly from then on.
//!
//! The runtime itself is non-dumpable from the launch on, so no container process can open
//! its `/proc/<pid>/exe` either (that would need `CAP_SYS_PTRACE` in the host user namespace).

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use super::create::InitShape;
use super::foreground;
use super::placement::Placement;
use super::spawn::{SpawnError, Spawned, spawn};
use crate::channel::Channel;
use crate::init::{self, InitArgs};
use crate::selfexe::{self, SelfExeError};
use crate::spec;
use crate::sys;

/// In the spawner's environment: `<request socket fd>,<init sync channel fd>`.
const SPAWNER_ENV: &str = "_BERTH_INIT_SPAWNER";

#[derive(Debug, thiserror::Error)]
pub enum SpawnerError {
    #[error(transparent)]
    SelfExe(#[from] SelfExeError),
    #[error("starting the init's spawner from a {how} of berth-runc: {source}")]
    Launch {
        how: &'static str,
        source: std::io::Error,
    },
    #[error("setting up the init's spawner: {0}")]
    Setup(std::io::Error),
    #[error("talking to the init's spawner: {0}")]
    Link(std::io::Error),
    #[error("the init's spawner exited without starting the init ({status})")]
    Vanished { status: String },
    #[error("the init's spawner failed: {0}")]
    Failed(String),
    #[error("malformed message from the init's spawner: {0}")]
    Malformed(serde_json::Error),
}

/// What the runtime sends the spawner (one JSON line).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "order", rename_all = "camelCase")]
enum Order {
    /// Clone the init.
    Spawn {
        request: Box<SpawnRequest>,
        /// The CPUs the init takes back after `Go`: the runtime's, before it moved us.
        restore_cpus: Option<Vec<usize>>,
    },
}

/// Everything the spawner needs to clone the init, beyond what it derives from the spec.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SpawnRequest {
    /// Of the `config.json` bytes the runtime parsed and validated: the spawner must have
    /// read the same.
    pub config_digest: u64,
    /// Canonical.
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub console_socket: Option<PathBuf>,
    /// `<state dir>/exec.fifo`.
    pub fifo: PathBuf,
    /// The cgroup v2 directory to clone the init into, when the runtime made one.
    pub clone_target: Option<PathBuf>,
    /// Where the runtime keeps compiled seccomp filters (it has just compiled this spec's).
    pub seccomp_cache: PathBuf,
}

/// A launched spawner, seen from the runtime.
#[derive(Debug)]
pub struct Spawner {
    pid: i32,
    link: BufReader<UnixStream>,
    init_chan: Option<Channel>,
    placement: Option<Placement>,
}

impl Spawner {
    /// Starts the spawner from a read-only copy of our binary. `None` when our binary is
    /// read-only already: then `create` clones the init itself.
    ///
    /// The caller must be single-threaded: the spawner's two descriptors are inheritable
    /// while it starts, and a fork by another thread would inherit them too.
    pub fn launch() -> Result<Option<Spawner>, SpawnerError> {
        if selfexe::runs_read_only()? {
            return Ok(None);
        }
        let (link, link_theirs) = UnixStream::pair().map_err(SpawnerError::Setup)?;
        let (init_chan, init_theirs) = sys::fd::seqpacket_pair().map_err(SpawnerError::Setup)?;
        // From here on a container may exist while we run from a writable binary.
        sys::proc::set_dumpable(false).map_err(SpawnerError::Setup)?;
        let exe = selfexe::read_only_copy()?;
        // The spawner inherits its two ends (all else we opened is close-on-exec; what our
        // caller passed, `--preserve-fds` included, goes on to the init). `Command` spawns
        // with `posix_spawn` (vfork semantics): no page tables copied, cheaper than a fork on
        // our side and in the spawner's exec.
        let theirs = [link_theirs.as_raw_fd(), init_theirs.as_raw_fd()];
        for fd in theirs {
            sys::fd::set_cloexec(fd, false).map_err(SpawnerError::Setup)?;
        }
        let argv0 = std::env::args_os()
            .next()
            .unwrap_or_else(|| "berth-runc".into());
        let child = Command::new(format!("/proc/self/fd/{}", exe.fd.as_raw_fd()))
            .arg0(argv0)
            .arg("init")
            .env(SPAWNER_ENV, format!("{},{}", theirs[0], theirs[1]))
            .spawn()
            .map_err(|source| SpawnerError::Launch {
                how: exe.how,
                source,
            })?;
        let pid = child.id() as i32;
        // The spawner execs and then clones the init while we prepare: keep it off our CPU
        // (see `placement`). The init takes back our mask after `Go`.
        let placement = Placement::elsewhere();
        if let Some(placement) = &placement {
            placement.move_init(pid);
        }
        Ok(Some(Spawner {
            pid,
            link: BufReader::new(link),
            init_chan: Some(Channel(init_chan)),
            placement,
        }))
    }

    /// Our end of the init's sync channel.
    pub(crate) fn take_init_channel(&mut self) -> Channel {
        self.init_chan
            .take()
            .expect("the init channel is taken once")
    }

    /// Sends the request; the spawner clones the init while we go on.
    pub(crate) fn request(&mut self, request: SpawnRequest) -> Result<(), SpawnerError> {
        let order = Order::Spawn {
            request: Box::new(request),
            restore_cpus: self.placement.as_ref().map(Placement::inherited_cpus),
        };
        write_line(self.link.get_ref(), &order).map_err(SpawnerError::Link)
    }

    /// Waits for the spawner's report. The spawner is reaped when dropped.
    pub(crate) fn spawned(&mut self) -> Result<Spawned, SpawnerError> {
        let mut line = String::new();
        if self.link.read_line(&mut line).map_err(SpawnerError::Link)? == 0 {
            let status = sys::proc::wait_exit(self.pid);
            self.pid = 0;
            return Err(SpawnerError::Vanished {
                status: match status {
                    Ok(exit) => format!("{exit:?}"),
                    Err(e) => e.to_string(),
                },
            });
        }
        let reply = serde_json::from_str(&line).map_err(SpawnerError::Malformed)?;
        Spawned::from_report(reply).map_err(SpawnerError::Failed)
    }
}

/// Writes `msg` as one JSON line.
fn write_line(mut to: &UnixStream, msg: &impl Serialize) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(msg)?;
    line.push(b'\n');
    to.write_all(&line)
}

impl Drop for Spawner {
    /// Reaps the spawner; one never asked (or abandoned) is killed first.
    fn drop(&mut self) {
        if self.pid > 0 {
            let _ = sys::proc::kill(self.pid, libc::SIGKILL);
            let _ = sys::proc::wait_exit(self.pid);
        }
    }
}

/// Call first thing in `main`: in a spawner, serves the request and exits; elsewhere returns.
pub fn serve_if_spawner() {
    let Some(fds) = std::env::var_os(SPAWNER_ENV) else {
        return;
    };
    let Some((link, init_chan)) = adopt(&fds) else {
        eprintln!("{SPAWNER_ENV}: malformed descriptor list {fds:?}");
        sys::proc::exit_now(1)
    };
    let link = UnixStream::from(link);
    let reply = Spawned::report(serve(&link, Channel(init_chan)));
    let code = i32::from(write_line(&link, &reply).is_err());
    sys::proc::exit_now(code)
}

/// Takes ownership of the two descriptors the launcher left open for us (close-on-exec again).
fn adopt(fds: &std::ffi::OsStr) -> Option<(OwnedFd, OwnedFd)> {
    let (link, chan) = fds.to_str()?.split_once(',')?;
    let (link, chan): (RawFd, RawFd) = (link.parse().ok()?, chan.parse().ok()?);
    if link < 3 || chan < 3 || link == chan {
        return None;
    }
    for fd in [link, chan] {
        sys::fd::set_cloexec(fd, true).ok()?;
    }
    // SAFETY: the launcher passed these two descriptors to us and nothing else in this fresh
    // process knows them; set_cloexec just proved they are open.
    Some(unsafe { (OwnedFd::from_raw_fd(link), OwnedFd::from_raw_fd(chan)) })
}

/// Reads the order and clones the init; errors are reported to the runtime as text.
fn serve(link: &UnixStream, init_chan: Channel) -> Result<Spawned, String> {
    let mut line = String::new();
    BufReader::new(link)
        .read_line(&mut line)
        .map_err(|e| format!("reading the request: {e}"))?;
    if line.is_empty() {
        // The runtime exited (or gave up) before asking: nothing to do.
        sys::proc::exit_now(0);
    }
    let Order::Spawn {
        request,
        restore_cpus,
    } = serde_json::from_str(&line).map_err(|e| format!("malformed request: {e}"))?;
    let (spec, digest) = spec::load_with_digest(&request.bundle).map_err(|e| e.to_string())?;
    if digest != request.config_digest {
        return Err(format!(
            "{}/config.json changed while berth-runc read it",
            request.bundle.display()
        ));
    }
    let placement = restore_cpus.as_deref().map(Placement::restoring);
    spawn_requested(&request, &spec, placement, link, init_chan).map_err(|e| e.to_string())
}

#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error("opening {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Console(#[from] foreground::ForegroundError),
    #[error("linux.seccomp: {0}")]
    Seccomp(#[from] crate::process::seccomp::SeccompError),
}

fn spawn_requested(
    req: &SpawnRequest,
    spec: &Spec,
    placement: Option<Placement>,
    link: &UnixStream,
    init_chan: Channel,
) -> Result<Spawned, ServeError> {
    let shape = InitShape::of(spec)?;
    let open = |path: &PathBuf, flags: libc::c_int| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path)
            .map_err(|source| ServeError::Open {
                path: path.clone(),
                source,
            })
    };
    let fifo = open(&req.fifo, libc::O_PATH)?;
    let clone_target = req
        .clone_target
        .as_ref()
        .map(|dir| open(dir, libc::O_DIRECTORY))
        .transpose()?;
    let console = req
        .console_socket
        .as_deref()
        .map(foreground::socket_handle)
        .transpose()?;
    let seccomp = spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(|profile| crate::process::seccomp::prepare(profile, Some(&req.seccomp_cache)))
        .transpose()?;
    let args = InitArgs {
        spec,
        bundle: &req.bundle,
        rootfs: &req.rootfs,
        no_pivot: req.no_pivot,
        no_new_keyring: req.no_new_keyring,
        preserve_fds: req.preserve_fds,
        steps: shape.steps,
        console_socket: console.as_ref().map(|(_, via)| via.as_path()),
        fifo: fifo.as_fd(),
        seccomp: seccomp.as_ref(),
        placement: placement.as_ref(),
        // We run from a read-only copy: the init may exec the program itself.
        trampoline: None,
    };
    // An intermediate (joined namespaces) reports the init's pid to us on this pair.
    let (report, report_theirs) = sys::fd::seqpacket_pair().map_err(SpawnError::Clone)?;
    let (report, report_theirs) = (Channel(report), Channel(report_theirs));
    let clone_into = clone_target.as_ref().map(|dir| dir.as_fd());
    let spawned = spawn(&shape.plan, clone_into, &report, &report_theirs, || {
        // In the init: only the runtime's sync channel stays.
        sys::fd::close_inherited(report.0.as_raw_fd());
        sys::fd::close_inherited(link.as_raw_fd());
        init::run(&args, &init_chan)
    })?;
    // The init starts on our CPU, and may wait there until we exit (see `placement`): we
    // finish elsewhere.
    if let Some(placement) = Placement::elsewhere() {
        placement.step_aside();
    }
    Ok(spawned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn write_config(dir: &Path, hostname: &str) {
        let mut config = spec::default_spec();
        config["hostname"] = hostname.into();
        std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    }

    #[test]
    fn a_config_that_changed_between_the_two_reads_is_refused() {
        let bundle = tempfile::tempdir().unwrap();
        write_config(bundle.path(), "first");
        let (_, digest) = spec::load_with_digest(bundle.path()).unwrap();
        write_config(bundle.path(), "second");

        let (runtime, spawner) = UnixStream::pair().unwrap();
        let request = SpawnRequest {
            config_digest: digest,
            bundle: bundle.path().to_path_buf(),
            rootfs: bundle.path().join("rootfs"),
            no_pivot: false,
            no_new_keyring: false,
            preserve_fds: 0,
            console_socket: None,
            fifo: bundle.path().join("exec.fifo"),
            clone_target: None,
            seccomp_cache: bundle.path().join("seccomp"),
        };
        let order = Order::Spawn {
            request: Box::new(request),
            restore_cpus: None,
        };
        write_line(&runtime, &order).unwrap();
        let (init_end, _runtime_end) = sys::fd::seqpacket_pair().unwrap();
        let err = serve(&spawner, Channel(init_end)).unwrap_err();
        assert!(err.contains("config.json changed while"), "{err}");
    }
}
