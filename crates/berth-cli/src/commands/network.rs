//! `network ls/inspect/rm/prune`: docker/cli's network commands over `/networks` (create,
//! connect and disconnect are in `network_create.rs`).

use std::cmp::Ordering;

use berth_client::{Body, Query};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::inspect::{inspect_template, print_inspected};
use super::lifecycle::for_each;
use super::network_create::{ConnectArgs, CreateArgs, DisconnectArgs};
use super::ps::parse_filters;
use crate::format::{ListFormat, short_id};
use crate::{Ctx, StatusError};

/// `berth network ...`
#[derive(Subcommand, Debug)]
pub enum NetworkCmd {
    /// Create a network.
    Create(CreateArgs),
    /// Connect a container to a network.
    Connect(ConnectArgs),
    /// Disconnect a container from a network.
    Disconnect(DisconnectArgs),
    /// Display detailed information on one or more networks.
    Inspect(InspectArgs),
    /// List networks.
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove all unused networks.
    Prune(PruneArgs),
    /// Remove one or more networks.
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Provide filter values (e.g. "driver=bridge").
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate the output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display network IDs.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Verbose output for diagnostics.
    #[arg(short, long)]
    pub verbose: bool,
    #[arg(required = true)]
    pub networks: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Do not error if the network does not exist.
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true)]
    pub networks: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>").
    #[arg(long)]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

const DEFAULT: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv4", "IPV4"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED"),
];
const PRUNE_WARNING: &str =
    "WARNING! This will remove all custom networks not used by at least one container.";

pub fn dispatch(ctx: &Ctx, command: NetworkCmd) -> anyhow::Result<i32> {
    match command {
        NetworkCmd::Create(args) => super::network_create::create(ctx, args),
        NetworkCmd::Connect(args) => super::network_create::connect(ctx, args),
        NetworkCmd::Disconnect(args) => super::network_create::disconnect(ctx, args),
        NetworkCmd::Inspect(args) => inspect(ctx, args),
        NetworkCmd::Ls(args) => ls(ctx, args),
        NetworkCmd::Prune(args) => prune(ctx, args),
        NetworkCmd::Rm(args) => rm(ctx, args),
    }
}

fn ls(ctx: &Ctx, args: LsArgs) -> anyhow::Result<i32> {
    let filters = berth_client::api::filters_json(&parse_filters(&args.filter)?);
    let query = Query::new().opt("filters", filters);
    let mut networks: Vec<Value> = ctx.client()?.get_json("/networks", &query)?;
    networks.sort_by(|a, b| natural_cmp(text(&a["Name"]), text(&b["Name"])));
    let rows: Vec<Value> = networks
        .iter()
        .map(|n| network_row(n, !args.no_trunc))
        .collect();
    let format = if args.quiet {
        Some("{{.ID}}")
    } else {
        args.format.as_deref()
    };
    print!(
        "{}",
        ListFormat::parse(format, DEFAULT)?.render(HEADERS, &rows)?
    );
    Ok(0)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The fields docker/cli's network formatter offers.
pub fn network_row(network: &Value, trunc: bool) -> Value {
    let id = text(&network["Id"]);
    let mut labels: Vec<String> = network["Labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", text(v)))
        .collect();
    labels.sort();
    json!({
        "ID": if trunc { short_id(id) } else { id.to_owned() },
        "Name": network["Name"],
        "Driver": network["Driver"],
        "Scope": network["Scope"],
        // Engines before API 1.47 do not report EnableIPv4: IPv4 is always on there.
        "IPv4": network["EnableIPv4"].as_bool().unwrap_or(true).to_string(),
        "IPv6": network["EnableIPv6"].as_bool().unwrap_or(false).to_string(),
        "Internal": network["Internal"].as_bool().unwrap_or(false).to_string(),
        "Labels": labels.join(","),
        "CreatedAt": go_time_text(text(&network["Created"])),
    })
}

/// Go's `time.Time.String()` for an RFC 3339 time: `2006-01-02 15:04:05.999999999 -0700 MST`
/// (no zone name is known for a numeric offset, so Go repeats the offset). Anything else is
/// shown as given.
pub fn go_time_text(rfc3339: &str) -> String {
    let Some((date, rest)) = rfc3339.split_once('T') else {
        return rfc3339.to_owned();
    };
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let clock = match clock.split_once('.') {
        Some((whole, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                whole.to_owned()
            } else {
                format!("{whole}.{frac}")
            }
        }
        None => clock.to_owned(),
    };
    let zone = match zone {
        "" | "Z" | "z" => "+0000 UTC".to_owned(),
        offset => {
            let numeric = offset.replace(':', "");
            format!("{numeric} {numeric}")
        }
    };
    format!("{date} {clock} {zone}")
}

