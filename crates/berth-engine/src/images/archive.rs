//! `docker load`, `docker save` and `docker import`: archives streamed in and out of the store.

use std::io::{Read, Write};

use berth_store::archive::ArchiveFormat;
use berth_store::images::ImageRecord;

use super::{ImageError, parse_reference, publish, resolve};
use crate::Engine;

/// Loads a docker-save or OCI archive; returns Docker's report lines
/// (`Loaded image: busybox:latest`, or `Loaded image ID: sha256:…` for an untagged image).
pub fn load(engine: &Engine, archive: impl Read) -> Result<Vec<String>, ImageError> {
    let records = engine.store.load_archive(archive)?;
    let mut lines = Vec::new();
    for record in &records {
        let id = record.id.to_string();
        publish(engine, "load", &id, &id);
        lines.extend(report_lines(record));
    }
    Ok(lines)
}

fn report_lines(record: &ImageRecord) -> Vec<String> {
    if record.repo_tags.is_empty() {
        return vec![format!("Loaded image ID: {}", record.id)];
    }
    record
        .repo_tags
        .iter()
        .map(|t| format!("Loaded image: {}", t.familiar_string()))
        .collect()
}

/// Writes the named images as a `docker save` archive to `out`. Names are checked before the
/// first byte is written, so an unknown name fails cleanly.
pub fn save<W: Write>(engine: &Engine, names: &[String], out: W) -> Result<W, ImageError> {
    let mut ids = Vec::new();
    for name in names {
        ids.push(resolve(engine, name)?.id.to_string());
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = engine
        .store
        .save_archive(&refs, ArchiveFormat::Docker, out)?;
    for id in ids {
        publish(engine, "save", &id, &id);
    }
    Ok(out)
}

/// Checks the names of a save before the response starts.
pub fn check_save(engine: &Engine, names: &[String]) -> Result<(), ImageError> {
    for name in names {
        resolve(engine, name)?;
    }
    Ok(())
}

/// `docker import`: a rootfs tar becomes a one-layer image tagged `repo[:tag]` if given, its
/// config set by `changes` (Dockerfile instructions), `message` its history comment. Returns
/// the new image's ID.
pub fn import(
    engine: &Engine,
    rootfs: impl Read,
    repo: &str,
    tag: &str,
    changes: &[String],
    message: &str,
) -> Result<String, ImageError> {
    import_from(engine, rootfs, "-", repo, tag, changes, message)
}

/// `import` of a rootfs that came from `source` (`-` for the request body, or the URL): the
/// history comment says so unless `message` is given, as Docker's `Imported from …`.
pub fn import_from(
    engine: &Engine,
    rootfs: impl Read,
    source: &str,
    repo: &str,
    tag: &str,
    changes: &[String],
    message: &str,
) -> Result<String, ImageError> {
    let config = super::changes::apply_changes(changes)?;
    let name = match (repo, tag) {
        ("", _) => None,
        (repo, "") => Some(parse_reference(repo)?.to_string()),
        (repo, tag) => Some(parse_reference(&format!("{repo}:{tag}"))?.to_string()),
    };
    let comment = if message.is_empty() {
        format!("Imported from {source}")
    } else {
        message.to_string()
    };
    let record = engine
        .store
        .import_rootfs_with(rootfs, name.as_deref(), config, &comment)?;
    let id = record.id.to_string();
    publish(engine, "import", &id, &id);
    Ok(id)
}
