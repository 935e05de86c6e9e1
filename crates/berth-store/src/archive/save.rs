//! Writes images as a `docker save` archive or an OCI archive. Both carry an OCI layout
//! (oci-layout, index.json, blobs/); the docker format adds manifest.json and repositories the
//! way Docker 25+ does, so `docker load` and OCI tools both read it. Blobs are copied as stored
//! (no recompression), so saving streams and costs no extra CPU.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use berth_oci::{Digest, media_type};
use serde_json::json;

use super::ArchiveError;
use crate::content::ContentStore;
use crate::images::ImageRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchiveFormat {
    /// `docker save` layout (default, as Docker).
    #[default]
    Docker,
    /// OCI image layout in a tar.
    Oci,
}

/// Writes `images` to `out`.
pub fn save_archive<W: Write>(
    images: &[ImageRecord],
    format: ArchiveFormat,
    content: &ContentStore,
    out: W,
) -> Result<W, ArchiveError> {
    let write_err = |source: io::Error| ArchiveError::Write { source };
    let mut builder = tar::Builder::new(out);
    let mut written: BTreeSet<Digest> = BTreeSet::new();
    let mut index_entries = Vec::new();
    let mut docker_entries = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    append_dir(&mut builder, "blobs/").map_err(write_err)?;
    append_dir(&mut builder, "blobs/sha256/").map_err(write_err)?;
    for image in images {
        for digest in image.blobs() {
            if written.insert(digest.clone()) {
                append_blob(&mut builder, content, digest)?;
            }
        }
        let manifest_size =
            content
                .size(&image.manifest)
                .map_err(|source| ArchiveError::Content {
                    entry: image.manifest.to_string(),
                    source,
                })?;
        // As Docker 25: the full name for containerd, the tag alone as the OCI ref name (what
        // `skopeo … oci-archive:x.tar:1.35` and `umoci --image dir:1.35` select by).
        let descriptor = |tag: Option<&berth_oci::Reference>| {
            let mut d = json!({"mediaType": image.manifest_media_type, "digest": image.manifest, "size": manifest_size});
            if let Some(tag) = tag {
                let full = tag.to_string();
                let ref_name = tag.tag().map_or_else(|| full.clone(), str::to_owned);
                d["annotations"] = json!({"io.containerd.image.name": full, "org.opencontainers.image.ref.name": ref_name});
            }
            d
        };
        if image.repo_tags.is_empty() {
            index_entries.push(descriptor(None));
        }
        for tag in &image.repo_tags {
            index_entries.push(descriptor(Some(tag)));
            if let Some(t) = tag.tag() {
                repositories
                    .entry(tag.familiar_name())
                    .or_default()
                    .insert(t.to_owned(), image.id.hex().to_owned());
            }
        }
        docker_entries.push(json!({
            "Config": blob_path(&image.id),
            "RepoTags": image.repo_tags.iter().map(|t| t.familiar_string()).collect::<Vec<_>>(),
            "Layers": image.layers.iter().map(|l| blob_path(&l.digest)).collect::<Vec<_>>(),
        }));
    }
    let index =
        json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": index_entries});
    append_file(&mut builder, "index.json", &json_bytes(&index)).map_err(write_err)?;
    append_file(
        &mut builder,
        "oci-layout",
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .map_err(write_err)?;
    if format == ArchiveFormat::Docker {
        append_file(
            &mut builder,
            "manifest.json",
            &json_bytes(&json!(docker_entries)),
        )
        .map_err(write_err)?;
        append_file(
            &mut builder,
            "repositories",
            &json_bytes(&json!(repositories)),
        )
        .map_err(write_err)?;
    }
    builder.into_inner().map_err(write_err)
}

fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().as_str(), digest.hex())
}

fn append_blob<W: Write>(
    builder: &mut tar::Builder<W>,
    content: &ContentStore,
    digest: &Digest,
) -> Result<(), ArchiveError> {
    let file = content
        .open_blob(digest)
        .map_err(|source| ArchiveError::Content {
            entry: digest.to_string(),
            source,
        })?;
    let size = content
        .size(digest)
        .map_err(|source| ArchiveError::Content {
            entry: digest.to_string(),
            source,
        })?;
    let mut header = file_header(size);
    builder
        .append_data(&mut header, blob_path(digest), file)
        .map_err(|source| ArchiveError::Write { source })
}

fn file_header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(size);
    header.set_mtime(0);
    header
}

fn append_file<W: Write>(builder: &mut tar::Builder<W>, path: &str, data: &[u8]) -> io::Result<()> {
    let mut header = file_header(data.len() as u64);
    builder.append_data(&mut header, path, data)
}

fn append_dir<W: Write>(builder: &mut tar::Builder<W>, path: &str) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_size(0);
    header.set_mtime(0);
    builder.append_data(&mut header, path, io::empty())
}
