//! `docker build` (classic API) pulls a private base image with the credentials the docker CLI
//! sends in `X-Registry-Config`: a loopback `berth-registry` with htpasswd auth, `docker
//! login` through berthd, then a build FROM an image only that registry has.

mod common;

use std::process::{Command, Stdio};

use common::Daemon;
use common::registry::Registry;

const USER: &str = "b7user";
const PASSWORD: &str = "b7-secret";
/// bcrypt (cost 4) of PASSWORD, as `htpasswd -B` writes it.
const HTPASSWD: &str = "b7user:$2b$04$hiRnLOaI3MCW9oFlwCcnDuneyBMvQEptEo/hR7mgmcLBI04bK4bx6\n";

/// A loopback registry that wants USER's password.
fn start_registry_with_auth(d: &Daemon) -> Registry {
    let htpasswd = d.dir.path().join("htpasswd");
    std::fs::write(&htpasswd, HTPASSWD).unwrap();
    let auth = format!("htpasswd:{}", htpasswd.display());
    Registry::start(d.dir.path(), &["--auth", &auth])
}

fn build(d: &Daemon, context: &str) -> std::process::Output {
    let mut cmd = d.docker_cmd(&["build", context]);
    cmd.env("DOCKER_BUILDKIT", "0");
    cmd.output().expect("run docker build")
}

/// The `berth` CLI beside berthd, with the docker CLI's config dir (its stored logins).
fn berth_build(d: &Daemon, context: &str) -> std::process::Output {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_berthd")).with_file_name("berth");
    assert!(
        binary.is_file(),
        "{} is missing: cargo build --bins",
        binary.display()
    );
    Command::new(binary)
        .args(["build", context])
        .env("DOCKER_HOST", format!("unix://{}", d.socket().display()))
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .stdin(Stdio::null())
        .output()
        .expect("run berth build")
}

#[test]
fn a_private_base_is_pulled_with_the_clients_credentials() {
    let d = Daemon::start();
    let registry = start_registry_with_auth(&d);
    let base = format!("{}/b7/private:1", registry.addr);
    let login = d.docker_with_input(
        &["login", "-u", USER, "--password-stdin", &registry.addr],
        PASSWORD.as_bytes(),
    );
    assert!(
        login.status.success(),
        "docker login: {}\n{}",
        String::from_utf8_lossy(&login.stderr),
        d.log()
    );
    d.ok(&["tag", "busybox", &base]);
    d.ok(&["push", &base]);
    d.ok(&["rmi", &base]);

    let context = d.dir.path().join("private-ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {base}\nRUN echo built-on-the-private-base\n"),
    )
    .unwrap();
    let context = context.to_string_lossy().into_owned();

    let out = build(&d, &context);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "build with credentials failed: {}\n{text}\nberthd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    assert!(text.contains("built-on-the-private-base"), "{text}");
    assert!(
        d.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .contains(&base),
        "the pulled base is tagged as named"
    );

    // `berth build` sends the same credentials from the same config.
    d.ok(&["rmi", &base]);
    let out = berth_build(&d, &context);
    assert!(
        out.status.success(),
        "berth build with credentials failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );

    // Without credentials the same pull is refused, and the error says where.
    d.ok(&["rmi", &base]);
    d.ok(&["logout", &registry.addr]);
    let out = build(&d, &context);
    assert!(
        !out.status.success(),
        "a build without credentials pulled a private image"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Dockerfile:1: pulling the base image"),
        "{err}"
    );
}
