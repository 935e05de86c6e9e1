//! `logs`: GET /containers/{id}/logs, demultiplexed unless the container has a TTY.

use std::io::{self, Read, Write};

use berth_client::api::containers::LogsOptions;
use berth_client::mux::Demux;

use crate::Ctx;
use crate::cli::LogsArgs;
use crate::format::units::{api_timestamp, now_unix};

pub fn logs(ctx: &Ctx, args: LogsArgs) -> anyhow::Result<i32> {
    let client = ctx.client()?;
    let info = client.container_inspect(&args.container)?;
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let id = info["Id"].as_str().unwrap_or(&args.container).to_owned();
    let mut body = client.container_logs(
        &id,
        &LogsOptions {
            follow: args.follow,
            stdout: true,
            stderr: true,
            timestamps: args.timestamps,
            tail: args.tail,
            since: args.since.map(|s| api_timestamp(&s, now_unix())),
            until: args.until.map(|s| api_timestamp(&s, now_unix())),
        },
    )?;
    if tty {
        let mut out = io::stdout().lock();
        let mut buf = [0u8; 32 * 1024];
        loop {
            let n = body.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
            out.flush()?;
        }
    } else {
        Demux::new(body).copy_to(&mut io::stdout().lock(), &mut io::stderr().lock())?;
    }
    Ok(0)
}
