//! `docker exec`: the table of exec instances (create → start → exited) and their Docker
//! inspect view. Starting runs `berth-runc exec` (berth-runtime's exec: joins the container's
//! namespaces and cgroup, applies its capabilities, seccomp and user) as a child of the
//! daemon: the daemon is multi-threaded and must not fork into namespaces itself, and the
//! helper stays the exec'd process's parent (a subreaper) so its exit code comes back to us.

mod process;
mod start;

use std::collections::{BTreeMap, HashMap};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Condvar, Mutex};

use bollard_stubs::models::{ExecConfig, ExecInspectResponse, ProcessConfig};

pub use start::{Started, runtime_binary, start};

use crate::Engine;
use crate::containers::{LookupError, Status};
use crate::error::{ErrorKind, HasKind};
use crate::events::Event;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Container(#[from] LookupError),
    #[error("No such exec instance: {0}")]
    NotFound(String),
    #[error("Container {0} is not running")]
    NotRunning(String),
    #[error("Container {0} is paused, unpause the container before exec")]
    Paused(String),
    #[error("No exec command specified")]
    NoCommand,
    #[error("Error: Exec command {0} is already running")]
    AlreadyRunning(String),
    #[error("Error: Exec command {0} has already run")]
    AlreadyRan(String),
    /// `-u` names a user or group the container does not have, or its passwd is unreadable.
    #[error(transparent)]
    User(crate::spec::SpecError),
    #[error("reading the container's OCI spec: {0}")]
    Spec(#[from] berth_runtime::spec::SpecError),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot find the berth-runc binary (looked next to {beside} and on PATH; set BERTH_RUNC)"
    )]
    NoRuntime { beside: String },
    /// The process did not start; `message` is Docker's wording, `exit_code` 126/127 like it.
    #[error("{message}")]
    Start { message: String, exit_code: i32 },
    #[error(transparent)]
    DetachKeys(#[from] crate::io::detach_keys::DetachKeysError),
}

impl HasKind for ExecError {
    fn kind(&self) -> ErrorKind {
        match self {
            ExecError::Container(e) => e.kind(),
            ExecError::NotFound(_) => ErrorKind::NotFound,
            ExecError::NotRunning(_)
            | ExecError::Paused(_)
            | ExecError::AlreadyRunning(_)
            | ExecError::AlreadyRan(_) => ErrorKind::Conflict,
            ExecError::NoCommand | ExecError::DetachKeys(_) => ErrorKind::InvalidArgument,
            ExecError::User(e) => e.kind(),
            _ => ErrorKind::System,
        }
    }
}

/// What the client asked for (Docker's `ExecConfig`, with defaults applied).
#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub user: String,
    pub working_dir: String,
    pub tty: bool,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub privileged: bool,
    pub detach_keys: String,
}

impl From<ExecConfig> for ExecSpec {
    fn from(c: ExecConfig) -> ExecSpec {
        ExecSpec {
            cmd: c.cmd.unwrap_or_default(),
            env: c.env.unwrap_or_default(),
            user: c.user.unwrap_or_default(),
            working_dir: c.working_dir.unwrap_or_default(),
            tty: c.tty.unwrap_or(false),
            attach_stdin: c.attach_stdin.unwrap_or(false),
            attach_stdout: c.attach_stdout.unwrap_or(false),
            attach_stderr: c.attach_stderr.unwrap_or(false),
            privileged: c.privileged.unwrap_or(false),
            detach_keys: c.detach_keys.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Default)]
struct ExecState {
    started: bool,
    running: bool,
    exit_code: Option<i32>,
    /// `exec_die` is published: waiters return only then, so whoever waited sees the event.
    reported: bool,
    pid: i32,
    /// The pty master while a tty exec runs (for resize).
    console: Option<Arc<OwnedFd>>,
    /// The last requested window size (rows, cols), applied when the pty arrives: clients
    /// resize right after start, possibly before the process has its terminal.
    size: Option<(u16, u16)>,
}

/// One exec instance.
#[derive(Debug)]
pub struct Exec {
    pub id: String,
    pub container_id: String,
    pub spec: ExecSpec,
    state: Mutex<ExecState>,
    exited: Condvar,
}

impl Exec {
    fn lock(&self) -> std::sync::MutexGuard<'_, ExecState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The detach sequence for an attached tty (validated at create; Docker's default if empty).
    pub fn detach_keys(&self) -> Vec<u8> {
        crate::io::detach_keys::parse(&self.spec.detach_keys)
            .unwrap_or_else(|_| crate::io::detach_keys::DEFAULT.to_vec())
    }