/// Go's `sortorder.NaturalLess`: runs of digits compare by value, the rest byte by byte.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (digits(a), digits(b));
                let trim = |s: &[u8]| -> Vec<u8> {
                    s.iter().copied().skip_while(|c| *c == b'0').collect()
                };
                let (va, vb) = (trim(&a[..na]), trim(&b[..nb]));
                let order = va.len().cmp(&vb.len()).then_with(|| va.cmp(&vb));
                if order != Ordering::Equal {
                    return order;
                }
                // Equal values: fewer leading zeros first.
                if na != nb {
                    return na.cmp(&nb);
                }
                a = &a[na..];
                b = &b[nb..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn inspect(ctx: &Ctx, args: InspectArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let template = inspect_template(args.format.as_deref())?;
    let query = Query::new().flag("verbose", args.verbose);
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in &args.networks {
        let path = format!("/networks/{name}");
        match client.call("GET", &path, &query, Body::Empty) {
            Ok(response) => found.push(response.bytes()?),
            // Docker prints the daemon's words for a missing network.
            Err(e) if e.status() == Some(404) => missing.push(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    print_inspected(&found, &missing, template.as_ref())
}

fn rm(ctx: &Ctx, args: RmArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let code = for_each(&args.networks, |name| {
        let path = format!("/networks/{name}");
        match client.call("DELETE", &path, &Query::new(), Body::Empty) {
            Ok(_) => Ok(Some(name.to_owned())),
            Err(e) if args.force && e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    })?;
    if code != 0 {
        // docker/cli's `network rm` ends a partial failure with this line.
        return Err(StatusError {
            message: "exit status 1".to_owned(),
            code,
        }
        .into());
    }
    Ok(0)
}

fn prune(ctx: &Ctx, args: PruneArgs) -> anyhow::Result<i32> {
    if !args.force && !confirm(PRUNE_WARNING)? {
        return Ok(0);
    }
    let filters = berth_client::api::filters_json(&parse_filters(&args.filter)?);
    let query = Query::new().opt("filters", filters);
    let report: Value = ctx
        .client()?
        .call("POST", "/networks/prune", &query, Body::Empty)?
        .json()?;
    let deleted: Vec<&str> = report["NetworksDeleted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !deleted.is_empty() {
        println!("Deleted Networks:");
        for name in deleted {
            println!("{name}");
        }
        // docker prints its report with Println: one more empty line.
        println!();
    }
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
    fn natural_order_compares_numbers_by_value() {
        let mut names = vec!["net10", "net2", "bridge", "net1", "host", "none", "a"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            ["a", "bridge", "host", "net1", "net2", "net10", "none"]
        );
        assert_eq!(natural_cmp("x01", "x1"), Ordering::Greater);
    }

    #[test]
    fn creation_times_print_as_go_does() {
        assert_eq!(
            go_time_text("2026-11-23T16:29:59.148914100Z"),
            "2026-11-23 16:29:59.1489141 +0000 UTC"
        );
        assert_eq!(
            go_time_text("2026-11-23T16:29:59.000Z"),
            "2026-11-23 16:29:59 +0000 UTC"
        );
        assert_eq!(
            go_time_text("2026-11-23T17:29:59+01:00"),
            "2026-11-23 17:29:59 +0100 +0100"
        );
        assert_eq!(go_time_text("yesterday"), "yesterday");
    }

    #[test]
    fn rows_truncate_ids_and_sort_labels() {
        let network = json!({"Id": "0123456789abcdef0123", "Name": "n", "Driver": "bridge",
            "Scope": "local", "EnableIPv6": true, "Internal": false,
            "Labels": {"b": "2", "a": "1"}, "Created": "2026-01-01T00:00:00Z"});
        let row = network_row(&network, true);
        assert_eq!(row["ID"], "0123456789ab");
        assert_eq!(row["IPv6"], "true");
        assert_eq!(row["IPv4"], "true");
        assert_eq!(row["Labels"], "a=1,b=2");
        assert_eq!(network_row(&network, false)["ID"], "0123456789abcdef0123");
    }
}
