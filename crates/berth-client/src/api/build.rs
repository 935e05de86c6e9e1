//! POST /build (the classic builder API): a context tar in, a JSON progress stream out.

use std::io::Read;

use crate::Client;
use crate::error::Error;
use crate::http::{Body, BodyReader};
use crate::query::Query;

/// What `docker build` puts in the query string.
#[derive(Debug, Clone, Default)]
pub struct BuildQuery {
    pub tags: Vec<String>,
    /// Path of the Dockerfile inside the context.
    pub dockerfile: Option<String>,
    pub build_args: Vec<(String, String)>,
    pub target: Option<String>,
    pub no_cache: bool,
    pub quiet: bool,
    /// `--network` for RUN steps (`networkmode`).
    pub network: Option<String>,
    /// `--label` for the image (`labels`, a JSON object).
    pub labels: Vec<(String, String)>,
    /// `--pull`: always fetch base images.
    pub pull: bool,
    /// `--no-cache-filter`: stages whose steps run again (`nocachefilter`, a JSON array).
    pub no_cache_filter: Vec<String>,
    /// `X-Registry-Config`: base64url JSON of registry → auth config, for base-image pulls.
    pub registry_config: Option<String>,
    /// `--compression` of the layers (`gzip` or `zstd`; Berth's own parameter, the classic
    /// API has none and the daemon's default is gzip).
    pub compression: Option<String>,
    /// Ask for Berth's structured progress events (`berthprogress=1`: BuildKit-style
    /// vertices as `{"id":"berth.build.progress","aux":…}` messages instead of step lines).
    pub progress: bool,
    /// `--build-context` NAME → VALUE (`buildcontexts`, a JSON object; Berth's own): VALUE is
    /// `docker-image://REF` or `context:<dir>`, a directory sent in the context tar under
    /// `.berth-contexts/<dir>/`.
    pub build_contexts: Vec<(String, String)>,
}

impl Client {
    pub fn image_build(
        &self,
        context: Box<dyn Read>,
        opts: &BuildQuery,
    ) -> Result<BodyReader, Error> {
        let mut q = Query::new();
        for tag in &opts.tags {
            q = q.add("t", tag);
        }
        q = q
            .opt("dockerfile", opts.dockerfile.as_deref())
            .opt("target", opts.target.as_deref())
            .opt("networkmode", opts.network.as_deref())
            .opt("compression", opts.compression.as_deref())
            .flag("nocache", opts.no_cache)
            .flag("q", opts.quiet)
            .flag("pull", opts.pull)
            .flag("berthprogress", opts.progress);
        if !opts.labels.is_empty() {
            q = q.add("labels", string_map(&opts.labels));
        }
        if !opts.no_cache_filter.is_empty() {
            q = q.add("nocachefilter", serde_json::json!(opts.no_cache_filter));
        }
        if !opts.build_contexts.is_empty() {
            q = q.add("buildcontexts", string_map(&opts.build_contexts));
        }
        if !opts.build_args.is_empty() {
            q = q.add("buildargs", string_map(&opts.build_args));
        }
        let headers: Vec<(&str, &str)> = opts
            .registry_config
            .as_deref()
            .map(|c| vec![("X-Registry-Config", c)])
            .unwrap_or_default();
        Ok(self
            .send(
                "POST",
                "/build",
                &q,
                &headers,
                Body::Stream(context, "application/x-tar"),
            )?
            .error_for_status()?
            .into_reader())
    }

    /// `POST /build/prune`: `{"CachesDeleted": [...], "SpaceReclaimed": n}`.
    pub fn build_prune(
        &self,
        all: bool,
        filters: Option<String>,
    ) -> Result<serde_json::Value, Error> {
        let q = Query::new().flag("all", all).opt("filters", filters);
        self.call("POST", "/build/prune", &q, Body::Empty)?.json()
    }
}

/// `KEY=VALUE` pairs as the JSON object the build API takes them in (`labels`, `buildargs`,
/// `buildcontexts`).
fn string_map(pairs: &[(String, String)]) -> serde_json::Value {
    serde_json::Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}
