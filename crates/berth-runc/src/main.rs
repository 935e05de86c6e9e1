//! `berth-runc`: runc's command line over berth-runtime. Parses arguments, makes one library
//! call per command, renders the result; errors go to stderr (and `--log`).

mod cli;
mod commands;
mod log;

use clap::Parser;

fn main() {
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
