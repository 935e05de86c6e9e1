//! Exec against a real container: a busybox bundle started with berth-runc under the engine's
//! runtime root (the shape the daemon's containers have), removed on drop.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use berth_testutil::Bundle;
use bollard_stubs::models::{ContainerConfig, ExecConfig, HostConfig};

use super::*;
use crate::containers::{Container, ContainerRecord, State};
use crate::{Engine, Paths};

struct Running {
    engine: Arc<Engine>,
    id: String,
    _bundle: Bundle,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new(runtime_binary().unwrap())
            .arg("--root")
            .arg(self.engine.paths.runtime_root())
            .args(["delete", "--force", &self.id])
            .status();
    }
}

fn running_container() -> Running {
    berth_testutil::require_root();
    let dir = tempfile::Builder::new()
        .prefix("berth-io-exec-")
        .tempdir()
        .unwrap();
    let engine = Arc::new(
        Engine::open(Paths::new(dir.path().join("data"), dir.path().join("run"))).unwrap(),
    );
    let id = crate::containers::names::new_id();
    let mut bundle = Bundle::from_oci_archive(
        &berth_testutil::fixture("busybox.oci-archive.tar"),
        &["sleep", "300"],
    );
    let mut linux = bundle.spec.linux().clone().unwrap();
    linux.set_cgroups_path(Some(format!("/berth-io-exec-{}", &id[..12]).into()));
    bundle.spec.set_linux(Some(linux));
    bundle.save();
    let container_dir = engine.paths.container(&id);
    std::fs::create_dir_all(&container_dir).unwrap();
    std::os::unix::fs::symlink(bundle.path(), engine.paths.bundle(&id)).unwrap();
    let record = ContainerRecord {
        id: id.clone(),
        name: format!("io-exec-{}", std::process::id()),
        created: String::new(),
        image: String::new(),
        image_name: "busybox".into(),
        path: "sleep".into(),
        args: vec!["300".into()],
        config: ContainerConfig::default(),
        host_config: HostConfig::default(),
        state: State {
            status: Status::Running,
            ..State::default()
        },
        restart_count: 0,
    };
    engine.containers.insert(Arc::new(Container {
        id: id.clone(),
        dir: container_dir,
        record: Mutex::new(record),
    }));
    let running = Running {
        engine,
        id: id.clone(),
        _bundle: bundle,
        _dir: dir,
    };
    for step in [&["create", "--bundle"][..], &["start"][..]] {
        // A file, not a pipe: the container's init inherits it and outlives `create`.
        let errors = tempfile::tempfile().unwrap();
        let mut cmd = Command::new(runtime_binary().unwrap());
        cmd.arg("--root")
            .arg(running.engine.paths.runtime_root())
            .args(step);
        if step[0] == "create" {
            cmd.arg(running.engine.paths.bundle(&id));
        }
        let status = cmd
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(errors.try_clone().unwrap())
            .status()
            .unwrap();
        let mut text = String::new();
        let mut errors = errors;
        std::io::Seek::rewind(&mut errors).unwrap();
        errors.read_to_string(&mut text).unwrap();
        assert!(status.success(), "{step:?}: {text}");
    }
    running
}

fn config(cmd: &[&str]) -> ExecConfig {
    ExecConfig {
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..ExecConfig::default()
    }
}

fn read_all(fd: Option<OwnedFd>) -> String {
    let mut out = String::new();
    if let Some(fd) = fd {
        std::fs::File::from(fd).read_to_string(&mut out).unwrap();
    }
    out
}

