//! /containers/...

use serde_json::Value;

use crate::http::{Body, BodyReader, Response};
use crate::models::{ContainerCreateBody, ContainerCreateResponse, ContainerWaitResponse};
use crate::{Client, Error, Hijacked, Query};

/// Options of GET /containers/{id}/logs.
#[derive(Debug, Default, Clone)]
pub struct LogsOptions {
    pub follow: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub timestamps: bool,
    pub tail: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

/// Options of POST /containers/{id}/attach.
#[derive(Debug, Default, Clone)]
pub struct AttachOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub detach_keys: Option<String>,
}

/// A wait request already sent; its answer comes when the container exits.
#[derive(Debug)]
pub struct PendingWait(Response);

impl PendingWait {
    pub fn finish(self) -> Result<ContainerWaitResponse, Error> {
        self.0.error_for_status()?.json()
    }
}

fn path(id: &str, rest: &str) -> String {
    format!("/containers/{id}{rest}")
}

impl Client {
    pub fn container_list(
        &self,
        all: bool,
        size: bool,
        limit: Option<i64>,
        filters: Option<String>,
    ) -> Result<Vec<Value>, Error> {
        let q = Query::new()
            .flag("all", all)
            .flag("size", size)
            .opt("limit", limit)
            .opt("filters", filters);
        self.get_json("/containers/json", &q)
    }

    pub fn container_create(
        &self,
        name: Option<&str>,
        body: &ContainerCreateBody,
    ) -> Result<ContainerCreateResponse, Error> {
        let q = Query::new().opt("name", name);
        self.call("POST", "/containers/create", &q, Body::json(body)?)?
            .json()
    }

    /// The raw JSON of GET /containers/{id}/json (kept raw so `inspect` prints it as sent).
    pub fn container_inspect_raw(&self, id: &str, size: bool) -> Result<Vec<u8>, Error> {
        let q = Query::new().flag("size", size);
        self.call("GET", &path(id, "/json"), &q, Body::Empty)?
            .bytes()
    }

    pub fn container_inspect(&self, id: &str) -> Result<Value, Error> {
        self.get_json(&path(id, "/json"), &Query::new())
    }

    fn container_post(&self, id: &str, action: &str, q: Query) -> Result<(), Error> {
        self.call("POST", &path(id, action), &q, Body::Empty)?
            .bytes()
            .map(drop)
    }

    pub fn container_start(&self, id: &str, detach_keys: Option<&str>) -> Result<(), Error> {
        self.container_post(id, "/start", Query::new().opt("detachKeys", detach_keys))
    }

    pub fn container_stop(&self, id: &str, timeout: Option<i64>) -> Result<(), Error> {
        self.container_post(id, "/stop", Query::new().opt("t", timeout))
    }

    pub fn container_restart(&self, id: &str, timeout: Option<i64>) -> Result<(), Error> {
        self.container_post(id, "/restart", Query::new().opt("t", timeout))
    }

    pub fn container_kill(&self, id: &str, signal: Option<&str>) -> Result<(), Error> {
        self.container_post(id, "/kill", Query::new().opt("signal", signal))
    }

    pub fn container_pause(&self, id: &str) -> Result<(), Error> {
        self.container_post(id, "/pause", Query::new())
    }

    pub fn container_unpause(&self, id: &str) -> Result<(), Error> {
        self.container_post(id, "/unpause", Query::new())
    }

    pub fn container_rename(&self, id: &str, name: &str) -> Result<(), Error> {
        self.container_post(id, "/rename", Query::new().add("name", name))
    }

    pub fn container_resize(&self, id: &str, height: u16, width: u16) -> Result<(), Error> {
        self.container_post(id, "/resize", Query::new().add("h", height).add("w", width))
    }

    pub fn container_remove(&self, id: &str, force: bool, volumes: bool) -> Result<(), Error> {
        let q = Query::new().flag("force", force).flag("v", volumes);
        self.call("DELETE", &path(id, ""), &q, Body::Empty)?
            .bytes()
            .map(drop)
    }

    /// Sends POST /containers/{id}/wait now; read the answer later with [`PendingWait::finish`].
    pub fn container_wait(&self, id: &str, condition: &str) -> Result<PendingWait, Error> {
        let q = Query::new().add("condition", condition);
        let response = self.send("POST", &path(id, "/wait"), &q, &[], Body::Empty)?;
        Ok(PendingWait(response))
    }

