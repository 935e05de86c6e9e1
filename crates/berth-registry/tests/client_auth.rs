//! Auth: the bearer-token flow against our own server (in-process: its token endpoint signs
//! HMAC tokens, so no JWT/cert setup is needed), Basic auth against docker-registry's htpasswd,
//! and login/logout with a Docker-style config.json.

mod client_support;

use berth_oci::Reference;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_registry::client::{
    BlobSource, ClientConfig, CredentialStore, Credentials, LayoutDir, PullOptions, PushOptions,
    RegistryClient, UploadMode,
};
use berth_registry::server::auth::AccessRule;
use berth_registry::server::{AuthConfig, Config, ServerHandle, start};
use client_support::{DockerRegistry, skopeo, temp_dir, unpack_fixture};

fn alice() -> Credentials {
    Credentials {
        username: "alice".into(),
        password: "alice-pw".into(),
    }
}

fn write_htpasswd(dir: &Path) -> PathBuf {
    let hash = bcrypt::hash("alice-pw", 4)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    let path = dir.join("htpasswd");
    std::fs::write(&path, format!("alice:{hash}\n")).unwrap();
    path
}

struct BerthServer {
    handle: Option<ServerHandle>,
    host: String,
    _dir: tempfile::TempDir,
}

impl Drop for BerthServer {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
    }
}

async fn token_server() -> BerthServer {
    let dir = temp_dir("token-server");
    let htpasswd = write_htpasswd(dir.path());
    let config = Config {
        addr: "127.0.0.1:0".into(),
        root: Some(dir.path().join("data")),
        auth: Some(AuthConfig::Token {
            htpasswd,
            issuer: "client-test".into(),
            service: "client-test-registry".into(),
            realm: None,
            ttl_secs: 60,
            key_file: None,
        }),
        access: vec![AccessRule {
            user: "alice".into(),
            repository: "*".into(),
            actions: vec!["*".into()],
        }],
        ..Config::default()
    };
    let handle = start(&config).await.expect("start berth registry");
    BerthServer {
        host: handle.addr.to_string(),
        handle: Some(handle),
        _dir: dir,
    }
}

fn client_with_store(store: Option<&Path>) -> RegistryClient {
    RegistryClient::new(ClientConfig {
        credential_store: store.map(CredentialStore::at),
        ..ClientConfig::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_flow_push_pull_and_rejections() {
    let server = token_server().await;
    let (_fixture, layout) = unpack_fixture("busybox.oci-archive.tar");
    let root = layout.roots().unwrap()[0].0.clone();
    let target =
        Reference::parse_normalized(&format!("{}/private/busybox:1", server.host)).unwrap();

    let anonymous = client_with_store(None);
    let err = anonymous
        .push(layout.clone(), &root, &target, &PushOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("401") && err.contains("no credentials"),
        "{err}"
    );

    // Small chunks: the layer goes up in token-authenticated PATCHes.
    let authed = RegistryClient::new(ClientConfig {
        chunk_size: 256 << 10,
        upload_mode: UploadMode::Chunked,
        ..ClientConfig::default()
    })
    .unwrap();
    authed.set_credentials(&server.host, alice());
    let report = authed
        .push(layout.clone(), &root, &target, &PushOptions::default())
        .await
        .unwrap();
    assert_eq!(report.uploaded_chunked, 1);
    let out = temp_dir("token-pull");
    let pulled = authed
        .pull(
            &target,
            Arc::new(LayoutDir::create(out.path()).unwrap()),
            &PullOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(pulled.manifest.digest, root.digest);

    let sink = Arc::new(LayoutDir::create(&out.path().join("anon")).unwrap());
    let err = anonymous
        .pull(&target, sink.clone(), &PullOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("401"), "{err}");
    assert!(err.contains("/v2/private/busybox/manifests/1"), "{err}");

    let wrong = client_with_store(None);
    wrong.set_credentials(
        &server.host,
        Credentials {
            username: "alice".into(),
            password: "nope".into(),
        },
    );
    let err = wrong
        .pull(&target, sink, &PullOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("token request") && err.contains("401"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_verifies_then_stores_and_logout_removes() {
    let server = token_server().await;
    let home = temp_dir("docker-config");
    let config_path = home.path().join("docker/config.json");

    let bad = client_with_store(Some(&config_path));
    let err = bad
        .login(
            &server.host,
            Credentials {
                username: "alice".into(),
                password: "wrong".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert!(
        !config_path.exists(),
        "failed login must not write config.json"
    );

    client_with_store(Some(&config_path))
        .login(&server.host, alice())
        .await
        .unwrap();
    let mode = std::fs::metadata(&config_path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    assert_eq!(json["auths"][&server.host]["auth"], "YWxpY2U6YWxpY2UtcHc=");

    // A fresh client finds the stored login and can push.
    let (_fixture, layout) = unpack_fixture("busybox.oci-archive.tar");
    let root = layout.roots().unwrap()[0].0.clone();
    let target = Reference::parse_normalized(&format!("{}/stored/busybox:1", server.host)).unwrap();
    let stored = client_with_store(Some(&config_path));
    stored
        .push(layout.clone(), &root, &target, &PushOptions::default())
        .await
        .unwrap();

    assert!(stored.logout(&server.host).unwrap());
    assert!(!stored.logout(&server.host).unwrap());
    // Neither the same client (cached login, cached token) nor a fresh one can push now.
    let err = stored
        .push(layout.clone(), &root, &target, &PushOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let after = client_with_store(Some(&config_path));
    let err = after
        .push(layout, &root, &target, &PushOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_against_docker_registry_htpasswd() {
    let auth_dir = temp_dir("htpasswd");
    let file = write_htpasswd(auth_dir.path());
    let registry = DockerRegistry::start_with_auth(&format!(
        "auth:\n  htpasswd:\n    realm: berth-client-test\n    path: {}\n",
        file.display()
    ));
    let (_fixture, layout) = unpack_fixture("busybox.oci-archive.tar");
    let root = layout.roots().unwrap()[0].0.clone();
    let target =
        Reference::parse_normalized(&format!("{}/basic/busybox:1", registry.host())).unwrap();

    let err = client_with_store(None)
        .push(layout.clone(), &root, &target, &PushOptions::default())
        .await
        .unwrap_err()
        .to_string();
    // The first request is a HEAD (no body), so the status and the hint are what we can name.
    assert!(
        err.contains("401") && err.contains("no credentials"),
        "{err}"
    );

    let config_path = auth_dir.path().join("config.json");
    let client = client_with_store(Some(&config_path));
    client.login(&registry.host(), alice()).await.unwrap();
    client
        .push(layout, &root, &target, &PushOptions::default())
        .await
        .unwrap();
    let digest = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--creds",
        "alice:alice-pw",
        "--format",
        "{{.Digest}}",
        &format!("docker://{target}"),
    ]);
    assert_eq!(digest.trim(), root.digest.to_string());
}
