//! exec.

use std::path::Path;

use berth_runtime::container::{self, ExecOptions, ProcessOverrides, ProcessSource};

use super::{Failure, Outcome, id, seal_self};
use crate::cli::ExecArgs;

pub fn exec(root: &Path, args: &ExecArgs) -> Outcome {
    seal_self()?;
    let process = match &args.process {
        Some(path) => ProcessSource::File(path.clone()),
        None => {
            if args.args.is_empty() {
                return Err(Failure::new("exec needs a command (or --process FILE)"));
            }
            ProcessSource::Overrides(ProcessOverrides {
                args: args.args.clone(),
                env: args.env.clone(),
                cwd: args.cwd.clone(),
                user: args.user.as_deref().map(parse_user).transpose()?,
                additional_gids: args.additional_gids.clone(),
                caps: args.cap.clone(),
                tty: args.tty,
                no_new_privs: args.no_new_privs,
            })
        }
    };
    let opts = ExecOptions {
        root: root.to_path_buf(),
        id: id(&args.id)?,
        process,
        detach: args.detach,
        pid_file: args.pid_file.clone(),
        console_socket: args.console_socket.clone(),
        preserve_fds: args.preserve_fds,
    };
    container::exec(&opts).map_err(|e| Failure::with_code(&e, e.exit_code()))
}

/// `UID[:GID]`, numeric like runc's `--user`.
fn parse_user(text: &str) -> Result<(u32, Option<u32>), Failure> {
    let bad = || {
        Failure::new(format!(
            "invalid --user {text:?}: expected UID[:GID] (numbers)"
        ))
    };
    let (uid, gid) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    let uid = uid.parse().map_err(|_| bad())?;
    let gid = gid.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}
