//! URL paths → typed routes. Names contain slashes, so the operation is found from the end.

/// One endpoint of the API, with the raw (not yet validated) name and reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    Base,
    Catalog,
    Token,
    Tags { name: &'a str },
    Manifest { name: &'a str, reference: &'a str },
    Blob { name: &'a str, digest: &'a str },
    UploadStart { name: &'a str },
    Upload { name: &'a str, id: &'a str },
    Referrers { name: &'a str, digest: &'a str },
}

impl<'a> Route<'a> {
    pub fn parse(path: &'a str) -> Option<Route<'a>> {
        if path == "/token" {
            return Some(Route::Token);
        }
        if path == "/v2" || path == "/v2/" {
            return Some(Route::Base);
        }
        let rest = path.strip_prefix("/v2/")?;
        if rest == "_catalog" {
            return Some(Route::Catalog);
        }
        if let Some(name) = rest.strip_suffix("/tags/list") {
            return Some(Route::Tags { name });
        }
        if let Some(name) = rest
            .strip_suffix("/blobs/uploads/")
            .or_else(|| rest.strip_suffix("/blobs/uploads"))
        {
            return Some(Route::UploadStart { name });
        }
        // `<name>/<kind>/<last>` where `last` has no slash.
        let (head, last) = rest.rsplit_once('/')?;
        let (name, kind) = head.rsplit_once('/')?;
        if last.is_empty() {
            return None;
        }
        match kind {
            "manifests" => Some(Route::Manifest {
                name,
                reference: last,
            }),
            "blobs" => Some(Route::Blob { name, digest: last }),
            "referrers" => Some(Route::Referrers { name, digest: last }),
            "uploads" => head
                .strip_suffix("/blobs/uploads")
                .map(|name| Route::Upload { name, id: last }),
            _ => None,
        }
    }

    /// The repository the route is about, if any.
    pub fn name(&self) -> Option<&'a str> {
        match *self {
            Route::Tags { name }
            | Route::Manifest { name, .. }
            | Route::Blob { name, .. }
            | Route::UploadStart { name }
            | Route::Upload { name, .. }
            | Route::Referrers { name, .. } => Some(name),
            Route::Base | Route::Catalog | Route::Token => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_routes_with_slashy_names() {
        assert_eq!(Route::parse("/v2/"), Some(Route::Base));
        assert_eq!(Route::parse("/v2/_catalog"), Some(Route::Catalog));
        assert_eq!(
            Route::parse("/v2/a/b/tags/list"),
            Some(Route::Tags { name: "a/b" })
        );
        assert_eq!(
            Route::parse("/v2/a/manifests/b/manifests/latest"),
            Some(Route::Manifest {
                name: "a/manifests/b",
                reference: "latest"
            })
        );
        assert_eq!(
            Route::parse("/v2/x/blobs/sha256:ab"),
            Some(Route::Blob {
                name: "x",
                digest: "sha256:ab"
            })
        );
        assert_eq!(
            Route::parse("/v2/x/y/blobs/uploads/"),
            Some(Route::UploadStart { name: "x/y" })
        );
        assert_eq!(
            Route::parse("/v2/x/blobs/uploads/abc"),
            Some(Route::Upload {
                name: "x",
                id: "abc"
            })
        );
        assert_eq!(
            Route::parse("/v2/x/referrers/sha256:1"),
            Some(Route::Referrers {
                name: "x",
                digest: "sha256:1"
            })
        );
        assert_eq!(Route::parse("/v2/x/uploads/abc"), None);
        assert_eq!(Route::parse("/v2/x/manifests/"), None);
        assert_eq!(Route::parse("/v3/x"), None);
    }
}
