//! Image references (`[registry[:port]/]repo[:tag][@digest]`) with Docker Hub normalisation.
//!
//! A minimal private parser: `berth_oci::reference` lives on the `store` branch and is not in
//! `main` yet. Its API (`parse_normalized`, `domain`, `path`, `tag`, `digest`) matches this one so
//! the swap is mechanical once it lands.

use std::fmt;

use berth_oci::{Digest, DigestError};

pub const DEFAULT_DOMAIN: &str = "docker.io";
pub const DEFAULT_TAG: &str = "latest";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference {input:?}: empty repository name")]
    Empty { input: String },
    #[error("invalid reference {input:?}: bad repository name component {component:?}")]
    BadComponent { input: String, component: String },
    #[error("invalid reference {input:?}: bad tag {tag:?}")]
    BadTag { input: String, tag: String },
    #[error("invalid reference {input:?}: {source}")]
    BadDigest { input: String, source: DigestError },
}

/// A normalised reference: `busybox` → `docker.io/library/busybox:latest`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ImageRef {
    pub fn parse_normalized(input: &str) -> Result<ImageRef, ReferenceError> {
        let (rest, digest) = match input.split_once('@') {
            Some((name, d)) => {
                let digest = d.parse().map_err(|source| ReferenceError::BadDigest {
                    input: input.to_owned(),
                    source,
                })?;
                (name, Some(digest))
            }
            None => (input, None),
        };
        // The tag follows the last ':' after the last '/': `localhost:5000/x` has none.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag
            && !valid_tag(tag)
        {
            return Err(ReferenceError::BadTag {
                input: input.to_owned(),
                tag: tag.to_owned(),
            });
        }
        if name.is_empty() {
            return Err(ReferenceError::Empty {
                input: input.to_owned(),
            });
        }
        let (domain, path) = split_domain(name);
        for component in path.split('/') {
            if !valid_component(component) {
                return Err(ReferenceError::BadComponent {
                    input: input.to_owned(),
                    component: component.to_owned(),
                });
            }
        }
        let tag = match (tag, &digest) {
            (None, None) => Some(DEFAULT_TAG.to_owned()),
            (t, _) => t.map(str::to_owned),
        };
        Ok(ImageRef {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// The registry as named by the user (`docker.io`, `localhost:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository inside the registry, e.g. `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to put after `/manifests/`: the digest when pinned, else the tag.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_owned(),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Docker's `splitDockerDomain`: the first component is a registry only if it looks like a host.
fn split_domain(name: &str) -> (String, String) {
    let (mut domain, mut path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_owned();
    }
    if domain == DEFAULT_DOMAIN && !path.contains('/') {
        path = format!("library/{path}");
    }
    (domain, path)
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn valid_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    !tag.is_empty()
        && tag.len() <= 128
        && tag.bytes().next().is_some_and(word)
        && tag.bytes().all(|b| word(b) || b == b'.' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r = ImageRef::parse_normalized(s).unwrap();
        (
            r.domain().to_owned(),
            r.path().to_owned(),
            r.tag().map(str::to_owned),
            r.digest().map(ToString::to_string),
        )
    }

    #[test]
    fn normalises_like_docker() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            parts("busybox"),
            (
                "docker.io".into(),
                "library/busybox".into(),
                Some("latest".into()),
                None
            )
        );
        assert_eq!(parts("index.docker.io/user/app:1").1, "user/app");
        assert_eq!(
            parts("localhost:5000/x"),
            (
                "localhost:5000".into(),
                "x".into(),
                Some("latest".into()),
                None
            )
        );
        assert_eq!(
            parts(&format!("reg.example:443/a/b:v1@{d}")),
            (
                "reg.example:443".into(),
                "a/b".into(),
                Some("v1".into()),
                Some(d.clone())
            )
        );
        let pinned = ImageRef::parse_normalized(&format!("busybox@{d}")).unwrap();
        assert_eq!(pinned.tag(), None);
        assert_eq!(pinned.manifest_reference(), d);
    }

    #[test]
    fn rejects_bad_references() {
        assert!(ImageRef::parse_normalized("").is_err());
        assert!(ImageRef::parse_normalized("Busybox").is_err());
        assert!(ImageRef::parse_normalized("a//b").is_err());
        assert!(ImageRef::parse_normalized("a:-x").is_err());
        assert!(ImageRef::parse_normalized("a@sha256:zz").is_err());
    }
}
