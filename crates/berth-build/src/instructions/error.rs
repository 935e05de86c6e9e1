//! Errors converting parse nodes into typed instructions; each names the file, line and
//! instruction, and a bad flag names the flag.

use super::suggest::hint;
use crate::expand::ExpandError;

/// `Dockerfile:7: unknown instruction: FOO`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {kind}")]
pub struct InstructionError {
    pub file: String,
    pub line: usize,
    /// Boxed: the kinds carry several strings and errors travel through many `?`s.
    pub kind: Box<InstructionErrorKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstructionErrorKind {
    #[error("unknown instruction: {instruction}{}", hint(suggestion))]
    UnknownInstruction {
        instruction: String,
        suggestion: Option<String>,
    },
    #[error("{instruction} requires exactly one argument")]
    ExactlyOneArgument { instruction: &'static str },
    #[error("{instruction} requires at least one argument")]
    AtLeastOneArgument { instruction: &'static str },
    #[error(
        "{instruction} requires at least two arguments, but only one was provided. Destination could not be determined"
    )]
    NoDestination { instruction: &'static str },
    #[error("{instruction}: a heredoc cannot be used as a destination")]
    HeredocDestination { instruction: &'static str },
    #[error("FROM requires either one or three arguments")]
    FromArguments,
    #[error(
        "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
    )]
    InvalidStageName { name: String },
    #[error("{instruction} names can not be blank")]
    BlankName { instruction: &'static str },
    #[error("{instruction}: unknown flag: --{flag}{}", hint(suggestion))]
    UnknownFlag {
        instruction: &'static str,
        flag: String,
        suggestion: Option<String>,
    },
    #[error("{instruction}: illegal flag: {flag}")]
    IllegalFlag {
        instruction: &'static str,
        flag: String,
    },
    #[error("{instruction}: duplicate flag specified: --{flag}")]
    DuplicateFlag {
        instruction: &'static str,
        flag: String,
    },
    #[error("{instruction}: missing a value on flag: --{flag}")]
    MissingFlagValue {
        instruction: &'static str,
        flag: String,
    },
    #[error("{instruction}: expecting boolean value for flag --{flag}, not: {value}")]
    InvalidBoolFlag {
        instruction: &'static str,
        flag: String,
        value: String,
    },
    #[error("{instruction}: invalid value {value:?} for flag --{flag}: {reason}")]
    InvalidFlagValue {
        instruction: &'static str,
        flag: String,
        value: String,
        reason: String,
    },
    #[error("{instruction} --{flag}: invalid duration {value:?}")]
    InvalidDuration {
        instruction: &'static str,
        flag: String,
        value: String,
    },
    #[error("{instruction}: interval --{flag} cannot be less than 1ms (got {value})")]
    DurationTooShort {
        instruction: &'static str,
        flag: String,
        value: String,
    },
    #[error("HEALTHCHECK NONE takes no arguments")]
    HealthcheckNoneArguments,
    #[error("Missing command after HEALTHCHECK CMD")]
    HealthcheckMissingCommand,
    #[error("Unknown type {kind:?} in HEALTHCHECK (try CMD)")]
    HealthcheckUnknownType { kind: String },
    #[error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")]
    OnbuildChain,
    #[error("{trigger} isn't allowed as an ONBUILD trigger")]
    OnbuildForbidden { trigger: String },
    #[error("SHELL requires the arguments to be in JSON form")]
    ShellNotJson,
    #[error("VOLUME specified can not be an empty string")]
    EmptyVolume,
    #[error("invalid port specification {spec:?}: {reason}")]
    InvalidPort { spec: String, reason: String },
    #[error("{instruction} --mount: {reason}")]
    InvalidMount {
        instruction: &'static str,
        reason: String,
    },
    #[error("no build stage in current context: {instruction} must come after a FROM")]
    NoStage { instruction: String },
    #[error("invalid signal: {signal:?}")]
    InvalidSignal { signal: String },
    #[error("duplicate stage name {name:?}")]
    DuplicateStageName { name: String },
    #[error("no build stage with index {index}")]
    NoSuchStage { index: usize },
    #[error("{instruction}: {source}")]
    Expand {
        instruction: String,
        source: ExpandError,
    },
}
