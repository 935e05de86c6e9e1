//! Routes under `/networks`: list, inspect, create, remove, prune, connect, disconnect. The
//! work is `berth_engine::network::NetworkService`'s; events are published here.

use std::collections::HashMap;
use std::sync::Arc;

use bollard_stubs::models::{
    NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse, NetworkDisconnectRequest,
    NetworkPruneResponse,
};
use hyper::{Method, StatusCode};

use berth_engine::Engine;
use berth_engine::network::{self, NetworkRecord};

use crate::error::ApiError;
use crate::filters::Filters;
use crate::http::{self, Req, Resp};
use crate::router::{Ctx, not_found};

pub async fn handle(ctx: Ctx, req: Req) -> http::Result<Resp> {
    let segs: Vec<&str> = ctx.segments.iter().map(String::as_str).collect();
    match (&ctx.method, segs.as_slice()) {
        (&Method::GET, ["networks"]) => list(&ctx, &req).await,
        (&Method::POST, ["networks", "create"]) => create(&ctx, req).await,
        (&Method::POST, ["networks", "prune"]) => prune(&ctx, &req).await,
        (&Method::GET, ["networks", id]) => {
            let id = id.to_string();
            let inspect = blocking(&ctx, move |e| e.network.inspect(&id)).await?;
            Ok(http::json(StatusCode::OK, &inspect))
        }
        (&Method::DELETE, ["networks", id]) => remove(&ctx, id.to_string()).await,
        (&Method::POST, ["networks", id, "connect"]) => connect(&ctx, req, id.to_string()).await,
        (&Method::POST, ["networks", id, "disconnect"]) => {
            disconnect(&ctx, req, id.to_string()).await
        }
        _ => Err(not_found(&ctx)),
    }
}

/// Runs engine code on the blocking pool; its error becomes Docker's status.
async fn blocking<T, E>(
    ctx: &Ctx,
    work: impl FnOnce(&Engine) -> Result<T, E> + Send + 'static,
) -> http::Result<T>
where
    T: Send + 'static,
    E: berth_engine::HasKind + std::fmt::Display + Send + 'static,
{
    let engine = Arc::clone(&ctx.engine);
    tokio::task::spawn_blocking(move || work(&engine))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("network task: {e}"),
            )
        })?
        .map_err(ApiError::from_engine)
}

fn matches(filters: &Filters, record: &NetworkRecord) -> bool {
    let kind = if record.predefined {
        "builtin"
    } else {
        "custom"
    };
    filters.matches("name", |n| record.name.contains(n))
        && filters.matches("id", |id| record.id.starts_with(id))
        && filters.matches("driver", |d| d == record.driver.as_str())
        && filters.matches("type", |t| t == kind)
        && filters.matches_labels("label", &record.labels)
}

async fn list(ctx: &Ctx, req: &Req) -> http::Result<Resp> {
    let query = http::query(req);
    let filters = Filters::parse(query.get("filters").map(String::as_str))?;
    filters.only(&["name", "id", "driver", "label", "type", "dangling", "scope"])?;
    let engine = Arc::clone(&ctx.engine);
    let body = tokio::task::spawn_blocking(move || {
        engine
            .network
            .list()
            .into_iter()
            .filter(|r| matches(&filters, r) && filters.matches("scope", |s| s == "local"))
            .filter(|r| {
                let dangling = !r.predefined && engine.network.containers_on(&r.id).is_empty();
                filters.matches("dangling", |d| (d == "true" || d == "1") == dangling)
            })
            .map(|r| {
                let mut inspect = network::network_inspect_summary(&r);
                inspect.containers = Some(HashMap::new());
                inspect
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("network task: {e}"),
        )
    })?;
    Ok(http::json(StatusCode::OK, &body))
}

async fn create(ctx: &Ctx, req: Req) -> http::Result<Resp> {
    let request: NetworkCreateRequest = http::json_body(req).await?;
    if request.name.is_empty() {
        return Err(ApiError::bad_request("network name is required"));
    }
    let record = blocking(ctx, move |e| e.network.create(&request)).await?;
    ctx.engine
        .events
        .publish(network::event("create", &record, None));
    Ok(http::json(
        StatusCode::CREATED,
        &NetworkCreateResponse {
            id: record.id,
            warning: String::new(),
        },
    ))
}

async fn remove(ctx: &Ctx, id: String) -> http::Result<Resp> {
    let record = blocking(ctx, move |e| e.network.remove(&id)).await?;
    ctx.engine
        .events
        .publish(network::event("destroy", &record, None));
    Ok(http::status(StatusCode::NO_CONTENT))
}

async fn prune(ctx: &Ctx, req: &Req) -> http::Result<Resp> {
    let query = http::query(req);
    let filters = Filters::parse(query.get("filters").map(String::as_str))?;
    filters.only(&["label", "until"])?;
    if !filters.values("until").is_empty() {
        return Err(ApiError::bad_request(
            "the until filter is not supported by Berth's network prune",
        ));
    }
    let engine = Arc::clone(&ctx.engine);
    let removed = tokio::task::spawn_blocking(move || {
        engine
            .network
            .prune(|r| filters.matches_labels("label", &r.labels))
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("network task: {e}"),
        )
    })?;
    for record in &removed {
        ctx.engine
            .events
            .publish(network::event("destroy", record, None));
    }
    // Networks hold no disk space: dockerd reports 0.
    ctx.engine
        .events
        .publish_prune(berth_engine::events::Pruned::Networks, 0);
    Ok(http::json(
        StatusCode::OK,
        &NetworkPruneResponse {
            networks_deleted: Some(removed.into_iter().map(|r| r.name).collect()),
        },
    ))
}

