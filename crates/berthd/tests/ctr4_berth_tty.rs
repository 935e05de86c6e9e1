//! The `berth` CLI's own terminal handling: `run -it` and `exec -it` send the terminal's size
//! at start and again on SIGWINCH, so the container's shell sees the new size.

mod common;
mod ctr4_registry;
mod ctr4_support;

use common::Daemon;
use ctr4_support::{Pty, eventually, wait_exit};

#[test]
fn berth_run_and_exec_follow_sigwinch() {
    let d = Daemon::start();
    let mut pty = Pty::new(30, 100);
    let mut run = pty.spawn(d.berth_cmd(&[
        "run",
        "-it",
        "--network",
        "none",
        "--name",
        "wz",
        "busybox",
        "sh",
    ]));
    pty.expect("# ");
    pty.send(b"stty size\r");
    pty.expect("30 100");
    pty.resize(41, 123);
    common::signal(run.id() as i32, rustix::process::Signal::WINCH);
    eventually("the container's terminal to be resized", || {
        d.docker(&["exec", "wz", "stty", "-F", "/dev/pts/0", "size"])
            .stdout
            .starts_with(b"41 123")
    });
    pty.send(b"stty size\r");
    pty.expect("41 123");

    let mut epty = Pty::new(22, 77);
    let mut exec = epty.spawn(d.berth_cmd(&["exec", "-it", "wz", "sh"]));
    epty.expect("# ");
    epty.send(b"stty size\r");
    epty.expect("22 77");
    epty.resize(26, 88);
    common::signal(exec.id() as i32, rustix::process::Signal::WINCH);
    let mut seen = false;
    for _ in 0..50 {
        epty.send(b"stty size\r");
        let shown = epty.expect("# ");
        if shown.contains("26 88") {
            seen = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(seen, "the exec's terminal never became 26x88");
    epty.send(b"exit 4\r");
    assert_eq!(wait_exit(&mut exec).code(), Some(4));

    pty.send(b"exit 5\r");
    assert_eq!(wait_exit(&mut run).code(), Some(5));
}
