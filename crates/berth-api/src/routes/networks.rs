//! Routes under `/networks` (filled in by the networking work).

use crate::http::{self, Req, Resp};
use crate::router::{Ctx, not_found};

pub async fn handle(ctx: Ctx, _req: Req) -> http::Result<Resp> {
    Err(not_found(&ctx))
}
