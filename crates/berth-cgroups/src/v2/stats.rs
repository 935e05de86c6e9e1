//! v2 stats: each controller's files are read only if the controller is enabled here.

use std::collections::BTreeMap;
use std::path::Path;

use crate::stats::{BlkioEntry, Hugetlb, MemoryEntry, Stats};
use crate::{CgroupError, fs};

pub(super) fn read(dir: &Path) -> Result<Stats, CgroupError> {
    let controllers = fs::read(dir, "cgroup.controllers")?;
    let enabled = |name: &str| controllers.split_whitespace().any(|c| c == name);
    let mut stats = Stats::default();

    // cpu.stat's usage fields are always there (core accounting), in microseconds.
    let cpu = fs::read_flat_keyed(dir, "cpu.stat")?;
    let us = |key: &str| cpu.get(key).copied().unwrap_or(0) * 1000;
    stats.cpu.usage.total = us("usage_usec");
    stats.cpu.usage.user = us("user_usec");
    stats.cpu.usage.kernel = us("system_usec");
    stats.cpu.throttling.periods = cpu.get("nr_periods").copied().unwrap_or(0);
    stats.cpu.throttling.throttled_periods = cpu.get("nr_throttled").copied().unwrap_or(0);
    stats.cpu.throttling.throttled_time = us("throttled_usec");

    if enabled("memory") {
        let raw = fs::read_flat_keyed(dir, "memory.stat")?;
        let events = fs::read_flat_keyed(dir, "memory.events")?;
        stats.memory.cache = raw.get("file").copied().unwrap_or(0);
        stats.memory.usage = MemoryEntry {
            limit: fs::read_u64(dir, "memory.max")?,
            usage: fs::read_u64(dir, "memory.current")?,
            max: fs::read_u64(dir, "memory.peak").unwrap_or(0),
            failcnt: events.get("max").copied().unwrap_or(0),
        };
        if dir.join("memory.swap.current").exists() {
            stats.memory.swap = MemoryEntry {
                limit: fs::read_u64(dir, "memory.swap.max")?,
                usage: fs::read_u64(dir, "memory.swap.current")?,
                max: fs::read_u64(dir, "memory.swap.peak").unwrap_or(0),
                failcnt: 0,
            };
        }
        stats.memory.raw = raw;
    }
    if enabled("pids") {
        stats.pids = crate::v1::pids::stats(dir)?;
    }
    if enabled("io") {
        let (bytes, ios) = parse_io_stat(&fs::read(dir, "io.stat")?);
        stats.blkio.io_service_bytes_recursive = bytes;
        stats.blkio.io_serviced_recursive = ios;
    }
    if enabled("hugetlb") {
        stats.hugetlb = hugetlb(dir)?;
    }
    Ok(stats)
}

/// `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` → runc's Read/Write entries.
pub(crate) fn parse_io_stat(content: &str) -> (Vec<BlkioEntry>, Vec<BlkioEntry>) {
    let mut bytes = Vec::new();
    let mut ios = Vec::new();
    for line in content.lines() {
        let mut fields = line.split_whitespace();
        let Some((major, minor)) = fields.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else {
            continue;
        };
        for field in fields {
            let Some((key, value)) = field.split_once('=') else {
                continue;
            };
            let Ok(value) = value.parse() else { continue };
            let (list, op) = match key {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_owned(),
                value,
            });
        }
    }
    (bytes, ios)
}

fn hugetlb(dir: &Path) -> Result<BTreeMap<String, Hugetlb>, CgroupError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CgroupError::read(dir, source))?;
    let mut stats = BTreeMap::new();
    for name in entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
    {
        let Some(size) = name
            .strip_prefix("hugetlb.")
            .and_then(|n| n.strip_suffix(".current"))
        else {
            continue;
        };
        let events = fs::read_flat_keyed(dir, &format!("hugetlb.{size}.events"))?;
        let entry = Hugetlb {
            usage: fs::read_u64(dir, &name)?,
            max: 0,
            failcnt: events.get("max").copied().unwrap_or(0),
        };
        stats.insert(size.to_owned(), entry);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_stat_parsing() {
        let (bytes, ios) =
            parse_io_stat("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(bytes.len(), 2);
        assert_eq!((bytes[1].op.as_str(), bytes[1].value), ("Write", 8192));
        assert_eq!((ios[0].major, ios[0].minor, ios[0].value), (8, 0, 1));
    }
}
