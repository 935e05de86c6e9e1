//! Container IDs: parsed once at the edge, so a path can never be smuggled in as an ID.

use std::fmt;

#[derive(Debug, thiserror::Error)]
#[error("invalid container id {id:?}: {reason}")]
pub struct InvalidId {
    pub id: String,
    pub reason: &'static str,
}

/// A container ID: 1-1024 characters from `[A-Za-z0-9_+.-]`, not `.` or `..` (runc's rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId(String);

impl ContainerId {
    pub fn parse(id: &str) -> Result<ContainerId, InvalidId> {
        let bad = |reason| {
            Err(InvalidId {
                id: id.to_string(),
                reason,
            })
        };
        if id.is_empty() {
            return bad("empty");
        }
        if id.len() > 1024 {
            return bad("longer than 1024 characters");
        }
        if id == "." || id == ".." {
            return bad("'.' and '..' are not container ids");
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'))
        {
            return bad("only letters, digits, '_', '+', '-' and '.' are allowed");
        }
        Ok(ContainerId(id.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::ContainerId;

    #[test]
    fn accepts_runc_style_ids_and_rejects_paths() {
        assert!(ContainerId::parse("abc-1.2_3+x").is_ok());
        for bad in ["", ".", "..", "a/b", "../x", "a b", "é"] {
            assert!(ContainerId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
