//! Named build contexts of `POST /build` (Berth's `buildcontexts` parameter): directories the
//! client sent inside the context tar under [`BUNDLED_DIR`] are moved out of the unpacked
//! context before the build — the main context never shows them, whatever its
//! `.dockerignore` says — and handed to the builder by name.

use std::collections::BTreeMap;
use std::path::Path;

use berth_build::engine::NamedContexts;
use berth_build::engine::named_context::{BUNDLED_DIR, NamedContextError, WireContext};

/// Takes `<context>/.berth-contexts` out of the context into `bundled` (an empty directory,
/// replaced); a file or link of that name is removed. Returns whether there was a directory.
pub(super) fn take_bundled(context: &Path, bundled: &Path) -> std::io::Result<bool> {
    let reserved = context.join(BUNDLED_DIR);
    match std::fs::symlink_metadata(&reserved) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
        Ok(meta) if meta.is_dir() => std::fs::rename(&reserved, bundled).map(|()| true),
        Ok(_) => std::fs::remove_file(&reserved).map(|()| false),
    }
}

/// The request's contexts, bundled directories found under `bundled`.
pub(super) fn resolve(
    wire: &BTreeMap<String, WireContext>,
    bundled: &Path,
) -> Result<NamedContexts, NamedContextError> {
    let mut contexts = NamedContexts::new();
    for (name, value) in wire {
        contexts.insert(name, value.resolve(name, bundled)?)?;
    }
    Ok(contexts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_build::engine::NamedContext;

    #[test]
    fn bundled_directories_leave_the_context() {
        let top = tempfile::tempdir().unwrap();
        let context = top.path().join("ctx");
        let bundled = top.path().join("bundled");
        std::fs::create_dir_all(context.join(BUNDLED_DIR).join("0-src")).unwrap();
        std::fs::write(context.join(BUNDLED_DIR).join("0-src/a"), "a").unwrap();
        std::fs::create_dir(&bundled).unwrap();
        assert!(take_bundled(&context, &bundled).unwrap());
        assert!(!context.join(BUNDLED_DIR).exists());
        let wire = BTreeMap::from([
            ("src".to_string(), WireContext::Bundled("0-src".into())),
            ("base".to_string(), WireContext::Image("busybox".into())),
        ]);
        let contexts = resolve(&wire, &bundled).unwrap();
        assert_eq!(
            contexts.get("src"),
            Some(&NamedContext::Local(bundled.join("0-src")))
        );
        let missing = BTreeMap::from([("x".to_string(), WireContext::Bundled("1-x".into()))]);
        let err = resolve(&missing, &bundled).unwrap_err().to_string();
        assert!(
            err.contains("\"x\"") && err.contains(".berth-contexts/1-x"),
            "{err}"
        );
        // A plain file of the reserved name is dropped too.
        std::fs::write(context.join(BUNDLED_DIR), "x").unwrap();
        assert!(!take_bundled(&context, &top.path().join("other")).unwrap());
        assert!(!context.join(BUNDLED_DIR).exists());
    }
}
