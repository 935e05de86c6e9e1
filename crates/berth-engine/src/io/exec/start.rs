//! Starting an exec: write its process JSON, run `berth-runc exec --process … --pid-file …`
//! (with a console socket for a tty), and wait — on inotify for the pid file, a pidfd for the
//! helper's exit, and the console socket — until the process runs or failed to start. A
//! thread then reaps the helper, whose exit code is the process's.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use rustix::fs::inotify;

use super::{Exec, ExecError, process, publish, running_container};
use crate::Engine;

/// A start that neither ran nor failed by now is reported as failed.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an attached tty exec waits for the client's first resize (it comes right after
/// the start request); a person at a terminal does not notice.
const TTY_SIZE_WAIT: Duration = Duration::from_millis(250);

/// A started exec: its stdio for the API to stream (the write end of stdin, the read ends of
/// stdout and stderr; stderr is there even when not attached and must then be drained), or the
/// pty master with a tty.
pub struct Started {
    pub exec: Arc<Exec>,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    pub console: Option<OwnedFd>,
}

/// `berth-runc`: `$BERTH_RUNC`, else next to our own binary (or one directory up, where
/// test binaries live), else on PATH.
pub fn runtime_binary() -> Result<PathBuf, ExecError> {
    if let Some(path) = std::env::var_os("BERTH_RUNC") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let beside = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let candidates = [
        beside.clone(),
        beside.parent().map(Path::to_path_buf).unwrap_or_default(),
    ]
    .into_iter()
    .chain(std::env::split_paths(&path_var));
    for dir in candidates {
        let candidate = dir.join("berth-runc");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(ExecError::NoRuntime {
        beside: beside.display().to_string(),
    })
}

/// What to run as berth-runc: the binary through a detached read-only mount, made once per
/// process, so berth-runc skips its own CVE-2019-5736 re-exec on every exec; the plain
/// binary when that mount cannot be made.
fn runtime_exec_path() -> Result<PathBuf, ExecError> {
    static SEALED: std::sync::OnceLock<Option<crate::sealed_bin::SealedBinary>> =
        std::sync::OnceLock::new();
    let binary = runtime_binary()?;
    let sealed = SEALED.get_or_init(|| match crate::sealed_bin::SealedBinary::new(&binary) {
        Ok(sealed) => Some(sealed),
        Err(e) => {
            tracing::warn!(error = %e, "running berth-runc from a writable mount (it re-execs)");
            None
        }
    });
    Ok(match sealed {
        Some(sealed) if sealed.source() == binary => sealed.exec_path().to_path_buf(),
        _ => binary,
    })
}

/// `POST /exec/{id}/start`.
pub fn start(engine: &Arc<Engine>, exec_id: &str, detach: bool) -> Result<Started, ExecError> {
    let exec = engine.execs.get(exec_id)?;
    {
        let mut state = exec.lock();
        if state.started {
            return Err(if state.running {
                ExecError::AlreadyRunning(exec.id.clone())
            } else {
                ExecError::AlreadyRan(exec.id.clone())
            });
        }
        state.started = true;
        state.running = true;
    }
    // A short name: the console socket's path must fit in `sun_path`.
    let dir = engine.paths.exec_root.join("execs").join(&exec.id[..16]);
    match launch(engine, &exec, &dir, detach) {
        Ok(started) => Ok(started),
        Err(e) => {
            let code = match &e {
                ExecError::Start { exit_code, .. } => *exit_code,
                _ => 126,
            };
            finish(engine, &exec, code);
            let _ = std::fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ExecError {
    let path = path.to_path_buf();
    move |source| ExecError::Io { what, path, source }
}

fn launch(
    engine: &Arc<Engine>,
    exec: &Arc<Exec>,
    dir: &Path,
    detach: bool,
) -> Result<Started, ExecError> {
    let (container_id, name, image) = running_container(engine, &exec.container_id)?;
    let bundle = engine.paths.bundle(&container_id);
    let spec = berth_runtime::spec::load(&bundle)?;
    if exec.spec.tty && !detach {
        exec.wait_for_size(TTY_SIZE_WAIT);
    }
    let size = exec.lock().size;
    let process = process::build(
        spec.process().as_ref(),
        &exec.spec,
        &engine.paths.rootfs(&container_id),
        size,
    )?;
    std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
    let process_file = dir.join("process.json");
    let json = serde_json::to_vec(&process).unwrap_or_default();
    std::fs::write(&process_file, json).map_err(io_err("writing", &process_file))?;
    let pid_file = dir.join("pid");
    let tty = exec.spec.tty;
    let console_path = dir.join("console.sock");
    let console_listener = if tty {
        let listener =
            UnixListener::bind(&console_path).map_err(io_err("binding", &console_path))?;
        listener
            .set_nonblocking(true)
            .map_err(io_err("configuring", &console_path))?;
        Some(listener)
    } else {
        None
    };
    // Watch before spawning, so the pid file cannot appear unseen.
    let watch = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
        .map_err(|e| io_err("inotify on", dir)(e.into()))?;
    inotify::add_watch(
        &watch,
        dir,
        inotify::WatchFlags::MOVED_TO | inotify::WatchFlags::CLOSE_WRITE,
    )
    .map_err(|e| io_err("inotify on", dir)(e.into()))?;

    let mut command = Command::new(runtime_exec_path()?);
    command
        .arg0("berth-runc")
        .arg("--root")
        .arg(engine.paths.runtime_root())
        .arg("exec")
        .arg("--process")
        .arg(&process_file)
        .arg("--pid-file")
        .arg(&pid_file);
    if tty {
        command.arg("--console-socket").arg(&console_path);
    }
    command.arg(&container_id);
    let attached = !detach;
    let piped = |on: bool| if on { Stdio::piped() } else { Stdio::null() };
    command
        .stdin(piped(attached && !tty && exec.spec.attach_stdin))
        .stdout(piped(attached && !tty && exec.spec.attach_stdout))
        // Always a pipe: it carries berth-runc's own error if the process cannot start.
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(io_err("running", Path::new("berth-runc")))?;
    let stdin = child.stdin.take().map(OwnedFd::from);
    let stdout = child.stdout.take().map(OwnedFd::from);
    let mut stderr = child.stderr.take().map(OwnedFd::from);

    let outcome = wait_for_start(&mut child, &watch, &pid_file, console_listener.as_ref());
    let (exited, console) = match outcome {
        Ok(done) => done,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    let Some(pid) = read_pid(&pid_file) else {
        // No pid file: the process never ran; berth-runc said why on stderr.
        let status = match exited {
            Some(status) => status,
            None => child
                .wait()
                .map_err(io_err("waiting for", Path::new("berth-runc")))?,
        };
        let mut message = String::new();
        if let Some(fd) = stderr.take() {
            let _ = File::from(fd).take(64 * 1024).read_to_string(&mut message);
        }
        return Err(start_error(&message, status));
    };
    let console = console.map(Arc::new);
    let size = {
        let mut state = exec.lock();
        state.pid = pid;
        state.console = console.clone();
        state.size
    };
    if let (Some(master), Some(size)) = (&console, size) {
        let _ = super::set_size(master, size);
    }
    if detach && let Some(fd) = stderr.take() {
        // Nobody reads a detached exec's stderr; keep the pipe from filling up.
        let drain = move || {
            let _ = std::io::copy(&mut File::from(fd), &mut std::io::sink());
        };
        if let Err(e) = std::thread::Builder::new()
            .name("exec-drain".into())
            .spawn(drain)
        {
            tracing::warn!(error = %e, "cannot drain a detached exec's stderr");
        }
    }
    publish(engine, exec, "exec_start", &name, &image, None);
    spawn_reaper(
        engine.clone(),
        exec.clone(),
        child,
        exited,
        dir.to_path_buf(),
        watch,
    );
    let console = match console {
        Some(master) => Some(
            master
                .as_fd()
                .try_clone_to_owned()
                .map_err(io_err("duplicating the pty of", dir))?,
        ),
        None => None,
    };
    Ok(Started {
        exec: exec.clone(),
        stdin,
        stdout,
        stderr: if tty { None } else { stderr },
        console,
    })
}

/// Waits until the pid file exists or the helper exited; with a tty, also receives the pty
/// master. Returns the helper's status if it already exited.
fn wait_for_start(
    child: &mut Child,
    watch: &OwnedFd,
    pid_file: &Path,
    console: Option<&UnixListener>,
) -> Result<(Option<ExitStatus>, Option<OwnedFd>), ExecError> {
    let pidfd = rustix::process::pidfd_open(
        rustix::process::Pid::from_child(child),
        rustix::process::PidfdFlags::empty(),
    )
    .map_err(|e| io_err("pidfd of", Path::new("berth-runc"))(e.into()))?;
    let deadline = Instant::now() + START_TIMEOUT;
    let mut master = None;
    loop {
        if master.is_none()
            && let Some(listener) = console
            && let Some(fd) = recv_console(listener)
        {
            master = Some(fd);
        }
        let console_done = console.is_none() || master.is_some();
        if let Some(status) = child
            .try_wait()
            .map_err(io_err("waiting for", Path::new("berth-runc")))?
        {
            return Ok((Some(status), master));
        }
        if console_done && pid_file.exists() {
            return Ok((None, master));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ExecError::Start {
                message: format!("exec did not start within {START_TIMEOUT:?}"),
                exit_code: 126,
            });
        }
        let mut fds = vec![
            PollFd::new(watch, PollFlags::IN),
            PollFd::new(&pidfd, PollFlags::IN),
        ];
        if let Some(listener) = console.filter(|_| master.is_none()) {
            fds.push(PollFd::new(listener, PollFlags::IN));
        }
        let timeout = rustix::event::Timespec::try_from(left.min(Duration::from_millis(500)))
            .unwrap_or(rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: 500_000_000,
            });
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(io_err("polling", pid_file)(e.into())),
        }
        drain_inotify(watch);
    }
}

/// The pty master, if the process has connected to the (nonblocking) console socket; the
/// accepted connection itself blocks, and the process sends the fd right after connecting.
fn recv_console(listener: &UnixListener) -> Option<OwnedFd> {
    berth_runtime::process::console::recv_master(listener).ok()
}

fn drain_inotify(watch: &OwnedFd) {
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1024];
    let mut reader = inotify::Reader::new(watch, &mut buf);
    while reader.next().is_ok() {}
}

fn read_pid(pid_file: &Path) -> Option<i32> {
    std::fs::read_to_string(pid_file).ok()?.trim().parse().ok()
}

/// Docker's wording for a process that could not start (what the docker CLI prints), and its
/// exit code: 127 for a missing program, 126 otherwise.
fn start_error(helper_stderr: &str, status: ExitStatus) -> ExecError {
    let detail = helper_stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .trim_start_matches("berth-runc: ")
        .to_string();
    let exit_code = match status.code() {
        Some(code @ (126 | 127)) => code,
        _ if detail.contains("not found") || detail.contains("no such file") => 127,
        _ => 126,
    };
    ExecError::Start {
        message: format!("OCI runtime exec failed: exec failed: {detail}: unknown"),
        exit_code,
    }
}

/// Reaps the helper (unless already reaped) and records the exit; then closes the pid file's
/// inotify instance, whose close waits for an SRCU grace period in the kernel (6–16 ms here):
/// done on the request's path, that wait was most of an exec's latency.
fn spawn_reaper(
    engine: Arc<Engine>,
    exec: Arc<Exec>,
    mut child: Child,
    exited: Option<ExitStatus>,
    dir: PathBuf,
    pid_file_watch: OwnedFd,
) {
    let exec_id = exec.id.clone();
    let run = move || {
        let status = match exited {
            Some(status) => Ok(status),
            None => child.wait(),
        };
        let code = match status {
            Ok(s) => s.code().unwrap_or_else(|| {
                128 + std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(0)
            }),
            Err(_) => 255,
        };
        finish(&engine, &exec, code);
        let _ = std::fs::remove_dir_all(&dir);
        drop(pid_file_watch);
    };
    if let Err(e) = std::thread::Builder::new()
        .name("exec-reaper".into())
        .spawn(run)
    {
        tracing::error!(error = %e, exec = %exec_id, "cannot start the exec reaper thread");
    }
}

/// Records the exit code, publishes `exec_die`, then wakes waiters.
fn finish(engine: &Engine, exec: &Exec, code: i32) {
    {
        let mut state = exec.lock();
        state.running = false;
        state.exit_code = Some(code);
        state.console = None;
    }
    let (name, image) = engine
        .containers
        .get(&exec.container_id)
        .map(|c| {
            let r = c.snapshot();
            (r.name, r.image_name)
        })
        .unwrap_or_default();
    publish(engine, exec, "exec_die", &name, &image, Some(code));
    exec.lock().reported = true;
    exec.exited.notify_all();
}
