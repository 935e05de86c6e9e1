//! `berth-runc`: runc's command line over berth-runtime. Parses arguments, makes one library
//! call per command, renders the result; errors go to stderr (and `--log`).

mod cli;
mod commands;
mod log;

use clap::Parser;

/// The commands that start container processes, which must run from a read-only mount of
/// this binary (CVE-2019-5736, see `berth_runtime::selfexe`).
const STARTS_PROCESSES: [&str; 3] = ["create", "run", "exec"];

fn main() {
    // Re-exec before parsing anything, so the first image does as little as possible. Any
    // argument spelled like such a command triggers it (a flag value too: harmless, only
    // slower). A failure is reported by the command, which checks again.
    if std::env::args_os()
        .skip(1)
        .any(|a| a.to_str().is_some_and(|a| STARTS_PROCESSES.contains(&a)))
    {
        let _ = berth_runtime::selfexe::ensure_read_only();
    }
    let cli = cli::Cli::parse();
    let logger = log::Logger::open(&cli);
    let code = match commands::dispatch(&cli, &logger) {
        Ok(code) => code,
        Err(failure) => {
            logger.error(&failure.message);
            failure.code
        }
    };
    std::process::exit(code);
}
