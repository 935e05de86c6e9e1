//! `docker import URL` (`POST /images/create?fromSrc=http://…`): the daemon downloads the rootfs
//! tar and imports it as it arrives. As Docker: a source without a scheme is an `http://` host,
//! and the download reports `Importing` progress.

use std::io::{self, Read};
use std::time::Duration;

use super::progress::{ProgressFn, ProgressMessage};
use crate::error::{ErrorKind, HasKind};

/// Progress is reported at most once per this many bytes (and at the end).
const PROGRESS_STEP: u64 = 512 << 10;

#[derive(Debug, thiserror::Error)]
pub enum ImportUrlError {
    #[error("invalid import source {url:?}: {reason}")]
    BadUrl { url: String, reason: &'static str },
    #[error("downloading {url}: {source}")]
    Http {
        url: String,
        source: Box<reqwest::Error>,
    },
    #[error("failed to GET {url} with status {status}")]
    Status { url: String, status: u16 },
}

impl HasKind for ImportUrlError {
    fn kind(&self) -> ErrorKind {
        match self {
            ImportUrlError::BadUrl { .. } => ErrorKind::InvalidArgument,
            ImportUrlError::Status { status, .. } if (400..500).contains(status) => {
                ErrorKind::InvalidArgument
            }
            _ => ErrorKind::System,
        }
    }
}

/// Docker's reading of `fromSrc`: a URL with a scheme, or a bare `host[:port]` fetched over
/// http. Only http and https are downloaded.
pub fn normalize(src: &str) -> Result<String, ImportUrlError> {
    let bad = |reason| ImportUrlError::BadUrl {
        url: src.to_string(),
        reason,
    };
    match src.split_once("://") {
        Some(("http" | "https", rest)) if !rest.is_empty() => Ok(src.to_string()),
        Some(_) => Err(bad("only http and https sources can be imported")),
        None if src.is_empty() || src.contains(char::is_whitespace) => Err(bad("not a URL")),
        None => Ok(format!("http://{}", src.split('/').next().unwrap_or(src))),
    }
}

/// An opened download: the server answered 2xx; the body is read as it is imported.
pub struct Download {
    pub url: String,
    response: reqwest::blocking::Response,
}

/// Connects and checks the status, so a dead or missing source is an error before any
/// response byte (the client then gets a plain HTTP error).
pub fn open(src: &str) -> Result<Download, ImportUrlError> {
    let url = normalize(src)?;
    let http = |source| ImportUrlError::Http {
        url: url.clone(),
        source: Box::new(source),
    };
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .user_agent(concat!("berthd/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(http)?;
    let response = client.get(&url).send().map_err(http)?;
    if !response.status().is_success() {
        return Err(ImportUrlError::Status {
            url,
            status: response.status().as_u16(),
        });
    }
    Ok(Download { url, response })
}

impl Download {
    /// The body as a reader that reports `Importing` progress.
    pub fn into_reader(self, progress: ProgressFn) -> impl Read + Send {
        let total = self.response.content_length().unwrap_or(0);
        Counting {
            inner: self.response,
            done: 0,
            reported: 0,
            total,
            progress,
        }
    }
}

struct Counting<R> {
    inner: R,
    done: u64,
    reported: u64,
    total: u64,
    progress: ProgressFn,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if n == 0 || self.done - self.reported >= PROGRESS_STEP {
            self.reported = self.done;
            (self.progress)(ProgressMessage {
                detail: Some((self.done, self.total.max(self.done))),
                ..ProgressMessage::line("Importing")
            });
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_read_like_docker() {
        assert_eq!(normalize("http://h:8/x.tar").unwrap(), "http://h:8/x.tar");
        assert_eq!(normalize("https://h/x").unwrap(), "https://h/x");
        assert_eq!(
            normalize("example.com:8080").unwrap(),
            "http://example.com:8080"
        );
        assert!(normalize("ftp://h/x").is_err());
        assert!(normalize("").is_err());
        assert_eq!(
            normalize("file:///etc/passwd").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn counts_and_reports_progress() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let progress: ProgressFn = std::sync::Arc::new(move |m: ProgressMessage| {
            sink.lock().unwrap().push(m.detail);
        });
        let data = vec![1u8; (PROGRESS_STEP as usize) * 2 + 10];
        let mut reader = Counting {
            inner: data.as_slice(),
            done: 0,
            reported: 0,
            total: data.len() as u64,
            progress,
        };
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        let seen = seen.lock().unwrap();
        let total = data.len() as u64;
        assert_eq!(seen.last(), Some(&Some((total, total))));
        assert!(seen.len() >= 2, "{seen:?}");
    }
}
