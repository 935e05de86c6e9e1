//! A pass-through reader over a tar stream that shows each entry's header (full path, whether
//! it is a directory) to a check before the extractor reads it. `docker cp` uses it to refuse
//! replacing a directory with a non-directory (and back) and to learn which paths it wrote.
//! A header is only passed on once the check accepted it, so a refused entry is never
//! extracted (entries before it may be, as with Docker: the extraction stops there).
//!
//! It understands ustar (prefix + name), GNU long names (`L`) and PAX `path`/`size` records.
//! The check may also give each entry a new owner (`docker cp -a`): the header's uid/gid are
//! rewritten (and PAX `uid`/`gid` records disabled) so the extractor applies it in order with
//! the mode, keeping setuid bits. A stream that does not start with a valid tar header (a
//! compressed one) passes unchecked.

use std::io::{self, Read};

/// Longest GNU long-name or PAX header body we keep to learn the next entry's path.
const MAX_META: u64 = 1 << 20;
const BLOCK: usize = 512;

/// One entry as the check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHeader {
    /// The path as written in the archive (no cleaning).
    pub path: Vec<u8>,
    pub is_dir: bool,
}

enum Phase {
    /// Collecting the next 512-byte header.
    Header,
    /// Passing `left` bytes of entry data (padded to the block size).
    Data { left: u64 },
    /// Collecting the body of a long-name or PAX header (`left` padded bytes, `body` of them
    /// meaningful), held back until complete, then back to `Header`.
    Meta { left: u64, body: u64, pax: bool },
    /// Not a tar we understand: pass everything.
    Unchecked,
}

pub struct EntryWatch<R, F> {
    inner: R,
    check: F,
    phase: Phase,
    header: Vec<u8>,
    meta: Vec<u8>,
    /// Path and size overrides from a preceding long-name/PAX header.
    next_path: Option<Vec<u8>>,
    next_size: Option<u64>,
    /// Approved bytes not yet handed out.
    out: Vec<u8>,
    out_pos: usize,
    first: bool,
    rewrites_owner: bool,
    /// The check's refusal, returned once the approved bytes before it are handed out.
    refused: Option<io::Error>,
}

impl<R: Read, F: FnMut(&EntryHeader) -> io::Result<Option<(u32, u32)>>> EntryWatch<R, F> {
    /// `rewrites_owner`: the check gives owners (PAX owner records are then disabled).
    pub fn new(inner: R, rewrites_owner: bool, check: F) -> EntryWatch<R, F> {
        EntryWatch {
            rewrites_owner,
            inner,
            check,
            phase: Phase::Header,
            header: Vec::with_capacity(BLOCK),
            meta: Vec::new(),
            next_path: None,
            next_size: None,
            out: Vec::new(),
            out_pos: 0,
            first: true,
            refused: None,
        }
    }

