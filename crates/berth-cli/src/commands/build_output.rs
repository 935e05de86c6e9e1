//! `berth build -o`: the final stage's filesystem to a directory (`type=local`) or a tar
//! (`type=tar`, `-` for stdout), as BuildKit's exporters write it.
//!
//! Done client-side over existing endpoints: the daemon builds the image as usual, then a
//! never-started container of it is exported (`GET /containers/{id}/export` flattens the
//! layers, whiteouts applied) and removed. No API extension is needed, and it works against
//! any Docker-compatible daemon.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use berth_client::Client;
use berth_client::models::ContainerCreateBody;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Local(PathBuf),
    /// `None`: stdout.
    Tar(Option<PathBuf>),
}

impl Output {
    /// Docker's forms: `type=local,dest=DIR`, `type=tar[,dest=FILE|-]`, `DIR`, `-`.
    pub fn parse(spec: &str) -> anyhow::Result<Output> {
        if spec == "-" {
            return Ok(Output::Tar(None));
        }
        if !spec.contains('=') {
            return Ok(Output::Local(PathBuf::from(spec)));
        }
        let mut kind = None;
        let mut dest = None;
        for field in spec.split(',') {
            match field.split_once('=') {
                Some(("type", v)) => kind = Some(v),
                Some(("dest", v)) => dest = Some(v),
                _ => anyhow::bail!("invalid output {spec:?}: unknown field {field:?}"),
            }
        }
        match (kind, dest) {
            (Some("local"), Some(dest)) if !dest.is_empty() && dest != "-" => {
                Ok(Output::Local(PathBuf::from(dest)))
            }
            (Some("local"), _) => {
                anyhow::bail!("invalid output {spec:?}: type=local needs dest=DIR")
            }
            (Some("tar"), None | Some("-")) => Ok(Output::Tar(None)),
            (Some("tar"), Some(dest)) => Ok(Output::Tar(Some(PathBuf::from(dest)))),
            (Some(other), _) => {
                anyhow::bail!(
                    "invalid output {spec:?}: type {other:?} is not supported (local, tar)"
                )
            }
            (None, _) => anyhow::bail!("invalid output {spec:?}: type= is required"),
        }
    }

    pub fn to_stdout(&self) -> bool {
        *self == Output::Tar(None)
    }
}

/// Removes the export container however the export ends.
struct Scratch<'c> {
    client: &'c Client,
    id: String,
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.client.container_remove(&self.id, true, false) {
            eprintln!("removing the export container {}: {e}", self.id);
        }
    }
}

/// Writes `image`'s flattened filesystem to `output`.
pub fn export(client: &Client, image: &str, output: &Output) -> anyhow::Result<()> {
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        // Never started: a command only so images without CMD can be created.
        cmd: Some(vec!["/berth-build-export".to_owned()]),
        ..ContainerCreateBody::default()
    };
    let created = client.container_create(None, &body)?;
    let scratch = Scratch {
        client,
        id: created.id,
    };
    let mut tar = client.container_export(&scratch.id)?;
    match output {
        Output::Tar(None) => copy_all(&mut tar, &mut io::stdout().lock())?,
        Output::Tar(Some(path)) => {
            let mut file = std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))?;
            copy_all(&mut tar, &mut file)?;
        }
        Output::Local(dir) => unpack(tar, dir)?,
    }
    drop(scratch);
    Ok(())
}

fn copy_all(from: &mut impl Read, to: &mut impl Write) -> anyhow::Result<()> {
    io::copy(from, to)?;
    to.flush()?;
    Ok(())
}

/// Unpacks into `dir` (created if needed); entries leaving it are refused.
fn unpack(tar: impl Read, dir: &PathBuf) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    let mut archive = tar::Archive::new(tar);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_overwrite(true);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.display().to_string();
        if !entry
            .unpack_in(dir)
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?
        {
            anyhow::bail!("{name}: the path leaves {}", dir.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_specs_parse_like_docker() {
        let local = |p: &str| Output::Local(PathBuf::from(p));
        assert_eq!(Output::parse("type=local,dest=out").unwrap(), local("out"));
        assert_eq!(Output::parse("dest=out,type=local").unwrap(), local("out"));
        assert_eq!(Output::parse("out").unwrap(), local("out"));
        assert_eq!(Output::parse("-").unwrap(), Output::Tar(None));
        assert_eq!(Output::parse("type=tar").unwrap(), Output::Tar(None));
        assert_eq!(
            Output::parse("type=tar,dest=a.tar").unwrap(),
            Output::Tar(Some(PathBuf::from("a.tar")))
        );
        assert!(Output::parse("type=local").is_err());
        assert!(Output::parse("type=registry,dest=x").is_err());
        assert!(Output::parse("type=tar,foo=1").is_err());
    }
}
