//! Exit detection for shims, which are not our children: one thread waits on an epoll set of
//! pidfds and runs each shim's callback once it is gone.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rustix::event::epoll;
use rustix::process::{Pid, PidfdFlags};

pub type ExitCallback = Box<dyn FnOnce() + Send>;

struct Watch {
    pidfd: OwnedFd,
    on_exit: ExitCallback,
}

#[derive(Default)]
struct Inner {
    epoll: OnceLock<OwnedFd>,
    watches: Mutex<HashMap<u64, Watch>>,
    next: AtomicU64,
}

/// Started lazily on the first watch.
#[derive(Default, Clone)]
pub struct Monitor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Monitor")
    }
}

impl Monitor {
    /// Runs `on_exit` (on the monitor thread) once process `pid` is gone; at once, on this
    /// thread, if it already is (or cannot be watched: better a premature check than none).
    pub fn watch(&self, pid: i32, on_exit: ExitCallback) {
        let Some(pid) = Pid::from_raw(pid) else {
            return on_exit();
        };
        let pidfd = match rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
            Ok(fd) => fd,
            Err(e) => {
                if e != rustix::io::Errno::SRCH {
                    tracing::warn!(pid = pid.as_raw_nonzero().get(), error = %e, "pidfd_open");
                }
                return on_exit();
            }
        };
        let Some(epoll_fd) = self.epoll() else {
            return on_exit();
        };
        let token = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let mut watches = self.inner.watches.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = epoll::add(
            epoll_fd,
            &pidfd,
            epoll::EventData::new_u64(token),
            epoll::EventFlags::IN,
        ) {
            drop(watches);
            tracing::warn!(error = %e, "epoll_ctl");
            return on_exit();
        }
        watches.insert(token, Watch { pidfd, on_exit });
    }

    fn epoll(&self) -> Option<&OwnedFd> {
        if let Some(fd) = self.inner.epoll.get() {
            return Some(fd);
        }
        let fd = epoll::create(epoll::CreateFlags::CLOEXEC)
            .inspect_err(|e| tracing::error!(error = %e, "epoll_create"))
            .ok()?;
        if self.inner.epoll.set(fd).is_ok() {
            let inner = self.inner.clone();
            let spawned = std::thread::Builder::new()
                .name("shim-monitor".into())
                .spawn(move || run(&inner));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "starting the shim monitor thread");
            }
        }
        self.inner.epoll.get()
    }
}

fn run(inner: &Inner) {
    let Some(epoll_fd) = inner.epoll.get() else {
        return;
    };
    let mut events: Vec<epoll::Event> = Vec::with_capacity(32);
    loop {
        events.clear();
        match epoll::wait(epoll_fd, rustix::buffer::spare_capacity(&mut events), None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                tracing::error!(error = %e, "epoll_wait; shim exits are no longer seen");
                return;
            }
        }
        for event in &events {
            let token = event.data.u64();
            let watch = inner
                .watches
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&token);
            if let Some(watch) = watch {
                let _ = epoll::delete(epoll_fd, &watch.pidfd);
                (watch.on_exit)();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn reports_exits_of_running_and_gone_processes() {
        let monitor = Monitor::default();
        let mut child = std::process::Command::new("sleep")
            .arg("0.2")
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        monitor.watch(
            child.id() as i32,
            Box::new(move || tx.send("child").unwrap()),
        );
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        // Our own child stays a zombie until reaped, and a zombie's pidfd is readable.
        child.wait().unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "child");
        // A pid that does not exist: called at once.
        monitor.watch(i32::MAX - 1, Box::new(move || tx2.send("gone").unwrap()));
        assert_eq!(rx.recv_timeout(Duration::from_secs(1)).unwrap(), "gone");
    }
}
