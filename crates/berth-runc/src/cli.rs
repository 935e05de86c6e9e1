//! runc's command line, as clap types.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "berth-runc",
    version,
    about = "A runc-compatible OCI runtime (Berth)"
)]
pub struct Cli {
    /// Directory for container state.
    #[arg(long, global = true, default_value = "/run/berth-runc")]
    pub root: PathBuf,
    /// Also write errors and debug messages to this file.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    #[arg(long = "log-format", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd to manage cgroups (not supported: berth-runc drives cgroupfs directly).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug)]
pub enum Command {
    Spec(SpecArgs),
    Create(CreateArgs),
    Start(IdArgs),
    Run(RunArgs),
    State(IdArgs),
    List(ListArgs),
    Kill(KillArgs),
    Delete(DeleteArgs),
    Exec(ExecArgs),
    Pause(IdArgs),
    Resume(IdArgs),
    Ps(PsArgs),
    Events(EventsArgs),
    Update(UpdateArgs),
    Features,
}

/// One subcommand: its name, one-line help, how to add its arguments to its `clap::Command`,
/// and how to read them back.
struct Sub {
    name: &'static str,
    about: &'static str,
    args: fn(clap::Command) -> clap::Command,
    parse: fn(&ArgMatches) -> Result<Command, clap::Error>,
}

/// Every subcommand. clap builds a subcommand's arguments only when it is the one invoked
/// (`Command::defer`); building all of them took ~0.13 ms of every container start.
const SUBCOMMANDS: &[Sub] = &[
    Sub {
        name: "spec",
        about: "Write a default config.json into the bundle",
        args: SpecArgs::augment_args,
        parse: |m| SpecArgs::from_arg_matches(m).map(Command::Spec),
    },
    Sub {
        name: "create",
        about: "Create a container (its process waits for `start`)",
        args: CreateArgs::augment_args,
        parse: |m| CreateArgs::from_arg_matches(m).map(Command::Create),
    },
    Sub {
        name: "start",
        about: "Start a created container",
        args: IdArgs::augment_args,
        parse: |m| IdArgs::from_arg_matches(m).map(Command::Start),
    },
    Sub {
        name: "run",
        about: "Create and start a container, wait for it (unless --detach) and delete it",
        args: RunArgs::augment_args,
        parse: |m| RunArgs::from_arg_matches(m).map(Command::Run),
    },
    Sub {
        name: "state",
        about: "Print a container's state as JSON",
        args: IdArgs::augment_args,
        parse: |m| IdArgs::from_arg_matches(m).map(Command::State),
    },
    Sub {
        name: "list",
        about: "List containers",
        args: ListArgs::augment_args,
        parse: |m| ListArgs::from_arg_matches(m).map(Command::List),
    },
    Sub {
        name: "kill",
        about: "Send a signal to a container's init (or all its processes)",
        args: KillArgs::augment_args,
        parse: |m| KillArgs::from_arg_matches(m).map(Command::Kill),
    },
    Sub {
        name: "delete",
        about: "Delete a container",
        args: DeleteArgs::augment_args,
        parse: |m| DeleteArgs::from_arg_matches(m).map(Command::Delete),
    },
    Sub {
        name: "exec",
        about: "Run a new process inside a container",
        args: ExecArgs::augment_args,
        parse: |m| ExecArgs::from_arg_matches(m).map(Command::Exec),
    },
    Sub {
        name: "pause",
        about: "Freeze every process of a container",
        args: IdArgs::augment_args,
        parse: |m| IdArgs::from_arg_matches(m).map(Command::Pause),
    },
    Sub {
        name: "resume",
        about: "Thaw a paused container",
        args: IdArgs::augment_args,
        parse: |m| IdArgs::from_arg_matches(m).map(Command::Resume),
    },
    Sub {
        name: "ps",
        about: "List a container's processes",
        args: PsArgs::augment_args,
        parse: |m| PsArgs::from_arg_matches(m).map(Command::Ps),
    },
    Sub {
        name: "events",
        about: "Print container events (stats, oom) as JSON lines",
        args: EventsArgs::augment_args,
        parse: |m| EventsArgs::from_arg_matches(m).map(Command::Events),
    },
    Sub {
        name: "update",
        about: "Change a running container's resource limits",
        args: UpdateArgs::augment_args,
        parse: |m| UpdateArgs::from_arg_matches(m).map(Command::Update),
    },
    Sub {
        name: "features",
        about: "Print the runtime's features as JSON",
        args: |c| c,
        parse: |_| Ok(Command::Features),
    },
];

impl Subcommand for Command {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        SUBCOMMANDS.iter().fold(cmd, |cmd, sub| {
            cmd.subcommand(
                clap::Command::new(sub.name)
                    .about(sub.about)
                    .defer(sub.args),
            )
        })
    }

    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        SUBCOMMANDS.iter().any(|sub| sub.name == name)
    }
}

