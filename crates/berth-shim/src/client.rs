//! The daemon's side: how to start a shim and talk to a running one.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use crate::paths::{self, CONTROL_SOCKET};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("control socket {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("control socket {path}: the shim closed the connection without replying")]
    NoReply { path: PathBuf },
}

/// What a shim is started with; `argv()` renders the flags `berth-shim` takes.
#[derive(Debug, Clone)]
pub struct ShimConfig {
    pub id: String,
    pub bundle: PathBuf,
    pub runtime_root: PathBuf,
    pub state_dir: PathBuf,
    pub log_path: Option<PathBuf>,
    pub log_max_size: u64,
    pub log_max_files: u32,
    pub stdin: bool,
    pub tty: bool,
    /// Hold the process until the first attacher connects (`--wait-attach`).
    pub wait_attach: bool,
    /// Close the container's stdin when an attacher's input ends (`--stdin-once`).
    pub stdin_once: bool,
}

impl ShimConfig {
    pub fn argv(&self) -> Vec<OsString> {
        let mut argv: Vec<OsString> = vec![
            "--id".into(),
            self.id.clone().into(),
            "--bundle".into(),
            self.bundle.clone().into(),
            "--runtime-root".into(),
            self.runtime_root.clone().into(),
            "--state-dir".into(),
            self.state_dir.clone().into(),
        ];
        if let Some(log) = &self.log_path {
            argv.extend([
                "--log-path".into(),
                log.clone().into(),
                "--log-max-size".into(),
                self.log_max_size.to_string().into(),
                "--log-max-files".into(),
                self.log_max_files.to_string().into(),
            ]);
        }
        if self.stdin {
            argv.push("--stdin".into());
        }
        if self.tty {
            argv.push("--tty".into());
        }
        if self.wait_attach {
            argv.push("--wait-attach".into());
        }
        if self.stdin_once {
            argv.push("--stdin-once".into());
        }
        argv
    }
}

/// Sends one control command (a JSON object, no newline) and returns the reply line.
pub fn control(state_dir: &Path, command: &str) -> Result<String, ClientError> {
    let path = paths::in_state_dir(state_dir, CONTROL_SOCKET);
    let io = |source| ClientError::Io {
        path: path.clone(),
        source,
    };
    let mut stream = UnixStream::connect(&path).map_err(io)?;
    // A shim always answers at once; a hung one must not hang the daemon.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .map_err(io)?;
    stream
        .write_all(format!("{command}\n").as_bytes())
        .map_err(io)?;
    let mut reply = String::new();
    BufReader::new(&stream).read_line(&mut reply).map_err(io)?;
    if reply.is_empty() {
        return Err(ClientError::NoReply { path });
    }
    Ok(reply.trim_end().to_string())
}
