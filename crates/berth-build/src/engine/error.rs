//! Build engine errors: each names the Dockerfile line or the path involved.

use std::path::PathBuf;

use crate::instructions::InstructionError;
use crate::parser::ParseError;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
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
    #[error("{file}: no stages to build")]
    NoStages { file: String },
    #[error("target stage {target:?} not found")]
    NoSuchTarget { target: String },
    #[error("line {line}: stage {stage} depends on itself through {reference:?}")]
    StageCycle {
        line: usize,
        stage: usize,
        reference: String,
    },
    #[error("line {line}: base image {reference:?}: {source}")]
    BaseImage {
        line: usize,
        reference: String,
        source: Box<berth_store::StoreError>,
    },
    #[error("line {line}: image config of {reference:?} is not valid JSON: {source}")]
    BaseConfig {
        line: usize,
        reference: String,
        source: serde_json::Error,
    },
    #[error("line {line}: {instruction}: {source}")]
    Store {
        line: usize,
        instruction: &'static str,
        source: Box<berth_store::StoreError>,
    },
    #[error("line {line}: {instruction}: snapshot: {source}")]
    Snapshot {
        line: usize,
        instruction: &'static str,
        source: berth_store::snapshot::SnapshotError,
    },
    #[error("line {line}: {instruction}: {path}: {source}")]
    Io {
        line: usize,
        instruction: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("line {line}: {instruction}: source {source_path:?} not found in {root}")]
    SourceMissing {
        line: usize,
        instruction: &'static str,
        source_path: String,
        root: PathBuf,
    },
    #[error(
        "line {line}: {instruction}: with more than one source the destination {dest:?} must end with /"
    )]
    DestNotDir {
        line: usize,
        instruction: &'static str,
        dest: String,
    },
    #[error("line {line}: {instruction}: bad --{flag} value {value:?}: {reason}")]
    BadFlag {
        line: usize,
        instruction: &'static str,
        flag: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("line {line}: {instruction}: {what} {name:?} not found in the image's {file}")]
    UnknownId {
        line: usize,
        instruction: &'static str,
        what: &'static str,
        name: String,
        file: &'static str,
    },
    #[error("line {line}: {feature} is not supported by this builder yet")]
    Unsupported { line: usize, feature: &'static str },
    #[error("line {line}: RUN {command}: exit code {code}\n--- last output ---\n{tail}")]
    RunFailed {
        line: usize,
        command: String,
        code: i32,
        tail: String,
    },
    #[error("line {line}: RUN {command}: could not run the step: {reason}")]
    RunSetup {
        line: usize,
        command: String,
        reason: String,
    },
    #[error("line {line}: ADD: {source}")]
    Fetch {
        line: usize,
        source: crate::engine::remote::FetchError,
    },
    #[error("line {line}: RUN --mount=type=secret: secret {id:?} is required but was not given")]
    SecretMissing { line: usize, id: String },
    #[error("tag {tag:?}: {source}")]
    Tag {
        tag: String,
        source: berth_oci::ReferenceError,
    },
    #[error("committing the image: {source}")]
    Commit {
        source: Box<berth_store::StoreError>,
    },
}
