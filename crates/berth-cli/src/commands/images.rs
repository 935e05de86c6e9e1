//! `images`, `rmi`, `tag`, `history`: docker/cli's image formatter.

use serde_json::{Map, Value};

use super::ps::parse_filters;
use crate::Ctx;
use crate::cli::{HistoryArgs, ImagesArgs, RmiArgs};
use crate::format::units::{go_time_string, human_size_precision, since};
use crate::format::{ListFormat, ellipsis, short_id};

const DEFAULT: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const DEFAULT_DIGESTS: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("VirtualSize", "VIRTUAL SIZE"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
];

pub fn images(ctx: &Ctx, args: ImagesArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let mut filters = parse_filters(&args.filter)?;
    if let Some(reference) = &args.reference {
        filters.push(("reference".to_owned(), reference.clone()));
    }
    let filters = berth_client::api::filters_json(&filters);
    let images = client.image_list(args.all, args.digests, filters)?;
    let trunc = !args.no_trunc;
    let mut rows = Vec::new();
    for image in &images {
        rows.extend(image_rows(image, args.digests, trunc));
    }
    let format_str = if args.quiet {
        Some("{{.ID}}")
    } else {
        args.format.as_deref()
    };
    let default = if args.digests {
        DEFAULT_DIGESTS
    } else {
        DEFAULT
    };
    let format = ListFormat::parse(format_str, default)?;
    print!("{}", format.render(HEADERS, &rows)?);
    Ok(0)
}