    pub fn container_attach(&self, id: &str, opts: &AttachOptions) -> Result<Hijacked, Error> {
        let q = Query::new()
            .add("stream", 1)
            .flag("stdin", opts.stdin)
            .flag("stdout", opts.stdout)
            .flag("stderr", opts.stderr)
            .opt("detachKeys", opts.detach_keys.as_deref());
        self.hijack(&path(id, "/attach"), &q, Body::Empty)
    }

    pub fn container_logs(&self, id: &str, opts: &LogsOptions) -> Result<BodyReader, Error> {
        let q = Query::new()
            .flag("follow", opts.follow)
            .flag("stdout", opts.stdout)
            .flag("stderr", opts.stderr)
            .flag("timestamps", opts.timestamps)
            .opt("tail", opts.tail.as_deref())
            .opt("since", opts.since.as_deref())
            .opt("until", opts.until.as_deref());
        Ok(self
            .call("GET", &path(id, "/logs"), &q, Body::Empty)?
            .into_reader())
    }

    pub fn container_top(&self, id: &str, ps_args: Option<&str>) -> Result<Value, Error> {
        self.get_json(&path(id, "/top"), &Query::new().opt("ps_args", ps_args))
    }

    pub fn container_changes(&self, id: &str) -> Result<Option<Vec<Value>>, Error> {
        self.get_json(&path(id, "/changes"), &Query::new())
    }

    /// GET /containers/{id}/stats: a stream of stats objects (one when `stream` is false).
    pub fn container_stats(&self, id: &str, stream: bool) -> Result<BodyReader, Error> {
        let q = Query::new().add("stream", stream);
        Ok(self
            .call("GET", &path(id, "/stats"), &q, Body::Empty)?
            .into_reader())
    }

    pub fn container_export(&self, id: &str) -> Result<BodyReader, Error> {
        Ok(self
            .call("GET", &path(id, "/export"), &Query::new(), Body::Empty)?
            .into_reader())
    }

    /// GET /containers/{id}/archive: a tar of `src`, plus the base64 stat header.
    pub fn container_archive_get(
        &self,
        id: &str,
        src: &str,
    ) -> Result<(Option<String>, BodyReader), Error> {
        let q = Query::new().add("path", src);
        let response = self.call("GET", &path(id, "/archive"), &q, Body::Empty)?;
        let stat = response
            .header("x-docker-container-path-stat")
            .map(str::to_owned);
        Ok((stat, response.into_reader()))
    }

    /// HEAD /containers/{id}/archive: the stat of `path` (decoded), or `None` when absent.
    pub fn container_stat_path(&self, id: &str, path_in: &str) -> Result<Option<Value>, Error> {
        let q = Query::new().add("path", path_in);
        let response = self.send("HEAD", &path(id, "/archive"), &q, &[], Body::Empty)?;
        if response.status == 404 {
            return Ok(None);
        }
        let response = response.error_for_status()?;
        Ok(response
            .header("x-docker-container-path-stat")
            .and_then(decode_stat))
    }

    /// PUT /containers/{id}/archive: extract a tar into directory `dest`.
    pub fn container_archive_put(&self, id: &str, dest: &str, tar: Body) -> Result<(), Error> {
        let q = Query::new()
            .add("path", dest)
            .add("noOverwriteDirNonDir", "true");
        self.call("PUT", &path(id, "/archive"), &q, tar)?
            .bytes()
            .map(drop)
    }

    pub fn container_prune(&self, filters: Option<String>) -> Result<Value, Error> {
        let q = Query::new().opt("filters", filters);
        self.call("POST", "/containers/prune", &q, Body::Empty)?
            .json()
    }
}

/// The stat header is base64 (standard alphabet) of a JSON object.
pub fn decode_stat(header: &str) -> Option<Value> {
    let mut bytes = Vec::with_capacity(header.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in header.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
        }
    }
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_the_stat_header() {
        // base64 of {"name":"hosts","size":5}
        let v = super::decode_stat("eyJuYW1lIjoiaG9zdHMiLCJzaXplIjo1fQ==").unwrap();
        assert_eq!(v["name"], "hosts");
        assert_eq!(v["size"], 5);
        assert!(super::decode_stat("***").is_none());
    }
}