    /// Blocks until the process has exited; its exit code.
    pub fn wait(&self) -> i32 {
        let mut state = self.lock();
        loop {
            if let (true, Some(code)) = (state.reported, state.exit_code) {
                return code;
            }
            state = self.exited.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Waits (at most `limit`) until a window size is known. API 1.41 clients send the size
    /// only after the start (1.42 added `ConsoleSize`), so a tty program started at once would
    /// see 0x0 — what `docker exec -it c stty size` shows against Docker 20.10 too.
    pub fn wait_for_size(&self, limit: std::time::Duration) {
        let deadline = std::time::Instant::now() + limit;
        let mut state = self.lock();
        while state.size.is_none() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            state = self
                .exited
                .wait_timeout(state, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    pub fn exit_code(&self) -> Option<i32> {
        self.lock().exit_code
    }

    /// `POST /exec/{id}/resize`: sets the pty's window size (remembered until the pty exists;
    /// a no-op without a tty, as Docker).
    pub fn resize(&self, height: u16, width: u16) -> Result<(), ExecError> {
        let console = {
            let mut state = self.lock();
            state.size = Some((height, width));
            state.console.clone()
        };
        // A start waiting for the first size (see `wait_for_size`) goes on.
        self.exited.notify_all();
        match console {
            Some(master) => set_size(&master, (height, width)),
            None => Ok(()),
        }
    }

    /// Docker's `GET /exec/{id}/json`.
    pub fn inspect(&self) -> ExecInspectResponse {
        let state = self.lock();
        let (entrypoint, arguments) = match self.spec.cmd.split_first() {
            Some((first, rest)) => (first.clone(), rest.to_vec()),
            None => (String::new(), Vec::new()),
        };
        ExecInspectResponse {
            can_remove: Some(false),
            detach_keys: Some(self.spec.detach_keys.clone()),
            id: Some(self.id.clone()),
            running: Some(state.running),
            exit_code: state.exit_code.map(i64::from),
            process_config: Some(ProcessConfig {
                privileged: Some(self.spec.privileged),
                user: Some(self.spec.user.clone()),
                tty: Some(self.spec.tty),
                entrypoint: Some(entrypoint),
                arguments: Some(arguments),
            }),
            open_stdin: Some(self.spec.attach_stdin),
            open_stderr: Some(self.spec.attach_stderr),
            open_stdout: Some(self.spec.attach_stdout),
            container_id: Some(self.container_id.clone()),
            pid: Some(i64::from(state.pid)),
        }
    }
}

fn set_size(master: &OwnedFd, (rows, cols): (u16, u16)) -> Result<(), ExecError> {
    let size = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(master, size).map_err(|e| ExecError::Io {
        what: "resizing the exec's pty",
        path: std::path::PathBuf::from("/dev/ptmx"),
        source: e.into(),
    })
}

/// Every exec instance by ID (kept after exit so clients can inspect the exit code).
#[derive(Debug, Default)]
pub struct ExecTable {
    by_id: Mutex<HashMap<String, Arc<Exec>>>,
}

impl ExecTable {
    pub fn get(&self, id: &str) -> Result<Arc<Exec>, ExecError> {
        self.lock()
            .get(id)
            .cloned()
            .ok_or_else(|| ExecError::NotFound(id.to_string()))
    }

    /// Forgets one exec instance (a health probe's, once its result is taken).
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Forgets the exec instances of a removed container.
    pub fn remove_container(&self, container_id: &str) {
        self.lock().retain(|_, e| e.container_id != container_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Exec>>> {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Checks the container runs; its ID, name and image for events.
fn running_container(engine: &Engine, name: &str) -> Result<(String, String, String), ExecError> {
    let container = engine.containers.get(name)?;
    let record = container.snapshot();
    match record.state.status {
        Status::Running => Ok((record.id, record.name, record.image_name)),
        Status::Paused => Err(ExecError::Paused(record.id)),
        _ => Err(ExecError::NotRunning(record.id)),
    }
}

/// `POST /containers/{id}/exec`: registers an exec instance; its ID.
pub fn create(engine: &Engine, container: &str, config: ExecConfig) -> Result<String, ExecError> {
    let console_size = match config.console_size.as_deref() {
        Some([rows, cols]) if *rows > 0 && *cols > 0 => Some((
            u16::try_from(*rows).unwrap_or(u16::MAX),
            u16::try_from(*cols).unwrap_or(u16::MAX),
        )),
        _ => None,
    };
    let spec = ExecSpec::from(config);
    if spec.cmd.is_empty() {
        return Err(ExecError::NoCommand);
    }
    crate::io::detach_keys::parse(&spec.detach_keys)?;
    let (container_id, name, image) = running_container(engine, container)?;
    let id = crate::containers::names::new_id();
    let exec = Arc::new(Exec {
        id: id.clone(),
        container_id: container_id.clone(),
        spec,
        state: Mutex::new(ExecState {
            size: console_size,
            ..ExecState::default()
        }),
        exited: Condvar::new(),
    });
    publish(engine, &exec, "exec_create", &name, &image, None);
    let mut table = engine.execs.lock();
    // Forget the finished execs of removed containers (Docker drops them with the container).
    table.retain(|_, e| e.lock().running || engine.containers.get(&e.container_id).is_ok());
    table.insert(id.clone(), exec);
    Ok(id)
}

fn publish(
    engine: &Engine,
    exec: &Exec,
    action: &str,
    name: &str,
    image: &str,
    exit_code: Option<i32>,
) {
    let mut attrs = BTreeMap::from([
        ("execID".to_string(), exec.id.clone()),
        ("name".to_string(), name.to_string()),
        ("image".to_string(), image.to_string()),
    ]);
    if let Some(code) = exit_code {
        attrs.insert("exitCode".to_string(), code.to_string());
    }
    let action = if action == "exec_die" {
        action.to_string()
    } else {
        format!("{action}: {}", exec.spec.cmd.join(" "))
    };
    engine
        .events
        .publish(Event::new("container", &action, &exec.container_id, attrs));
}

#[cfg(test)]
mod tests;
