//! One line of Docker's json-file log: `{"log":"…","stream":"stdout","time":"RFC3339Nano"}`.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A decoded log entry; `nanos` is Unix time in nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub stream: Stream,
    pub line: Vec<u8>,
    pub nanos: i64,
}

#[derive(Deserialize)]
struct Raw {
    log: String,
    stream: String,
    time: String,
}

impl LogEntry {
    /// Decodes one line (without its newline); `None` for a line that is not a log entry
    /// (a torn write after a crash), which readers skip as Docker does.
    pub fn parse(line: &[u8]) -> Option<LogEntry> {
        let raw: Raw = serde_json::from_slice(line).ok()?;
        let stream = match raw.stream.as_str() {
            "stdout" => Stream::Stdout,
            "stderr" => Stream::Stderr,
            _ => return None,
        };
        Some(LogEntry {
            stream,
            line: raw.log.into_bytes(),
            nanos: parse_time_nanos(&raw.time)?,
        })
    }
}

/// RFC 3339 with an optional fraction → Unix nanoseconds.
pub fn parse_time_nanos(text: &str) -> Option<i64> {
    let secs = berth_oci::time::parse_rfc3339(text)?;
    let frac = text
        .get(19..)
        .and_then(|rest| rest.strip_prefix('.'))
        .map(|f| {
            f.bytes()
                .take_while(u8::is_ascii_digit)
                .collect::<Vec<u8>>()
        })
        .unwrap_or_default();
    let mut nanos: i64 = 0;
    for i in 0..9 {
        nanos = nanos * 10 + frac.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Docker's `RFC3339NanoFixed` (`2006-01-02T15:04:05.000000000Z`), the prefix of
/// `--timestamps` lines.
pub fn format_time_fixed(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let base = berth_oci::time::format_rfc3339(secs);
    // `…:SSZ` → `…:SS.nnnnnnnnnZ`
    let stem = base.strip_suffix('Z').unwrap_or(&base);
    format!("{stem}.{frac:09}Z")
}

/// Docker's `since`/`until` query values: Unix seconds with an optional fraction
/// (`1700000000.5`), or RFC 3339. `None` when malformed.
pub fn parse_timestamp_arg(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.contains('T') {
        return parse_time_nanos(text);
    }
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: i64 = secs.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nanos: i64 = 0;
    for i in 0..9 {
        nanos = nanos * 10 + frac.as_bytes().get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_and_times() {
        let e =
            LogEntry::parse(br#"{"log":"hi\n","stream":"stderr","time":"2026-11-23T08:00:01.5Z"}"#)
                .unwrap();
        assert_eq!(e.stream, Stream::Stderr);
        assert_eq!(e.line, b"hi\n");
        assert_eq!(e.nanos % 1_000_000_000, 500_000_000);
        assert_eq!(format_time_fixed(e.nanos), "2026-11-23T08:00:01.500000000Z");
        assert!(LogEntry::parse(b"{\"log\":").is_none());
        assert!(
            LogEntry::parse(br#"{"log":"x","stream":"tty","time":"2026-11-23T08:00:01Z"}"#)
                .is_none()
        );
    }

    #[test]
    fn parses_query_timestamps() {
        assert_eq!(parse_timestamp_arg("10"), Some(10_000_000_000));
        assert_eq!(parse_timestamp_arg("10.25"), Some(10_250_000_000));
        assert_eq!(
            parse_timestamp_arg("1970-01-01T00:00:10.000000001Z"),
            Some(10_000_000_001)
        );
        assert_eq!(parse_timestamp_arg("x"), None);
        assert_eq!(parse_timestamp_arg("1.x"), None);
    }
}
