//! `Transfer-Encoding: chunked`, both ways.

use std::io::{self, BufRead, Read, Write};

/// Decodes a chunked body from `inner`, yielding the payload bytes.
#[derive(Debug)]
pub struct ChunkedReader<R> {
    inner: R,
    /// Bytes left in the current chunk; `None` before a chunk header, `Some(0)` never kept.
    remaining: Option<u64>,
    done: bool,
}

impl<R: BufRead> ChunkedReader<R> {
    pub fn new(inner: R) -> Self {
        ChunkedReader {
            inner,
            remaining: None,
            done: false,
        }
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    fn read_line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        let n = (&mut self.inner).take(4096).read_line(&mut line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a chunked body",
            ));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }

    fn next_chunk_size(&mut self) -> io::Result<u64> {
        let line = self.read_line()?;
        let size = line.split(';').next().unwrap_or("").trim();
        u64::from_str_radix(size, 16).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad chunk size line {line:?}"),
            )
        })
    }
}

impl<R: BufRead> Read for ChunkedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let remaining = match self.remaining {
            Some(n) => n,
            None => {
                let size = self.next_chunk_size()?;
                if size == 0 {
                    // Trailers end at an empty line.
                    while !self.read_line()?.is_empty() {}
                    self.done = true;
                    return Ok(0);
                }
                size
            }
        };
        let want = buf
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a chunk",
            ));
        }
        let left = remaining - n as u64;
        if left == 0 {
            let crlf = self.read_line()?;
            if !crlf.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "chunk not followed by CRLF",
                ));
            }
            self.remaining = None;
        } else {
            self.remaining = Some(left);
        }
        Ok(n)
    }
}

/// Copies `body` to `out` as chunks, then the last chunk.
pub fn write_chunked(mut body: impl Read, out: &mut impl Write) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        write!(out, "{n:x}\r\n")?;
        out.write_all(&buf[..n])?;
        out.write_all(b"\r\n")?;
    }
    out.write_all(b"0\r\n\r\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_chunks_with_extensions_and_trailers() {
        let wire = b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\nrest";
        let mut reader = ChunkedReader::new(&wire[..]);
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello world");
        assert_eq!(reader.into_inner(), b"rest");
    }

    #[test]
    fn truncated_chunk_is_an_error() {
        let mut reader = ChunkedReader::new(&b"a\r\nshort"[..]);
        let mut out = Vec::new();
        assert!(reader.read_to_end(&mut out).is_err());
        let mut reader = ChunkedReader::new(&b"zz\r\n"[..]);
        assert!(reader.read_to_end(&mut out).is_err());
    }

    #[test]
    fn round_trips() {
        let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut wire = Vec::new();
        write_chunked(&payload[..], &mut wire).unwrap();
        let mut back = Vec::new();
        ChunkedReader::new(&wire[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, payload);
    }
}
