//! `GET /v2/<name>/tags/list`, following the `Link: <…>; rel="next"` pages (what `pull -a`
//! needs: every tag of a repository).

use reqwest::{Method, StatusCode};
use serde::Deserialize;

use super::error::{ClientError, error_chain};
use super::repo::Repository;
use super::transport::{RegistryClient, header_str};

/// Bounds a registry that keeps answering `next` links (a loop, or a hostile server).
const MAX_PAGES: usize = 1000;
/// Bounds one page's body: a tag list is names only.
const MAX_PAGE_BYTES: usize = 8 << 20;

#[derive(Deserialize)]
struct TagPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl RegistryClient {
    /// Every tag of repository `path` on `domain`, in the registry's order.
    pub async fn list_tags(&self, domain: &str, path: &str) -> Result<Vec<String>, ClientError> {
        let repo = Repository::new(self, domain, path, false, &[])?;
        let mut url = repo.url("tags/list")?;
        let mut tags = Vec::new();
        for _ in 0..MAX_PAGES {
            let resp = repo
                .send(
                    Method::GET,
                    url.clone(),
                    Vec::new(),
                    None,
                    &[StatusCode::OK],
                )
                .await?;
            let next = header_str(resp.headers(), "link").and_then(next_link);
            let body = resp.bytes().await.map_err(|e| ClientError::Request {
                method: "GET".into(),
                url: url.to_string(),
                detail: error_chain(&e),
            })?;
            if body.len() > MAX_PAGE_BYTES {
                return Err(ClientError::TagList {
                    url: url.to_string(),
                    detail: format!("page larger than {MAX_PAGE_BYTES} bytes"),
                });
            }
            let page: TagPage =
                serde_json::from_slice(&body).map_err(|e| ClientError::TagList {
                    url: url.to_string(),
                    detail: e.to_string(),
                })?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(link) => {
                    url = url.join(&link).map_err(|e| ClientError::BadUrl {
                        url: link.clone(),
                        detail: e.to_string(),
                    })?
                }
                None => return Ok(tags),
            }
        }
        Err(ClientError::TagList {
            url: url.to_string(),
            detail: format!("more than {MAX_PAGES} pages"),
        })
    }
}

/// The target of the `rel="next"` entry of a Link header (`</v2/x/tags/list?last=b>; rel="next"`).
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|entry| {
        let (target, params) = entry.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"" || p.trim() == "rel=next");
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn link_headers_give_the_next_page() {
        assert_eq!(
            next_link(r#"</v2/p/q/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/p/q/tags/list?n=2&last=b")
        );
        assert_eq!(
            next_link(r#"<https://x/prev>; rel="prev", </next>; rel="next""#).as_deref(),
            Some("/next")
        );
        assert_eq!(next_link(r#"</prev>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }
}
