//! Authentication and authorization: htpasswd basic auth, the token flow with scopes,
//! anonymous pull, access rules, and TLS.

mod common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use berth_registry::server::AuthConfig;
use berth_registry::server::auth::AccessRule;
use bytes::Bytes;
use common::{Client, OCI_MANIFEST, TestServer, push_image};

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// alice/alice-pw ($2y$ as htpasswd -B writes) and bob/bob-pw ($2b$).
fn write_htpasswd(dir: &Path) -> PathBuf {
    let alice = bcrypt::hash("alice-pw", 4)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    let bob = bcrypt::hash("bob-pw", 4).unwrap();
    let path = dir.join("htpasswd");
    std::fs::write(&path, format!("alice:{alice}\nbob:{bob}\n")).unwrap();
    path
}

fn bob_pulls_public_only() -> Vec<AccessRule> {
    vec![
        AccessRule {
            user: "alice".into(),
            repository: "*".into(),
            actions: vec!["*".into()],
        },
        AccessRule {
            user: "bob".into(),
            repository: "public/*".into(),
            actions: vec!["pull".into()],
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn htpasswd_basic_auth() {
    let dir = common::temp_root();
    let file = write_htpasswd(dir.path());
    let server = TestServer::with(|c| {
        c.auth = Some(AuthConfig::Htpasswd { file });
        c.access = bob_pulls_public_only();
    })
    .await;
    let anon = server.client();
    let r = anon.get("/v2/").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), "UNAUTHORIZED");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some("Basic realm=\"berth-registry\"")
    );
    assert_eq!(anon.get("/v2/public/x/tags/list").await.status, 401);

    let wrong = anon.with_auth(basic("alice", "nope"));
    assert_eq!(wrong.get("/v2/").await.status, 401);
    let alice = anon.with_auth(basic("alice", "alice-pw"));
    assert_eq!(alice.get("/v2/").await.status, 200);
    push_image(&alice, "public/x", "v1", "p").await;
    push_image(&alice, "private/y", "v1", "q").await;

    let bob = anon.with_auth(basic("bob", "bob-pw"));
    assert_eq!(bob.get("/v2/public/x/manifests/v1").await.status, 200);
    let r = bob.get("/v2/private/y/manifests/v1").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "DENIED");
    let r = bob
        .send("POST", "/v2/public/x/blobs/uploads/", &[], Bytes::new())
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "DENIED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_pull_allows_reads_only() {
    let dir = common::temp_root();
    let file = write_htpasswd(dir.path());
    let server = TestServer::with(|c| {
        c.auth = Some(AuthConfig::Htpasswd { file });
        c.anonymous_pull = true;
    })
    .await;
    let alice = server.client().with_auth(basic("alice", "alice-pw"));
    push_image(&alice, "open", "v1", "o").await;
    let anon = server.client();
    assert_eq!(anon.get("/v2/").await.status, 200);
    assert_eq!(anon.get("/v2/open/manifests/v1").await.status, 200);
    let r = anon
        .send("POST", "/v2/open/blobs/uploads/", &[], Bytes::new())
        .await;
    assert_eq!(r.status, 401);
    assert!(r.header("WWW-Authenticate").is_some());
    assert_eq!(
        anon.send("DELETE", "/v2/open/manifests/v1", &[], Bytes::new())
            .await
            .status,
        401
    );
}

/// Parses `Bearer realm="..",service="..",scope=".."` into (realm, service, scope).
fn parse_challenge(value: &str) -> (String, String, Option<String>) {
    let value = value.strip_prefix("Bearer ").expect("Bearer challenge");
    let mut realm = String::new();
    let mut service = String::new();
    let mut scope = None;
    for part in value.split("\",") {
        let (k, v) = part.split_once('=').unwrap();
        let v = v.trim_matches('"').to_owned();
        match k {
            "realm" => realm = v,
            "service" => service = v,
            "scope" => scope = Some(v),
            _ => {}
        }
    }
    (realm, service, scope)
}

