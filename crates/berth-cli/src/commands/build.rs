//! `berth build [OPTIONS] PATH | -`: sends the context (a directory, tarred on the fly, or a tar
//! or lone Dockerfile on stdin) to POST /build and prints the daemon's progress, as `docker
//! build` does with the classic builder. The daemon applies `.dockerignore`.

#[path = "build_auth.rs"]
mod auth;
#[path = "build_context.rs"]
mod context;
#[path = "build_named.rs"]
mod named;
#[path = "build_output.rs"]
mod output;
#[path = "build_progress/mod.rs"]
pub mod progress;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use berth_client::api::build::BuildQuery;
use berth_client::api::json_stream;
use clap::Args;

use super::transfer::render;
use crate::Ctx;
use context::{ExtraDockerfile, Stdin};
use output::Output;

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Name and optionally a tag in the 'name:tag' format (repeatable).
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
    /// Name of the Dockerfile (default: 'PATH/Dockerfile'); `-` reads it from stdin.
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Set build-time variables (KEY=VALUE, or KEY to take the value from the environment).
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// Set metadata for an image (KEY=VALUE, repeatable).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Set the target build stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Do not use cache when building the image.
    #[arg(long)]
    pub no_cache: bool,
    /// Do not cache the specified stages (names or indexes, repeatable or comma-separated).
    #[arg(long = "no-cache-filter", value_delimiter = ',')]
    pub no_cache_filter: Vec<String>,
    /// Always attempt to pull a newer version of the base images.
    #[arg(long)]
    pub pull: bool,
    /// Additional build contexts (NAME=DIR or NAME=docker-image://REF, repeatable).
    #[arg(long = "build-context", value_name = "NAME=VALUE")]
    pub build_contexts: Vec<String>,
    /// Compression of the layers the build makes (default gzip).
    #[arg(long, value_parser = ["gzip", "zstd"])]
    pub compression: Option<String>,
    /// Write the image ID to the file.
    #[arg(long)]
    pub iidfile: Option<PathBuf>,
    /// Output destination: `type=local,dest=DIR`, `type=tar,dest=FILE`, `DIR` or `-`.
    #[arg(short = 'o', long = "output")]
    pub output: Option<String>,
    /// Networking mode for the RUN instructions during build (default, host, none or a
    /// network name).
    #[arg(long)]
    pub network: Option<String>,
    /// Suppress the build output and print image ID on success.
    #[arg(short, long)]
    pub quiet: bool,
    /// Type of progress output: auto, tty, plain, quiet, rawjson, or classic (the classic
    /// builder's step lines on stdout). Default: $BUILDKIT_PROGRESS, else auto.
    #[arg(long, value_parser = progress::Mode::parse)]
    pub progress: Option<progress::Mode>,
    /// The build context: a directory, or `-` for a tar archive (or a Dockerfile) on stdin.
    pub path: String,
}

