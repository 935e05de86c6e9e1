//! Per-repository links: which blobs and manifests a repository holds, and its tags.

use std::path::{Path, PathBuf};

use berth_oci::Digest;

use super::fsutil::{atomic_write, list_names, read_optional, remove_optional};
use super::{Storage, StorageError, io_err};
use crate::server::names::{RepoName, Tag};

impl Storage {
    fn repo_dir(&self, name: &RepoName) -> PathBuf {
        // RepoName's grammar excludes `..`, empty and absolute components.
        self.root.join("repositories").join(name.as_str())
    }

    fn layer_link(&self, name: &RepoName, digest: &Digest) -> PathBuf {
        self.repo_dir(name)
            .join("_layers")
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    fn revision_link(&self, name: &RepoName, digest: &Digest) -> PathBuf {
        self.repo_dir(name)
            .join("_manifests/revisions")
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    fn tags_dir(&self, name: &RepoName) -> PathBuf {
        self.repo_dir(name).join("_manifests/tags")
    }

    pub fn repo_exists(&self, name: &RepoName) -> bool {
        let dir = self.repo_dir(name);
        dir.join("_manifests").is_dir() || dir.join("_layers").is_dir()
    }

    pub fn link_layer(&self, name: &RepoName, digest: &Digest) -> Result<(), StorageError> {
        let link = self.layer_link(name, digest);
        if link.is_file() {
            return Ok(());
        }
        atomic_write(&self.tmp_path(), &link, digest.to_string().as_bytes())
    }

    pub fn layer_linked(&self, name: &RepoName, digest: &Digest) -> bool {
        self.layer_link(name, digest).is_file()
    }

    pub fn unlink_layer(&self, name: &RepoName, digest: &Digest) -> Result<bool, StorageError> {
        remove_optional(&self.layer_link(name, digest))
    }

    /// Records a manifest in a repository, remembering the media type it was pushed with.
    pub fn put_revision(
        &self,
        name: &RepoName,
        digest: &Digest,
        media_type: &str,
    ) -> Result<(), StorageError> {
        atomic_write(
            &self.tmp_path(),
            &self.revision_link(name, digest),
            media_type.as_bytes(),
        )
    }

    /// The media type of a manifest in this repository, `None` if it is not there.
    pub fn revision(
        &self,
        name: &RepoName,
        digest: &Digest,
    ) -> Result<Option<String>, StorageError> {
        read_optional(&self.revision_link(name, digest))
    }

    /// Deletes a manifest and every tag that points at it.
    pub fn delete_revision(&self, name: &RepoName, digest: &Digest) -> Result<bool, StorageError> {
        let existed = remove_optional(&self.revision_link(name, digest))?;
        for tag in self.tags(name)? {
            if let Ok(tag) = Tag::parse(&tag)
                && self.resolve_tag(name, &tag)?.as_ref() == Some(digest)
            {
                self.delete_tag(name, &tag)?;
            }
        }
        Ok(existed)
    }

    /// Digests of all manifests stored in a repository.
    pub fn revisions(&self, name: &RepoName) -> Result<Vec<Digest>, StorageError> {
        let base = self.repo_dir(name).join("_manifests/revisions");
        digests_under(&base)
    }

    /// Digests of all blobs linked into a repository.
    pub fn layers(&self, name: &RepoName) -> Result<Vec<Digest>, StorageError> {
        digests_under(&self.repo_dir(name).join("_layers"))
    }

    pub fn set_tag(&self, name: &RepoName, tag: &Tag, digest: &Digest) -> Result<(), StorageError> {
        atomic_write(
            &self.tmp_path(),
            &self.tags_dir(name).join(tag.as_str()),
            digest.to_string().as_bytes(),
        )
    }

    pub fn resolve_tag(&self, name: &RepoName, tag: &Tag) -> Result<Option<Digest>, StorageError> {
        let path = self.tags_dir(name).join(tag.as_str());
        match read_optional(&path)? {
            None => Ok(None),
            Some(content) => content
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| StorageError::CorruptLink { path, content }),
        }
    }

    pub fn delete_tag(&self, name: &RepoName, tag: &Tag) -> Result<bool, StorageError> {
        remove_optional(&self.tags_dir(name).join(tag.as_str()))
    }

    /// Tag names of a repository, unsorted.
    pub fn tags(&self, name: &RepoName) -> Result<Vec<String>, StorageError> {
        list_names(&self.tags_dir(name))
    }

    /// All repository names, sorted.
    pub fn repositories(&self) -> Result<Vec<String>, StorageError> {
        let mut out = Vec::new();
        collect_repos(&self.root.join("repositories"), "", &mut out)?;
        out.sort();
        Ok(out)
    }
}

fn digests_under(base: &Path) -> Result<Vec<Digest>, StorageError> {
    let mut out = Vec::new();
    for algo in list_names(base)? {
        for hex in list_names(&base.join(&algo))? {
            if let Ok(d) = format!("{algo}:{hex}").parse() {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// A directory holding `_manifests` or `_layers` is a repository; names never start with `_`.
fn collect_repos(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), StorageError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(StorageError::Io {
                op: "list",
                path: dir.to_owned(),
                source: e,
            });
        }
    };
    let mut is_repo = false;
    for entry in entries {
        let entry = entry.map_err(io_err("list", dir))?;
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !entry.file_type().map_err(io_err("stat", dir))?.is_dir() {
            continue;
        }
        if file_name.starts_with('_') {
            is_repo |= file_name == "_manifests" || file_name == "_layers";
            continue;
        }
        let child = if prefix.is_empty() {
            file_name.clone()
        } else {
            format!("{prefix}/{file_name}")
        };
        collect_repos(&entry.path(), &child, out)?;
    }
    if is_repo && !prefix.is_empty() {
        out.push(prefix.to_owned());
    }
    Ok(())
}
