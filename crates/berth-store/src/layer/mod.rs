//! Layer tars: applying them (with whiteouts, in overlay format) and detecting their compression.

mod apply;
mod decompress;
mod meta;
mod pipeline;
pub(crate) mod safe_dir;

use std::io;

pub use apply::{Applied, OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX, apply_layer};
pub use decompress::{DecompressError, Detected, STREAM_BUFFER, decompressed};

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("layer stream: {0}")]
    Decompress(#[from] DecompressError),
    #[error("reading layer tar{}: {source}", entry.as_ref().map(|e| format!(" at entry {e:?}")).unwrap_or_default())]
    Read {
        entry: Option<String>,
        source: io::Error,
    },
    #[error("layer entry {entry:?} refused: its path {reason}")]
    UnsafePath { entry: String, reason: &'static str },
    #[error(
        "layer entry {entry:?} refused: a parent directory is a symlink (not followed during extraction)"
    )]
    SymlinkInPath { entry: String },
    #[error("layer entry {entry:?} refused: hard link target {target:?} {reason}")]
    HardLinkEscape {
        entry: String,
        target: String,
        reason: &'static str,
    },
    #[error("layer entry {entry:?}: hard link target {target:?} was not extracted before it")]
    HardLinkTargetMissing { entry: String, target: String },
    #[error("layer entry {entry:?}: link has no target")]
    MissingLinkTarget { entry: String },
    #[error("layer entry {entry:?} has unsupported tar type {kind:?}")]
    UnsupportedEntryType { entry: String, kind: u8 },
    #[error("layer entry {entry:?}: {op}: {source}")]
    Io {
        entry: String,
        op: &'static str,
        source: io::Error,
    },
}
