//! `berth build [OPTIONS] PATH | -`: sends the context (a directory, tarred on the fly, or a tar
//! on stdin) to POST /build and prints the daemon's progress, as `docker build` does with the
//! classic builder. The daemon applies `.dockerignore`.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use berth_client::api::build::BuildQuery;
use clap::Args;

use super::transfer::display;
use crate::Ctx;

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Name and optionally a tag in the 'name:tag' format (repeatable).
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
    /// Name of the Dockerfile (default: 'PATH/Dockerfile').
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Set build-time variables (KEY=VALUE, or KEY to take the value from the environment).
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// Set the target build stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Do not use cache when building the image.
    #[arg(long)]
    pub no_cache: bool,
    /// Networking mode for the RUN instructions during build (default, host, none or a
    /// network name).
    #[arg(long)]
    pub network: Option<String>,
    /// Suppress the build output and print image ID on success.
    #[arg(short, long)]
    pub quiet: bool,
    /// The build context: a directory, or `-` for a tar archive on stdin.
    pub path: String,
}

pub fn build(ctx: &Ctx, args: BuildArgs) -> anyhow::Result<i32> {
    let build_args = args
        .build_args
        .iter()
        .filter_map(|raw| match raw.split_once('=') {
            Some((k, v)) => Some((k.to_owned(), v.to_owned())),
            // Docker: a bare KEY takes its value from the environment, or is skipped.
            None => std::env::var(raw).ok().map(|v| (raw.clone(), v)),
        })
        .collect();
    let mut query = BuildQuery {
        tags: args.tags,
        dockerfile: None,
        build_args,
        target: args.target,
        no_cache: args.no_cache,
        quiet: args.quiet,
        network: args.network,
    };
    let context: Box<dyn Read> = if args.path == "-" {
        Box::new(io::stdin())
    } else {
        let dir = PathBuf::from(&args.path);
        if !dir.is_dir() {
            anyhow::bail!("unable to prepare context: path {:?} not found", args.path);
        }
        query.dockerfile = Some(dockerfile_in_context(&dir, args.file.as_deref())?);
        tar_stream(dir)?
    };
    let client = ctx.client()?;
    let stream = client.image_build(context, &query)?;
    display(stream, &mut io::stdout().lock(), false, false)?;
    Ok(0)
}

/// The Dockerfile's path relative to the context (Docker requires it to be inside).
fn dockerfile_in_context(dir: &Path, file: Option<&Path>) -> anyhow::Result<String> {
    let Some(file) = file else {
        return Ok("Dockerfile".to_owned());
    };
    let abs_dir = dir.canonicalize()?;
    let abs_file = file
        .canonicalize()
        .map_err(|e| anyhow::anyhow!("unable to prepare context: {}: {e}", file.display()))?;
    match abs_file.strip_prefix(&abs_dir) {
        Ok(rel) => Ok(rel.to_string_lossy().into_owned()),
        Err(_) => anyhow::bail!(
            "the Dockerfile ({}) must be within the build context ({})",
            file.display(),
            dir.display()
        ),
    }
}

/// Tars `dir` on a thread into a pipe, so the upload starts at once and nothing is buffered.
fn tar_stream(dir: PathBuf) -> anyhow::Result<Box<dyn Read>> {
    let (reader, writer) = io::pipe()?;
    std::thread::spawn(move || {
        let mut builder = tar::Builder::new(writer);
        builder.follow_symlinks(false);
        if let Err(e) = builder
            .append_dir_all(".", &dir)
            .and_then(|()| builder.finish())
        {
            eprintln!("sending the build context: {e}");
        }
    });
    Ok(Box::new(reader))
}
