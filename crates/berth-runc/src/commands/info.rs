//! spec, state, list, ps, events, features.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use berth_runtime::container::{self, ContainerId, EventsOptions};

use super::{Failure, Outcome, print_json};
use crate::cli::{Format, SpecArgs};

pub fn spec(args: &SpecArgs) -> Outcome {
    let path = args.bundle.join("config.json");
    if path.exists() {
        return Err(Failure::new(format!(
            "File {} exists. Remove it first",
            path.display()
        )));
    }
    let value = if args.rootless {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        berth_runtime::spec::rootless_spec(field("Uid:"), field("Gid:"))
    } else {
        berth_runtime::spec::default_spec()
    };
    // Through the typed spec, so fields come out in the spec's order, as runc writes them.
    let value: oci_spec::runtime::Spec = serde_json::from_value(value).map_err(Failure::new)?;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&value, &mut ser).map_err(Failure::new)?;
    std::fs::write(&path, out)
        .map_err(|e| Failure::new(format!("writing {}: {e}", path.display())))?;
    Ok(0)
}

pub fn state(root: &Path, id: &ContainerId) -> Outcome {
    print_json(&container::state(root, id).map_err(Failure::new)?)
}

pub fn list(root: &Path, format: Format, quiet: bool) -> Outcome {
    let all = container::list(root).map_err(Failure::new)?;
    if quiet {
        for c in &all {
            println!("{}", c.id);
        }
        return Ok(0);
    }
    if format == Format::Json {
        return print_json(&all);
    }
    let rows: Vec<[String; 6]> = all
        .iter()
        .map(|c| {
            [
                c.id.clone(),
                c.pid.to_string(),
                c.status.clone(),
                c.bundle.display().to_string(),
                c.created.clone(),
                c.owner.clone(),
            ]
        })
        .collect();
    let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
    print_table(std::iter::once(&header).chain(rows.iter()));
    Ok(0)
}

/// Columns padded like Go's tabwriter (min width 12, padding 1), as runc prints them.
fn print_table<'a>(rows: impl Iterator<Item = &'a [String; 6]> + Clone) {
    let mut widths = [0usize; 6];
    for row in rows.clone() {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.len() + 1).max(12);
        }
    }
    let mut out = std::io::stdout().lock();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}", width = widths[i]));
            }
        }
        let _ = writeln!(out, "{line}");
    }
}

pub fn ps(root: &Path, id: &ContainerId, format: Format, ps_args: &[String]) -> Outcome {
    let pids = container::ps(root, id).map_err(Failure::new)?;
    if format == Format::Json {
        return print_json(&pids);
    }
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".to_string()]
    } else {
        ps_args.to_vec()
    };
    let output = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Failure::new(format!("running ps: {e}")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let pid_col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Failure::new("ps output has no PID column"))?;
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(pid_col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(0)
}

pub fn events(root: &Path, id: &ContainerId, stats: bool, interval: &str) -> Outcome {
    let interval = parse_duration(interval).ok_or_else(|| {
        Failure::new(format!(
            "invalid --interval {interval:?} (use e.g. 5s, 500ms)"
        ))
    })?;
    let opts = EventsOptions {
        stats_once: stats,
        interval,
    };
    let mut out = std::io::stdout().lock();
    container::events(root, id, opts, |event| {
        writeln!(out, "{event}").and_then(|()| out.flush()).is_ok()
    })
    .map_err(Failure::new)?;
    Ok(0)
}

/// Go-style durations: `5s`, `500ms`, `1m`, `2h`, `1m30s`.
fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += Duration::from_secs_f64(value * scale);
        rest = &rest[unit_len..];
    }
    (!total.is_zero()).then_some(total)
}

pub fn features() -> Outcome {
    print_json(&berth_runtime::features::features())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("abc"), None);
        assert_eq!(parse_duration("0s"), None);
    }
}
