//! `cp` (both ways, tar through /containers/{id}/archive), `export`, `diff`, `top`.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use berth_client::Body;

use crate::Ctx;
use crate::cli::CpArgs;
use crate::format::table::align_with;

/// `container:path` → (container, path); a local path otherwise.
fn split_container_path(arg: &str) -> Option<(&str, &str)> {
    // A local path that contains a colon must be written with a slash first (./a:b).
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    arg.split_once(':').filter(|(c, _)| !c.is_empty())
}

pub fn cp(ctx: &Ctx, args: CpArgs) -> anyhow::Result<i32> {
    match (
        split_container_path(&args.source),
        split_container_path(&args.destination),
    ) {
        (Some((container, src)), None) => copy_from(ctx, container, src, &args.destination),
        (None, Some((container, dest))) => copy_to(ctx, &args.source, container, dest),
        (Some(_), Some(_)) => anyhow::bail!("copying between containers is not supported"),
        (None, None) => anyhow::bail!("must specify at least one container source"),
    }
}

fn copy_from(ctx: &Ctx, container: &str, src: &str, dest: &str) -> anyhow::Result<i32> {
    let (_stat, mut tar) = ctx.client()?.container_archive_get(container, src)?;
    if dest == "-" {
        io::copy(&mut tar, &mut io::stdout().lock())?;
        return Ok(0);
    }
    let dest = Path::new(dest);
    let src_base = Path::new(src.trim_end_matches('/'))
        .file_name()
        .map(|n| n.to_owned())
        .unwrap_or_else(|| "/".into());
    // Into an existing directory the copy keeps its name; otherwise it takes dest's name.
    let (root, rename_to) = if dest.is_dir() {
        (dest.to_owned(), None)
    } else {
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            anyhow::bail!("destination directory {} does not exist", parent.display());
        }
        let name = dest
            .file_name()
            .ok_or_else(|| anyhow::anyhow!("bad destination {}", dest.display()))?;
        (parent.to_owned(), Some(name.to_owned()))
    };
    let mut archive = tar::Archive::new(tar);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let Some(relative) = safe_relative(&path) else {
            continue;
        };
        let target = match &rename_to {
            Some(name) => {
                let mut parts = relative.components();
                let first = parts.next();
                if first.map(|c| c.as_os_str()) != Some(src_base.as_os_str()) {
                    continue;
                }
                let rest = parts.as_path();
                if rest.as_os_str().is_empty() {
                    root.join(name)
                } else {
                    root.join(name).join(rest)
                }
            }
            None => root.join(&relative),
        };
        entry.unpack(&target)?;
    }
    Ok(0)
}

/// Drops absolute prefixes and refuses `..`, so an archive cannot write outside the target.
fn safe_relative(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

fn copy_to(ctx: &Ctx, src: &str, container: &str, dest: &str) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let src_path = Path::new(src);
    let meta = std::fs::symlink_metadata(src_path)
        .map_err(|e| anyhow::anyhow!("could not stat {src}: {e}"))?;
    let dest_stat = client.container_stat_path(container, dest)?;
    let dest_is_dir = dest_stat
        .as_ref()
        .and_then(|s| s["mode"].as_u64())
        .is_some_and(|mode| mode & (1 << 31) != 0);
    // Into an existing directory: keep the source's name. Otherwise: named as dest, in its parent.
    let (extract_dir, name) = if dest_is_dir || dest.ends_with('/') {
        let name = src_path
            .file_name()
            .ok_or_else(|| anyhow::anyhow!("bad source {src}"))?
            .to_owned();
        (dest.to_owned(), name)
    } else {
        let d = Path::new(dest);
        let parent = d.parent().map(|p| p.to_string_lossy().into_owned());
        let parent = parent
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".to_owned());
        let name = d
            .file_name()
            .ok_or_else(|| anyhow::anyhow!("bad destination {dest}"))?
            .to_owned();
        (parent, name)
    };
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    if meta.is_dir() {
        builder.append_dir_all(&name, src_path)?;
    } else {
        builder.append_path_with_name(src_path, &name)?;
    }
    let tar = builder.into_inner()?;
    client.container_archive_put(
        container,
        &extract_dir,
        Body::Bytes(tar, "application/x-tar"),
    )?;
    Ok(0)
}

pub fn export(ctx: &Ctx, container: &str, output: Option<&Path>) -> anyhow::Result<i32> {
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(File::create(path)?),
        None => {
            if rustix::termios::isatty(io::stdout()) {
                anyhow::bail!(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                );
            }
            Box::new(io::stdout().lock())
        }
    };
    let mut stream = ctx.client()?.container_export(container)?;
    io::copy(&mut stream, &mut out)?;
    out.flush()?;
    Ok(0)
}

pub fn diff(ctx: &Ctx, container: &str) -> anyhow::Result<i32> {
    let changes = ctx
        .client()?
        .container_changes(container)?
        .unwrap_or_default();
    for change in changes {
        let kind = match change["Kind"].as_u64() {
            Some(0) => "C",
            Some(1) => "A",
            Some(2) => "D",
            _ => "?",
        };
        println!("{kind} {}", change["Path"].as_str().unwrap_or_default());
    }
    Ok(0)
}

pub fn top(ctx: &Ctx, container: &str, ps_args: &[String]) -> anyhow::Result<i32> {
    let ps_args = (!ps_args.is_empty()).then(|| ps_args.join(" "));
    let top = ctx.client()?.container_top(container, ps_args.as_deref())?;
    let mut text = String::new();
    let row = |cells: Vec<&str>| cells.join("\t") + "\n";
    let titles: Vec<&str> = top["Titles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str())
        .collect();
    text.push_str(&row(titles));
    for process in top["Processes"].as_array().into_iter().flatten() {
        let cells: Vec<&str> = process
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str())
            .collect();
        text.push_str(&row(cells));
    }
    // docker top uses a 20-column minimum width.
    print!("{}", align_with(&text, 20, 3));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_paths() {
        assert_eq!(
            split_container_path("web:/etc/hosts"),
            Some(("web", "/etc/hosts"))
        );
        assert_eq!(split_container_path("/tmp/a:b"), None);
        assert_eq!(split_container_path("./a:b"), None);
        assert_eq!(split_container_path("file"), None);
    }

    #[test]
    fn archive_paths_stay_inside() {
        assert_eq!(safe_relative(Path::new("/a/b")), Some(PathBuf::from("a/b")));
        assert_eq!(safe_relative(Path::new("a/../../x")), None);
        assert_eq!(safe_relative(Path::new("./")), None);
    }
}
