//! `/_ping`, `/version`, `/info`, `/system/df`, `/events`.

use hyper::{Method, StatusCode};
use serde_json::json;

use berth_engine::containers::Status;

use crate::http::{self, Req, Resp};
use crate::router::{Ctx, not_found};

pub async fn handle(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let segs: Vec<&str> = ctx.segments.iter().map(String::as_str).collect();
    match (&ctx.method, segs.as_slice()) {
        (&Method::GET | &Method::HEAD, ["_ping"]) => Ok(ping()),
        (&Method::GET, ["version"]) => Ok(http::json(StatusCode::OK, &version())),
        (&Method::GET, ["info"]) => Ok(http::json(StatusCode::OK, &info(&ctx))),
        (&Method::GET, ["events"]) => super::events::stream(ctx, req).await,
        (&Method::GET, ["system", "df"]) => super::system_df::handle(ctx, req).await,
        _ => Err(not_found(&ctx)),
    }
}

fn ping() -> Resp {
    http::finish(
        hyper::Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "text/plain; charset=utf-8")
            .header("Cache-Control", "no-cache, no-store, must-revalidate")
            .header("Pragma", "no-cache")
            .header("OSType", "linux"),
        http::full("OK"),
    )
}

fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub fn version() -> serde_json::Value {
    let version = env!("CARGO_PKG_VERSION");
    json!({
        "Platform": {"Name": "Berth"},
        "Components": [{
            "Name": "Engine",
            "Version": version,
            "Details": {
                "ApiVersion": crate::API_VERSION,
                "MinAPIVersion": crate::MIN_API_VERSION,
                "Os": "linux",
                "Arch": arch(),
                "KernelVersion": kernel_version(),
            },
        }],
        "Version": version,
        "ApiVersion": crate::API_VERSION,
        "MinAPIVersion": crate::MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch(),
        "KernelVersion": kernel_version(),
        "BuildTime": "",
    })
}

fn info(ctx: &Ctx) -> serde_json::Value {
    let engine = &ctx.engine;
    let images = engine.store.images.list().len();
    let states: Vec<Status> = engine
        .containers
        .all()
        .iter()
        .map(|c| c.snapshot().state.status)
        .collect();
    let count = |want: &[Status]| states.iter().filter(|s| want.contains(s)).count();
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem_total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0);
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    json!({
        "ID": "",
        "Containers": states.len(),
        "ContainersRunning": count(&[Status::Running, Status::Restarting]),
        "ContainersPaused": count(&[Status::Paused]),
        "ContainersStopped": count(&[Status::Created, Status::Exited, Status::Dead, Status::Removing]),
        "Images": images,
        "Driver": "overlay2",
        "DockerRootDir": engine.paths.data_root,
        "KernelVersion": kernel_version(),
        "OperatingSystem": "linux",
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "NCPU": ncpu,
        "MemTotal": mem_total,
        "Name": hostname,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() { "2" } else { "1" },
        "DefaultRuntime": "berth",
        "Runtimes": {"berth": {"path": "berth-runtime"}},
        "LoggingDriver": "json-file",
        "SecurityOptions": ["name=seccomp,profile=default"],
        "Labels": [],
        "Debug": false,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": berth_engine::images::auth::registry_config(&engine.insecure_registries),
        "Swarm": {"LocalNodeState": "inactive"},
    })
}
