//! Instruction flags (`--from=x`, `--link`, repeated `--mount=...`): declared per instruction,
//! then checked: unknown, duplicate, valueless and non-boolean flags are errors.

use std::collections::BTreeMap;

use super::error::InstructionErrorKind;
use super::suggest::closest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagKind {
    /// `--name=value`, at most once.
    String,
    /// `--name`, `--name=true|false`, at most once.
    Bool,
    /// `--name=value`, any number of times.
    Repeated,
}

/// The checked flags of one instruction.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: BTreeMap<&'static str, Vec<String>>,
}

impl Flags {
    /// Checks `raw` (`--name[=value]` as the parser kept them) against `spec`.
    pub(crate) fn parse(
        instruction: &'static str,
        raw: &[String],
        spec: &[(&'static str, FlagKind)],
    ) -> Result<Self, InstructionErrorKind> {
        let mut values: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for flag in raw {
            let Some(body) = flag.strip_prefix("--") else {
                return Err(InstructionErrorKind::IllegalFlag {
                    instruction,
                    flag: flag.clone(),
                });
            };
            let (name, value) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (body, None),
            };
            let Some((declared, kind)) = spec.iter().find(|(n, _)| *n == name) else {
                let names: Vec<&str> = spec.iter().map(|(n, _)| *n).collect();
                return Err(InstructionErrorKind::UnknownFlag {
                    instruction,
                    flag: name.to_string(),
                    suggestion: closest(name, &names).map(|n| format!("--{n}")),
                });
            };
            let seen = values.entry(declared).or_default();
            if !seen.is_empty() && *kind != FlagKind::Repeated {
                return Err(InstructionErrorKind::DuplicateFlag {
                    instruction,
                    flag: name.to_string(),
                });
            }
            let value = match (kind, value) {
                (FlagKind::Bool, None) => "true".to_string(),
                (FlagKind::Bool, Some(v)) if v.eq_ignore_ascii_case("true") => "true".into(),
                (FlagKind::Bool, Some(v)) if v.eq_ignore_ascii_case("false") => "false".into(),
                (FlagKind::Bool, Some(v)) => {
                    return Err(InstructionErrorKind::InvalidBoolFlag {
                        instruction,
                        flag: name.to_string(),
                        value: v.to_string(),
                    });
                }
                (_, None) => {
                    return Err(InstructionErrorKind::MissingFlagValue {
                        instruction,
                        flag: name.to_string(),
                    });
                }
                (_, Some(v)) => v.to_string(),
            };
            seen.push(value);
        }
        Ok(Self { values })
    }

    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| v.first()).cloned()
    }

    pub(crate) fn bool(&self, name: &str) -> bool {
        self.string(name).is_some_and(|v| v == "true")
    }

    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[(&str, FlagKind)] = &[
        ("from", FlagKind::String),
        ("link", FlagKind::Bool),
        ("exclude", FlagKind::Repeated),
    ];

    fn raw(flags: &[&str]) -> Vec<String> {
        flags.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn accepts_declared_flags() {
        let flags = Flags::parse(
            "COPY",
            &raw(&["--from=a", "--link", "--exclude=x", "--exclude=y"]),
            SPEC,
        )
        .unwrap();
        assert_eq!(flags.string("from").as_deref(), Some("a"));
        assert!(flags.bool("link"));
        assert_eq!(flags.all("exclude"), vec!["x", "y"]);
    }

    #[test]
    fn rejects_bad_flags() {
        let err = |f: &[&str]| Flags::parse("COPY", &raw(f), SPEC).unwrap_err();
        assert!(
            matches!(err(&["--chmodd=1"]), InstructionErrorKind::UnknownFlag { flag, .. } if flag == "chmodd")
        );
        assert!(matches!(
            err(&["--from=a", "--from=b"]),
            InstructionErrorKind::DuplicateFlag { .. }
        ));
        assert!(matches!(
            err(&["--from"]),
            InstructionErrorKind::MissingFlagValue { .. }
        ));
        assert!(matches!(
            err(&["--link=maybe"]),
            InstructionErrorKind::InvalidBoolFlag { .. }
        ));
    }
}
