//! Repository names, tags and manifest references, parsed at the edge by the spec's grammar.

use std::fmt;

use berth_oci::Digest;

/// Longest accepted repository name (the spec lets registries cap it; 255 matches distribution).
pub const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("repository name {name:?} is empty or longer than {MAX_NAME_LEN} characters")]
    BadLength { name: String },
    #[error("repository name {name:?} has an invalid path component {component:?}")]
    BadComponent { name: String, component: String },
    #[error("tag {tag:?} does not match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}")]
    BadTag { tag: String },
}

/// A repository name matching
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
/// Because `.` may only sit between alphanumerics, `..` and empty components cannot occur,
/// so a name is safe to use as a relative path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    pub fn parse(name: &str) -> Result<RepoName, NameError> {
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(NameError::BadLength {
                name: name.to_owned(),
            });
        }
        for component in name.split('/') {
            if !valid_component(component) {
                return Err(NameError::BadComponent {
                    name: name.to_owned(),
                    component: component.to_owned(),
                });
            }
        }
        Ok(RepoName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        // One alphanumeric run.
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        // One separator: `.`, `_`, `__` or `-+`, followed by another run.
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if bytes.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn parse(tag: &str) -> Result<Tag, NameError> {
        let bytes = tag.as_bytes();
        let first_ok = bytes
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
        let rest_ok = bytes
            .iter()
            .skip(1)
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !first_ok || !rest_ok || bytes.len() > MAX_TAG_LEN {
            return Err(NameError::BadTag {
                tag: tag.to_owned(),
            });
        }
        Ok(Tag(tag.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `<reference>` of a manifest URL: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag(Tag),
    Digest(Digest),
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => t.fmt(f),
            Reference::Digest(d) => d.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spec_names() {
        for ok in [
            "a",
            "library/busybox",
            "a.b_c__d---e/f0",
            "fixtures/busybox",
            "x/y/z",
        ] {
            assert!(RepoName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_path_tricks_and_bad_names() {
        for bad in [
            "", "a/../b", "../a", "a/./b", "a//b", "/a", "a/", "A", "a..b", "a___b", "a.-b",
            "a%2fb", "a\\b", "-a", "a-", ".", "..",
        ] {
            assert!(RepoName::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(RepoName::parse(&"a".repeat(256)).is_err());
        assert!(RepoName::parse(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn tags_follow_the_grammar() {
        assert!(Tag::parse("1.35").is_ok());
        assert!(Tag::parse("_x-Y.z").is_ok());
        assert!(Tag::parse(".x").is_err());
        assert!(Tag::parse("a/b").is_err());
        assert!(Tag::parse("").is_err());
        assert!(Tag::parse(&"a".repeat(129)).is_err());
    }
}
