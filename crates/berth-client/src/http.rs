//! HTTP/1.1 requests and responses, just what the Docker API needs.

use std::io::{self, BufRead, BufReader, Read, Write};

use serde::de::DeserializeOwned;

use crate::chunked::{ChunkedReader, write_chunked};
use crate::conn::Stream;
use crate::error::{ApiError, Error};

const MAX_HEAD: u64 = 64 * 1024;

/// A request body.
pub enum Body {
    Empty,
    Json(Vec<u8>),
    /// Bytes of a given content type, sent with a length.
    Bytes(Vec<u8>, &'static str),
    /// A stream of a given content type, sent chunked (tar archives from stdin or disk).
    Stream(Box<dyn Read>, &'static str),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Json(b) => write!(f, "Json({} bytes)", b.len()),
            Body::Bytes(b, t) => write!(f, "Bytes({} bytes, {t})", b.len()),
            Body::Stream(_, t) => write!(f, "Stream({t})"),
        }
    }
}

impl Body {
    pub fn json(value: &impl serde::Serialize) -> Result<Body, Error> {
        serde_json::to_vec(value)
            .map(Body::Json)
            .map_err(|source| Error::Encode { source })
    }
}

/// How the response body is framed.
enum Framing {
    Length(u64),
    Chunked,
    UntilEof,
}

/// A response: status, headers, and a body to read.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    target: String,
    body: BodyReader,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("target", &self.target)
            .finish()
    }
}

/// The body of a response, decoded from its framing.
pub enum BodyReader {
    Length(io::Take<BufReader<Stream>>),
    Chunked(ChunkedReader<BufReader<Stream>>),
    UntilEof(BufReader<Stream>),
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BodyReader::Length(r) => r.read(buf),
            BodyReader::Chunked(r) => r.read(buf),
            BodyReader::UntilEof(r) => r.read(buf),
        }
    }
}

pub(crate) fn write_head(
    stream: &mut impl Write,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &Body,
) -> io::Result<()> {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: berth-cli/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match body {
        Body::Empty => {
            if method == "POST" || method == "PUT" {
                head.push_str("Content-Length: 0\r\n");
            }
        }
        Body::Json(bytes) => head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            bytes.len()
        )),
        Body::Bytes(bytes, kind) => head.push_str(&format!(
            "Content-Type: {kind}\r\nContent-Length: {}\r\n",
            bytes.len()
        )),
        Body::Stream(_, kind) => head.push_str(&format!(
            "Content-Type: {kind}\r\nTransfer-Encoding: chunked\r\n"
        )),
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())
}

pub(crate) fn write_body(stream: &mut impl Write, body: Body) -> io::Result<()> {
    match body {
        Body::Empty => Ok(()),
        Body::Json(bytes) | Body::Bytes(bytes, _) => stream.write_all(&bytes),
        Body::Stream(reader, _) => write_chunked(reader, stream),
    }
}

/// Writes the request, reads the response head, and frames the body.
pub(crate) fn roundtrip(
    mut stream: Stream,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Body,
) -> Result<Response, Error> {
    write_head(&mut stream, method, target, headers, &body)
        .map_err(Error::io("sending request"))?;
    let sent = write_body(&mut stream, body);
    let mut reader = BufReader::with_capacity(16 * 1024, stream);
    let head = match sent {
        Ok(()) => read_head(&mut reader)?,
        // The daemon stopped reading: it may have answered why (a bad parameter, say)
        // before closing; that answer says more than the broken pipe.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ) =>
        {
            read_head(&mut reader).map_err(|_| Error::io("sending request body")(e))?
        }
        Err(e) => return Err(Error::io("sending request body")(e)),
    };
    let (status, headers) = head;
    response_from_head(reader, method, target, status, headers)
}

/// Frames the body of a response whose head has been read.
pub(crate) fn response_from_head(
    reader: BufReader<Stream>,
    method: &str,
    target: &str,
    status: u16,
    headers: Vec<(String, String)>,
) -> Result<Response, Error> {
    let framing = framing(method, status, &headers)?;
    let body = match framing {
        Framing::Length(n) => BodyReader::Length(reader.take(n)),
        Framing::Chunked => BodyReader::Chunked(ChunkedReader::new(reader)),
        Framing::UntilEof => BodyReader::UntilEof(reader),
    };
    Ok(Response {
        status,
        headers,
        target: target.to_owned(),
        body,
    })
}

