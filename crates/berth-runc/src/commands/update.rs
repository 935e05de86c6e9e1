//! update: resources from `-r FILE` (runc's resources JSON) or from flags.

use std::io::Read;
use std::path::Path;

use oci_spec::runtime::LinuxResources;
use serde_json::{Map, Value, json};

use super::{Failure, Outcome, id};
use crate::cli::UpdateArgs;

pub fn update(root: &Path, args: &UpdateArgs) -> Outcome {
    let resources = match &args.resources {
        Some(path) => read_resources(path)?,
        None => from_flags(args)?,
    };
    berth_runtime::container::update(root, &id(&args.id)?, &resources).map_err(Failure::new)?;
    Ok(0)
}

fn read_resources(path: &Path) -> Result<LinuxResources, Failure> {
    let mut text = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin().read_to_end(&mut text).map(drop)
    } else {
        std::fs::read(path).map(|t| text = t)
    };
    read.map_err(|e| Failure::new(format!("reading {}: {e}", path.display())))?;
    serde_json::from_slice(&text)
        .map_err(|e| Failure::new(format!("{}: invalid resources JSON: {e}", path.display())))
}

fn from_flags(args: &UpdateArgs) -> Result<LinuxResources, Failure> {
    let mut memory = Map::new();
    for (key, flag, value) in [
        ("limit", "--memory", &args.memory),
        (
            "reservation",
            "--memory-reservation",
            &args.memory_reservation,
        ),
        ("swap", "--memory-swap", &args.memory_swap),
        ("kernel", "--kernel-memory", &args.kernel_memory),
    ] {
        if let Some(v) = value {
            memory.insert(
                key.into(),
                json!(parse_bytes(v).ok_or_else(|| Failure::new(format!("invalid {flag} {v:?}")))?),
            );
        }
    }
    let mut cpu = Map::new();
    let mut put = |key: &str, v: Option<Value>| {
        if let Some(v) = v {
            cpu.insert(key.into(), v);
        }
    };
    put("shares", args.cpu_shares.map(|v| json!(v)));
    put("quota", args.cpu_quota.map(|v| json!(v)));
    put("period", args.cpu_period.map(|v| json!(v)));
    put("realtimeRuntime", args.cpu_rt_runtime.map(|v| json!(v)));
    put("realtimePeriod", args.cpu_rt_period.map(|v| json!(v)));
    put("cpus", args.cpuset_cpus.clone().map(Value::from));
    put("mems", args.cpuset_mems.clone().map(Value::from));
    let mut doc = Map::new();
    if !memory.is_empty() {
        doc.insert("memory".into(), Value::Object(memory));
    }
    if !cpu.is_empty() {
        doc.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(limit) = args.pids_limit {
        doc.insert("pids".into(), json!({"limit": limit}));
    }
    if let Some(weight) = args.blkio_weight {
        doc.insert("blockIO".into(), json!({"weight": weight}));
    }
    if doc.is_empty() {
        return Err(Failure::new(
            "update: nothing to change (give -r FILE or a resource flag)",
        ));
    }
    serde_json::from_value(Value::Object(doc)).map_err(Failure::new)
}

/// `1024`, `512k`, `64m`, `1g` (also `kb`/`mb`/`gb`, any case); `-1` means unlimited.
fn parse_bytes(text: &str) -> Option<i64> {
    let lower = text.trim().to_ascii_lowercase();
    if lower == "-1" {
        return Some(-1);
    }
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let (num, mult) = match lower.chars().last()? {
        'k' => (&lower[..lower.len() - 1], 1i64 << 10),
        'm' => (&lower[..lower.len() - 1], 1 << 20),
        'g' => (&lower[..lower.len() - 1], 1 << 30),
        't' => (&lower[..lower.len() - 1], 1 << 40),
        _ => (lower, 1),
    };
    num.parse::<i64>().ok()?.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn parses_sizes_like_runc() {
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("64m"), Some(64 << 20));
        assert_eq!(parse_bytes("1GB"), Some(1 << 30));
        assert_eq!(parse_bytes("-1"), Some(-1));
        assert_eq!(parse_bytes("x"), None);
    }
}
