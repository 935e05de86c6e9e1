//! `ADD http(s)://…`: the file is downloaded into a private directory, checked against
//! `--checksum` when given, and copied like a local file but never unpacked. As Docker does
//! it: mode 0600 unless `--chmod`, mtime from `Last-Modified`, and a destination ending in `/`
//! takes the URL's last path segment as the file name.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest as _;

/// Mode of a downloaded file unless `--chmod` says otherwise.
pub const DOWNLOAD_MODE: u32 = 0o600;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {source}")]
    Http {
        url: String,
        source: Box<reqwest::Error>,
    },
    #[error("{url}: the server answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: cannot determine a file name from the URL")]
    NoFileName { url: String },
    #[error("{url}: checksum mismatch: want {want}, got {got}")]
    Checksum {
        url: String,
        want: String,
        got: String,
    },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Whether an ADD source is a URL (git sources are refused elsewhere).
pub fn is_http(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// Downloaded files, in a directory removed on drop.
#[derive(Debug)]
pub struct Fetched {
    dir: PathBuf,
    /// File names in `dir`, one per URL, in order.
    pub names: Vec<String>,
    /// `algorithm:hex` of each file's content.
    pub digests: Vec<String>,
}

impl Fetched {
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Fetched {
    fn drop(&mut self) {
        if let Err(error) = fs::remove_dir_all(&self.dir) {
            tracing::warn!(path = %self.dir.display(), %error, "removing downloads");
        }
    }
}

/// The file name a URL gives: its path's last non-empty segment (query and fragment cut).
pub fn file_name(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let (_, path) = path.split_once('/')?;
    path.rsplit('/')
        .find(|s| !s.is_empty() && *s != "." && *s != "..")
        .map(str::to_string)
}

/// Downloads each URL into `dir` (created here). `checksum` (`sha256:…`, `sha384:…`,
/// `sha512:…`) is checked against every file. `need_names`: the destination is a directory,
/// so each URL must name its file.
pub fn fetch(
    urls: &[String],
    dir: PathBuf,
    checksum: Option<&str>,
    need_names: bool,
) -> Result<Fetched, FetchError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FetchError::Io { path, source }
    };
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let mut fetched = Fetched {
        dir,
        names: Vec::new(),
        digests: Vec::new(),
    };
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .user_agent(concat!("berth-build/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Http {
            url: urls.first().cloned().unwrap_or_default(),
            source: Box::new(e),
        })?;
    for (i, url) in urls.iter().enumerate() {
        let http = |e| FetchError::Http {
            url: url.clone(),
            source: Box::new(e),
        };
        let mut response = client.get(url).send().map_err(http)?;
        if !response.status().is_success() {
            return Err(FetchError::Status {
                url: url.clone(),
                status: response.status().as_u16(),
            });
        }
        let name = match file_name(url) {
            Some(name) => name,
            None if need_names => return Err(FetchError::NoFileName { url: url.clone() }),
            None => "download".to_string(),
        };
        // Two URLs may end in the same name: keep each in its own subdirectory.
        let sub = fetched.dir.join(i.to_string());
        fs::create_dir_all(&sub).map_err(io_err(&sub))?;
        let path = sub.join(&name);
        let modified = response
            .headers()
            .get(reqwest::header::LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok());
        let digest = save(&mut response, &path, checksum).map_err(|e| match e {
            SaveError::Io(source) => FetchError::Io {
                path: path.clone(),
                source,
            },
            SaveError::Mismatch { want, got } => FetchError::Checksum {
                url: url.clone(),
                want,
                got,
            },
        })?;
        fs::set_permissions(&path, fs::Permissions::from_mode(DOWNLOAD_MODE))
            .map_err(io_err(&path))?;
        if let Some(modified) = modified {
            fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(modified))
                .map_err(io_err(&path))?;
        }
        fetched.names.push(format!("{i}/{name}"));
        fetched.digests.push(digest);
    }
    Ok(fetched)
}

enum SaveError {
    Io(io::Error),
    Mismatch { want: String, got: String },
}

/// Streams `body` to `path`, hashing with the checksum's algorithm (sha256 without one).
fn save(body: &mut impl Read, path: &Path, checksum: Option<&str>) -> Result<String, SaveError> {
    let algorithm = checksum
        .and_then(|c| c.split_once(':'))
        .map_or("sha256", |(a, _)| a);
    let mut hasher: Box<dyn sha2::digest::DynDigest> = match algorithm {
        "sha384" => Box::new(sha2::Sha384::new()),
        "sha512" => Box::new(sha2::Sha512::new()),
        _ => Box::new(sha2::Sha256::new()),
    };
    let mut file = fs::File::create(path).map_err(SaveError::Io)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SaveError::Io(e)),
        };
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(SaveError::Io)?;
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let got = format!("{algorithm}:{hex}");
    match checksum {
        Some(want) if want != got => Err(SaveError::Mismatch {
            want: want.to_string(),
            got,
        }),
        _ => Ok(got),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_urls() {
        assert_eq!(
            file_name("https://example.com/a/b/tool.tar.gz?x=1#f").as_deref(),
            Some("tool.tar.gz")
        );
        assert_eq!(file_name("http://h:8080/dir/").as_deref(), Some("dir"));
        assert_eq!(file_name("http://h"), None);
        assert_eq!(file_name("http://h/"), None);
    }
}
