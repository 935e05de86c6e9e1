//! The line loop: directives, comments, continuations, heredoc bodies.

use super::directives::Directives;
use super::error::{ParseError, ParseErrorKind};
use super::heredoc::heredocs_from_line;
use super::line_parsers::node_from_line;
use super::node::Node;

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The file name used in error messages.
    pub file: String,
    /// One node per instruction, in order.
    pub children: Vec<Node>,
    pub directives: Directives,
    /// Non-fatal findings (empty continuation lines), as BuildKit reports them.
    pub warnings: Vec<String>,
}

impl Dockerfile {
    pub fn escape_token(&self) -> char {
        self.directives.escape
    }
}

/// Parses a Dockerfile named `Dockerfile` in error messages.
pub fn parse(source: &[u8]) -> Result<Dockerfile, ParseError> {
    parse_named("Dockerfile", source)
}

/// Parses `source`; `file` names it in error messages.
pub fn parse_named(file: &str, source: &[u8]) -> Result<Dockerfile, ParseError> {
    Parser {
        file,
        lines: split_lines(source),
        next: 0,
        directives: Directives::default(),
    }
    .run()
}

/// Lines with their terminators kept (heredoc bodies need them); the BOM is dropped.
fn split_lines(source: &[u8]) -> Vec<String> {
    let source = source.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(source);
    source
        .split_inclusive(|b| *b == b'\n')
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect()
}

struct Parser<'a> {
    file: &'a str,
    lines: Vec<String>,
    /// Index of the next unread line; also the 1-based number of the last line read.
    next: usize,
    directives: Directives,
}

fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

fn is_comment(raw: &str) -> bool {
    trim_newline(raw).trim_start().starts_with('#')
}

impl Parser<'_> {
    fn error(&self, line: usize, kind: ParseErrorKind) -> ParseError {
        ParseError {
            file: self.file.to_string(),
            line,
            kind,
        }
    }

    fn read(&mut self) -> Option<String> {
        let line = self.lines.get(self.next).cloned();
        if line.is_some() {
            self.next += 1;
        }
        line
    }

    /// Newline removed, optionally left-trimmed, checked for a directive, comment removed.
    fn process_line(&mut self, raw: &str, strip_left: bool) -> Result<String, ParseError> {
        let mut token = trim_newline(raw);
        if strip_left {
            token = token.trim_start();
        }
        let line = self.next;
        self.directives
            .consider(token)
            .map_err(|kind| self.error(line, kind))?;
        Ok(if token.starts_with('#') {
            String::new()
        } else {
            token.to_string()
        })
    }

    fn run(mut self) -> Result<Dockerfile, ParseError> {
        let mut children = Vec::new();
        let mut warnings = Vec::new();
        let mut comments = Vec::new();
        while let Some(raw) = self.read() {
            if is_comment(&raw) {
                let text = trim_newline(&raw).trim_start();
                comments.push(text[1..].trim().to_string());
            }
            let processed = self.process_line(&raw, true)?;
            let start_line = self.next;
            let (mut line, mut at_end) = self.trim_continuation(&processed);
            if at_end && line.is_empty() {
                continue;
            }
            let mut empty_continuation = false;
            while !at_end {
                let Some(raw) = self.read() else { break };
                let processed = self.process_line(&raw, false)?;
                if is_comment(&raw) {
                    continue;
                }
                if processed.trim_start().is_empty() {
                    empty_continuation = true;
                    continue;
                }
                let (piece, end) = self.trim_continuation(&processed);
                line.push_str(&piece);
                at_end = end;
            }
            if empty_continuation {
                warnings.push(format!(
                    "{}:{start_line}: empty continuation line found in: {line}",
                    self.file
                ));
            }
            let mut node = node_from_line(&line, self.directives.escape)
                .map_err(|kind| self.error(start_line, kind))?;
            if can_contain_heredoc(&node) {
                self.read_heredocs(&mut node, &line, start_line)?;
            }
            node.start_line = start_line;
            node.end_line = self.next;
            node.prev_comment = std::mem::take(&mut comments);
            children.push(node);
        }
        if children.is_empty() {
            return Err(self.error(self.next, ParseErrorKind::NoInstructions));
        }
        Ok(Dockerfile {
            file: self.file.to_string(),
            children,
            directives: self.directives,
            warnings,
        })
    }

    fn read_heredocs(
        &mut self,
        node: &mut Node,
        line: &str,
        start_line: usize,
    ) -> Result<(), ParseError> {
        let heredocs = heredocs_from_line(line).map_err(|kind| self.error(start_line, kind))?;
        for mut heredoc in heredocs {
            let mut terminated = false;
            while let Some(raw) = self.read() {
                let mut candidate = trim_newline(&raw);
                if heredoc.chomp {
                    candidate = candidate.trim_start_matches('\t');
                }
                if candidate == heredoc.name {
                    terminated = true;
                    break;
                }
                heredoc.content.push_str(&raw);
            }
            if !terminated {
                let kind = ParseErrorKind::UnterminatedHeredoc {
                    name: heredoc.name.clone(),
                };
                return Err(self.error(start_line, kind));
            }
            node.heredocs.push(heredoc);
        }
        Ok(())
    }

    /// Removes a trailing escape token (plus trailing blanks) that continues the line. An escape
    /// token preceded by another escape token is literal.
    fn trim_continuation(&self, line: &str) -> (String, bool) {
        let escape = self.directives.escape;
        let body = line.trim_end_matches([' ', '\t']);
        let Some(before) = body.strip_suffix(escape) else {
            return (line.to_string(), true);
        };
        if before.ends_with(escape) {
            return (line.to_string(), true);
        }
        (before.to_string(), false)
    }
}

/// RUN, COPY and ADD in shell form (also nested in ONBUILD) may carry heredocs.
fn can_contain_heredoc(node: &Node) -> bool {
    let node = match node.nested() {
        Some(nested) if node.name() == "onbuild" => nested,
        _ => node,
    };
    matches!(node.name().as_str(), "run" | "copy" | "add") && !node.json
}
