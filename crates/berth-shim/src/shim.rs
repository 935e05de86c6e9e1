//! The shim's life. Setup image: detach, bring the container up, re-exec into the supervise
//! image (see `reexec`). Supervise image: report readiness, supervise, record the exit, clean up.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;

use crate::args::Args;
use crate::attach::AttachHub;
use crate::control::ControlServer;
use crate::daemon::{self, Reporter};
use crate::exit::ExitRecord;
use crate::json;
use crate::jsonlog::JsonLog;
use crate::paths::{self, ATTACH_SOCKET, CONTROL_SOCKET, READY_FILE};
use crate::reexec::{self, Handover, HandoverFds, ReexecError};
use crate::setup::{self, Running};
use crate::supervise::{Finished, Supervisor};
use crate::sys;

/// How long `--wait-attach` holds the container's output for the first attacher.
const WAIT_ATTACH: std::time::Duration = std::time::Duration::from_secs(10);

/// A failure to report: message and the starter's exit code.
type Failure = (String, i32);

fn failure(e: &dyn std::fmt::Display) -> Failure {
    (e.to_string(), 1)
}

/// Runs the `berth-shim` binary; returns the process exit code.
pub fn main_entry() -> i32 {
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    let args = match Args::parse(argv.clone()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("berth-shim: {e}");
            return 2;
        }
    };
    sys::ignore(libc::SIGPIPE);
    sys::ignore(libc::SIGHUP);
    if let Some(fds) = args.supervise {
        return supervise(&args, fds);
    }
    // CVE-2019-5736: the init runs our image until it execs; make that image unwritable.
    if let Err(e) = berth_runtime::selfexe::ensure_read_only() {
        eprintln!("berth-shim: {e}");
        return 1;
    }
    if let Err(e) = std::fs::create_dir_all(&args.state_dir) {
        eprintln!("berth-shim: state dir {}: {e}", args.state_dir.display());
        return 1;
    }
    let mut reporter = match daemon::detach() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("berth-shim: detaching: {e}");
            return 1;
        }
    };
    let failed = match prepare(&args) {
        Ok(handover) => {
            let init_pid = handover.init_pid;
            let error = match reporter.duplicate() {
                Some(report) => reexec::exec_supervisor(argv, handover, report),
                None => ReexecError::NoReportPipe,
            };
            abandon(&args, init_pid);
            failure(&error)
        }
        Err(failed) => failed,
    };
    report_failure(&mut reporter, &args.state_dir, &failed);
    failed.1
}

/// Sockets bound, log openable, container created and started.
fn prepare(args: &Args) -> Result<Handover, Failure> {
    let bind = |name: &str| {
        let path = paths::in_state_dir(&args.state_dir, name);
        let _ = std::fs::remove_file(&path);
        let listener =
            UnixListener::bind(&path).map_err(|e| failure(&format!("{}: {e}", path.display())))?;
        // Whoever can connect can kill the container or type into it: owner only.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| failure(&format!("{}: {e}", path.display())))?;
        Ok(listener)
    };
    let attach = bind(ATTACH_SOCKET)?;
    let control = bind(CONTROL_SOCKET)?;
    // Opened here so a bad log path fails before the container exists.
    if let Some(log) = args.log.clone() {
        JsonLog::open(log).map_err(|e| failure(&e))?;
    }
    // Before create, so the init (and its orphans) are ours to reap.
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(|e| failure(&format!("becoming a child subreaper: {e}")))?;
    let Running {
        pid,
        cgroups_path,
        stdio,
    } = setup::bring_up(args).map_err(|e| (e.to_string(), e.exit_code()))?;
    Ok(Handover {
        init_pid: pid,
        cgroups_path,
        stdio,
        attach,
        control,
    })
}

