//! The bearer token endpoint (distribution "token authentication"): `GET realm?service=&scope=`,
//! with Basic credentials when we have them, answering `{"token"|"access_token", "expires_in"}`.
//! A login asks for an offline token as Docker does (`offline_token=true&client_id=`): a token
//! server that supports it also answers a `refresh_token` (Docker's "identity token"), which
//! later requests trade for access tokens with the OAuth2 form `POST realm`
//! (`grant_type=refresh_token`) instead of sending a password.

use std::time::Duration;

use serde::Deserialize;

use super::credentials::Credentials;
use super::error::{ClientError, RegistryErrorEntry, error_chain};

/// Tokens without `expires_in` live 60 s (the spec's default).
const DEFAULT_EXPIRES_IN: u64 = 60;
/// The `client_id` we name ourselves with in offline and OAuth2 token requests.
pub const CLIENT_ID: &str = "berth";

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_in: Duration,
    /// A long-lived refresh token, when one was asked for and the server issues them.
    pub refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<RegistryErrorEntry>,
}

/// `GET realm`: anonymous or with Basic credentials; `offline` asks for a refresh token too.
pub async fn fetch(
    http: &reqwest::Client,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
    creds: Option<&Credentials>,
    offline: bool,
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
        if offline && creds.is_some() {
            q.append_pair("offline_token", "true");
            q.append_pair("client_id", CLIENT_ID);
        }
    }
    let mut req = http.get(url);
    if let Some(c) = creds {
        req = req.header(reqwest::header::AUTHORIZATION, c.basic_header());
    }
    answer(req, realm, creds.is_some()).await
}

/// `POST realm` with `grant_type=refresh_token` (OAuth2): an access token for `scopes` in
/// exchange for the identity token a login returned.
pub async fn refresh(
    http: &reqwest::Client,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
    refresh_token: &str,
) -> Result<IssuedToken, ClientError> {
    let mut form: Vec<(&str, String)> = vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", refresh_token.to_owned()),
        ("client_id", CLIENT_ID.to_owned()),
        ("scope", scopes.join(" ")),
    ];
    if let Some(s) = service {
        form.push(("service", s.to_owned()));
    }
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let req = http
        .post(realm)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body);
    answer(req, realm, true).await
}

/// `application/x-www-form-urlencoded` value encoding.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

async fn answer(
    req: reqwest::RequestBuilder,
    realm: &str,
    had_credentials: bool,
) -> Result<IssuedToken, ClientError> {
    let fail = |detail: String| ClientError::Token {
        realm: realm.to_owned(),
        detail,
    };
    let resp = req.send().await.map_err(|e| fail(error_chain(&e)))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| fail(error_chain(&e)))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        let errors = serde_json::from_slice::<ErrorBody>(&body)
            .map(|b| b.errors)
            .unwrap_or_default();
        let who = if had_credentials {
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
        refresh_token: parsed.refresh_token.filter(|t| !t.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_values_are_encoded() {
        assert_eq!(
            super::form_encode("repository:a/b:pull push"),
            "repository%3Aa%2Fb%3Apull+push"
        );
    }
}
