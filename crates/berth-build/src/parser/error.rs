//! Parse failures, each naming the file and the 1-based line.

use crate::expand::ExpandError;

/// A Dockerfile that cannot be parsed: `Dockerfile:7: unterminated heredoc EOF`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {kind}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("invalid escape token '{token}' does not match ` or \\")]
    InvalidEscapeToken { token: String },
    #[error("only one {directive} parser directive can be used")]
    DuplicateDirective { directive: String },
    #[error("file with no instructions")]
    NoInstructions,
    #[error("unterminated heredoc {name}")]
    UnterminatedHeredoc { name: String },
    #[error(
        "{instruction}: when using JSON array syntax, arrays must be comprised of strings only"
    )]
    NotStringArray { instruction: String },
    #[error("{instruction} must have two arguments")]
    MissingValue { instruction: String },
    #[error(
        "{instruction}: syntax error - can't find = in {word:?}. Must be of the form: name=value"
    )]
    MissingEquals { instruction: String, word: String },
    #[error("invalid heredoc delimiter {word:?}")]
    InvalidHeredoc { word: String },
    #[error("heredoc delimiter: {source}")]
    HeredocName { source: ExpandError },
}
