//! RUN as a step: the workspace becomes a runtime bundle with the image's Env/WorkingDir/User
//! and the build args in scope; the history line follows BuildKit's format.

use super::{Builder, Built, unknown};
use crate::engine::error::BuildError;
use crate::engine::paths::{clean_relative, scoped_resolve};
use crate::engine::run::{RunStep, RunStepError, run_step};
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
    ) -> Result<(), BuildError> {
        let Instruction::Run(run) = &step.instruction else {
            unreachable!("run() is called for RUN only")
        };
        let config = &state.config;
        let argv = config.argv(&run.command);
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
        let output = self.opts.output.clone();
        let layer = self.fs_step(state, line, "RUN", |ws| {
            let rootfs = ws.rootfs();
            let ids = if user.is_empty() {
                Ids { uid: 0, gid: 0 }
            } else {
                users::resolve(&rootfs, &user, false).map_err(|e| unknown(line, "RUN", e))?
            };
            let cwd_path = scoped_resolve(&rootfs, &clean_relative(&cwd), true);
            let _ = std::fs::create_dir_all(cwd_path);
            run_step(&RunStep {
                bundle: ws.dir(),
                runtime_root: &runtime_root,
                argv: argv.clone(),
                env,
                cwd: cwd.clone(),
                uid: ids.uid,
                gid: ids.gid,
                network: network.unwrap_or(Network::Default),
                echo,
                output: output.as_ref(),
            })
            .map_err(|e| match e {
                RunStepError::Exit { code, tail } => BuildError::RunFailed {
                    line,
                    command: command_text.clone(),
                    code,
                    tail,
                },
                other => BuildError::RunSetup {
                    line,
                    command: command_text.clone(),
                    reason: other.to_string(),
                },
            })
        })?;
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
