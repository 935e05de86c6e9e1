//! pull, push, load, save, import: the daemon's JSON progress streams, shown as docker shows
//! them when its output is not a terminal (one line per message, progress bars left out).

use std::fs::File;
use std::io::{self, Read, Write};

use berth_client::Client;
use berth_client::api::json_stream;
use serde_json::Value;

use crate::cli::{ImportArgs, LoadArgs, PullArgs, PushArgs, SaveArgs, SaveFormat};
use crate::config::registry_auth_header;
use crate::{Ctx, StatusError};

/// An `{"error": ...}` inside a progress stream.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StreamError {
    pub message: String,
}

/// Renders a progress stream to `out`; fails on the first error message. On a terminal each
/// layer keeps one line, redrawn in place (docker's jsonmessage display).
pub fn display(
    reader: impl Read,
    out: &mut impl Write,
    quiet: bool,
    terminal: bool,
) -> anyhow::Result<()> {
    if terminal && !quiet {
        return display_terminal(reader, out);
    }
    for message in json_stream(reader) {
        let message = message?;
        if let Some(error) = stream_error(&message) {
            return Err(error.into());
        }
        if quiet {
            continue;
        }
        if let Some(line) = render(&message) {
            out.write_all(line.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

fn stream_error(message: &Value) -> Option<StreamError> {
    message["errorDetail"]["message"]
        .as_str()
        .or(message["error"].as_str())
        .map(|m| StreamError {
            message: m.to_owned(),
        })
}

fn display_terminal(reader: impl Read, out: &mut impl Write) -> anyhow::Result<()> {
    // Line of each layer ID, counted from the first progress line.
    let mut lines: Vec<String> = Vec::new();
    for message in json_stream(reader) {
        let message = message?;
        if let Some(error) = stream_error(&message) {
            return Err(error.into());
        }
        let id = message["id"].as_str().filter(|i| !i.is_empty());
        let has_progress = message.get("progressDetail").is_some();
        let mut up = 0;
        match id {
            Some(id) if has_progress => {
                let line = match lines.iter().position(|l| l == id) {
                    Some(line) => line,
                    None => {
                        lines.push(id.to_owned());
                        out.write_all(b"\n")?;
                        lines.len() - 1
                    }
                };
                up = lines.len() - line;
                write!(out, "\x1b[{up}A")?;
            }
            // Anything else ends the block of lines being redrawn.
            _ => lines.clear(),
        }
        let mut text = String::new();
        if has_progress && message.get("stream").is_none() {
            text.push_str("\x1b[2K\r");
        }
        if let Some(stream) = message["stream"].as_str() {
            text.push_str(stream);
        } else if let Some(status) = message["status"].as_str() {
            if let Some(id) = id {
                text.push_str(id);
                text.push_str(": ");
            }
            text.push_str(status);
            if has_progress {
                if let Some(progress) = message["progress"].as_str().filter(|p| !p.is_empty()) {
                    text.push(' ');
                    text.push_str(progress);
                }
                text.push('\r');
            } else {
                text.push('\n');
            }
        }
        out.write_all(text.as_bytes())?;
        if up > 0 {
            write!(out, "\x1b[{up}B")?;
        }
        out.flush()?;
    }
    Ok(())
}

/// docker's jsonmessage.Display for a non-terminal.
pub fn render(m: &Value) -> Option<String> {
    let has_progress = m["progressDetail"]
        .as_object()
        .is_some_and(|p| p.get("total").is_some() || p.get("current").is_some());
    if has_progress {
        return None;
    }
    if let Some(stream) = m["stream"].as_str() {
        return Some(stream.to_owned());
    }
    let status = m["status"].as_str()?;
    let mut line = String::new();
    if let Some(id) = m["id"].as_str().filter(|i| !i.is_empty()) {
        line.push_str(id);
        line.push_str(": ");
    }
    line.push_str(status);
    if let Some(progress) = m["progress"].as_str().filter(|p| !p.is_empty()) {
        // Only deprecated messages carry a progress string without details.
        line.push(' ');
        line.push_str(progress);
    }
    line.push('\n');
    Some(line)
}

fn stdout_is_tty() -> bool {
    rustix::termios::isatty(io::stdout())
}

/// Pulls `reference` with the stored credentials; progress to stderr when `to_stderr`.
pub fn pull_with_progress(
    ctx: &Ctx,
    client: &Client,
    reference: &str,
    quiet: bool,
    to_stderr: bool,
) -> anyhow::Result<()> {
    pull_platform_with_progress(ctx, client, reference, None, quiet, to_stderr)
}

/// As [`pull_with_progress`], choosing `platform` from an image index.
pub fn pull_platform_with_progress(
    ctx: &Ctx,
    client: &Client,
    reference: &str,
    platform: Option<&str>,
    quiet: bool,
    to_stderr: bool,
) -> anyhow::Result<()> {
    let mut client = client.clone();
    client.set_registry_auth(registry_auth_header(&ctx.config_dir(), reference));
    let stream = client.image_pull_for(reference, platform)?;
    if to_stderr {
        let terminal = rustix::termios::isatty(io::stderr());
        display(stream, &mut io::stderr().lock(), quiet, terminal)
    } else {
        let terminal = rustix::termios::isatty(io::stdout());
        display(stream, &mut io::stdout().lock(), quiet, terminal)
    }
}

pub fn pull(ctx: &Ctx, args: PullArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    if args.all_tags {
        return pull_all_tags(ctx, client, &args);
    }
    if !args.quiet
        && berth_client::api::images::split_reference(&args.name)
            .1
            .is_none()
    {
        println!("Using default tag: latest");
    }
    let platform = args.platform.as_deref();
    pull_platform_with_progress(ctx, client, &args.name, platform, args.quiet, false)?;
    println!("{}", canonical(&args.name));
    Ok(0)
}

/// `pull -a`: every tag of a repository; a name with a tag or digest is refused, as by docker.
fn pull_all_tags(ctx: &Ctx, client: &Client, args: &PullArgs) -> anyhow::Result<i32> {
    let (name, tag) = berth_client::api::images::split_reference(&args.name);
    if tag.is_some() {
        anyhow::bail!("tag can't be used with --all-tags/-a");
    }
    let mut client = client.clone();
    client.set_registry_auth(registry_auth_header(&ctx.config_dir(), name));
    let stream = client.image_pull_all_tags(name, args.platform.as_deref())?;
    let terminal = rustix::termios::isatty(io::stdout());
    display(stream, &mut io::stdout().lock(), args.quiet, terminal)?;
    // docker prints the repository without a tag after `pull -a`.
    let full = canonical(name);
    println!("{}", full.strip_suffix(":latest").unwrap_or(&full));
    Ok(0)
}

/// The fully qualified name docker prints after a pull (`docker.io/library/x:latest`).
pub fn canonical(reference: &str) -> String {
    let (name, tag) = berth_client::api::images::split_reference(reference);
    let first = name.split('/').next().unwrap_or(name);
    let has_registry = name.contains('/') && (first.contains(['.', ':']) || first == "localhost");
    let name = if has_registry {
        name.to_owned()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    match tag {
        Some(t) if t.contains(':') => format!("{name}@{t}"),
        Some(t) => format!("{name}:{t}"),
        None => format!("{name}:latest"),
    }
}

/// `push [-a] [-q] NAME`: without `-a` a bare name means `NAME:latest` (said, unless `-q`), as
/// the docker CLI does; with it, every local tag of the repository (the daemon's empty tag).
pub fn push(ctx: &Ctx, args: PushArgs) -> anyhow::Result<i32> {
    let (name, tag) = berth_client::api::images::split_reference(&args.name);
    let target = match (args.all_tags, tag) {
        (true, Some(_)) => anyhow::bail!("tag can't be used with --all-tags/-a"),
        (true, None) => name.to_owned(),
        (false, Some(_)) => args.name.clone(),
        (false, None) => {
            if !args.quiet {
                println!("Using default tag: latest");
            }
            format!("{name}:latest")
        }
    };
    let mut client = ctx.client()?.clone();
    client.set_registry_auth(registry_auth_header(&ctx.config_dir(), &target));
    let stream = client.image_push(&target)?;
    display(
        stream,
        &mut io::stdout().lock(),
        args.quiet,
        stdout_is_tty(),
    )?;
    if args.quiet {
        println!("{}", canonical(&target));
    }
    Ok(0)
}

pub fn load(ctx: &Ctx, args: LoadArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let input: Box<dyn Read> = match &args.input {
        Some(path) => {
            Box::new(File::open(path).map_err(|e| anyhow::anyhow!("open {}: {e}", path.display()))?)
        }
        None => {
            if crate::tty::stdin_is_tty() {
                return Err(StatusError {
                    message: "requested load from stdin, but stdin is empty".to_owned(),
                    code: 1,
                }
                .into());
            }
            Box::new(io::stdin())
        }
    };
    let stream = client.image_load(input, args.quiet)?;
    display(stream, &mut io::stdout().lock(), false, stdout_is_tty())?;
    Ok(0)
}

pub fn save(ctx: &Ctx, args: SaveArgs) -> anyhow::Result<i32> {
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).map_err(|e| anyhow::anyhow!("create {}: {e}", path.display()))?,
        ),
        None => {
            if rustix::termios::isatty(io::stdout()) {
                return Err(StatusError {
                    message: "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                        .to_owned(),
                    code: 1,
                }
                .into());
            }
            Box::new(io::stdout().lock())
        }
    };
    let mut stream = ctx.client()?.image_save(&args.images)?;
    match args.format {
        SaveFormat::DockerArchive => {
            io::copy(&mut stream, &mut out)?;
        }
        SaveFormat::OciArchive => oci_only(stream, &mut out)?,
    }
    out.flush()?;
    Ok(0)
}

/// The daemon's archive (Docker 25's: an OCI layout plus `manifest.json` and `repositories`)
/// without the docker-archive files: an OCI layout alone, as `podman save --format
/// oci-archive`. Every other entry, blobs included, is copied byte for byte.
fn oci_only(archive: impl Read, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut input = tar::Archive::new(archive);
    let mut output = tar::Builder::new(out);
    for entry in input.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        if DOCKER_ARCHIVE_ONLY.iter().any(|f| path.as_os_str() == *f) {
            continue;
        }
        let mut header = entry.header().clone();
        output.append_data(&mut header, &path, &mut entry)?;
    }
    output.finish()?;
    Ok(())
}

/// Files of a docker-archive that an OCI layout does not have.
const DOCKER_ARCHIVE_ONLY: [&str; 2] = ["manifest.json", "repositories"];

pub fn import(ctx: &Ctx, args: ImportArgs) -> anyhow::Result<i32> {
    let input: Box<dyn Read> = if args.file == "-" {
        Box::new(io::stdin())
    } else if args.file.contains("://") {
        anyhow::bail!("importing from a URL is not supported; download it and import the file")
    } else {
        Box::new(File::open(&args.file).map_err(|e| anyhow::anyhow!("open {}: {e}", args.file))?)
    };
    let stream = ctx.client()?.image_import(
        input,
        args.reference.as_deref(),
        &args.change,
        args.message.as_deref(),
    )?;
    display(stream, &mut io::stdout().lock(), false, stdout_is_tty())?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_like_jsonmessage() {
        assert_eq!(
            render(&json!({"status": "Pulling from library/busybox", "id": "latest"})).unwrap(),
            "latest: Pulling from library/busybox\n"
        );
        assert_eq!(
            render(
                &json!({"status": "Downloading", "progressDetail": {"current": 1, "total": 2}, "id": "x"})
            ),
            None
        );
        assert_eq!(
            render(&json!({"stream": "Loaded image: busybox:1.35\n"})).unwrap(),
            "Loaded image: busybox:1.35\n"
        );
        assert_eq!(render(&json!({"aux": {"ID": "x"}})), None);
    }

    #[test]
    fn stream_errors_fail() {
        let wire = br#"{"status":"a"}{"errorDetail":{"message":"denied"},"error":"denied"}"#;
        let mut out = Vec::new();
        let err = display(&wire[..], &mut out, false, false).unwrap_err();
        assert_eq!(err.to_string(), "denied");
        assert_eq!(out, b"a\n");
    }

    #[test]
    fn terminal_progress_redraws_each_layer_in_place() {
        let wire = br#"{"status":"Pulling from library/busybox","id":"latest"}
{"status":"Pulling fs layer","progressDetail":{},"id":"aaa"}
{"status":"Pulling fs layer","progressDetail":{},"id":"bbb"}
{"status":"Downloading","progressDetail":{"current":1,"total":2},"progress":"[==> ] 1B/2B","id":"aaa"}
{"status":"Digest: sha256:x"}"#;
        let mut out = Vec::new();
        display(&wire[..], &mut out, false, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "latest: Pulling from library/busybox\n\
             \n\x1b[1A\x1b[2K\raaa: Pulling fs layer\r\x1b[1B\
             \n\x1b[1A\x1b[2K\rbbb: Pulling fs layer\r\x1b[1B\
             \x1b[2A\x1b[2K\raaa: Downloading [==> ] 1B/2B\r\x1b[2B\
             Digest: sha256:x\n"
        );
    }

    #[test]
    fn canonical_names() {
        assert_eq!(canonical("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(canonical("u/app:1"), "docker.io/u/app:1");
        assert_eq!(canonical("localhost:5000/x:2"), "localhost:5000/x:2");
    }
}
