//! Query strings, percent-encoded as Go's url.QueryEscape does.

use std::fmt::Write;

#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn new() -> Self {
        Query::default()
    }

    pub fn add(mut self, key: &str, value: impl ToString) -> Self {
        self.pairs.push((key.to_owned(), value.to_string()));
        self
    }

    /// Adds `key=1` only when `flag` is set (Docker reads absent booleans as false).
    pub fn flag(self, key: &str, flag: bool) -> Self {
        if flag { self.add(key, "1") } else { self }
    }

    pub fn opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.add(key, v),
            None => self,
        }
    }

    /// `?k=v&...`, or nothing when empty.
    pub fn as_suffix(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            escape_into(&mut out, k);
            out.push('=');
            escape_into(&mut out, v);
        }
        out
    }
}

fn escape_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Query;

    #[test]
    fn encodes_like_go() {
        let q = Query::new()
            .add("filters", r#"{"status":["exited"]}"#)
            .flag("all", true)
            .flag("size", false)
            .add("name", "a b/c");
        assert_eq!(
            q.as_suffix(),
            "?filters=%7B%22status%22%3A%5B%22exited%22%5D%7D&all=1&name=a+b%2Fc"
        );
        assert_eq!(Query::new().as_suffix(), "");
    }
}