/// Keeps a container's /etc/hosts in step with its endpoints, as Docker's sandbox does:
/// `edit` adds or removes the `address\thostname` record. A failure is logged, not
/// returned: the endpoint itself is already in place.
fn update_hosts(
    engine: &Engine,
    id: &str,
    address: std::net::Ipv4Addr,
    edit: fn(&std::path::Path, std::net::IpAddr, &str) -> Result<(), network::NetError>,
) {
    let Ok(container) = engine.containers.get(id) else {
        return;
    };
    let record = container.snapshot();
    let hostname = record.config.hostname.clone().unwrap_or_default();
    if hostname.is_empty() {
        return;
    }
    let names = network::hosts_file::entry_names(&hostname, record.config.domainname.as_deref());
    let path = engine.paths.container(id).join("hosts");
    if let Err(error) = edit(&path, address.into(), &names) {
        tracing::warn!(container = %id, %error, "updating /etc/hosts");
    }
}

/// The running container's ID, name and namespace path.
fn running_container(engine: &Engine, name_or_id: &str) -> Result<(String, String, i32), ApiError> {
    let container = engine
        .containers
        .get(name_or_id)
        .map_err(ApiError::from_engine)?;
    let record = container.snapshot();
    if record.state.pid <= 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("container {} is not running", record.id),
        ));
    }
    Ok((record.id, record.name, record.state.pid))
}

async fn connect(ctx: &Ctx, req: Req, network_id: String) -> http::Result<Resp> {
    let request: NetworkConnectRequest = http::json_body(req).await?;
    let engine = Arc::clone(&ctx.engine);
    let (record, container) = tokio::task::spawn_blocking(move || {
        let (id, name, pid) = running_container(&engine, &request.container)?;
        let netns = std::path::PathBuf::from(format!("/proc/{pid}/ns/net"));
        let record = engine
            .network
            .connect(
                &id,
                &name,
                &netns,
                &network_id,
                request.endpoint_config.as_ref(),
            )
            .map_err(ApiError::from_engine)?;
        if let Some(address) = engine.network.address_on(&id, &record.id) {
            update_hosts(&engine, &id, address, network::hosts_file::add);
        }
        Ok::<_, ApiError>((record, id))
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("network task: {e}"),
        )
    })??;
    ctx.engine
        .events
        .publish(network::event("connect", &record, Some(&container)));
    Ok(http::status(StatusCode::OK))
}

async fn disconnect(ctx: &Ctx, req: Req, network_id: String) -> http::Result<Resp> {
    let request: NetworkDisconnectRequest = http::json_body(req).await?;
    let engine = Arc::clone(&ctx.engine);
    let (record, container) = tokio::task::spawn_blocking(move || {
        let id = engine
            .containers
            .get(&request.container)
            .map_err(ApiError::from_engine)?
            .snapshot()
            .id;
        let address = engine.network.address_on(&id, &network_id);
        let record = engine
            .network
            .disconnect(&id, &network_id)
            .map_err(ApiError::from_engine)?;
        if let Some(address) = address {
            update_hosts(&engine, &id, address, network::hosts_file::remove);
        }
        Ok::<_, ApiError>((record, id))
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("network task: {e}"),
        )
    })??;
    ctx.engine
        .events
        .publish(network::event("disconnect", &record, Some(&container)));
    Ok(http::status(StatusCode::OK))
}
