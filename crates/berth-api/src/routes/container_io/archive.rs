//! `docker cp` (`HEAD`/`GET`/`PUT /containers/{id}/archive?path=`) and `docker export`.

use hyper::{Response, StatusCode};

use berth_engine::io::archive::{self as engine_archive, PathStat, PutOptions, Rootfs};

use super::stream::{ChannelWriter, bounded_body};
use super::{blocking, container};
use crate::error::ApiError;
use crate::http::{self, Req, Resp};
use crate::router::Ctx;

const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

fn open_rootfs(ctx: &Ctx, id: &str) -> http::Result<Rootfs> {
    let c = container(ctx, id)?;
    Rootfs::open(&ctx.engine.paths.rootfs(&c.id), id).map_err(ApiError::from_engine)
}

fn path_arg(req: &Req) -> http::Result<String> {
    http::query(req)
        .remove("path")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad_request("bad parameter: path cannot be empty"))
}

fn stat_header(stat: &PathStat) -> String {
    base64(&serde_json::to_vec(stat).unwrap_or_default())
}

/// `HEAD …/archive`: the stat header only (404 without a body when missing, as Docker).
pub async fn head(ctx: &Ctx, id: &str, req: &Req) -> http::Result<Resp> {
    let rootfs = open_rootfs(ctx, id)?;
    let path = path_arg(req)?;
    match blocking(move || rootfs.stat(&path).map_err(ApiError::from_engine)).await {
        Ok(stat) => Ok(http::finish(
            Response::builder()
                .status(StatusCode::OK)
                .header(STAT_HEADER, stat_header(&stat)),
            http::empty(),
        )),
        Err(e) if e.status == StatusCode::NOT_FOUND => Ok(http::status(StatusCode::NOT_FOUND)),
        Err(e) => Err(e),
    }
}

/// `GET …/archive`: a tar of the path under its base name, streamed.
pub async fn get(ctx: &Ctx, id: &str, req: &Req) -> http::Result<Resp> {
    let rootfs = open_rootfs(ctx, id)?;
    let path = path_arg(req)?;
    let (stat, prepared) =
        blocking(move || rootfs.prepare_get(&path).map_err(ApiError::from_engine)).await?;
    let (tx, body) = bounded_body();
    tokio::spawn(blocking(move || {
        if let Err(e) = prepared.write_to(ChannelWriter::new(tx)) {
            tracing::debug!(error = %e, "archive stream ended early");
        }
        Ok(())
    }));
    Ok(http::finish(
        Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/x-tar")
            .header(STAT_HEADER, stat_header(&stat)),
        body,
    ))
}

/// How much of a rejected upload is still read before answering (see `put`).
const DRAIN_LIMIT: u64 = 16 << 20;

/// `PUT …/archive?path=&noOverwriteDirNonDir=&copyUIDGID=`: extracts the request's tar into
/// the directory `path`.
pub async fn put(ctx: &Ctx, id: &str, req: Req) -> http::Result<Resp> {
    let c = container(ctx, id)?;
    let rootfs_path = ctx.engine.paths.rootfs(&c.id);
    let rootfs = open_rootfs(ctx, id)?;
    let path = path_arg(&req)?;
    let q = http::query(&req);
    let no_overwrite_dir_non_dir = http::query_bool(&q, "noOverwriteDirNonDir");
    let copy_uid_gid = http::query_bool(&q, "copyUIDGID");
    let user = c.snapshot().config.user.unwrap_or_default();
    let mut reader = http::body_reader(req);
    blocking(move || {
        let owner = if copy_uid_gid {
            engine_archive::copy_owner(&rootfs_path, &user).map_err(ApiError::from_engine)?
        } else {
            None
        };
        let opts = PutOptions {
            no_overwrite_dir_non_dir,
            owner,
        };
        let extracted = rootfs.extract(&path, &mut reader, opts);
        if extracted.is_err() {
            // Read what the client is still sending (tar padding, say) before we answer: a
            // reply and close while it writes reaches the docker CLI as "broken pipe" instead
            // of our error. Bounded, so a huge rejected upload is cut off.
            let _ = std::io::copy(
                &mut std::io::Read::take(&mut reader, DRAIN_LIMIT),
                &mut std::io::sink(),
            );
        }
        extracted.map_err(ApiError::from_engine)
    })
    .await?;
    Ok(http::status(StatusCode::OK))
}

/// `GET /containers/{id}/export`: the rootfs as a tar, streamed.
pub async fn export(ctx: &Ctx, id: &str) -> http::Result<Resp> {
    let rootfs = open_rootfs(ctx, id)?;
    let (tx, body) = bounded_body();
    tokio::spawn(blocking(move || {
        if let Err(e) = rootfs.export(ChannelWriter::new(tx)) {
            tracing::debug!(error = %e, "export stream ended early");
        }
        Ok(())
    }));
    Ok(http::finish(
        Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/x-tar"),
        body,
    ))
}

/// Standard base64 with padding (Go's `base64.StdEncoding`, which the docker CLI decodes).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_base64_like_go() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"{\"name\":\"a\"}"), "eyJuYW1lIjoiYSJ9");
    }
}
