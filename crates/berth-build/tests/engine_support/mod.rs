//! Shared setup for the engine tests: a temp store with the busybox fixture loaded, a context
//! dir, a private runtime root, and helpers to read what a build produced.

#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use berth_build::engine::{BuildOptions, BuildResult, build};
use berth_store::Store;
use berth_store::snapshot::{Driver, MountGuard};
use serde_json::Value;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: Store,
}

impl Env {
    pub fn new() -> Env {
        berth_testutil::require_root();
        let dir = tempfile::Builder::new()
            .prefix("berth-build-engine-test-")
            .tempdir()
            .expect("temp dir");
        let store = Store::open(&dir.path().join("store")).expect("open store");
        let archive =
            fs::File::open(berth_testutil::fixture("busybox.oci-archive.tar")).expect("fixture");
        store.load_archive(archive).expect("load busybox");
        fs::create_dir_all(dir.path().join("ctx")).expect("context dir");
        Env { dir, store }
    }

    pub fn context(&self) -> PathBuf {
        self.dir.path().join("ctx")
    }

    pub fn runtime_root(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// Writes `files` (path, content) into the context.
    pub fn write(&self, files: &[(&str, &str)]) {
        for (path, content) in files {
            let path = self.context().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
    }

    pub fn options(&self, dockerfile: &str) -> BuildOptions {
        self.write(&[("Dockerfile", dockerfile)]);
        let mut opts = BuildOptions::new(self.context());
        opts.runtime_root = self.runtime_root();
        opts
    }

    pub fn build(&self, dockerfile: &str) -> BuildResult {
        let opts = self.options(dockerfile);
        build(&self.store, &opts).unwrap_or_else(|e| panic!("build failed: {e} ({e:?})"))
    }

    /// The image config JSON of `result`.
    pub fn config(&self, result: &BuildResult) -> Value {
        let bytes = self
            .store
            .content
            .read_small(&result.image.id, 1 << 20)
            .expect("config blob");
        serde_json::from_slice(&bytes).expect("config JSON")
    }

    /// Layer `index` (0: the base) of `result`'s image, as the tar archive its gzip blob holds.
    pub fn layer_archive(&self, result: &BuildResult, index: usize) -> tar::Archive<impl Read> {
        let blob = self
            .store
            .content
            .open_blob(&result.image.layers[index].digest)
            .expect("layer blob");
        tar::Archive::new(flate2::read::GzDecoder::new(blob))
    }

    /// Mounts the image's filesystem (a container snapshot) for inspection.
    pub fn view(&self, result: &BuildResult) -> View<'_> {
        let key = format!("view-{}-{}", std::process::id(), result.image.id.hex());
        let mount = self
            .store
            .prepare_container(&key, &result.image.id.to_string(), Driver::Overlay)
            .expect("prepare view");
        let target = self.dir.path().join(&key);
        fs::create_dir_all(&target).unwrap();
        let guard = MountGuard::mount(&mount, &target).expect("mount view");
        View {
            store: &self.store,
            key,
            guard: Some(guard),
        }
    }

    /// Fails if anything under the test dir is still mounted or the runtime root holds state.
    pub fn assert_clean(&self) {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let prefix = self.dir.path().to_string_lossy().into_owned();
        let leftovers: Vec<&str> = mountinfo.lines().filter(|l| l.contains(&prefix)).collect();
        assert!(leftovers.is_empty(), "mounts left behind: {leftovers:#?}");
        let runtime: Vec<_> = fs::read_dir(self.runtime_root())
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(runtime.is_empty(), "runtime state left behind: {runtime:?}");
        let active = self.store.snapshots.index().active;
        assert!(
            active.is_empty(),
            "snapshots left behind: {:?}",
            active.keys()
        );
        let tmp: Vec<_> = fs::read_dir(self.store.root().join("build-tmp"))
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(tmp.is_empty(), "build-tmp left behind: {tmp:?}");
        // RUN containers get the default cgroup path `/<container id>` in every hierarchy.
        let prefix = berth_build::engine::container_prefix(&self.runtime_root());
        let mut cgroups = Vec::new();
        for hierarchy in fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            if let Ok(children) = fs::read_dir(hierarchy.path()) {
                cgroups.extend(
                    children
                        .flatten()
                        .filter(|c| c.file_name().to_string_lossy().starts_with(&prefix))
                        .map(|c| c.path()),
                );
            }
        }
        assert!(cgroups.is_empty(), "cgroups left behind: {cgroups:?}");
    }
}

pub struct View<'s> {
    store: &'s Store,
    key: String,
    guard: Option<MountGuard>,
}

impl View<'_> {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel.trim_start_matches('/'))
    }

    pub fn root(&self) -> &Path {
        self.guard.as_ref().unwrap().target()
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

impl Drop for View<'_> {
    fn drop(&mut self) {
        let target = self.guard.as_ref().map(|g| g.target().to_path_buf());
        self.guard = None;
        let _ = self.store.snapshots.remove(&self.key);
        if let Some(target) = target {
            let _ = fs::remove_dir(target);
        }
    }
}
