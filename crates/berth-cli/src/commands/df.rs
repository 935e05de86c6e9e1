//! `system df`: docker's disk-usage summary and its verbose listing.

use serde_json::{Value, json};

use super::images::familiar;
use super::ps::container_context;
use crate::Ctx;
use crate::cli::DfArgs;
use crate::format::units::{human_size, human_size_precision, since};
use crate::format::{ListFormat, TemplateError, short_id};

const DF_DEFAULT: &str =
    "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const DF_HEADERS: &[(&str, &str)] = &[
    ("Type", "TYPE"),
    ("TotalCount", "TOTAL"),
    ("Active", "ACTIVE"),
    ("Size", "SIZE"),
    ("Reclaimable", "RECLAIMABLE"),
];

fn reclaimable(reclaim: i64, total: i64) -> String {
    if total > 0 {
        format!(
            "{} ({}%)",
            human_size(reclaim as f64),
            reclaim * 100 / total
        )
    } else {
        human_size(reclaim as f64)
    }
}

/// The rows of `system df`, with docker's arithmetic.
pub fn df_rows(df: &Value) -> Vec<Value> {
    let list = |k: &str| df[k].as_array().cloned().unwrap_or_default();
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    let row = |kind: &str, total: usize, active: usize, size: i64, reclaim: String| {
        json!({"Type": kind, "TotalCount": total.to_string(), "Active": active.to_string(),
               "Size": human_size(size as f64), "Reclaimable": reclaim})
    };
    let images = list("Images");
    let layers = int(&df["LayersSize"]);
    let active_images: Vec<&Value> = images
        .iter()
        .filter(|i| int(&i["Containers"]) > 0)
        .collect();
    let used: i64 = active_images
        .iter()
        .filter(|i| int(&i["Size"]) != -1 && int(&i["SharedSize"]) != -1)
        .map(|i| int(&i["Size"]) - int(&i["SharedSize"]))
        .sum();
    let containers = list("Containers");
    let running = |c: &Value| c["State"] == "running";
    let c_size: i64 = containers.iter().map(|c| int(&c["SizeRw"])).sum();
    let c_reclaim: i64 = containers
        .iter()
        .filter(|c| !running(c))
        .map(|c| int(&c["SizeRw"]))
        .sum();
    let volumes = list("Volumes");
    let v_used = |v: &Value| int(&v["UsageData"]["RefCount"]) > 0;
    let v_size: i64 = volumes
        .iter()
        .map(|v| int(&v["UsageData"]["Size"]).max(0))
        .sum();
    let v_reclaim: i64 = volumes
        .iter()
        .filter(|v| !v_used(v))
        .map(|v| int(&v["UsageData"]["Size"]).max(0))
        .sum();
    let cache = list("BuildCache");
    let b_size: i64 = cache
        .iter()
        .filter(|b| b["Shared"] != true)
        .map(|b| int(&b["Size"]))
        .sum();
    let b_reclaim: i64 = cache
        .iter()
        .filter(|b| b["InUse"] != true && b["Shared"] != true)
        .map(|b| int(&b["Size"]))
        .sum();
    vec![
        row(
            "Images",
            images.len(),
            active_images.len(),
            layers,
            reclaimable(layers - used, layers),
        ),
        row(
            "Containers",
            containers.len(),
            containers.iter().filter(|c| running(c)).count(),
            c_size,
            reclaimable(c_reclaim, c_size),
        ),
        row(
            "Local Volumes",
            volumes.len(),
            volumes.iter().filter(|v| v_used(v)).count(),
            v_size,
            reclaimable(v_reclaim, v_size),
        ),
        row(
            "Build Cache",
            cache.len(),
            cache.iter().filter(|b| b["InUse"] == true).count(),
            b_size,
            human_size(b_reclaim as f64),
        ),
    ]
}

pub fn df(ctx: &Ctx, args: DfArgs) -> anyhow::Result<i32> {
    let df = ctx.client()?.system_df()?;
    if args.verbose {
        print!("{}", verbose(&df)?);
        return Ok(0);
    }
    let format = ListFormat::parse(args.format.as_deref(), DF_DEFAULT)?;
    print!("{}", format.render(DF_HEADERS, &df_rows(&df))?);
    Ok(0)
}

