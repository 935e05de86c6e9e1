//! Build engine errors: each names the Dockerfile line or the path involved.

use std::path::PathBuf;

use crate::instructions::InstructionError;
use crate::parser::ParseError;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A step's error, placed in the Dockerfile: `Dockerfile:7: RUN false: exit code 1`.
    #[error("{file}:{line}: {source}")]
    Located {
        file: String,
        line: usize,
        source: Box<BuildError>,
    },
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Ignore {
        path: PathBuf,
        source: crate::dockerignore::PatternError,
    },
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Instruction(#[from] InstructionError),
    #[error("named context {name:?}: {path}: {source}")]
    ContextDir {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: no stages to build")]
    NoStages { file: String },
    #[error("target stage {target:?} not found")]
    NoSuchTarget { target: String },
    #[error("stage {stage} depends on itself through {reference:?}")]
    StageCycle {
        line: usize,
        stage: usize,
        reference: String,
    },
    /// Another thread built the stage and failed; that thread reports why.
    #[error("stage {stage} failed")]
    StageFailed { stage: usize },
    #[error("base image {reference:?}: {source}")]
    BaseImage {
        line: usize,
        reference: String,
        source: Box<berth_store::StoreError>,
    },
    #[error("image config of {reference:?} is not valid JSON: {source}")]
    BaseConfig {
        line: usize,
        reference: String,
        source: serde_json::Error,
    },
    #[error("{instruction}: {source}")]
    Store {
        line: usize,
        instruction: &'static str,
        source: Box<berth_store::StoreError>,
    },
    #[error("{instruction}: snapshot: {source}")]
    Snapshot {
        line: usize,
        instruction: &'static str,
        source: berth_store::snapshot::SnapshotError,
    },
    #[error("{instruction}: {path}: {source}")]
    Io {
        line: usize,
        instruction: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{instruction}: source {source_path:?} not found in {root}")]
    SourceMissing {
        line: usize,
        instruction: &'static str,
        source_path: String,
        root: PathBuf,
    },
    #[error("{instruction}: with more than one source the destination {dest:?} must end with /")]
    DestNotDir {
        line: usize,
        instruction: &'static str,
        dest: String,
    },
    #[error("{instruction}: bad --{flag} value {value:?}: {reason}")]
    BadFlag {
        line: usize,
        instruction: &'static str,
        flag: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("{instruction}: {what} {name:?} not found in the image's {file}")]
    UnknownId {
        line: usize,
        instruction: &'static str,
        what: &'static str,
        name: String,
        file: &'static str,
    },
    #[error("{feature} is not supported by this builder yet")]
    Unsupported { line: usize, feature: &'static str },
    #[error("RUN {command}: exit code {code}\n--- last output ---\n{tail}")]
    RunFailed {
        line: usize,
        command: String,
        code: i32,
        tail: String,
    },
    #[error("RUN {command}: could not run the step: {reason}")]
    RunSetup {
        line: usize,
        command: String,
        reason: String,
    },
    #[error("ADD: {source}")]
    Fetch {
        line: usize,
        source: crate::engine::remote::FetchError,
    },
    #[error("RUN --mount=type=secret: secret {id:?} is required but was not given")]
    SecretMissing { line: usize, id: String },
    #[error("tag {tag:?}: {source}")]
    Tag {
        tag: String,
        source: berth_oci::ReferenceError,
    },
    #[error("pulling the base image {reference:?}: {source}")]
    Pull {
        line: usize,
        reference: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("ONBUILD trigger {trigger:?} of the base: {source}")]
    Trigger {
        line: usize,
        trigger: String,
        source: Box<BuildError>,
    },
    #[error("an ONBUILD trigger must be one instruction, found {count}")]
    TriggerShape { count: usize },
    #[error("locking the build cache: {source}")]
    CacheLock {
        source: Box<crate::engine::prune::PruneError>,
    },
    #[error("committing the image: {source}")]
    Commit {
        source: Box<berth_store::StoreError>,
    },
}

impl BuildError {
    /// The Dockerfile line the error belongs to, if it belongs to one.
    pub fn line(&self) -> Option<usize> {
        use BuildError::*;
        match self {
            Located { line, .. }
            | StageCycle { line, .. }
            | BaseImage { line, .. }
            | BaseConfig { line, .. }
            | Store { line, .. }
            | Snapshot { line, .. }
            | Io { line, .. }
            | SourceMissing { line, .. }
            | DestNotDir { line, .. }
            | BadFlag { line, .. }
            | UnknownId { line, .. }
            | Unsupported { line, .. }
            | RunFailed { line, .. }
            | RunSetup { line, .. }
            | Fetch { line, .. }
            | SecretMissing { line, .. }
            | Pull { line, .. }
            | Trigger { line, .. } => Some(*line),
            Parse(e) => Some(e.line),
            Instruction(e) => Some(e.line),
            Read { .. }
            | Ignore { .. }
            | ContextDir { .. }
            | NoStages { .. }
            | NoSuchTarget { .. }
            | StageFailed { .. }
            | Tag { .. }
            | Commit { .. }
            | TriggerShape { .. }
            | CacheLock { .. } => None,
        }
    }

    /// Places a step's error in `file` (errors without a line, and parse errors, which name
    /// their file already, are returned as they are).
    pub fn in_file(self, file: &str) -> BuildError {
        match (&self, self.line()) {
            (BuildError::Located { .. } | BuildError::Parse(_) | BuildError::Instruction(_), _)
            | (_, None) => self,
            (_, Some(line)) => BuildError::Located {
                file: file.to_string(),
                line,
                source: Box::new(self),
            },
        }
    }

    /// The error without its place in the Dockerfile.
    pub fn cause(&self) -> &BuildError {
        match self {
            BuildError::Located { source, .. } => source.cause(),
            other => other,
        }
    }
}
