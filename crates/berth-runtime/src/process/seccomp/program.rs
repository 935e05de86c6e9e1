//! A seccomp filter compiled to classic BPF, loadable without libseccomp.
//!
//! Compiling a Docker-sized profile with libseccomp costs milliseconds (mostly the x86/x32
//! ABIs and BPF generation); loading a compiled program costs microseconds. So a caller that
//! starts many containers with one profile can `compile` once, keep `program_bytes`, and have
//! each container init `load` the result.

use std::io::{Read, Seek};
use std::os::fd::OwnedFd;

use libseccomp::ScmpFilterContext;
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompFilterFlag};

use super::SeccompError;
use crate::process::sys;

/// Size of one `struct sock_filter`: u16 code, u8 jt, u8 jf, u32 k.
const INSN_SIZE: usize = 8;
/// The kernel's BPF_MAXINSNS.
const MAX_INSNS: usize = 4096;

/// A compiled filter: the BPF program and the `SECCOMP_FILTER_FLAG_*` bits to load it with.
#[derive(Clone)]
pub struct CompiledFilter {
    program: Vec<libc::sock_filter>,
    flags: u64,
}

impl std::fmt::Debug for CompiledFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledFilter")
            .field("instructions", &self.program.len())
            .field("flags", &format_args!("{:#x}", self.flags))
            .finish()
    }
}

fn filter_flags(seccomp: &LinuxSeccomp, uses_notify: bool) -> u64 {
    use LinuxSeccompFilterFlag::*;
    let mut flags = 0;
    for flag in seccomp.flags().iter().flatten() {
        flags |= match flag {
            SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            SeccompFilterFlagWaitKillableRecv => libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
        };
    }
    if uses_notify {
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        if flags & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
            // TSYNC reports failure as a thread id, which collides with the listener fd.
            flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
    }
    flags
}

fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>, SeccompError> {
    let io_err = |source| SeccompError::Export { source };
    let memfd = rustix::fs::memfd_create("berth-seccomp", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| io_err(e.into()))?;
    ctx.export_bpf(&memfd)
        .map_err(|source| SeccompError::ExportBpf { source })?;
    let mut file = std::fs::File::from(memfd);
    file.rewind().map_err(io_err)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io_err)?;
    Ok(bytes)
}

impl CompiledFilter {
    /// Compiles `seccomp` (same semantics as `seccomp::load`) into a BPF program.
    pub fn compile(seccomp: &LinuxSeccomp) -> Result<CompiledFilter, SeccompError> {
        let ctx = super::build(seccomp)?;
        let bytes = export(&ctx)?;
        let flags = filter_flags(seccomp, super::first_notify_syscall(seccomp).is_some());
        CompiledFilter::from_program_bytes(&bytes, flags)
    }

    /// Rebuilds a filter from `program_bytes` and `flags` saved earlier (e.g. in a cache).
    pub fn from_program_bytes(bytes: &[u8], flags: u64) -> Result<CompiledFilter, SeccompError> {
        if bytes.is_empty()
            || !bytes.len().is_multiple_of(INSN_SIZE)
            || bytes.len() / INSN_SIZE > MAX_INSNS
        {
            return Err(SeccompError::InvalidProgram { bytes: bytes.len() });
        }
        let program = bytes
            .chunks_exact(INSN_SIZE)
            .map(|insn| libc::sock_filter {
                code: u16::from_ne_bytes([insn[0], insn[1]]),
                jt: insn[2],
                jf: insn[3],
                k: u32::from_ne_bytes([insn[4], insn[5], insn[6], insn[7]]),
            })
            .collect();
        Ok(CompiledFilter { program, flags })
    }

    /// The program in the kernel's `struct sock_filter` layout (native endianness).
    pub fn program_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.program.len() * INSN_SIZE);
        for insn in &self.program {
            bytes.extend_from_slice(&insn.code.to_ne_bytes());
            bytes.extend_from_slice(&[insn.jt, insn.jf]);
            bytes.extend_from_slice(&insn.k.to_ne_bytes());
        }
        bytes
    }

    /// The `SECCOMP_FILTER_FLAG_*` bits the filter is loaded with.
    pub fn flags(&self) -> u64 {
        self.flags
    }

    /// Number of BPF instructions.
    pub fn instructions(&self) -> usize {
        self.program.len()
    }

    /// Loads the program into the calling thread (needs no_new_privs or CAP_SYS_ADMIN).
    /// Returns the notify listener fd when the filter uses SCMP_ACT_NOTIFY.
    pub fn load(&self) -> Result<Option<OwnedFd>, SeccompError> {
        let ret = sys::seccomp_set_mode_filter(self.flags, &self.program).map_err(|source| {
            SeccompError::LoadProgram {
                flags: self.flags,
                source,
            }
        })?;
        if self.flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
            let fd = sys::own_fd(ret as i32).map_err(|source| SeccompError::NotifyFd { source })?;
            return Ok(Some(fd));
        }
        if ret > 0 {
            // TSYNC without ESRCH: `ret` is a thread that could not be synchronised.
            return Err(SeccompError::TsyncFailed { thread: ret });
        }
        Ok(None)
    }
}
