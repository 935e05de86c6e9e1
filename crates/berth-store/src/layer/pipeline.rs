//! Runs decompression and diffID hashing on a second thread, handing 1 MiB chunks of the
//! uncompressed tar to the extracting thread. Extraction is dominated by filesystem syscalls
//! and decompression + sha256 by user CPU, so on two cores they overlap instead of adding up.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use berth_oci::{Algorithm, Digest};

use super::LayerError;
use super::decompress::{self, STREAM_BUFFER};
use crate::content::Hasher;

/// Chunks in flight between the threads: bounds memory to a few MiB.
const CHANNEL_DEPTH: usize = 4;

/// What the producer thread saw: the diffID and length of the whole uncompressed stream.
pub struct Produced {
    pub diff_id: Digest,
    pub tar_size: u64,
}

/// Decompresses `stream` and feeds `consume` a reader of the uncompressed bytes. `consume` must
/// read to EOF on success (so the whole stream is hashed). Returns both sides' results.
pub fn with_decompressed_stream<T>(
    stream: impl Read + Send,
    consume: impl FnOnce(&mut dyn Read) -> Result<T, LayerError>,
) -> Result<(T, Produced), LayerError> {
    std::thread::scope(|scope| {
        let (sender, receiver) = sync_channel(CHANNEL_DEPTH);
        // Used chunks go back to the producer: fresh 1 MiB buffers would each cost page faults.
        let (recycle, recycled) = sync_channel(CHANNEL_DEPTH + 2);
        let producer = scope.spawn(move || produce(stream, sender, recycled));
        let mut reader = ChunkReader {
            receiver,
            recycle,
            current: Vec::new(),
            position: 0,
        };
        let consumed = consume(&mut reader);
        // Dropping the receiver unblocks a producer still sending after a consumer error.
        drop(reader);
        let produced = producer.join().unwrap_or_else(|_| {
            Err(LayerError::Read {
                entry: None,
                source: io::Error::other("decompression thread panicked"),
            })
        });
        let value = consumed?;
        Ok((value, produced?))
    })
}

fn produce(
    stream: impl Read,
    sender: SyncSender<io::Result<Vec<u8>>>,
    recycled: Receiver<Vec<u8>>,
) -> Result<Produced, LayerError> {
    let (_, mut decompressed) = decompress::decompressed(stream)?;
    let mut hasher = Hasher::new(Algorithm::Sha256);
    let mut tar_size = 0u64;
    loop {
        let mut chunk = recycled.try_recv().unwrap_or_default();
        chunk.resize(STREAM_BUFFER, 0);
        let filled = match fill(&mut decompressed, &mut chunk) {
            Ok(filled) => filled,
            Err(e) => {
                // The consumer reports it, naming the entry it was reading.
                let kind = e.kind();
                let _ = sender.send(Err(e));
                return Err(LayerError::Read {
                    entry: None,
                    source: io::Error::from(kind),
                });
            }
        };
        if filled == 0 {
            break;
        }
        chunk.truncate(filled);
        hasher.update(&chunk);
        tar_size += filled as u64;
        if sender.send(Ok(chunk)).is_err() {
            break;
        }
    }
    Ok(Produced {
        diff_id: hasher.finish(),
        tar_size,
    })
}

/// Reads until `buf` is full or EOF, so chunks are large even if the decoder returns little.
fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

struct ChunkReader {
    receiver: Receiver<io::Result<Vec<u8>>>,
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    position: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position == self.current.len() {
            match self.receiver.recv() {
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut self.current, chunk);
                    let _ = self.recycle.try_send(used);
                    self.position = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.position);
        buf[..n].copy_from_slice(&self.current[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}
