//! Ptys: open, pass the master over a console socket (runc's protocol), size, and make the
//! slave a child's controlling terminal (as root).

mod process_support;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use berth_runtime::process::console;
use oci_spec::runtime::BoxBuilder;
use process_support::{busybox, exec_in_child_own_stdio};

/// Reads from a pty master until `needle` shows up (or panics after a few seconds).
fn read_until(master: &mut std::fs::File, needle: &str) -> String {
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        assert!(
            std::time::Instant::now() < deadline,
            "never saw {needle:?}: {seen:?}"
        );
        let mut fds = [rustix::event::PollFd::new(
            &*master,
            rustix::event::PollFlags::IN,
        )];
        let timeout = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        };
        if rustix::event::poll(&mut fds, Some(&timeout)).unwrap() == 0 {
            continue;
        }
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            // EIO: every slave fd is closed (the child is gone).
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) => panic!("read master: {e}"),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn master_travels_over_the_console_socket_and_carries_the_slave_output() {
    berth_testutil::require_root();
    let dir = tempfile::Builder::new()
        .prefix("berth-process-console-")
        .tempdir()
        .unwrap();
    let socket = dir.path().join("console.sock");
    let listener = UnixListener::bind(&socket).unwrap();

    let pty = console::open_pty().unwrap();
    let slave_name = console::slave_path(&pty.master).unwrap();
    assert!(
        slave_name.starts_with("/dev/pts/"),
        "{}",
        slave_name.display()
    );
    let sender = std::thread::spawn({
        let socket = socket.clone();
        move || console::send_master(&socket, &pty.master).map(|()| pty)
    });
    let received = console::recv_master(&listener).unwrap();
    let pty = sender.join().unwrap().unwrap();
    drop(pty.master);

    // The received fd is the same pty: its slave name matches, data flows, size round-trips.
    assert_eq!(console::slave_path(&received).unwrap(), slave_name);
    console::set_size(
        &received,
        &BoxBuilder::default()
            .width(132u64)
            .height(43u64)
            .build()
            .unwrap(),
    )
    .unwrap();
    let size = rustix::termios::tcgetwinsize(&pty.slave).unwrap();
    assert_eq!((size.ws_col, size.ws_row), (132, 43));

    let mut slave = std::fs::File::from(pty.slave);
    slave.write_all(b"hello from the slave\n").unwrap();
    let mut master = std::fs::File::from(received);
    assert!(read_until(&mut master, "hello from the slave").contains("hello from the slave"));
}

#[test]
fn runc_payload_is_the_pty_name() {
    berth_testutil::require_root();
    let dir = tempfile::Builder::new()
        .prefix("berth-process-console-")
        .tempdir()
        .unwrap();
    let socket = dir.path().join("console.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let pty = console::open_pty().unwrap();
    let expected = console::slave_path(&pty.master).unwrap();
    let sender = std::thread::spawn(move || console::send_master(&socket, &pty.master));
    let (mut stream, _): (UnixStream, _) = listener.accept().unwrap();
    let mut payload = Vec::new();
    stream.read_to_end(&mut payload).unwrap();
    sender.join().unwrap().unwrap();
    assert_eq!(
        String::from_utf8(payload).unwrap(),
        expected.to_str().unwrap()
    );
}

#[test]
fn slave_becomes_the_controlling_terminal_and_stdio() {
    berth_testutil::require_root();
    let pty = console::open_pty().unwrap();
    let slave_name = console::slave_path(&pty.master).unwrap();
    console::set_size(
        &pty.master,
        &BoxBuilder::default()
            .width(100u64)
            .height(30u64)
            .build()
            .unwrap(),
    )
    .unwrap();
    let master = pty.master;
    let slave = pty.slave;
    // The reader hands the master back instead of closing it: closing it would hang up the
    // terminal and SIGHUP the child before it exits.
    let reader = std::thread::spawn(move || {
        let mut master = std::fs::File::from(master);
        let seen = read_until(&mut master, "size=30 100");
        (seen, master)
    });
    // `tty` prints the controlling terminal of stdin; `stty size` reads the window size; the
    // session id equals the pid only after setsid.
    let outcome = exec_in_child_own_stdio(
        || console::attach_as_controlling(slave).map_err(|e| e.to_string()),
        &[
            busybox(),
            "sh",
            "-c",
            "echo tty=$(tty) sid_is_pid=$(test $(cut -d' ' -f6 /proc/$$/stat) = $$ && echo yes) size=$(stty size)",
        ],
    );
    let (seen, _master) = reader.join().unwrap();
    // stdout went to the pty, not to the harness pipe.
    assert_eq!(
        outcome,
        process_support::Outcome::Exited {
            code: 0,
            report: String::new()
        }
    );
    assert!(
        seen.contains(&format!("tty={}", slave_name.display())),
        "{seen}"
    );
    assert!(seen.contains("sid_is_pid=yes"), "{seen}");
    assert!(seen.contains("size=30 100"), "{seen}");
}

#[test]
fn oversized_window_is_rejected() {
    berth_testutil::require_root();
    let pty = console::open_pty().unwrap();
    let err = console::set_size(
        &pty.master,
        &BoxBuilder::default()
            .width(70_000u64)
            .height(10u64)
            .build()
            .unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "console size 70000x10 does not fit a terminal (max 65535x65535)"
    );
}
