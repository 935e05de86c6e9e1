//! `berth-runc`: runc's command line over berth-runtime. Parses arguments, makes one library
//! call per command, renders the result; errors go to stderr (and `--log`).

mod cli;
mod commands;
mod log;

use clap::Parser;

fn main() {
    // We may be the init's spawner, started by `create` or `run` from a read-only copy of
    // this binary when the exec trampoline cannot guard a container (CVE-2019-5736, see
    // `berth_runtime::container::Spawner`).
    berth_runtime::container::serve_if_spawner();
    // `exec` re-execs through such a copy, before parsing anything: any argument spelled
    // `exec` triggers it (a flag value too: harmless, only slower). A failure is reported by
    // the command.
    if std::env::args_os().skip(1).any(|a| a == "exec") {
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