impl FromArgMatches for Command {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Command, clap::Error> {
        let Some((name, m)) = matches.subcommand() else {
            return Err(clap::Error::new(ErrorKind::MissingSubcommand));
        };
        match SUBCOMMANDS.iter().find(|sub| sub.name == name) {
            Some(sub) => (sub.parse)(m),
            None => Err(clap::Error::raw(
                ErrorKind::InvalidSubcommand,
                format!("unknown command {name:?}\n"),
            )),
        }
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Command::from_arg_matches(matches)?;
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct IdArgs {
    pub id: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    #[arg(short, long)]
    pub all: bool,
    pub id: String,
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[arg(short, long)]
    pub force: bool,
    pub id: String,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    pub id: String,
    /// Options for ps(1) (table format).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[arg(long)]
    pub stats: bool,
    #[arg(long, default_value = "5s")]
    pub interval: String,
    pub id: String,
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    #[arg(long)]
    pub rootless: bool,
}

#[derive(Debug, Args, Clone)]
pub struct CreateArgs {
    pub id: String,
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass descriptors 3..3+N on to the container process.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    #[arg(short, long)]
    pub detach: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    pub id: String,
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    #[arg(short, long)]
    pub detach: bool,
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    #[arg(short, long)]
    pub tty: bool,
    #[arg(short, long)]
    pub env: Vec<String>,
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// UID[:GID]
    #[arg(short, long)]
    pub user: Option<String>,
    #[arg(short, long)]
    pub cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Pass N additional file descriptors (3..3+N) to the process.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    pub id: String,
    /// Resources JSON file ("-" for stdin).
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    #[arg(short, long)]
    pub memory: Option<String>,
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    #[arg(long = "memory-swap")]
    pub memory_swap: Option<String>,
    #[arg(long = "kernel-memory")]
    pub kernel_memory: Option<String>,
    #[arg(long = "cpu-shares")]
    pub cpu_shares: Option<u64>,
    #[arg(long = "cpu-quota")]
    pub cpu_quota: Option<i64>,
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime")]
    pub cpu_rt_runtime: Option<i64>,
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    #[arg(long = "pids-limit")]
    pub pids_limit: Option<i64>,
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_parses_into_its_variant() {
        let parse = |args: &[&str]| {
            let argv = ["berth-runc"].iter().chain(args);
            Cli::try_parse_from(argv)
                .unwrap_or_else(|e| panic!("{args:?}: {e}"))
                .command
        };
        let name = |c: &Command| format!("{c:?}").split('(').next().unwrap().to_lowercase();
        for sub in SUBCOMMANDS.iter().map(|s| s.name) {
            let mut args = vec![sub];
            if !["spec", "list", "features"].contains(&sub) {
                args.push("c1"); // the container id
            }
            assert_eq!(name(&parse(&args)), sub, "{args:?}");
        }
        match parse(&["--root", "/r", "kill", "--all", "c1", "KILL"]) {
            Command::Kill(k) => assert!(k.all && k.id == "c1" && k.signal == "KILL"),
            other => panic!("{other:?}"),
        }
        let cli =
            Cli::try_parse_from(["berth-runc", "run", "--root", "/r", "-b", "/b", "c1"]).unwrap();
        assert_eq!(cli.root, PathBuf::from("/r"));
        match cli.command {
            Command::Run(r) => assert_eq!(r.create.bundle, PathBuf::from("/b")),
            other => panic!("{other:?}"),
        }
    }
}
