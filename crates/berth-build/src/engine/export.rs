//! The build's internal vertices around the stages (BuildKit's names): loading the
//! Dockerfile and `.dockerignore`, and `exporting to image` — the final config (with
//! `--label`s) is written and the image registered and tagged.

use berth_oci::Reference;
use berth_store::images::ImageRecord;
use berth_store::{ImagePlan, Store};

use super::BuildOptions;
use super::error::BuildError;
use super::progress::{ProgressSink, Vertex};
use super::stage::Built;
use crate::instructions::KeyValue;

/// Runs `work` as the vertex `name` when someone follows progress.
pub(super) fn internal<T>(
    progress: Option<&ProgressSink>,
    name: &str,
    work: impl FnOnce(Option<&Vertex>) -> Result<T, BuildError>,
) -> Result<T, BuildError> {
    let vertex = progress.map(|p| p.start(name));
    let result = work(vertex.as_ref());
    match (vertex, &result) {
        (Some(v), Ok(_)) => v.done(),
        (Some(v), Err(e)) => v.fail(e.to_string()),
        (None, _) => {}
    }
    result
}

/// A status line with a byte count, as BuildKit shows transfers (`transferring dockerfile:
/// 74B`).
pub(super) fn transferred(vertex: Option<&Vertex>, what: &str, bytes: usize) {
    if let Some(v) = vertex {
        v.status_done(&format!("transferring {what}: {}", human_bytes(bytes)));
    }
}

/// Decimal units with two decimals above 1 kB (`1.23kB`), as BuildKit prints sizes.
pub(super) fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes}B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.2}{}", UNITS[unit])
}

/// Writes the target stage's config (plus `--label`s) and registers the image under `tags`.
pub(super) fn export_image(
    store: &Store,
    opts: &BuildOptions,
    created: &str,
    built: Built,
    tags: Vec<Reference>,
) -> Result<ImageRecord, BuildError> {
    internal(opts.progress.as_ref(), "exporting to image", |vertex| {
        let layers = vertex.map(|v| (v, v.begin_status("exporting layers")));
        let mut config = built.config;
        if !opts.labels.is_empty() {
            let pairs: Vec<KeyValue> = opts
                .labels
                .iter()
                .map(|(key, value)| KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect();
            let text = config.labels(&pairs);
            config.history(created, &text, None);
        }
        let config_bytes = serde_json::to_vec(&config.doc).unwrap_or_default();
        let config_digest =
            store
                .content
                .ingest_bytes(&config_bytes)
                .map_err(|e| BuildError::Commit {
                    source: Box::new(e.into()),
                })?;
        if let Some((v, started)) = layers {
            v.end_status("exporting layers", started);
        }
        let writing = format!("writing image {config_digest}");
        let started = vertex.map(|v| v.begin_status(&writing));
        let names: Vec<String> = tags.iter().map(ToString::to_string).collect();
        let image = store
            .register(ImagePlan {
                config: config_digest,
                config_bytes,
                layers: built.layers,
                tags,
                manifest: None,
            })
            .map_err(|source| BuildError::Commit {
                source: Box::new(source),
            })?;
        if let (Some(v), Some(started)) = (vertex, started) {
            v.end_status(&writing, started);
            for name in names {
                v.status_done(&format!("naming to {name}"));
            }
        }
        Ok(image)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_buildkits() {
        assert_eq!(human_bytes(74), "74B");
        assert_eq!(human_bytes(1234), "1.23kB");
        assert_eq!(human_bytes(5_600_000), "5.60MB");
    }
}
