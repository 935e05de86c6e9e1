//! Reading a blob while it is still being written: a download's layer is unpacked from the
//! temp file as it grows (one pass over the network stream, no second read of a finished
//! blob), and the network task never waits for the unpacker.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex};

/// How far the writer has got, shared with its followers.
#[derive(Default)]
pub(super) struct Progress {
    state: Mutex<Written>,
    changed: Condvar,
}

#[derive(Default, Clone, Copy)]
struct Written {
    bytes: u64,
    end: End,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum End {
    #[default]
    Open,
    /// Every byte is written and verified.
    Complete,
    /// The writer was dropped or failed: what is there is not the blob.
    Abandoned,
}

impl Progress {
    fn update(&self, change: impl FnOnce(&mut Written)) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        change(&mut state);
        self.changed.notify_all();
    }

    pub(super) fn wrote(&self, bytes: u64) {
        self.update(|w| w.bytes = bytes);
    }

    pub(super) fn complete(&self) {
        self.update(|w| {
            if w.end == End::Open {
                w.end = End::Complete;
            }
        });
    }

    pub(super) fn abandon(&self) {
        self.update(|w| {
            if w.end == End::Open {
                w.end = End::Abandoned;
            }
        });
    }

    /// Blocks until more than `position` bytes are written or the writer is done (then
    /// `bytes <= position` means the end: complete, or abandoned).
    fn wait_past(&self, position: u64) -> Written {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while state.bytes <= position && state.end == End::Open {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        *state
    }
}

/// A reader over a blob being written: blocks for bytes not written yet, ends when the writer
/// completes, and fails if the writer gives up (wrong digest, broken download).
pub struct BlobFollower {
    pub(super) file: File,
    pub(super) progress: Arc<Progress>,
    pub(super) position: u64,
}

impl Read for BlobFollower {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let written = self.progress.wait_past(self.position);
        if written.end == End::Abandoned {
            // Stop at once: the rest of what was written is not worth unpacking.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the blob's download was abandoned",
            ));
        }
        if written.bytes <= self.position {
            return Ok(0);
        }
        let available = (written.bytes - self.position).min(buf.len() as u64) as usize;
        let n = self.file.read_at(&mut buf[..available], self.position)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "blob temp file is shorter than written",
            ));
        }
        self.position += n as u64;
        Ok(n)
    }
}
