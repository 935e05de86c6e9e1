//! Per-registry authentication state: the challenge each registry answered with, credentials
//! from the store, and bearer tokens cached per (registry, scope set) until shortly before expiry.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::challenge::Challenge;
use super::credentials::{CredentialStore, Credentials};
use super::error::ClientError;
use super::token;

/// Tokens are refreshed this long before the registry says they expire.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
struct CachedToken {
    value: String,
    valid_until: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct AuthState {
    challenges: Mutex<HashMap<String, Challenge>>,
    tokens: Mutex<HashMap<(String, String), CachedToken>>,
    explicit: Mutex<HashMap<String, Credentials>>,
    /// Identity (refresh) tokens per domain: used instead of a password to get bearer tokens.
    identity: Mutex<HashMap<String, String>>,
    /// Domains whose next token requests ask for a refresh token (a login in progress).
    offline: Mutex<HashSet<String>>,
    /// Refresh tokens token servers issued per domain, for the login to hand back.
    issued_refresh: Mutex<HashMap<String, String>>,
    /// What the credential store said per domain: read once, not per request.
    stored: Mutex<HashMap<String, Option<Credentials>>>,
    /// Held across a token fetch so parallel transfers wait for one token instead of each
    /// fetching their own.
    fetching: tokio::sync::Mutex<()>,
    store: Option<CredentialStore>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The canonical key of a scope set: sorted, de-duplicated, space separated.
fn scope_key(scopes: &[String]) -> String {
    let mut s: Vec<&str> = scopes.iter().map(String::as_str).collect();
    s.sort_unstable();
    s.dedup();
    s.join(" ")
}

impl AuthState {
    pub(crate) fn new(store: Option<CredentialStore>) -> AuthState {
        AuthState {
            store,
            ..AuthState::default()
        }
    }

    /// Uses `creds` for `domain` instead of the store (login, tests, `--creds`).
    pub(crate) fn set_credentials(&self, domain: &str, creds: Credentials) {
        lock(&self.explicit).insert(domain.to_owned(), creds);
        // Tokens minted for other credentials must not be reused.
        lock(&self.tokens).retain(|(d, _), _| d != domain);
    }

    /// Uses `token` (an identity token from an earlier login) to get bearer tokens for `domain`.
    pub(crate) fn set_identity_token(&self, domain: &str, token: String) {
        lock(&self.identity).insert(domain.to_owned(), token);
        lock(&self.tokens).retain(|(d, _), _| d != domain);
    }

    /// Token requests for `domain` ask for a refresh token from now on (`login`).
    pub(crate) fn want_offline(&self, domain: &str) {
        lock(&self.offline).insert(domain.to_owned());
        lock(&self.tokens).retain(|(d, _), _| d != domain);
    }

    /// The refresh token a token server issued for `domain`, if any.
    pub(crate) fn take_issued_refresh(&self, domain: &str) -> Option<String> {
        lock(&self.issued_refresh).remove(domain)
    }

    /// Forgets credentials and tokens for `domain` (after logout).
    pub(crate) fn forget(&self, domain: &str) {
        lock(&self.identity).remove(domain);
        lock(&self.explicit).remove(domain);
        lock(&self.stored).remove(domain);
        lock(&self.tokens).retain(|(d, _), _| d != domain);
    }

    pub(crate) fn credentials(&self, domain: &str) -> Result<Option<Credentials>, ClientError> {
        if let Some(c) = lock(&self.explicit).get(domain) {
            return Ok(Some(c.clone()));
        }
        if let Some(cached) = lock(&self.stored).get(domain) {
            return Ok(cached.clone());
        }
        let found = match &self.store {
            Some(store) => store.get(domain)?,
            None => None,
        };
        lock(&self.stored).insert(domain.to_owned(), found.clone());
        Ok(found)
    }

    pub(crate) fn remember_challenge(&self, domain: &str, challenge: Challenge) {
        lock(&self.challenges).insert(domain.to_owned(), challenge);
    }

    /// The Authorization header to send, fetching a token if the registry is known to want one
    /// and none is cached for these scopes. `None` when the registry has not asked for auth.
    pub(crate) async fn header_for(
        &self,
        http: &reqwest::Client,
        domain: &str,
        scopes: &[String],
    ) -> Result<Option<String>, ClientError> {
        let challenge = lock(&self.challenges).get(domain).cloned();
        match challenge {
            None => Ok(None),
            Some(Challenge::Basic) => Ok(self.credentials(domain)?.map(|c| c.basic_header())),
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                let mut wanted = scopes.to_vec();
                if let Some(s) = scope
                    && wanted.is_empty()
                {
                    wanted.push(s);
                }
                let key = (domain.to_owned(), scope_key(&wanted));
                let _fetching = self.fetching.lock().await;
                if let Some(t) = lock(&self.tokens).get(&key)
                    && t.valid_until > Instant::now()
                {
                    return Ok(Some(format!("Bearer {}", t.value)));
                }
                let identity = lock(&self.identity).get(domain).cloned();
                let issued = match identity {
                    Some(refresh) => {
                        token::refresh(http, &realm, service.as_deref(), &wanted, &refresh).await?
                    }
                    None => {
                        let creds = self.credentials(domain)?;
                        let offline = lock(&self.offline).contains(domain);
                        token::fetch(
                            http,
                            &realm,
                            service.as_deref(),
                            &wanted,
                            creds.as_ref(),
                            offline,
                        )
                        .await?
                    }
                };
                if let Some(refresh) = &issued.refresh_token {
                    lock(&self.issued_refresh).insert(domain.to_owned(), refresh.clone());
                }
                let lifetime = issued.expires_in.saturating_sub(EXPIRY_MARGIN);
                lock(&self.tokens).insert(
                    key,
                    CachedToken {
                        value: issued.token.clone(),
                        valid_until: Instant::now() + lifetime,
                    },
                );
                Ok(Some(format!("Bearer {}", issued.token)))
            }
        }
    }

    /// After a 401: forget tokens for these scopes (they were refused) so the retry mints anew.
    pub(crate) fn forget_token(&self, domain: &str, scopes: &[String]) {
        lock(&self.tokens).remove(&(domain.to_owned(), scope_key(scopes)));
    }
}
