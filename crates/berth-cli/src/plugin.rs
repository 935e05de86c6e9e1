//! Running a `berth-<name>` program in place of this process.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

/// Replaces this process with `program` (looked up beside our own executable first, then on
/// PATH), passing `args`. Returns only on failure.
pub fn exec(program: &str, args: &[OsString]) -> anyhow::Result<()> {
    let path = locate(program)
        .with_context(|| format!("`{program}` not found beside `berth` or on PATH"))?;
    let err = Command::new(&path).args(args).exec();
    bail!("running {}: {err}", path.display())
}

fn locate(program: &str) -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(program)))
        .filter(|p| p.is_file());
    beside.or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}
