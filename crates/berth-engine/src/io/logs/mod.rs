//! `GET /containers/{id}/logs`: reads the json-file log the shim writes (rotated files in
//! order), filters by stream and time, starts at `tail` lines from the end, and in follow mode
//! keeps polling for new lines (surviving rotation) until the container stops and the log is
//! drained, or the sink says the client is gone.

mod entry;
mod files;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use entry::{LogEntry, Stream, format_time_fixed, parse_time_nanos, parse_timestamp_arg};

use crate::error::{ErrorKind, HasKind};

/// How often follow mode looks for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error("reading log {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("You must choose at least one stream")]
    NoStream,
}

impl HasKind for LogsError {
    fn kind(&self) -> ErrorKind {
        match self {
            LogsError::Read { .. } => ErrorKind::System,
            LogsError::NoStream => ErrorKind::InvalidArgument,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    /// Unix nanoseconds; entries before are skipped.
    pub since: Option<i64>,
    /// Unix nanoseconds; entries after end the read.
    pub until: Option<i64>,
    /// Only the last N lines (None = all).
    pub tail: Option<usize>,
    pub follow: bool,
}

impl LogOptions {
    fn wants(&self, e: &LogEntry) -> bool {
        let stream = match e.stream {
            Stream::Stdout => self.stdout,
            Stream::Stderr => self.stderr,
        };
        stream && self.since.is_none_or(|s| e.nanos >= s)
    }
}

/// What the sink says after each entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The client is gone.
    Stop,
}

/// Reads the log at `path` into `sink`. In follow mode `running` is asked, whenever the log is
/// drained, whether more may come.
pub fn read_logs(
    path: &Path,
    opts: &LogOptions,
    running: &dyn Fn() -> bool,
    sink: &mut dyn FnMut(LogEntry) -> Flow,
) -> Result<(), LogsError> {
    if !opts.stdout && !opts.stderr {
        return Err(LogsError::NoStream);
    }
    let err = |p: &Path| {
        let path = p.to_path_buf();
        move |source| LogsError::Read { path, source }
    };
    let files = files::rotated_then_live(path);
    let (first, mut offset) = match opts.tail {
        Some(n) => files::tail_start(&files, n).map_err(err(path))?,
        None => (0, 0),
    };
    let mut reader = Reader::default();
    for (index, file_path) in files.iter().enumerate().skip(first) {
        let start = if index == first { offset } else { 0 };
        offset = 0;
        let mut file = match File::open(file_path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(err(file_path)(e)),
        };
        let len = file.metadata().map_err(err(file_path))?.len();
        file.seek(SeekFrom::Start(start.min(len)))
            .map_err(err(file_path))?;
        let live = index == files.len() - 1;
        let mut buffered = BufReader::new(file);
        if reader
            .drain(&mut buffered, opts, sink)
            .map_err(err(file_path))?
            == Flow::Stop
        {
            return Ok(());
        }
        if live && opts.follow {
            return follow(path, buffered, &mut reader, opts, running, sink);
        }
    }
    if opts.follow {
        // The live file did not exist yet: follow from its beginning once it appears.
        return follow_from_creation(path, &mut reader, opts, running, sink);
    }
    Ok(())
}

fn follow_from_creation(
    path: &Path,
    reader: &mut Reader,
    opts: &LogOptions,
    running: &dyn Fn() -> bool,
    sink: &mut dyn FnMut(LogEntry) -> Flow,
) -> Result<(), LogsError> {
    loop {
        match File::open(path) {
            Ok(file) => return follow(path, BufReader::new(file), reader, opts, running, sink),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !running() {
                    return Ok(());
                }
                std::thread::sleep(FOLLOW_POLL);
            }
            Err(source) => {
                return Err(LogsError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
}

/// Follow mode on the live file: poll for growth; when the file at `path` is a new one (the
/// shim rotated), finish the old one and switch; when it shrank (truncated), start over.
fn follow(
    path: &Path,
    mut current: BufReader<File>,
    reader: &mut Reader,
    opts: &LogOptions,
    running: &dyn Fn() -> bool,
    sink: &mut dyn FnMut(LogEntry) -> Flow,
) -> Result<(), LogsError> {
    let err = |source| LogsError::Read {
        path: path.to_path_buf(),
        source,
    };
    loop {
        if reader.drain(&mut current, opts, sink).map_err(err)? == Flow::Stop || reader.past_until {
            return Ok(());
        }
        // Read the "still running" answer before the final look at the file, so a line written
        // just before the exit is not missed.
        let alive = running();
        let ours = current.get_ref().metadata().map_err(err)?;
        match std::fs::metadata(path) {
            Ok(now) if now.ino() != ours.ino() || now.dev() != ours.dev() => {
                // Rotated: what was left in the old file was just drained.
                match File::open(path) {
                    Ok(file) => {
                        current = BufReader::new(file);
                        reader.partial.clear();
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(err(e)),
                }
            }
            Ok(now) if now.len() < current.stream_position().map_err(err)? => {
                current.seek(SeekFrom::Start(0)).map_err(err)?;
                reader.partial.clear();
                continue;
            }
            _ => {}
        }
        if !alive {
            // One last drain for lines written between the previous drain and the exit.
            reader.drain(&mut current, opts, sink).map_err(err)?;
            return Ok(());
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}

/// Line assembly across reads (a line may be half-written when we reach the end of the file).
#[derive(Default)]
struct Reader {
    partial: Vec<u8>,
    past_until: bool,
}

impl Reader {
    fn drain(
        &mut self,
        file: &mut BufReader<File>,
        opts: &LogOptions,
        sink: &mut dyn FnMut(LogEntry) -> Flow,
    ) -> io::Result<Flow> {
        loop {
            if self.past_until {
                return Ok(Flow::Stop);
            }
            let n = file.read_until(b'\n', &mut self.partial)?;
            if n == 0 || self.partial.last() != Some(&b'\n') {
                return Ok(Flow::Continue);
            }
            let line = std::mem::take(&mut self.partial);
            let Some(entry) = LogEntry::parse(&line[..line.len() - 1]) else {
                continue;
            };
            if opts.until.is_some_and(|u| entry.nanos > u) {
                self.past_until = true;
                return Ok(Flow::Stop);
            }
            if opts.wants(&entry) && sink(entry) == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
    }
}

#[cfg(test)]
mod tests;