/// Docker's FamiliarName: `docker.io/library/x` → `x`, `docker.io/u/x` → `u/x`.
pub fn familiar(name: &str) -> &str {
    let name = name
        .strip_prefix("docker.io/")
        .or_else(|| name.strip_prefix("index.docker.io/"))
        .unwrap_or(name);
    name.strip_prefix("library/")
        .filter(|rest| !rest.contains('/'))
        .unwrap_or(name)
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// One row per repository:tag (and per digest with `--digests`), as
/// docker/cli's imageFormatTaggedAndDigest.
pub fn image_rows(image: &Value, show_digests: bool, trunc: bool) -> Vec<Value> {
    let tags = strings(&image["RepoTags"]);
    let digests = strings(&image["RepoDigests"]);
    let dangling = (tags.is_empty() && digests.is_empty())
        || (tags == ["<none>:<none>"] && digests.iter().all(|d| *d == "<none>@<none>"));
    if dangling {
        return vec![context(image, "<none>", "<none>", "<none>", trunc)];
    }
    // Repositories in first-seen order, each with its tags and digests.
    let mut repos: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    fn entry(repos: &mut Vec<(String, Vec<String>, Vec<String>)>, repo: &str) -> usize {
        match repos.iter().position(|(r, _, _)| r == repo) {
            Some(i) => i,
            None => {
                repos.push((repo.to_owned(), Vec::new(), Vec::new()));
                repos.len() - 1
            }
        }
    }
    for tag in &tags {
        if let Some((repo, t)) = split_tag(tag) {
            let i = entry(&mut repos, familiar(repo));
            repos[i].1.push(t.to_owned());
        }
    }
    for digest in &digests {
        if let Some((repo, d)) = digest.split_once('@') {
            let i = entry(&mut repos, familiar(repo));
            repos[i].2.push(d.to_owned());
        }
    }
    let mut rows = Vec::new();
    for (repo, tags, digests) in &repos {
        if tags.is_empty() {
            if show_digests {
                for d in digests {
                    rows.push(context(image, repo, "<none>", d, trunc));
                }
            } else {
                rows.push(context(image, repo, "<none>", "", trunc));
            }
            continue;
        }
        for tag in tags {
            if !show_digests || digests.is_empty() {
                rows.push(context(image, repo, tag, "<none>", trunc));
            } else {
                for d in digests {
                    rows.push(context(image, repo, tag, d, trunc));
                }
            }
        }
    }
    rows
}

fn split_tag(reference: &str) -> Option<(&str, &str)> {
    let slash = reference.rfind('/').map_or(0, |i| i + 1);
    let colon = reference[slash..].rfind(':')? + slash;
    Some((&reference[..colon], &reference[colon + 1..]))
}

fn context(image: &Value, repo: &str, tag: &str, digest: &str, trunc: bool) -> Value {
    let id = image["Id"].as_str().unwrap_or_default();
    let created = image["Created"].as_i64().unwrap_or(0);
    let size = image["Size"].as_i64().unwrap_or(0);
    let shared = image["SharedSize"].as_i64().unwrap_or(-1);
    let containers = image["Containers"].as_i64().unwrap_or(-1);
    let human = |n: i64| human_size_precision(n as f64, 3);
    let mut ctx = Map::new();
    let mut put = |k: &str, v: String| {
        ctx.insert(k.to_owned(), Value::String(v));
    };
    put("ID", if trunc { short_id(id) } else { id.to_owned() });
    put("Repository", repo.to_owned());
    put("Tag", tag.to_owned());
    put("Digest", digest.to_owned());
    put("CreatedSince", since(created));
    put("CreatedAt", go_time_string(created));
    put("Size", human(size));
    put("VirtualSize", human(size));
    put(
        "Containers",
        if containers < 0 {
            "N/A".to_owned()
        } else {
            containers.to_string()
        },
    );
    // docker prints these two with go-units' default 4 digits, unlike Size.
    let human4 = |n: i64| crate::format::units::human_size(n as f64);
    put(
        "SharedSize",
        if shared < 0 {
            "N/A".to_owned()
        } else {
            human4(shared)
        },
    );
    put(
        "UniqueSize",
        if shared < 0 {
            "N/A".to_owned()
        } else {
            human4(size - shared)
        },
    );
    Value::Object(ctx)
}

pub fn rmi(ctx: &Ctx, args: RmiArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let mut failed = false;
    for name in &args.images {
        match client.image_remove(name, args.force) {
            Ok(items) => {
                for item in items {
                    if let Some(u) = item["Untagged"].as_str() {
                        println!("Untagged: {u}");
                    }
                    if let Some(d) = item["Deleted"].as_str() {
                        println!("Deleted: {d}");
                    }
                }
            }
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

pub fn tag(ctx: &Ctx, source: &str, target: &str) -> anyhow::Result<i32> {
    ctx.client()?.image_tag(source, target)?;
    Ok(0)
}

const HISTORY_DEFAULT: &str =
    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const HISTORY_NON_HUMAN: &str =
    "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const HISTORY_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

pub fn history(ctx: &Ctx, args: HistoryArgs) -> anyhow::Result<i32> {
    let layers = ctx.client()?.image_history(&args.image)?;
    let trunc = !args.no_trunc;
    let rows: Vec<Value> = layers
        .iter()
        .map(|h| {
            let id = h["Id"].as_str().unwrap_or_default();
            let created = h["Created"].as_i64().unwrap_or(0);
            let size = h["Size"].as_i64().unwrap_or(0);
            let created_by = h["CreatedBy"]
                .as_str()
                .unwrap_or_default()
                .replace('\t', " ");
            let mut ctx = Map::new();
            let id = if id == "<missing>" || !trunc {
                id.to_owned()
            } else {
                short_id(id)
            };
            ctx.insert("ID".into(), Value::String(id));
            let created_since = if args.human {
                since(created)
            } else {
                rfc3339(created)
            };
            ctx.insert("CreatedSince".into(), Value::String(created_since));
            ctx.insert("CreatedAt".into(), Value::String(rfc3339(created)));
            let by = if trunc {
                ellipsis(&created_by, 45)
            } else {
                created_by
            };
            ctx.insert("CreatedBy".into(), Value::String(by));
            let size = if args.human {
                human_size_precision(size as f64, 3)
            } else {
                size.to_string()
            };
            ctx.insert("Size".into(), Value::String(size));
            ctx.insert("Comment".into(), h["Comment"].clone());
            Value::Object(ctx)
        })
        .collect();
    let format_str = if args.quiet {
        Some("{{.ID}}")
    } else {
        args.format.as_deref()
    };
    let default = if args.human {
        HISTORY_DEFAULT
    } else {
        HISTORY_NON_HUMAN
    };
    let format = ListFormat::parse(format_str, default)?;
    print!("{}", format.render(HISTORY_HEADERS, &rows)?);
    Ok(0)
}

fn rfc3339(unix: i64) -> String {
    let s = go_time_string(unix);
    format!("{}T{}Z", &s[..10], &s[11..19])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_per_tag_and_dangling() {
        let image = json!({
            "Id": "sha256:0123456789abcdef",
            "RepoTags": ["docker.io/library/busybox:1.35", "fixtures/busybox:1.35", "busybox:latest"],
            "RepoDigests": ["busybox@sha256:dd"],
            "Created": 0, "Size": 4263750, "SharedSize": -1, "Containers": -1,
        });
        let rows = image_rows(&image, false, true);
        let got: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r["Repository"].as_str().unwrap().to_owned(),
                    r["Tag"].as_str().unwrap().to_owned(),
                    r["Digest"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("busybox".to_owned(), "1.35".to_owned(), "<none>".to_owned()),
                (
                    "busybox".to_owned(),
                    "latest".to_owned(),
                    "<none>".to_owned()
                ),
                (
                    "fixtures/busybox".to_owned(),
                    "1.35".to_owned(),
                    "<none>".to_owned()
                ),
            ]
        );
        assert_eq!(rows[0]["ID"], "0123456789ab");
        assert_eq!(rows[0]["Size"], "4.26MB");
        assert_eq!(rows[0]["Containers"], "N/A");
        let dangling =
            json!({"Id": "sha256:ff", "RepoTags": [], "RepoDigests": [], "Created": 0, "Size": 0});
        let rows = image_rows(&dangling, false, true);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["Repository"], "<none>");
        let digest_only = json!({"Id": "sha256:ff", "RepoTags": [], "RepoDigests": ["a/b@sha256:1"], "Created": 0, "Size": 0});
        assert_eq!(
            image_rows(&digest_only, true, true)[0]["Digest"],
            "sha256:1"
        );
        assert_eq!(image_rows(&digest_only, false, true)[0]["Tag"], "<none>");
    }

    #[test]
    fn familiar_names() {
        assert_eq!(familiar("docker.io/library/busybox"), "busybox");
        assert_eq!(familiar("docker.io/user/app"), "user/app");
        assert_eq!(
            familiar("localhost:5000/library/x"),
            "localhost:5000/library/x"
        );
        assert_eq!(familiar("fixtures/busybox"), "fixtures/busybox");
    }
}
