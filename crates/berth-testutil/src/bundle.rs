//! OCI bundles for runtime tests, unpacked from an OCI archive fixture.
//!
//! This is a deliberately small unpacker for trusted fixtures (the real, hostile-input-proof
//! layer code lives in berth-store): it applies gzip layers in order, honouring whiteouts.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{ProcessBuilder, Spec};
use serde_json::Value;
use tempfile::TempDir;

/// A bundle directory (`config.json` + `rootfs/`) removed when dropped.
pub struct Bundle {
    dir: TempDir,
    pub spec: Spec,
}

impl Bundle {
    /// Unpacks the first image of an OCI archive into a fresh bundle whose process runs `args`.
    pub fn from_oci_archive(archive: &Path, args: &[&str]) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("berth-bundle-")
            .tempdir()
            .expect("tempdir");
        let layout = dir.path().join("layout");
        fs::create_dir(&layout).unwrap();
        tar::Archive::new(fs::File::open(archive).expect("open archive"))
            .unpack(&layout)
            .expect("unpack OCI archive");
        let rootfs = dir.path().join("rootfs");
        fs::create_dir(&rootfs).unwrap();
        for layer in layer_blobs(&layout) {
            apply_layer(&layer, &rootfs);
        }
        fs::remove_dir_all(&layout).unwrap();

        let mut spec = Spec::default();
        // oci-spec's default names the host after its authors' runtime ("youki").
        spec.set_hostname(Some("berth".to_string()));
        let process = ProcessBuilder::default()
            .args(args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .env(vec![
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            ])
            .cwd("/")
            .terminal(false)
            .capabilities(
                spec.process()
                    .as_ref()
                    .unwrap()
                    .capabilities()
                    .clone()
                    .unwrap(),
            )
            .rlimits(
                spec.process()
                    .as_ref()
                    .unwrap()
                    .rlimits()
                    .clone()
                    .unwrap_or_default(),
            )
            .no_new_privileges(true)
            .build()
            .unwrap();
        spec.set_process(Some(process));
        let bundle = Bundle { dir, spec };
        bundle.save();
        bundle
    }

    /// Moves the bundle to `dest` and stops managing (removing) it.
    pub fn persist(self, dest: &Path) -> std::io::Result<()> {
        let path = self.dir.keep();
        fs::rename(path, dest)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// Writes `spec` to `config.json` (call after changing it).
    pub fn save(&self) {
        self.spec
            .save(self.dir.path().join("config.json"))
            .expect("write config.json");
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    let (algo, hex) = digest.split_once(':').expect("digest");
    layout.join("blobs").join(algo).join(hex)
}

fn layer_blobs(layout: &Path) -> Vec<PathBuf> {
    let index = read_json(&layout.join("index.json"));
    let manifest_digest = index["manifests"][0]["digest"]
        .as_str()
        .expect("manifest digest");
    let manifest = read_json(&blob_path(layout, manifest_digest));
    manifest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| blob_path(layout, l["digest"].as_str().expect("layer digest")))
        .collect()
}

fn apply_layer(blob: &Path, rootfs: &Path) {
    let mut raw = fs::File::open(blob).unwrap();
    let mut magic = [0u8; 2];
    raw.read_exact(&mut magic).unwrap();
    let reader: Box<dyn Read> = if magic == [0x1f, 0x8b] {
        Box::new(flate2::read::GzDecoder::new(fs::File::open(blob).unwrap()))
    } else {
        Box::new(fs::File::open(blob).unwrap())
    };
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_unpack_xattrs(true);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().into_owned();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = rootfs.join(path.parent().unwrap_or(Path::new("")));
        if name == ".wh..wh..opq" {
            for child in fs::read_dir(&parent).into_iter().flatten().flatten() {
                remove_any(&child.path());
            }
        } else if let Some(hidden) = name.strip_prefix(".wh.") {
            remove_any(&parent.join(hidden));
        } else {
            entry.unpack_in(rootfs).unwrap();
        }
    }
}

fn remove_any(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path).unwrap(),
        Ok(_) => fs::remove_file(path).unwrap(),
        Err(_) => {}
    }
}
