//! `docker ps`'s STATUS column: "Up 3 seconds", "Exited (0) 2 minutes ago", "Created".

use super::record::{State, Status};
use crate::health::Status as HealthStatus;

/// Docker's `units.HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    let minutes = secs / 60;
    let hours = (secs as f64 / 3600.0 + 0.5) as i64;
    match secs {
        s if s < 1 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", secs / 3600 / 24 / 365),
    }
}

/// The status text for `state` (with its health check's status, if any) at Unix time `now`.
pub fn status_text(state: &State, health: Option<HealthStatus>, now: i64) -> String {
    let since = |t: &str| berth_oci::time::parse_rfc3339(t).map(|at| human_duration(now - at));
    match state.status {
        Status::Created => "Created".into(),
        Status::Running => {
            let up = since(&state.started_at).unwrap_or_default();
            match health {
                Some(HealthStatus::Starting) => format!("Up {up} (health: starting)"),
                Some(h) => format!("Up {up} ({})", h.as_str()),
                None => format!("Up {up}"),
            }
        }
        Status::Paused => format!(
            "Up {} (Paused)",
            since(&state.started_at).unwrap_or_default()
        ),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            state.exit_code,
            since(&state.finished_at).unwrap_or_default()
        ),
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
        Status::Exited => match since(&state.finished_at) {
            Some(ago) if state.finished_at != super::record::ZERO_TIME => {
                format!("Exited ({}) {ago} ago", state.exit_code)
            }
            _ => format!("Exited ({})", state.exit_code),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_docker() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(3), "3 seconds");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(150), "2 minutes");
        assert_eq!(human_duration(3 * 3600), "3 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
        let base = berth_oci::time::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let mut state = State {
            status: Status::Running,
            started_at: "2026-01-01T00:00:00.123Z".into(),
            ..State::default()
        };
        assert_eq!(status_text(&state, None, base + 3), "Up 3 seconds");
        assert_eq!(
            status_text(&state, Some(HealthStatus::Starting), base + 3),
            "Up 3 seconds (health: starting)"
        );
        assert_eq!(
            status_text(&state, Some(HealthStatus::Unhealthy), base + 3),
            "Up 3 seconds (unhealthy)"
        );
        state.status = Status::Restarting;
        state.exit_code = 1;
        state.finished_at = "2026-01-01T00:00:01Z".into();
        assert_eq!(
            status_text(&state, None, base + 3),
            "Restarting (1) 2 seconds ago"
        );
        state.status = Status::Exited;
        state.exit_code = 3;
        state.finished_at = "2026-01-01T00:00:00Z".into();
        assert_eq!(
            status_text(&state, None, base + 120),
            "Exited (3) 2 minutes ago"
        );
        state.status = Status::Created;
        assert_eq!(status_text(&state, None, base), "Created");
    }
}
