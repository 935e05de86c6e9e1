//! Platforms (`os/arch[/variant]`) and the rules for picking one out of an image index.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform {input:?}: want os/arch[/variant], e.g. linux/arm64/v8")]
pub struct PlatformError {
    pub input: String,
}

/// The `platform` object of an index entry (only the fields selection uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// The platform this process runs on, in Go/OCI spelling.
    pub fn host() -> Platform {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", Some("v8")),
            "arm" => ("arm", Some("v7")),
            "x86" => ("386", None),
            "powerpc64" => ("ppc64le", None),
            "s390x" => ("s390x", None),
            "riscv64" => ("riscv64", None),
            other => (other, None),
        };
        Platform {
            os: std::env::consts::OS.to_owned(),
            architecture: architecture.to_owned(),
            variant: variant.map(str::to_owned),
        }
    }

    /// Whether an index entry for `candidate` can run where `self` is wanted. Variants follow
    /// containerd: arm64 treats a missing variant as v8; arm accepts older variants
    /// (v7 runs v6 and v5) but ranks them lower (see [`Platform::rank`]).
    pub fn matches(&self, candidate: &Platform) -> bool {
        self.rank(candidate).is_some()
    }

    /// Lower is better; `None` when `candidate` does not run here.
    pub fn rank(&self, candidate: &Platform) -> Option<u32> {
        if self.os != candidate.os || self.architecture != candidate.architecture {
            return None;
        }
        let want = normalized_variant(&self.architecture, self.variant.as_deref());
        let have = normalized_variant(&candidate.architecture, candidate.variant.as_deref());
        match (want, have) {
            (None, _) => Some(0),
            (Some(w), Some(h)) if w == h => Some(0),
            (Some(_), None) => Some(1),
            (Some(w), Some(h)) if self.architecture == "arm" => {
                let (w, h) = (arm_level(&w)?, arm_level(&h)?);
                (h < w).then(|| 1 + w - h)
            }
            _ => None,
        }
    }
}

fn normalized_variant(arch: &str, variant: Option<&str>) -> Option<String> {
    match (arch, variant) {
        ("arm64", None | Some("8")) => Some("v8".to_owned()),
        ("arm", Some(v)) if !v.starts_with('v') => Some(format!("v{v}")),
        (_, v) => v.map(str::to_owned),
    }
}

fn arm_level(v: &str) -> Option<u32> {
    v.strip_prefix('v')?.parse().ok()
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(input: &str) -> Result<Platform, PlatformError> {
        let err = || PlatformError {
            input: input.to_owned(),
        };
        let mut parts = input.split('/');
        let os = parts.next().filter(|s| !s.is_empty()).ok_or_else(err)?;
        let arch = parts.next().filter(|s| !s.is_empty()).ok_or_else(err)?;
        let variant = parts.next().filter(|s| !s.is_empty());
        if parts.next().is_some() {
            return Err(err());
        }
        let architecture = match arch {
            "x86_64" | "x86-64" => "amd64",
            "aarch64" => "arm64",
            "armhf" => "arm",
            other => other,
        };
        Ok(Platform {
            os: os.to_ascii_lowercase(),
            architecture: architecture.to_owned(),
            variant: variant.map(str::to_owned),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_normalises() {
        assert_eq!(p("linux/x86_64"), p("linux/amd64"));
        assert_eq!(p("linux/arm/v7").variant.as_deref(), Some("v7"));
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux/arm/v7/x".parse::<Platform>().is_err());
        assert_eq!(p("linux/arm64/v8").to_string(), "linux/arm64/v8");
    }

    #[test]
    fn variant_rules() {
        assert!(p("linux/amd64").matches(&p("linux/amd64")));
        assert!(!p("linux/amd64").matches(&p("linux/arm64")));
        assert!(p("linux/arm64/v8").matches(&p("linux/arm64")));
        assert!(p("linux/arm64").matches(&p("linux/arm64/v8")));
        assert!(p("linux/arm/v7").matches(&p("linux/arm/v6")));
        assert!(!p("linux/arm/v6").matches(&p("linux/arm/v7")));
        assert!(
            p("linux/arm/v7").rank(&p("linux/arm/v7")) < p("linux/arm/v7").rank(&p("linux/arm/v6"))
        );
        assert!(!p("windows/amd64").matches(&p("linux/amd64")));
    }
}