#[test]
fn runs_commands_with_stdio_exit_codes_and_events() {
    let c = running_container();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    c.engine.events.subscribe(
        None,
        Box::new(move |e| {
            sink.lock().unwrap().push(e.action.clone());
            true
        }),
    );
    let id = create(
        &c.engine,
        &c.id,
        config(&["sh", "-c", "echo out; echo err >&2; exit 3"]),
    )
    .unwrap();
    let started = start(&c.engine, &id, false).unwrap();
    let (out, err) = (read_all(started.stdout), read_all(started.stderr));
    assert_eq!((out.as_str(), err.as_str()), ("out\n", "err\n"));
    assert_eq!(started.exec.wait(), 3);
    let inspect = c.engine.execs.get(&id).unwrap().inspect();
    assert_eq!((inspect.running, inspect.exit_code), (Some(false), Some(3)));
    assert!(inspect.pid.unwrap() > 0);
    assert!(matches!(
        start(&c.engine, &id, false),
        Err(ExecError::AlreadyRan(_))
    ));
    let actions = events.lock().unwrap().clone();
    assert_eq!(
        actions,
        [
            "exec_create: sh -c echo out; echo err >&2; exit 3",
            "exec_start: sh -c echo out; echo err >&2; exit 3",
            "exec_die"
        ]
    );

    // stdin streams in; EOF ends `cat`.
    let mut cat = config(&["cat"]);
    cat.attach_stdin = Some(true);
    let id = create(&c.engine, &c.id, cat).unwrap();
    let started = start(&c.engine, &id, false).unwrap();
    let mut stdin = std::fs::File::from(started.stdin.unwrap());
    stdin.write_all(b"through cat").unwrap();
    drop(stdin);
    assert_eq!(read_all(started.stdout), "through cat");
    assert_eq!(started.exec.wait(), 0);

    // `-u` overrides the container's user (names are resolved in its /etc/passwd).
    let mut as_user = config(&["sh", "-c", "id -u; id -g"]);
    as_user.user = Some("1234:5678".into());
    let id = create(&c.engine, &c.id, as_user).unwrap();
    let started = start(&c.engine, &id, false).unwrap();
    assert_eq!(read_all(started.stdout), "1234\n5678\n");
    let mut unknown = config(&["true"]);
    unknown.user = Some("nobody".into());
    let id = create(&c.engine, &c.id, unknown).unwrap();
    assert!(matches!(
        start(&c.engine, &id, false),
        Err(ExecError::User(_))
    ));
}

#[test]
fn reports_start_failures_like_docker() {
    let c = running_container();
    let id = create(&c.engine, &c.id, config(&["no-such-binary"])).unwrap();
    let Err(ExecError::Start { message, exit_code }) = start(&c.engine, &id, false) else {
        panic!("a missing binary must fail the start");
    };
    assert_eq!(exit_code, 127);
    assert!(
        message.starts_with("OCI runtime exec failed: exec failed: ")
            && message.contains("executable file not found in $PATH"),
        "{message}"
    );
    assert_eq!(c.engine.execs.get(&id).unwrap().exit_code(), Some(127));
    assert!(matches!(
        create(&c.engine, &c.id, ExecConfig::default()),
        Err(ExecError::NoCommand)
    ));
    c.engine
        .containers
        .get(&c.id)
        .unwrap()
        .record
        .lock()
        .unwrap()
        .state
        .status = Status::Exited;
    let err = create(&c.engine, &c.id, config(&["true"])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        err.to_string(),
        format!("Container {} is not running", c.id)
    );
}

#[test]
fn gives_a_tty_exec_a_pty() {
    let c = running_container();
    let mut tty = config(&["sh", "-c", "tty; echo $TERM; stty size"]);
    tty.tty = Some(true);
    let id = create(&c.engine, &c.id, tty).unwrap();
    // Clients resize right after start; a size asked for before the pty exists is applied.
    c.engine.execs.get(&id).unwrap().resize(40, 100).unwrap();
    let started = start(&c.engine, &id, false).unwrap();
    let mut master = std::fs::File::from(started.console.unwrap());
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    // A pty master reads EIO once the last slave holder is gone.
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("/dev/pts/") && text.contains("xterm"),
        "{text:?}"
    );
    assert_eq!(started.exec.wait(), 0);
}

#[test]
fn exec_true_is_fast() {
    let c = running_container();
    let mut best = std::time::Duration::MAX;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let id = create(&c.engine, &c.id, config(&["true"])).unwrap();
        let started = start(&c.engine, &id, false).unwrap();
        let _ = read_all(started.stdout);
        assert_eq!(started.exec.wait(), 0);
        best = best.min(t.elapsed());
    }
    eprintln!("exec true (engine, debug build): best {best:?}");
    assert!(best < std::time::Duration::from_millis(500), "{best:?}");
}
