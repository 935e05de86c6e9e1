//! Who may do what: htpasswd basic auth, or a built-in token service with signed bearer
//! tokens; optional anonymous pull and per-user access rules.

pub mod htpasswd;
pub mod token;

use base64::Engine as _;
use hyper::header::{HeaderMap, HeaderValue};
use serde::Deserialize;

use self::htpasswd::Htpasswd;
use self::token::{Access, Claims, TokenKey};
use super::error::{ApiError, ErrorCode};
use super::http::header;
use super::storage::uploads::now_unix;

/// One access rule: `user` ("*" = any authenticated user) may do `actions` ("*" = all) on
/// repositories matching `repository` (exact, or a prefix ending in `*`).
#[derive(Debug, Clone, Deserialize)]
pub struct AccessRule {
    pub user: String,
    pub repository: String,
    pub actions: Vec<String>,
}

impl AccessRule {
    fn matches(&self, user: &str, name: &str, action: &str) -> bool {
        let user_ok = self.user == "*" || self.user == user;
        let repo_ok = match self.repository.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => self.repository == name,
        };
        user_ok && repo_ok && self.actions.iter().any(|a| a == action || a == "*")
    }
}

/// Token service settings.
#[derive(Debug)]
pub struct TokenSettings {
    pub users: Htpasswd,
    pub issuer: String,
    pub service: String,
    /// Realm URL in challenges; derived from the request's Host when absent.
    pub realm: Option<String>,
    pub ttl_secs: u64,
    pub key: TokenKey,
}

#[derive(Debug)]
pub enum AuthMode {
    Open,
    Htpasswd(Htpasswd),
    Token(Box<TokenSettings>),
}

#[derive(Debug)]
pub struct Auth {
    pub mode: AuthMode,
    pub anonymous_pull: bool,
    /// Empty: every authenticated user may do everything.
    pub rules: Vec<AccessRule>,
}

/// One permission a request needs: `action` on `kind:name` (`repository:a/b` or `registry:catalog`).
#[derive(Debug, Clone)]
pub struct Need {
    pub kind: &'static str,
    pub name: String,
    pub action: &'static str,
}

impl Need {
    pub fn repo(name: &str, action: &'static str) -> Need {
        Need {
            kind: "repository",
            name: name.to_owned(),
            action,
        }
    }
}

/// Who is asking.
#[derive(Debug)]
pub enum Principal {
    Open,
    Anonymous,
    User(String),
    Token(Claims),
}

impl Auth {
    fn user_allowed(&self, user: &str, kind: &str, name: &str, action: &str) -> bool {
        if self.rules.is_empty() {
            return true;
        }
        let name = if kind == "registry" {
            format!("registry:{name}")
        } else {
            name.to_owned()
        };
        self.rules.iter().any(|r| r.matches(user, &name, action))
    }

    fn anonymous_allowed(&self, kind: &str, action: &str) -> bool {
        self.anonymous_pull && kind == "repository" && action == "pull"
    }

    pub fn can(&self, who: &Principal, need: &Need) -> bool {
        match who {
            Principal::Open => true,
            Principal::Anonymous => self.anonymous_allowed(need.kind, need.action),
            Principal::User(u) => self.user_allowed(u, need.kind, &need.name, need.action),
            Principal::Token(claims) => claims.allows(need.kind, &need.name, need.action),
        }
    }

    /// Identifies the caller and checks every need; 401 with a challenge or 403 otherwise.
    pub fn check(
        &self,
        headers: &HeaderMap<HeaderValue>,
        base_url: &str,
        needs: &[Need],
    ) -> Result<Principal, ApiError> {
        let who = self.identify(headers, base_url, needs)?;
        let missing: Vec<&Need> = needs.iter().filter(|n| !self.can(&who, n)).collect();
        if missing.is_empty() {
            return Ok(who);
        }
        let detail = serde_json::json!(
            missing
                .iter()
                .map(|n| serde_json::json!({"Type": n.kind, "Name": n.name, "Action": n.action}))
                .collect::<Vec<_>>()
        );
        match who {
            Principal::User(_) => Err(ApiError::new(ErrorCode::Denied, detail)),
            Principal::Token(_) => {
                Err(self.challenge(base_url, needs, Some("insufficient_scope"), detail))
            }
            _ => Err(self.challenge(base_url, needs, None, detail)),
        }
    }

