//! htpasswd files with bcrypt entries (`user:$2y$...`), with a cache of verified passwords so
//! a busy client does not pay bcrypt's deliberate cost on every request.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::Digest as _;

#[derive(Debug, thiserror::Error)]
pub enum HtpasswdError {
    #[error("read htpasswd file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: expected `user:bcrypt-hash`")]
    BadLine { path: PathBuf, line: usize },
    #[error(
        "{path}:{line}: user {user:?} has a non-bcrypt hash (only $2a$/$2b$/$2y$ entries are supported)"
    )]
    NotBcrypt {
        path: PathBuf,
        line: usize,
        user: String,
    },
}

#[derive(Debug)]
pub struct Htpasswd {
    users: HashMap<String, String>,
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl Htpasswd {
    pub fn load(path: &Path) -> Result<Htpasswd, HtpasswdError> {
        let text = std::fs::read_to_string(path).map_err(|source| HtpasswdError::Read {
            path: path.to_owned(),
            source,
        })?;
        Htpasswd::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Htpasswd, HtpasswdError> {
        let mut users = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, hash) = line.split_once(':').ok_or(HtpasswdError::BadLine {
                path: path.to_owned(),
                line: i + 1,
            })?;
            if !(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")) {
                return Err(HtpasswdError::NotBcrypt {
                    path: path.to_owned(),
                    line: i + 1,
                    user: user.to_owned(),
                });
            }
            users.insert(user.to_owned(), hash.to_owned());
        }
        Ok(Htpasswd {
            users,
            verified: Mutex::new(HashSet::new()),
        })
    }

    /// Checks a user's password. Successful checks are remembered by a hash of user+password+entry.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let Some(hash) = self.users.get(user) else {
            return false;
        };
        let mut h = sha2::Sha256::new();
        for part in [user, password, hash] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let key: [u8; 32] = h.finalize().into();
        let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if cache.contains(&key) {
            return true;
        }
        drop(cache);
        let ok = tokio::task::block_in_place(|| bcrypt::verify(password, hash).unwrap_or(false));
        if ok {
            cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(key);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn verifies_bcrypt_entries() {
        let hash = bcrypt::hash("s3cret", 4)
            .unwrap()
            .replacen("$2b$", "$2y$", 1);
        let file = Htpasswd::parse(&format!("# users\nalice:{hash}\n"), Path::new("t")).unwrap();
        assert!(file.verify("alice", "s3cret"));
        assert!(file.verify("alice", "s3cret"), "cached path");
        assert!(!file.verify("alice", "wrong"));
        assert!(!file.verify("bob", "s3cret"));
        assert!(matches!(
            Htpasswd::parse("bob:{SHA}abc", Path::new("t")),
            Err(HtpasswdError::NotBcrypt { .. })
        ));
        assert!(matches!(
            Htpasswd::parse("nocolon", Path::new("t")),
            Err(HtpasswdError::BadLine { .. })
        ));
    }
}
