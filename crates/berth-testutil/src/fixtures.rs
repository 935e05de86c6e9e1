//! The read-only test images in `../shared/images` (made by real Docker and skopeo).

use std::path::PathBuf;

/// `shared/` beside the repository checkout (or beside any directory above it, so git
/// worktrees find it too), or `$BERTH_SHARED` when set.
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BERTH_SHARED") {
        return PathBuf::from(dir);
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let repo = repo.canonicalize().expect("canonicalize repository dir");
    repo.ancestors()
        .map(|dir| dir.join("shared"))
        .find(|shared| shared.join("images").is_dir())
        .unwrap_or_else(|| {
            panic!(
                "test fixtures (shared/images) not found beside {} or any parent (set BERTH_SHARED)",
                repo.display()
            )
        })
}

/// Path of one fixture file, e.g. `fixture("busybox.oci-archive.tar")`.
pub fn fixture(name: &str) -> PathBuf {
    let path = shared_dir().join("images").join(name);
    assert!(path.is_file(), "missing test fixture {}", path.display());
    path
}
