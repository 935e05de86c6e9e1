//! The shim's life: detach, bring the container up, report, supervise, record the exit, clean up.

use std::os::unix::net::UnixListener;
use std::path::Path;

use crate::args::Args;
use crate::attach::AttachHub;
use crate::control::ControlServer;
use crate::daemon;
use crate::exit::ExitRecord;
use crate::json;
use crate::jsonlog::JsonLog;
use crate::paths::{self, ATTACH_SOCKET, CONTROL_SOCKET, READY_FILE};
use crate::setup::{self, Running};
use crate::supervise::{Finished, Supervisor};
use crate::sys;

/// Runs the `berth-shim` binary; returns the process exit code.
pub fn main_entry() -> i32 {
    let args = match Args::parse(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("berth-shim: {e}");
            return 2;
        }
    };
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
    sys::ignore(libc::SIGPIPE);
    sys::ignore(libc::SIGHUP);
    match prepare(&args) {
        Ok(Prepared(supervisor, cgroups_path)) => {
            let pid = supervisor.init_pid;
            let line = format!("{{\"pid\":{pid},\"shim_pid\":{}}}", std::process::id());
            let _ = paths::write_atomic(&args.state_dir, READY_FILE, line.as_bytes());
            reporter.send(line.as_bytes());
            drop(reporter);
            // Spec parsing and create were the big allocations; give their pages back.
            sys::trim_heap();
            let finished = supervisor.run();
            finish(&args, &cgroups_path, finished);
            0
        }
        Err((message, code)) => {
            let mut line = b"{\"error\":".to_vec();
            json::push_str(&mut line, message.as_bytes());
            line.extend_from_slice(format!(",\"exit_code\":{code}}}").as_bytes());
            reporter.send(&line);
            remove_sockets(&args.state_dir);
            code
        }
    }
}

/// The supervisor and the container's cgroup path.
struct Prepared(Supervisor, String);

fn prepare(args: &Args) -> Result<Prepared, (String, i32)> {
    let fail = |e: &dyn std::fmt::Display| (e.to_string(), 1);
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(|e| fail(&format!("becoming a child subreaper: {e}")))?;
    // Blocked before create, so an init that exits at once is not missed.
    let signals = sys::signalfd(&[libc::SIGCHLD]).map_err(|e| fail(&format!("signalfd: {e}")))?;
    let bind = |name: &str| {
        let path = paths::in_state_dir(&args.state_dir, name);
        let _ = std::fs::remove_file(&path);
        UnixListener::bind(&path).map_err(|e| fail(&format!("{}: {e}", path.display())))
    };
    let attach = AttachHub::new(bind(ATTACH_SOCKET)?, args.tty).map_err(|e| fail(&e))?;
    let control = ControlServer::new(bind(CONTROL_SOCKET)?).map_err(|e| fail(&e))?;
    let log = args
        .log
        .clone()
        .map(JsonLog::open)
        .transpose()
        .map_err(|e| fail(&e))?;
    let Running {
        pid,
        cgroups_path,
        stdio,
    } = setup::bring_up(args).map_err(|e| (e.to_string(), e.exit_code()))?;
    Ok(Prepared(
        Supervisor::new(pid, signals, stdio, log, attach, control),
        cgroups_path,
    ))
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
