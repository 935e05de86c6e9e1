//! The typed instructions. Strings that Docker expands (paths, names, ports) stay unexpanded
//! here; [`Instruction::expand`](super::Instruction::expand) applies a stage's variables.

use std::time::Duration;

use super::mount::Mount;

/// A command as written: shell form (run through the stage's SHELL) or exec form (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    Shell(String),
    Exec(Vec<String>),
}

/// A heredoc body attached to RUN, COPY or ADD (`<<-` tabs already stripped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineFile {
    pub name: String,
    pub content: String,
    /// False when the delimiter was quoted: no variable expansion in the body.
    pub expand: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    pub image: String,
    /// Lower-cased `AS` name.
    pub stage_name: Option<String>,
    pub platform: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Default,
    None,
    Host,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Sandbox,
    Insecure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub command: CommandLine,
    pub files: Vec<InlineFile>,
    pub mounts: Vec<Mount>,
    /// The `--mount` values as written; expansion re-parses them with the stage's variables.
    pub mount_specs: Vec<String>,
    pub network: Option<Network>,
    pub security: Option<Security>,
}

/// Sources of COPY/ADD: paths in the context (or stage, or URL for ADD) and heredoc files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcesAndDest {
    pub sources: Vec<String>,
    pub inline: Vec<InlineFile>,
    pub dest: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub files: SourcesAndDest,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    pub files: SourcesAndDest,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub checksum: Option<String>,
    pub keep_git_dir: bool,
    pub link: bool,
    pub exclude: Vec<String>,
}

/// One `ARG name[=default]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDef {
    pub name: String,
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable any inherited check.
    None,
    Check {
        /// Always the exec or shell form of `CMD`.
        test: CommandLine,
        interval: Option<Duration>,
        timeout: Option<Duration>,
        start_period: Option<Duration>,
        start_interval: Option<Duration>,
        retries: Option<u32>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onbuild {
    /// The trigger as written (plus heredoc bodies), stored in the image config.
    pub expression: String,
    /// The trigger parsed, so errors show at build time of this image.
    pub trigger: Box<super::Instruction>,
}

/// A port or range with protocol (`80/tcp`, `8000-8010/udp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    pub start: u16,
    pub end: u16,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}
