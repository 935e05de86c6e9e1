//! start, stop, restart, kill, pause, unpause, rm, wait, rename: one API call per container,
//! the name printed on success, errors collected and reported at the end (exit 1), as docker.

use berth_client::api::containers::AttachOptions;

use crate::cli::{KillArgs, RmArgs, StartArgs, StopArgs};
use crate::stdio::{self, PumpOptions, StreamEnd};
use crate::tty::{self, RawMode};
use crate::{Ctx, StatusError};

/// Runs `action` on each name; prints the name on success, the error otherwise.
pub fn for_each(
    names: &[String],
    mut action: impl FnMut(&str) -> Result<Option<String>, berth_client::Error>,
) -> anyhow::Result<i32> {
    let mut failed = false;
    for name in names {
        match action(name) {
            Ok(Some(line)) => println!("{line}"),
            Ok(None) => {}
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

pub fn stop(ctx: &Ctx, args: StopArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    for_each(&args.containers, |name| {
        match &args.signal {
            // Newer API versions take a signal; 1.41 does not, so send it as a kill first.
            Some(signal) => client.container_kill(name, Some(signal))?,
            None => client.container_stop(name, args.time)?,
        }
        Ok(Some(name.to_owned()))
    })
}

pub fn restart(ctx: &Ctx, args: StopArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    for_each(&args.containers, |name| {
        client.container_restart(name, args.time)?;
        Ok(Some(name.to_owned()))
    })
}

pub fn kill(ctx: &Ctx, args: KillArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    for_each(&args.containers, |name| {
        client.container_kill(name, args.signal.as_deref())?;
        Ok(Some(name.to_owned()))
    })
}

pub fn pause(ctx: &Ctx, names: &[String], pause: bool) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    for_each(names, |name| {
        if pause {
            client.container_pause(name)?;
        } else {
            client.container_unpause(name)?;
        }
        Ok(Some(name.to_owned()))
    })
}

pub fn rm(ctx: &Ctx, args: RmArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    for_each(&args.containers, |name| {
        client.container_remove(name, args.force, args.volumes)?;
        Ok(Some(name.to_owned()))
    })
}

pub fn wait(ctx: &Ctx, names: &[String]) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    for_each(names, |name| {
        let status = client.container_wait(name, "not-running")?.finish()?;
        Ok(Some(status.status_code.to_string()))
    })
}

pub fn rename(ctx: &Ctx, container: &str, new_name: &str) -> anyhow::Result<i32> {
    ctx.client()?.container_rename(container, new_name)?;
    Ok(0)
}

pub fn start(ctx: &Ctx, args: StartArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    if !args.attach && !args.interactive {
        return for_each(&args.containers, |name| {
            client.container_start(name, None)?;
            Ok(Some(name.to_owned()))
        });
    }
    let [name] = args.containers.as_slice() else {
        return Err(StatusError {
            message: "you cannot start and attach multiple containers at once".to_owned(),
            code: 1,
        }
        .into());
    };
    let info = client.container_inspect(name)?;
    let id = info["Id"].as_str().unwrap_or(name).to_owned();
    let tty_mode = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let stdin = args.interactive && info["Config"]["OpenStdin"].as_bool().unwrap_or(false);
    let keys = tty::parse_detach_keys(args.detach_keys.as_deref().unwrap_or("ctrl-p,ctrl-q"))?;
    let conn = client.container_attach(
        &id,
        &AttachOptions {
            stdin,
            stdout: true,
            stderr: true,
            detach_keys: args.detach_keys.clone(),
        },
    )?;
    let wait = client.container_wait(&id, "next-exit")?;
    super::run::watch(client, &id, tty_mode, !tty_mode)?;
    let raw = if tty_mode && stdin {
        RawMode::enable()?
    } else {
        None
    };
    if let Err(e) = client.container_start(&id, None) {
        drop(raw);
        return Err(e.into());
    }
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
