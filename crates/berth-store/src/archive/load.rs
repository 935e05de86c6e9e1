//! Understands what an archive contains: `docker save` (manifest.json, legacy or OCI-inside
//! layout) or an OCI layout (index.json), auto-detected, and turns it into image plans.

use std::io::Read;

use berth_oci::{Digest, MediaType, Reference, media_type};
use serde::Deserialize;

use super::ArchiveError;
use super::outer::OuterArchive;
use crate::content::ContentStore;
use crate::image_plan::{ImagePlan, PlannedLayer};

const MAX_JSON: u64 = 16 << 20;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default)]
    pub annotations: Option<std::collections::HashMap<String, String>>,
    #[serde(default)]
    pub platform: Option<Platform>,
}

#[derive(Deserialize)]
pub(crate) struct Platform {
    pub architecture: String,
    pub os: String,
}

#[derive(Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Manifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// Reads the archive and plans every image it holds. Blobs it adds to the store are pushed
/// to `added` (even on failure), so the caller can remove them if the load does not complete.
pub fn read_archive(
    reader: impl Read,
    content: &ContentStore,
    added: &mut Vec<Digest>,
) -> Result<Vec<ImagePlan>, ArchiveError> {
    let outer = OuterArchive::read(reader, content, added)?;
    if outer.metadata.contains_key("manifest.json") {
        docker_plans(&outer, content, added)
    } else if outer.metadata.contains_key("index.json") {
        oci_plans(&outer, content)
    } else {
        Err(ArchiveError::UnknownFormat)
    }
}

/// Reads an OCI image layout from a directory (not a tar).
pub fn read_layout_dir(
    dir: &std::path::Path,
    content: &ContentStore,
    added: &mut Vec<Digest>,
) -> Result<Vec<ImagePlan>, ArchiveError> {
    let outer = OuterArchive::read_dir(dir, content, added)?;
    if !outer.metadata.contains_key("index.json") {
        return Err(ArchiveError::UnknownFormat);
    }
    oci_plans(&outer, content)
}

fn parse_json<T: serde::de::DeserializeOwned>(data: &[u8], what: &str) -> Result<T, ArchiveError> {
    serde_json::from_slice(data).map_err(|source| ArchiveError::BadJson {
        what: what.to_owned(),
        source,
    })
}

