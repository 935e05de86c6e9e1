//! Compiles device rules into a BPF_PROG_TYPE_CGROUP_DEVICE program, the way runc's
//! `devicefilter` does: one block per exception, first match returns, else the default.
//!
//! The program sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }` in
//! R1, where access_type = (access << 16) | type. R0 = 1 allows, 0 denies.

use crate::devices::{ACCESS_ALL, DeviceKind, DeviceRule, Ruleset};
use crate::sys::BpfInsn;

/// License of the generated program (no GPL-only helpers are used).
pub const LICENSE: &std::ffi::CStr = c"Apache-2.0";

/// BPF_DEVCG_DEV_* values of the context's type.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

// Opcodes: class | op | source.
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
    BpfInsn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

/// The program for `rules` applied in order on top of "deny everything".
pub fn compile(rules: &[DeviceRule]) -> Vec<BpfInsn> {
    let ruleset = Ruleset::from_rules(rules);
    let mut program = vec![
        // R2 = type (low 16 bits of access_type)
        insn(LDX_MEM_W, R2, R1, 0, 0),
        insn(ALU_AND_K, R2, 0, 0, 0xFFFF),
        // R3 = access (high 16 bits of access_type)
        insn(LDX_MEM_W, R3, R1, 0, 0),
        insn(ALU_RSH_K, R3, 0, 0, 16),
        // R4 = major, R5 = minor
        insn(LDX_MEM_W, R4, R1, 4, 0),
        insn(LDX_MEM_W, R5, R1, 8, 0),
    ];
    for rule in &ruleset.exceptions {
        append_rule(&mut program, rule);
    }
    program.push(insn(ALU_MOV_K, R0, 0, 0, i32::from(ruleset.default_allow)));
    program.push(insn(JMP_EXIT, 0, 0, 0, 0));
    program
}

