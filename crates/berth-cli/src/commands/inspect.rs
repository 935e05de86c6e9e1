//! `inspect`: the daemon's JSON re-indented as Go's json.Indent does (so the bytes match
//! docker's), or each object through a `-f` template.

use berth_client::Error;
use serde_json::Value;

use crate::cli::InspectArgs;
use crate::format::Template;
use crate::{Ctx, StatusError};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Any,
    Container,
    Image,
}

pub fn inspect(ctx: &Ctx, args: InspectArgs, kind: Kind) -> anyhow::Result<i32> {
    let kind = match args.kind.as_deref() {
        None | Some("") => kind,
        Some("container") => Kind::Container,
        Some("image") => Kind::Image,
        Some(other) => anyhow::bail!("\"{other}\" is not a valid value for --type"),
    };
    let client = ctx.client()?;
    let template = args
        .format
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(|f| match f {
            "json" => Template::parse("{{json .}}"),
            _ => Template::parse(f),
        })
        .transpose()?;
    let mut raw_elements = Vec::new();
    let mut missing = Vec::new();
    for name in &args.names {
        let found = match kind {
            Kind::Container => not_found_as_none(client.container_inspect_raw(name, args.size))?,
            Kind::Image => not_found_as_none(client.image_inspect_raw(name))?,
            Kind::Any => match not_found_as_none(client.container_inspect_raw(name, args.size))? {
                Some(raw) => Some(raw),
                None => not_found_as_none(client.image_inspect_raw(name))?,
            },
        };
        match found {
            Some(raw) => raw_elements.push(raw),
            None => missing.push(name.clone()),
        }
    }
    match &template {
        Some(template) => {
            for raw in &raw_elements {
                let value: Value = serde_json::from_slice(raw)?;
                println!("{}", template.execute(&value)?);
            }
        }
        None => println!("{}", indent_array(&raw_elements)),
    }
    if missing.is_empty() {
        return Ok(0);
    }
    let noun = match kind {
        Kind::Container => "container",
        Kind::Image => "image",
        Kind::Any => "object",
    };
    let message = missing
        .iter()
        .map(|m| format!("Error: No such {noun}: {m}"))
        .collect::<Vec<_>>()
        .join("\n");
    Err(StatusError { message, code: 1 }.into())
}

fn not_found_as_none(result: Result<Vec<u8>, Error>) -> Result<Option<Vec<u8>>, Error> {
    match result {
        Ok(raw) => Ok(Some(raw)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// An inspect command's `--format`: none (or empty) prints the indented JSON array, `json`
/// is `{{json .}}`, anything else a Go template.
pub fn inspect_template(format: Option<&str>) -> anyhow::Result<Option<Template>> {
    Ok(format
        .filter(|f| !f.is_empty())
        .map(|f| Template::parse(if f == "json" { "{{json .}}" } else { f }))
        .transpose()?)
}

/// Prints the objects an inspect command found (each through `template`, or all as one
/// indented JSON array), then fails with exit code 1 and the daemon's words for those it did
/// not find, as docker's CLI.
pub fn print_inspected(
    found: &[Vec<u8>],
    missing: &[String],
    template: Option<&Template>,
) -> anyhow::Result<i32> {
    match template {
        Some(template) => {
            for raw in found {
                let value: Value = serde_json::from_slice(raw)?;
                println!("{}", template.execute(&value)?);
            }
        }
        None => println!("{}", indent_array(found)),
    }
    if missing.is_empty() {
        return Ok(0);
    }
    Err(StatusError {
        message: missing.join("\n"),
        code: 1,
    }
    .into())
}

/// `[` + elements joined by `,` + `]`, through [`indent`] with four spaces.
pub fn indent_array(elements: &[Vec<u8>]) -> String {
    let mut joined = Vec::from(&b"["[..]);
    for (i, raw) in elements.iter().enumerate() {
        if i > 0 {
            joined.push(b',');
        }
        joined.extend_from_slice(raw);
    }
    joined.push(b']');
    indent(&joined, "    ")
}

/// Go's json.Indent with an empty prefix: insignificant whitespace dropped, one value per
/// line, `": "` after keys, empty objects and arrays kept as `{}` / `[]`. Bytes inside
/// strings (escapes included) are copied untouched.
pub fn indent(src: &[u8], unit: &str) -> String {
    let mut out = Vec::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    // Set after `{`/`[`: the newline is written lazily so empty containers stay compact.
    let mut need_indent = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(unit.as_bytes());
        }
    };
    for &c in src {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        if need_indent && c != b']' && c != b'}' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            b'"' => {
                in_string = true;
                out.push(c);
            }
            b'{' | b'[' => {
                out.push(c);
                need_indent = true;
            }
            b'}' | b']' => {
                if need_indent {
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(c),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_like_go() {
        let raw = br#"{"Id":"x","Args":[],"Config":{"Env":["A=1","B=\"2\""],"Labels":{}},"N":null,"S":"a,b:{c}"}
"#;
        let want = r#"[
    {
        "Id": "x",
        "Args": [],
        "Config": {
            "Env": [
                "A=1",
                "B=\"2\""
            ],
            "Labels": {}
        },
        "N": null,
        "S": "a,b:{c}"
    }
]"#;
        assert_eq!(indent_array(&[raw.to_vec()]), want);
        assert_eq!(indent_array(&[]), "[]");
    }

    /// Property: indenting never changes the JSON value.
    #[test]
    fn indent_preserves_values() {
        let samples = [
            r#"{"a":[1,2,{"b":[]}],"c":"\\\"","d":{"e":{"f":true}}}"#,
            r#"[[],[[]],{},{"":""}]"#,
            r#""just a string""#,
            r#"{"u":"\u003cb\u003e","n":-1.5e3}"#,
        ];
        for s in samples {
            let out = indent(s.as_bytes(), "    ");
            let a: Value = serde_json::from_str(s).unwrap();
            let b: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(a, b, "{out}");
        }
    }
}
