//! The command line, shaped like Docker's: the same commands, flags and aliases.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::opts::ContainerOptions;

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
    Push { name: String },
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.
    Tag { source: String, target: String },
    /// Build an image from a Dockerfile.
    Build(crate::commands::build::BuildArgs),
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

#[derive(Args, Debug)]
pub struct RunArgs {
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Run container in background and print container ID.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Automatically remove the container and its volumes when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Proxy received signals to the process.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// Pull image before running ("always", "missing", "never").
    #[arg(long, default_value = "missing")]
    pub pull: String,
    /// Suppress the pull output.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[command(flatten)]
    pub options: ContainerOptions,
    /// IMAGE [COMMAND] [ARG...]: one list, so flags after the image belong to the command.
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "IMAGE [COMMAND] [ARG...]"
    )]
    pub argv: Vec<String>,
}

impl RunArgs {
    pub fn image(&self) -> &str {
        self.argv.first().map_or("", String::as_str)
    }

    pub fn command(&self) -> &[String] {
        self.argv.get(1..).unwrap_or_default()
    }
}

#[derive(Args, Debug)]
pub struct Containers {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals.
    #[arg(short, long)]
    pub attach: bool,
    /// Attach container's STDIN.
    #[arg(short, long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long)]
    pub detach_keys: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait before killing the container.
    #[arg(short = 't', long = "time", visible_alias = "timeout")]
    pub time: Option<i64>,
    /// Signal to send to the container.
    #[arg(short = 's', long)]
    pub signal: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal to send to the container.
    #[arg(short = 's', long)]
    pub signal: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL).
    #[arg(short, long)]
    pub force: bool,
    /// Remove anonymous volumes associated with the container.
    #[arg(short, long)]
    pub volumes: bool,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub all: bool,
    /// Only display container IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Display total file sizes.
    #[arg(short, long)]
    pub size: bool,
    /// Show n last created containers (includes all states).
    #[arg(short = 'n', long)]
    pub last: Option<i64>,
    /// Show the latest created container (includes all states).
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Filter output based on conditions provided.
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Follow log output.
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs.
    #[arg(short = 'n', long)]
    pub tail: Option<String>,
    /// Show logs since timestamp or relative (e.g. 42m).
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp or relative (e.g. 42m).
    #[arg(long)]
    pub until: Option<String>,
    /// Show timestamps.
    #[arg(short, long)]
    pub timestamps: bool,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Detached mode: run command in the background.
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Set environment variables.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long)]
    pub env_file: Vec<PathBuf>,
    /// Username or UID (format: "<name|uid>[:<group|gid>]").
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Give extended privileges to the command.
    #[arg(long)]
    pub privileged: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// CONTAINER COMMAND [ARG...]: one list, so flags after the container go to the command.
    #[arg(required = true, num_args = 2.., trailing_var_arg = true, value_name = "CONTAINER COMMAND [ARG...]")]
    pub argv: Vec<String>,
}

impl ExecArgs {
    pub fn container(&self) -> &str {
        self.argv.first().map_or("", String::as_str)
    }

    pub fn command(&self) -> &[String] {
        self.argv.get(1..).unwrap_or_default()
    }
}

#[derive(Args, Debug)]
pub struct AttachArgs {
    /// Do not attach STDIN.
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy all received signals to the process.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long)]
    pub detach_keys: Option<String>,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result.
    #[arg(long)]
    pub no_stream: bool,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information).
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH.
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Suppress progress output during copy.
    #[arg(short, long)]
    pub quiet: bool,
    pub source: String,
    pub destination: String,
}

#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images).
    #[arg(short, long)]
    pub all: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Show digests.
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided.
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Only list images of this repository[:tag].
    pub reference: Option<String>,
}

#[derive(Args, Debug)]
pub struct RmiArgs {
    /// Force removal of the image.
    #[arg(short, long)]
    pub force: bool,
    /// Do not delete untagged parents.
    #[arg(long)]
    pub no_prune: bool,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Suppress verbose output.
    #[arg(short, long)]
    pub quiet: bool,
    /// Download all tagged images in the repository.
    #[arg(short = 'a', long)]
    pub all_tags: bool,
    /// Set platform if server is multi-platform capable.
    #[arg(long)]
    pub platform: Option<String>,
    pub name: String,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Suppress the load output.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image.
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Set commit message for imported image.
    #[arg(short, long)]
    pub message: Option<String>,
    /// File (or "-" for STDIN) to import.
    pub file: String,
    pub reference: Option<String>,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Print sizes and dates in human readable format.
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set)]
    pub human: bool,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    pub image: String,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Display total file sizes if the type is container.
    #[arg(short, long)]
    pub size: bool,
    /// Return JSON for specified type (container, image).
    #[arg(long = "type")]
    pub kind: Option<String>,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct FormatArgs {
    /// Format output using a custom template.
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct DfArgs {
    /// Show detailed information on space usage.
    #[arg(short, long)]
    pub verbose: bool,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones.
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>").
    #[arg(long)]
    pub filter: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones.
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
    /// Prune anonymous volumes.
    #[arg(long)]
    pub volumes: bool,
    /// Provide filter values (e.g. "label=<key>=<value>").
    #[arg(long)]
    pub filter: Vec<String>,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Show all events created since timestamp.
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp.
    #[arg(long)]
    pub until: Option<String>,
    /// Filter output based on conditions provided.
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Username.
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password.
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from stdin.
    #[arg(long)]
    pub password_stdin: bool,
    pub server: Option<String>,
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
