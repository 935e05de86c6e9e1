//! Docker's `json-file` log: one `{"log":…,"stream":…,"time":…}` object per line, lines longer
//! than 16 KiB split into partial entries, rotation by size (`file` → `file.1` → …).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::args::LogConfig;
use crate::json;

/// Docker's limit for one log message; longer lines become several partial entries.
pub const MAX_ENTRY: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("opening log {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing log {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("rotating log {path}: {source}")]
    Rotate {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout = 1,
    Stderr = 2,
}

impl Stream {
    fn name(self) -> &'static [u8] {
        match self {
            Stream::Stdout => b"stdout",
            Stream::Stderr => b"stderr",
        }
    }
}

/// Splits a stream into log lines; holds the unterminated tail between reads.
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Feeds `data`, calling `emit` for every complete line (with its `\n`) and for every
    /// 16 KiB piece of an over-long line.
    pub fn feed(&mut self, mut data: &[u8], emit: &mut impl FnMut(&[u8])) {
        while let Some(nl) = data.iter().position(|&b| b == b'\n') {
            let (line, rest) = data.split_at(nl + 1);
            if self.pending.is_empty() {
                emit(line);
            } else {
                self.pending.extend_from_slice(line);
                self.emit_pending(emit);
            }
            data = rest;
        }
        self.pending.extend_from_slice(data);
        while self.pending.len() >= MAX_ENTRY {
            let rest = self.pending.split_off(MAX_ENTRY);
            emit(&self.pending);
            self.pending = rest;
        }
    }

    /// Emits whatever is buffered (at end of stream).
    pub fn finish(&mut self, emit: &mut impl FnMut(&[u8])) {
        if !self.pending.is_empty() {
            self.emit_pending(emit);
        }
    }

    fn emit_pending(&mut self, emit: &mut impl FnMut(&[u8])) {
        for piece in self.pending.chunks(MAX_ENTRY) {
            emit(piece);
        }
        self.pending.clear();
        self.pending.shrink_to(MAX_ENTRY);
    }
}

/// The log file being written, rotated by size.
#[derive(Debug)]
pub struct JsonLog {
    config: LogConfig,
    file: File,
    size: u64,
    entry: Vec<u8>,
}

impl JsonLog {
    pub fn open(config: LogConfig) -> Result<JsonLog, LogError> {
        let file = open_append(&config.path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(JsonLog {
            config,
            file,
            size,
            entry: Vec::with_capacity(256),
        })
    }

    /// Appends one entry for `line` (already split by `LineSplitter`).
    pub fn write(&mut self, stream: Stream, line: &[u8], at: SystemTime) -> Result<(), LogError> {
        self.entry.clear();
        self.entry.extend_from_slice(b"{\"log\":");
        json::push_str(&mut self.entry, line);
        self.entry.extend_from_slice(b",\"stream\":\"");
        self.entry.extend_from_slice(stream.name());
        self.entry.extend_from_slice(b"\",\"time\":\"");
        self.entry
            .extend_from_slice(berth_runtime::container::rfc3339_nano(at).as_bytes());
        self.entry.extend_from_slice(b"\"}\n");
        let len = self.entry.len() as u64;
        if self.config.max_size > 0 && self.size > 0 && self.size + len > self.config.max_size {
            self.rotate()?;
        }
        self.file
            .write_all(&self.entry)
            .map_err(|source| LogError::Write {
                path: self.config.path.clone(),
                source,
            })?;
        self.size += len;
        if self.entry.capacity() > 4 * MAX_ENTRY {
            self.entry = Vec::with_capacity(256);
        }
        Ok(())
    }

    /// `file.(n-2)` → `file.(n-1)` … `file` → `file.1`, then a fresh `file`; with one file
    /// allowed, the file is truncated instead (as Docker does).
    fn rotate(&mut self) -> Result<(), LogError> {
        let path = &self.config.path;
        let err = |source| LogError::Rotate {
            path: path.clone(),
            source,
        };
        let keep = self.config.max_files;
        if keep <= 1 {
            self.file.set_len(0).map_err(err)?;
            self.size = 0;
            return Ok(());
        }
        for n in (1..keep - 1).rev() {
            match std::fs::rename(numbered(path, n), numbered(path, n + 1)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
                _ => {}
            }
        }
        std::fs::rename(path, numbered(path, 1)).map_err(err)?;
        self.file = open_append(path)?;
        self.size = 0;
        Ok(())
    }
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

fn open_append(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
        .map_err(|source| LogError::Open {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut s = LineSplitter::default();
        for c in chunks {
            s.feed(c, &mut |l| out.push(l.to_vec()));
        }
        s.finish(&mut |l| out.push(l.to_vec()));
        out
    }

    #[test]
    fn splits_lines_across_reads() {
        assert_eq!(
            split(&[b"a\nb", b"c\n", b"tail"]),
            vec![b"a\n".to_vec(), b"bc\n".to_vec(), b"tail".to_vec()]
        );
    }

    #[test]
    fn cuts_long_lines_at_16k() {
        let long = vec![b'x'; MAX_ENTRY * 2 + 10];
        let out = split(&[&long, b"\n"]);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].len(), MAX_ENTRY);
        assert_eq!(out[2], b"xxxxxxxxxx\n".to_vec());
    }

    #[test]
    fn rotates_keeping_at_most_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let mut log = JsonLog::open(LogConfig {
            path: path.clone(),
            max_size: 200,
            max_files: 3,
        })
        .unwrap();
        for _ in 0..50 {
            log.write(Stream::Stdout, b"hello world\n", SystemTime::now())
                .unwrap();
        }
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["c.log", "c.log.1", "c.log.2"]);
        for name in names {
            let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(v["log"], "hello world\n");
            }
        }
    }
}
