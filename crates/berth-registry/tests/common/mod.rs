//! Shared helpers: an in-process registry on 127.0.0.1:0 with a temp root, and a tiny HTTP client.
#![allow(dead_code)]

use std::net::SocketAddr;

use berth_oci::Digest;
use berth_registry::server::{Config, ServerHandle, start};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;

pub struct TestServer {
    pub addr: SocketAddr,
    pub root: tempfile::TempDir,
    handle: Option<ServerHandle>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
    }
}

pub fn temp_root() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("registry-server-test-{}-", std::process::id()))
        .tempdir()
        .expect("tempdir")
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::with(|_| {}).await
    }

    pub async fn with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let root = temp_root();
        let mut config = Config {
            addr: "127.0.0.1:0".into(),
            root: Some(root.path().join("data")),
            ..Config::default()
        };
        adjust(&mut config);
        let handle = start(&config).await.expect("start registry");
        TestServer {
            addr: handle.addr,
            root,
            handle: Some(handle),
        }
    }

    pub fn client(&self) -> Client {
        Client {
            addr: self.addr,
            auth: None,
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The first error code of a spec error body.
    pub fn error_code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned()
    }
}

#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    /// Full Authorization header value sent with every request.
    pub auth: Option<String>,
}

impl Client {
    pub fn with_auth(&self, value: impl Into<String>) -> Client {
        Client {
            addr: self.addr,
            auth: Some(value.into()),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", self.addr.to_string());
        if let Some(auth) = &self.auth {
            builder = builder.header("Authorization", auth);
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let req = builder.body(Full::new(body.into())).expect("request");
        let resp = sender.send_request(req).await.expect("send");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], Bytes::new()).await
    }

    /// Monolithic push of one blob; asserts 201.
    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> Digest {
        let digest = Digest::sha256_of(data);
        let r = self
            .send(
                "POST",
                &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
                &[],
                Bytes::copy_from_slice(data),
            )
            .await;
        assert_eq!(
            r.status,
            201,
            "push blob: {:?}",
            String::from_utf8_lossy(&r.body)
        );
        digest
    }

    /// Pushes a manifest; returns the reply.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Reply {
        self.send(
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("Content-Type", media_type)],
            Bytes::copy_from_slice(body),
        )
        .await
    }
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// An OCI image manifest over the given config and layers, optional subject and artifactType.
pub fn image_manifest(
    config: (&Digest, usize),
    layers: &[(&Digest, usize)],
    subject: Option<(&Digest, usize)>,
    artifact_type: Option<&str>,
) -> Vec<u8> {
    let mut m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.0.to_string(), "size": config.1},
        "layers": layers.iter().map(|(d, s)| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d.to_string(), "size": s})).collect::<Vec<_>>(),
    });
    if let Some((d, s)) = subject {
        m["subject"] =
            serde_json::json!({"mediaType": OCI_MANIFEST, "digest": d.to_string(), "size": s});
    }
    if let Some(a) = artifact_type {
        m["artifactType"] = serde_json::json!(a);
    }
    serde_json::to_vec(&m).expect("serialize")
}

/// Pushes config + one layer + manifest under `tag`; returns (manifest digest, manifest bytes).
pub async fn push_image(client: &Client, repo: &str, tag: &str, seed: &str) -> (Digest, Vec<u8>) {
    let config = format!("{{\"seed\":\"{seed}\"}}").into_bytes();
    let layer = format!("layer bytes of {seed}").repeat(100).into_bytes();
    let c = client.push_blob(repo, &config).await;
    let l = client.push_blob(repo, &layer).await;
    let manifest = image_manifest((&c, config.len()), &[(&l, layer.len())], None, None);
    let r = client
        .put_manifest(repo, tag, OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(r.status, 201, "{:?}", String::from_utf8_lossy(&r.body));
    (Digest::sha256_of(&manifest), manifest)
}
