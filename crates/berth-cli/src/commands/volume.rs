//! `volume create/ls/inspect/rm/prune`: docker/cli's volume commands over `/volumes`.

use berth_client::{Body, Query};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::inspect::{inspect_template, print_inspected};
use super::lifecycle::for_each;
use super::network::natural_cmp;
use super::ps::parse_filters;
use crate::Ctx;
use crate::format::ListFormat;
use crate::format::units::human_size;

/// `berth volume ...`
#[derive(Subcommand, Debug)]
pub enum VolumeCmd {
    /// Create a volume.
    Create(CreateArgs),
    /// Display detailed information on one or more volumes.
    Inspect(InspectArgs),
    /// List volumes.
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove unused local volumes (anonymous ones only, unless --all).
    Prune(PruneArgs),
    /// Remove one or more volumes.
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Specify volume driver name.
    #[arg(short, long, default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume.
    #[arg(long)]
    pub label: Vec<String>,
    /// Set driver specific options (e.g. type=tmpfs, device=tmpfs, o=size=64m).
    #[arg(short = 'o', long)]
    pub opt: Vec<String>,
    /// The volume's name (a generated one when left out).
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Provide filter values (e.g. "dangling=true").
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    /// Only display volume names.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template.
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub volumes: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Force the removal of one or more volumes.
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true)]
    pub volumes: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones.
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<label>").
    #[arg(long)]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

const DEFAULT: &str = "table {{.Driver}}\t{{.Name}}";
const HEADERS: &[(&str, &str)] = &[
    ("Name", "VOLUME NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("Mountpoint", "MOUNTPOINT"),
    ("Labels", "LABELS"),
    ("Links", "LINKS"),
    ("Size", "SIZE"),
];

pub fn dispatch(ctx: &Ctx, command: VolumeCmd) -> anyhow::Result<i32> {
    match command {
        VolumeCmd::Create(args) => create(ctx, args),
        VolumeCmd::Inspect(args) => inspect(ctx, args),
        VolumeCmd::Ls(args) => ls(ctx, args),
        VolumeCmd::Prune(args) => prune(ctx, args),
        VolumeCmd::Rm(args) => rm(ctx, args),
    }
}

/// `key=value` pairs as a JSON object; a bare `key` maps to "" (as docker's `--label`).
fn pairs(flag: &str, items: &[String], bare_allowed: bool) -> anyhow::Result<Value> {
    let mut map = serde_json::Map::new();
    for item in items {
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k, v),
            None if bare_allowed => (item.as_str(), ""),
            None => anyhow::bail!("invalid argument \"{item}\" for \"{flag}\": expected key=value"),
        };
        map.insert(key.to_owned(), Value::String(value.to_owned()));
    }
    Ok(Value::Object(map))
}

fn create(ctx: &Ctx, args: CreateArgs) -> anyhow::Result<i32> {
    let body = json!({
        "Name": args.name.unwrap_or_default(),
        "Driver": args.driver,
        "DriverOpts": pairs("--opt", &args.opt, false)?,
        "Labels": pairs("--label", &args.label, true)?,
    });
    let created: Value = ctx
        .client()?
        .call(
            "POST",
            "/volumes/create",
            &Query::new(),
            Body::Json(serde_json::to_vec(&body)?),
        )?
        .json()?;
    println!("{}", text(&created["Name"]));
    Ok(0)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The fields docker/cli's volume formatter offers.
fn volume_row(volume: &Value) -> Value {
    let mut labels: Vec<String> = volume["Labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", text(v)))
        .collect();
    labels.sort();
    let size = volume["UsageData"]["Size"]
        .as_i64()
        .filter(|s| *s >= 0)
        .map_or_else(|| "N/A".to_owned(), |s| human_size(s as f64));
    json!({
        "Name": volume["Name"],
        "Driver": volume["Driver"],
        "Scope": volume["Scope"],
        "Mountpoint": volume["Mountpoint"],
        "Labels": labels.join(","),
        "Links": volume["UsageData"]["RefCount"]
            .as_i64()
            .map_or_else(|| "N/A".to_owned(), |n| n.to_string()),
        "Size": size,
    })
}

