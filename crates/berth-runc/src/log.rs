//! Error (and `--debug`) messages: to stderr, and to `--log FILE` as text or runc's JSON lines.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::time::SystemTime;

use crate::cli::{Cli, LogFormat};

pub struct Logger {
    file: Option<File>,
    format: LogFormat,
    debug: bool,
}

impl Logger {
    pub fn open(cli: &Cli) -> Logger {
        let file = cli.log.as_ref().and_then(|path| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    eprintln!("berth-runc: cannot open log file {}: {e}", path.display());
                })
                .ok()
        });
        Logger {
            file,
            format: cli.log_format,
            debug: cli.debug,
        }
    }

    pub fn error(&self, msg: &str) {
        eprintln!("berth-runc: {msg}");
        self.write("error", msg);
    }

    pub fn debug(&self, msg: &str) {
        if self.debug {
            self.write("debug", msg);
        }
    }

    fn write(&self, level: &str, msg: &str) {
        let Some(mut file) = self.file.as_ref() else {
            return;
        };
        let time = berth_runtime::container::rfc3339_nano(SystemTime::now());
        let line = match self.format {
            LogFormat::Json => {
                serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
            }
            LogFormat::Text => format!("time=\"{time}\" level={level} msg={msg:?}"),
        };
        let _ = writeln!(file, "{line}");
    }
}
