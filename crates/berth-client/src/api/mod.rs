//! Typed endpoints, one file per area of the Engine API.

pub mod build;
pub mod containers;
pub mod exec;
pub mod images;
pub mod system;

use std::io::Read;

use serde_json::Value;

use crate::error::Error;

/// Iterates the JSON objects of a stream (pull/push/load progress, events, stats).
pub fn json_stream<R: Read>(reader: R) -> impl Iterator<Item = Result<Value, Error>> {
    serde_json::Deserializer::from_reader(reader)
        .into_iter::<Value>()
        .map(|item| {
            item.map_err(|source| Error::Json {
                target: "a JSON message stream".to_owned(),
                source,
            })
        })
}

/// Docker's `filters` query value: `{"key": ["v1", "v2"]}` from `key=value` flags.
pub fn filters_json(filters: &[(String, String)]) -> Option<String> {
    if filters.is_empty() {
        return None;
    }
    let mut map = serde_json::Map::new();
    for (k, v) in filters {
        let entry = map
            .entry(k.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(values) = entry {
            values.push(Value::String(v.clone()));
        }
    }
    Some(Value::Object(map).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_group_by_key() {
        let f = vec![
            ("status".to_owned(), "exited".to_owned()),
            ("label".to_owned(), "a=b".to_owned()),
            ("status".to_owned(), "created".to_owned()),
        ];
        assert_eq!(
            filters_json(&f).unwrap(),
            r#"{"label":["a=b"],"status":["exited","created"]}"#
        );
        assert_eq!(filters_json(&[]), None);
    }

    #[test]
    fn json_stream_reads_concatenated_objects() {
        let wire = br#"{"status":"a"}
{"status":"b"}{"status":"c"}"#;
        let items: Vec<_> = json_stream(&wire[..]).map(|v| v.unwrap()).collect();
        assert_eq!(items.len(), 3);
        assert_eq!(items[2]["status"], "c");
    }
}
