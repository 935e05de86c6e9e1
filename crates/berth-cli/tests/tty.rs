//! `run -it` through a real pseudo-terminal: raw mode, keystrokes to the container's shell,
//! the exit status back, the detach keys, and the terminal restored afterwards.

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{BUSYBOX, Dockerd, ok};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{self, LocalModes};

struct Pty {
    master: std::fs::File,
    slave: OwnedFd,
}

fn pty() -> Pty {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap()
        .into();
    Pty {
        master: std::fs::File::from(master),
        slave,
    }
}

/// Reads from the master until `needle` shows up (or the time runs out).
fn read_until(master: &mut std::fs::File, needle: &str, out: &mut String) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    let fd = master.as_fd().try_clone_to_owned().unwrap();
    rustix::fs::fcntl_setfl(&fd, rustix::fs::OFlags::NONBLOCK).unwrap();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match master.read(&mut buf) {
            Ok(0) => return out.contains(needle),
            Ok(n) => {
                out.push_str(&String::from_utf8_lossy(&buf[..n]));
                if out.contains(needle) {
                    return true;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            // EIO: the slave side is closed (berth exited).
            Err(_) => return out.contains(needle),
        }
    }
    false
}

#[test]
fn interactive_tty_run_and_detach() {
    let d = Dockerd::start("tty");
    let mut p = pty();
    let before = termios::tcgetattr(&p.slave).unwrap();
    assert!(before.local_modes.contains(LocalModes::ICANON));
    let io = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
    let mut child = d
        .berth_cmd(&["run", "-it", "--rm", "--network", "none", BUSYBOX, "sh"])
        .stdin(io(&p.slave))
        .stdout(io(&p.slave))
        .stderr(io(&p.slave))
        .spawn()
        .unwrap();
    let mut seen = String::new();
    assert!(
        read_until(&mut p.master, "# ", &mut seen),
        "no prompt: {seen:?}"
    );
    // Raw mode while attached: no local echo or line editing.
    let during = termios::tcgetattr(&p.slave).unwrap();
    assert!(!during.local_modes.contains(LocalModes::ICANON));
    p.master.write_all(b"echo $((6*7))\r").unwrap();
    assert!(read_until(&mut p.master, "42", &mut seen), "{seen:?}");
    p.master.write_all(b"exit 3\r").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{seen:?}");
    let after = termios::tcgetattr(&p.slave).unwrap();
    assert!(
        after.local_modes.contains(LocalModes::ICANON),
        "terminal not restored"
    );

    // Ctrl-P Ctrl-Q detaches: berth exits 0 and the container keeps running.
    let name = format!("cli-detach-{}", std::process::id());
    let mut p = pty();
    let mut child = d
        .berth_cmd(&[
            "run",
            "-it",
            "--name",
            &name,
            "--network",
            "none",
            BUSYBOX,
            "sh",
        ])
        .stdin(io(&p.slave))
        .stdout(io(&p.slave))
        .stderr(io(&p.slave))
        .spawn()
        .unwrap();
    let mut seen = String::new();
    assert!(
        read_until(&mut p.master, "# ", &mut seen),
        "no prompt: {seen:?}"
    );
    p.master.write_all(b"\x10\x11").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let state = ok(d.berth(&["inspect", "-f", "{{.State.Running}}", &name]));
    assert_eq!(state, "true\n");
    ok(d.berth(&["rm", "-f", &name]));
}
