//! /images/...

use std::io::Read;

use serde_json::Value;

use crate::http::{Body, BodyReader};
use crate::{Client, Error, Query};

/// A `name[:tag|@digest]` split the way the API wants it (`fromImage` + `tag`).
pub fn split_reference(reference: &str) -> (&str, Option<&str>) {
    if let Some((name, digest)) = reference.split_once('@') {
        return (name, Some(digest));
    }
    // A colon after the last slash separates the tag (a colon before it is a registry port).
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            (&reference[..at], Some(&reference[at + 1..]))
        }
        None => (reference, None),
    }
}

impl Client {
    fn auth_headers(&self) -> Vec<(&str, &str)> {
        self.registry_auth()
            .map(|a| vec![("X-Registry-Auth", a)])
            .unwrap_or_default()
    }

    pub fn image_list(
        &self,
        all: bool,
        digests: bool,
        filters: Option<String>,
    ) -> Result<Vec<Value>, Error> {
        let q = Query::new()
            .flag("all", all)
            .flag("digests", digests)
            .opt("filters", filters);
        self.get_json("/images/json", &q)
    }

    pub fn image_inspect_raw(&self, name: &str) -> Result<Vec<u8>, Error> {
        self.call(
            "GET",
            &format!("/images/{name}/json"),
            &Query::new(),
            Body::Empty,
        )?
        .bytes()
    }

    /// POST /images/create?fromImage=: the progress stream.
    pub fn image_pull(&self, reference: &str) -> Result<BodyReader, Error> {
        self.image_pull_for(reference, None)
    }

    /// As [`Client::image_pull`], choosing `platform` (`linux/arm64`) from an image index.
    pub fn image_pull_for(
        &self,
        reference: &str,
        platform: Option<&str>,
    ) -> Result<BodyReader, Error> {
        let (name, tag) = split_reference(reference);
        let q = Query::new()
            .add("fromImage", name)
            .add("tag", tag.unwrap_or("latest"))
            .opt("platform", platform);
        let headers = self.auth_headers();
        Ok(self
            .send("POST", "/images/create", &q, &headers, Body::Empty)?
            .error_for_status()?
            .into_reader())
    }

    /// `POST /images/create?fromImage=<repository>&tag=` (empty): every tag, as `pull -a`.
    pub fn image_pull_all_tags(
        &self,
        repository: &str,
        platform: Option<&str>,
    ) -> Result<BodyReader, Error> {
        let q = Query::new()
            .add("fromImage", repository)
            .add("tag", "")
            .opt("platform", platform);
        let headers = self.auth_headers();
        Ok(self
            .send("POST", "/images/create", &q, &headers, Body::Empty)?
            .error_for_status()?
            .into_reader())
    }

    pub fn image_push(&self, reference: &str) -> Result<BodyReader, Error> {
        let (name, tag) = split_reference(reference);
        let q = Query::new().opt("tag", tag);
        // Docker requires the header even for anonymous pushes.
        let auth = self.registry_auth().unwrap_or("e30=");
        Ok(self
            .send(
                "POST",
                &format!("/images/{name}/push"),
                &q,
                &[("X-Registry-Auth", auth)],
                Body::Empty,
            )?
            .error_for_status()?
            .into_reader())
    }

    pub fn image_tag(&self, source: &str, target: &str) -> Result<(), Error> {
        let (repo, tag) = split_reference(target);
        let q = Query::new().add("repo", repo).opt("tag", tag);
        self.call("POST", &format!("/images/{source}/tag"), &q, Body::Empty)?
            .bytes()
            .map(drop)
    }

    pub fn image_remove(&self, name: &str, force: bool) -> Result<Vec<Value>, Error> {
        let q = Query::new().flag("force", force);
        self.call("DELETE", &format!("/images/{name}"), &q, Body::Empty)?
            .json()
    }

    pub fn image_history(&self, name: &str) -> Result<Vec<Value>, Error> {
        self.get_json(&format!("/images/{name}/history"), &Query::new())
    }

    /// POST /images/load with a tar stream: the progress stream.
    pub fn image_load(&self, tar: Box<dyn Read>, quiet: bool) -> Result<BodyReader, Error> {
        let q = Query::new().flag("quiet", quiet);
        Ok(self
            .call(
                "POST",
                "/images/load",
                &q,
                Body::Stream(tar, "application/x-tar"),
            )?
            .into_reader())
    }

    pub fn image_save(&self, names: &[String]) -> Result<BodyReader, Error> {
        let mut q = Query::new();
        for name in names {
            q = q.add("names", name);
        }
        Ok(self
            .call("GET", "/images/get", &q, Body::Empty)?
            .into_reader())
    }

    /// POST /images/create?fromSrc=- with a tarball: the progress stream.
    pub fn image_import(
        &self,
        tar: Box<dyn Read>,
        reference: Option<&str>,
        changes: &[String],
        message: Option<&str>,
    ) -> Result<BodyReader, Error> {
        let mut q = Query::new().add("fromSrc", "-");
        if let Some(reference) = reference {
            let (repo, tag) = split_reference(reference);
            q = q.add("repo", repo).opt("tag", tag);
        }
        for change in changes {
            q = q.add("changes", change);
        }
        q = q.opt("message", message);
        Ok(self
            .call(
                "POST",
                "/images/create",
                &q,
                Body::Stream(tar, "application/x-tar"),
            )?
            .into_reader())
    }

    pub fn image_prune(&self, filters: Option<String>) -> Result<Value, Error> {
        let q = Query::new().opt("filters", filters);
        self.call("POST", "/images/prune", &q, Body::Empty)?.json()
    }
}

#[cfg(test)]
mod tests {
    use super::split_reference;

    #[test]
    fn splits_tags_digests_and_ports() {
        assert_eq!(split_reference("busybox"), ("busybox", None));
        assert_eq!(split_reference("busybox:1.35"), ("busybox", Some("1.35")));
        assert_eq!(
            split_reference("localhost:5000/a/b"),
            ("localhost:5000/a/b", None)
        );
        assert_eq!(
            split_reference("localhost:5000/a/b:v1"),
            ("localhost:5000/a/b", Some("v1"))
        );
        assert_eq!(split_reference("a@sha256:abc"), ("a", Some("sha256:abc")));
    }
}
