//! `exec` and `attach`: hijacked connections to a running container.

use berth_client::api::containers::AttachOptions;
use berth_client::models::ExecConfig;

use super::opts::{expand_env, read_env_file};
use crate::Ctx;
use crate::cli::{AttachArgs, ExecArgs};
use crate::stdio::{self, PumpOptions, StreamEnd};
use crate::tty::{self, RawMode};

const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

pub fn exec(ctx: &Ctx, args: ExecArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let mut env = Vec::new();
    for file in &args.env_file {
        env.extend(read_env_file(file)?);
    }
    env.extend(args.env.iter().filter_map(|e| expand_env(e)));
    let attach = !args.detach;
    let config = ExecConfig {
        attach_stdin: Some(args.interactive && attach),
        attach_stdout: Some(attach),
        attach_stderr: Some(attach),
        detach_keys: args.detach_keys.clone(),
        tty: Some(args.tty),
        env: (!env.is_empty()).then_some(env),
        cmd: Some(args.command().to_vec()),
        privileged: Some(args.privileged),
        user: args.user.clone(),
        working_dir: args.workdir.clone(),
        console_size: if args.tty {
            tty::window_size().map(|(h, w)| vec![usize::from(h), usize::from(w)])
        } else {
            None
        },
    };
    let exec_id = client.exec_create(args.container(), &config)?;
    if args.detach {
        client.exec_start_detached(&exec_id)?;
        return Ok(0);
    }
    let keys = tty::parse_detach_keys(args.detach_keys.as_deref().unwrap_or(DEFAULT_DETACH_KEYS))?;
    if args.tty {
        let (client, id) = (client.clone(), exec_id.clone());
        stdio::watch_signals(
            Some(Box::new(move |h, w| {
                let _ = client.exec_resize(&id, h, w);
            })),
            None,
        )?;
    }
    let raw = if args.tty && args.interactive {
        RawMode::enable()?
    } else {
        None
    };
    let conn = match client.exec_start_attached(&exec_id, args.tty) {
        Ok(conn) => conn,
        Err(e) => {
            drop(raw);
            return Err(e.into());
        }
    };
    if let (true, Some((h, w))) = (args.tty, tty::window_size()) {
        let _ = client.exec_resize(&exec_id, h, w);
    }
    let end = stdio::pump(
        conn,
        PumpOptions {
            tty: args.tty,
            stdin: args.interactive,
            detach_keys: keys,
        },
    );
    drop(raw);
    if end? == StreamEnd::Detached {
        return Ok(0);
    }
    let inspect = client.exec_inspect(&exec_id)?;
    Ok(inspect
        .exit_code
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(0))
}

pub fn attach(ctx: &Ctx, args: AttachArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let info = client.container_inspect(&args.container)?;
    let id = info["Id"].as_str().unwrap_or(&args.container).to_owned();
    if info["State"]["Running"] != true {
        anyhow::bail!("You cannot attach to a stopped container, start it first");
    }
    let tty_mode = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let stdin = !args.no_stdin && info["Config"]["OpenStdin"].as_bool().unwrap_or(false);
    let keys = tty::parse_detach_keys(args.detach_keys.as_deref().unwrap_or(DEFAULT_DETACH_KEYS))?;
    let wait = client.container_wait(&id, "next-exit")?;
    let conn = client.container_attach(
        &id,
        &AttachOptions {
            stdin,
            stdout: true,
            stderr: true,
            detach_keys: args.detach_keys.clone(),
        },
    )?;
    super::run::watch(client, &id, tty_mode, args.sig_proxy && !tty_mode)?;
    let raw = if tty_mode && stdin {
        RawMode::enable()?
    } else {
        None
    };
    if let (true, Some((h, w))) = (tty_mode, tty::window_size()) {
        let _ = client.container_resize(&id, h, w);
    }
    let end = stdio::pump(
        conn,
        PumpOptions {
            tty: tty_mode,
            stdin,
            detach_keys: keys,
        },
    );
    drop(raw);
    if end? == StreamEnd::Detached {
        return Ok(0);
    }
    let status = wait.finish()?;
    Ok(i32::try_from(status.status_code).unwrap_or(1))
}
