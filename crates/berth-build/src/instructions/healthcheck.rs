//! HEALTHCHECK: `NONE`, or `CMD` with Go-style durations and a retry count.

use std::time::Duration;

use super::convert::command_line;
use super::duration::parse_go_duration;
use super::error::InstructionErrorKind as K;
use super::flags::{FlagKind, Flags};
use super::types::Healthcheck;
use crate::parser::Node;

pub(super) fn healthcheck(node: &Node, args: &[String]) -> Result<Healthcheck, K> {
    let Some((kind, rest)) = args.split_first() else {
        return Err(K::AtLeastOneArgument {
            instruction: "HEALTHCHECK",
        });
    };
    let kind = kind.to_uppercase();
    if kind == "NONE" {
        if !rest.is_empty() {
            return Err(K::HealthcheckNoneArguments);
        }
        return Ok(Healthcheck::None);
    }
    let flags = Flags::parse(
        "HEALTHCHECK",
        &node.flags,
        &[
            ("interval", FlagKind::String),
            ("timeout", FlagKind::String),
            ("start-period", FlagKind::String),
            ("start-interval", FlagKind::String),
            ("retries", FlagKind::String),
        ],
    )?;
    if kind != "CMD" {
        return Err(K::HealthcheckUnknownType { kind });
    }
    if rest.is_empty() {
        return Err(K::HealthcheckMissingCommand);
    }
    let duration = |flag: &str| -> Result<Option<Duration>, K> {
        let Some(value) = flags.string(flag).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let parsed = parse_go_duration(&value).ok_or_else(|| K::InvalidDuration {
            instruction: "HEALTHCHECK",
            flag: flag.to_string(),
            value: value.clone(),
        })?;
        if !parsed.is_zero() && parsed < Duration::from_millis(1) {
            return Err(K::DurationTooShort {
                instruction: "HEALTHCHECK",
                flag: flag.to_string(),
                value,
            });
        }
        Ok(Some(parsed))
    };
    let retries = match flags.string("retries").filter(|v| !v.is_empty()) {
        None => None,
        Some(value) => Some(
            value
                .parse::<u32>()
                .ok()
                .filter(|r| i32::try_from(*r).is_ok())
                .ok_or_else(|| K::InvalidFlagValue {
                    instruction: "HEALTHCHECK",
                    flag: "retries".to_string(),
                    value: value.clone(),
                    reason: "want a non-negative integer".to_string(),
                })?,
        ),
    };
    Ok(Healthcheck::Check {
        test: command_line(node, rest),
        interval: duration("interval")?,
        timeout: duration("timeout")?,
        start_period: duration("start-period")?,
        start_interval: duration("start-interval")?,
        retries,
    })
}
