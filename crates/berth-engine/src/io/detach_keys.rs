//! Docker's detach keys: a key sequence (default Ctrl-P Ctrl-Q) that, typed into an attached
//! tty (`attach`, `run -it`, `exec -it`), ends the attachment and leaves the process running.
//! The docker CLI watches for it itself; the daemon watches too (Docker does), for clients
//! that send the keys on (SDKs, raw API users).

use crate::error::{ErrorKind, HasKind};

/// Docker's default sequence, `ctrl-p,ctrl-q`.
pub const DEFAULT: &[u8] = &[16, 17];

#[derive(Debug, thiserror::Error)]
#[error("Invalid detach keys ({keys}) provided: {reason}")]
pub struct DetachKeysError {
    pub keys: String,
    pub reason: &'static str,
}

impl HasKind for DetachKeysError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// Parses Docker's syntax: comma-separated `ctrl-<x>` or single characters; empty means the
/// default sequence.
pub fn parse(keys: &str) -> Result<Vec<u8>, DetachKeysError> {
    if keys.is_empty() {
        return Ok(DEFAULT.to_vec());
    }
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

/// Watches input for the sequence, holding back a partial match until it is decided.
#[derive(Debug)]
pub struct EscapeDetector {
    keys: Vec<u8>,
    matched: usize,
}

/// What to forward for a chunk of input, and whether the sequence completed (input after it
/// is dropped: the attachment ends there).
#[derive(Debug, PartialEq, Eq)]
pub struct Scanned {
    pub forward: Vec<u8>,
    pub detach: bool,
}

impl EscapeDetector {
    pub fn new(keys: Vec<u8>) -> EscapeDetector {
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
                continue;
            }
            // Not the sequence after all: release what was held back, then look at `b` anew.
            forward.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if b == self.keys[0] {
                self.matched = 1;
            } else {
                forward.push(b);
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
    fn parses_docker_syntax() {
        assert_eq!(parse("").unwrap(), DEFAULT);
        assert_eq!(parse("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse("ctrl-x,y").unwrap(), vec![24, b'y']);
        assert_eq!(parse("a,ctrl-@,ctrl-[").unwrap(), vec![b'a', 0, 27]);
        assert!(parse("ctrl-").is_err());
        assert!(parse("ab").is_err());
        assert!(parse("ctrl-1").is_err());
    }

    #[test]
    fn detects_across_chunks_and_releases_false_starts() {
        let mut d = EscapeDetector::new(vec![24, b'y']);
        assert_eq!(
            d.scan(b"ab\x18"),
            Scanned {
                forward: b"ab".to_vec(),
                detach: false
            }
        );
        // ^X then not y: both pass on.
        assert_eq!(d.scan(b"z").forward, b"\x18z");
        assert_eq!(d.scan(b"\x18\x18").forward, b"\x18");
        let done = d.scan(b"yrest");
        assert_eq!(done.forward, b"");
        assert!(done.detach);
    }

    #[test]
    fn no_keys_forwards_everything() {
        let mut d = EscapeDetector::new(Vec::new());
        let s = d.scan(b"\x10\x11");
        assert_eq!(s.forward, b"\x10\x11");
        assert!(!s.detach);
    }
}