const IMAGES: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
const CONTAINERS: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
const VOLUMES: &str = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
const CACHE: &str = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";
const IMAGE_HEADERS: &[(&str, &str)] = &[
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("ID", "IMAGE ID"),
    ("CreatedSince", "CREATED"),
    ("Size", "SIZE"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("Containers", "CONTAINERS"),
];
const CONTAINER_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Size", "SIZE"),
    ("RunningFor", "CREATED"),
    ("Status", "STATUS"),
    ("Names", "NAMES"),
];
const VOLUME_HEADERS: &[(&str, &str)] = &[
    ("Name", "VOLUME NAME"),
    ("Links", "LINKS"),
    ("Size", "SIZE"),
];
const CACHE_HEADERS: &[(&str, &str)] = &[
    ("ID", "CACHE ID"),
    ("CacheType", "CACHE TYPE"),
    ("Size", "SIZE"),
    ("CreatedSince", "CREATED"),
    ("LastUsedSince", "LAST USED"),
    ("UsageCount", "USAGE"),
    ("Shared", "SHARED"),
];

/// One row per image, named by its first tag (as docker's df does).
fn image_row(i: &Value) -> Value {
    let first = i["RepoTags"][0].as_str().filter(|t| *t != "<none>:<none>");
    let (repo, tag) = first
        .and_then(|t| {
            let slash = t.rfind('/').map_or(0, |s| s + 1);
            let colon = t[slash..].rfind(':')? + slash;
            Some((familiar(&t[..colon]).to_owned(), t[colon + 1..].to_owned()))
        })
        .unwrap_or_else(|| ("<none>".to_owned(), "<none>".to_owned()));
    let size = i["Size"].as_i64().unwrap_or(0);
    let shared = i["SharedSize"].as_i64().unwrap_or(-1);
    let or_na = |v: i64| {
        if shared < 0 {
            "N/A".to_owned()
        } else {
            human_size(v as f64)
        }
    };
    json!({
        "Repository": repo, "Tag": tag,
        "ID": short_id(i["Id"].as_str().unwrap_or_default()),
        "CreatedSince": since(i["Created"].as_i64().unwrap_or(0)),
        "Size": human_size_precision(size as f64, 3),
        "SharedSize": or_na(shared),
        "UniqueSize": or_na(size - shared),
        "Containers": i["Containers"].as_i64().unwrap_or(0).to_string(),
    })
}

fn volume_row(v: &Value) -> Value {
    let size = v["UsageData"]["Size"].as_i64().unwrap_or(-1);
    json!({
        "Name": v["Name"],
        "Links": v["UsageData"]["RefCount"].as_i64().unwrap_or(0).to_string(),
        "Size": if size < 0 { "N/A".to_owned() } else { human_size(size as f64) },
    })
}

