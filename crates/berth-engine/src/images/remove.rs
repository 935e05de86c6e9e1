//! `docker tag`, `docker rmi` and `docker image prune`, with Docker's conflict rules and events.

use std::collections::HashMap;

use berth_oci::{Digest, Reference};
use berth_store::images::NoUsers;
use bollard_stubs::models::{ImageDeleteResponseItem, ImagePruneResponse};

use super::filters::{Filters, labels_match};
use super::list::view;
use super::{ContainerUsers, ImageError, parse_reference, publish, resolve};
use crate::Engine;

/// Adds `repo:tag` to the image `source` names.
pub fn tag(engine: &Engine, source: &str, repo: &str, tag: &str) -> Result<Reference, ImageError> {
    let target_text = if tag.is_empty() {
        repo.to_owned()
    } else {
        format!("{repo}:{tag}")
    };
    let target = parse_reference(&target_text)?;
    if target.digest().is_some() {
        return Err(ImageError::Unsupported {
            what: "tagging with a digest",
            detail: target_text,
        });
    }
    let record = resolve(engine, source)?;
    engine
        .store
        .images
        .tag(&record.id.to_string(), &target.to_string())?;
    publish(
        engine,
        "tag",
        &record.id.to_string(),
        &target.familiar_string(),
    );
    Ok(target)
}

/// Docker's rules: a tag among several is only untagged; the last name of an image a container
/// uses needs `force`; a running container's image is never deleted; with `force`, an image
/// only stopped containers use is deleted (their snapshots keep the layers).
pub fn remove(
    engine: &Engine,
    name: &str,
    force: bool,
    prune_layers: bool,
) -> Result<Vec<ImageDeleteResponseItem>, ImageError> {
    let record = resolve(engine, name)?;
    let users = ContainerUsers(&engine.containers).users(&record.id);
    let by_reference = Reference::parse_normalized(name)
        .ok()
        .filter(|r| record.repo_tags.contains(r) || record.repo_digests.contains(r));
    // Removing a repository's last tag also drops that repository's digest references.
    let names: Vec<Reference> = match &by_reference {
        Some(r) => {
            let mut names = vec![r.clone()];
            let other_tag = record
                .repo_tags
                .iter()
                .any(|t| t != r && t.name() == r.name());
            if r.digest().is_none() && !other_tag {
                names.extend(
                    record
                        .repo_digests
                        .iter()
                        .filter(|d| d.name() == r.name())
                        .cloned(),
                );
            }
            names
        }
        None => Vec::new(),
    };
    let references = record.repo_tags.len() + record.repo_digests.len();
    let untag_only = by_reference.is_some() && references > names.len();
    if !untag_only && let Some((container, running)) = users.first() {
        let short = |id: &str| id.chars().take(12).collect::<String>();
        match &by_reference {
            Some(reference) if !force => {
                return Err(ImageError::ReferenceInUse {
                    reference: reference.familiar_string(),
                    container: short(container),
                    image: record.id.short().to_owned(),
                });
            }
            _ if *running || !force => {
                return Err(ImageError::ImageInUse {
                    image: record.id.short().to_owned(),
                    container: short(container),
                    running: *running,
                });
            }
            _ => {}
        }
    }
    // Conflicts with containers were decided above; the store applies the naming rules (the
    // last name's removal deletes the image).
    let mut outcome = berth_store::images::RemoveOutcome::default();
    if names.is_empty() {
        outcome = engine.store.images.remove(name, force, &NoUsers)?;
    }
    for reference in &names {
        let step = engine
            .store
            .images
            .remove(&reference.to_string(), force, &NoUsers)?;
        outcome.untagged.extend(step.untagged);
        outcome.deleted = outcome.deleted.or(step.deleted);
    }
    let id = record.id.to_string();
    let mut items = Vec::new();
    for reference in &outcome.untagged {
        publish(engine, "untag", &id, &id);
        items.push(ImageDeleteResponseItem {
            untagged: Some(reference.familiar_string()),
            deleted: None,
        });
    }
    if let Some(deleted) = outcome.deleted {
        publish(engine, "delete", &id, &id);
        items.push(ImageDeleteResponseItem {
            untagged: None,
            deleted: Some(deleted.to_string()),
        });
        if prune_layers {
            let report = engine.store.gc()?;
            items.extend(
                report
                    .layers_removed
                    .iter()
                    .map(|chain| ImageDeleteResponseItem {
                        untagged: None,
                        deleted: Some(chain.to_string()),
                    }),
            );
        }
    }
    Ok(items)
}

/// `docker image prune`: dangling images (or, with `dangling=false`, every image) no
/// container uses; filters `dangling`, `label`, `until` (a Unix time).
pub fn prune(engine: &Engine, filters: &Filters) -> Result<ImagePruneResponse, ImageError> {
    filters.only(&["dangling", "label", "until"])?;
    let all = filters.dangling()? == Some(false);
    let until: Option<i64> = match filters.get("until").last() {
        Some(v) => Some(v.parse().map_err(|_| ImageError::BadFilter {
            name: "until".to_owned(),
            value: Some(v.clone()),
        })?),
        None => None,
    };
    let users = ContainerUsers(&engine.containers);
    let mut deleted = Vec::new();
    for record in engine.store.images.list() {
        if !(all || record.is_dangling()) || !users.users(&record.id).is_empty() {
            continue;
        }
        let view = view(engine, record)?;
        if !labels_match(filters.get("label"), &view.labels)
            || until.is_some_and(|u| view.created >= u)
        {
            continue;
        }
        let id = view.record.id.to_string();
        match engine.store.images.remove(&id, true, &users) {
            Ok(outcome) => deleted.push((view.record.id.clone(), outcome)),
            // Another request removed or started using it meanwhile: not ours to prune.
            Err(e) => tracing::debug!(image = %id, error = %e, "not pruned"),
        }
    }
    let sizes: HashMap<Digest, u64> = engine
        .store
        .snapshots
        .index()
        .layers
        .iter()
        .map(|(chain, layer)| (chain.clone(), layer.size))
        .collect();
    let report = engine.store.gc()?;
    let reclaimed: u64 = report
        .layers_removed
        .iter()
        .filter_map(|c| sizes.get(c))
        .sum();
    let mut items = Vec::new();
    for (id, outcome) in &deleted {
        for reference in &outcome.untagged {
            publish(engine, "untag", &id.to_string(), &id.to_string());
            items.push(ImageDeleteResponseItem {
                untagged: Some(reference.familiar_string()),
                deleted: None,
            });
        }
        publish(engine, "delete", &id.to_string(), &id.to_string());
        items.push(ImageDeleteResponseItem {
            untagged: None,
            deleted: Some(id.to_string()),
        });
    }
    items.extend(
        report
            .layers_removed
            .iter()
            .map(|chain| ImageDeleteResponseItem {
                untagged: None,
                deleted: Some(chain.to_string()),
            }),
    );
    engine
        .events
        .publish_prune(crate::events::Pruned::Images, reclaimed);
    Ok(ImagePruneResponse {
        images_deleted: Some(items),
        space_reclaimed: Some(reclaimed as i64),
    })
}
