//! Docker's `filters` query parameter: JSON `{"key":["v1","v2"]}`, or the pre-1.22 form
//! `{"key":{"v1":true}}`. Parsed once here for every endpoint.

use std::collections::BTreeMap;

use crate::error::ApiError;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    /// Parses the raw (already percent-decoded) parameter; empty means no filters.
    pub fn parse(raw: Option<&str>) -> Result<Filters, ApiError> {
        let raw = match raw {
            None => return Ok(Filters::default()),
            Some(r) if r.trim().is_empty() => return Ok(Filters::default()),
            Some(r) => r,
        };
        let bad = |why: String| ApiError::bad_request(format!("invalid filter: {why}"));
        let value: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| bad(format!("{raw:?} is not JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| bad(format!("{raw:?} is not a JSON object")))?;
        let mut out = BTreeMap::new();
        for (key, values) in object {
            let list: Vec<String> = match values {
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad(format!("values of {key:?} must be strings")))?,
                serde_json::Value::Object(map) => map
                    .iter()
                    .filter(|(_, on)| on.as_bool() == Some(true))
                    .map(|(k, _)| k.clone())
                    .collect(),
                _ => return Err(bad(format!("values of {key:?} must be a list"))),
            };
            out.insert(key.clone(), list);
        }
        Ok(Filters(out))
    }

    /// Refuses keys the endpoint does not know, with Docker's message.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
            None => Ok(()),
        }
    }

    pub fn values(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// True when `key` is not filtered, or `accept` holds for one of its values (filters of one
    /// key are OR'ed, different keys AND'ed, as Docker does).
    pub fn matches(&self, key: &str, accept: impl Fn(&str) -> bool) -> bool {
        match self.0.get(key) {
            None => true,
            Some(values) => values.iter().any(|v| accept(v)),
        }
    }

    /// `label=k` or `label=k=v` against a label map.
    pub fn matches_labels(
        &self,
        key: &str,
        labels: &std::collections::HashMap<String, String>,
    ) -> bool {
        self.values(key).iter().all(|f| match f.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
            None => labels.contains_key(f.as_str()),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_matches() {
        let f = Filters::parse(Some(
            r#"{"type":["container","image"],"event":{"start":true}}"#,
        ))
        .unwrap();
        assert!(f.matches("type", |v| v == "image"));
        assert!(!f.matches("event", |v| v == "die"));
        assert!(f.matches("container", |_| false), "unfiltered key matches");
        assert!(f.only(&["type", "event"]).is_ok());
        assert_eq!(
            f.only(&["type"]).unwrap_err().message,
            "invalid filter 'event'"
        );
    }

    #[test]
    fn rejects_malformed_filters_with_a_message() {
        for raw in ["[", "[1]", r#"{"a":1}"#, r#"{"a":[1]}"#] {
            assert_eq!(
                Filters::parse(Some(raw)).unwrap_err().status,
                hyper::StatusCode::BAD_REQUEST
            );
        }
        assert!(Filters::parse(Some("")).unwrap().is_empty());
    }

    #[test]
    fn label_filters_need_every_label() {
        let f = Filters::parse(Some(r#"{"label":["a","b=2"]}"#)).unwrap();
        let labels = std::collections::HashMap::from([
            ("a".to_string(), "x".to_string()),
            ("b".to_string(), "2".to_string()),
        ]);
        assert!(f.matches_labels("label", &labels));
        let fewer = std::collections::HashMap::from([("a".to_string(), "x".to_string())]);
        assert!(!f.matches_labels("label", &fewer));
    }
}