    /// Moves `data` through the state machine, appending what may pass to `self.out`.
    fn feed(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            match &mut self.phase {
                Phase::Unchecked => {
                    self.out.extend_from_slice(data);
                    return Ok(());
                }
                Phase::Data { left } => {
                    let take = (*left).min(data.len() as u64) as usize;
                    self.out.extend_from_slice(&data[..take]);
                    *left -= take as u64;
                    if *left == 0 {
                        self.phase = Phase::Header;
                    }
                    data = &data[take..];
                }
                Phase::Meta { left, body, pax } => {
                    let take = (*left).min(data.len() as u64) as usize;
                    self.meta.extend_from_slice(&data[..take]);
                    *left -= take as u64;
                    data = &data[take..];
                    if *left == 0 {
                        let (body, pax) = (*body as usize, *pax);
                        let mut meta = std::mem::take(&mut self.meta);
                        if pax {
                            self.apply_pax(&mut meta[..body]);
                        } else {
                            let name = meta[..body].split(|b| *b == 0).next().unwrap_or_default();
                            self.next_path = Some(name.to_vec());
                        }
                        self.out.extend_from_slice(&meta);
                        self.phase = Phase::Header;
                    }
                }
                Phase::Header => {
                    let take = (BLOCK - self.header.len()).min(data.len());
                    self.header.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.header.len() == BLOCK {
                        let mut block = std::mem::take(&mut self.header);
                        self.on_header(&mut block)?;
                        self.out.extend_from_slice(&block);
                        self.header = Vec::with_capacity(BLOCK);
                    }
                }
            }
        }
        Ok(())
    }

    fn on_header(&mut self, block: &mut [u8]) -> io::Result<()> {
        if block.iter().all(|b| *b == 0) {
            return Ok(()); // end-of-archive marker
        }
        let header = tar::Header::from_byte_slice(block);
        let valid = header
            .cksum()
            .is_ok_and(|sum| sum == checksum(block) || sum == signed_checksum(block));
        let first = std::mem::replace(&mut self.first, false);
        if !valid {
            if first {
                self.phase = Phase::Unchecked;
                return Ok(());
            }
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "corrupt tar header (bad checksum)",
            ));
        }
        let size = self
            .next_size
            .take()
            .map_or_else(|| header.entry_size(), Ok)?;
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        let kind = header.entry_type();
        if kind.is_gnu_longname() || kind.is_pax_local_extensions() {
            if size > MAX_META {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "tar long-name or PAX header over 1 MiB",
                ));
            }
            let pax = kind.is_pax_local_extensions();
            self.phase = Phase::Meta {
                left: padded,
                body: size,
                pax,
            };
            self.meta.clear();
            return Ok(());
        }
        if kind.is_pax_global_extensions() || kind.is_gnu_longlink() {
            self.phase = Phase::Data { left: padded };
            self.phase_done_if_empty();
            return Ok(());
        }
        let path = self
            .next_path
            .take()
            .unwrap_or_else(|| header.path_bytes().into_owned());
        let owner = (self.check)(&EntryHeader {
            path,
            is_dir: kind.is_dir(),
        })?;
        if let Some((uid, gid)) = owner {
            let mut rewritten = tar::Header::new_old();
            rewritten.as_mut_bytes().copy_from_slice(block);
            rewritten.set_uid(u64::from(uid));
            rewritten.set_gid(u64::from(gid));
            rewritten.set_cksum();
            block.copy_from_slice(rewritten.as_bytes());
        }
        // Links, devices, fifos and directories carry no data whatever the size field says.
        let has_data = kind.is_file() || kind.is_contiguous() || kind == tar::EntryType::GNUSparse;
        self.phase = Phase::Data {
            left: if has_data { padded } else { 0 },
        };
        self.phase_done_if_empty();
        Ok(())
    }

    fn phase_done_if_empty(&mut self) {
        if matches!(self.phase, Phase::Data { left: 0 }) {
            self.phase = Phase::Header;
        }
    }

    /// PAX records: `<len> <key>=<value>\n`. `uid`/`gid` records are renamed (same length,
    /// so the body stays valid) to keys extractors ignore: the header's owner, which the
    /// check may rewrite, then decides.
    fn apply_pax(&mut self, body: &mut [u8]) {
        let mut start = 0;
        while start < body.len() {
            let rest = &body[start..];
            let Some(space) = rest.iter().position(|b| *b == b' ') else {
                return;
            };
            let Some(len) = std::str::from_utf8(&rest[..space])
                .ok()
                .and_then(|l| l.parse::<usize>().ok())
                .filter(|l| *l > space && *l <= rest.len())
            else {
                return;
            };
            let record = &rest[space + 1..len];
            let record = record.strip_suffix(b"\n").unwrap_or(record);
            let mut disable = None;
            if let Some(eq) = record.iter().position(|b| *b == b'=') {
                let (key, value) = (&record[..eq], &record[eq + 1..]);
                match key {
                    b"path" => self.next_path = Some(value.to_vec()),
                    b"size" => {
                        self.next_size =
                            std::str::from_utf8(value).ok().and_then(|v| v.parse().ok())
                    }
                    b"uid" | b"gid" if self.rewrites_owner => disable = Some(start + space + 1),
                    _ => {}
                }
            }
            if let Some(at) = disable {
                body[at] = b'_';
            }
            start += len;
        }
    }
}

/// The header checksum: the sum of all bytes with the checksum field counted as spaces.
fn checksum(block: &[u8]) -> u32 {
    block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum()
}

/// Some old tars summed signed bytes.
fn signed_checksum(block: &[u8]) -> u32 {
    let sum: i64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(*b as i8)
            }
        })
        .sum();
    sum as u32
}

impl<R: Read, F: FnMut(&EntryHeader) -> io::Result<Option<(u32, u32)>>> Read for EntryWatch<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_pos < self.out.len() {
                let n = (self.out.len() - self.out_pos).min(buf.len());
                buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            if let Some(e) = self.refused.take() {
                return Err(e);
            }
            self.out.clear();
            self.out_pos = 0;
            let mut chunk = [0u8; 16 * 1024];
            let n = self.inner.read(&mut chunk)?;
            if n == 0 {
                return Ok(0);
            }
            if let Err(e) = self.feed(&chunk[..n]) {
                // Hand out what was approved before the refused header, then fail.
                self.refused = Some(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, body: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, body).unwrap();
    }