async fn fetch_token(
    client: &Client,
    realm: &str,
    service: &str,
    scope: &str,
    creds: Option<(&str, &str)>,
) -> (u16, Option<String>) {
    let path = realm
        .split_once("//")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap();
    let url = format!(
        "{path}?service={service}&scope={}",
        scope.replace(' ', "&scope=")
    );
    let c = match creds {
        Some((u, p)) => client.with_auth(basic(u, p)),
        None => client.clone(),
    };
    let r = c.get(&url).await;
    let token = (r.status == 200).then(|| r.json()["token"].as_str().unwrap().to_owned());
    (r.status, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_flow_with_scopes() {
    let dir = common::temp_root();
    let htpasswd = write_htpasswd(dir.path());
    let server = TestServer::with(|c| {
        c.auth = Some(AuthConfig::Token {
            htpasswd,
            issuer: "test-issuer".into(),
            service: "test-registry".into(),
            realm: None,
            ttl_secs: 60,
            key_file: None,
        });
        c.access = bob_pulls_public_only();
    })
    .await;
    let anon = server.client();

    // The challenge names the realm, service and the scope needed.
    let r = anon
        .send("POST", "/v2/public/app/blobs/uploads/", &[], Bytes::new())
        .await;
    assert_eq!(r.status, 401);
    let (realm, service, scope) = parse_challenge(r.header("WWW-Authenticate").unwrap());
    assert_eq!(realm, format!("http://{}/token", server.addr));
    assert_eq!(service, "test-registry");
    assert_eq!(scope.as_deref(), Some("repository:public/app:pull,push"));

    // Wrong password at the token endpoint.
    let (status, _) = fetch_token(
        &anon,
        &realm,
        &service,
        "repository:public/app:pull,push",
        Some(("alice", "bad")),
    )
    .await;
    assert_eq!(status, 401);

    // Alice gets push+pull and can push.
    let (_, token) = fetch_token(
        &anon,
        &realm,
        &service,
        "repository:public/app:pull,push",
        Some(("alice", "alice-pw")),
    )
    .await;
    let alice = anon.with_auth(format!("Bearer {}", token.unwrap()));
    push_image(&alice, "public/app", "v1", "t").await;
    assert_eq!(alice.get("/v2/public/app/manifests/v1").await.status, 200);

    // The token is for public/app only: another repository needs another token.
    let r = alice.get("/v2/public/other/tags/list").await;
    assert_eq!(r.status, 401);
    assert!(
        r.header("WWW-Authenticate")
            .unwrap()
            .contains("insufficient_scope")
    );

    // Bob asks for pull+push but is granted pull only: pulling works, pushing is refused.
    let (_, token) = fetch_token(
        &anon,
        &realm,
        &service,
        "repository:public/app:pull,push",
        Some(("bob", "bob-pw")),
    )
    .await;
    let bob = anon.with_auth(format!("Bearer {}", token.unwrap()));
    assert_eq!(bob.get("/v2/public/app/manifests/v1").await.status, 200);
    let r = bob
        .put_manifest("public/app", "v2", OCI_MANIFEST, b"{}")
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), "UNAUTHORIZED");
    assert!(
        r.header("WWW-Authenticate")
            .unwrap()
            .contains("error=\"insufficient_scope\"")
    );

    // A tampered or foreign token is refused.
    let r = anon
        .with_auth("Bearer abc.def.ghi")
        .get("/v2/public/app/manifests/v1")
        .await;
    assert_eq!(r.status, 401);
    assert!(
        r.header("WWW-Authenticate")
            .unwrap()
            .contains("invalid_token")
    );

    // Anonymous token requests get nothing without anonymous pull.
    let (status, token) =
        fetch_token(&anon, &realm, &service, "repository:public/app:pull", None).await;
    assert_eq!(status, 200);
    let r = anon
        .with_auth(format!("Bearer {}", token.unwrap()))
        .get("/v2/public/app/manifests/v1")
        .await;
    assert_eq!(r.status, 401);

    // Catalog needs registry:catalog:*.
    let (_, token) = fetch_token(
        &anon,
        &realm,
        &service,
        "registry:catalog:*",
        Some(("alice", "alice-pw")),
    )
    .await;
    let r = anon
        .with_auth(format!("Bearer {}", token.unwrap()))
        .get("/v2/_catalog")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["repositories"], serde_json::json!(["public/app"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_rustls() {
    let dir = common::temp_root();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl is required for the TLS test");
    assert!(
        status.success(),
        "openssl failed to make a test certificate"
    );
    let (c2, k2) = (cert.clone(), key.clone());
    let server = TestServer::with(move |c| {
        c.tls_cert = Some(c2);
        c.tls_key = Some(k2);
    })
    .await;
    let url = format!("https://{}/v2/", server.addr);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-sS", "-D", "-", "-o", "/dev/null", "--cacert"])
            .arg(&cert)
            .arg(&url)
            .output()
            .expect("curl is required for the TLS test")
    })
    .await
    .unwrap();
    let headers = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("docker-distribution-api-version: registry/2.0")
    );
}
