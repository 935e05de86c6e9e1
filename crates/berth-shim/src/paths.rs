//! File names inside a shim's `--state-dir`, shared by the shim and its clients.

use std::path::{Path, PathBuf};

/// Live output (and stdin) for attachers.
pub const ATTACH_SOCKET: &str = "attach.sock";
/// One-line JSON commands: kill, resize, close_stdin, state.
pub const CONTROL_SOCKET: &str = "control.sock";
/// Written once the container's init exited and the container was deleted.
pub const EXIT_FILE: &str = "exit.json";
/// `{"pid":N,"shim_pid":M}` once the container runs (what the starter also prints).
pub const READY_FILE: &str = "ready.json";
/// Where the container's init sends the pty master (transient, tty only).
pub const CONSOLE_SOCKET: &str = "console.sock";

pub fn in_state_dir(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join(name)
}

/// Writes `data` to `dir/name` atomically, without fsync: the state dir is runtime state
/// (under the exec root) that means nothing after a host crash.
pub fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    berth_fsutil::write_atomic_volatile(&dir.join(name), data, 0o644)
}
