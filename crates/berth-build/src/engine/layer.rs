//! An overlay upper dir becomes an OCI layer: a canonical tar (sorted entries, numeric owners,
//! no atime/ctime, overlay whiteouts as `.wh.` files, opaque dirs as `.wh..wh..opq`, hard
//! links kept, `security.capability` as a PAX xattr, as Docker's layers have them),
//! compressed deterministically (gzip by default, or zstd), so identical trees give identical
//! digests.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use berth_oci::Digest;
use sha2::{Digest as _, Sha256};

use super::compression::Compression;

const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// A gzip layer ready to be ingested.
#[derive(Debug)]
pub struct LayerBlob {
    pub gzip: Vec<u8>,
    pub diff_id: Digest,
    pub digest: Digest,
}

/// A layer ready to be ingested, in the compression asked for.
#[derive(Debug)]
pub struct EncodedLayer {
    pub data: Vec<u8>,
    pub media_type: &'static str,
    pub diff_id: Digest,
    pub digest: Digest,
    /// Regular file sizes and symlink target lengths, each inode once (a layer snapshot's
    /// size, as unpacking this layer would count it).
    pub content_size: u64,
    /// Entries of the upper dir the tar leaves out (sockets): whoever keeps the upper dir as
    /// the layer's snapshot removes them so both hold the same tree.
    pub left_out: Vec<PathBuf>,
}

/// Writes `upper` as a gzip layer. `None` when the directory holds nothing (the step changed
/// no file). `clamp_mtime` caps every mtime (BuildKit's SOURCE_DATE_EPOCH rewriting).
pub fn diff_upper(upper: &Path, clamp_mtime: Option<u64>) -> io::Result<Option<LayerBlob>> {
    Ok(
        encode_upper(upper, clamp_mtime, Compression::Gzip)?.map(|layer| LayerBlob {
            gzip: layer.data,
            diff_id: layer.diff_id,
            digest: layer.digest,
        }),
    )
}

/// [`diff_upper`] in the given compression.
pub fn encode_upper(
    upper: &Path,
    clamp_mtime: Option<u64>,
    compression: Compression,
) -> io::Result<Option<EncodedLayer>> {
    if fs::read_dir(upper)?.next().is_none() {
        return Ok(None);
    }
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut writer = TarWriter {
        builder: &mut builder,
        clamp_mtime,
        links: HashMap::new(),
        content_size: 0,
        left_out: Vec::new(),
    };
    writer.children(upper, Path::new(""))?;
    let (content_size, left_out) = (writer.content_size, writer.left_out);
    let tar = builder.into_inner()?;
    let diff_id = Digest::from_sha256_bytes(&Sha256::digest(&tar));
    let data = compression.compress(&tar)?;
    let digest = Digest::from_sha256_bytes(&Sha256::digest(&data));
    Ok(Some(EncodedLayer {
        data,
        media_type: compression.media_type(),
        diff_id,
        digest,
        content_size,
        left_out,
    }))
}

struct TarWriter<'a> {
    builder: &'a mut tar::Builder<Vec<u8>>,
    clamp_mtime: Option<u64>,
    /// (dev, ino) of multiply-linked files already written, and their path in the tar.
    links: HashMap<(u64, u64), PathBuf>,
    content_size: u64,
    left_out: Vec<PathBuf>,
}

impl TarWriter<'_> {
    fn children(&mut self, dir: &Path, rel: &Path) -> io::Result<()> {
        let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<io::Result<_>>()?;
        entries.sort_by_key(fs::DirEntry::file_name);
        for entry in entries {
            // Looked up from the open directory, not by walking the whole path again.
            let meta = entry.metadata()?;
            self.entry(&entry.path(), &rel.join(entry.file_name()), meta)?;
        }
        Ok(())
    }

    fn header(&self, meta: &fs::Metadata, kind: tar::EntryType) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(meta.mode() & 0o7777);
        header.set_uid(u64::from(meta.uid()));
        header.set_gid(u64::from(meta.gid()));
        let mtime = meta.mtime().max(0) as u64;
        header.set_mtime(self.clamp_mtime.map_or(mtime, |c| mtime.min(c)));
        header.set_size(0);
        header
    }

    fn entry(&mut self, path: &Path, rel: &Path, meta: fs::Metadata) -> io::Result<()> {
        let kind = meta.file_type();
        if kind.is_char_device() && meta.rdev() == 0 {
            // An overlay whiteout: the lower entry is deleted.
            let whiteout = whiteout_name(rel, None);
            let mut header = self.header(&meta, tar::EntryType::Regular);
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            return self.builder.append_data(&mut header, whiteout, io::empty());
        }
        if kind.is_dir() {
            let mut header = self.header(&meta, tar::EntryType::Directory);
            self.builder.append_data(&mut header, rel, io::empty())?;
            if is_opaque(path) {
                let mut marker = self.header(&meta, tar::EntryType::Regular);
                marker.set_mode(0o644);
                let name = whiteout_name(rel, Some(".wh..wh..opq"));
                self.builder.append_data(&mut marker, name, io::empty())?;
            }
            return self.children(path, rel);
        }
        if kind.is_symlink() {
            let target = fs::read_link(path)?;
            self.content_size += target.as_os_str().len() as u64;
            let mut header = self.header(&meta, tar::EntryType::Symlink);
            return self.builder.append_link(&mut header, rel, target);
        }
        if meta.nlink() > 1 {
            if let Some(first) = self.links.get(&(meta.dev(), meta.ino())) {
                let mut header = self.header(&meta, tar::EntryType::Link);
                return self.builder.append_link(&mut header, rel, first);
            }
            self.links
                .insert((meta.dev(), meta.ino()), rel.to_path_buf());
        }
        if kind.is_file() {
            let file = fs::File::open(path)?;
            if let Some(capability) = berth_store::archive::read_capability(&file)? {
                self.builder.append_pax_extensions([(
                    "SCHILY.xattr.security.capability",
                    capability.as_slice(),
                )])?;
            }
            self.content_size += meta.len();
            let mut header = self.header(&meta, tar::EntryType::Regular);
            header.set_size(meta.len());
            return self.builder.append_data(&mut header, rel, file);
        }
        let (entry_type, device) = if kind.is_fifo() {
            (tar::EntryType::Fifo, false)
        } else if kind.is_char_device() {
            (tar::EntryType::Char, true)
        } else if kind.is_block_device() {
            (tar::EntryType::Block, true)
        } else {
            // Sockets do not belong in layers (Docker skips them too).
            self.left_out.push(path.to_path_buf());
            return Ok(());
        };
        let mut header = self.header(&meta, entry_type);
        if device {
            let rdev = meta.rdev();
            header.set_device_major(libc::major(rdev))?;
            header.set_device_minor(libc::minor(rdev))?;
        }
        self.builder.append_data(&mut header, rel, io::empty())
    }
}

/// `dir/.wh.name` for a deleted `dir/name`, or `dir/<marker>` for a marker inside `rel`.
fn whiteout_name(rel: &Path, marker: Option<&str>) -> PathBuf {
    match marker {
        Some(marker) => rel.join(marker),
        None => {
            let name = rel.file_name().map(|n| n.to_string_lossy().into_owned());
            let parent = rel.parent().unwrap_or(Path::new(""));
            parent.join(format!(".wh.{}", name.unwrap_or_default()))
        }
    }
}

pub(super) fn is_opaque(dir: &Path) -> bool {
    let mut buf = [0u8; 4];
    matches!(rustix::fs::lgetxattr(dir, OPAQUE_XATTR, &mut buf[..]), Ok(1) if buf[0] == b'y')
}