fn cache_row(b: &Value) -> Value {
    let time = |k: &str| {
        b[k].as_str()
            .and_then(crate::format::units::parse_rfc3339)
            .map(since)
            .unwrap_or_default()
    };
    // docker marks a record in use with a star after its (truncated) ID.
    let mut id: String = b["ID"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .take(12)
        .collect();
    if b["InUse"] == true {
        id.push('*');
    }
    json!({
        "ID": id,
        "CacheType": b["Type"],
        "Size": human_size_precision(b["Size"].as_f64().unwrap_or(0.0), 3),
        "CreatedSince": time("CreatedAt"),
        "LastUsedSince": time("LastUsedAt"),
        "UsageCount": b["UsageCount"].as_i64().unwrap_or(0).to_string(),
        "Shared": b["Shared"].as_bool().unwrap_or(false).to_string(),
    })
}

/// Least recently used first, records never used before the others, as docker lists them.
fn by_last_use(mut cache: Vec<Value>) -> Vec<Value> {
    let last_used = |b: &Value| b["LastUsedAt"].as_str().and_then(instant);
    // A stable sort keeps the daemon's order among equals.
    cache.sort_by_key(|b| last_used(b).map_or((0, (0, 0)), |t| (1, t)));
    cache
}

/// An RFC 3339 time as (Unix seconds, nanoseconds), to order times in the same second.
fn instant(text: &str) -> Option<(i64, u32)> {
    let secs = crate::format::units::parse_rfc3339(text)?;
    let nanos = text
        .get(19..)
        .and_then(|rest| rest.strip_prefix('.'))
        .map(|frac| {
            let digits: String = frac
                .chars()
                .take_while(char::is_ascii_digit)
                .take(9)
                .collect();
            format!("{digits:0<9}").parse().unwrap_or(0)
        })
        .unwrap_or(0);
    Some((secs, nanos))
}

/// `system df -v`, section by section as docker prints it.
fn verbose(df: &Value) -> Result<String, TemplateError> {
    let rows = |k: &str, f: &dyn Fn(&Value) -> Value| -> Vec<Value> {
        df[k].as_array().into_iter().flatten().map(f).collect()
    };
    let table = |format: &str, headers: &[(&str, &str)], rows: &[Value]| {
        ListFormat::parse(Some(format), "")?.render(headers, rows)
    };
    let mut out = String::from("Images space usage:\n\n");
    out.push_str(&table(IMAGES, IMAGE_HEADERS, &rows("Images", &image_row))?);
    out.push_str("\nContainers space usage:\n\n");
    // Here SIZE is the writable layer alone.
    let containers = rows("Containers", &|c| {
        let mut row = container_context(c, true);
        let rw = human_size_precision(c["SizeRw"].as_i64().unwrap_or(0) as f64, 3);
        row["Size"] = Value::String(rw);
        row
    });
    out.push_str(&table(CONTAINERS, CONTAINER_HEADERS, &containers)?);
    out.push_str("\nLocal Volumes space usage:\n\n");
    out.push_str(&table(
        VOLUMES,
        VOLUME_HEADERS,
        &rows("Volumes", &volume_row),
    )?);
    // docker adds up the records itself (what images share is not counted) rather than
    // trusting the daemon's deprecated `BuilderSize`.
    let cache = by_last_use(df["BuildCache"].as_array().cloned().unwrap_or_default());
    let builder: i64 = cache
        .iter()
        .filter(|b| b["Shared"] != true)
        .map(|b| b["Size"].as_i64().unwrap_or(0))
        .sum();
    out.push_str(&format!(
        "\nBuild cache usage: {}\n\n",
        human_size(builder as f64)
    ));
    let cache_rows: Vec<Value> = cache.iter().map(cache_row).collect();
    out.push_str(&table(CACHE, CACHE_HEADERS, &cache_rows)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_arithmetic() {
        let df = json!({
            "LayersSize": 1000,
            "Images": [{"Containers": 1, "Size": 600, "SharedSize": 0}, {"Containers": 0, "Size": 400, "SharedSize": 0}],
            "Containers": [{"State": "running", "SizeRw": 10}, {"State": "exited", "SizeRw": 30}],
            "Volumes": [],
            "BuildCache": [],
        });
        let rows = df_rows(&df);
        assert_eq!(rows[0]["Reclaimable"], "400B (40%)");
        assert_eq!(rows[0]["Active"], "1");
        assert_eq!(rows[1]["Size"], "40B");
        assert_eq!(rows[1]["Reclaimable"], "30B (75%)");
        assert_eq!(rows[2]["Reclaimable"], "0B");
    }

    #[test]
    fn build_cache_is_listed_least_recently_used_first() {
        let cache = vec![
            json!({"ID": "late", "LastUsedAt": "2024-01-01T00:00:01.5Z"}),
            json!({"ID": "early", "LastUsedAt": "2024-01-01T00:00:01.25Z"}),
            json!({"ID": "never"}),
        ];
        let ids: Vec<Value> = by_last_use(cache)
            .into_iter()
            .map(|b| b["ID"].clone())
            .collect();
        assert_eq!(ids, [json!("never"), json!("early"), json!("late")]);
        assert_eq!(
            instant("2024-01-01T00:00:00.000000042Z"),
            Some((1_704_067_200, 42))
        );
    }
}
