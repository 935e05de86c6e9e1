//! Bearer tokens: JWT-shaped, HMAC-SHA256 signed with a key only this registry knows, carrying
//! Docker-style access claims (`[{type, name, actions}]`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

type HmacSha256 = Hmac<sha2::Sha256>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token is not three base64url parts")]
    Malformed,
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token header is not HS256")]
    BadAlgorithm,
    #[error("token expired at {exp} (now {now})")]
    Expired { exp: u64, now: u64 },
    #[error("token is for issuer {iss:?} / audience {aud:?}, not this registry")]
    WrongAudience { iss: String, aud: String },
}

/// One access grant: e.g. `repository` `fixtures/busybox` `[pull, push]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Access {
    /// Parses a scope `type:name:action,action`, e.g. `repository:a/b:pull,push`.
    pub fn parse_scope(scope: &str) -> Option<Access> {
        let (kind, rest) = scope.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        let actions = actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        Some(Access {
            kind: kind.to_owned(),
            name: name.to_owned(),
            actions,
        })
    }

    pub fn scope(&self) -> String {
        format!("{}:{}:{}", self.kind, self.name, self.actions.join(","))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    pub access: Vec<Access>,
}

impl Claims {
    /// Whether the token grants `action` on `kind:name`.
    pub fn allows(&self, kind: &str, name: &str, action: &str) -> bool {
        self.access.iter().any(|a| {
            a.kind == kind && a.name == name && a.actions.iter().any(|x| x == action || x == "*")
        })
    }
}

/// The signing key.
#[derive(Clone)]
pub struct TokenKey {
    mac: HmacSha256,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl TokenKey {
    /// Any secret works: it is stretched to HMAC's 64-byte block with SHA-512, so building the
    /// MAC cannot fail.
    pub fn new(secret: &[u8]) -> TokenKey {
        let key = sha2::Sha512::digest(secret);
        TokenKey {
            mac: <HmacSha256 as hmac::digest::KeyInit>::new(&key),
        }
    }

    fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let signing_input = format!("{}.{}", B64.encode(HEADER), B64.encode(payload));
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = mac.finalize().into_bytes();
        format!("{signing_input}.{}", B64.encode(sig))
    }

    /// Verifies signature, algorithm, expiry and audience; returns the claims.
    pub fn verify(
        &self,
        token: &str,
        issuer: &str,
        service: &str,
        now: u64,
    ) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let sig = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let header = B64.decode(header).map_err(|_| TokenError::Malformed)?;
        let header: serde_json::Value =
            serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(TokenError::BadAlgorithm);
        }
        let payload = B64.decode(payload).map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now || claims.nbf > now + 60 {
            return Err(TokenError::Expired {
                exp: claims.exp,
                now,
            });
        }
        if claims.iss != issuer || claims.aud != service {
            return Err(TokenError::WrongAudience {
                iss: claims.iss,
                aud: claims.aud,
            });
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            iss: "iss".into(),
            sub: "alice".into(),
            aud: "svc".into(),
            exp,
            nbf: 0,
            iat: 0,
            jti: "1".into(),
            access: vec![Access::parse_scope("repository:a/b:pull").unwrap()],
        }
    }

    #[test]
    fn signs_and_verifies() {
        let key = TokenKey::new(b"k");
        let token = key.sign(&claims(100));
        let got = key.verify(&token, "iss", "svc", 50).unwrap();
        assert!(got.allows("repository", "a/b", "pull"));
        assert!(!got.allows("repository", "a/b", "push"));
        assert!(!got.allows("repository", "a/c", "pull"));
        assert_eq!(
            key.verify(&token, "iss", "svc", 100),
            Err(TokenError::Expired { exp: 100, now: 100 })
        );
        assert!(matches!(
            key.verify(&token, "iss", "other", 50),
            Err(TokenError::WrongAudience { .. })
        ));
        assert_eq!(
            TokenKey::new(b"x").verify(&token, "iss", "svc", 50),
            Err(TokenError::BadSignature)
        );
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 2, 'A');
        assert!(key.verify(&tampered, "iss", "svc", 50).is_err());
        assert_eq!(
            key.verify("a.b", "iss", "svc", 50),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn parses_scopes() {
        let a = Access::parse_scope("repository:fixtures/busybox:pull,push").unwrap();
        assert_eq!(a.name, "fixtures/busybox");
        assert_eq!(a.actions, vec!["pull", "push"]);
        assert_eq!(a.scope(), "repository:fixtures/busybox:pull,push");
        assert!(Access::parse_scope("repository::pull").is_none());
        assert!(Access::parse_scope("nonsense").is_none());
    }
}
