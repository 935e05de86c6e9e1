//! Trimming the resident set once a long-lived process is in its steady state. The shim's
//! supervise image maps its binary (and, when dynamically linked, libc) and the kernel faults
//! those pages in 64 KiB runs around each touch ("fault-around"), most of which the poll loop
//! never runs again. We drop every clean, read-only file mapping's pages (and, for the shim,
//! turn fault-around off for them): the loop then brings back only the pages it executes, from
//! the page cache. berthd does the same when it goes idle (keeping fault-around).

use std::ops::Range;

use crate::sys;

/// A mapping whose pages can be dropped without losing data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Droppable {
    pub range: Range<usize>,
}

/// Finds the droppable mappings in `/proc/self/smaps` text: file-backed, not writable, and
/// without anonymous (copied-on-write, e.g. relocated RELRO) pages.
pub fn droppable(smaps: &str) -> Vec<Droppable> {
    let mut found = Vec::new();
    let mut current: Option<Droppable> = None;
    for line in smaps.lines() {
        if let Some(mapping) = parse_header(line) {
            current = mapping;
            continue;
        }
        if let Some(kb) = line.strip_prefix("Anonymous:")
            && let Some(mapping) = current.take()
            && kb.trim().trim_end_matches("kB").trim() == "0"
        {
            found.push(mapping);
        }
    }
    found
}

/// `start-end perms offset dev inode path`: Some(Some(..)) for a candidate mapping, Some(None)
/// for any other mapping header, None for a field line.
fn parse_header(line: &str) -> Option<Option<Droppable>> {
    let mut fields = line.split_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    let perms = fields.next()?;
    let (_offset, _dev) = (fields.next()?, fields.next()?);
    let inode = fields.next()?;
    let readable_only = perms.len() == 4 && perms.starts_with('r') && &perms[1..2] == "-";
    let private = perms.ends_with('p');
    let file_backed = inode != "0";
    Some(
        (readable_only && private && file_backed && end > start)
            .then_some(Droppable { range: start..end }),
    )
}

/// Whether later touches of dropped pages fault in their neighbours too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAround {
    /// One page per fault: the fewest resident pages (a process whose hot path is small).
    Off,
    /// The kernel's default read-around: fewer faults when a request runs cold code.
    Keep,
}

/// Drops what `droppable` finds in this process; best effort (a failure only costs memory).
/// Returns how many bytes of mappings were dropped.
pub fn trim(fault_around: FaultAround) -> usize {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let random = fault_around == FaultAround::Off;
    droppable(&smaps)
        .into_iter()
        .filter(|m| sys::forget_file_pages(m.range.start, m.range.len(), random).is_ok())
        .map(|m| m.range.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0a0000000-55d0a0100000 r--p 00000000 00:2a 123 /usr/bin/berth-shim
Size:               1024 kB
Anonymous:             0 kB
55d0a0100000-55d0a0300000 r-xp 00100000 00:2a 123 /usr/bin/berth-shim
Size:               2048 kB
Anonymous:             0 kB
55d0a0300000-55d0a0340000 r--p 00300000 00:2a 123 /usr/bin/berth-shim
Size:                256 kB
Anonymous:           256 kB
55d0a0340000-55d0a0350000 rw-p 00340000 00:2a 123 /usr/bin/berth-shim
Size:                 64 kB
Anonymous:            12 kB
55d0a1000000-55d0a1021000 rw-p 00000000 00:00 0 [heap]
Anonymous:            40 kB
7ffd1000-7ffd3000 r-xp 00000000 00:00 0 [vdso]
Anonymous:             0 kB
";

    #[test]
    fn keeps_written_anonymous_and_writable_mappings() {
        let found = droppable(SMAPS);
        assert_eq!(
            found,
            vec![
                Droppable {
                    range: 0x55d0a0000000..0x55d0a0100000
                },
                Droppable {
                    range: 0x55d0a0100000..0x55d0a0300000
                },
            ]
        );
    }

    #[test]
    fn trimming_ourselves_drops_code_pages_and_keeps_running() {
        let dropped = trim(FaultAround::Keep);
        assert!(dropped > 0, "the test binary's text is a droppable mapping");
        // Code and read-only data come back from the page cache on the next touch.
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        assert!(!droppable(&smaps).is_empty());
    }

    #[test]
    fn ignores_garbage() {
        assert!(droppable("not smaps\nAnonymous: 0 kB\nzz-yy r-xp 0 0 1 x\n").is_empty());
    }
}