pub fn build(ctx: &Ctx, args: BuildArgs) -> anyhow::Result<i32> {
    let output = args.output.as_deref().map(Output::parse).transpose()?;
    let progress = progress::Mode::choose(args.progress, args.quiet)?;
    let build_args = args
        .build_args
        .iter()
        .filter_map(|raw| match raw.split_once('=') {
            Some((k, v)) => Some((k.to_owned(), v.to_owned())),
            // Docker: a bare KEY takes its value from the environment, or is skipped.
            None => std::env::var(raw).ok().map(|v| (raw.clone(), v)),
        })
        .collect();
    let labels = args
        .labels
        .iter()
        .map(|raw| match raw.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (raw.clone(), String::new()),
        })
        .collect();
    if let Some(iidfile) = &args.iidfile {
        // Docker removes a stale ID first, so a failed build never leaves the old one.
        match std::fs::remove_file(iidfile) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                anyhow::bail!("removing the iidfile {}: {e}", iidfile.display())
            }
            _ => {}
        }
    }
    let named = named::parse(&args.build_contexts)?;
    let mut query = BuildQuery {
        tags: args.tags,
        dockerfile: None,
        build_args,
        target: args.target,
        no_cache: args.no_cache,
        quiet: progress == progress::Mode::Quiet,
        network: args.network,
        labels,
        pull: args.pull,
        no_cache_filter: args.no_cache_filter,
        registry_config: auth::registry_config(&ctx.config_dir())?,
        compression: args.compression,
        progress: progress.wants_events(),
        build_contexts: named.query,
    };
    let (context, dockerfile) = prepare_context(&args.path, args.file.as_deref(), named.dirs)?;
    query.dockerfile = dockerfile;
    let client = ctx.client()?;
    let stream = client.image_build(context, &query)?;
    // A tar on stdout keeps stdout for itself: progress goes to stderr.
    let id = if progress.wants_events() {
        progress::follow(stream, progress)?
    } else if output.as_ref().is_some_and(Output::to_stdout) {
        follow(stream, &mut io::stderr().lock())?
    } else {
        follow(stream, &mut io::stdout().lock())?
    };
    let id = id.ok_or_else(|| anyhow::anyhow!("the daemon did not report the image ID"))?;
    if let Some(iidfile) = &args.iidfile {
        std::fs::write(iidfile, &id)
            .map_err(|e| anyhow::anyhow!("writing the iidfile {}: {e}", iidfile.display()))?;
    }
    if let Some(output) = &output {
        output::export(client, &id, output)?;
    }
    Ok(0)
}

/// The context stream and the Dockerfile's name in it (`None`: the daemon's default).
fn prepare_context(
    path: &str,
    file: Option<&Path>,
    bundled: Vec<(String, PathBuf)>,
) -> anyhow::Result<(Box<dyn Read>, Option<String>)> {
    let from_stdin = file.is_some_and(|f| f == Path::new("-"));
    if path == "-" && !bundled.is_empty() {
        anyhow::bail!("--build-context with a directory needs a directory build context, not -");
    }
    if path == "-" {
        if from_stdin {
            anyhow::bail!(
                "invalid argument: can't use stdin for both build context and dockerfile"
            );
        }
        return Ok(match context::classify(io::stdin())? {
            Stdin::Archive(tar) => (tar, file.map(|f| f.to_string_lossy().into_owned())),
            Stdin::Dockerfile(text) => (context::dockerfile_only(&text)?, None),
        });
    }
    let dir = PathBuf::from(path);
    if !dir.is_dir() {
        anyhow::bail!("unable to prepare context: path {path:?} not found");
    }
    let inside = match file {
        None => {
            let tar = context::tar_dir(dir, None, bundled)?;
            return Ok((tar, Some("Dockerfile".to_owned())));
        }
        Some(_) if from_stdin => None,
        Some(file) => context::relative_to(&dir, file)?,
    };
    if let Some(rel) = inside {
        return Ok((context::tar_dir(dir, None, bundled)?, Some(rel)));
    }
    // Outside the context, or stdin: sent inside the tar under a generated name.
    let content = match file {
        Some(file) if !from_stdin => std::fs::read(file)
            .map_err(|e| anyhow::anyhow!("unable to prepare context: {}: {e}", file.display()))?,
        _ => {
            let mut text = Vec::new();
            io::stdin().read_to_end(&mut text)?;
            text
        }
    };
    let extra = ExtraDockerfile::new(content);
    let name = extra.name.clone();
    Ok((context::tar_dir(dir, Some(extra), bundled)?, Some(name)))
}

/// Prints the progress stream; returns the image ID the daemon reported.
fn follow(stream: impl Read, out: &mut impl Write) -> anyhow::Result<Option<String>> {
    let mut id = None;
    for message in json_stream(stream) {
        let message = message?;
        if let Some(error) = message["errorDetail"]["message"]
            .as_str()
            .or(message["error"].as_str())
        {
            anyhow::bail!("{error}");
        }
        if let Some(found) = message["aux"]["ID"].as_str() {
            id = Some(found.to_owned());
        }
        if let Some(line) = render(&message) {
            out.write_all(line.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(id)
}