/// Emits: if type/access/major/minor all match → return rule.allow; otherwise fall through
/// to the next block. The jumps are patched once the block's length is known.
fn append_rule(program: &mut Vec<BpfInsn>, rule: &DeviceRule) {
    let kind = match rule.kind {
        DeviceKind::Char => DEV_CHAR,
        DeviceKind::Block => DEV_BLOCK,
        // The emulator never leaves wildcards among the exceptions.
        DeviceKind::All => return,
    };
    let mut jumps = Vec::new();
    jumps.push(program.len());
    program.push(insn(JMP_JNE_K, R2, 0, 0, kind));
    if rule.access != ACCESS_ALL {
        // if (R3 & access) != R3 goto next: every requested bit must be granted by the rule.
        program.push(insn(ALU_MOV_X, R1, R3, 0, 0));
        program.push(insn(ALU_AND_K, R1, 0, 0, i32::from(rule.access)));
        jumps.push(program.len());
        program.push(insn(JMP_JNE_X, R1, R3, 0, 0));
    }
    if let Some(major) = rule.major {
        jumps.push(program.len());
        program.push(insn(JMP_JNE_K, R4, 0, 0, major as i32));
    }
    if let Some(minor) = rule.minor {
        jumps.push(program.len());
        program.push(insn(JMP_JNE_K, R5, 0, 0, minor as i32));
    }
    program.push(insn(ALU_MOV_K, R0, 0, 0, i32::from(rule.allow)));
    program.push(insn(JMP_EXIT, 0, 0, 0, 0));
    let next_block = program.len();
    for at in jumps {
        // Offsets count from the instruction after the jump; blocks are tiny, so this fits.
        program[at].off = (next_block - at - 1) as i16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::{ACCESS_MKNOD, ACCESS_READ, ACCESS_WRITE};

    const PROLOGUE: [BpfInsn; 6] = [
        insn(LDX_MEM_W, R2, R1, 0, 0),
        insn(ALU_AND_K, R2, 0, 0, 0xFFFF),
        insn(LDX_MEM_W, R3, R1, 0, 0),
        insn(ALU_RSH_K, R3, 0, 0, 16),
        insn(LDX_MEM_W, R4, R1, 4, 0),
        insn(LDX_MEM_W, R5, R1, 8, 0),
    ];

    #[test]
    fn empty_rules_deny_everything() {
        let mut expected = PROLOGUE.to_vec();
        expected.push(insn(ALU_MOV_K, R0, 0, 0, 0));
        expected.push(insn(JMP_EXIT, 0, 0, 0, 0));
        assert_eq!(compile(&[]), expected);
    }

    #[test]
    fn allow_list_with_full_and_partial_access() {
        let program = compile(&[
            DeviceRule::new(false, DeviceKind::All, None, None, ACCESS_ALL),
            DeviceRule::new(true, DeviceKind::Char, Some(1), Some(3), ACCESS_ALL),
            DeviceRule::new(
                true,
                DeviceKind::Block,
                Some(8),
                None,
                ACCESS_READ | ACCESS_WRITE,
            ),
        ]);
        let mut expected = PROLOGUE.to_vec();
        expected.extend([
            // block 0: c 1:3 rwm (no access check)
            insn(JMP_JNE_K, R2, 0, 4, DEV_CHAR),
            insn(JMP_JNE_K, R4, 0, 3, 1),
            insn(JMP_JNE_K, R5, 0, 2, 3),
            insn(ALU_MOV_K, R0, 0, 0, 1),
            insn(JMP_EXIT, 0, 0, 0, 0),
            // block 1: b 8:* rw
            insn(JMP_JNE_K, R2, 0, 6, DEV_BLOCK),
            insn(ALU_MOV_X, R1, R3, 0, 0),
            insn(ALU_AND_K, R1, 0, 0, 6),
            insn(JMP_JNE_X, R1, R3, 3, 0),
            insn(JMP_JNE_K, R4, 0, 2, 8),
            insn(ALU_MOV_K, R0, 0, 0, 1),
            insn(JMP_EXIT, 0, 0, 0, 0),
            // default: deny
            insn(ALU_MOV_K, R0, 0, 0, 0),
            insn(JMP_EXIT, 0, 0, 0, 0),
        ]);
        assert_eq!(program, expected);
    }

    #[test]
    fn deny_list_returns_zero_for_exceptions_and_allows_by_default() {
        let program = compile(&[
            DeviceRule::new(true, DeviceKind::All, None, None, ACCESS_ALL),
            DeviceRule::new(false, DeviceKind::Char, None, None, ACCESS_MKNOD),
        ]);
        let mut expected = PROLOGUE.to_vec();
        expected.extend([
            insn(JMP_JNE_K, R2, 0, 5, DEV_CHAR),
            insn(ALU_MOV_X, R1, R3, 0, 0),
            insn(ALU_AND_K, R1, 0, 0, 1),
            insn(JMP_JNE_X, R1, R3, 2, 0),
            insn(ALU_MOV_K, R0, 0, 0, 0),
            insn(JMP_EXIT, 0, 0, 0, 0),
            insn(ALU_MOV_K, R0, 0, 0, 1),
            insn(JMP_EXIT, 0, 0, 0, 0),
        ]);
        assert_eq!(program, expected);
    }

    /// Needs root (CAP_BPF/CAP_SYS_ADMIN); works on any cgroup layout, proving the kernel's
    /// verifier accepts what we generate.
    #[test]
    fn kernel_verifier_accepts_generated_programs() {
        let mut many = vec![DeviceRule::new(
            false,
            DeviceKind::All,
            None,
            None,
            ACCESS_ALL,
        )];
        for minor in 0..64 {
            many.push(DeviceRule::new(
                true,
                DeviceKind::Char,
                Some(136),
                Some(minor),
                ACCESS_READ | ACCESS_WRITE,
            ));
        }
        many.push(DeviceRule::new(
            true,
            DeviceKind::Block,
            None,
            None,
            ACCESS_MKNOD,
        ));
        let rule_sets = [
            vec![],
            vec![
                DeviceRule::new(false, DeviceKind::All, None, None, ACCESS_ALL),
                DeviceRule::new(true, DeviceKind::Char, Some(1), Some(3), ACCESS_ALL),
                DeviceRule::new(true, DeviceKind::Char, Some(1), Some(5), ACCESS_READ),
            ],
            vec![
                DeviceRule::new(true, DeviceKind::All, None, None, ACCESS_ALL),
                DeviceRule::new(
                    false,
                    DeviceKind::Block,
                    Some(8),
                    None,
                    ACCESS_WRITE | ACCESS_MKNOD,
                ),
            ],
            many,
        ];
        for rules in &rule_sets {
            let program = compile(rules);
            let loaded = crate::sys::load_device_program(&program, LICENSE, "berth_test");
            if let Err((error, log)) = loaded {
                panic!(
                    "verifier rejected {} instructions: {error}\n{log}",
                    program.len()
                );
            }
        }
        // And the loader does report rejection: a program without its final exit.
        let mut broken = compile(&[]);
        broken.pop();
        let (error, log) = crate::sys::load_device_program(&broken, LICENSE, "berth_test")
            .expect_err("a program falling off its end must be rejected");
        assert_eq!(error.raw_os_error(), Some(libc::EINVAL), "{log}");
        assert!(!log.is_empty());
    }
}
