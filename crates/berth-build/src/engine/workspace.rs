//! A step's writable filesystem: an overlay container snapshot over the current chain, mounted
//! at a private directory. Dropping it unmounts and removes the snapshot, so a failing step
//! leaves no mount and no snapshot behind.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use berth_oci::Digest;
use berth_store::Store;
use berth_store::snapshot::{Driver, Mount, MountGuard, SnapshotError};

use super::stubs::MountStubs;

pub struct Workspace<'s> {
    store: &'s Store,
    key: String,
    dir: PathBuf,
    upper: PathBuf,
    mount: Option<MountGuard>,
    /// Never mounted: the step writes straight into the upper dir (see [`Workspace::direct`]).
    direct: bool,
    /// Mount stubs a RUN removed; the directories copied up for them go at `finish`.
    stubs: RefCell<Vec<MountStubs>>,
    /// The snapshot became a layer: nothing to remove.
    committed: bool,
}

impl<'s> Workspace<'s> {
    /// Prepares and mounts a snapshot on `parent`; `label` makes the key readable in the index.
    pub fn open(
        store: &'s Store,
        parent: Option<&Digest>,
        label: &str,
    ) -> Result<Workspace<'s>, SnapshotError> {
        let (mut workspace, mount) = Workspace::prepare(store, parent, label, false)?;
        let rootfs = workspace.rootfs();
        std::fs::create_dir_all(&rootfs).map_err(|source| SnapshotError::Io {
            path: rootfs.clone(),
            source,
        })?;
        workspace.mount =
            Some(
                mount_volatile(mount, &rootfs).map_err(|source| SnapshotError::Io {
                    path: rootfs.clone(),
                    source,
                })?,
            );
        Ok(workspace)
    }

    /// A snapshot on `parent` that is never mounted: [`Workspace::rootfs`] is its empty upper
    /// dir, for a step that knows exactly what overlayfs would put there (a COPY into a path
    /// the parent lacks: `dest_facts`) and so skips overlayfs' per-file cost.
    pub fn direct(
        store: &'s Store,
        parent: Option<&Digest>,
        label: &str,
    ) -> Result<Workspace<'s>, SnapshotError> {
        Workspace::prepare(store, parent, label, true).map(|(workspace, _)| workspace)
    }

    /// The snapshot, not yet mounted, and how to mount it.
    fn prepare(
        store: &'s Store,
        parent: Option<&Digest>,
        label: &str,
        direct: bool,
    ) -> Result<(Workspace<'s>, Mount), SnapshotError> {
        let key = unique_key(label);
        let dir = store.root().join("build-tmp").join(&key);
        let mount = store.snapshots.prepare(&key, parent, Driver::Overlay)?;
        let workspace = Workspace {
            store,
            key,
            upper: upper_dir(&mount.options).unwrap_or_else(|| mount.source.clone()),
            dir,
            mount: None,
            direct,
            stubs: RefCell::new(Vec::new()),
            committed: false,
        };
        Ok((workspace, mount))
    }

    /// The private directory holding `rootfs` (a runtime bundle dir for RUN).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The merged filesystem, mounted (the upper dir of a direct workspace).
    pub fn rootfs(&self) -> PathBuf {
        if self.direct {
            return self.upper.clone();
        }
        self.dir.join("rootfs")
    }

    /// Remembers removed mount stubs so `finish` can prune what overlayfs copied up for them.
    pub fn note_stubs(&self, stubs: MountStubs) {
        self.stubs.borrow_mut().push(stubs);
    }

    /// Unmounts and returns the upper dir: what the step changed.
    pub fn finish(&mut self) -> &Path {
        self.mount = None;
        for stubs in self.stubs.get_mut().drain(..) {
            stubs.prune_upper(&self.upper);
        }
        &self.upper
    }
}

impl Workspace<'_> {
    /// Keeps the finished upper dir as the layer `diff_id` on top of `parent` (its encoding,
    /// so unpacking it again is not needed) and returns the chain ID. The layer is not synced
    /// yet: the build syncs all of them once ([`berth_store::Store::sync_pending`]).
    pub fn commit(
        mut self,
        parent: Option<&Digest>,
        diff_id: &Digest,
        content_size: u64,
    ) -> Result<Digest, SnapshotError> {
        self.mount = None;
        let chain =
            self.store
                .snapshots
                .commit_active(&self.key, parent, diff_id, content_size, false)?;
        self.committed = true;
        Ok(chain)
    }
}

impl Drop for Workspace<'_> {
    fn drop(&mut self) {
        self.mount = None;
        if self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
            return;
        }
        if let Err(e) = self.store.snapshots.remove(&self.key) {
            tracing::warn!(key = %self.key, error = %e, "removing a build snapshot failed");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Mounts a step's overlay with `volatile` (Linux 5.10+), retrying without it on older
/// kernels. Unmounting an overlay otherwise syncs its upper dir's whole filesystem (a
/// `syncfs`, tens of milliseconds with a busy journal) for every step; the build syncs its
/// layers once, at its end ([`berth_store::Store::sync_pending`]), and a step's snapshot
/// after a crash is removed, not reused.
fn mount_volatile(mut mount: Mount, target: &Path) -> std::io::Result<MountGuard> {
    if mount.is_bind() {
        return MountGuard::mount(&mount, target);
    }
    mount.options.push("volatile".to_owned());
    match MountGuard::mount(&mount, target) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            mount.options.pop();
            MountGuard::mount(&mount, target)
        }
        mounted => mounted,
    }
}

fn upper_dir(options: &[String]) -> Option<PathBuf> {
    options
        .iter()
        .find_map(|o| o.strip_prefix("upperdir="))
        .map(PathBuf::from)
}

fn unique_key(label: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "build-{label}-{}-{}-{nanos:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
