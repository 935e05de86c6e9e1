//! Media type strings of OCI and Docker image manifests, configs and layers.

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_FOREIGN_LAYER: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
pub const OCI_NONDISTRIBUTABLE_LAYER_PREFIX: &str =
    "application/vnd.oci.image.layer.nondistributable.";

/// The kinds of manifest a registry stores, told apart by media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManifestKind {
    OciManifest,
    OciIndex,
    DockerManifest,
    DockerManifestList,
}

impl ManifestKind {
    pub const ALL: [ManifestKind; 4] = [
        ManifestKind::OciManifest,
        ManifestKind::OciIndex,
        ManifestKind::DockerManifest,
        ManifestKind::DockerManifestList,
    ];

    pub fn from_media_type(media_type: &str) -> Option<ManifestKind> {
        ManifestKind::ALL
            .into_iter()
            .find(|k| k.media_type() == media_type)
    }

    pub fn media_type(self) -> &'static str {
        match self {
            ManifestKind::OciManifest => OCI_MANIFEST,
            ManifestKind::OciIndex => OCI_INDEX,
            ManifestKind::DockerManifest => DOCKER_MANIFEST,
            ManifestKind::DockerManifestList => DOCKER_MANIFEST_LIST,
        }
    }

    /// Whether this kind lists other manifests (index / manifest list) rather than layers.
    pub fn is_index(self) -> bool {
        matches!(
            self,
            ManifestKind::OciIndex | ManifestKind::DockerManifestList
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_kinds_round_trip_through_media_types() {
        for kind in ManifestKind::ALL {
            assert_eq!(ManifestKind::from_media_type(kind.media_type()), Some(kind));
        }
        assert_eq!(ManifestKind::from_media_type("application/json"), None);
        assert!(ManifestKind::OciIndex.is_index());
        assert!(!ManifestKind::DockerManifest.is_index());
    }
}