/// The supervise image: adopt the hand-over, report readiness, supervise, finish.
fn supervise(args: &Args, fds: HandoverFds) -> i32 {
    let cgroups_path = args.cgroups_path.clone().unwrap_or_default();
    let adopted = match fds.adopt(cgroups_path) {
        Ok(a) => a,
        Err(e) => {
            // Nothing to report through: the fds are not ours. Do not leave a container behind.
            abandon(args, fds.init_pid);
            eprintln!("berth-shim: {e}");
            return 1;
        }
    };
    let mut reporter = Reporter::new(adopted.report);
    let h = adopted.handover;
    match start_supervisor(args, h.init_pid, h.stdio, h.attach, h.control) {
        Ok(supervisor) => {
            let line = format!(
                "{{\"pid\":{},\"shim_pid\":{}}}",
                h.init_pid,
                std::process::id()
            );
            let _ = paths::write_atomic(&args.state_dir, READY_FILE, line.as_bytes());
            reporter.send(line.as_bytes());
            drop(reporter);
            let mut supervisor = supervisor;
            if args.wait_attach {
                // The starter has reported; the daemon connects its attacher now. The
                // container's output waits in its pipe or pty meanwhile.
                supervisor.wait_for_attacher(WAIT_ATTACH);
            }
            let finished = supervisor.run();
            finish(args, &h.cgroups_path, finished);
            0
        }
        Err(failed) => {
            abandon(args, h.init_pid);
            report_failure(&mut reporter, &args.state_dir, &failed);
            failed.1
        }
    }
}

fn start_supervisor(
    args: &Args,
    init_pid: i32,
    stdio: setup::Stdio,
    attach: UnixListener,
    control: UnixListener,
) -> Result<Supervisor, Failure> {
    // Idempotent (the attribute survives exec), but cheap insurance.
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(|e| failure(&format!("becoming a child subreaper: {e}")))?;
    let signals =
        sys::signalfd(&[libc::SIGCHLD]).map_err(|e| failure(&format!("signalfd: {e}")))?;
    let attach = AttachHub::new(attach, args.tty).map_err(|e| failure(&e))?;
    let control = ControlServer::new(control).map_err(|e| failure(&e))?;
    let log = args
        .log
        .clone()
        .map(JsonLog::open)
        .transpose()
        .map_err(|e| failure(&e))?;
    let mut supervisor =
        Supervisor::new(init_pid, args.stdin, signals, stdio, log, attach, control);
    supervisor.stdin_once = args.stdin_once;
    Ok(supervisor)
}

/// The container cannot be supervised: kill and delete it rather than leave it unattended.
fn abandon(args: &Args, init_pid: i32) {
    let _ = sys::kill(init_pid, libc::SIGKILL);
    let _ = berth_runtime::container::delete(&args.runtime_root, &args.id, true);
    let _ = sys::try_wait(init_pid);
}

fn report_failure(reporter: &mut Reporter, state_dir: &Path, (message, code): &Failure) {
    let mut line = b"{\"error\":".to_vec();
    json::push_str(&mut line, message.as_bytes());
    line.extend_from_slice(format!(",\"exit_code\":{code}}}").as_bytes());
    reporter.send(&line);
    remove_sockets(state_dir);
}

/// After the init exited: OOM check (before the cgroup goes), delete, then exit.json last, so
/// a reader of exit.json finds the container fully gone.
fn finish(args: &Args, cgroups_path: &str, finished: Finished) {
    let oom_killed = berth_cgroups::manager(cgroups_path)
        .and_then(|m| m.oom_kill_count())
        .is_ok_and(|n| n > 0);
    let _ = berth_runtime::container::delete(&args.runtime_root, &args.id, true);
    remove_sockets(&args.state_dir);
    let signal = match finished.exit {
        sys::Exit::Signal(s) => Some(s),
        sys::Exit::Code(_) => None,
    };
    let record = ExitRecord {
        exit_code: finished.exit.code(),
        signal,
        oom_killed,
        finished_at: berth_runtime::container::rfc3339_nano(finished.at),
    };
    let _ = record.save(&args.state_dir);
}

fn remove_sockets(state_dir: &Path) {
    for name in [ATTACH_SOCKET, CONTROL_SOCKET] {
        let _ = std::fs::remove_file(paths::in_state_dir(state_dir, name));
    }
}
