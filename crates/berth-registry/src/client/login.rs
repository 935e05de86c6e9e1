//! `login` (verify against `/v2/`, then store) and `logout` (forget stored credentials).

use reqwest::{Method, StatusCode};

use super::credentials::{CredentialStore, Credentials};
use super::error::ClientError;
use super::transport::{RegistryClient, Request};

impl RegistryClient {
    /// The configured credential store, else Docker's default location.
    fn store(&self) -> Result<CredentialStore, ClientError> {
        match &self.inner.config.credential_store {
            Some(s) => Ok(s.clone()),
            None => Ok(CredentialStore::default_location()?),
        }
    }

    /// Checks `creds` against the registry's `/v2/` (Basic, or a token fetched with them), and
    /// only then stores them. A registry that needs no auth accepts any credentials, as Docker does.
    pub async fn login(&self, domain: &str, creds: Credentials) -> Result<(), ClientError> {
        self.check_login(domain, creds.clone()).await?;
        self.store()?.store(domain, &creds)?;
        Ok(())
    }

    /// Checks `creds` against the registry's `/v2/` without storing them (a daemon's
    /// `POST /auth`: the client keeps its own credentials). Returns the identity token the
    /// registry's token server issued, if it issues them (Docker's `IdentityToken`).
    pub async fn check_login(
        &self,
        domain: &str,
        creds: Credentials,
    ) -> Result<Option<String>, ClientError> {
        self.set_credentials(domain, creds);
        self.inner.auth.want_offline(domain);
        let method = Method::GET;
        let resp = self
            .send(Request {
                method: method.clone(),
                url: self.api_base(domain)?,
                headers: Vec::new(),
                body: None,
                domain,
                scopes: &[],
            })
            .await?;
        self.expect(resp, &method, domain, &[StatusCode::OK])
            .await?;
        Ok(self.inner.auth.take_issued_refresh(domain))
    }

    /// Removes stored credentials for `domain`; `false` when none were stored.
    pub fn logout(&self, domain: &str) -> Result<bool, ClientError> {
        self.inner.auth.forget(domain);
        Ok(self.store()?.erase(domain)?)
    }
}
