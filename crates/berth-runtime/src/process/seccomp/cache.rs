//! An on-disk cache of compiled filters, so that every container started with the same
//! profile (Docker's default, typically) skips libseccomp's compile.
//!
//! The key is a SHA-256 over everything the BPF depends on: the profile, the libseccomp
//! version and API level (which decide what actions compile to) and the native architecture.
//! The cache directory must be as trusted as the runtime itself (root-only, e.g. under
//! `/run/berth`): a filter read from it is loaded as is. Files not owned by us or writable by
//! others are ignored and rewritten.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxSeccomp;
use sha2::{Digest, Sha256};

use super::{CompiledFilter, SeccompError};

// 2: programs are binary trees (SCMP_FLTATR_CTL_OPTIMIZE 2); 1-entries are never looked up.
const MAGIC: &[u8; 8] = b"BSCMP2\0\0";
const HEADER: usize = MAGIC.len() + 8;

fn cache_key(seccomp: &LinuxSeccomp) -> Result<String, SeccompError> {
    let profile =
        serde_json::to_vec(seccomp).map_err(|source| SeccompError::CacheKey { source })?;
    let version = libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default();
    let mut hash = Sha256::new();
    hash.update(MAGIC);
    hash.update(version.as_bytes());
    hash.update(libseccomp::get_api().to_le_bytes());
    hash.update(format!("{:?}", libseccomp::ScmpArch::native()).as_bytes());
    hash.update(profile);
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A cached filter, if the file exists, is ours, is not writable by others and is well formed.
fn read_trusted(path: &Path) -> Option<CompiledFilter> {
    let meta = fs::symlink_metadata(path).ok()?;
    let euid = rustix::process::geteuid().as_raw();
    if !meta.is_file() || meta.uid() != euid || meta.permissions().mode() & 0o022 != 0 {
        tracing::warn!(path = %path.display(), "untrusted seccomp cache entry ignored");
        return None;
    }
    let bytes = fs::read(path).ok()?;
    if bytes.len() <= HEADER || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    let flags = u64::from_le_bytes(bytes[MAGIC.len()..HEADER].try_into().ok()?);
    CompiledFilter::from_program_bytes(&bytes[HEADER..], flags).ok()
}

/// Writes `filter` to `path` atomically and durably, readable by its owner only.
fn write_atomically(path: &Path, filter: &CompiledFilter) -> io::Result<()> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&filter.flags().to_le_bytes());
    bytes.extend_from_slice(&filter.program_bytes());
    berth_fsutil::write_atomic(path, &bytes, 0o600)
}

impl CompiledFilter {
    /// Like `compile`, but reuses the filter compiled earlier for the same profile from
    /// `cache_dir` (created if missing), and stores a fresh compile there.
    pub fn compile_cached(
        seccomp: &LinuxSeccomp,
        cache_dir: &Path,
    ) -> Result<CompiledFilter, SeccompError> {
        let path: PathBuf = cache_dir.join(cache_key(seccomp)?);
        if let Some(filter) = read_trusted(&path) {
            return Ok(filter);
        }
        let filter = CompiledFilter::compile(seccomp)?;
        let store = fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(cache_dir)
            .and_then(|()| write_atomically(&path, &filter));
        if let Err(source) = store {
            // A cache that cannot be written only costs speed.
            tracing::warn!(path = %path.display(), %source, "could not store compiled seccomp filter");
        }
        Ok(filter)
    }
}
