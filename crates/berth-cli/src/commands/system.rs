//! version, info, system df, system prune, events.

use std::io::{self, BufRead, Write};

use serde_json::{Map, Value, json};

use super::ps::parse_filters;
use crate::Ctx;
use crate::cli::{EventsArgs, FormatArgs, SystemPruneArgs};
use crate::format::Template;
use crate::format::units::human_size;

fn template_output(format: &str, data: &Value) -> anyhow::Result<()> {
    let template = if format == "json" {
        Template::parse("{{json .}}")?
    } else {
        Template::parse(format)?
    };
    println!("{}", template.execute(data)?);
    Ok(())
}

pub fn version(ctx: &Ctx, args: FormatArgs) -> anyhow::Result<i32> {
    let client_info = json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "ApiVersion": berth_client::CLIENT_API_VERSION,
        "DefaultAPIVersion": berth_client::CLIENT_API_VERSION,
        "Os": std::env::consts::OS,
        "Arch": go_arch(),
    });
    let server = ctx.client().and_then(|c| {
        let raw: Value = c.get_json("/version", &berth_client::Query::new())?;
        Ok((c.api_version().to_owned(), raw))
    });
    let (negotiated, server) = match server {
        Ok((negotiated, v)) => (negotiated, Some(v)),
        Err(e) => {
            if args.format.is_none() {
                print_client(&client_info, "");
            }
            return Err(e);
        }
    };
    // Templates see Go field names: the JSON's "ApiVersion" is the struct's APIVersion.
    let mut client_info = client_info;
    client_info["APIVersion"] = Value::String(negotiated.clone());
    let server = server.map(|mut s| {
        if s.is_object() {
            s["APIVersion"] = s["ApiVersion"].clone();
        }
        s
    });
    let data = json!({"Client": client_info, "Server": server});
    if let Some(format) = &args.format {
        template_output(format, &data)?;
        return Ok(0);
    }
    print_client(&client_info, &negotiated);
    if let Some(server) = server {
        let s = |k: &str| server[k].as_str().unwrap_or_default().to_owned();
        let name = server["Platform"]["Name"].as_str().unwrap_or("");
        if name.is_empty() {
            println!("\nServer:");
        } else {
            println!("\nServer: {name}");
        }
        println!(" Engine:");
        println!("  Version:          {}", s("Version"));
        println!(
            "  API version:      {} (minimum version {})",
            s("ApiVersion"),
            s("MinAPIVersion")
        );
        println!("  Go version:       {}", s("GoVersion"));
        println!("  Git commit:       {}", s("GitCommit"));
        println!("  Built:            {}", s("BuildTime"));
        println!("  OS/Arch:          {}/{}", s("Os"), s("Arch"));
        println!(
            "  Experimental:     {}",
            server["Experimental"].as_bool().unwrap_or(false)
        );
    }
    Ok(0)
}

fn print_client(client: &Value, negotiated: &str) {
    println!("Client:");
    println!(
        " Version:           {}",
        client["Version"].as_str().unwrap_or_default()
    );
    let api = berth_client::CLIENT_API_VERSION;
    if !negotiated.is_empty() && negotiated != api {
        println!(" API version:       {negotiated} (downgraded from {api})");
    } else {
        println!(" API version:       {api}");
    }
    println!(" OS/Arch:           {}/{}", std::env::consts::OS, go_arch());
}

/// Go's GOARCH spelling of our architecture.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

pub fn info(ctx: &Ctx, args: FormatArgs) -> anyhow::Result<i32> {
    let info = ctx.client()?.info()?;
    if let Some(format) = &args.format {
        template_output(format, &info)?;
        return Ok(0);
    }
    let s = |k: &str| crate::format::gofmt::print(&info[k]);
    println!("Server:");
    println!(" Containers: {}", s("Containers"));
    println!("  Running: {}", s("ContainersRunning"));
    println!("  Paused: {}", s("ContainersPaused"));
    println!("  Stopped: {}", s("ContainersStopped"));
    println!(" Images: {}", s("Images"));
    println!(" Server Version: {}", s("ServerVersion"));
    println!(" Storage Driver: {}", s("Driver"));
    println!(" Logging Driver: {}", s("LoggingDriver"));
    println!(" Cgroup Driver: {}", s("CgroupDriver"));
    println!(" Cgroup Version: {}", s("CgroupVersion"));
    println!(" Kernel Version: {}", s("KernelVersion"));
    println!(" Operating System: {}", s("OperatingSystem"));
    println!(" OSType: {}", s("OSType"));
    println!(" Architecture: {}", s("Architecture"));
    println!(" CPUs: {}", s("NCPU"));
    println!(
        " Total Memory: {}",
        crate::format::units::bytes_size(info["MemTotal"].as_f64().unwrap_or(0.0))
    );
    println!(" Name: {}", s("Name"));
    println!(" ID: {}", s("ID"));
    println!(" Docker Root Dir: {}", s("DockerRootDir"));
    Ok(0)
}

