//! Identity tokens: `docker login` against a registry whose token server issues OAuth2
//! refresh tokens gets one back as `IdentityToken` (the docker CLI stores it instead of the
//! password), and a later `docker pull` trades it for access tokens (`POST realm`,
//! `grant_type=refresh_token`). The registry and token server are the test's own, on loopback:
//! they serve the busybox fixture's OCI layout and record every grant they see.

mod common;
mod ctr4_registry;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::Daemon;

const SERVICE: &str = "ctr4-token-test";
/// `alice:alice-pw`
const ALICE_BASIC: &str = "Basic YWxpY2U6YWxpY2UtcHc=";

struct Shared {
    addr: String,
    layout: PathBuf,
    refresh_token: String,
    access_tokens: Mutex<Vec<String>>,
    /// What each token request was: `get`, `get offline`, `refresh`, or `refused …`.
    grants: Mutex<Vec<String>>,
}

struct TokenRegistry {
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    _layout: tempfile::TempDir,
}

struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    body: String,
}

fn decode(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(&bytes[i + 1..i + 3]), 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pairs(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn read_request(conn: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(conn.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Request {
        method,
        path: path.to_owned(),
        query: pairs(query),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn respond(conn: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body);
}

fn handle(shared: &Shared, mut conn: TcpStream) {
    let Some(req) = read_request(&conn) else {
        return;
    };
    if req.path == "/token" {
        return token(shared, &mut conn, &req);
    }
    let bearer = req
        .headers
        .get("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::to_owned);
    let authorized = bearer.is_some_and(|t| shared.access_tokens.lock().unwrap().contains(&t));
    if !authorized {
        let challenge = format!(
            r#"Bearer realm="http://{}/token",service="{SERVICE}""#,
            shared.addr
        );
        return respond(
            &mut conn,
            "401 Unauthorized",
            &[
                ("WWW-Authenticate", challenge),
                ("Content-Type", "application/json".into()),
            ],
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
    }
    if req.path == "/v2/" {
        return respond(&mut conn, "200 OK", &[], b"{}");
    }
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shared.layout.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let blob = |digest: &str| {
        digest
            .strip_prefix("sha256:")
            .and_then(|hex| std::fs::read(shared.layout.join("blobs/sha256").join(hex)).ok())
    };
    let head = req.method == "HEAD";
    if let Some(reference) = req.path.strip_prefix("/v2/ctr4/bb/manifests/") {
        let digest = if reference == "1" {
            manifest_digest.clone()
        } else {
            reference.to_owned()
        };
        if digest == manifest_digest
            && let Some(bytes) = blob(&digest)
        {
            let headers = [
                (
                    "Content-Type",
                    "application/vnd.oci.image.manifest.v1+json".to_owned(),
                ),
                ("Docker-Content-Digest", digest),
            ];
            return respond(
                &mut conn,
                "200 OK",
                &headers,
                if head { &[] } else { &bytes },
            );
        }
    }
    if let Some(digest) = req.path.strip_prefix("/v2/ctr4/bb/blobs/")
        && let Some(bytes) = blob(digest)
    {
        let headers = [
            ("Content-Type", "application/octet-stream".to_owned()),
            ("Docker-Content-Digest", digest.to_owned()),
        ];
        return respond(
            &mut conn,
            "200 OK",
            &headers,
            if head { &[] } else { &bytes },
        );
    }
    respond(
        &mut conn,
        "404 Not Found",
        &[("Content-Type", "application/json".into())],
        br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#,
    );
}

/// The token endpoint: `GET` with Basic credentials (a refresh token too when the request is
/// `offline_token=true`), or the OAuth2 `POST` with `grant_type=refresh_token`.
fn token(shared: &Shared, conn: &mut TcpStream, req: &Request) {
    let issue = |conn: &mut TcpStream, grant: String, with_refresh: bool| {
        let access = format!("access-{}", shared.access_tokens.lock().unwrap().len());
        shared.access_tokens.lock().unwrap().push(access.clone());
        shared.grants.lock().unwrap().push(grant);
        let mut body = serde_json::json!({"access_token": access, "expires_in": 300});
        if with_refresh {
            body["refresh_token"] = shared.refresh_token.clone().into();
        }
        respond(
            conn,
            "200 OK",
            &[("Content-Type", "application/json".into())],
            body.to_string().as_bytes(),
        );
    };
    let refuse = |conn: &mut TcpStream, why: String| {
        shared.grants.lock().unwrap().push(format!("refused {why}"));
        respond(
            conn,
            "401 Unauthorized",
            &[("Content-Type", "application/json".into())],
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#,
        );
    };
    match req.method.as_str() {
        "GET" => {
            if req.headers.get("authorization").map(String::as_str) != Some(ALICE_BASIC) {
                return refuse(conn, format!("get {:?}", req.headers.get("authorization")));
            }
            let offline = req.query.get("offline_token").map(String::as_str) == Some("true")
                && req.query.get("client_id").is_some_and(|c| !c.is_empty());
            let grant = if offline { "get offline" } else { "get" };
            issue(conn, grant.to_owned(), offline)
        }
        "POST" => {
            let form = pairs(&req.body);
            let ok = form.get("grant_type").map(String::as_str) == Some("refresh_token")
                && form.get("refresh_token") == Some(&shared.refresh_token)
                && form.get("service").map(String::as_str) == Some(SERVICE)
                && form.get("client_id").is_some_and(|c| !c.is_empty());
            if !ok {
                return refuse(conn, format!("post {form:?}"));
            }
            let scope = form.get("scope").cloned().unwrap_or_default();
            issue(conn, format!("refresh {scope}"), false)
        }
        other => refuse(conn, other.to_owned()),
    }
}

impl TokenRegistry {
    fn start() -> TokenRegistry {
        let layout = tempfile::Builder::new()
            .prefix(&format!("ctr4-token-{}-", std::process::id()))
            .tempdir_in("/tmp")
            .unwrap();
        let archive =
            std::fs::File::open(berth_testutil::fixture("busybox.oci-archive.tar")).unwrap();
        tar::Archive::new(archive).unpack(layout.path()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            addr: listener.local_addr().unwrap().to_string(),
            layout: layout.path().to_owned(),
            refresh_token: format!("refresh-{}", std::process::id()),
            access_tokens: Mutex::new(Vec::new()),
            grants: Mutex::new(Vec::new()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (stopping, serving) = (stop.clone(), shared.clone());
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        let shared = serving.clone();
                        std::thread::spawn(move || handle(&shared, conn));
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
        });
        TokenRegistry {
            shared,
            stop,
            thread: Some(thread),
            _layout: layout,
        }
    }

    fn grants(&self) -> Vec<String> {
        self.shared.grants.lock().unwrap().clone()
    }
}

impl Drop for TokenRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn login_returns_an_identity_token_and_pull_refreshes_with_it() {
    let d = Daemon::start();
    let registry = TokenRegistry::start();
    let host = registry.shared.addr.clone();

    // The raw API: POST /auth answers the refresh token the token server issued.
    let out = d.docker(&["login", &host, "-u", "alice", "-p", "wrong"]);
    assert!(!out.status.success(), "a wrong password logged in");
    let out = d.ok(&["login", &host, "-u", "alice", "-p", "alice-pw"]);
    assert!(out.contains("Login Succeeded"), "{out}");
    assert!(
        registry.grants().contains(&"get offline".to_owned()),
        "{:?}",
        registry.grants()
    );

    // The docker CLI keeps the identity token, not the password.
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(d.dir.path().join("docker-config/config.json")).unwrap(),
    )
    .unwrap();
    let entry = &config["auths"][&host];
    assert_eq!(
        entry["identitytoken"],
        registry.shared.refresh_token.as_str(),
        "{config}"
    );
    assert_eq!(entry["auth"], "YWxpY2U6", "password kept: {config}");

    // The pull sends only the identity token: the daemon trades it for access tokens.
    let name = format!("{host}/ctr4/bb:1");
    let before = registry.grants().len();
    let pulled = d.ok(&["pull", &name]);
    assert!(pulled.contains("Downloaded newer image"), "{pulled}");
    let grants = registry.grants().split_off(before);
    assert!(
        grants
            .iter()
            .any(|g| g == "refresh repository:ctr4/bb:pull"),
        "{grants:?}"
    );
    assert!(
        !grants.iter().any(|g| g.starts_with("refused")),
        "{grants:?}"
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            registry
                .shared
                .layout
                .join("blobs/sha256")
                .join(manifest_digest(&registry).strip_prefix("sha256:").unwrap()),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        d.ok(&["image", "inspect", "-f", "{{.Id}}", &name]).trim(),
        manifest["config"]["digest"]
    );

    // The berth CLI stores and sends the identity token the same way.
    d.ok(&["rmi", &name]);
    let out = d.berth(&["logout", &host]);
    assert!(out.status.success());
    let out = d.berth(&["login", &host, "-u", "alice", "-p", "alice-pw"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(d.dir.path().join("docker-config/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        config["auths"][&host],
        serde_json::json!({"auth": "YWxpY2U6", "identitytoken": registry.shared.refresh_token.as_str()})
    );
    let before = registry.grants().len();
    let out = d.berth(&["pull", &name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let grants = registry.grants().split_off(before);
    assert!(
        grants.iter().any(|g| g.starts_with("refresh "))
            && !grants.iter().any(|g| g.starts_with("refused")),
        "{grants:?}"
    );

    // A revoked identity token is refused cleanly, naming the token request.
    let stale = d.dir.path().join("stale-config");
    std::fs::create_dir_all(&stale).unwrap();
    let stale_entry = serde_json::json!({"auths": {host.clone(): {"auth": "YWxpY2U6", "identitytoken": "revoked"}}});
    std::fs::write(stale.join("config.json"), stale_entry.to_string()).unwrap();
    let out = d
        .docker_cmd(&[
            "pull",
            &format!("{host}/ctr4/bb@{}", manifest_digest(&registry)),
        ])
        .env("DOCKER_CONFIG", &stale)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("token request") && err.contains("401"),
        "{err}"
    );
}

fn manifest_digest(registry: &TokenRegistry) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(registry.shared.layout.join("index.json")).unwrap())
            .unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().to_owned()
}
