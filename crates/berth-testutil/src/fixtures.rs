//! The read-only test images in `../shared/images` (made by real Docker and skopeo).

use std::path::PathBuf;

/// `shared/` beside the repository checkout, or `$BERTH_SHARED` when set.
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BERTH_SHARED") {
        return PathBuf::from(dir);
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared = repo.join("../shared");
    assert!(
        shared.join("images").is_dir(),
        "test fixtures not found at {} (set BERTH_SHARED to the shared/ directory)",
        shared.display()
    );
    shared.canonicalize().expect("canonicalize shared dir")
}

/// Path of one fixture file, e.g. `fixture("busybox.oci-archive.tar")`.
pub fn fixture(name: &str) -> PathBuf {
    let path = shared_dir().join("images").join(name);
    assert!(path.is_file(), "missing test fixture {}", path.display());
    path
}