fn confirm(warning: &str) -> anyhow::Result<bool> {
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    io::stdout().flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

pub fn prune_containers(ctx: &Ctx, filters: &[String], force: bool) -> anyhow::Result<i32> {
    if !force && !confirm("WARNING! This will remove all stopped containers.")? {
        return Ok(0);
    }
    let filters = berth_client::api::filters_json(&parse_filters(filters)?);
    let report = ctx.client()?.container_prune(filters)?;
    print_pruned("Deleted Containers:", &report["ContainersDeleted"]);
    println!(
        "Total reclaimed space: {}",
        human_size(report["SpaceReclaimed"].as_f64().unwrap_or(0.0))
    );
    Ok(0)
}

pub fn prune_images(ctx: &Ctx, filters: &[String], all: bool, force: bool) -> anyhow::Result<i32> {
    let warning = if all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !force && !confirm(warning)? {
        return Ok(0);
    }
    let mut pairs = parse_filters(filters)?;
    pairs.push(("dangling".to_owned(), (!all).to_string()));
    let report = ctx
        .client()?
        .image_prune(berth_client::api::filters_json(&pairs))?;
    print_image_deletions(&report["ImagesDeleted"]);
    println!(
        "Total reclaimed space: {}",
        human_size(report["SpaceReclaimed"].as_f64().unwrap_or(0.0))
    );
    Ok(0)
}

fn print_pruned(title: &str, ids: &Value) {
    let ids: Vec<&str> = ids
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !ids.is_empty() {
        println!("{title}");
        for id in ids {
            println!("{id}");
        }
        println!();
    }
}

fn print_image_deletions(items: &Value) {
    let items = items.as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return;
    }
    println!("Deleted Images:");
    for item in items {
        if let Some(u) = item["Untagged"].as_str() {
            println!("untagged: {u}");
        }
        if let Some(d) = item["Deleted"].as_str() {
            println!("deleted: {d}");
        }
    }
    println!();
}

pub fn system_prune(ctx: &Ctx, args: SystemPruneArgs) -> anyhow::Result<i32> {
    if !args.force {
        let mut warning = "WARNING! This will remove:\n  - all stopped containers\n".to_owned();
        warning.push_str(if args.all {
            "  - all images without at least one container associated to them\n"
        } else {
            "  - all dangling images\n"
        });
        if !confirm(warning.trim_end())? {
            return Ok(0);
        }
    }
    let client = ctx.client()?;
    let filters = parse_filters(&args.filter)?;
    let containers = client.container_prune(berth_client::api::filters_json(&filters))?;
    print_pruned("Deleted Containers:", &containers["ContainersDeleted"]);
    let mut image_filters = filters.clone();
    image_filters.push(("dangling".to_owned(), (!args.all).to_string()));
    let images = client.image_prune(berth_client::api::filters_json(&image_filters))?;
    print_image_deletions(&images["ImagesDeleted"]);
    let total = containers["SpaceReclaimed"].as_f64().unwrap_or(0.0)
        + images["SpaceReclaimed"].as_f64().unwrap_or(0.0);
    println!("Total reclaimed space: {}", human_size(total));
    Ok(0)
}

pub fn events(ctx: &Ctx, args: EventsArgs) -> anyhow::Result<i32> {
    let filters = berth_client::api::filters_json(&parse_filters(&args.filter)?);
    let now = crate::format::units::now_unix();
    let since = args
        .since
        .map(|s| crate::format::units::api_timestamp(&s, now));
    let until = args
        .until
        .map(|s| crate::format::units::api_timestamp(&s, now));
    let stream = ctx
        .client()?
        .events(since.as_deref(), until.as_deref(), filters)?;
    let template = match args.format.as_deref() {
        None | Some("") => None,
        Some("json") => Some(Template::parse("{{json .}}")?),
        Some(f) => Some(Template::parse(f)?),
    };
    let mut out = io::stdout().lock();
    for event in berth_client::api::json_stream(stream) {
        let event = event?;
        let line = match &template {
            Some(t) => t.execute(&event)?,
            None => event_line(&event),
        };
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(0)
}

/// docker's default event line: `time type action id (k=v, ...)`.
pub fn event_line(e: &Value) -> String {
    let nanos = e["timeNano"].as_i64().unwrap_or(0);
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let t = crate::format::units::go_time_string(secs);
    let time = format!("{}T{}.{frac:09}Z", &t[..10], &t[11..19]);
    let attrs: Map<String, Value> = e["Actor"]["Attributes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut pairs: Vec<String> = attrs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    let kind = e["Type"].as_str().unwrap_or_default();
    let action = e["Action"].as_str().unwrap_or_default();
    let id = e["Actor"]["ID"].as_str().unwrap_or_default();
    if pairs.is_empty() {
        format!("{time} {kind} {action} {id}")
    } else {
        format!("{time} {kind} {action} {id} ({})", pairs.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines() {
        let e = json!({"Type": "container", "Action": "start", "Actor": {"ID": "abc", "Attributes": {"name": "x", "image": "busybox"}}, "timeNano": 1_700_000_000_000_000_001i64});
        assert_eq!(
            event_line(&e),
            "2023-11-14T22:13:20.000000001Z container start abc (image=busybox, name=x)"
        );
    }
}
