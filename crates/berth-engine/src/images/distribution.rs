//! `GET /distribution/{name}/json`: what a reference points at in its registry (descriptor and
//! platforms), without pulling.

use berth_oci::{Platform, Reference};
use berth_registry::client::RegistryClient;
use bollard_stubs::models::{DistributionInspect, OciDescriptor, OciPlatform};
use serde_json::Value;

use super::ImageError;
use super::pull::resolve;

fn oci_platform(p: &Platform) -> OciPlatform {
    OciPlatform {
        architecture: Some(p.architecture.clone()),
        os: Some(p.os.clone()),
        variant: p.variant.clone(),
        ..OciPlatform::default()
    }
}

pub async fn inspect(
    client: &RegistryClient,
    reference: &Reference,
) -> Result<DistributionInspect, ImageError> {
    let resolved = resolve(client, reference, None).await?;
    let platforms = if resolved.platforms.is_empty() {
        // A single manifest: its config names the platform.
        let bytes = resolved
            .fetch_config()
            .await
            .map_err(|e| ImageError::Registry {
                reference: reference.familiar_string(),
                source: Box::new(e),
            })?;
        let config: Value =
            serde_json::from_slice(&bytes).map_err(|source| ImageError::BadConfig {
                id: resolved.config.digest.to_string(),
                source,
            })?;
        let text = |k: &str| config.get(k).and_then(Value::as_str).map(str::to_owned);
        vec![OciPlatform {
            architecture: text("architecture"),
            os: text("os"),
            variant: text("variant"),
            ..OciPlatform::default()
        }]
    } else {
        resolved.platforms.iter().map(oci_platform).collect()
    };
    Ok(DistributionInspect {
        descriptor: OciDescriptor {
            media_type: Some(resolved.top.media_type.clone()),
            digest: Some(resolved.top.digest.to_string()),
            size: Some(resolved.top.size as i64),
            ..OciDescriptor::default()
        },
        platforms,
    })
}
