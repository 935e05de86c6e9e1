//! Docker image references (`[registry[:port]/]repo[:tag][@digest]`), normalised the way Docker does:
//! `busybox` → `docker.io/library/busybox:latest`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::{Digest, DigestError};

/// The registry used when a reference names none.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The tag used when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format: {input:?} is empty")]
    Empty { input: String },
    #[error("invalid reference format: repository name in {input:?} must be lowercase")]
    Uppercase { input: String },
    #[error(
        "invalid reference format: {input:?} has an invalid repository name component {component:?}"
    )]
    BadComponent { input: String, component: String },
    #[error("invalid reference format: {input:?} has an invalid registry domain {domain:?}")]
    BadDomain { input: String, domain: String },
    #[error("invalid reference format: {input:?} has an invalid tag {tag:?}")]
    BadTag { input: String, tag: String },
    #[error(
        "invalid reference format: repository name in {input:?} is longer than {MAX_NAME_LEN} characters"
    )]
    NameTooLong { input: String },
    #[error(
        "invalid repository name {input:?}: cannot specify 64-byte hexadecimal strings (that is an image ID)"
    )]
    HexName { input: String },
    #[error("invalid reference format: bad digest in {input:?}: {source}")]
    BadDigest { input: String, source: DigestError },
}

/// A parsed, normalised image reference. At least one of tag and digest is set after
/// [`Reference::parse_normalized`] (the tag defaults to `latest` when neither was given).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses like Docker's `ParseNormalizedNamed` + `TagNameOnly`: a missing domain becomes
    /// `docker.io`, single-component Docker Hub names get `library/`, a missing tag becomes
    /// `latest` unless a digest is given.
    pub fn parse_normalized(input: &str) -> Result<Reference, ReferenceError> {
        let mut reference = Self::parse_name_only(input)?;
        if reference.tag.is_none() && reference.digest.is_none() {
            reference.tag = Some(DEFAULT_TAG.to_owned());
        }
        Ok(reference)
    }

    /// Parses and normalises the domain/path but adds no default tag (a bare repository name,
    /// e.g. for `docker images busybox` filters).
    pub fn parse_name_only(input: &str) -> Result<Reference, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty {
                input: input.to_owned(),
            });
        }
        if input.len() == 64 && input.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ReferenceError::HexName {
                input: input.to_owned(),
            });
        }
        let (rest, digest) = match input.split_once('@') {
            Some((name, digest)) => {
                let digest =
                    digest
                        .parse::<Digest>()
                        .map_err(|source| ReferenceError::BadDigest {
                            input: input.to_owned(),
                            source,
                        })?;
                (name, Some(digest))
            }
            None => (input, None),
        };
        // A tag is after the last ':' that comes after the last '/': `localhost:5000/x` has none.
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
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase {
                input: input.to_owned(),
            });
        }
        if !valid_domain(&domain) {
            return Err(ReferenceError::BadDomain {
                input: input.to_owned(),
                domain,
            });
        }
        for component in path.split('/') {
            if !valid_component(component) {
                return Err(ReferenceError::BadComponent {
                    input: input.to_owned(),
                    component: component.to_owned(),
                });
            }
        }
        if domain.len() + 1 + path.len() > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong {
                input: input.to_owned(),
            });
        }
        Ok(Reference {
            domain,
            path,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path inside the registry, e.g. `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `domain/path`, e.g. `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The name as Docker shows it: `busybox`, `user/app`, `localhost:5000/x`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
                Some(short) if !short.contains('/') => short.to_owned(),
                _ => self.path.clone(),
            }
        } else {
            self.name()
        }
    }

    /// `busybox:latest`, `localhost:5000/x@sha256:…` — as `docker images` shows it.
    pub fn familiar_string(&self) -> String {
        let mut out = self.familiar_name();
        self.push_suffix(&mut out);
        out
    }

    /// The same repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        if !valid_tag(tag) {
            return Err(ReferenceError::BadTag {
                input: tag.to_owned(),
                tag: tag.to_owned(),
            });
        }
        Ok(Reference {
            tag: Some(tag.to_owned()),
            digest: None,
            ..self.clone()
        })
    }

    /// The same repository pinned to a digest, without a tag (a "RepoDigest").
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The same repository with neither tag nor digest.
    pub fn without_suffix(&self) -> Reference {
        Reference {
            tag: None,
            digest: None,
            ..self.clone()
        }
    }

    fn push_suffix(&self, out: &mut String) {
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(&digest.to_string());
        }
    }
}

/// Docker's `splitDockerDomain`: the first component is a domain only if it looks like a host.
fn split_domain(name: &str) -> (String, String) {
    let (mut domain, mut path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_owned();
    }
    if domain == DEFAULT_DOMAIN && !path.contains('/') {
        path = format!("{OFFICIAL_REPO_PREFIX}{path}");
    }
    (domain, path)
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
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
        let sep = &component[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `host[:port]` where host is dot-separated labels or a bracketed IPv6 address.
fn valid_domain(domain: &str) -> bool {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let Some((ip, after)) = rest.split_once(']') else {
            return false;
        };
        if ip.is_empty()
            || !ip
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("ok", Some(port)),
                None => return false,
            },
        }
    } else {
        match domain.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    host.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    })
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_TAG_LEN
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Reference::parse_normalized(input)
    }
}

/// The fully qualified form: `docker.io/library/busybox:latest`.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        self.push_suffix(&mut out);
        f.write_str(&out)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Reference {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Reference::parse_name_only(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[path = "reference_tests.rs"]
mod tests;
