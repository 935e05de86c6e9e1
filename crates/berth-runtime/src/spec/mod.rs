//! The bundle's `config.json`: loading with errors that name the offending field, semantic
//! validation, and runc's default spec (`berth-runc spec`).

mod default;
mod validate;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

pub use default::{default_spec, rootless_spec};
pub use validate::validate;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON at field `{field}`: {message}")]
    Parse {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("config.json: invalid `{field}`: {reason}")]
    Invalid { field: String, reason: String },
}

impl SpecError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> SpecError {
        SpecError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Reads `<bundle>/config.json`. A type error names the JSON path of the field (`process.args`).
pub fn load(bundle: &Path) -> Result<Spec, SpecError> {
    load_with_digest(bundle).map(|(spec, _)| spec)
}

/// [`load`], and a digest of the bytes read: two processes that each read the file can tell
/// whether they read the same (it is no defence against a bundle's owner, who can write
/// any config they like anyway).
pub(crate) fn load_with_digest(bundle: &Path) -> Result<(Spec, u64), SpecError> {
    let path = bundle.join("config.json");
    let bytes = std::fs::read(&path).map_err(|source| SpecError::Read {
        path: path.clone(),
        source,
    })?;
    let digest = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        bytes.hash(&mut hasher);
        hasher.finish()
    };
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let spec = serde_path_to_error::deserialize(&mut de).map_err(|e| SpecError::Parse {
        path,
        field: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    Ok((spec, digest))
}

/// The rootfs directory named by `root.path` (relative paths are relative to the bundle).
pub fn rootfs_path(spec: &Spec, bundle: &Path) -> Result<PathBuf, SpecError> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| SpecError::invalid("root", "missing"))?;
    let path = root.path();
    let joined = if path.is_absolute() {
        path.clone()
    } else {
        bundle.join(path)
    };
    joined
        .canonicalize()
        .map_err(|e| SpecError::invalid("root.path", format!("{}: {e}", joined.display())))
}
