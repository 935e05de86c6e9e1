//! `ps`: docker/cli's container formatter (ContainerContext) over GET /containers/json.

use serde_json::{Map, Value};

use crate::Ctx;
use crate::cli::PsArgs;
use crate::format::units::{go_time_string, human_size_precision, since};
use crate::format::{ListFormat, ellipsis, short_id};

const DEFAULT: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
];

pub fn parse_filters(filters: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    filters
        .iter()
        .map(|f| match f.split_once('=') {
            Some((k, v)) => Ok((k.trim().to_ascii_lowercase(), v.to_owned())),
            None => anyhow::bail!("bad format of filter (expected name=value)"),
        })
        .collect()
}

pub fn ps(ctx: &Ctx, args: PsArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let filters = berth_client::api::filters_json(&parse_filters(&args.filter)?);
    let limit = if args.latest { Some(1) } else { args.last };
    let all = args.all || limit.is_some();
    let format_str = args.format.as_deref();
    // docker asks for sizes when the format shows them.
    let size = args.size || format_str.is_some_and(|f| f.contains(".Size"));
    let containers = client.container_list(all, size, limit, filters)?;
    if args.quiet {
        for c in &containers {
            let id = c["Id"].as_str().unwrap_or_default();
            println!(
                "{}",
                if args.no_trunc {
                    id.to_owned()
                } else {
                    short_id(id)
                }
            );
        }
        return Ok(0);
    }
    let default = if args.size {
        format!("{DEFAULT}\t{{{{.Size}}}}")
    } else {
        DEFAULT.to_owned()
    };
    let format = ListFormat::parse(format_str, &default)?;
    let rows: Vec<Value> = containers
        .iter()
        .map(|c| container_context(c, !args.no_trunc))
        .collect();
    print!("{}", format.render(HEADERS, &rows)?);
    Ok(0)
}

/// The fields docker's `--format` sees for one container.
pub fn container_context(c: &Value, trunc: bool) -> Value {
    let text = |key: &str| c[key].as_str().unwrap_or_default().to_owned();
    let id = text("Id");
    let mut command = text("Command");
    if trunc {
        command = ellipsis(&command, 20);
    }
    let names: Vec<String> = c["Names"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|n| n.trim_start_matches('/').to_owned())
        .collect();
    let names = if trunc {
        // Links show up as other/name; the container's own name has no slash.
        names
            .iter()
            .find(|n| !n.contains('/'))
            .cloned()
            .unwrap_or_default()
    } else {
        names.join(",")
    };
    let created = c["Created"].as_i64().unwrap_or(0);
    let mut labels: Vec<String> = c["Labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    labels.sort();
    let mut networks: Vec<String> = c["NetworkSettings"]["Networks"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    networks.sort();
    let mounts: Vec<String> = c["Mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let name = m["Name"].as_str().filter(|n| !n.is_empty());
            let name = name.or(m["Source"].as_str()).unwrap_or_default();
            if trunc {
                ellipsis(name, 15)
            } else {
                name.to_owned()
            }
        })
        .collect();
    let local_volumes = c["Mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["Driver"] == "local")
        .count();
    let mut ctx = Map::new();
    let mut put = |k: &str, v: String| {
        ctx.insert(k.to_owned(), Value::String(v));
    };
    put("ID", if trunc { short_id(&id) } else { id });
    put("Image", image_name(c, trunc));
    put("Command", quote(&command));
    put("CreatedAt", go_time_string(created));
    put("RunningFor", since(created));
    put("Ports", ports(&c["Ports"]));
    put("State", text("State"));
    put("Status", text("Status"));
    put("Size", size(c));
    put("Names", names);
    put("Labels", labels.join(","));
    put("Mounts", mounts.join(","));
    put("Networks", networks.join(","));
    put("LocalVolumes", local_volumes.to_string());
    Value::Object(ctx)
}

fn image_name(c: &Value, trunc: bool) -> String {
    let image = c["Image"].as_str().unwrap_or_default();
    if image.is_empty() {
        return "<no image>".to_owned();
    }
    if trunc {
        let image_id = c["ImageID"].as_str().unwrap_or_default();
        if short_id(image_id) == short_id(image) {
            return short_id(image);
        }
        if let Some((name, _digest)) = image.split_once('@') {
            return name.to_owned();
        }
    }
    image.to_owned()
}

/// Go's strconv.Quote for the command column.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// docker's ContainerContext.Size: the writable layer, plus the virtual size when known.
fn size(c: &Value) -> String {
    let rw = human_size_precision(c["SizeRw"].as_i64().unwrap_or(0) as f64, 3);
    match c["SizeRootFs"].as_i64().filter(|r| *r > 0) {
        Some(root) => format!("{rw} (virtual {})", human_size_precision(root as f64, 3)),
        None => rw,
    }
}

/// docker's DisplayablePorts, without the range grouping: `ip:public->private/proto`.
pub fn ports(ports: &Value) -> String {
    let mut items: Vec<(String, u64)> = ports
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let private = p["PrivatePort"].as_u64().unwrap_or(0);
            let proto = p["Type"].as_str().unwrap_or("tcp");
            let text = match (
                p["IP"].as_str().filter(|ip| !ip.is_empty()),
                p["PublicPort"].as_u64(),
            ) {
                (Some(ip), Some(public)) => {
                    let ip = if ip.contains(':') {
                        format!("[{ip}]")
                    } else {
                        ip.to_owned()
                    };
                    format!("{ip}:{public}->{private}/{proto}")
                }
                _ => format!("{private}/{proto}"),
            };
            (text, private)
        })
        .collect();
    items.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    items.dedup();
    items
        .into_iter()
        .map(|(t, _)| t)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn context_fields_follow_docker() {
        let c = json!({
            "Id": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "Names": ["/web"],
            "Image": "busybox:1.35",
            "ImageID": "sha256:aaaa",
            "Command": "sleep 1000000000000000000",
            "Created": 0,
            "State": "running",
            "Status": "Up 3 seconds",
            "Ports": [{"PrivatePort": 80, "Type": "tcp"}, {"IP": "0.0.0.0", "PrivatePort": 53, "PublicPort": 5353, "Type": "udp"}],
            "Labels": {"b": "2", "a": "1"},
            "SizeRw": 0,
            "SizeRootFs": 4_263_750,
            "NetworkSettings": {"Networks": {"none": {}}},
        });
        let ctx = container_context(&c, true);
        assert_eq!(ctx["ID"], "0123456789ab");
        assert_eq!(ctx["Command"], "\"sleep 1000000000000…\"");
        assert_eq!(ctx["Names"], "web");
        assert_eq!(ctx["Labels"], "a=1,b=2");
        assert_eq!(ctx["Ports"], "0.0.0.0:5353->53/udp, 80/tcp");
        assert_eq!(ctx["Size"], "0B (virtual 4.26MB)");
        assert_eq!(ctx["Networks"], "none");
        assert_eq!(ctx["CreatedAt"], "1970-01-01 00:00:00 +0000 UTC");
        let full = container_context(&c, false);
        assert_eq!(full["ID"].as_str().unwrap().len(), 64);
    }

    #[test]
    fn image_column() {
        let c = json!({"Image": "sha256:0123456789abcdef", "ImageID": "sha256:0123456789abcdef"});
        assert_eq!(image_name(&c, true), "0123456789ab");
        let c = json!({"Image": "busybox@sha256:00", "ImageID": "sha256:ff"});
        assert_eq!(image_name(&c, true), "busybox");
        assert_eq!(image_name(&json!({}), true), "<no image>");
    }
}
