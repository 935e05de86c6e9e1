//! Per-instruction argument splitting, as BuildKit's dispatch table does it: JSON-or-shell forms,
//! whitespace lists, `name=value` pairs, HEALTHCHECK's type word and ONBUILD's nested instruction.

use super::error::ParseErrorKind;
use super::node::{Arg, Node};
use super::split_command::{split_command, split_once_token_space};

/// The arguments of one instruction and whether they came from a JSON array.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub(super) args: Vec<Arg>,
    pub(super) json: bool,
}

impl Parsed {
    fn words<I: IntoIterator<Item = String>>(words: I) -> Self {
        Self {
            args: words.into_iter().map(Arg::Word).collect(),
            json: false,
        }
    }
}

/// Builds the node for one joined line (no line numbers, no heredocs yet).
pub(super) fn node_from_line(line: &str, escape: char) -> Result<Node, ParseErrorKind> {
    let (value, flags, rest) = split_command(line);
    let name = value.to_lowercase();
    let parsed = match name.as_str() {
        "add" | "copy" | "volume" => maybe_json_to_list(&rest, &name)?,
        "arg" => Parsed::words(parse_words(&rest, escape)),
        "cmd" | "entrypoint" | "run" | "shell" => maybe_json(&rest, &name)?,
        "env" | "label" => name_values(&rest, &name, escape)?,
        "expose" | "from" => whitespace_list(&rest),
        "healthcheck" => health_config(&rest, &name)?,
        "maintainer" | "stopsignal" | "user" | "workdir" => plain_string(&rest),
        "onbuild" => sub_command(&rest, escape)?,
        // Unknown instructions parse (BuildKit keeps an empty argument); they fail later when
        // converted to typed instructions.
        _ => Parsed::words([String::new()]),
    };
    Ok(Node {
        value,
        args: parsed.args,
        json: parsed.json,
        flags,
        original: line.to_string(),
        ..Node::default()
    })
}

fn sub_command(rest: &str, escape: char) -> Result<Parsed, ParseErrorKind> {
    if rest.is_empty() {
        return Ok(Parsed::default());
    }
    let child = node_from_line(rest, escape)?;
    Ok(Parsed {
        args: vec![Arg::Nested(Box::new(child))],
        json: false,
    })
}

fn plain_string(rest: &str) -> Parsed {
    if rest.is_empty() {
        Parsed::default()
    } else {
        Parsed::words([rest.to_string()])
    }
}

/// Splits on runs of `[\t\v\f\r ]`.
fn whitespace_list(rest: &str) -> Parsed {
    if rest.is_empty() {
        return Parsed::default();
    }
    let mut words = Vec::new();
    let mut remaining = rest;
    while let Some((word, after)) = split_once_token_space(remaining) {
        words.push(word.to_string());
        remaining = after;
    }
    words.push(remaining.to_string());
    Parsed::words(words)
}

/// What a JSON attempt found.
enum JsonForm {
    Strings(Vec<String>),
    NotJson,
}

