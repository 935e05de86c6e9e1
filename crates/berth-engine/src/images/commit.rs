//! `docker commit`: a container's changes (its overlay upper dir) become a new layer on top of
//! its image; the container's config (with `--change`s) becomes the image config.

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_oci::media_type;
use berth_store::images::time::{format_rfc3339, now_unix};
use berth_store::{ImagePlan, PlannedLayer};
use serde_json::{Map, Value, json};

use super::{ImageError, MAX_CONFIG, changes, parse_reference, resolve};
use crate::Engine;
use crate::events::Event;

#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    pub container: String,
    pub repo: String,
    pub tag: String,
    pub comment: String,
    pub author: String,
    pub changes: Vec<String>,
}

fn upper_dir(options: &[String]) -> Option<PathBuf> {
    options
        .iter()
        .find_map(|o| o.strip_prefix("upperdir="))
        .map(PathBuf::from)
}

/// Returns the new image's ID.
pub fn commit(engine: &Engine, options: &CommitOptions) -> Result<String, ImageError> {
    let container = engine.containers.get(&options.container)?;
    let record = container.snapshot();
    let base = resolve(engine, &record.image)?;
    let tag = match (options.repo.as_str(), options.tag.as_str()) {
        ("", _) => None,
        (repo, "") => Some(parse_reference(repo)?),
        (repo, tag) => Some(parse_reference(&format!("{repo}:{tag}"))?),
    };
    let container_config = match serde_json::to_value(&record.config) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let config_section = changes::apply_changes_to(container_config, &options.changes)?;
    let mount = engine.store.snapshots.mounts(&record.id)?;
    let upper = upper_dir(&mount.options).unwrap_or_else(|| mount.source.clone());
    let layer =
        berth_build::engine::diff_upper(&upper, None).map_err(|source| ImageError::CommitDiff {
            container: record.id.clone(),
            source,
        })?;

    let _lease = engine.store.lease();
    let mut config: Value = serde_json::from_slice(
        &engine.store.content.read_small(&base.id, MAX_CONFIG)?,
    )
    .map_err(|source| ImageError::BadConfig {
        id: base.id.to_string(),
        source,
    })?;
    let now = format_rfc3339(now_unix() as i64);
    let created_by = std::iter::once(record.path.clone())
        .chain(record.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut layers: Vec<PlannedLayer> = base.layers.iter().map(PlannedLayer::from).collect();
    let mut history = json!({"created": now, "created_by": created_by});
    if !options.comment.is_empty() {
        history["comment"] = json!(options.comment);
    }
    if !options.author.is_empty() {
        history["author"] = json!(options.author);
    }
    match &layer {
        Some(blob) => {
            let digest = engine.store.content.ingest_bytes(&blob.gzip)?;
            layers.push(PlannedLayer {
                digest,
                media_type: media_type::OCI_LAYER_GZIP.to_owned(),
                size: blob.gzip.len() as u64,
                diff_id: blob.diff_id.clone(),
            });
        }
        None => history["empty_layer"] = json!(true),
    }
    if let Some(object) = config.as_object_mut() {
        object.insert("config".into(), config_section);
        object.insert("created".into(), json!(now));
        object.insert("container".into(), json!(record.id));
        object.insert("comment".into(), json!(options.comment));
        object.insert("author".into(), json!(options.author));
        object.insert(
            "rootfs".into(),
            json!({"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>()}),
        );
        let mut entries = object
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        entries.push(history);
        object.insert("history".into(), Value::Array(entries));
    }
    let config_bytes = serde_json::to_vec(&config).map_err(|source| ImageError::BadConfig {
        id: base.id.to_string(),
        source,
    })?;
    let config_digest = engine.store.content.ingest_bytes(&config_bytes)?;
    let image = engine.store.register(ImagePlan {
        config: config_digest,
        config_bytes,
        layers,
        tags: tag.iter().cloned().collect(),
        manifest: None,
    })?;
    let id = image.id.to_string();
    let mut attrs = BTreeMap::from([
        ("comment".to_owned(), options.comment.clone()),
        ("imageID".to_owned(), id.clone()),
        ("name".to_owned(), record.name.clone()),
        ("image".to_owned(), record.image_name.clone()),
    ]);
    if let Some(tag) = &tag {
        attrs.insert("imageRef".to_owned(), tag.familiar_string());
    }
    engine
        .events
        .publish(Event::new("container", "commit", &record.id, attrs));
    Ok(id)
}
