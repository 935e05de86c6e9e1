//! Rendering lists the way docker/cli's formatter does: `--format` templates, `table` layouts
//! with a header row, tab alignment, and Docker's human units.

pub mod funcs;
pub mod gofmt;
pub mod table;
pub mod template;
pub mod units;

use serde_json::{Map, Value};

pub use template::{Template, TemplateError};

/// Docker's format preprocessing: `\t` and `\n` written literally become real ones.
fn pre_format(format: &str) -> String {
    format.trim().replace("\\t", "\t").replace("\\n", "\n")
}

/// A list format: a Go template, laid out as a table (with a header) or printed per row.
#[derive(Debug)]
pub struct ListFormat {
    template: Template,
    table: bool,
}

impl ListFormat {
    /// `format` as given to `--format` (`table ...`, `json`, or a template); `default` when empty.
    pub fn parse(format: Option<&str>, default: &str) -> Result<ListFormat, TemplateError> {
        let format = format.filter(|f| !f.is_empty()).unwrap_or(default);
        let (table, body) = match format.strip_prefix("table") {
            Some(rest) => (true, rest),
            None if format == "json" => (false, "{{json .}}"),
            None => (false, format),
        };
        Ok(ListFormat {
            template: Template::parse(&pre_format(body))?,
            table,
        })
    }

    /// Renders `rows`; `headers` maps each field to its column title.
    pub fn render(
        &self,
        headers: &[(&str, &str)],
        rows: &[Value],
    ) -> Result<String, TemplateError> {
        let mut text = String::new();
        if self.table {
            let header: Map<String, Value> = headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
                .collect();
            text.push_str(&self.template.execute(&Value::Object(header))?);
            text.push('\n');
        }
        for row in rows {
            text.push_str(&self.template.execute(row)?);
            text.push('\n');
        }
        Ok(if self.table {
            table::align(&text)
        } else {
            text
        })
    }
}

/// docker/cli's `formatter.Ellipsis` for ASCII-width text: cut to `max` with a trailing "…".
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The 12-hex short form of an ID (`sha256:` dropped).
pub fn short_id(id: &str) -> String {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_with_header() {
        let f = ListFormat::parse(Some("table {{.ID}}\\t{{.Names}}"), "").unwrap();
        let out = f
            .render(
                &[("ID", "CONTAINER ID"), ("Names", "NAMES")],
                &[json!({"ID": "abc", "Names": "x"})],
            )
            .unwrap();
        assert_eq!(out, "CONTAINER ID   NAMES\nabc            x\n");
    }

    #[test]
    fn raw_format_and_json() {
        let f = ListFormat::parse(Some("{{.ID}}: {{.Names}}"), "").unwrap();
        let rows = [
            json!({"ID": "a", "Names": "x"}),
            json!({"ID": "b", "Names": "y"}),
        ];
        assert_eq!(f.render(&[], &rows).unwrap(), "a: x\nb: y\n");
        let f = ListFormat::parse(Some("json"), "").unwrap();
        assert_eq!(
            f.render(&[], &rows[..1]).unwrap(),
            "{\"ID\":\"a\",\"Names\":\"x\"}\n"
        );
    }

    #[test]
    fn ellipsis_and_short_ids() {
        assert_eq!(
            ellipsis("sleep 1000000000000000000", 20),
            "sleep 1000000000000…"
        );
        assert_eq!(ellipsis("true", 20), "true");
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
    }
}
