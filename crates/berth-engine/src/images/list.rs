//! `GET /images/json`: one `ImageSummary` per image (per tag set), with Docker's filters.

use std::collections::HashMap;

use berth_store::images::ImageRecord;
use berth_store::images::time::parse_rfc3339;
use bollard_stubs::models::ImageSummary;
use serde_json::Value;

use super::filters::{Filters, labels_match, reference_matches};
use super::{ContainerUsers, ImageError, MAX_CONFIG, resolve};
use crate::Engine;

#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Docker's `all` (intermediate images); we keep none, so it changes nothing but dangling
    /// images' visibility, as in Docker.
    pub all: bool,
    pub filters: Filters,
    /// Count containers per image (`system df`); `-1` otherwise, as Docker.
    pub count_containers: bool,
}

/// An image with what its config says, read once.
pub(crate) struct ImageView {
    pub record: ImageRecord,
    pub config: Value,
    pub created: i64,
    pub labels: HashMap<String, String>,
    /// Unpacked size of all its layers.
    pub size: u64,
}

pub(crate) fn view(engine: &Engine, record: ImageRecord) -> Result<ImageView, ImageError> {
    let bytes = engine
        .store
        .content
        .read_small(&record.id, MAX_CONFIG)
        .map_err(|e| ImageError::Store(e.into()))?;
    let config: Value = serde_json::from_slice(&bytes).map_err(|source| ImageError::BadConfig {
        id: record.id.to_string(),
        source,
    })?;
    let created = config
        .get("created")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
        .unwrap_or(0);
    let labels = config
        .pointer("/config/Labels")
        .and_then(|l| serde_json::from_value(l.clone()).ok())
        .unwrap_or_default();
    let index = engine.store.snapshots.index();
    let size = record
        .chain_id
        .as_ref()
        .and_then(|top| index.chain(top))
        .map(|chain| chain.iter().map(|(_, l)| l.size).sum())
        .unwrap_or(0);
    Ok(ImageView {
        record,
        config,
        created,
        labels,
        size,
    })
}

pub(crate) fn summary(view: &ImageView, containers: i64) -> ImageSummary {
    let record = &view.record;
    let mut repo_tags: Vec<String> = record
        .repo_tags
        .iter()
        .map(|t| t.familiar_string())
        .collect();
    let mut repo_digests: Vec<String> = record
        .repo_digests
        .iter()
        .map(|t| t.familiar_string())
        .collect();
    if record.is_dangling() {
        repo_tags = vec!["<none>:<none>".to_owned()];
        repo_digests = vec!["<none>@<none>".to_owned()];
    }
    ImageSummary {
        id: record.id.to_string(),
        parent_id: String::new(),
        repo_tags,
        repo_digests,
        created: view.created,
        size: view.size as i64,
        shared_size: -1,
        labels: view.labels.clone(),
        containers,
        manifests: None,
        descriptor: None,
    }
}

/// The images `options` select, newest first (as Docker sorts them).
pub fn list(engine: &Engine, options: &ListOptions) -> Result<Vec<ImageSummary>, ImageError> {
    let filters = &options.filters;
    filters.only(&["dangling", "label", "reference", "before", "since"])?;
    let dangling = filters.dangling()?;
    let created_of = |name: &str| -> Result<i64, ImageError> {
        Ok(view(engine, resolve(engine, name)?)?.created)
    };
    let before = filters
        .get("before")
        .iter()
        .map(|n| created_of(n))
        .collect::<Result<Vec<_>, _>>()?;
    let since = filters
        .get("since")
        .iter()
        .map(|n| created_of(n))
        .collect::<Result<Vec<_>, _>>()?;
    let users = ContainerUsers(&engine.containers);
    let mut out = Vec::new();
    let references = filters.get("reference");
    for mut record in engine.store.images.list() {
        if dangling.is_some_and(|want| want != record.is_dangling()) {
            continue;
        }
        if !references.is_empty() {
            // As dockerd: only the names that match are listed (`images busybox` shows no
            // other tags of the same image).
            let matching =
                |r: &berth_oci::Reference| references.iter().any(|p| reference_matches(p, r));
            record.repo_tags.retain(matching);
            record.repo_digests.retain(matching);
            if record.repo_tags.is_empty() && record.repo_digests.is_empty() {
                continue;
            }
        }
        let view = view(engine, record)?;
        if !labels_match(filters.get("label"), &view.labels)
            || before.iter().any(|b| view.created >= *b)
            || since.iter().any(|s| view.created <= *s)
        {
            continue;
        }
        let containers = if options.count_containers {
            users.users(&view.record.id).len() as i64
        } else {
            -1
        };
        out.push(summary(&view, containers));
    }
    out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}
