//! Requests against one repository: manifests and blobs, with the scopes that repository needs.

use berth_oci::Digest;
use berth_oci::media_type::ManifestKind;
use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, RANGE};
use reqwest::{Method, Response, StatusCode, Url};

use super::error::{ClientError, error_chain};
use super::manifest::{self, MAX_MANIFEST_BYTES, Manifest};
use super::transport::{RegistryClient, Request, header_str};
use super::verify::digest_like;

/// A manifest as served, verified against the digest it was asked for (if any).
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Bytes,
    pub digest: Digest,
    pub kind: ManifestKind,
    pub manifest: Manifest,
}

#[derive(Debug, Clone)]
pub struct Repository {
    pub(crate) client: RegistryClient,
    pub(crate) domain: String,
    pub(crate) name: String,
    base: Url,
    pub(crate) scopes: Vec<String>,
}

impl Repository {
    /// `push` asks for `pull,push` scope; `extra_pull` repositories (mount sources) get `pull`.
    pub fn new(
        client: &RegistryClient,
        domain: &str,
        name: &str,
        push: bool,
        extra_pull: &[&str],
    ) -> Result<Repository, ClientError> {
        let actions = if push { "pull,push" } else { "pull" };
        let mut scopes = vec![format!("repository:{name}:{actions}")];
        scopes.extend(extra_pull.iter().map(|r| format!("repository:{r}:pull")));
        Ok(Repository {
            client: client.clone(),
            domain: domain.to_owned(),
            name: name.to_owned(),
            base: client.api_base(domain)?,
            scopes,
        })
    }

    pub(crate) fn url(&self, tail: &str) -> Result<Url, ClientError> {
        let text = format!("{}/{tail}", self.name);
        self.base.join(&text).map_err(|e| ClientError::BadUrl {
            url: format!("{}{text}", self.base),
            detail: e.to_string(),
        })
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        headers: Vec<(HeaderName, String)>,
        body: Option<Bytes>,
        ok: &[StatusCode],
    ) -> Result<Response, ClientError> {
        let resp = self
            .client
            .send(Request {
                method: method.clone(),
                url,
                headers,
                body,
                domain: &self.domain,
                scopes: &self.scopes,
            })
            .await?;
        self.client.expect(resp, &method, &self.domain, ok).await
    }

    /// Sends a one-shot streamed body (not re-sendable: auth must already be settled, as it is
    /// after the upload's POST).
    pub(crate) async fn send_stream(
        &self,
        method: Method,
        url: Url,
        headers: Vec<(HeaderName, String)>,
        body: reqwest::Body,
        ok: &[StatusCode],
    ) -> Result<Response, ClientError> {
        let resp = self
            .client
            .send_once(
                Request {
                    method: method.clone(),
                    url,
                    headers,
                    body: None,
                    domain: &self.domain,
                    scopes: &self.scopes,
                },
                body,
            )
            .await?;
        self.client.expect(resp, &method, &self.domain, ok).await
    }

    /// GETs a manifest by tag or digest, reading at most [`MAX_MANIFEST_BYTES`].
    pub async fn get_manifest(
        &self,
        reference: &str,
        expected: Option<&Digest>,
    ) -> Result<FetchedManifest, ClientError> {
        let url = self.url(&format!("manifests/{reference}"))?;
        let mut resp = self
            .send(
                Method::GET,
                url.clone(),
                vec![(ACCEPT, manifest::accept_header())],
                None,
                &[StatusCode::OK],
            )
            .await?;
        let url_text = url.to_string();
        let content_type = header_str(resp.headers(), "content-type").map(str::to_owned);
        let header_digest = header_str(resp.headers(), "docker-content-digest")
            .and_then(|d| d.parse::<Digest>().ok());
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| ClientError::Request {
            method: "GET".into(),
            url: url_text.clone(),
            detail: error_chain(&e),
        })? {
            if body.len() + chunk.len() > MAX_MANIFEST_BYTES {
                return Err(ClientError::ManifestTooLarge {
                    url: url_text,
                    limit: MAX_MANIFEST_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        // Pinned: the bytes must hash to the pin. By tag: to what the registry claims, if it does.
        let want = expected.cloned().or(header_digest);
        let digest = match &want {
            Some(w) => {
                let actual = digest_like(w, &body);
                if &actual != w {
                    return Err(ClientError::DigestMismatch {
                        url: url_text,
                        expected: w.clone(),
                        actual,
                    });
                }
                actual
            }
            None => Digest::sha256_of(&body),
        };
        let (kind, manifest) =
            manifest::parse(content_type.as_deref(), &body).map_err(|source| {
                ClientError::Manifest {
                    url: url_text,
                    source,
                }
            })?;
        Ok(FetchedManifest {
            bytes: Bytes::from(body),
            digest,
            kind,
            manifest,
        })
    }

    /// GETs a blob from byte `from` on (a `Range` request when non-zero: the answer is 206, or
    /// 200 when the registry ignores ranges); the caller streams and verifies the body.
    pub async fn get_blob(&self, digest: &Digest, from: u64) -> Result<Response, ClientError> {
        let url = self.url(&format!("blobs/{digest}"))?;
        let headers = if from > 0 {
            vec![(RANGE, format!("bytes={from}-"))]
        } else {
            Vec::new()
        };
        self.send(
            Method::GET,
            url,
            headers,
            None,
            &[StatusCode::OK, StatusCode::PARTIAL_CONTENT],
        )
        .await
    }

    /// Whether the registry has the blob in this repository (HEAD).
    pub async fn has_blob(&self, digest: &Digest) -> Result<bool, ClientError> {
        let url = self.url(&format!("blobs/{digest}"))?;
        let resp = self
            .send(
                Method::HEAD,
                url,
                Vec::new(),
                None,
                &[StatusCode::OK, StatusCode::NOT_FOUND],
            )
            .await?;
        Ok(resp.status() == StatusCode::OK)
    }

    /// PUTs a manifest under a tag or its digest; checks the digest the registry computed.
    pub async fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
        digest: &Digest,
    ) -> Result<(), ClientError> {
        let url = self.url(&format!("manifests/{reference}"))?;
        let resp = self
            .send(
                Method::PUT,
                url.clone(),
                vec![(CONTENT_TYPE, media_type.to_owned())],
                Some(bytes),
                &[StatusCode::CREATED, StatusCode::OK, StatusCode::ACCEPTED],
            )
            .await?;
        if let Some(actual) = header_str(resp.headers(), "docker-content-digest")
            .and_then(|d| d.parse::<Digest>().ok())
            && actual.algorithm() == digest.algorithm()
            && &actual != digest
        {
            return Err(ClientError::DigestMismatch {
                url: url.to_string(),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(())
    }
}
