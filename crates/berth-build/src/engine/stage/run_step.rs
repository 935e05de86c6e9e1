//! RUN as a step: the workspace becomes a runtime bundle with the image's Env/WorkingDir/User
//! and the build args in scope; the history line follows BuildKit's format.

use super::{Builder, Built, unknown};
use crate::engine::error::BuildError;
use crate::engine::heredocs::{self, PIPES_DIR};
use crate::engine::network::{self, Attached, StepNetwork};
use crate::engine::paths::{clean_relative, scoped_resolve};
use crate::engine::run::{NetNamespace, RunStep, RunStepError, SpecMount, run_step};
use crate::engine::stubs::MountStubs;
use crate::engine::users::{self, Ids};
use crate::instructions::{CommandLine, Instruction, LocatedInstruction, Network};

impl Builder<'_> {
    pub(super) fn run(
        &mut self,
        state: &mut Built,
        line: usize,
        step: &LocatedInstruction,
        network: Option<Network>,
        build_args: &[(String, String)],
        visiting: &mut Vec<usize>,
    ) -> Result<(), BuildError> {
        let Instruction::Run(run) = &step.instruction else {
            unreachable!("run() is called for RUN only")
        };
        let config = &state.config;
        let heredoc = heredocs::run_command(&run.command, &run.files);
        if let Some(script) = heredoc
            .script
            .as_ref()
            .filter(|s| !heredocs::valid_name(&s.name))
        {
            return Err(BuildError::BadFlag {
                line,
                instruction: "RUN",
                flag: "heredoc",
                value: script.name.clone(),
                reason: "a heredoc delimiter must be usable as a file name",
            });
        }
        let argv = config.argv(&heredoc.command);
        let mut env = config.env();
        let env_keys: Vec<String> = env
            .iter()
            .map(|e| e.split('=').next().unwrap_or("").to_string())
            .collect();
        for (k, v) in build_args {
            if !env_keys.contains(k) {
                env.push(format!("{k}={v}"));
            }
        }
        let cwd = config.working_dir();
        let user = config.user();
        let command_text = match &run.command {
            CommandLine::Shell(s) => s.clone(),
            CommandLine::Exec(a) => format!("{a:?}"),
        };
        let runtime_root = self.opts.runtime_root.clone();
        let echo = self.opts.echo_output;
        let output = self.step_output();
        let setup_failed = |reason: String| BuildError::RunSetup {
            line,
            command: command_text.clone(),
            reason,
        };
        let extra = self.prepare_mounts(&run.mounts, line, visiting)?;
        env.extend(extra.env.iter().cloned());
        let provider = self.network;
        let step_network =
            network::step_network(network, &self.opts.network_mode, provider.is_some());
        let layer = self.fs_step(state, line, "RUN", super::StepBase::Chain, |ws| {
            // Attached for the step only; detached (on drop) before the layer is taken.
            let (netns, hosts, resolv_conf, _attached) = match &step_network {
                StepNetwork::Host => (
                    NetNamespace::Host,
                    network::host_hosts(),
                    network::host_resolv_conf(),
                    None,
                ),
                StepNetwork::Isolated => (
                    NetNamespace::New,
                    network::local_hosts(),
                    network::host_resolv_conf(),
                    None,
                ),
                StepNetwork::Provided(name) => {
                    let provider = provider.ok_or_else(|| {
                        setup_failed(format!(
                            "network {name:?} needs the daemon's network service"
                        ))
                    })?;
                    let attached = Attached::attach(provider, name)
                        .map_err(|e| setup_failed(format!("network {name:?}: {e}")))?;
                    let setup = attached.setup.clone();
                    let netns = match setup.netns {
                        Some(path) => NetNamespace::Join(path),
                        None => NetNamespace::Host,
                    };
                    (netns, setup.hosts, setup.resolv_conf, Some(attached))
                }
            };
            let (hosts_path, resolv_path) =
                network::write_etc_files(ws.dir(), &hosts, &resolv_conf)
                    .map_err(|e| setup_failed(format!("writing /etc/hosts: {e}")))?;
            let mut mounts = vec![
                etc_bind("/etc/hosts", hosts_path),
                etc_bind("/etc/resolv.conf", resolv_path),
            ];
            if let Some(script) = &heredoc.script {
                let path = write_script(ws.dir(), &script.name, &script.content)
                    .map_err(|e| setup_failed(format!("writing the heredoc script: {e}")))?;
                mounts.push(etc_bind(&format!("{PIPES_DIR}/{}", script.name), path));
            }
            mounts.extend(extra.specs.iter().cloned());
            let rootfs = ws.rootfs();
            let ids = if user.is_empty() {
                Ids { uid: 0, gid: 0 }
            } else {
                users::resolve(&rootfs, &user, false).map_err(|e| unknown(line, "RUN", e))?
            };
            let cwd_path = scoped_resolve(&rootfs, &clean_relative(&cwd), true);
            let _ = std::fs::create_dir_all(cwd_path);
            // Under /dev the runtime's tmpfs holds the mount points, not the rootfs.
            let targets: Vec<(String, bool)> = mounts
                .iter()
                .filter(|m| !m.destination.starts_with("/dev/"))
                .map(|m| (m.destination.clone(), m.source.is_file()))
                .collect();
            let stubs = MountStubs::create(&rootfs, &targets)
                .map_err(|e| setup_failed(format!("creating mount points: {e}")))?;
            let ran = run_step(&RunStep {
                bundle: ws.dir(),
                runtime_root: &runtime_root,
                argv: argv.clone(),
                env,
                cwd: cwd.clone(),
                uid: ids.uid,
                gid: ids.gid,
                netns,
                mounts,
                echo,
                output: output.as_ref(),
            });
            stubs.remove(&rootfs);
            ws.note_stubs(stubs);
            ran.map_err(|e| match e {
                RunStepError::Exit { code, tail } => BuildError::RunFailed {
                    line,
                    command: command_text.clone(),
                    code,
                    tail,
                },
                other => setup_failed(other.to_string()),
            })
        })?;
        drop(extra);
        self.runs_executed += 1;
        let mut created_by = String::from("RUN ");
        if !build_args.is_empty() {
            created_by.push_str(&format!("|{} ", build_args.len()));
            for (k, v) in build_args {
                created_by.push_str(&format!("{k}={v} "));
            }
        }
        created_by.push_str(&argv.join(" "));
        created_by.push_str(" # buildkit");
        state
            .config
            .history(&self.created, &created_by, layer.as_ref());
        Ok(())
    }
}

/// `/etc/hosts` and `/etc/resolv.conf` come from the step's directory, not the layer.
fn etc_bind(destination: &str, source: std::path::PathBuf) -> SpecMount {
    SpecMount {
        destination: destination.to_string(),
        kind: "bind",
        source,
        options: vec!["rbind".to_string(), "ro".to_string()],
    }
}

/// A `#!` heredoc as an executable file in the step's directory.
fn write_script(
    dir: &std::path::Path,
    name: &str,
    content: &str,
) -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let pipes = dir.join("pipes");
    std::fs::create_dir_all(&pipes)?;
    let path = pipes.join(name);
    std::fs::write(&path, content)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}
