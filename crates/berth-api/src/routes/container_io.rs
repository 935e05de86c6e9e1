//! Container I/O and inspection routes under `/containers/{id}/…`: logs, top, stats, export,
//! changes, archive. `containers.rs` hands over what it does not match.

use crate::http::{self, Req, Resp};
use crate::router::{Ctx, not_found};

pub async fn handle(ctx: Ctx, _req: Req) -> http::Result<Resp> {
    Err(not_found(&ctx))
}
