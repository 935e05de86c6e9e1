//! Go's `fmt` renderings that BuildKit writes into history `created_by` strings
//! (`fmt.Sprintf("EXPOSE %v", ports)`, `"SHELL %v"`, `"HEALTHCHECK %q"` of its struct), so
//! Berth's history reads byte for byte like Docker's.

use std::time::Duration;

use crate::parser::go_quote;

/// `%v` of a `[]string`: `[a b c]` (no quoting).
pub fn go_plain_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// `%v` of a `map[nat.Port]struct{}`: Go prints maps with sorted keys, `map[80/tcp:{} ...]`.
pub fn go_port_set(ports: &[String]) -> String {
    let mut sorted: Vec<&str> = ports.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let entries: Vec<String> = sorted.iter().map(|p| format!("{p}:{{}}")).collect();
    format!("map[{}]", entries.join(" "))
}

/// `%q` of a `time.Duration`: its `String()` quoted (`"1m30s"`, `"500ms"`, `"0s"`).
pub fn go_quoted_duration(d: Duration) -> String {
    format!("\"{}\"", go_duration(d))
}

/// Go's `time.Duration.String()`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", fraction(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", fraction(nanos, 1_000_000));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = nanos / 60_000_000_000 % 60;
    let seconds = fraction(nanos % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `value / unit` with the remainder as decimals, trailing zeros dropped (`1.5`, `2`).
fn fraction(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let rest = value % unit;
    if rest == 0 {
        return whole.to_string();
    }
    let width = unit.to_string().len() - 1;
    let decimals = format!("{rest:0width$}");
    format!("{whole}.{}", decimals.trim_end_matches('0'))
}

/// `%q` of an `int`: Go quotes it as a rune literal (`'\x04'`, `'\n'`, `'A'`).
pub fn go_quoted_rune(value: u32) -> String {
    let escaped = match value {
        0x07 => "\\a".to_string(),
        0x08 => "\\b".to_string(),
        0x0c => "\\f".to_string(),
        0x0a => "\\n".to_string(),
        0x0d => "\\r".to_string(),
        0x09 => "\\t".to_string(),
        0x0b => "\\v".to_string(),
        0x27 => "\\'".to_string(),
        0x5c => "\\\\".to_string(),
        v if v < 0x20 || v == 0x7f => format!("\\x{v:02x}"),
        v => match char::from_u32(v) {
            Some(c) if !c.is_control() => c.to_string(),
            _ if v <= 0xffff => format!("\\u{v:04x}"),
            _ => format!("\\U{v:08x}"),
        },
    };
    format!("'{escaped}'")
}

/// `%q` of a `[]string`: `["a" "b"]`.
pub fn go_quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        let cases = [
            (0, "0s"),
            (500, "500ns"),
            (1_500, "1.5µs"),
            (500_000_000, "500ms"),
            (5_000_000_000, "5s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_661_500_000_000, "1h1m1.5s"),
        ];
        for (nanos, want) in cases {
            assert_eq!(go_duration(Duration::from_nanos(nanos)), want, "{nanos}ns");
        }
    }

    #[test]
    fn ints_quote_as_runes_and_ports_sort() {
        assert_eq!(go_quoted_rune(4), "'\\x04'");
        assert_eq!(go_quoted_rune(0), "'\\x00'");
        assert_eq!(go_quoted_rune(10), "'\\n'");
        assert_eq!(go_quoted_rune(65), "'A'");
        let ports = ["80/tcp", "53/udp", "443/tcp"].map(String::from);
        assert_eq!(go_port_set(&ports), "map[443/tcp:{} 53/udp:{} 80/tcp:{}]");
    }
}
