//! Where the lexer looks variables up.

use std::collections::{BTreeMap, HashMap};

/// A source of variable values. `None` means unset, which differs from set-but-empty for
/// `${V-d}`, `${V+a}` and `${V?msg}`.
pub trait VarLookup {
    fn lookup(&self, name: &str) -> Option<&str>;
}

impl VarLookup for HashMap<String, String> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl VarLookup for BTreeMap<String, String> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// An ordered `KEY=value` list as Docker passes environments; the first definition of a key wins,
/// like BuildKit's `buildEnvs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvList {
    entries: Vec<(String, String)>,
}

impl EnvList {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `KEY=value` strings; an entry without `=` defines the key with an empty value.
    pub fn from_pairs<I, S>(pairs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = Self::new();
        for pair in pairs {
            let pair = pair.as_ref();
            match pair.split_once('=') {
                Some((key, value)) => list.push(key, value),
                None => list.push(pair, ""),
            }
        }
        list
    }

    /// Adds `key` unless it is already defined.
    pub fn push(&mut self, key: &str, value: &str) {
        if self.lookup(key).is_none() {
            self.entries.push((key.to_string(), value.to_string()));
        }
    }

    /// Defines or redefines `key` (later ENV/ARG lines override earlier ones).
    pub fn set(&mut self, key: &str, value: &str) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_string(),
            None => self.entries.push((key.to_string(), value.to_string())),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl VarLookup for EnvList {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Windows semantics: variable names compare case-insensitively (`$pwd` finds `PWD`).
#[derive(Debug, Clone, Copy)]
pub struct CaseInsensitive<'a>(pub &'a EnvList);

impl VarLookup for CaseInsensitive<'_> {
    fn lookup(&self, name: &str) -> Option<&str> {
        let wanted = name.to_lowercase();
        self.0
            .entries
            .iter()
            .find(|(k, _)| k.to_lowercase() == wanted)
            .map(|(_, v)| v.as_str())
    }
}

impl<T: VarLookup + ?Sized> VarLookup for &T {
    fn lookup(&self, name: &str) -> Option<&str> {
        (**self).lookup(name)
    }
}