fn ls(ctx: &Ctx, args: LsArgs) -> anyhow::Result<i32> {
    let filters = berth_client::api::filters_json(&parse_filters(&args.filter)?);
    let query = Query::new().opt("filters", filters);
    let listed: Value = ctx.client()?.get_json("/volumes", &query)?;
    let mut volumes: Vec<&Value> = listed["Volumes"].as_array().into_iter().flatten().collect();
    volumes.sort_by(|a, b| natural_cmp(text(&a["Name"]), text(&b["Name"])));
    let rows: Vec<Value> = volumes.into_iter().map(volume_row).collect();
    let format = if args.quiet {
        Some("{{.Name}}")
    } else {
        args.format.as_deref()
    };
    print!(
        "{}",
        ListFormat::parse(format, DEFAULT)?.render(HEADERS, &rows)?
    );
    Ok(0)
}

fn inspect(ctx: &Ctx, args: InspectArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let template = inspect_template(args.format.as_deref())?;
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in &args.volumes {
        let path = format!("/volumes/{name}");
        match client.call("GET", &path, &Query::new(), Body::Empty) {
            // docker/cli decodes into its struct and encodes again: keys in order.
            Ok(response) => found.push(serde_json::to_vec(&sorted(response.json()?))?),
            Err(e) if e.status() == Some(404) => missing.push(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    print_inspected(&found, &missing, template.as_ref())
}

/// `value` with every object's keys in byte order, whatever serde_json's map keeps.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn rm(ctx: &Ctx, args: RmArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let query = Query::new().flag("force", args.force);
    for_each(&args.volumes, |name| {
        let path = format!("/volumes/{name}");
        client
            .call("DELETE", &path, &query, Body::Empty)
            .map(|_| Some(name.to_owned()))
    })
}

fn prune(ctx: &Ctx, args: PruneArgs) -> anyhow::Result<i32> {
    let warning = if args.all {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    if !args.force && !confirm(warning)? {
        return Ok(0);
    }
    let mut filters = parse_filters(&args.filter)?;
    // berthd speaks API 1.41, whose prune takes named volumes too unless told otherwise.
    filters.push(("all".to_owned(), args.all.to_string()));
    let query = Query::new().opt("filters", berth_client::api::filters_json(&filters));
    let report: Value = ctx
        .client()?
        .call("POST", "/volumes/prune", &query, Body::Empty)?
        .json()?;
    let deleted: Vec<&str> = report["VolumesDeleted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !deleted.is_empty() {
        println!("Deleted Volumes:");
        for name in deleted {
            println!("{name}");
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        human_size(report["SpaceReclaimed"].as_f64().unwrap_or(0.0))
    );
    Ok(0)
}

/// docker's prompt; anything but y/yes declines.
fn confirm(warning: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, Write};
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sort_labels_and_show_unknown_usage_as_na() {
        let volume = json!({"Name": "v", "Driver": "local", "Scope": "local",
            "Mountpoint": "/m", "Labels": {"b": "2", "a": "1"}});
        let row = volume_row(&volume);
        assert_eq!(row["Labels"], "a=1,b=2");
        assert_eq!(row["Size"], "N/A");
        assert_eq!(row["Links"], "N/A");
        let used = json!({"Name": "v", "UsageData": {"Size": 2048, "RefCount": 2}});
        assert_eq!(volume_row(&used)["Links"], "2");
        assert_eq!(volume_row(&used)["Size"], "2.048kB");
    }

    #[test]
    fn options_need_a_value_and_labels_do_not() {
        let labels = pairs("--label", &["a=1".into(), "bare".into()], true).unwrap();
        assert_eq!(labels, json!({"a": "1", "bare": ""}));
        assert!(pairs("--opt", &["type".into()], false).is_err());
    }
}
