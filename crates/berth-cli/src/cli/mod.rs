//! The command line, shaped like Docker's: the same commands, flags and aliases.

mod container_args;
mod other_args;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use container_args::*;
pub use other_args::*;

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    version,
    about = "Berth container engine (Docker-compatible CLI)"
)]
pub struct Cli {
    /// Daemon socket to connect to (unix:///path or tcp://host:port).
    #[arg(short = 'H', long = "host")]
    pub host: Option<String>,
    /// Location of client config files (default ~/.docker).
    #[arg(long = "config")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    #[command(flatten)]
    Container(ContainerCmd),
    #[command(flatten)]
    Image(ImageCmd),
    /// Manage containers.
    #[command(name = "container", subcommand)]
    ContainerGroup(ContainerGroup),
    /// Manage images.
    #[command(name = "image", subcommand)]
    ImageGroup(ImageGroup),
    /// Manage the daemon.
    #[command(subcommand)]
    System(SystemCmd),
    /// Manage networks.
    #[command(subcommand)]
    Network(crate::commands::network::NetworkCmd),
    /// Manage volumes.
    #[command(subcommand)]
    Volume(crate::commands::volume::VolumeCmd),
    /// Manage builds.
    #[command(subcommand)]
    Builder(crate::commands::builder::BuilderCmd),
    /// Show the client and server versions.
    Version(FormatArgs),
    /// Display system-wide information.
    Info(FormatArgs),
    /// Get real time events from the server.
    Events(EventsArgs),
    /// Log in to a registry.
    Login(LoginArgs),
    /// Log out from a registry.
    Logout { server: Option<String> },
    /// Return low-level information on containers or images.
    Inspect(InspectArgs),
    /// Run an OCI distribution registry (`serve`, `gc`; see `berth registry --help`).
    #[command(disable_help_flag = true)]
    Registry {
        /// Arguments for `berth-registry`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

/// Container commands, available at the top level and under `berth container`.
#[derive(Subcommand, Debug)]
pub enum ContainerCmd {
    /// Create and run a new container from an image.
    #[command(disable_help_flag = true)]
    Run(Box<RunArgs>),
    /// Create a new container.
    #[command(disable_help_flag = true)]
    Create(Box<RunArgs>),
    /// Start one or more stopped containers.
    Start(StartArgs),
    /// Stop one or more running containers.
    Stop(StopArgs),
    /// Restart one or more containers.
    Restart(StopArgs),
    /// Kill one or more running containers.
    Kill(KillArgs),
    /// Pause all processes within one or more containers.
    Pause(Containers),
    /// Unpause all processes within one or more containers.
    Unpause(Containers),
    /// Remove one or more containers.
    Rm(RmArgs),
    /// List containers.
    Ps(PsArgs),
    /// Fetch the logs of a container.
    Logs(LogsArgs),
    /// Execute a command in a running container.
    Exec(ExecArgs),
    /// Attach local standard input, output, and error streams to a running container.
    Attach(AttachArgs),
    /// Block until one or more containers stop, then print their exit codes.
    Wait(Containers),
    /// List port mappings or a specific mapping for the container.
    Port(crate::commands::port::PortArgs),
    /// Display the running processes of a container.
    Top {
        /// CONTAINER [ps OPTIONS]
        #[arg(
            required = true,
            trailing_var_arg = true,
            value_name = "CONTAINER [ps OPTIONS]"
        )]
        argv: Vec<String>,
    },
    /// Display a live stream of container(s) resource usage statistics.
    Stats(StatsArgs),
    /// Copy files/folders between a container and the local filesystem.
    Cp(CpArgs),
    /// Rename a container.
    Rename { container: String, new_name: String },
    /// Export a container's filesystem as a tar archive.
    Export {
        container: String,
        /// Write to a file, instead of STDOUT.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Inspect changes to files or directories on a container's filesystem.
    Diff { container: String },
    /// Update configuration of one or more containers.
    Update(crate::commands::update::UpdateArgs),
}

/// `berth container ...`: the container commands plus ls/list and inspect/prune.
#[derive(Subcommand, Debug)]
pub enum ContainerGroup {
    #[command(flatten)]
    Common(ContainerCmd),
    /// List containers.
    #[command(visible_aliases = ["list"])]
    Ls(PsArgs),
    /// Display detailed information on one or more containers.
    Inspect(InspectArgs),
    /// Remove all stopped containers.
    Prune(PruneArgs),
}

/// Image commands, available at the top level and under `berth image`.
#[derive(Subcommand, Debug)]
pub enum ImageCmd {
    /// List images.
    Images(ImagesArgs),
    /// Remove one or more images.
    Rmi(RmiArgs),
    /// Download an image from a registry.
    Pull(PullArgs),
    /// Upload an image to a registry.
    Push(PushArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.
    Tag { source: String, target: String },
    /// Build an image from a Dockerfile.
    Build(Box<crate::commands::build::BuildArgs>),
    /// Load an image from a tar archive or STDIN.
    Load(LoadArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default).
    Save(SaveArgs),
    /// Import the contents from a tarball to create a filesystem image.
    Import(ImportArgs),
    /// Show the history of an image.
    History(HistoryArgs),
}

#[derive(Subcommand, Debug)]
pub enum ImageGroup {
    /// List images.
    #[command(visible_aliases = ["list"])]
    Ls(ImagesArgs),
    /// Remove one or more images.
    Rm(RmiArgs),
    /// Display detailed information on one or more images.
    Inspect(InspectArgs),
    /// Remove unused images.
    Prune(PruneArgs),
    #[command(flatten)]
    Common(ImageCmd),
}

#[derive(Subcommand, Debug)]
pub enum SystemCmd {
    /// Show docker disk usage.
    Df(DfArgs),
    /// Display system-wide information.
    Info(FormatArgs),
    /// Remove unused data.
    Prune(SystemPruneArgs),
    /// Get real time events from the server.
    Events(EventsArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// clap's own consistency checks (duplicate short flags and the like) for every command.
    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn docker_style_command_lines_parse() {
        let cli = Cli::try_parse_from([
            "berth",
            "-H",
            "unix:///x.sock",
            "run",
            "--rm",
            "-it",
            "-e",
            "A=1",
            "-h",
            "box",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "echo -n hi",
        ])
        .unwrap();
        assert_eq!(cli.host.as_deref(), Some("unix:///x.sock"));
        let Command::Container(ContainerCmd::Run(run)) = cli.command else {
            panic!("not a run command");
        };
        assert!(run.rm && run.options.interactive && run.options.tty);
        assert_eq!(run.options.hostname.as_deref(), Some("box"));
        assert_eq!(run.image(), "busybox");
        assert_eq!(run.command(), ["sh", "-c", "echo -n hi"]);
        // Flags after the image belong to the command, even ones `run` knows (-c, -e, -t).
        let cli =
            Cli::try_parse_from(["berth", "run", "busybox", "sh", "-c", "x", "-e", "-t"]).unwrap();
        let Command::Container(ContainerCmd::Run(run)) = cli.command else {
            panic!("not a run command");
        };
        assert_eq!(run.command(), ["sh", "-c", "x", "-e", "-t"]);
        let cli = Cli::try_parse_from(["berth", "exec", "-i", "web", "ls", "-t", "-u"]).unwrap();
        let Command::Container(ContainerCmd::Exec(exec)) = cli.command else {
            panic!("not an exec command");
        };
        assert!(exec.interactive && !exec.tty);
        assert_eq!(exec.container(), "web");
        assert_eq!(exec.command(), ["ls", "-t", "-u"]);
        assert!(Cli::try_parse_from(["berth", "exec", "web"]).is_err());
        for line in [
            &["berth", "container", "ls", "-a"][..],
            &["berth", "image", "ls", "-q"],
            &["berth", "container", "rm", "-f", "x"],
            &["berth", "image", "rm", "x"],
            &["berth", "history", "-H=false", "x"],
            &["berth", "system", "df"],
            &["berth", "exec", "-it", "c", "ls", "-l"],
            &["berth", "stop", "-t", "1", "a", "b"],
            &["berth", "logs", "-f", "--tail", "10", "c"],
            &["berth", "inspect", "-f", "{{.Id}}", "c"],
            &["berth", "cp", "c:/etc/hosts", "."],
        ] {
            Cli::try_parse_from(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        }
    }
}