    fn dir(b: &mut tar::Builder<Vec<u8>>, path: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o755);
        h.set_entry_type(tar::EntryType::Directory);
        b.append_data(&mut h, path, std::io::empty()).unwrap();
    }

    fn seen(bytes: &[u8], chunk: usize) -> (Vec<u8>, Vec<(String, bool)>) {
        let mut entries = Vec::new();
        let mut watch = EntryWatch::new(bytes, false, |e: &EntryHeader| {
            entries.push((String::from_utf8_lossy(&e.path).into_owned(), e.is_dir));
            Ok(None)
        });
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = watch.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        drop(watch);
        for entry in &mut entries {
            // Builders differ on whether a directory's name ends in `/`.
            entry.0 = entry.0.trim_end_matches('/').to_string();
        }
        (out, entries)
    }

    #[test]
    fn sees_every_entry_with_long_names_and_passes_bytes_unchanged() {
        let long = format!("d/{}/f", "x".repeat(150));
        let bytes = archive(|b| {
            dir(b, "d");
            file(b, "d/a.txt", b"alpha");
            file(b, &long, &[7u8; 1500]);
            let mut link = tar::Header::new_gnu();
            link.set_entry_type(tar::EntryType::Symlink);
            link.set_size(0);
            b.append_link(&mut link, "d/link", "a.txt").unwrap();
        });
        for chunk in [1, 7, 512, 100_000] {
            let (out, entries) = seen(&bytes, chunk);
            assert_eq!(out, bytes);
            assert_eq!(
                entries,
                vec![
                    ("d".to_string(), true),
                    ("d/a.txt".to_string(), false),
                    (long.clone(), false),
                    ("d/link".to_string(), false),
                ]
            );
        }
    }

    #[test]
    fn reads_pax_paths() {
        let mut pax_body = Vec::new();
        let record = "path=pax/named/file\n";
        let len = record.len() + 3; // "NN " prefix
        pax_body.extend_from_slice(format!("{len} {record}").as_bytes());
        let bytes = archive(|b| {
            let mut h = tar::Header::new_ustar();
            h.set_size(pax_body.len() as u64);
            h.set_entry_type(tar::EntryType::XHeader);
            b.append_data(&mut h, "PaxHeaders/x", pax_body.as_slice())
                .unwrap();
            file(b, "short", b"z");
        });
        let (_, entries) = seen(&bytes, 64);
        assert_eq!(entries, vec![("pax/named/file".to_string(), false)]);
    }

    #[test]
    fn a_refused_entry_never_passes() {
        let bytes = archive(|b| {
            file(b, "ok", b"1");
            file(b, "refused", b"2");
        });
        let mut watch = EntryWatch::new(bytes.as_slice(), false, |e: &EntryHeader| {
            if e.path == b"refused" {
                Err(io::Error::other("no"))
            } else {
                Ok(None)
            }
        });
        let mut out = Vec::new();
        let err = watch.read_to_end(&mut out).unwrap_err();
        assert_eq!(err.to_string(), "no");
        // The first entry (header + one data block) passed, nothing of the second.
        assert_eq!(out, bytes[..1024]);
    }

    #[test]
    fn rewrites_owners_in_headers_and_pax() {
        let mut pax_body = Vec::new();
        for record in ["uid=4000000\n", "gid=4000001\n"] {
            let len = record.len() + 3;
            pax_body.extend_from_slice(format!("{len} {record}").as_bytes());
        }
        let bytes = archive(|b| {
            let mut h = tar::Header::new_ustar();
            h.set_size(pax_body.len() as u64);
            h.set_entry_type(tar::EntryType::XHeader);
            b.append_data(&mut h, "PaxHeaders/x", pax_body.as_slice())
                .unwrap();
            file(b, "owned", b"z");
        });
        let watch = EntryWatch::new(bytes.as_slice(), true, |_: &EntryHeader| Ok(Some((7, 8))));
        let mut archive = tar::Archive::new(watch);
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(entry.header().uid().unwrap(), 7);
        assert_eq!(entry.header().gid().unwrap(), 8);
        let keys: Vec<String> = entry
            .pax_extensions()
            .unwrap()
            .unwrap()
            .map(|e| e.unwrap().key().unwrap().to_string())
            .collect();
        assert_eq!(keys, ["_id", "_id"]);
    }

    #[test]
    fn compressed_streams_pass_unchecked() {
        let data = vec![0x1f, 0x8b, 8, 0, 1, 2, 3];
        let mut data512 = data.clone();
        data512.resize(600, 9);
        let (out, entries) = seen(&data512, 50);
        assert_eq!(out, data512);
        assert!(entries.is_empty());
    }
}
