//! `GET /system/df[?type=container&type=image&type=volume&type=build-cache]`: Docker's
//! `DiskUsage` — `LayersSize` and `Images`, `Containers` with their sizes, local `Volumes`
//! with `UsageData`, the `BuildCache` records and (API < 1.42) `BuilderSize`.
//!
//! `type` is Docker 1.42's: only the named kinds are computed, the others come back `null`;
//! an unknown kind is refused with 400, as dockerd does. Berth speaks 1.41 paths, where
//! dockerd ignores `type`; a client that sends it is asking for the 1.42 meaning, so it is
//! honoured at every version.

use std::collections::HashMap;

use hyper::StatusCode;
use serde_json::{Value, json};

use berth_engine::build::CacheUsage;

use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::{Ctx, version_less};

/// Which parts of the answer to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Wanted {
    containers: bool,
    images: bool,
    volumes: bool,
    build_cache: bool,
}

impl Wanted {
    /// Every part without `type`; only the named ones with it.
    fn parse(types: &[String]) -> http::Result<Wanted> {
        if types.is_empty() {
            return Ok(Wanted {
                containers: true,
                images: true,
                volumes: true,
                build_cache: true,
            });
        }
        let mut wanted = Wanted {
            containers: false,
            images: false,
            volumes: false,
            build_cache: false,
        };
        for kind in types {
            match kind.as_str() {
                "container" => wanted.containers = true,
                "image" => wanted.images = true,
                "volume" => wanted.volumes = true,
                "build-cache" => wanted.build_cache = true,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "unknown object type: {other}"
                    )));
                }
            }
        }
        Ok(wanted)
    }
}

pub async fn handle(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let wanted = Wanted::parse(&http::query_all(&req, "type"))?;
    let mut body = json!({
        "LayersSize": 0,
        "Images": null,
        "Containers": null,
        "Volumes": null,
        "BuildCache": null,
    });
    if wanted.images {
        let (layers_size, images) = super::images::images_disk_usage(&ctx).await?;
        body["LayersSize"] = json!(layers_size);
        body["Images"] = images;
    }
    if wanted.containers {
        let containers = super::containers::blocking(&ctx, |e| {
            e.list_containers(&berth_engine::containers::ListOptions {
                all: true,
                limit: None,
                size: true,
                filters: HashMap::new(),
            })
        })
        .await?;
        body["Containers"] = json!(containers);
    }
    let engine = ctx.engine.clone();
    let (volumes, cache) = tokio::task::spawn_blocking(move || {
        let volumes = wanted.volumes.then(|| engine.volumes_disk_usage());
        let cache = wanted
            .build_cache
            .then(|| berth_engine::build::cache_usage(&engine))
            .transpose();
        (volumes, cache)
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("disk usage task failed: {e}"),
        )
    })?;
    if let Some(volumes) = volumes {
        body["Volumes"] = json!(volumes);
    }
    if let Some(cache) = cache.map_err(ApiError::from_engine)? {
        let legacy = version_less(&ctx.version, "1.42");
        body["BuildCache"] = Value::Array(cache.iter().map(|c| cache_record(c, legacy)).collect());
        // Before 1.42 dockerd also sums every record's size here.
        if legacy {
            body["BuilderSize"] = json!(cache.iter().map(|c| c.size).sum::<u64>());
        }
    }
    Ok(http::json(StatusCode::OK, &body))
}

/// Docker's `BuildCache` object. `InUse` is false: a record is only in use while a build
/// reads it, and builds do not register what they read. `UsageCount` counts the record's
/// creation only, for the same reason. Before 1.42 the single `Parent` is sent as well (when
/// there is one).
fn cache_record(c: &CacheUsage, legacy: bool) -> Value {
    let mut record = json!({
        "ID": c.id,
        "Parents": c.parents,
        "Type": c.kind,
        "Description": c.description,
        "InUse": false,
        "Shared": c.shared,
        "Size": c.size,
        "CreatedAt": berth_oci::time::rfc3339_nano(c.created),
        "LastUsedAt": berth_oci::time::rfc3339_nano(c.last_used),
        "UsageCount": 1,
    });
    if legacy && let Some(parent) = c.parents.first() {
        record["Parent"] = json!(parent);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_selects_parts_and_refuses_unknown_kinds() {
        let all = Wanted::parse(&[]).unwrap();
        assert!(all.containers && all.images && all.volumes && all.build_cache);
        let some = Wanted::parse(&["volume".into(), "build-cache".into()]).unwrap();
        assert_eq!(
            some,
            Wanted {
                containers: false,
                images: false,
                volumes: true,
                build_cache: true
            }
        );
        let err = Wanted::parse(&["disks".into()]).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }
}
