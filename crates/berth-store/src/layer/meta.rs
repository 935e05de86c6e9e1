//! Ownership, mode, xattrs and times of one tar entry, read from its header and PAX records.

use std::io;

use rustix::fs::Timespec;

/// xattrs in this namespace control overlayfs itself; a layer must not smuggle them in.
const OVERLAY_XATTR_PREFIX: &str = "trusted.overlay.";
const PAX_XATTR_PREFIX: &str = "SCHILY.xattr.";

#[derive(Debug, Clone)]
pub struct EntryMeta {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits including setuid/setgid/sticky.
    pub mode: u32,
    pub mtime: Timespec,
    pub xattrs: Vec<(String, Vec<u8>)>,
}

impl EntryMeta {
    pub fn read<R: io::Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<EntryMeta> {
        let header = entry.header();
        let mut meta = EntryMeta {
            uid: u32::try_from(header.uid()?)
                .map_err(|_| invalid("uid does not fit in 32 bits"))?,
            gid: u32::try_from(header.gid()?)
                .map_err(|_| invalid("gid does not fit in 32 bits"))?,
            mode: header.mode()? & 0o7777,
            mtime: Timespec {
                tv_sec: header.mtime()? as i64,
                tv_nsec: 0,
            },
            xattrs: Vec::new(),
        };
        if let Some(extensions) = entry.pax_extensions()? {
            for extension in extensions {
                let extension = extension?;
                let Ok(key) = extension.key() else { continue };
                let value = extension.value_bytes();
                match key {
                    "uid" => meta.uid = parse_number(value)?,
                    "gid" => meta.gid = parse_number(value)?,
                    "mtime" => meta.mtime = parse_pax_time(value)?,
                    _ => {
                        if let Some(name) = key.strip_prefix(PAX_XATTR_PREFIX)
                            && !name.starts_with(OVERLAY_XATTR_PREFIX)
                        {
                            meta.xattrs.push((name.to_owned(), value.to_vec()));
                        }
                    }
                }
            }
        }
        // chown clears security.capability, so it must be set after; keep it last of all.
        meta.xattrs
            .sort_by_key(|(name, _)| name == "security.capability");
        Ok(meta)
    }
}

fn invalid(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

fn parse_number(value: &[u8]) -> io::Result<u32> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| invalid("bad numeric PAX record"))
}

/// PAX times are decimal seconds with an optional fraction: `1577836800.123456789`.
fn parse_pax_time(value: &[u8]) -> io::Result<Timespec> {
    let text = std::str::from_utf8(value)
        .map_err(|_| invalid("bad PAX mtime"))?
        .trim();
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let tv_sec: i64 = secs.parse().map_err(|_| invalid("bad PAX mtime"))?;
    let digits: String = frac.chars().take(9).collect();
    let tv_nsec = if digits.is_empty() {
        0
    } else {
        let n: i64 = digits.parse().map_err(|_| invalid("bad PAX mtime"))?;
        n * 10_i64.pow(9 - digits.len() as u32)
    };
    // `-1.25` means 1.25 s before the epoch: -2 s + 0.75 s, since tv_nsec must be positive.
    if secs.starts_with('-') && tv_nsec > 0 {
        return Ok(Timespec {
            tv_sec: tv_sec - 1,
            tv_nsec: 1_000_000_000 - tv_nsec,
        });
    }
    Ok(Timespec { tv_sec, tv_nsec })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pax_times() {
        let t = parse_pax_time(b"1577836800.5").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (1_577_836_800, 500_000_000));
        assert_eq!(parse_pax_time(b"12").unwrap().tv_sec, 12);
        assert!(parse_pax_time(b"x").is_err());
    }
}
