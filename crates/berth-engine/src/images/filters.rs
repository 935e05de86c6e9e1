//! Docker's `filters` query argument (`{"dangling":{"true":true}}`, or the older
//! `{"dangling":["true"]}`) and the image filters it carries: dangling, label, reference,
//! before, since.

use std::collections::BTreeMap;

use berth_oci::Reference;

use super::ImageError;

/// Filter name → accepted values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(pub BTreeMap<String, Vec<String>>);

impl Filters {
    /// Parses the JSON form; an empty string means no filters.
    pub fn parse(json: &str) -> Result<Filters, ImageError> {
        if json.trim().is_empty() {
            return Ok(Filters::default());
        }
        let bad = || ImageError::BadFilter {
            name: json.to_owned(),
            value: None,
        };
        let value: serde_json::Value = serde_json::from_str(json).map_err(|_| bad())?;
        let object = value.as_object().ok_or_else(bad)?;
        let mut out = BTreeMap::new();
        for (name, values) in object {
            let list: Vec<String> = match values {
                serde_json::Value::Object(map) => map
                    .iter()
                    .filter(|(_, on)| on.as_bool().unwrap_or(false))
                    .map(|(k, _)| k.clone())
                    .collect(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
                    .collect::<Result<_, _>>()?,
                _ => return Err(bad()),
            };
            out.insert(name.clone(), list);
        }
        Ok(Filters(out))
    }

    pub fn get(&self, name: &str) -> &[String] {
        self.0.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Refuses filter names outside `allowed` (Docker: `invalid filter 'x'`).
    pub fn only(&self, allowed: &[&str]) -> Result<(), ImageError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(name) => Err(ImageError::BadFilter {
                name: name.clone(),
                value: None,
            }),
            None => Ok(()),
        }
    }

    /// The `dangling` filter: `Some(true)` for dangling only, `Some(false)` for tagged only.
    pub fn dangling(&self) -> Result<Option<bool>, ImageError> {
        let values = self.get("dangling");
        let Some(last) = values.last() else {
            return Ok(None);
        };
        match last.as_str() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            other => Err(ImageError::BadFilter {
                name: "dangling".to_owned(),
                value: Some(other.to_owned()),
            }),
        }
    }
}

/// `label=key` or `label=key=value` against an image's labels.
pub fn labels_match(
    filters: &[String],
    labels: &std::collections::HashMap<String, String>,
) -> bool {
    filters.iter().all(|f| match f.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(f.as_str()),
    })
}

/// Docker's `reference` filter: the pattern matches the familiar `name:tag`, or the familiar
/// name alone (`busybox` matches `busybox:1.35`).
pub fn reference_matches(pattern: &str, reference: &Reference) -> bool {
    glob(pattern, &reference.familiar_string())
        || (reference.tag().is_some() && glob(pattern, &reference.familiar_name()))
}

/// Go's `path.Match` subset: `*` (not across `/`), `?`, literal characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => {
                let mut i = 0;
                loop {
                    if go(rest, &t[i..]) {
                        return true;
                    }
                    if i == t.len() || t[i] == '/' {
                        return false;
                    }
                    i += 1;
                }
            }
            Some(('?', rest)) => t.first().is_some_and(|c| *c != '/') && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_json_forms() {
        let f = Filters::parse(r#"{"dangling":{"true":true},"label":["a=b"]}"#).unwrap();
        assert_eq!(f.dangling().unwrap(), Some(true));
        assert_eq!(f.get("label"), ["a=b"]);
        assert!(Filters::parse("[1]").is_err());
        assert!(
            Filters::parse(r#"{"dangling":["maybe"]}"#)
                .unwrap()
                .dangling()
                .is_err()
        );
        assert!(f.only(&["dangling"]).is_err());
    }

    #[test]
    fn references_match_like_docker() {
        let r = Reference::parse_normalized("fixtures/busybox:1.35").unwrap();
        assert!(reference_matches("fixtures/busybox", &r));
        assert!(reference_matches("fixtures/*", &r));
        assert!(reference_matches("*/busybox:1.*", &r));
        assert!(!reference_matches("*", &r));
        assert!(!reference_matches("busybox", &r));
        let lib = Reference::parse_normalized("busybox").unwrap();
        assert!(reference_matches("busybox:latest", &lib));
        assert!(reference_matches("busy*", &lib));
    }
}
