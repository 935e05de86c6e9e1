//! Layer compression: gzip (the default, what every client reads) or zstd
//! (`--compression zstd`, media type `application/vnd.oci.image.layer.v1.tar+zstd`). Both are
//! deterministic, so identical trees give identical digests.

use std::io::{self, Read, Write};

use berth_oci::media_type::{OCI_LAYER_GZIP, OCI_LAYER_ZSTD};

/// zstd's default level: about gzip's ratio at several times its speed.
const ZSTD_LEVEL: i32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    Gzip,
    Zstd,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown compression {value:?} (want gzip or zstd)")]
pub struct UnknownCompression {
    pub value: String,
}

impl std::str::FromStr for Compression {
    type Err = UnknownCompression;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "gzip" => Ok(Compression::Gzip),
            "zstd" => Ok(Compression::Zstd),
            _ => Err(UnknownCompression {
                value: value.to_string(),
            }),
        }
    }
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The OCI layer media type of blobs compressed this way.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::Gzip => OCI_LAYER_GZIP,
            Compression::Zstd => OCI_LAYER_ZSTD,
        }
    }

    /// Compresses a layer tar; the same input always gives the same bytes (gzip: no name,
    /// mtime 0; zstd: one thread, a fixed level).
    pub fn compress(self, tar: &[u8]) -> io::Result<Vec<u8>> {
        match self {
            Compression::Gzip => {
                let mut gz = flate2::GzBuilder::new()
                    .mtime(0)
                    .write(Vec::new(), flate2::Compression::default());
                gz.write_all(tar)?;
                gz.finish()
            }
            Compression::Zstd => zstd::stream::encode_all(tar, ZSTD_LEVEL),
        }
    }
}

/// A layer blob (any compression berth-store reads) recompressed as `to`.
pub fn recompress(blob: impl Read, to: Compression) -> io::Result<Vec<u8>> {
    let (_, mut tar_stream) =
        berth_store::layer::decompressed(blob).map_err(|e| io::Error::other(e.to_string()))?;
    let mut tar = Vec::new();
    tar_stream.read_to_end(&mut tar)?;
    to.compress(&tar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_round_trips() {
        assert_eq!("zstd".parse::<Compression>(), Ok(Compression::Zstd));
        assert_eq!("gzip".parse::<Compression>(), Ok(Compression::Gzip));
        assert!("xz".parse::<Compression>().is_err());
        let tar = b"not really a tar, but bytes to squeeze".repeat(50);
        let zstd = Compression::Zstd.compress(&tar).unwrap();
        assert!(zstd.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]));
        assert_eq!(zstd, Compression::Zstd.compress(&tar).unwrap());
        let gzip = recompress(&zstd[..], Compression::Gzip).unwrap();
        assert!(gzip.starts_with(&[0x1f, 0x8b]));
        assert_eq!(gzip, Compression::Gzip.compress(&tar).unwrap());
    }
}
