//! Resolving `process.args[0]` inside the container, as a shell would (`$PATH`), so a missing
//! program fails `create` with 127 instead of failing silently at `start`.

use std::path::{Path, PathBuf};

use rustix::fs::{Access, access};

use super::InitError;

/// Finds `program` using the `PATH` from the process's environment (or the default PATH).
pub fn find_program(program: &str, env: &[String]) -> Result<PathBuf, InitError> {
    if program.contains('/') {
        return check_executable(Path::new(program)).map(|()| PathBuf::from(program));
    }
    let path_var = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    let mut denied = None;
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(program);
        match check_executable(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(InitError::NotExecutable { .. }) => denied = Some(candidate),
            Err(_) => {}
        }
    }
    match denied {
        Some(path) => Err(InitError::NotExecutable { path }),
        None => Err(InitError::NotFound {
            program: program.to_string(),
        }),
    }
}

fn check_executable(path: &Path) -> Result<(), InitError> {
    let meta = std::fs::metadata(path).map_err(|_| InitError::NotFound {
        program: path.display().to_string(),
    })?;
    if meta.is_dir() || access(path, Access::EXEC_OK).is_err() {
        return Err(InitError::NotExecutable {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}
