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
            .flag("nocache", opts.no_cache)
            .flag("q", opts.quiet);
        if !opts.build_args.is_empty() {
            let args: serde_json::Map<String, serde_json::Value> = opts
                .build_args
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            q = q.add("buildargs", serde_json::Value::Object(args));
        }
        Ok(self
            .call(
                "POST",
                "/build",
                &q,
                Body::Stream(context, "application/x-tar"),
            )?
            .into_reader())
    }
}
