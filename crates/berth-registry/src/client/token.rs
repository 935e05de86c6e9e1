//! The bearer token endpoint (distribution "token authentication"): `GET realm?service=&scope=`,
//! with Basic credentials when we have them, answering `{"token"|"access_token", "expires_in"}`.

use std::time::Duration;

use serde::Deserialize;

use super::credentials::Credentials;
use super::error::{ClientError, RegistryErrorEntry, error_chain};

/// Tokens without `expires_in` live 60 s (the spec's default).
const DEFAULT_EXPIRES_IN: u64 = 60;

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_in: Duration,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<RegistryErrorEntry>,
}

pub async fn fetch(
    http: &reqwest::Client,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
    creds: Option<&Credentials>,
) -> Result<IssuedToken, ClientError> {
    let fail = |detail: String| ClientError::Token {
        realm: realm.to_owned(),
        detail,
    };
    let mut url = reqwest::Url::parse(realm).map_err(|e| fail(format!("bad realm URL: {e}")))?;
    {
        let mut q = url.query_pairs_mut();
        if let Some(s) = service {
            q.append_pair("service", s);
        }
        for s in scopes {
            q.append_pair("scope", s);
        }
    }
    let mut req = http.get(url);
    if let Some(c) = creds {
        req = req.header(reqwest::header::AUTHORIZATION, c.basic_header());
    }
    let resp = req.send().await.map_err(|e| fail(error_chain(&e)))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| fail(error_chain(&e)))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        let errors = serde_json::from_slice::<ErrorBody>(&body)
            .map(|b| b.errors)
            .unwrap_or_default();
        let who = if creds.is_some() {
            " (credentials rejected?)"
        } else {
            ""
        };
        return Err(fail(format!(
            "{status}{who}: {}",
            super::error::describe_registry_errors(&errors, &text)
        )));
    }
    let parsed: TokenResponse =
        serde_json::from_slice(&body).map_err(|e| fail(format!("bad token response: {e}")))?;
    let token = parsed
        .token
        .or(parsed.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| fail("response has neither token nor access_token".into()))?;
    Ok(IssuedToken {
        token,
        expires_in: Duration::from_secs(parsed.expires_in.unwrap_or(DEFAULT_EXPIRES_IN).max(1)),
    })
}
