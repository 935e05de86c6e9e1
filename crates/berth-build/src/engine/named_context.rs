//! Named build contexts (`--build-context NAME=VALUE`, as BuildKit has them): extra sources a
//! Dockerfile reaches by name through `FROM NAME`, `COPY --from=NAME` and
//! `RUN --mount=…,from=NAME`. A name is normalised like an image reference (`busybox`,
//! `docker.io/library/busybox:latest` and `busybox:latest` are one name), so a context can stand
//! in for an image a FROM names; a context named like a stage replaces that whole stage.
//!
//! Between client and daemon (Berth's own extension of `POST /build`, the `buildcontexts` query
//! parameter) a value is either `docker-image://REF` or `context:<dir>`: a local directory the
//! client sent inside the main context tar under [`BUNDLED_DIR`]`/<dir>/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_oci::{Reference, ReferenceError};

/// Where the client puts local-directory contexts inside the main context tar; the daemon
/// takes it out of the main context before building, so `COPY .` never sees it.
pub const BUNDLED_DIR: &str = ".berth-contexts";

/// The value prefix of an image context.
pub const IMAGE_PREFIX: &str = "docker-image://";

/// The wire value prefix of a local directory sent inside the context tar.
pub const BUNDLED_PREFIX: &str = "context:";

/// Names a named context can never take: BuildKit keeps `FROM scratch` and the main context's
/// own name for themselves.
const RESERVED: [&str; 2] = ["scratch", "context"];

/// What a named context holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedContext {
    /// The files of a directory (its own `.dockerignore` applies, as BuildKit does).
    Local(PathBuf),
    /// An image (a reference as the store or a registry knows it); `scratch` is an empty tree.
    Image(String),
}

#[derive(Debug, thiserror::Error)]
pub enum NamedContextError {
    #[error("invalid --build-context {flag:?}: the context name is empty")]
    EmptyName { flag: String },
    #[error("invalid --build-context {flag:?}: invalid context name {name:?}: {source}")]
    BadName {
        flag: String,
        name: String,
        source: Box<ReferenceError>,
    },
    #[error("invalid --build-context {flag:?}: {name:?} is a reserved name")]
    ReservedName { flag: String, name: String },
    #[error("invalid --build-context {flag:?}: invalid image reference {reference:?}: {source}")]
    BadImage {
        flag: String,
        reference: String,
        source: Box<ReferenceError>,
    },
    #[error("--build-context {flag:?}: {kind} contexts are not supported by this builder")]
    Unsupported { flag: String, kind: &'static str },
    #[error(
        "invalid --build-context {flag:?}: want a directory or docker-image://REF \
         (a directory travels in the context tar as {BUNDLED_PREFIX}<dir>)"
    )]
    UnknownSource { flag: String },
    #[error(
        "invalid --build-context {flag:?}: {dir:?} is not one directory name under {BUNDLED_DIR}"
    )]
    BadBundledDir { flag: String, dir: String },
    #[error("--build-context {name:?}: {path} is not a directory in the build context")]
    MissingDir { name: String, path: PathBuf },
}

/// The key BuildKit looks a name up by: the reference in its familiar form without `:latest`.
pub fn context_key(name: &str) -> Result<String, ReferenceError> {
    let familiar = Reference::parse_name_only(name)?.familiar_string();
    Ok(familiar
        .strip_suffix(":latest")
        .map(str::to_string)
        .unwrap_or(familiar))
}

/// The named contexts of one build, by normalised name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedContexts(BTreeMap<String, NamedContext>);

impl NamedContexts {
    pub fn new() -> NamedContexts {
        NamedContexts::default()
    }

    /// Adds `context` under `name` (normalised; a later one of the same name wins, as in
    /// buildx).
    pub fn insert(&mut self, name: &str, context: NamedContext) -> Result<(), NamedContextError> {
        let key = checked_key(name, &describe(name, &context))?;
        self.0.insert(key, context);
        Ok(())
    }

    /// The context a FROM, `--from` or stage name reaches, if any (`scratch` and `context`
    /// never do).
    pub fn get(&self, reference: &str) -> Option<&NamedContext> {
        if self.0.is_empty() {
            return None;
        }
        self.0.get(&lookup_key(reference)?)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &NamedContext)> {
        self.0.iter()
    }
}

/// The key `reference` (a FROM image, a `--from` or a stage name) looks a context up by;
/// none for the reserved names and for what is no reference.
pub(crate) fn lookup_key(reference: &str) -> Option<String> {
    if is_reserved(reference) {
        return None;
    }
    context_key(reference).ok()
}

fn is_reserved(name: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

fn checked_key(name: &str, flag: &str) -> Result<String, NamedContextError> {
    if name.is_empty() {
        return Err(NamedContextError::EmptyName {
            flag: flag.to_string(),
        });
    }
    let key = context_key(name).map_err(|source| NamedContextError::BadName {
        flag: flag.to_string(),
        name: name.to_string(),
        source: Box::new(source),
    })?;
    if is_reserved(&key) {
        return Err(NamedContextError::ReservedName {
            flag: flag.to_string(),
            name: name.to_string(),
        });
    }
    Ok(key)
}

fn describe(name: &str, context: &NamedContext) -> String {
    match context {
        NamedContext::Local(path) => format!("{name}={}", path.display()),
        NamedContext::Image(reference) => format!("{name}={IMAGE_PREFIX}{reference}"),
    }
}

/// A named context as it arrives over the API, before the context tar is unpacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireContext {
    Image(String),
    /// `context:<dir>`: `<BUNDLED_DIR>/<dir>` of the context tar.
    Bundled(String),
}

