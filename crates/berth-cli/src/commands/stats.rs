//! `stats`: docker's CPU/memory/IO arithmetic over GET /containers/{id}/stats.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::Ctx;
use crate::cli::StatsArgs;
use crate::format::units::{bytes_size, human_size_precision};
use crate::format::{ListFormat, short_id};

const DEFAULT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

/// docker's calculateCPUPercentUnix: the share of system CPU time times the online CPUs.
pub fn cpu_percent(s: &Value) -> f64 {
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let cpu_delta = f(&s["cpu_stats"]["cpu_usage"]["total_usage"])
        - f(&s["precpu_stats"]["cpu_usage"]["total_usage"]);
    let system_delta =
        f(&s["cpu_stats"]["system_cpu_usage"]) - f(&s["precpu_stats"]["system_cpu_usage"]);
    let mut online = f(&s["cpu_stats"]["online_cpus"]);
    if online == 0.0 {
        online = s["cpu_stats"]["cpu_usage"]["percpu_usage"]
            .as_array()
            .map_or(0.0, |a| a.len() as f64);
    }
    if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * online * 100.0
    } else {
        0.0
    }
}

/// docker's calculateMemUsageUnixNoCache: usage minus the inactive file cache.
pub fn memory_usage(s: &Value) -> f64 {
    let usage = s["memory_stats"]["usage"].as_f64().unwrap_or(0.0);
    let stats = &s["memory_stats"]["stats"];
    for key in ["total_inactive_file", "inactive_file"] {
        if let Some(v) = stats[key].as_f64().filter(|v| *v < usage) {
            return usage - v;
        }
    }
    usage
}

fn io_totals(s: &Value) -> ((f64, f64), (f64, f64)) {
    let (mut rx, mut tx) = (0.0, 0.0);
    for net in s["networks"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, v)| v)
    {
        rx += net["rx_bytes"].as_f64().unwrap_or(0.0);
        tx += net["tx_bytes"].as_f64().unwrap_or(0.0);
    }
    let (mut read, mut write) = (0.0, 0.0);
    for entry in s["blkio_stats"]["io_service_bytes_recursive"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let value = entry["value"].as_f64().unwrap_or(0.0);
        match entry["op"].as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => read += value,
            Some("write") => write += value,
            _ => {}
        }
    }
    ((rx, tx), (read, write))
}

pub fn stats_context(s: &Value, given: &str, trunc: bool) -> Value {
    let id = s["id"].as_str().unwrap_or_default();
    let name = s["name"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('/');
    let mem = memory_usage(s);
    let limit = s["memory_stats"]["limit"].as_f64().unwrap_or(0.0);
    let mem_percent = if limit > 0.0 {
        mem / limit * 100.0
    } else {
        0.0
    };
    let ((rx, tx), (read, write)) = io_totals(s);
    let h = |v: f64| human_size_precision(v, 3);
    let mut ctx = Map::new();
    let mut put = |k: &str, v: String| {
        ctx.insert(k.to_owned(), Value::String(v));
    };
    put("ID", if trunc { short_id(id) } else { id.to_owned() });
    put("Container", given.to_owned());
    put("Name", name.to_owned());
    put("CPUPerc", format!("{:.2}%", cpu_percent(s)));
    put(
        "MemUsage",
        format!("{} / {}", bytes_size(mem), bytes_size(limit)),
    );
    put("MemPerc", format!("{mem_percent:.2}%"));
    put("NetIO", format!("{} / {}", h(rx), h(tx)));
    put("BlockIO", format!("{} / {}", h(read), h(write)));
    put(
        "PIDs",
        s["pids_stats"]["current"].as_u64().unwrap_or(0).to_string(),
    );
    Value::Object(ctx)
}

pub fn stats(ctx: &Ctx, args: StatsArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let names: Vec<String> = if args.containers.is_empty() {
        client
            .container_list(args.all, false, None, None)?
            .iter()
            .filter_map(|c| c["Id"].as_str().map(str::to_owned))
            .collect()
    } else {
        args.containers.clone()
    };
    let format = ListFormat::parse(args.format.as_deref(), DEFAULT)?;
    let trunc = !args.no_trunc;
    if args.no_stream {
        let mut rows = Vec::new();
        for name in &names {
            let mut raw = Vec::new();
            client.container_stats(name, false)?.read_to_end(&mut raw)?;
            let sample: Value = serde_json::from_slice(&raw)?;
            rows.push(stats_context(&sample, name, trunc));
        }
        print!("{}", format.render(HEADERS, &rows)?);
        return Ok(0);
    }
    // One stream per container, each keeping its latest row; the screen is redrawn twice a
    // second, as docker does on a terminal.
    let latest: Arc<Mutex<Vec<Option<Value>>>> = Arc::new(Mutex::new(vec![None; names.len()]));
    for (i, name) in names.iter().enumerate() {
        let stream = client.container_stats(name, true)?;
        let (latest, name) = (Arc::clone(&latest), name.clone());
        std::thread::spawn(move || {
            for sample in berth_client::api::json_stream(stream).map_while(Result::ok) {
                let row = stats_context(&sample, &name, trunc);
                if let Ok(mut rows) = latest.lock() {
                    rows[i] = Some(row);
                }
            }
        });
    }
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let rows: Vec<Value> = match latest.lock() {
            Ok(rows) => rows.iter().flatten().cloned().collect(),
            Err(_) => anyhow::bail!("a stats reader failed"),
        };
        let text = format.render(HEADERS, &rows)?;
        print!("\x1b[2J\x1b[H{text}");
        std::io::Write::flush(&mut std::io::stdout())?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn docker_arithmetic() {
        let s = json!({
            "id": "0123456789abcdef", "name": "/web",
            "cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
            "memory_stats": {"usage": 3_145_728, "limit": 1_073_741_824, "stats": {"total_inactive_file": 1_048_576}},
            "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 0}},
            "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 4096}, {"op": "Write", "value": 0}]},
            "pids_stats": {"current": 3},
        });
        assert!((cpu_percent(&s) - 40.0).abs() < 1e-9);
        let ctx = stats_context(&s, "web", true);
        assert_eq!(ctx["CPUPerc"], "40.00%");
        assert_eq!(ctx["MemUsage"], "2MiB / 1GiB");
        assert_eq!(ctx["MemPerc"], "0.20%");
        assert_eq!(ctx["NetIO"], "1.5kB / 0B");
        assert_eq!(ctx["BlockIO"], "4.1kB / 0B");
        assert_eq!(ctx["PIDs"], "3");
        assert_eq!(ctx["Name"], "web");
    }
}
