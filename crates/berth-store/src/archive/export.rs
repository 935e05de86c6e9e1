//! Writes a directory tree (a mounted container rootfs or a snapshot) as a tar stream, like
//! `docker export`: numeric owners, hard links kept, `security.capability` as a PAX xattr.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("exporting {path}: {source}")]
pub struct ExportError {
    pub path: PathBuf,
    pub source: io::Error,
}

const CAPABILITY_XATTR: &str = "security.capability";

/// Writes every entry below `root` (sorted by name, so output is deterministic) to `out`.
pub fn export_dir<W: Write>(root: &Path, out: W) -> Result<W, ExportError> {
    let mut builder = tar::Builder::new(out);
    let mut links = HashMap::new();
    walk(root, Path::new(""), &mut builder, &mut links)?;
    builder.into_inner().map_err(|source| ExportError {
        path: root.to_path_buf(),
        source,
    })
}

fn walk<W: Write>(
    dir: &Path,
    relative: &Path,
    builder: &mut tar::Builder<W>,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<(), ExportError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError { path, source }
    };
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(err(dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(err(dir))?;
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let rel = relative.join(&name);
        let meta = fs::symlink_metadata(&path).map_err(err(&path))?;
        append_entry(builder, &path, &rel, &meta, links).map_err(err(&path))?;
        if meta.is_dir() {
            walk(&path, &rel, builder, links)?;
        }
    }
    Ok(())
}

fn append_entry<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
    rel: &Path,
    meta: &fs::Metadata,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> io::Result<()> {
    let kind = meta.file_type();
    let mut header = tar::Header::new_gnu();
    header.set_mode(meta.mode() & 0o7777);
    header.set_uid(meta.uid().into());
    header.set_gid(meta.gid().into());
    header.set_mtime(meta.mtime().max(0) as u64);
    header.set_size(0);
    header.set_device_major(0)?;
    header.set_device_minor(0)?;
    if !kind.is_dir() && !kind.is_symlink() && meta.nlink() > 1 {
        if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
            header.set_entry_type(tar::EntryType::Link);
            return builder.append_link(&mut header, rel, first);
        }
        links.insert((meta.dev(), meta.ino()), rel.to_path_buf());
    }
    if kind.is_file() {
        let file = File::open(path)?;
        if let Some(cap) = read_capability(&file)? {
            builder.append_pax_extensions([(
                format!("SCHILY.xattr.{CAPABILITY_XATTR}").as_str(),
                cap.as_slice(),
            )])?;
        }
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(meta.len());
        return builder.append_data(&mut header, rel, file);
    }
    if kind.is_symlink() {
        header.set_entry_type(tar::EntryType::Symlink);
        return builder.append_link(&mut header, rel, fs::read_link(path)?);
    }
    let entry_type = if kind.is_dir() {
        tar::EntryType::Directory
    } else if kind.is_fifo() {
        tar::EntryType::Fifo
    } else if kind.is_char_device() {
        tar::EntryType::Char
    } else if kind.is_block_device() {
        tar::EntryType::Block
    } else {
        // Sockets have no tar representation; Docker skips them too.
        return Ok(());
    };
    header.set_entry_type(entry_type);
    if kind.is_char_device() || kind.is_block_device() {
        header.set_device_major(rustix::fs::major(meta.rdev()))?;
        header.set_device_minor(rustix::fs::minor(meta.rdev()))?;
    }
    builder.append_data(&mut header, rel, io::empty())
}

/// An open file's `security.capability` xattr (file capabilities), which exports and layers
/// carry as a PAX `SCHILY.xattr` record, as Docker's do.
pub fn read_capability(file: &File) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 256];
    match rustix::fs::fgetxattr(file, CAPABILITY_XATTR, &mut buf[..]) {
        Ok(n) => {
            buf.truncate(n);
            Ok(Some(buf))
        }
        Err(rustix::io::Errno::NODATA | rustix::io::Errno::NOTSUP) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