/// One `buildcontexts` entry (`name` → `value`), checked: the name normalised, an image
/// reference parsed, a bundled directory one plain path component.
pub fn parse_wire(name: &str, value: &str) -> Result<(String, WireContext), NamedContextError> {
    let flag = format!("{name}={value}");
    let key = checked_key(name, &flag)?;
    if let Some(reference) = value.strip_prefix(IMAGE_PREFIX) {
        if reference != "scratch" {
            Reference::parse_normalized(reference).map_err(|source| {
                NamedContextError::BadImage {
                    flag: flag.clone(),
                    reference: reference.to_string(),
                    source: Box::new(source),
                }
            })?;
        }
        return Ok((key, WireContext::Image(reference.to_string())));
    }
    if let Some(dir) = value.strip_prefix(BUNDLED_PREFIX) {
        let plain = !dir.is_empty()
            && dir != "."
            && dir != ".."
            && !dir.contains(['/', '\\', '\0'])
            && !dir.contains(std::path::MAIN_SEPARATOR);
        if !plain {
            return Err(NamedContextError::BadBundledDir {
                flag,
                dir: dir.to_string(),
            });
        }
        return Ok((key, WireContext::Bundled(dir.to_string())));
    }
    if let Some(kind) = unsupported_kind(value) {
        return Err(NamedContextError::Unsupported { flag, kind });
    }
    Err(NamedContextError::UnknownSource { flag })
}

/// The kind of a context value BuildKit takes and this builder refuses: git repositories, URLs
/// of tarballs, OCI layouts and other frontends' inputs.
pub fn unsupported_kind(value: &str) -> Option<&'static str> {
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("git@") || lower.starts_with("git://") || lower.starts_with("ssh://") {
        return Some("git");
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let path = lower.split(['?', '#']).next().unwrap_or_default();
        return Some(if path.ends_with(".git") {
            "git"
        } else {
            "http(s) URL"
        });
    }
    if lower.starts_with("oci-layout://") {
        return Some("oci-layout");
    }
    if lower.starts_with("target:") || lower.starts_with("input:") {
        return Some("bake target / frontend input");
    }
    None
}

impl WireContext {
    /// The context, its bundled directory found under `bundled_root` (where the daemon moved
    /// [`BUNDLED_DIR`] out of the unpacked context).
    pub fn resolve(
        &self,
        name: &str,
        bundled_root: &Path,
    ) -> Result<NamedContext, NamedContextError> {
        match self {
            WireContext::Image(reference) => Ok(NamedContext::Image(reference.clone())),
            WireContext::Bundled(dir) => {
                let path = bundled_root.join(dir);
                let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
                if !is_dir {
                    return Err(NamedContextError::MissingDir {
                        name: name.to_string(),
                        path: Path::new(BUNDLED_DIR).join(dir),
                    });
                }
                Ok(NamedContext::Local(path))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_like_image_references() {
        for (name, key) in [
            ("busybox", "busybox"),
            ("busybox:latest", "busybox"),
            ("docker.io/library/busybox:latest", "busybox"),
            ("busybox:1.35", "busybox:1.35"),
            ("fixtures/busybox:1.35", "fixtures/busybox:1.35"),
            ("localhost:5000/x", "localhost:5000/x"),
            ("src", "src"),
        ] {
            assert_eq!(context_key(name).unwrap(), key, "{name}");
        }
        assert!(context_key("Src").is_err());
    }

    #[test]
    fn lookups_skip_reserved_names_and_normalise() {
        let mut contexts = NamedContexts::new();
        contexts
            .insert(
                "busybox",
                NamedContext::Image("fixtures/busybox:1.35".into()),
            )
            .unwrap();
        assert!(contexts.get("docker.io/library/busybox").is_some());
        assert!(contexts.get("busybox:1.35").is_none());
        assert!(contexts.get("SCRATCH").is_none());
        for reserved in ["scratch", "context"] {
            let err = contexts
                .insert(reserved, NamedContext::Local("/x".into()))
                .unwrap_err();
            assert!(
                matches!(err, NamedContextError::ReservedName { .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn wire_values_are_checked() {
        assert_eq!(
            parse_wire("base", "docker-image://fixtures/busybox:1.35").unwrap(),
            (
                "base".to_string(),
                WireContext::Image("fixtures/busybox:1.35".into())
            )
        );
        assert_eq!(
            parse_wire("src", "context:0-src").unwrap().1,
            WireContext::Bundled("0-src".into())
        );
        let err = |name: &str, value: &str| parse_wire(name, value).unwrap_err().to_string();
        for bad in ["context:..", "context:a/b", "context:", "context:."] {
            let text = err("src", bad);
            assert!(
                text.contains("--build-context") && text.contains(bad),
                "{text}"
            );
        }
        let text = err("", "docker-image://busybox");
        assert!(text.contains("context name is empty"), "{text}");
        let text = err("x", "docker-image://Bad:Ref");
        assert!(text.contains("x=docker-image://Bad:Ref"), "{text}");
        let text = err("x", "https://github.com/moby/buildkit.git");
        assert!(text.contains("git contexts are not supported"), "{text}");
        let text = err("x", "https://example.com/src.tar");
        assert!(text.contains("http(s) URL"), "{text}");
        let text = err("x", "/home/me/src");
        assert!(
            text.contains("want a directory or docker-image://"),
            "{text}"
        );
    }
}
