//! Human-readable sizes and durations, exactly as Docker's go-units prints them.

const DECIMAL: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// go-units `HumanSizeWithPrecision`: decimal units, `precision` significant digits (`%.*g`).
pub fn human_size_precision(size: f64, precision: usize) -> String {
    let (value, unit) = scale(size, 1000.0, &DECIMAL);
    format!("{}{unit}", go_format_g(value, precision))
}

/// go-units `HumanSize` (4 significant digits).
pub fn human_size(size: f64) -> String {
    human_size_precision(size, 4)
}

/// go-units `BytesSize`: binary units, `%.4g`.
pub fn bytes_size(size: f64) -> String {
    let (value, unit) = scale(size, 1024.0, &BINARY);
    format!("{}{unit}", go_format_g(value, 4))
}

fn scale<'a>(mut size: f64, base: f64, units: &[&'a str]) -> (f64, &'a str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// Go's `%.*g`: `precision` significant digits, exponent form when the exponent is < -4 or
/// ≥ precision, trailing zeros removed.
pub fn go_format_g(value: f64, precision: usize) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    if value == 0.0 {
        return "0".to_owned();
    }
    let precision = precision.max(1);
    // Round to the significant digits first: the exponent is that of the rounded value.
    let sci = format!("{:.*e}", precision - 1, value);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= precision as i32 {
        let mantissa = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (precision as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{value:.decimals$}")).to_owned()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// go-units `HumanDuration` of a number of seconds.
pub fn human_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    if seconds < 1 {
        return "Less than a second".to_owned();
    }
    if seconds == 1 {
        return "1 second".to_owned();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".to_owned();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // Go rounds to the nearest hour here (half away from zero).
    let hours = (seconds + 1800) / 3600;
    if hours == 1 {
        return "About an hour".to_owned();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", seconds / 3600 / 24 / 365)
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `"<duration> ago"` for a Unix timestamp, as `docker ps`/`docker images` print CREATED.
pub fn since(created_unix: i64) -> String {
    format!("{} ago", human_duration(now_unix() - created_unix))
}

/// Go's `time.Unix(t, 0).String()` in UTC: `2006-01-02 15:04:05 +0000 UTC`.
pub fn go_time_string(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000 UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Howard Hinnant's days → (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses an RFC 3339 timestamp (as the API's `Created` strings) to Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        _ => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    Some(days * 86_400 + h * 3600 + mi * 60 + se - offset)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_go_units() {
        assert_eq!(human_size_precision(4_263_750.0, 3), "4.26MB");
        assert_eq!(human_size_precision(0.0, 3), "0B");
        assert_eq!(human_size_precision(999.0, 3), "999B");
        assert_eq!(human_size_precision(1000.0, 3), "1kB");
        assert_eq!(human_size_precision(999_999.0, 3), "1e+03kB");
        assert_eq!(human_size_precision(123_456_789.0, 3), "123MB");
        assert_eq!(human_size(1_234_567.0), "1.235MB");
        assert_eq!(human_size(5.0), "5B");
        assert_eq!(bytes_size(1024.0 * 1024.0 * 1.5), "1.5MiB");
    }

    #[test]
    fn go_g_formatting() {
        assert_eq!(go_format_g(0.000_012_345, 3), "1.23e-05");
        assert_eq!(go_format_g(0.5, 3), "0.5");
        assert_eq!(go_format_g(12.0, 3), "12");
        assert_eq!(go_format_g(12.345, 4), "12.35");
    }

    /// Every size prints as digits, an optional fraction/exponent, and a known unit.
    #[test]
    fn sizes_are_well_formed_for_many_values() {
        let mut x: f64 = 1.0;
        while x < 1e25 {
            for v in [x, x * 1.234_567, x * 9.999] {
                let s = human_size_precision(v, 3);
                let unit_start = s
                    .find(|c: char| c.is_ascii_alphabetic() && c != 'e')
                    .unwrap();
                assert!(DECIMAL.contains(&&s[unit_start..]), "{s}");
                let number: f64 = s[..unit_start].parse().unwrap();
                assert!(number < 1000.5, "{s}");
            }
            x *= 7.0;
        }
    }

    #[test]
    fn durations_match_go_units() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(60), "About a minute");
        assert_eq!(human_duration(119), "About a minute");
        assert_eq!(human_duration(120), "2 minutes");
        assert_eq!(human_duration(3599), "59 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(5399), "About an hour");
        assert_eq!(human_duration(5400), "2 hours");
        assert_eq!(human_duration(47 * 3600), "47 hours");
        assert_eq!(human_duration(48 * 3600), "2 days");
        assert_eq!(human_duration(14 * 86400), "2 weeks");
        assert_eq!(human_duration(60 * 86400), "2 months");
        assert_eq!(human_duration(800 * 86400), "2 years");
    }

    #[test]
    fn times() {
        assert_eq!(go_time_string(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            go_time_string(1_700_000_000),
            "2023-11-14 22:13:20 +0000 UTC"
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.123456789Z"),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20+01:00"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_rfc3339("garbage"), None);
        for t in [0i64, 951_782_400, 1_700_000_000, 4_102_444_800] {
            let s = go_time_string(t);
            let iso = format!("{}T{}Z", &s[..10], &s[11..19]);
            assert_eq!(parse_rfc3339(&iso), Some(t));
        }
    }
}

/// docker/cli's timetypes.GetTimestamp: a Go duration ("42m", "1h30m") means that long ago,
/// an RFC 3339 time its Unix seconds; anything else (Unix seconds) passes through.
pub fn api_timestamp(value: &str, now: i64) -> String {
    if let Some(seconds) = parse_go_duration(value) {
        return (now - seconds).to_string();
    }
    if let Some(unix) = parse_rfc3339(value) {
        return unix.to_string();
    }
    let date_only = value.len() == 10 && value.as_bytes().get(4) == Some(&b'-');
    if let Some(unix) = date_only
        .then(|| parse_rfc3339(&format!("{value}T00:00:00Z")))
        .flatten()
    {
        return unix.to_string();
    }
    value.to_owned()
}

/// Whole seconds of a Go duration string made of h/m/s parts.
fn parse_go_duration(value: &str) -> Option<i64> {
    if value.is_empty() || !value.ends_with(['h', 'm', 's']) {
        return None;
    }
    let mut total = 0f64;
    let mut number = String::new();
    for c in value.chars() {
        match c {
            '0'..='9' | '.' => number.push(c),
            'h' | 'm' | 's' => {
                let n: f64 = number.parse().ok()?;
                total += n * match c {
                    'h' => 3600.0,
                    'm' => 60.0,
                    _ => 1.0,
                };
                number.clear();
            }
            _ => return None,
        }
    }
    number.is_empty().then_some(total as i64)
}

#[cfg(test)]
mod timestamp_tests {
    use super::api_timestamp;

    #[test]
    fn relative_and_absolute_times() {
        assert_eq!(api_timestamp("42m", 10_000), "7480");
        assert_eq!(api_timestamp("1h30m", 10_000), "4600");
        assert_eq!(api_timestamp("2023-11-14T22:13:20Z", 0), "1700000000");
        assert_eq!(api_timestamp("2023-11-14", 0), "1699920000");
        assert_eq!(api_timestamp("1700000000", 0), "1700000000");
    }
}
