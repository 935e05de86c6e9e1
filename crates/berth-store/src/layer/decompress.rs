//! Picks the decompressor for a layer stream from its first bytes, whatever its media type says.

use std::io::{self, BufRead, BufReader, Read};

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const BZIP2_MAGIC: &[u8] = b"BZh";
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
/// Large reads keep syscalls and decompressor calls few on 100+ MB layers.
pub const STREAM_BUFFER: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    Tar,
    Gzip,
    Zstd,
}

#[derive(Debug, thiserror::Error)]
pub enum DecompressError {
    #[error("reading the layer stream: {0}")]
    Read(#[from] io::Error),
    #[error("layer is compressed with {format}, which is not supported (use tar, gzip or zstd)")]
    Unsupported { format: &'static str },
}

/// Wraps `reader` in the right decompressor. The returned stream yields the uncompressed tar.
pub fn decompressed<'a>(
    reader: impl Read + 'a,
) -> Result<(Detected, Box<dyn Read + 'a>), DecompressError> {
    let mut buffered = BufReader::with_capacity(STREAM_BUFFER, reader);
    let head = buffered.fill_buf()?;
    let detected = if head.starts_with(GZIP_MAGIC) {
        Detected::Gzip
    } else if head.starts_with(ZSTD_MAGIC) {
        Detected::Zstd
    } else if head.starts_with(BZIP2_MAGIC) {
        return Err(DecompressError::Unsupported { format: "bzip2" });
    } else if head.starts_with(XZ_MAGIC) {
        return Err(DecompressError::Unsupported { format: "xz" });
    } else {
        Detected::Tar
    };
    let stream: Box<dyn Read + 'a> = match detected {
        Detected::Tar => Box::new(buffered),
        Detected::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Detected::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
    };
    Ok((detected, stream))
}