/// Reads a JSON array of strings at the start of `rest` (trailing text ignored, as Go's JSON
/// decoder does). An array with non-string elements is an error, not a shell-form fallback.
fn json_array(rest: &str, instruction: &str) -> Result<JsonForm, ParseErrorKind> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Ok(JsonForm::NotJson);
    }
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
    let Some(Ok(serde_json::Value::Array(items))) = stream.next() else {
        return Ok(JsonForm::NotJson);
    };
    items
        .into_iter()
        .map(|item| match item {
            serde_json::Value::String(text) => Ok(text),
            _ => Err(ParseErrorKind::NotStringArray {
                instruction: instruction.to_uppercase(),
            }),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(JsonForm::Strings)
}

fn maybe_json(rest: &str, instruction: &str) -> Result<Parsed, ParseErrorKind> {
    if rest.is_empty() {
        return Ok(Parsed::default());
    }
    Ok(match json_array(rest, instruction)? {
        JsonForm::Strings(words) => Parsed {
            json: true,
            ..Parsed::words(words)
        },
        JsonForm::NotJson => Parsed::words([rest.to_string()]),
    })
}

fn maybe_json_to_list(rest: &str, instruction: &str) -> Result<Parsed, ParseErrorKind> {
    Ok(match json_array(rest, instruction)? {
        JsonForm::Strings(words) => Parsed {
            json: true,
            ..Parsed::words(words)
        },
        JsonForm::NotJson => whitespace_list(rest),
    })
}

/// HEALTHCHECK: a type word (`CMD`, `NONE`) then a JSON-or-shell command.
fn health_config(rest: &str, instruction: &str) -> Result<Parsed, ParseErrorKind> {
    let Some(sep) = rest.find(char::is_whitespace) else {
        return Ok(if rest.is_empty() {
            Parsed::default()
        } else {
            Parsed::words([rest.to_string()])
        });
    };
    let kind = rest[..sep].to_string();
    let command = maybe_json(rest[sep..].trim_start(), instruction)?;
    let mut args = vec![Arg::Word(kind)];
    args.extend(command.args);
    Ok(Parsed {
        args,
        json: command.json,
    })
}

/// ENV and LABEL: the legacy `KEY value with spaces` form or `k=v k2=v2`. Each pair becomes
/// `key, value, separator` with separator `=` or `` (legacy).
fn name_values(rest: &str, instruction: &str, escape: char) -> Result<Parsed, ParseErrorKind> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Parsed::default());
    };
    if !first.contains('=') {
        let Some((key, value)) = split_once_token_space(rest) else {
            return Err(ParseErrorKind::MissingValue {
                instruction: instruction.to_uppercase(),
            });
        };
        return Ok(Parsed::words([
            key.to_string(),
            value.to_string(),
            String::new(),
        ]));
    }
    let mut out = Vec::new();
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(ParseErrorKind::MissingEquals {
                instruction: instruction.to_uppercase(),
                word,
            });
        };
        out.extend([key.to_string(), value.to_string(), "=".to_string()]);
    }
    Ok(Parsed::words(out))
}

#[derive(PartialEq)]
enum Phase {
    Spaces,
    Word,
    Quote(char),
}

/// Splits on whitespace outside quotes, keeping quotes and escapes in the words (they are
/// processed later by the lexer).
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut phase = Phase::Spaces;
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        if phase == Phase::Spaces {
            if ch.is_whitespace() {
                continue;
            }
            phase = Phase::Word;
        }
        match phase {
            Phase::Word => {
                if ch.is_whitespace() {
                    phase = Phase::Spaces;
                    if blank_ok || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    blank_ok = false;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    let Some(next) = chars.get(i) else { continue };
                    word.push(ch);
                    word.push(*next);
                    i += 1;
                    continue;
                }
                word.push(ch);
            }
            Phase::Quote(quote) => {
                if ch == quote {
                    phase = Phase::Word;
                }
                if ch == escape && quote != '\'' {
                    let Some(next) = chars.get(i) else {
                        phase = Phase::Word;
                        continue;
                    };
                    word.push(ch);
                    word.push(*next);
                    i += 1;
                    continue;
                }
                word.push(ch);
            }
            Phase::Spaces => {}
        }
    }
    if phase != Phase::Spaces && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_quotes_and_escapes() {
        assert_eq!(
            parse_words(r#"a="x y" b\ c 'd'"#, '\\'),
            vec![r#"a="x y""#, r"b\ c", "'d'"]
        );
        assert_eq!(parse_words("x ''", '\\'), vec!["x", "''"]);
        assert_eq!(whitespace_list("a\u{b}b").args.len(), 2);
    }

    #[test]
    fn json_falls_back_to_shell_form() {
        let parsed = maybe_json(r#"["a", "b"] trailing"#, "cmd").unwrap();
        assert!(parsed.json);
        assert_eq!(parsed.args.len(), 2);
        let parsed = maybe_json("['a']", "cmd").unwrap();
        assert!(!parsed.json);
        assert!(maybe_json(r#"["a", 1]"#, "cmd").is_err());
    }
}
