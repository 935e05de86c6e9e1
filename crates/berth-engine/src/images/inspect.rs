//! `GET /images/{name}/json` and `/history`, in Docker's shapes (API 1.41 keeps a few fields
//! the 1.53 models dropped: Parent, DockerVersion, Container, ContainerConfig, VirtualSize).

use std::collections::HashMap;

use berth_store::images::time::format_rfc3339;
use bollard_stubs::models::{
    DriverData, ImageConfig, ImageHistoryResponseItem, ImageInspect, ImageInspectMetadata,
    ImageInspectRootFs,
};
use serde::Serialize;
use serde_json::Value;

use super::list::view;
use super::{ImageError, resolve};
use crate::Engine;

#[derive(Debug, Clone, Serialize)]
pub struct ImageDetails {
    #[serde(flatten)]
    pub inspect: ImageInspect,
    #[serde(rename = "Parent")]
    pub parent: String,
    #[serde(rename = "DockerVersion")]
    pub docker_version: String,
    #[serde(rename = "Container")]
    pub container: String,
    #[serde(rename = "ContainerConfig")]
    pub container_config: Value,
    #[serde(rename = "VirtualSize")]
    pub virtual_size: i64,
}

pub fn inspect(engine: &Engine, name: &str) -> Result<ImageDetails, ImageError> {
    let view = view(engine, resolve(engine, name)?)?;
    let record = &view.record;
    let text = |key: &str| {
        view.config
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let config: Option<ImageConfig> = view
        .config
        .get("config")
        .and_then(|c| serde_json::from_value(c.clone()).ok());
    let lower_dirs = record
        .chain_id
        .as_ref()
        .and_then(|top| engine.store.snapshots.layer_dirs(top).ok())
        .map(|dirs| {
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(":")
        });
    let inspect = ImageInspect {
        id: Some(record.id.to_string()),
        repo_tags: Some(
            record
                .repo_tags
                .iter()
                .map(|t| t.familiar_string())
                .collect(),
        ),
        repo_digests: Some(
            record
                .repo_digests
                .iter()
                .map(|t| t.familiar_string())
                .collect(),
        ),
        comment: Some(text("comment").unwrap_or_default()),
        created: text("created"),
        author: Some(text("author").unwrap_or_default()),
        config: Some(config.unwrap_or_default()),
        architecture: Some(text("architecture").unwrap_or_default()),
        variant: text("variant"),
        os: Some(text("os").unwrap_or_default()),
        os_version: text("os.version"),
        size: Some(view.size as i64),
        graph_driver: Some(DriverData {
            name: "overlay2".to_owned(),
            data: lower_dirs
                .into_iter()
                .map(|d| ("LowerDir".to_owned(), d))
                .collect::<HashMap<_, _>>(),
        }),
        root_fs: Some(ImageInspectRootFs {
            typ: "layers".to_owned(),
            layers: Some(
                record
                    .layers
                    .iter()
                    .map(|l| l.diff_id.to_string())
                    .collect(),
            ),
        }),
        metadata: Some(ImageInspectMetadata {
            last_tag_time: Some(
                record
                    .last_tag_time
                    .map_or("0001-01-01T00:00:00Z".to_owned(), |t| {
                        format_rfc3339(t as i64)
                    }),
            ),
        }),
        ..ImageInspect::default()
    };
    Ok(ImageDetails {
        inspect,
        parent: String::new(),
        docker_version: text("docker_version").unwrap_or_default(),
        container: text("container").unwrap_or_default(),
        container_config: view
            .config
            .get("container_config")
            .cloned()
            .unwrap_or(Value::Object(Default::default())),
        virtual_size: view.size as i64,
    })
}

/// `docker history`: newest first; the top row carries the image ID and tags.
pub fn history(engine: &Engine, name: &str) -> Result<Vec<ImageHistoryResponseItem>, ImageError> {
    let record = resolve(engine, name)?;
    let rows = engine.store.history(&record.id.to_string())?;
    Ok(rows
        .into_iter()
        .map(|row| ImageHistoryResponseItem {
            id: row.id,
            created: row.created,
            created_by: row.created_by,
            tags: row.tags,
            size: row.size as i64,
            comment: row.comment,
        })
        .collect())
}
