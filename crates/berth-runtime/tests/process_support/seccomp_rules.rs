//! Builders for seccomp profiles used by the seccomp tests.

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompArgBuilder, LinuxSeccompBuilder,
    LinuxSeccompOperator as Op, LinuxSyscall, LinuxSyscallBuilder,
};

use super::errno;

pub fn rule(names: &[&str], action: Action, errno_ret: Option<u32>) -> LinuxSyscall {
    let mut b = LinuxSyscallBuilder::default()
        .names(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .action(action);
    if let Some(e) = errno_ret {
        b = b.errno_ret(e);
    }
    b.build().unwrap()
}

pub fn with_args(mut r: LinuxSyscall, args: &[(usize, Op, u64, Option<u64>)]) -> LinuxSyscall {
    let args = args
        .iter()
        .map(|(index, op, value, two)| {
            let mut b = LinuxSeccompArgBuilder::default()
                .index(*index)
                .op(*op)
                .value(*value);
            if let Some(two) = two {
                b = b.value_two(*two);
            }
            b.build().unwrap()
        })
        .collect();
    r.set_args(Some(args));
    r
}

pub fn allow_all_but(rules: Vec<LinuxSyscall>) -> LinuxSeccomp {
    LinuxSeccompBuilder::default()
        .default_action(Action::ScmpActAllow)
        .syscalls(rules)
        .build()
        .unwrap()
}

pub fn mkdir_errno(path: &std::ffi::CStr) -> i32 {
    // SAFETY: `path` is a valid C string; mkdir only reads it.
    let r = unsafe { libc::mkdir(path.as_ptr(), 0o700) };
    if r == 0 { 0 } else { errno() }
}
