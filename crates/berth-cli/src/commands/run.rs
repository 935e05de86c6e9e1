//! `run` and `create`, as docker/cli does them: create (pulling the image when missing),
//! attach before start, wait registered before start, start, stream, exit with the status.

use berth_client::api::containers::AttachOptions;
use berth_client::{Client, Error};

use super::transfer::pull_with_progress;
use crate::cli::RunArgs;
use crate::stdio::{self, PumpOptions, ResizeFn, SignalFn, StreamEnd};
use crate::tty::{self, RawMode};
use crate::{Ctx, StatusError};

const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// A failure of `run`/`create` itself: Docker's 125, with its message shape.
fn failed(command: &str, err: impl std::fmt::Display) -> anyhow::Error {
    StatusError {
        message: format!("berth: {err}\n\nRun 'berth {command} --help' for more information"),
        code: 125,
    }
    .into()
}

/// docker/cli's toStatusError: a start error saying the command is missing is 127, one
/// saying it cannot be executed is 126, anything else 125.
pub fn start_status(err: &str) -> i32 {
    if err.contains("executable file not found")
        || err.contains("no such file or directory")
        || err.contains("system cannot find the file specified")
    {
        127
    } else if err.contains("permission denied") || err.contains("is a directory") {
        126
    } else {
        125
    }
}

pub fn create(ctx: &Ctx, args: RunArgs) -> anyhow::Result<i32> {
    let client = ctx.client().map_err(|e| failed("create", e))?;
    let id = create_container(ctx, client, &args, false, "create")?;
    println!("{id}");
    Ok(0)
}

/// Creates the container, pulling its image first when the daemon does not have it.
fn create_container(
    ctx: &Ctx,
    client: &Client,
    args: &RunArgs,
    attach: bool,
    command: &str,
) -> anyhow::Result<String> {
    let mut body = args
        .options
        .to_create_body(args.image(), args.command(), attach, args.rm)
        .map_err(|e| failed(command, e))?;
    // The TTY's first size travels with create, so a program asking at once sees it.
    if let (true, Some((h, w)), Some(host_config)) = (
        args.options.tty && attach,
        tty::window_size(),
        body.host_config.as_mut(),
    ) {
        host_config.console_size = Some(vec![usize::from(h), usize::from(w)]);
    }
    let name = args.options.name.as_deref();
    if args.pull == "always" {
        pull_with_progress(ctx, client, args.image(), args.quiet, true)
            .map_err(|e| failed(command, e))?;
    }
    let created = match client.container_create(name, &body) {
        Err(Error::Api(e))
            if e.status == 404 && args.pull != "never" && is_missing_image(&e.message) =>
        {
            eprintln!("Unable to find image '{}' locally", with_tag(args.image()));
            pull_with_progress(ctx, client, args.image(), args.quiet, true)
                .map_err(|e| failed(command, e))?;
            client
                .container_create(name, &body)
                .map_err(|e| failed(command, e))?
        }
        other => other.map_err(|e| failed(command, e))?,
    };
    for warning in &created.warnings {
        eprintln!("WARNING: {warning}");
    }
    Ok(created.id)
}

/// A 404 from create that is about the image (not, say, an unknown route).
fn is_missing_image(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("no such image") || m.contains("image not known")
}

fn with_tag(image: &str) -> String {
    match berth_client::api::images::split_reference(image) {
        (_, Some(_)) => image.to_owned(),
        (name, None) => format!("{name}:latest"),
    }
}

pub fn run(ctx: &Ctx, args: RunArgs) -> anyhow::Result<i32> {
    let client = ctx.client().map_err(|e| failed("run", e))?;
    if args.detach {
        let id = create_container(ctx, client, &args, false, "run")?;
        if let Err(e) = client.container_start(&id, None) {
            let message = e.to_string();
            return Err(StatusError {
                code: start_status(&message),
                message: format!("berth: {message}\n\nRun 'berth run --help' for more information"),
            }
            .into());
        }
        println!("{id}");
        return Ok(0);
    }
    let detach_keys = args.detach_keys.as_deref().unwrap_or(DEFAULT_DETACH_KEYS);
    let detach_bytes = tty::parse_detach_keys(detach_keys).map_err(|e| failed("run", e))?;
    let id = create_container(ctx, client, &args, true, "run")?;
    let tty_mode = args.options.tty;
    let stdin = args.options.interactive;

    let conn = client
        .container_attach(
            &id,
            &AttachOptions {
                stdin,
                stdout: true,
                stderr: true,
                detach_keys: args.detach_keys.clone(),
            },
        )
        .map_err(|e| failed("run", e))?;
    let condition = if args.rm { "removed" } else { "next-exit" };
    let wait = client
        .container_wait(&id, condition)
        .map_err(|e| failed("run", e))?;

    watch(client, &id, tty_mode, args.sig_proxy && !tty_mode)?;
    let raw = if tty_mode && stdin {
        RawMode::enable()?
    } else {
        None
    };
    if let Err(e) = client.container_start(&id, None) {
        drop(raw);
        let message = e.to_string();
        return Err(StatusError {
            code: start_status(&message),
            message: format!("berth: {message}\n\nRun 'berth run --help' for more information"),
        }
        .into());
    }
    if let (true, Some((h, w))) = (tty_mode, tty::window_size()) {
        let _ = client.container_resize(&id, h, w);
    }
    let end = stdio::pump(
        conn,
        PumpOptions {
            tty: tty_mode,
            stdin,
            detach_keys: detach_bytes,
        },
    );
    drop(raw);
    if end? == StreamEnd::Detached {
        return Ok(0);
    }
    let status = wait.finish().map_err(|e| failed("run", e))?;
    if let Some(message) = status
        .error
        .and_then(|e| e.message)
        .filter(|m| !m.is_empty())
    {
        return Err(failed("run", message));
    }
    Ok(i32::try_from(status.status_code).unwrap_or(125))
}

/// Resizes the container's TTY on SIGWINCH and forwards signals when asked.
pub fn watch(client: &Client, id: &str, resize: bool, forward: bool) -> anyhow::Result<()> {
    let resize_fn: Option<ResizeFn> = resize.then(|| {
        let (client, id) = (client.clone(), id.to_owned());
        Box::new(move |h, w| {
            let _ = client.container_resize(&id, h, w);
        }) as ResizeFn
    });
    let forward_fn: Option<SignalFn> = forward.then(|| {
        let (client, id) = (client.clone(), id.to_owned());
        Box::new(move |signal: &str| {
            let _ = client.container_kill(&id, Some(signal));
        }) as SignalFn
    });
    stdio::watch_signals(resize_fn, forward_fn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_errors_map_to_docker_exit_codes() {
        assert_eq!(
            start_status("exec: \"nope\": executable file not found in $PATH"),
            127
        );
        assert_eq!(start_status("stat /x: no such file or directory"), 127);
        assert_eq!(start_status("exec /etc: permission denied"), 126);
        assert_eq!(start_status("cgroup setup failed"), 125);
    }

    #[test]
    fn only_missing_images_are_pulled() {
        assert!(is_missing_image("No such image: busybox:latest"));
        assert!(!is_missing_image("page not found: POST /containers/create"));
    }

    #[test]
    fn default_tags() {
        assert_eq!(with_tag("busybox"), "busybox:latest");
        assert_eq!(with_tag("busybox:1"), "busybox:1");
        assert_eq!(with_tag("localhost:5000/x"), "localhost:5000/x:latest");
    }
}
