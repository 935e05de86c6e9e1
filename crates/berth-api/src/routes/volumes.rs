//! Routes under `/volumes` (filled in by the volumes work).

use crate::http::{self, Req, Resp};
use crate::router::{Ctx, not_found};

pub async fn handle(ctx: Ctx, _req: Req) -> http::Result<Resp> {
    Err(not_found(&ctx))
}
