//! Command line: parsed by hand (no clap) to keep the shim small; every value becomes a typed
//! field here, at the edge.

use std::ffi::OsString;
use std::path::PathBuf;

use berth_runtime::container::ContainerId;

#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error("missing required flag {flag}")]
    Missing { flag: &'static str },
    #[error("flag {flag} needs a value")]
    NoValue { flag: String },
    #[error("flag {flag}: {value:?} is not a valid number")]
    BadNumber { flag: &'static str, value: String },
    #[error("unknown flag {flag:?}")]
    Unknown { flag: String },
    #[error("--id: {0}")]
    Id(#[from] berth_runtime::container::InvalidId),
    #[error("--supervise: {0}")]
    Supervise(#[from] crate::reexec::ReexecError),
}

/// Where and how to keep the json-file log.
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub path: PathBuf,
    /// 0 = unlimited (no rotation).
    pub max_size: u64,
    /// Total files kept (the live one included); at least 1.
    pub max_files: u32,
}

#[derive(Debug, Clone)]
pub struct Args {
    pub id: ContainerId,
    pub bundle: PathBuf,
    pub runtime_root: PathBuf,
    pub state_dir: PathBuf,
    pub log: Option<LogConfig>,
    pub stdin: bool,
    pub tty: bool,
    /// Hold the container's process until the first attacher connected (or a timeout passed),
    /// so a client attaching right after start misses no output (`docker run`).
    pub wait_attach: bool,
    /// Close the container's stdin when an attacher's input ends (Docker's `StdinOnce`).
    pub stdin_once: bool,
    /// Set (internally) when the shim re-executes itself to supervise.
    pub supervise: Option<crate::reexec::HandoverFds>,
    pub cgroups_path: Option<String>,
}

impl Args {
    pub fn parse(argv: impl IntoIterator<Item = OsString>) -> Result<Args, ArgsError> {
        let mut it = argv.into_iter();
        let (mut id, mut bundle, mut root, mut state) = (None, None, None, None);
        let (mut log_path, mut max_size, mut max_files) = (None, 0u64, 1u32);
        let (mut stdin, mut tty) = (false, false);
        let (mut wait_attach, mut stdin_once) = (false, false);
        let (mut supervise, mut cgroups_path) = (None, None);
        while let Some(flag) = it.next() {
            let flag = flag.to_string_lossy().into_owned();
            let mut value = || {
                it.next()
                    .ok_or_else(|| ArgsError::NoValue { flag: flag.clone() })
            };
            match flag.as_str() {
                "--id" => id = Some(value()?.to_string_lossy().into_owned()),
                "--bundle" => bundle = Some(PathBuf::from(value()?)),
                "--runtime-root" => root = Some(PathBuf::from(value()?)),
                "--state-dir" => state = Some(PathBuf::from(value()?)),
                "--log-path" => log_path = Some(PathBuf::from(value()?)),
                "--log-max-size" => max_size = number("--log-max-size", value()?)?,
                "--log-max-files" => max_files = number("--log-max-files", value()?)?,
                "--stdin" => stdin = true,
                "--tty" => tty = true,
                "--wait-attach" => wait_attach = true,
                "--stdin-once" => stdin_once = true,
                "--supervise" => {
                    let raw = value()?;
                    supervise = Some(crate::reexec::HandoverFds::decode(&raw.to_string_lossy())?)
                }
                "--cgroups-path" => cgroups_path = Some(value()?.to_string_lossy().into_owned()),
                _ => return Err(ArgsError::Unknown { flag }),
            }
        }
        let id = id.ok_or(ArgsError::Missing { flag: "--id" })?;
        Ok(Args {
            id: ContainerId::parse(&id)?,
            bundle: bundle.ok_or(ArgsError::Missing { flag: "--bundle" })?,
            runtime_root: root.ok_or(ArgsError::Missing {
                flag: "--runtime-root",
            })?,
            state_dir: state.ok_or(ArgsError::Missing {
                flag: "--state-dir",
            })?,
            log: log_path.map(|path| LogConfig {
                path,
                max_size,
                max_files: max_files.max(1),
            }),
            stdin,
            tty,
            wait_attach,
            stdin_once,
            supervise,
            cgroups_path,
        })
    }
}

fn number<T: std::str::FromStr>(flag: &'static str, raw: OsString) -> Result<T, ArgsError> {
    let text = raw.to_string_lossy();
    text.parse().map_err(|_| ArgsError::BadNumber {
        flag,
        value: text.into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, ArgsError> {
        Args::parse(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_all_flags() {
        let a = parse(&[
            "--id",
            "c1",
            "--bundle",
            "/b",
            "--runtime-root",
            "/r",
            "--state-dir",
            "/s",
            "--log-path",
            "/l",
            "--log-max-size",
            "100",
            "--log-max-files",
            "3",
            "--stdin",
            "--tty",
            "--wait-attach",
            "--stdin-once",
        ])
        .unwrap();
        assert_eq!(a.id.to_string(), "c1");
        let log = a.log.unwrap();
        assert_eq!((log.max_size, log.max_files), (100, 3));
        assert!(a.stdin && a.tty && a.wait_attach && a.stdin_once);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            parse(&["--bundle", "/b"]),
            Err(ArgsError::Missing { flag: "--id" })
        ));
        assert!(matches!(
            parse(&["--id", "c", "--log-max-size", "x"]),
            Err(ArgsError::BadNumber { .. })
        ));
        assert!(matches!(
            parse(&["--bogus"]),
            Err(ArgsError::Unknown { .. })
        ));
        assert!(matches!(parse(&["--id"]), Err(ArgsError::NoValue { .. })));
    }
}
