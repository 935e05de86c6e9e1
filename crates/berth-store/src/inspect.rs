//! Read-only views in Docker's shapes: `image inspect`, `history`, and `system df` numbers.

use std::collections::HashMap;

use berth_oci::Digest;
use serde::Serialize;
use serde_json::{Value, json};

use crate::images::{ImageRecord, ImageUsers, time};
use crate::store::{Store, StoreError};

const MAX_CONFIG: u64 = 16 << 20;

/// One `docker history` row, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryEntry {
    /// The image ID for the top row, `<missing>` below (as Docker shows for pulled images).
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    pub created_by: String,
    pub tags: Vec<String>,
    pub size: u64,
    pub comment: String,
}

/// Per-image numbers for `docker system df -v`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageUsage {
    pub id: Digest,
    pub repo_tags: Vec<String>,
    /// Unpacked size of all the image's layers.
    pub size: u64,
    /// Part of `size` in layers other images share.
    pub shared_size: u64,
    pub containers: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiskUsage {
    pub images: Vec<ImageUsage>,
    /// Unpacked size of every layer snapshot, each counted once.
    pub layers_size: u64,
    /// Bytes in the content store.
    pub blobs_size: u64,
    /// Bytes of images no container uses (what `image prune -a` could free, unpacked).
    pub reclaimable: u64,
}

impl Store {
    fn config_json(&self, record: &ImageRecord) -> Result<Value, StoreError> {
        let bytes = self.content.read_small(&record.id, MAX_CONFIG)?;
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Unpacked sizes of the image's layers, bottom first.
    fn layer_sizes(&self, record: &ImageRecord) -> Vec<u64> {
        let index = self.snapshots.index();
        let Some(top) = &record.chain_id else {
            return Vec::new();
        };
        let mut sizes: Vec<u64> = index
            .chain(top)
            .unwrap_or_default()
            .iter()
            .map(|(_, l)| l.size)
            .collect();
        sizes.reverse();
        sizes
    }

    /// `docker image inspect` for one image, in Docker's JSON shape.
    pub fn inspect_image(&self, name: &str) -> Result<Value, StoreError> {
        let record = self.images.resolve(name)?;
        let config = self.config_json(&record)?;
        let text = |key: &str| {
            config
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let size: u64 = self.layer_sizes(&record).iter().sum();
        Ok(json!({
            "Id": record.id,
            "RepoTags": record.repo_tags.iter().map(|t| t.familiar_string()).collect::<Vec<_>>(),
            "RepoDigests": record.repo_digests.iter().map(|t| t.familiar_string()).collect::<Vec<_>>(),
            "Parent": "",
            "Comment": text("comment"),
            "Created": text("created"),
            "DockerVersion": text("docker_version"),
            "Author": text("author"),
            "Config": config.get("config").cloned().unwrap_or(Value::Null),
            "Architecture": text("architecture"),
            "Variant": config.get("variant").cloned().unwrap_or(Value::Null),
            "Os": text("os"),
            "Size": size,
            "GraphDriver": {"Name": "overlayfs", "Data": Value::Null},
            "RootFS": {"Type": "layers", "Layers": record.layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>()},
            "Metadata": {"LastTagTime": record.last_tag_time.map_or("0001-01-01T00:00:00Z".to_owned(), |t| time::format_rfc3339(t as i64))},
        }))
    }

    /// `docker history`: the config's history, newest first, with layer sizes filled in.
    pub fn history(&self, name: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let record = self.images.resolve(name)?;
        let config = self.config_json(&record)?;
        let mut sizes = self.layer_sizes(&record).into_iter();
        let mut rows = Vec::new();
        for item in config
            .get("history")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let empty = item
                .get("empty_layer")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let field = |key: &str| {
                item.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            rows.push(HistoryEntry {
                id: "<missing>".to_owned(),
                created: time::parse_rfc3339(&field("created")).unwrap_or(0),
                created_by: field("created_by"),
                tags: Vec::new(),
                size: if empty { 0 } else { sizes.next().unwrap_or(0) },
                comment: field("comment"),
            });
        }
        rows.reverse();
        if let Some(top) = rows.first_mut() {
            top.id = record.id.to_string();
            top.tags = record
                .repo_tags
                .iter()
                .map(|t| t.familiar_string())
                .collect();
        }
        Ok(rows)
    }

    /// Numbers for `docker system df`.
    pub fn disk_usage(&self, users: &dyn ImageUsers) -> Result<DiskUsage, StoreError> {
        let index = self.snapshots.index();
        let images = self.images.list();
        let mut layer_users: HashMap<&Digest, usize> = HashMap::new();
        for image in &images {
            if let Some(top) = &image.chain_id {
                for (chain_id, _) in index.chain(top).unwrap_or_default() {
                    *layer_users.entry(chain_id).or_default() += 1;
                }
            }
        }
        let mut usage = DiskUsage {
            // A directory shared by several chains (`share_layer`) takes its space once.
            layers_size: index
                .layers
                .values()
                .map(|l| (l.id, l.size))
                .collect::<HashMap<u64, u64>>()
                .values()
                .sum(),
            blobs_size: self.content.list()?.iter().map(|(_, size)| size).sum(),
            ..DiskUsage::default()
        };
        for image in &images {
            let chain = image
                .chain_id
                .as_ref()
                .and_then(|top| index.chain(top))
                .unwrap_or_default();
            let size = chain.iter().map(|(_, l)| l.size).sum();
            let shared_size = chain
                .iter()
                .filter(|(c, _)| layer_users.get(c).copied().unwrap_or(0) > 1)
                .map(|(_, l)| l.size)
                .sum();
            let containers = users.containers_using(&image.id).len();
            if containers == 0 {
                usage.reclaimable += size - shared_size;
            }
            usage.images.push(ImageUsage {
                id: image.id.clone(),
                repo_tags: image
                    .repo_tags
                    .iter()
                    .map(|t| t.familiar_string())
                    .collect(),
                size,
                shared_size,
                containers,
            });
        }
        Ok(usage)
    }
}
