//! The local terminal: raw mode (restored on drop, whatever the exit path), window size,
//! and Docker's detach-key sequences.

use std::io;

use rustix::termios::{self, OptionalActions, Termios};

/// Raw mode on stdin while alive.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Puts stdin in raw mode; `None` when stdin is not a terminal.
    pub fn enable() -> io::Result<Option<RawMode>> {
        let stdin = io::stdin();
        if !termios::isatty(&stdin) {
            return Ok(None);
        }
        let saved = termios::tcgetattr(&stdin)?;
        let mut raw = saved.clone();
        raw.make_raw();
        termios::tcsetattr(&stdin, OptionalActions::Now, &raw)?;
        Ok(Some(RawMode { saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(io::stdin(), OptionalActions::Now, &self.saved);
    }
}

/// (rows, columns) of our terminal, when stdout (or stdin) is one.
pub fn window_size() -> Option<(u16, u16)> {
    let size = termios::tcgetwinsize(io::stdout())
        .or_else(|_| termios::tcgetwinsize(io::stdin()))
        .ok()?;
    (size.ws_row > 0 && size.ws_col > 0).then_some((size.ws_row, size.ws_col))
}

pub fn stdin_is_tty() -> bool {
    termios::isatty(io::stdin())
}

#[derive(Debug, thiserror::Error)]
#[error("invalid detach keys {keys:?}: {reason}")]
pub struct DetachKeysError {
    keys: String,
    reason: &'static str,
}

/// Docker's detach-key syntax: comma-separated `ctrl-<x>` or single characters.
pub fn parse_detach_keys(keys: &str) -> Result<Vec<u8>, DetachKeysError> {
    let err = |reason| DetachKeysError {
        keys: keys.to_owned(),
        reason,
    };
    let mut out = Vec::new();
    for key in keys.split(',') {
        if let Some(c) = key.strip_prefix("ctrl-") {
            let [b] = c.as_bytes() else {
                return Err(err("ctrl- must be followed by one character"));
            };
            out.push(match b.to_ascii_lowercase() {
                b @ b'a'..=b'z' => b - b'a' + 1,
                b'@' => 0,
                b'[' => 27,
                b'\\' => 28,
                b']' => 29,
                b'^' => 30,
                b'_' => 31,
                _ => return Err(err("unknown ctrl- key")),
            });
        } else {
            let [b] = key.as_bytes() else {
                return Err(err("each key must be one character or ctrl-<x>"));
            };
            out.push(*b);
        }
    }
    Ok(out)
}

/// Watches keyboard input for the detach sequence, holding back a partial match.
#[derive(Debug)]
pub struct EscapeDetector {
    keys: Vec<u8>,
    matched: usize,
}

/// What to forward for a chunk of input, and whether the sequence completed.
#[derive(Debug, PartialEq, Eq)]
pub struct Scanned {
    pub forward: Vec<u8>,
    pub detach: bool,
}

impl EscapeDetector {
    pub fn new(keys: Vec<u8>) -> Self {
        EscapeDetector { keys, matched: 0 }
    }

    pub fn scan(&mut self, input: &[u8]) -> Scanned {
        let mut forward = Vec::with_capacity(input.len());
        for &b in input {
            if self.keys.is_empty() {
                forward.push(b);
                continue;
            }
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return Scanned {
                        forward,
                        detach: true,
                    };
                }
            } else {
                // Not the sequence after all: release what we held back, then re-check b.
                forward.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                } else {
                    forward.push(b);
                }
            }
        }
        Scanned {
            forward,
            detach: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_detach_keys() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(
            parse_detach_keys("a,ctrl-@,ctrl-[").unwrap(),
            vec![b'a', 0, 27]
        );
        assert!(parse_detach_keys("ctrl-").is_err());
        assert!(parse_detach_keys("ab").is_err());
    }

    #[test]
    fn detects_the_sequence_across_chunks() {
        let mut d = EscapeDetector::new(vec![16, 17]);
        assert_eq!(
            d.scan(b"ls\x10"),
            Scanned {
                forward: b"ls".to_vec(),
                detach: false
            }
        );
        assert!(d.scan(b"\x11").detach);
    }

    #[test]
    fn releases_partial_matches() {
        let mut d = EscapeDetector::new(vec![16, 17]);
        let s = d.scan(b"a\x10b\x10\x10\x11");
        assert_eq!(s.forward, b"a\x10b\x10");
        assert!(s.detach);
    }
}
