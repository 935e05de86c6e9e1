//! `berth-runc`: runc's command line over berth-runtime. Parses arguments, makes one library
//! call per command, renders the result; errors go to stderr (and `--log`).

mod cli;
mod commands;
mod log;

use clap::Parser;

use berth_runtime::container::Spawner;

fn main() {
    // We may be the init's spawner (see `berth_runtime::container::Spawner`).
    berth_runtime::container::serve_if_spawner();
    // Container processes must descend from a read-only copy of this binary (CVE-2019-5736).
    // `create` and `run` start a spawner that execs one while we parse and prepare; `exec`
    // re-execs through one. Both happen before parsing anything, so any argument spelled
    // like such a command triggers them (a flag value too: harmless, only slower). A failure
    // is reported by the command.
    let spelled = |names: &[&str]| {
        std::env::args_os()
            .skip(1)
            .any(|a| a.to_str().is_some_and(|a| names.contains(&a)))
    };
    let spawner = if spelled(&["create", "run"]) {
        Spawner::launch()
    } else {
        Ok(None)
    };
    if spelled(&["exec"]) {
        let _ = berth_runtime::selfexe::ensure_read_only();
    }
    let cli = cli::Cli::parse();
    let logger = log::Logger::open(&cli);
    let code = match commands::dispatch(&cli, &logger, spawner) {
        Ok(code) => code,
        Err(failure) => {
            logger.error(&failure.message);
            failure.code
        }
    };
    std::process::exit(code);
}
