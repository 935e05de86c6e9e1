//! `--init`: our `berth-init` bind-mounted read-only at Docker's `/sbin/docker-init` and put
//! in front of the container's command (`/sbin/docker-init -- cmd args…`).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Process;

use super::SpecError;
use super::mounts::INIT_PATH;

/// `$BERTH_INIT`, else `berth-init` next to the running binary (or one directory up: test
/// binaries live in `target/<profile>/deps`) — found as the shim is.
/// It must be statically linked: the image may have no (or another) C library.
pub fn init_binary() -> Result<PathBuf, SpecError> {
    let path = match std::env::var_os("BERTH_INIT") {
        Some(path) => PathBuf::from(path),
        None => {
            let exe = std::env::current_exe().unwrap_or_default();
            exe.ancestors()
                .skip(1)
                .take(2)
                .map(|dir| dir.join("berth-init"))
                .find(|candidate| candidate.is_file())
                .unwrap_or_else(|| exe.parent().unwrap_or(&exe).join("berth-init"))
        }
    };
    if !path.is_file() {
        return Err(SpecError::InitNotFound { looked_at: path });
    }
    match has_interpreter(&path) {
        Ok(false) => Ok(path),
        Ok(true) => Err(SpecError::InitNotStatic { path }),
        Err(source) => Err(SpecError::ReadInit { path, source }),
    }
}

/// Whether an ELF64 little-endian executable asks for a dynamic loader (a `PT_INTERP`
/// program header): a static(-pie) binary has none.
fn has_interpreter(path: &Path) -> std::io::Result<bool> {
    const PT_INTERP: u32 = 3;
    let mut file = std::fs::File::open(path)?;
    let mut header = [0u8; 64];
    file.read_exact(&mut header)?;
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not an ELF64 LE executable",
        )
    };
    if &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return Err(bad());
    }
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let phoff = u64::from_le_bytes(header[32..40].try_into().map_err(|_| bad())?);
    let phentsize = u16_at(&header, 54) as u64;
    let phnum = u16_at(&header, 56) as u64;
    if phentsize < 4 || phnum > 4096 {
        return Err(bad());
    }
    let mut entry = vec![0u8; phentsize as usize];
    for i in 0..phnum {
        file.seek(SeekFrom::Start(phoff + i * phentsize))?;
        file.read_exact(&mut entry)?;
        if u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]) == PT_INTERP {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Prepends the init and its `--` to the process's arguments.
pub fn wrap_args(process: &mut Process) {
    let mut args = vec![INIT_PATH.to_string(), "--".to_string()];
    args.extend(process.args().clone().unwrap_or_default());
    process.set_args(Some(args));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_executables_have_an_interpreter() {
        // /bin/sh on the host is dynamically linked (Debian's dash).
        assert!(has_interpreter(Path::new("/bin/sh")).unwrap());
        assert!(has_interpreter(Path::new("/etc/hostname")).is_err());
    }

    #[test]
    fn args_are_wrapped() {
        let mut process = Process::default();
        process.set_args(Some(vec!["ps".into(), "-o".into(), "pid,comm".into()]));
        wrap_args(&mut process);
        assert_eq!(
            process.args().clone().unwrap(),
            ["/sbin/docker-init", "--", "ps", "-o", "pid,comm"]
        );
    }
}
