//! Parser directives (`# syntax=`, `# escape=`, `# check=`): only at the very top of the file,
//! before any instruction, comment or blank line, each at most once.

use super::error::ParseErrorKind;

/// The directives found at the top of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    pub syntax: Option<String>,
    pub check: Option<String>,
    /// The escape token: `\` unless `# escape=` changed it to `` ` ``.
    pub escape: char,
    escape_seen: bool,
    done: bool,
}

impl Default for Directives {
    fn default() -> Self {
        Self {
            syntax: None,
            check: None,
            escape: '\\',
            escape_seen: false,
            done: false,
        }
    }
}

impl Directives {
    /// Looks at one line (left-trimmed, newline removed) while directives may still appear.
    pub(super) fn consider(&mut self, line: &str) -> Result<(), ParseErrorKind> {
        if self.done {
            return Ok(());
        }
        let Some((key, value)) = split_directive(line) else {
            self.done = true;
            return Ok(());
        };
        let key = key.to_ascii_lowercase();
        let seen = match key.as_str() {
            "escape" => self.escape_seen,
            "syntax" => self.syntax.is_some(),
            "check" => self.check.is_some(),
            _ => {
                self.done = true;
                return Ok(());
            }
        };
        if seen {
            return Err(ParseErrorKind::DuplicateDirective { directive: key });
        }
        match key.as_str() {
            "escape" => {
                self.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(ParseErrorKind::InvalidEscapeToken {
                            token: value.to_string(),
                        });
                    }
                };
                self.escape_seen = true;
            }
            "syntax" => self.syntax = Some(value.to_string()),
            _ => self.check = Some(value.to_string()),
        }
        Ok(())
    }
}

/// Matches `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`.
fn split_directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let key_len = rest
        .char_indices()
        .find(|(i, ch)| !(ch.is_ascii_alphabetic() || (*i > 0 && ch.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if key_len == 0 {
        return None;
    }
    let (key, rest) = rest.split_at(key_len);
    let value = rest.trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_directive_lines() {
        assert_eq!(split_directive("# escape = `"), Some(("escape", "`")));
        assert_eq!(
            split_directive("#syntax=docker/dockerfile:1"),
            Some(("syntax", "docker/dockerfile:1"))
        );
        assert_eq!(split_directive("# Comment here. Should not"), None);
        assert_eq!(split_directive("# key ="), None);
        assert_eq!(split_directive("#1x=y"), None);
    }

    #[test]
    fn rejects_duplicates_and_bad_tokens() {
        let mut d = Directives::default();
        d.consider("# escape=`").unwrap();
        assert_eq!(d.escape, '`');
        assert!(matches!(
            d.consider("# escape=\\"),
            Err(ParseErrorKind::DuplicateDirective { .. })
        ));
        let mut d = Directives::default();
        assert!(matches!(
            d.consider("# escape=x"),
            Err(ParseErrorKind::InvalidEscapeToken { .. })
        ));
    }
}
