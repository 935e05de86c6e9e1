//! Manifest and index documents: just the fields pull and push need, parsed from the exact bytes
//! the registry serves (digests are always over those bytes, never over re-serialised JSON).

use std::collections::BTreeMap;

use berth_oci::Digest;
use berth_oci::media_type::{self, ManifestKind};
use serde::{Deserialize, Serialize};

use berth_oci::Platform;

/// Largest manifest we accept (the same default limit as distribution).
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// The Accept header for manifest GETs: every kind we can read.
pub fn accept_header() -> String {
    ManifestKind::ALL.map(ManifestKind::media_type).join(", ")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
}

impl Descriptor {
    /// Foreign / non-distributable layers live elsewhere (e.g. Windows base layers): never pushed.
    pub fn is_non_distributable(&self) -> bool {
        media_type::is_non_distributable(&self.media_type)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ImageIndex {
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MediaTypeProbe {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    config: Option<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "unsupported manifest media type {media_type:?} (supported: OCI manifest/index, Docker schema2 manifest/list)"
    )]
    UnsupportedMediaType { media_type: String },
    #[error(
        "manifest has no media type and schemaVersion {schema_version:?} (Docker schema1 is not supported)"
    )]
    UnknownKind { schema_version: Option<u32> },
}

/// A manifest of either kind, with its exact bytes.
#[derive(Debug, Clone)]
pub enum Manifest {
    Image(ImageManifest),
    Index(ImageIndex),
}

/// Decides the manifest kind from the Content-Type header (if any) and the document itself, then
/// parses it.
pub fn parse(
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<(ManifestKind, Manifest), ManifestError> {
    let probe: MediaTypeProbe = serde_json::from_slice(bytes)?;
    // Content-Type parameters (`; charset=…`) do not change the kind.
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim())
        .filter(|c| !c.is_empty() && *c != "application/json" && *c != "text/plain");
    let kind = match probe.media_type.as_deref().or(header) {
        Some(mt) => ManifestKind::from_media_type(mt).ok_or_else(|| {
            ManifestError::UnsupportedMediaType {
                media_type: mt.to_owned(),
            }
        })?,
        // OCI allows omitting mediaType: tell the two apart by shape.
        None if probe.schema_version == Some(2) && probe.manifests.is_some() => {
            ManifestKind::OciIndex
        }
        None if probe.schema_version == Some(2) && probe.config.is_some() => {
            ManifestKind::OciManifest
        }
        None => {
            return Err(ManifestError::UnknownKind {
                schema_version: probe.schema_version,
            });
        }
    };
    let manifest = if kind.is_index() {
        Manifest::Index(serde_json::from_slice(bytes)?)
    } else {
        Manifest::Image(serde_json::from_slice(bytes)?)
    };
    Ok((kind, manifest))
}

/// The best entry of an index for `want`, skipping attestation manifests (`unknown/unknown`).
pub fn select_platform<'a>(index: &'a ImageIndex, want: &Platform) -> Option<&'a Descriptor> {
    index
        .manifests
        .iter()
        .filter(|d| ManifestKind::from_media_type(&d.media_type).is_some_and(|k| !k.is_index()))
        .filter_map(|d| Some((want.rank(d.platform.as_ref()?)?, d)))
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(platform: &str) -> String {
        let (os, rest) = platform.split_once('/').unwrap();
        let (arch, variant) = match rest.split_once('/') {
            Some((a, v)) => (a, format!(",\"variant\":\"{v}\"")),
            None => (rest, String::new()),
        };
        format!(
            r#"{{"mediaType":"{}","digest":"sha256:{}","size":1,"platform":{{"os":"{os}","architecture":"{arch}"{variant}}}}}"#,
            media_type::OCI_MANIFEST,
            "a".repeat(64)
        )
    }

    #[test]
    fn picks_platform_from_index() {
        let doc = format!(
            r#"{{"schemaVersion":2,"manifests":[{},{},{},{}]}}"#,
            desc("unknown/unknown"),
            desc("linux/arm/v6"),
            desc("linux/arm/v7"),
            desc("linux/amd64")
        );
        let (kind, m) = parse(None, doc.as_bytes()).unwrap();
        assert_eq!(kind, ManifestKind::OciIndex);
        let Manifest::Index(index) = m else {
            panic!("index")
        };
        let pick = |p: &str| {
            select_platform(&index, &p.parse().unwrap())
                .map(|d| d.platform.clone().unwrap().to_string())
        };
        assert_eq!(pick("linux/amd64").as_deref(), Some("linux/amd64"));
        assert_eq!(pick("linux/arm/v7").as_deref(), Some("linux/arm/v7"));
        assert_eq!(pick("linux/arm/v6").as_deref(), Some("linux/arm/v6"));
        assert_eq!(pick("linux/arm64"), None);
    }

    #[test]
    fn rejects_unknown_media_types() {
        let doc = br#"{"schemaVersion":2,"mediaType":"application/vnd.example+json"}"#;
        assert!(matches!(
            parse(None, doc),
            Err(ManifestError::UnsupportedMediaType { .. })
        ));
        let schema1 = br#"{"schemaVersion":1,"name":"x"}"#;
        assert!(matches!(
            parse(None, schema1),
            Err(ManifestError::UnknownKind { .. })
        ));
        assert!(matches!(parse(None, b"nope"), Err(ManifestError::Json(_))));
    }
}
