//! Typed instructions: parse nodes become one enum variant per instruction with flags parsed and
//! checked; stages group them; [`Instruction::expand`] applies variables where Docker does.

mod convert;
mod copy_add;
mod duration;
mod error;
mod expansion;
mod flags;
mod healthcheck;
mod mount;
mod ports;
mod signal;
mod stages;
mod suggest;
mod types;

pub use convert::parse_instruction;
pub use copy_add::check_exclude_pattern;
pub use duration::parse_go_duration;
pub use error::{InstructionError, InstructionErrorKind};
pub use mount::{CacheSharing, FileInfo, Mount, parse_mount};
pub use ports::parse_port_spec;
pub use signal::parse_signal;
pub use stages::{BuildFile, LocatedInstruction, MetaArg, PLATFORM_ARGS, Stage, parse_build_file};
pub use types::{
    Add, ArgDef, CommandLine, Copy, From, Healthcheck, InlineFile, KeyValue, Network, Onbuild,
    PortSpec, Protocol, Run, Security, SourcesAndDest,
};

/// One Dockerfile instruction, arguments as written (not yet expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    From(From),
    Run(Run),
    Cmd(CommandLine),
    Entrypoint(CommandLine),
    Label(Vec<KeyValue>),
    Expose(Vec<String>),
    Env(Vec<KeyValue>),
    Add(Add),
    Copy(Copy),
    Volume(Vec<String>),
    User(String),
    Workdir(String),
    Arg(Vec<ArgDef>),
    Onbuild(Onbuild),
    StopSignal(String),
    Healthcheck(Healthcheck),
    Shell(Vec<String>),
    Maintainer(String),
}

impl Instruction {
    /// The upper-case keyword, for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            Instruction::From(_) => "FROM",
            Instruction::Run(_) => "RUN",
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Label(_) => "LABEL",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::Env(_) => "ENV",
            Instruction::Add(_) => "ADD",
            Instruction::Copy(_) => "COPY",
            Instruction::Volume(_) => "VOLUME",
            Instruction::User(_) => "USER",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::Arg(_) => "ARG",
            Instruction::Onbuild(_) => "ONBUILD",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Shell(_) => "SHELL",
            Instruction::Maintainer(_) => "MAINTAINER",
        }
    }
}
