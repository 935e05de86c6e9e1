//! The control socket: newline-separated JSON commands, one JSON reply line each.
//! `{"kill":SIG}`, `{"resize":[rows,cols]}`, `{"close_stdin":true}`, `{"state":true}`.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};

use serde_json::Value;

/// A request longer than this is not a command; the client is dropped.
const MAX_LINE: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Kill(i32),
    Resize { rows: u16, cols: u16 },
    CloseStdin,
    State,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("unknown command (expected kill, resize, close_stdin or state)")]
    Unknown,
    #[error("{field}: {reason}")]
    Field {
        field: &'static str,
        reason: &'static str,
    },
}

impl Command {
    pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
        let value: Value =
            serde_json::from_slice(line).map_err(|e| CommandError::Json(e.to_string()))?;
        let bad = |field, reason| CommandError::Field { field, reason };
        if let Some(sig) = value.get("kill") {
            return sig
                .as_i64()
                .filter(|s| (1..=64).contains(s))
                .map(|s| Command::Kill(s as i32))
                .ok_or(bad("kill", "expected a signal number 1..=64"));
        }
        if let Some(size) = value.get("resize") {
            let dims = size
                .as_array()
                .filter(|a| a.len() == 2)
                .and_then(|a| {
                    let n = |v: &Value| v.as_u64().and_then(|n| u16::try_from(n).ok());
                    Some((n(&a[0])?, n(&a[1])?))
                })
                .ok_or(bad("resize", "expected [rows, cols] (0..=65535)"))?;
            return Ok(Command::Resize {
                rows: dims.0,
                cols: dims.1,
            });
        }
        if value.get("close_stdin").and_then(Value::as_bool) == Some(true) {
            return Ok(Command::CloseStdin);
        }
        if value.get("state").and_then(Value::as_bool) == Some(true) {
            return Ok(Command::State);
        }
        Err(CommandError::Unknown)
    }
}

#[derive(Debug)]
pub struct ControlClient {
    pub id: u64,
    stream: UnixStream,
    buf: Vec<u8>,
}

impl ControlClient {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }

    /// Reads what arrived; returns the complete lines, or `None` when the client is gone
    /// (EOF, error, or an over-long line).
    pub fn read_lines(&mut self) -> Option<Vec<Vec<u8>>> {
        let mut chunk = [0u8; 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
        let mut lines = Vec::new();
        while let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
            let rest = self.buf.split_off(nl + 1);
            let mut line = std::mem::replace(&mut self.buf, rest);
            line.pop();
            lines.push(line);
        }
        (self.buf.len() <= MAX_LINE).then_some(lines)
    }

    /// Sends a reply line; small enough for the socket buffer, so a failure means the client
    /// is not reading and may be dropped.
    pub fn reply(&mut self, line: &[u8]) -> bool {
        let mut out = Vec::with_capacity(line.len() + 1);
        out.extend_from_slice(line);
        out.push(b'\n');
        self.stream.write_all(&out).is_ok()
    }
}

#[derive(Debug)]
pub struct ControlServer {
    listener: UnixListener,
    pub clients: Vec<ControlClient>,
    next_id: u64,
}

impl ControlServer {
    pub fn new(listener: UnixListener) -> std::io::Result<ControlServer> {
        listener.set_nonblocking(true)?;
        Ok(ControlServer {
            listener,
            clients: Vec::new(),
            next_id: 0,
        })
    }

    pub fn listener_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    pub fn accept(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            self.next_id += 1;
            self.clients.push(ControlClient {
                id: self.next_id,
                stream,
                buf: Vec::new(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(Command::parse(br#"{"kill":9}"#), Ok(Command::Kill(9)));
        assert_eq!(
            Command::parse(br#"{"resize":[24,80]}"#),
            Ok(Command::Resize { rows: 24, cols: 80 })
        );
        assert_eq!(
            Command::parse(br#"{"close_stdin":true}"#),
            Ok(Command::CloseStdin)
        );
        assert_eq!(Command::parse(br#"{"state":true}"#), Ok(Command::State));
    }

    #[test]
    fn rejects_malformed_commands() {
        assert!(matches!(
            Command::parse(b"nope"),
            Err(CommandError::Json(_))
        ));
        assert_eq!(Command::parse(b"{}"), Err(CommandError::Unknown));
        assert!(Command::parse(br#"{"kill":0}"#).is_err());
        assert!(Command::parse(br#"{"kill":"KILL"}"#).is_err());
        assert!(Command::parse(br#"{"resize":[1]}"#).is_err());
        assert!(Command::parse(br#"{"resize":[70000,1]}"#).is_err());
    }
}
