//! `GET /containers/{id}/top`: the host's `ps` (with the client's `ps_args`, `-ef` by default)
//! filtered to the processes of the container's cgroup, as Docker does it.

use bollard_stubs::models::ContainerTopResponse;

use crate::error::{ErrorKind, HasKind};

#[derive(Debug, thiserror::Error)]
pub enum TopError {
    #[error("listing the container's processes: {0}")]
    Cgroup(#[from] berth_cgroups::CgroupError),
    #[error("running ps: {0}")]
    Spawn(std::io::Error),
    #[error("ps failed: {stderr}")]
    Ps { stderr: String },
    #[error("Couldn't find PID field in ps output")]
    NoPidColumn,
    #[error("Unexpected pid '{0}'")]
    BadPid(String),
}

impl HasKind for TopError {
    fn kind(&self) -> ErrorKind {
        match self {
            TopError::Ps { .. } | TopError::NoPidColumn | TopError::BadPid(_) => {
                ErrorKind::InvalidArgument
            }
            _ => ErrorKind::System,
        }
    }
}

/// Runs `ps` for the processes of the cgroup at `cgroups_path`.
pub fn top(cgroups_path: &str, ps_args: &str) -> Result<ContainerTopResponse, TopError> {
    let pids = berth_cgroups::manager(cgroups_path)?.pids()?;
    let args: Vec<&str> = ps_args.split_whitespace().collect();
    let pid_list = pids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    // `-q PIDS` keeps ps from reading every process on the host; some options (`f`) refuse it,
    // so retry without, as Docker does.
    let mut output = std::process::Command::new("ps")
        .args(&args)
        .args(["-q", &pid_list])
        .output()
        .map_err(TopError::Spawn)?;
    if !output.status.success() || pids.is_empty() {
        output = std::process::Command::new("ps")
            .args(&args)
            .output()
            .map_err(TopError::Spawn)?;
    }
    if !output.status.success() {
        return Err(TopError::Ps {
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    parse_ps_output(&String::from_utf8_lossy(&output.stdout), &pids)
}

/// Titles from the header; rows whose PID is in `pids` (and the thread rows, `-`, after
/// them), with overhanging fields merged into the last column.
pub fn parse_ps_output(output: &str, pids: &[i32]) -> Result<ContainerTopResponse, TopError> {
    let mut lines = output.lines();
    let titles: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let pid_index = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or(TopError::NoPidColumn)?;
    let mut processes = Vec::new();
    let mut in_container = false;
    for line in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(pid) = fields.get(pid_index) else {
            continue;
        };
        if *pid == "-" {
            if in_container {
                processes.push(row(&fields, titles.len()));
            }
            continue;
        }
        let pid: i32 = pid.parse().map_err(|_| TopError::BadPid(pid.to_string()))?;
        in_container = pids.contains(&pid);
        if in_container {
            processes.push(row(&fields, titles.len()));
        }
    }
    Ok(ContainerTopResponse {
        titles: Some(titles),
        processes: Some(processes),
    })
}

fn row(fields: &[&str], columns: usize) -> Vec<String> {
    let split = columns.saturating_sub(1).min(fields.len());
    let mut out: Vec<String> = fields[..split].iter().map(|f| f.to_string()).collect();
    out.push(fields[split..].join(" "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_ps_output_to_the_container() {
        let out = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 08:00 ? 00:00:01 /sbin/init\nroot 42 1 0 08:01 ? 00:00:00 sleep 100 now\nroot - - 0 08:01 ? 00:00:00 -\nroot 43 1 0 08:01 ? 00:00:00 top\n";
        let top = parse_ps_output(out, &[42]).unwrap();
        assert_eq!(top.titles.unwrap().len(), 8);
        let rows = top.processes.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][1], "42");
        assert_eq!(rows[0][7], "sleep 100 now");
        assert!(matches!(
            parse_ps_output("USER COMMAND\n", &[1]),
            Err(TopError::NoPidColumn)
        ));
    }

    #[test]
    fn runs_ps_for_a_real_cgroup() {
        berth_testutil::require_root();
        let path = format!("/berth-io-top-{}", std::process::id());
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let cgroup = berth_cgroups::manager(&path).unwrap();
        let result = cgroup
            .apply(child.id() as i32)
            .map_err(|e| e.to_string())
            .and_then(|()| top(&path, "-ef").map_err(|e| e.to_string()));
        let _ = child.kill();
        let _ = child.wait();
        let _ = cgroup.destroy();
        let top = result.unwrap();
        let rows = top.processes.unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0][1], child.id().to_string());
        assert_eq!(rows[0].last().unwrap(), "sleep 30");
    }
}
