//! The log's files, oldest first (`log.N` … `log.1`, then `log`), and where the last N lines
//! start, found by scanning backwards from the end (never reading the whole log).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Backward scan chunk.
const CHUNK: usize = 64 * 1024;

pub fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Existing rotated files (oldest first) followed by the live file (which may not exist yet).
pub fn rotated_then_live(path: &Path) -> Vec<PathBuf> {
    let mut rotated = Vec::new();
    let mut n = 1;
    while numbered(path, n).exists() {
        rotated.push(numbered(path, n));
        n += 1;
    }
    rotated.reverse();
    rotated.push(path.to_path_buf());
    rotated
}

/// Scans `file` backwards for the start of its `need`-th line from the end. Returns the number
/// of lines found (≤ `need`) and the offset where the earliest of them starts.
pub fn lines_from_end(file: &mut File, need: usize) -> io::Result<(usize, u64)> {
    let len = file.metadata()?.len();
    if len == 0 || need == 0 {
        return Ok((0, len));
    }
    // The last byte ends the last line (newline or not); every newline before it starts a line.
    let mut end = len - 1;
    let mut found = 1;
    let mut buf = vec![0u8; CHUNK];
    while end > 0 {
        let start = end.saturating_sub(CHUNK as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        for (i, &b) in chunk.iter().enumerate().rev() {
            if b == b'\n' {
                if found == need {
                    return Ok((found, start + i as u64 + 1));
                }
                found += 1;
            }
        }
        end = start;
    }
    Ok((found, 0))
}

/// Where reading must begin to yield the last `tail` lines across `files` (oldest first):
/// the index of the file and the offset in it.
pub fn tail_start(files: &[PathBuf], tail: usize) -> io::Result<(usize, u64)> {
    let mut remaining = tail;
    let mut start = (files.len().saturating_sub(1), u64::MAX);
    for (index, path) in files.iter().enumerate().rev() {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if remaining == 0 {
            break;
        }
        let (found, offset) = lines_from_end(&mut file, remaining)?;
        start = (index, offset);
        remaining -= found;
        if remaining == 0 {
            break;
        }
    }
    Ok(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(text: &str) -> (tempfile::NamedTempFile, File) {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), text).unwrap();
        let f = File::open(tmp.path()).unwrap();
        (tmp, f)
    }

    #[test]
    fn finds_line_starts_from_the_end() {
        let (_t, mut f) = file_with("a\nbb\nccc\n");
        assert_eq!(lines_from_end(&mut f, 1).unwrap(), (1, 5));
        assert_eq!(lines_from_end(&mut f, 2).unwrap(), (2, 2));
        assert_eq!(lines_from_end(&mut f, 3).unwrap(), (3, 0));
        assert_eq!(lines_from_end(&mut f, 9).unwrap(), (3, 0));
        let (_t, mut f) = file_with("");
        assert_eq!(lines_from_end(&mut f, 2).unwrap(), (0, 0));
    }

    #[test]
    fn scans_across_chunks() {
        let line = "x".repeat(1000) + "\n";
        let (_t, mut f) = file_with(&line.repeat(200));
        assert_eq!(lines_from_end(&mut f, 150).unwrap(), (150, 50 * 1001));
    }
}
