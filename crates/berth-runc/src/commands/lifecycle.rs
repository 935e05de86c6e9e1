//! create, start, run, kill, delete, pause, resume.

use std::path::Path;

use berth_runtime::container::{self, ContainerId, CreateOptions, InitOrigin, RunOptions, Signal};

use super::{Failure, Outcome, id};
use crate::cli::{CreateArgs, RunArgs};

fn create_options(root: &Path, args: &CreateArgs) -> Result<CreateOptions, Failure> {
    Ok(CreateOptions {
        root: root.to_path_buf(),
        id: id(&args.id)?,
        bundle: args.bundle.clone(),
        pid_file: args.pid_file.as_ref().map(|p| absolute(p)),
        console_socket: args.console_socket.as_ref().map(|p| absolute(p)),
        no_pivot: args.no_pivot,
        no_new_keyring: args.no_new_keyring,
        preserve_fds: args.preserve_fds,
    })
}

fn absolute(path: &Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

// Our binary may be writable: the init execs through the trampoline, or comes from a spawner
// (a read-only copy of us, see `main`).
pub fn create(root: &Path, args: &CreateArgs) -> Outcome {
    let opts = create_options(root, args)?;
    let bundle =
        container::Bundle::load(&opts.bundle).map_err(|e| Failure::with_code(&e, e.exit_code()))?;
    container::create_from(&opts, bundle, InitOrigin::HereOrSpawner)
        .map_err(|e| Failure::with_code(&e, e.exit_code()))?;
    Ok(0)
}

pub fn start(root: &Path, id: &ContainerId) -> Outcome {
    container::start(root, id).map_err(Failure::new)?;
    Ok(0)
}

pub fn run(root: &Path, args: &RunArgs) -> Outcome {
    let opts = RunOptions {
        create: create_options(root, &args.create)?,
        detach: args.detach,
        scratch_dir: root.to_path_buf(),
    };
    container::run(&opts, InitOrigin::HereOrSpawner)
        .map_err(|e| Failure::with_code(&e, e.exit_code()))
}

pub fn kill(root: &Path, id: &ContainerId, signal: &str, all: bool) -> Outcome {
    let signal = Signal::parse(signal).map_err(Failure::new)?;
    container::kill(root, id, signal, all).map_err(Failure::new)?;
    Ok(0)
}

pub fn delete(root: &Path, id: &ContainerId, force: bool) -> Outcome {
    container::delete(root, id, force).map_err(Failure::new)?;
    Ok(0)
}

pub fn pause(root: &Path, id: &ContainerId) -> Outcome {
    container::pause(root, id).map_err(Failure::new)?;
    Ok(0)
}

pub fn resume(root: &Path, id: &ContainerId) -> Outcome {
    container::resume(root, id).map_err(Failure::new)?;
    Ok(0)
}
