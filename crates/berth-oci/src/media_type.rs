//! Media types of OCI and Docker image objects, parsed into an enum at the edge.

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_LAYER_NONDIST_TAR: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
pub const OCI_LAYER_NONDIST_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
pub const OCI_LAYER_NONDIST_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/// Docker schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_LAYER_FOREIGN_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Uncompressed layers as Docker writes them in some archives.
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// How a layer blob is compressed, as its media type declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// The kinds of objects an image graph may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    OciManifest,
    OciIndex,
    DockerManifest,
    DockerManifestList,
    Config,
    Layer(Compression),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown media type {media_type:?}")]
pub struct UnknownMediaType {
    pub media_type: String,
}

impl MediaType {
    pub fn parse(media_type: &str) -> Result<MediaType, UnknownMediaType> {
        Ok(match media_type {
            OCI_MANIFEST => MediaType::OciManifest,
            OCI_INDEX => MediaType::OciIndex,
            DOCKER_MANIFEST => MediaType::DockerManifest,
            DOCKER_MANIFEST_LIST => MediaType::DockerManifestList,
            OCI_CONFIG | DOCKER_CONFIG => MediaType::Config,
            OCI_LAYER_TAR | OCI_LAYER_NONDIST_TAR | DOCKER_LAYER_TAR => {
                MediaType::Layer(Compression::None)
            }
            OCI_LAYER_GZIP
            | OCI_LAYER_NONDIST_GZIP
            | DOCKER_LAYER_GZIP
            | DOCKER_LAYER_FOREIGN_GZIP => MediaType::Layer(Compression::Gzip),
            OCI_LAYER_ZSTD | OCI_LAYER_NONDIST_ZSTD => MediaType::Layer(Compression::Zstd),
            other => {
                return Err(UnknownMediaType {
                    media_type: other.to_owned(),
                });
            }
        })
    }

    pub fn is_manifest(self) -> bool {
        matches!(self, MediaType::OciManifest | MediaType::DockerManifest)
    }

    pub fn is_index(self) -> bool {
        matches!(self, MediaType::OciIndex | MediaType::DockerManifestList)
    }
}

/// The empty descriptor's media type (OCI artifacts' `config`).
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// Prefix of every OCI non-distributable layer media type.
pub const OCI_NONDISTRIBUTABLE_LAYER_PREFIX: &str =
    "application/vnd.oci.image.layer.nondistributable.";

/// Whether a layer of this media type lives outside registries (Docker "foreign" or OCI
/// non-distributable layers): never pushed, and a registry need not hold it.
pub fn is_non_distributable(media_type: &str) -> bool {
    media_type == DOCKER_LAYER_FOREIGN_GZIP
        || media_type.starts_with(OCI_NONDISTRIBUTABLE_LAYER_PREFIX)
}

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

    #[test]
    fn foreign_and_non_distributable_layers() {
        assert!(is_non_distributable(DOCKER_LAYER_FOREIGN_GZIP));
        assert!(is_non_distributable(OCI_LAYER_NONDIST_ZSTD));
        assert!(!is_non_distributable(OCI_LAYER_GZIP));
    }

    #[test]
    fn parses_known_and_rejects_unknown() {
        assert_eq!(
            MediaType::parse(DOCKER_LAYER_GZIP).unwrap(),
            MediaType::Layer(Compression::Gzip)
        );
        assert_eq!(
            MediaType::parse(OCI_LAYER_ZSTD).unwrap(),
            MediaType::Layer(Compression::Zstd)
        );
        assert!(MediaType::parse(OCI_INDEX).unwrap().is_index());
        let err = MediaType::parse("application/x-nope").unwrap_err();
        assert!(err.to_string().contains("application/x-nope"));
    }
}