fn docker_plans(
    outer: &OuterArchive,
    content: &ContentStore,
    added: &mut Vec<Digest>,
) -> Result<Vec<ImagePlan>, ArchiveError> {
    let entries: Vec<DockerManifestEntry> =
        parse_json(&outer.metadata["manifest.json"], "manifest.json")?;
    let mut plans = Vec::new();
    for entry in entries {
        let config = outer.blob(&entry.config, content, added)?;
        let config_bytes =
            content
                .read_small(&config, MAX_JSON)
                .map_err(|source| ArchiveError::Content {
                    entry: entry.config.clone(),
                    source,
                })?;
        let diff_ids = diff_ids_of(&config_bytes, &config)?;
        if diff_ids.len() != entry.layers.len() {
            return Err(ArchiveError::LayerCountMismatch {
                config,
                layers: entry.layers.len(),
                diff_ids: diff_ids.len(),
            });
        }
        let mut layers = Vec::new();
        for (path, diff_id) in entry.layers.iter().zip(diff_ids) {
            let digest = outer.blob(path, content, added)?;
            let size = content
                .size(&digest)
                .map_err(|source| ArchiveError::Content {
                    entry: path.clone(),
                    source,
                })?;
            let media_type = sniff_layer_media_type(content, &digest)?;
            layers.push(PlannedLayer {
                digest,
                media_type,
                size,
                diff_id,
            });
        }
        let tags = entry
            .repo_tags
            .unwrap_or_default()
            .iter()
            .map(|t| {
                Reference::parse_normalized(t).map_err(|source| ArchiveError::BadTag {
                    tag: t.clone(),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        plans.push(ImagePlan {
            config,
            config_bytes,
            layers,
            tags,
            manifest: None,
        });
    }
    Ok(plans)
}

fn oci_plans(outer: &OuterArchive, content: &ContentStore) -> Result<Vec<ImagePlan>, ArchiveError> {
    let index: Index = parse_json(&outer.metadata["index.json"], "index.json")?;
    let mut plans = Vec::new();
    for descriptor in index.manifests {
        let tags = tags_from_annotations(&descriptor);
        let manifest = pick_manifest(descriptor, content, 0)?;
        let mut plan = plan_from_manifest(&manifest, content)?;
        plan.tags = tags;
        plans.push(plan);
    }
    Ok(plans)
}

fn tags_from_annotations(descriptor: &Descriptor) -> Vec<Reference> {
    let Some(annotations) = &descriptor.annotations else {
        return Vec::new();
    };
    // containerd writes the full name here; skopeo and Docker put it in ref.name. A bare tag
    // (e.g. "1.35", as some tools write) names no repository, so the image loads untagged.
    [
        "io.containerd.image.name",
        "org.opencontainers.image.ref.name",
    ]
    .iter()
    .filter_map(|key| annotations.get(*key))
    .find(|name| name.contains('/') || name.contains(':'))
    .and_then(|name| Reference::parse_normalized(name).ok())
    .into_iter()
    .collect()
}

/// Follows image indexes down to the manifest for this machine's platform.
fn pick_manifest(
    descriptor: Descriptor,
    content: &ContentStore,
    depth: usize,
) -> Result<Descriptor, ArchiveError> {
    let kind =
        MediaType::parse(&descriptor.media_type).map_err(|e| ArchiveError::UnknownMediaType {
            digest: descriptor.digest.clone(),
            media_type: e.media_type,
        })?;
    if kind.is_manifest() {
        return Ok(descriptor);
    }
    if !kind.is_index() || depth > 4 {
        return Err(ArchiveError::NotAManifest {
            digest: descriptor.digest,
        });
    }
    let data = read_blob(content, &descriptor.digest)?;
    let index: Index = parse_json(&data, &format!("index {}", descriptor.digest))?;
    let arch = host_architecture();
    let chosen = index
        .manifests
        .into_iter()
        .find(|m| {
            m.platform
                .as_ref()
                .is_none_or(|p| p.os == "linux" && p.architecture == arch)
        })
        .ok_or_else(|| ArchiveError::NoMatchingPlatform {
            digest: descriptor.digest.clone(),
            architecture: arch.to_owned(),
        })?;
    pick_manifest(chosen, content, depth + 1)
}

fn plan_from_manifest(
    descriptor: &Descriptor,
    content: &ContentStore,
) -> Result<ImagePlan, ArchiveError> {
    let data = read_blob(content, &descriptor.digest)?;
    let manifest: Manifest = parse_json(&data, &format!("manifest {}", descriptor.digest))?;
    let config_bytes = read_blob(content, &manifest.config.digest)?;
    let diff_ids = diff_ids_of(&config_bytes, &manifest.config.digest)?;
    if diff_ids.len() != manifest.layers.len() {
        return Err(ArchiveError::LayerCountMismatch {
            config: manifest.config.digest,
            layers: manifest.layers.len(),
            diff_ids: diff_ids.len(),
        });
    }
    let mut layers = Vec::new();
    for (layer, diff_id) in manifest.layers.into_iter().zip(diff_ids) {
        match MediaType::parse(&layer.media_type) {
            Ok(MediaType::Layer(_)) => {}
            _ => {
                return Err(ArchiveError::UnknownMediaType {
                    digest: layer.digest,
                    media_type: layer.media_type,
                });
            }
        }
        if !content.contains(&layer.digest) {
            return Err(ArchiveError::MissingBlob {
                digest: layer.digest,
            });
        }
        layers.push(PlannedLayer {
            digest: layer.digest,
            media_type: layer.media_type,
            size: layer.size,
            diff_id,
        });
    }
    Ok(ImagePlan {
        config: manifest.config.digest,
        config_bytes,
        layers,
        tags: Vec::new(),
        manifest: Some((descriptor.digest.clone(), descriptor.media_type.clone())),
    })
}

fn read_blob(content: &ContentStore, digest: &Digest) -> Result<Vec<u8>, ArchiveError> {
    if !content.contains(digest) {
        return Err(ArchiveError::MissingBlob {
            digest: digest.clone(),
        });
    }
    content
        .read_small(digest, MAX_JSON)
        .map_err(|source| ArchiveError::Content {
            entry: digest.to_string(),
            source,
        })
}

/// `rootfs.diff_ids` of an image config.
fn diff_ids_of(config: &[u8], digest: &Digest) -> Result<Vec<Digest>, ArchiveError> {
    #[derive(Deserialize)]
    struct RootFs {
        diff_ids: Vec<Digest>,
    }
    #[derive(Deserialize)]
    struct Config {
        rootfs: RootFs,
    }
    let parsed: Config = parse_json(config, &format!("config {digest}"))?;
    Ok(parsed.rootfs.diff_ids)
}

/// Docker archives do not say how a layer file is compressed; its first bytes do. The types
/// are OCI ones: the manifest the store writes for the image is an OCI manifest (umoci, for
/// one, refuses Docker layer types in it).
fn sniff_layer_media_type(content: &ContentStore, digest: &Digest) -> Result<String, ArchiveError> {
    let mut head = [0u8; 4];
    let mut file = content
        .open_blob(digest)
        .map_err(|source| ArchiveError::Content {
            entry: digest.to_string(),
            source,
        })?;
    let n = file.read(&mut head).map_err(|source| ArchiveError::Read {
        entry: Some(digest.to_string()),
        source,
    })?;
    Ok(match &head[..n] {
        [0x1f, 0x8b, ..] => media_type::OCI_LAYER_GZIP,
        [0x28, 0xb5, 0x2f, 0xfd] => media_type::OCI_LAYER_ZSTD,
        _ => media_type::OCI_LAYER_TAR,
    }
    .to_owned())
}

/// This machine's architecture in OCI spelling (`amd64`, `arm64`, ...).
pub(crate) fn host_architecture() -> String {
    berth_oci::Platform::host().architecture
}
