//! One function per command: build the library call, render its result.

mod exec;
mod info;
mod lifecycle;
mod update;

use std::fmt::Display;

use berth_runtime::container::ContainerId;

use crate::cli::{Cli, Command};
use crate::log::Logger;

/// A failed command: the message for the user and the process exit code.
pub struct Failure {
    pub message: String,
    pub code: i32,
}

impl Failure {
    pub fn new(err: impl Display) -> Failure {
        Failure {
            message: err.to_string(),
            code: 1,
        }
    }
    pub fn with_code(err: impl Display, code: i32) -> Failure {
        Failure {
            message: err.to_string(),
            code,
        }
    }
}

pub type Outcome = Result<i32, Failure>;

pub fn id(text: &str) -> Result<ContainerId, Failure> {
    ContainerId::parse(text).map_err(Failure::new)
}

pub fn dispatch(cli: &Cli, logger: &Logger) -> Outcome {
    if cli.systemd_cgroup {
        return Err(Failure::new(
            "--systemd-cgroup is not supported: berth-runc manages cgroups through cgroupfs only \
             (drop the flag and use an absolute linux.cgroupsPath)",
        ));
    }
    logger.debug(&format!("command: {:?}", cli.command));
    let root = cli.root.as_path();
    match &cli.command {
        Command::Spec(args) => info::spec(args),
        Command::Create(args) => lifecycle::create(root, args),
        Command::Start(args) => lifecycle::start(root, &id(&args.id)?),
        Command::Run(args) => lifecycle::run(root, args),
        Command::State(args) => info::state(root, &id(&args.id)?),
        Command::List(args) => info::list(root, args.format, args.quiet),
        Command::Kill(args) => lifecycle::kill(root, &id(&args.id)?, &args.signal, args.all),
        Command::Delete(args) => lifecycle::delete(root, &id(&args.id)?, args.force),
        Command::Exec(args) => exec::exec(root, args),
        Command::Pause(args) => lifecycle::pause(root, &id(&args.id)?),
        Command::Resume(args) => lifecycle::resume(root, &id(&args.id)?),
        Command::Ps(args) => info::ps(root, &id(&args.id)?, args.format, &args.ps_args),
        Command::Events(args) => info::events(root, &id(&args.id)?, args.stats, &args.interval),
        Command::Update(args) => update::update(root, args),
        Command::Features => info::features(),
    }
}

/// Pretty JSON like runc's `json.MarshalIndent(v, "", "  ")`.
pub fn print_json(value: &impl serde::Serialize) -> Outcome {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value).map_err(Failure::new)?;
    // A closed stdout (`| head`) is not our failure.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    Ok(0)
}

/// Re-executes through a read-only mount of our binary before any container process exists.
pub fn seal_self() -> Result<(), Failure> {
    berth_runtime::selfexe::ensure_read_only().map_err(Failure::new)
}
