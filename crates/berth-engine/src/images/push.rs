//! `docker push`: each stored image's manifest, config and layers go up as stored (the
//! registry client skips blobs the registry has); the pushed digest becomes a repo digest.

use std::sync::Arc;

use berth_oci::Reference;
use berth_registry::client::{Descriptor, Progress, PushOptions, RegistryClient};
use serde_json::json;

use super::progress::{DockerProgress, ProgressFn, ProgressMessage};
use super::sink::StoreSource;
use super::{ImageError, parse_reference, publish, resolve};
use crate::Engine;

/// The references `name` + `tag` push: one, or with no tag every tag of the repository.
pub fn targets(engine: &Engine, name: &str, tag: &str) -> Result<Vec<Reference>, ImageError> {
    if !tag.is_empty() {
        let target = parse_reference(&format!("{name}:{tag}"))?;
        resolve(engine, &target.to_string())?;
        return Ok(vec![target]);
    }
    let repo = Reference::parse_name_only(name).map_err(|source| ImageError::BadReference {
        name: name.to_owned(),
        source,
    })?;
    if repo.tag().is_some() || repo.digest().is_some() {
        let target = parse_reference(name)?;
        resolve(engine, &target.to_string())?;
        return Ok(vec![target]);
    }
    let mut tags: Vec<Reference> = engine
        .store
        .images
        .list()
        .into_iter()
        .flat_map(|r| r.repo_tags)
        .filter(|t| t.name() == repo.name())
        .collect();
    tags.sort();
    if tags.is_empty() {
        return Err(ImageError::NotFound {
            name: repo.familiar_name(),
        });
    }
    Ok(tags)
}

/// Pushes one reference. Progress ends with Docker's `TAG: digest: … size: …` line and the
/// `aux` result.
pub async fn push(
    engine: &Arc<Engine>,
    client: &RegistryClient,
    target: &Reference,
    progress: &ProgressFn,
) -> Result<(), ImageError> {
    let record = resolve(engine, &target.to_string())?;
    let size = engine
        .store
        .content
        .size(&record.manifest)
        .map_err(|e| ImageError::Store(e.into()))?;
    let root = Descriptor {
        media_type: record.manifest_media_type.clone(),
        digest: record.manifest.clone(),
        size,
        platform: None,
        annotations: None,
        urls: None,
    };
    let source = Arc::new(StoreSource {
        store: engine.store.clone(),
        root: root.clone(),
        ref_name: target.to_string(),
    });
    let options = PushOptions {
        mount_from: None,
        progress: Arc::new(DockerProgress {
            out: progress.clone(),
            pushing: true,
        }) as Arc<dyn Progress>,
    };
    client
        .push(source, &root, target, &options)
        .await
        .map_err(|e| ImageError::Registry {
            reference: target.familiar_string(),
            source: Box::new(e),
        })?;
    let tag = target.tag().unwrap_or(berth_oci::reference::DEFAULT_TAG);
    progress(ProgressMessage::line(format!(
        "{tag}: digest: {} size: {size}",
        record.manifest
    )));
    progress(ProgressMessage {
        aux: Some(json!({"Tag": tag, "Digest": record.manifest.to_string(), "Size": size})),
        ..ProgressMessage::line("")
    });
    let digest_ref = target.without_suffix().with_digest(record.manifest.clone());
    let mut updated = record.clone();
    if !updated.repo_digests.contains(&digest_ref) {
        updated.repo_digests.push(digest_ref);
        engine
            .store
            .images
            .put(updated)
            .map_err(|e| ImageError::Store(e.into()))?;
    }
    publish(
        engine,
        "push",
        &target.familiar_string(),
        &target.familiar_name(),
    );
    Ok(())
}