/// Reads the status line and headers (up to the blank line).
pub(crate) fn read_head(
    reader: &mut BufReader<Stream>,
) -> Result<(u16, Vec<(String, String)>), Error> {
    let mut limited = reader.take(MAX_HEAD);
    let mut line = String::new();
    limited
        .read_line(&mut line)
        .map_err(Error::io("reading response"))?;
    let status = parse_status_line(&line)?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        let n = limited
            .read_line(&mut line)
            .map_err(Error::io("reading response headers"))?;
        if n == 0 {
            return Err(malformed("connection closed inside the headers"));
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed
            .split_once(':')
            .ok_or_else(|| malformed(format!("header line without a colon: {trimmed:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    Ok((status, headers))
}

fn parse_status_line(line: &str) -> Result<u16, Error> {
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => code
            .parse()
            .map_err(|_| malformed(format!("bad status code in {line:?}"))),
        _ => Err(malformed(format!("bad status line {line:?}"))),
    }
}

fn framing(method: &str, status: u16, headers: &[(String, String)]) -> Result<Framing, Error> {
    if method == "HEAD" || status == 204 || status == 304 || status == 101 {
        return Ok(Framing::Length(0));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if find("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        return Ok(Framing::Chunked);
    }
    match find("content-length") {
        Some(len) => len
            .parse()
            .map(Framing::Length)
            .map_err(|_| malformed(format!("bad Content-Length {len:?}"))),
        None => Ok(Framing::UntilEof),
    }
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::MalformedResponse {
        reason: reason.into(),
    }
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Turns a non-2xx response into [`ApiError`] with Docker's message.
    pub fn error_for_status(self) -> Result<Response, Error> {
        if self.is_success() {
            return Ok(self);
        }
        let status = self.status;
        let raw = self.bytes()?;
        Err(Error::Api(ApiError {
            status,
            message: error_message(&raw),
        }))
    }

    pub fn bytes(mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.body
            .read_to_end(&mut out)
            .map_err(Error::io("reading response body"))?;
        Ok(out)
    }

    pub fn text(self) -> Result<String, Error> {
        Ok(String::from_utf8_lossy(&self.bytes()?).into_owned())
    }

    pub fn json<T: DeserializeOwned>(self) -> Result<T, Error> {
        let target = self.target.clone();
        let raw = self.bytes()?;
        serde_json::from_slice(&raw).map_err(|source| Error::Json { target, source })
    }

    /// The body as a reader, for streams (logs, events, archives).
    pub fn into_reader(self) -> BodyReader {
        self.body
    }
}

/// Docker's error body is `{"message": "..."}`; anything else is shown as it came.
fn error_message(raw: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    match serde_json::from_slice::<Message>(raw) {
        Ok(m) => m.message,
        Err(_) => String::from_utf8_lossy(raw).trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status_line("HTTP/1.1 404 Not Found\r\n").unwrap(),
            404
        );
        assert_eq!(parse_status_line("HTTP/1.0 200\r\n").unwrap(), 200);
        assert!(parse_status_line("SSH-2.0\r\n").is_err());
        assert!(parse_status_line("").is_err());
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            error_message(br#"{"message":"No such container: x"}"#),
            "No such container: x"
        );
        assert_eq!(error_message(b"page not found\n"), "page not found");
    }

    #[test]
    fn framing_rules() {
        let h = |n: &str, v: &str| vec![(n.to_owned(), v.to_owned())];
        assert!(matches!(
            framing("GET", 200, &h("transfer-encoding", "chunked")).unwrap(),
            Framing::Chunked
        ));
        assert!(matches!(
            framing("GET", 200, &h("content-length", "12")).unwrap(),
            Framing::Length(12)
        ));
        assert!(matches!(
            framing("GET", 200, &[]).unwrap(),
            Framing::UntilEof
        ));
        assert!(framing("GET", 200, &h("content-length", "x")).is_err());
        assert!(matches!(
            framing("POST", 204, &[]).unwrap(),
            Framing::Length(0)
        ));
    }
}
