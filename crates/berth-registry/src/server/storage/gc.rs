//! Mark and sweep: keep every manifest stored in a repository (tagged or not; deleting a
//! manifest is the way to drop it), everything those reference, and anything younger than the
//! grace period; delete the rest. Also removes abandoned upload sessions.
//!
//! Safe beside a running server (see storage::lock): gc first passes a barrier that waits for
//! reference writes in flight, so the mark sees them; every reference written after it touches
//! its blobs (mtime ≥ barrier), and each deletion re-checks the mtime under the exclusive lock.
//! A blob is deleted only if unmarked and last modified `blob_grace` before the barrier; the
//! grace period protects blobs a push has uploaded but not yet referenced from a manifest.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use berth_oci::Digest;

use super::fsutil::list_names;
use super::{Storage, StorageError};
use crate::server::manifest::Manifest;
use crate::server::names::RepoName;

#[derive(Debug, Clone)]
pub struct GcOptions {
    pub dry_run: bool,
    /// Blobs modified more recently than this are kept even if unreferenced.
    pub blob_grace: Duration,
    /// Upload sessions not written to for this long are removed.
    pub upload_max_age: Duration,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    pub manifests_marked: usize,
    pub blobs_marked: usize,
    pub blobs_deleted: Vec<Digest>,
    pub bytes_freed: u64,
    pub blobs_in_grace: usize,
    pub layer_links_removed: usize,
    pub uploads_expired: Vec<String>,
}

/// Whether a blob was last modified before `cutoff` (unknown mtimes count as fresh).
fn older_than(meta: &std::fs::Metadata, cutoff: SystemTime) -> bool {
    meta.modified().is_ok_and(|m| m < cutoff)
}

fn age(modified: Result<SystemTime, std::io::Error>) -> Duration {
    modified
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or_default()
}

impl Storage {
    pub fn gc(&self, opts: &GcOptions) -> Result<GcReport, StorageError> {
        let mut report = GcReport::default();
        let barrier = self.gc_barrier()?;
        let cutoff = barrier
            .checked_sub(opts.blob_grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let marked = self.mark(&mut report)?;
        self.sweep_blobs(&marked, cutoff, opts, &mut report)?;
        self.sweep_layer_links(&marked, opts, &mut report)?;
        self.expire_uploads(opts, &mut report)?;
        Ok(report)
    }

    fn mark(&self, report: &mut GcReport) -> Result<HashSet<Digest>, StorageError> {
        let mut marked = HashSet::new();
        for repo in self.repositories()? {
            let Ok(name) = RepoName::parse(&repo) else {
                continue;
            };
            let mut roots: Vec<Digest> = self.revisions(&name)?;
            for tag in self.tags(&name)? {
                if let Ok(tag) = crate::server::names::Tag::parse(&tag)
                    && let Some(d) = self.resolve_tag(&name, &tag)?
                {
                    roots.push(d);
                }
            }
            for digest in roots {
                if !marked.insert(digest.clone()) {
                    continue;
                }
                report.manifests_marked += 1;
                let media_type = self.revision(&name, &digest)?;
                let Some(body) = self.read_blob(&digest)? else {
                    continue;
                };
                let Ok(manifest) = Manifest::parse(&body, media_type.as_deref()) else {
                    continue;
                };
                for d in manifest.blobs.iter().chain(&manifest.children) {
                    marked.insert(d.digest.clone());
                }
            }
        }
        report.blobs_marked = marked.len();
        Ok(marked)
    }

    fn sweep_blobs(
        &self,
        marked: &HashSet<Digest>,
        cutoff: SystemTime,
        opts: &GcOptions,
        report: &mut GcReport,
    ) -> Result<(), StorageError> {
        let base = self.root.join("blobs");
        for algo in list_names(&base)? {
            for hex in list_names(&base.join(&algo))? {
                let Ok(digest) = format!("{algo}:{hex}").parse::<Digest>() else {
                    continue;
                };
                if marked.contains(&digest) {
                    continue;
                }
                let path = self.blob_path(&digest);
                // Re-stat under the lock: a push may have touched it since the mark, and none
                // can between this check and the unlink.
                let _lock = self.sweep_lock()?;
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                if !older_than(&meta, cutoff) {
                    report.blobs_in_grace += 1;
                    continue;
                }
                if !opts.dry_run {
                    super::fsutil::remove_optional(&path)?;
                }
                report.bytes_freed += meta.len();
                report.blobs_deleted.push(digest);
            }
        }
        Ok(())
    }

    /// Drops repository links to blobs that no longer exist (or are about to, in a dry run).
    fn sweep_layer_links(
        &self,
        marked: &HashSet<Digest>,
        opts: &GcOptions,
        report: &mut GcReport,
    ) -> Result<(), StorageError> {
        let deleted: HashSet<&Digest> = report.blobs_deleted.iter().collect();
        for repo in self.repositories()? {
            let Ok(name) = RepoName::parse(&repo) else {
                continue;
            };
            for digest in self.layers(&name)? {
                if marked.contains(&digest) {
                    continue;
                }
                // A re-upload may have brought the blob back since the sweep: check under the lock.
                let _lock = self.sweep_lock()?;
                let gone = if opts.dry_run {
                    deleted.contains(&digest)
                } else {
                    self.blob_size(&digest)?.is_none()
                };
                if gone {
                    if !opts.dry_run {
                        self.unlink_layer(&name, &digest)?;
                    }
                    report.layer_links_removed += 1;
                }
            }
        }
        Ok(())
    }

    fn expire_uploads(&self, opts: &GcOptions, report: &mut GcReport) -> Result<(), StorageError> {
        let base = self.root.join("uploads");
        for id in list_names(&base)? {
            let dir = base.join(&id);
            let data_age = std::fs::metadata(dir.join("data")).map(|m| age(m.modified()));
            let idle = data_age
                .unwrap_or_else(|_| age(std::fs::metadata(&dir).and_then(|m| m.modified())));
            if idle < opts.upload_max_age {
                continue;
            }
            if !opts.dry_run
                && let Err(e) = std::fs::remove_dir_all(&dir)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(StorageError::Io {
                    op: "remove",
                    path: dir,
                    source: e,
                });
            }
            report.uploads_expired.push(id);
        }
        Ok(())
    }
}