    fn identify(
        &self,
        headers: &HeaderMap<HeaderValue>,
        base_url: &str,
        needs: &[Need],
    ) -> Result<Principal, ApiError> {
        let authz = header(headers, "authorization");
        match &self.mode {
            AuthMode::Open => Ok(Principal::Open),
            AuthMode::Htpasswd(file) => match authz.and_then(parse_basic) {
                Some((user, pass)) if file.verify(&user, &pass) => Ok(Principal::User(user)),
                Some(_) => Err(self.challenge(
                    base_url,
                    needs,
                    None,
                    "invalid username or password".into(),
                )),
                None if authz.is_some() => {
                    Err(self.challenge(base_url, needs, None, "expected Basic credentials".into()))
                }
                None => Ok(Principal::Anonymous),
            },
            AuthMode::Token(settings) => match authz.and_then(|a| a.strip_prefix("Bearer ")) {
                Some(token) => settings
                    .key
                    .verify(
                        token.trim(),
                        &settings.issuer,
                        &settings.service,
                        now_unix(),
                    )
                    .map(Principal::Token)
                    .map_err(|e| {
                        self.challenge(base_url, needs, Some("invalid_token"), e.to_string().into())
                    }),
                None => Ok(Principal::Anonymous),
            },
        }
    }

    fn challenge(
        &self,
        base_url: &str,
        needs: &[Need],
        error: Option<&str>,
        detail: serde_json::Value,
    ) -> ApiError {
        let value = match &self.mode {
            AuthMode::Token(s) => {
                let realm = s
                    .realm
                    .clone()
                    .unwrap_or_else(|| format!("{base_url}/token"));
                let mut v = format!("Bearer realm=\"{realm}\",service=\"{}\"", s.service);
                let scopes = scopes_for(needs);
                if !scopes.is_empty() {
                    v.push_str(&format!(",scope=\"{scopes}\""));
                }
                if let Some(e) = error {
                    v.push_str(&format!(",error=\"{e}\""));
                }
                v
            }
            _ => "Basic realm=\"berth-registry\"".to_owned(),
        };
        ApiError::new(ErrorCode::Unauthorized, detail).with_header("WWW-Authenticate", value)
    }

    /// The token endpoint: checks Basic credentials (or none, for anonymous pull) and signs a
    /// token granting the requested scopes that the caller is allowed.
    pub fn issue_token(
        &self,
        headers: &HeaderMap<HeaderValue>,
        scopes: &[String],
    ) -> Result<serde_json::Value, ApiError> {
        let AuthMode::Token(settings) = &self.mode else {
            return Err(ApiError::new(
                ErrorCode::Unsupported,
                "token service is not enabled",
            ));
        };
        let who = match header(headers, "authorization").and_then(parse_basic) {
            Some((user, pass)) if settings.users.verify(&user, &pass) => Principal::User(user),
            Some(_) => {
                return Err(
                    ApiError::new(ErrorCode::Unauthorized, "invalid username or password")
                        .with_header(
                            "WWW-Authenticate",
                            "Basic realm=\"berth-registry\"".to_owned(),
                        ),
                );
            }
            None => Principal::Anonymous,
        };
        let mut access = Vec::new();
        for scope in scopes
            .iter()
            .flat_map(|s| s.split(' '))
            .filter_map(Access::parse_scope)
        {
            let kind: &'static str = if scope.kind == "registry" {
                "registry"
            } else {
                "repository"
            };
            let granted: Vec<String> = scope
                .actions
                .iter()
                .filter(|a| {
                    let need = Need {
                        kind,
                        name: scope.name.clone(),
                        action: action_name(a),
                    };
                    self.can(&who, &need)
                })
                .cloned()
                .collect();
            access.push(Access {
                kind: scope.kind,
                name: scope.name,
                actions: granted,
            });
        }
        let now = now_unix();
        let claims = Claims {
            iss: settings.issuer.clone(),
            sub: match &who {
                Principal::User(u) => u.clone(),
                _ => String::new(),
            },
            aud: settings.service.clone(),
            exp: now + settings.ttl_secs,
            nbf: now.saturating_sub(1),
            iat: now,
            jti: super::storage::random_hex(12),
            access,
        };
        let token = settings.key.sign(&claims);
        Ok(serde_json::json!({
            "token": token,
            "access_token": token,
            "expires_in": settings.ttl_secs,
            "issued_at": super::clock::rfc3339(now),
        }))
    }
}

/// Token actions are free text; map the ones we check to their static names.
fn action_name(a: &str) -> &'static str {
    match a {
        "pull" => "pull",
        "push" => "push",
        "delete" => "delete",
        "*" => "*",
        _ => "unknown",
    }
}

fn scopes_for(needs: &[Need]) -> String {
    let mut scopes: Vec<(String, Vec<&str>)> = Vec::new();
    for n in needs {
        let key = format!("{}:{}", n.kind, n.name);
        match scopes.iter_mut().find(|(k, _)| *k == key) {
            Some((_, actions)) => actions.push(n.action),
            None => scopes.push((key, vec![n.action])),
        }
    }
    scopes
        .iter()
        .map(|(k, a)| format!("{k}:{}", a.join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `Basic base64(user:pass)` → (user, pass).
pub fn parse_basic(authz: &str) -> Option<(String, String)> {
    let encoded = authz
        .strip_prefix("Basic ")
        .or_else(|| authz.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}
