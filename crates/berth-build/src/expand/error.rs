//! What can go wrong while expanding one word.

/// An expansion failure; `word` is the input that was being processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    #[error(
        "failed to process {word:?}: unexpected end of statement while looking for matching {expected}"
    )]
    Unterminated { word: String, expected: String },
    #[error("failed to process {word:?}: syntax error: missing '}}'")]
    MissingBrace { word: String },
    #[error("failed to process {word:?}: syntax error: bad substitution")]
    BadSubstitution { word: String },
    #[error("failed to process {word:?}: unsupported modifier ({modifier}) in substitution")]
    UnsupportedModifier { word: String, modifier: String },
    #[error("failed to process {word:?}: missing ':' in substitution")]
    MissingColon { word: String },
    #[error("failed to process {word:?}: {name}: {message}")]
    Required {
        word: String,
        name: String,
        message: String,
    },
}
