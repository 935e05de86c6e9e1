//! `berth builder prune`: removes build cache (step records and cache mounts).

use std::io::{self, BufRead, Write};

use clap::{Args, Subcommand};

use crate::Ctx;
use crate::format::units::human_size;

#[derive(Subcommand, Debug)]
pub enum BuilderCmd {
    /// Remove build cache.
    Prune(PruneArgs),
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Remove all unused build cache, not just dangling ones.
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values (e.g. 'until=24h').
    #[arg(long = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

pub fn builder(ctx: &Ctx, command: BuilderCmd) -> anyhow::Result<i32> {
    match command {
        BuilderCmd::Prune(args) => prune(ctx, &args),
    }
}

fn prune(ctx: &Ctx, args: &PruneArgs) -> anyhow::Result<i32> {
    let warning = if args.all {
        "WARNING! This will remove all build cache."
    } else {
        "WARNING! This will remove all dangling build cache."
    };
    if !args.force && !confirm(warning)? {
        return Ok(0);
    }
    let pairs = super::ps::parse_filters(&args.filter)?;
    let report = ctx
        .client()?
        .build_prune(args.all, berth_client::api::filters_json(&pairs))?;
    let deleted: Vec<&str> = report["CachesDeleted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    if !deleted.is_empty() {
        println!("Deleted build cache objects:");
        for id in deleted {
            println!("{id}");
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        human_size(report["SpaceReclaimed"].as_f64().unwrap_or(0.0))
    );
    Ok(0)
}

fn confirm(warning: &str) -> anyhow::Result<bool> {
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    io::stdout().flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
