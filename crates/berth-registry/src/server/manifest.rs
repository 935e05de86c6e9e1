//! Manifest validation at PUT: JSON shape, media type, and the descriptors it references.

use std::collections::BTreeMap;

use berth_oci::Digest;
use berth_oci::media_type::ManifestKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid JSON of the expected shape: {source}")]
    Json { source: serde_json::Error },
    #[error("schemaVersion must be 2, got {found:?}")]
    SchemaVersion { found: Option<i64> },
    #[error("unsupported manifest media type {media_type:?}")]
    MediaType { media_type: String },
    #[error("mediaType {body:?} in the manifest disagrees with Content-Type {header:?}")]
    MediaTypeMismatch { body: String, header: String },
    #[error("{kind:?} manifest lacks the required field {field:?}")]
    MissingField {
        kind: ManifestKind,
        field: &'static str,
    },
}

/// A content descriptor as it appears in manifests and the referrers index.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Descriptor {
    /// Foreign / non-distributable layers with URLs live elsewhere; the registry need not hold them.
    pub fn is_foreign(&self) -> bool {
        self.urls.as_ref().is_some_and(|u| !u.is_empty())
            && berth_oci::media_type::is_non_distributable(&self.media_type)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    annotations: Option<BTreeMap<String, String>>,
}

/// What the registry needs to know about a manifest.
#[derive(Debug)]
pub struct Manifest {
    pub kind: ManifestKind,
    /// Config and layers (image manifests): must exist as blobs.
    pub blobs: Vec<Descriptor>,
    /// Child manifests (indexes): must exist as manifests.
    pub children: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    /// `artifactType`, or for image manifests the config's media type (as the referrers API wants).
    pub artifact_type: Option<String>,
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Manifest {
    /// Parses `body` pushed with `content_type` (may be absent).
    pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Manifest, ManifestError> {
        let raw: RawManifest =
            serde_json::from_slice(body).map_err(|source| ManifestError::Json { source })?;
        if raw.schema_version != Some(2) {
            return Err(ManifestError::SchemaVersion {
                found: raw.schema_version,
            });
        }
        let header = content_type.map(|c| c.split(';').next().unwrap_or(c).trim());
        let media_type = match (&raw.media_type, header) {
            (Some(body_type), Some(h))
                if body_type != h && ManifestKind::from_media_type(h).is_some() =>
            {
                return Err(ManifestError::MediaTypeMismatch {
                    body: body_type.clone(),
                    header: h.to_owned(),
                });
            }
            (Some(body_type), _) => body_type.clone(),
            (None, Some(h)) if ManifestKind::from_media_type(h).is_some() => h.to_owned(),
            // OCI allows omitting mediaType: tell the two OCI kinds apart by their fields.
            (None, _) if raw.manifests.is_some() => berth_oci::media_type::OCI_INDEX.to_owned(),
            (None, _) => berth_oci::media_type::OCI_MANIFEST.to_owned(),
        };
        let kind = ManifestKind::from_media_type(&media_type)
            .ok_or(ManifestError::MediaType { media_type })?;
        let mut manifest = Manifest {
            kind,
            blobs: Vec::new(),
            children: Vec::new(),
            subject: raw.subject,
            artifact_type: raw.artifact_type,
            annotations: raw.annotations,
        };
        if kind.is_index() {
            manifest.children = raw.manifests.ok_or(ManifestError::MissingField {
                kind,
                field: "manifests",
            })?;
        } else {
            let config = raw.config.ok_or(ManifestError::MissingField {
                kind,
                field: "config",
            })?;
            let layers = raw.layers.ok_or(ManifestError::MissingField {
                kind,
                field: "layers",
            })?;
            if manifest.artifact_type.is_none() {
                manifest.artifact_type = Some(config.media_type.clone());
            }
            manifest.blobs.push(config);
            manifest
                .blobs
                .extend(layers.into_iter().filter(|l| !l.is_foreign()));
        }
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_image_manifest_and_artifact_type() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{{"mediaType":"application/vnd.example+json","digest":"{D}","size":0}},
            "layers":[{{"mediaType":"x","digest":"{D}","size":0}}],
            "subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{D}","size":1}}}}"#
        );
        let m = Manifest::parse(body.as_bytes(), None).unwrap();
        assert_eq!(m.kind, ManifestKind::OciManifest);
        assert_eq!(m.blobs.len(), 2);
        assert_eq!(
            m.artifact_type.as_deref(),
            Some("application/vnd.example+json")
        );
        assert!(m.subject.is_some());
    }

    #[test]
    fn rejects_bad_manifests() {
        assert!(matches!(
            Manifest::parse(b"{", None),
            Err(ManifestError::Json { .. })
        ));
        assert!(matches!(
            Manifest::parse(br#"{"schemaVersion":1}"#, None),
            Err(ManifestError::SchemaVersion { .. })
        ));
        let no_config = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
        assert!(matches!(
            Manifest::parse(no_config, None),
            Err(ManifestError::MissingField { .. })
        ));
        let odd = br#"{"schemaVersion":2,"mediaType":"text/plain"}"#;
        assert!(matches!(
            Manifest::parse(odd, None),
            Err(ManifestError::MediaType { .. })
        ));
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        let mismatch = Manifest::parse(index, Some("application/vnd.oci.image.manifest.v1+json"));
        assert!(matches!(
            mismatch,
            Err(ManifestError::MediaTypeMismatch { .. })
        ));
        let bad_digest = br#"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:../x","size":1}]}"#;
        assert!(matches!(
            Manifest::parse(bad_digest, None),
            Err(ManifestError::Json { .. })
        ));
    }
}
