//! RUN: the step's mounted workspace becomes an OCI bundle (Docker-like default spec with the
//! image's Env/WorkingDir/User), run in the foreground by the runtime library; output is
//! printed and its tail kept for the error message.

use std::path::{Path, PathBuf};

use berth_runtime::container::{ContainerId, CreateOptions, InitOrigin, RunOptions, run};
use serde_json::{Value, json};

use super::sys::run_captured;

/// Docker's default capability set for containers (and so for RUN steps).
const DOCKER_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];
const TAIL_BYTES: usize = 4096;

/// What one RUN needs.
pub struct RunStep<'a> {
    /// The workspace dir: `rootfs` (mounted) is inside; `config.json` is written here.
    pub bundle: &'a Path,
    pub runtime_root: &'a Path,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub netns: NetNamespace,
    /// Mounts besides the default ones (`/etc/hosts`, `/etc/resolv.conf`, `RUN --mount`).
    pub mounts: Vec<SpecMount>,
    /// Print the step's output as it arrives.
    pub echo: bool,
    /// Where echoed output goes (stderr when `None`).
    pub output: Option<&'a super::OutputSink>,
}

/// Which network namespace the step's process lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetNamespace {
    Host,
    /// A new one, with only loopback.
    New,
    /// An existing one (a bridge network's endpoint is in it).
    Join(PathBuf),
}

/// One OCI mount of the step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecMount {
    pub destination: String,
    /// `bind` or `tmpfs`.
    pub kind: &'static str,
    pub source: PathBuf,
    pub options: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunStepError {
    #[error("writing {path}: {source}")]
    Bundle {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting the step: {0}")]
    Fork(std::io::Error),
    #[error("the runtime failed: {message}")]
    Runtime { message: String },
    #[error("exit code {code}")]
    Exit { code: i32, tail: String },
}

const RUNTIME_FAILED: &str = "berth-build: runtime error: ";

pub fn run_step(step: &RunStep) -> Result<(), RunStepError> {
    let config = spec(step);
    let path = step.bundle.join("config.json");
    let bytes = serde_json::to_vec_pretty(&config).unwrap_or_default();
    std::fs::write(&path, bytes).map_err(|source| RunStepError::Bundle {
        path: path.clone(),
        source,
    })?;
    std::fs::create_dir_all(step.runtime_root).map_err(|source| RunStepError::Bundle {
        path: step.runtime_root.to_path_buf(),
        source,
    })?;
    let id = container_id(step.runtime_root);
    let options = RunOptions {
        create: CreateOptions::new(
            step.runtime_root.to_path_buf(),
            id,
            step.bundle.to_path_buf(),
        ),
        detach: false,
        scratch_dir: step.bundle.join("scratch"),
    };
    let mut tail: Vec<u8> = Vec::new();
    let captured = run_captured(
        || match run(&options, InitOrigin::Here) {
            Ok(code) => code,
            Err(e) => {
                // Straight to fd 2 (the pipe): `eprintln!` may be captured by a test harness.
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "{RUNTIME_FAILED}{e}");
                125
            }
        },
        |chunk| {
            match (step.echo, step.output) {
                (true, Some(sink)) => sink(chunk),
                (true, None) => eprint!("{}", String::from_utf8_lossy(chunk)),
                (false, _) => {}
            }
            tail.extend_from_slice(chunk);
            if tail.len() > 2 * TAIL_BYTES {
                tail.drain(..tail.len() - TAIL_BYTES);
            }
        },
    )
    .map_err(RunStepError::Fork)?;
    let text = String::from_utf8_lossy(&tail[tail.len().saturating_sub(TAIL_BYTES)..]).into_owned();
    if let Some(message) = text
        .lines()
        .find_map(|l| l.strip_prefix(RUNTIME_FAILED))
        .filter(|_| captured.code == 125)
    {
        return Err(RunStepError::Runtime {
            message: message.to_string(),
        });
    }
    match captured.code {
        0 => Ok(()),
        code => Err(RunStepError::Exit { code, tail: text }),
    }
}

/// The prefix of every RUN container id (and so of its cgroup, `/<id>`) a build with this
/// runtime root creates: lets a caller find what a crashed build left behind.
pub fn container_prefix(runtime_root: &Path) -> String {
    let digest =
        <sha2::Sha256 as sha2::Digest>::digest(runtime_root.as_os_str().as_encoded_bytes());
    let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("berth-build-{short}-")
}

fn container_id(runtime_root: &Path) -> ContainerId {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let raw = format!(
        "{}{}-{}",
        container_prefix(runtime_root),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    match ContainerId::parse(&raw) {
        Ok(id) => id,
        Err(_) => unreachable!("{raw} is a valid container id"),
    }
}

/// runc's default spec adjusted the way Docker runs a build step.
fn spec(step: &RunStep) -> Value {
    let mut spec = berth_runtime::spec::default_spec();
    let caps = json!(DOCKER_CAPS);
    spec["process"] = json!({
        "terminal": false,
        "user": {"uid": step.uid, "gid": step.gid},
        "args": step.argv,
        "env": step.env,
        "cwd": step.cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": false,
    });
    spec["root"] = json!({"path": "rootfs", "readonly": false});
    spec["hostname"] = json!(super::network::SANDBOX_HOSTNAME);
    if let Some(namespaces) = spec["linux"]["namespaces"].as_array_mut() {
        match &step.netns {
            NetNamespace::Host => namespaces.retain(|ns| ns["type"] != "network"),
            NetNamespace::New => {}
            NetNamespace::Join(path) => {
                for ns in namespaces.iter_mut().filter(|ns| ns["type"] == "network") {
                    ns["path"] = json!(path);
                }
            }
        }
    }
    if let Some(mounts) = spec["mounts"].as_array_mut() {
        for m in &step.mounts {
            mounts.push(json!({
                "destination": m.destination,
                "type": m.kind,
                "source": m.source,
                "options": m.options,
            }));
        }
    }
    spec
}
