//! Docker's default seccomp profile (moby `profiles/seccomp/default.json`, Docker 28) as a
//! table: deny with EPERM by default, allow the listed syscalls, some only with a capability
//! in the bounding set, on an architecture, or on a new enough kernel.

use oci_spec::runtime::{Arch, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompOperator};

use super::{ArchMap, Filter, Profile, Syscall};

/// Syscalls every container may make (space-separated; Docker's first rule).
const ALLOWED: &str = "\
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32 \
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 \
clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 \
dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait \
epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 \
fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat \
fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 \
fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 \
futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 \
geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp \
getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit \
get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday \
getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch \
io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get \
ioprio_set io_setup io_submit io_uring_enter io_uring_register io_uring_setup ipc kill \
landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link \
linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise \
map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock \
mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive \
mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv \
msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open \
openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect \
poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 \
pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv \
recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat \
renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo \
rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo \
sched_getaffinity sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min \
sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity \
sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop \
semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid \
setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid \
setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 \
setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32 \
setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask \
sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync \
sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun \
timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime \
timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit \
umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 \
waitid waitpid write writev";

/// The namespace flags (CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP) that
/// `clone` may not carry without CAP_SYS_ADMIN.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;
const AF_VSOCK: u64 = 40;
const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// Conditions of one rule (empty = no condition).
#[derive(Clone, Copy)]
struct When {
    caps: &'static [&'static str],
    arches: &'static [&'static str],
    min_kernel: Option<&'static str>,
}

const ANY: When = When {
    caps: &[],
    arches: &[],
    min_kernel: None,
};

const fn cap(caps: &'static [&'static str]) -> When {
    When {
        caps,
        arches: &[],
        min_kernel: None,
    }
}

const fn arch(arches: &'static [&'static str]) -> When {
    When {
        caps: &[],
        arches,
        min_kernel: None,
    }
}

/// One row: names, `Some(errno)` to fail instead of allow, one argument condition.
struct Rule {
    names: &'static str,
    errno: Option<u32>,
    arg: Option<(usize, u64, LinuxSeccompOperator)>,
    includes: When,
    excludes: When,
}

const fn allow(names: &'static str, includes: When) -> Rule {
    Rule {
        names,
        errno: None,
        arg: None,
        includes,
        excludes: ANY,
    }
}

const fn allow_if_arg(names: &'static str, arg: (usize, u64, LinuxSeccompOperator)) -> Rule {
    Rule {
        names,
        errno: None,
        arg: Some(arg),
        includes: ANY,
        excludes: ANY,
    }
}

use LinuxSeccompOperator::{ScmpCmpEq as EQ, ScmpCmpMaskedEq as MASKED_EQ, ScmpCmpNe as NE};

const SYS_ADMIN: &[&str] = &["CAP_SYS_ADMIN"];

const RULES: &[Rule] = &[
    allow(ALLOWED, ANY),
    allow(
        "process_vm_readv process_vm_writev ptrace",
        When {
            caps: &[],
            arches: &[],
            min_kernel: Some("4.8"),
        },
    ),
    allow_if_arg("socket", (0, AF_VSOCK, NE)),
    allow_if_arg("personality", (0, 0x0, EQ)),
    allow_if_arg("personality", (0, 0x0008, EQ)),
    allow_if_arg("personality", (0, 0x20000, EQ)),
    allow_if_arg("personality", (0, 0x20008, EQ)),
    allow_if_arg("personality", (0, 0xffff_ffff, EQ)),
    allow("sync_file_range2 swapcontext", arch(&["ppc64le"])),
    allow(
        "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
        arch(&["arm", "arm64"]),
    ),
    allow("arch_prctl", arch(&["amd64", "x32"])),
    allow("modify_ldt", arch(&["amd64", "x32", "x86"])),
    allow(
        "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr",
        arch(&["s390", "s390x"]),
    ),
    allow("riscv_flush_icache", arch(&["riscv64"])),
    allow("open_by_handle_at", cap(&["CAP_DAC_READ_SEARCH"])),
    allow(
        "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount \
         mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname \
         sethostname setns syslog umount umount2 unshare",
        cap(SYS_ADMIN),
    ),
    // Without CAP_SYS_ADMIN, clone may not create namespaces (flags are arg 1 on s390).
    Rule {
        names: "clone",
        errno: None,
        arg: Some((0, CLONE_NAMESPACE_FLAGS, MASKED_EQ)),
        includes: ANY,
        excludes: When {
            caps: SYS_ADMIN,
            arches: &["s390", "s390x"],
            min_kernel: None,
        },
    },
    Rule {
        names: "clone",
        errno: None,
        arg: Some((1, CLONE_NAMESPACE_FLAGS, MASKED_EQ)),
        includes: arch(&["s390", "s390x"]),
        excludes: cap(SYS_ADMIN),
    },
    // clone3's flags live in memory seccomp cannot read: ENOSYS makes libcs fall back to clone.
    Rule {
        names: "clone3",
        errno: Some(ENOSYS),
        arg: None,
        includes: ANY,
        excludes: cap(SYS_ADMIN),
    },
    allow("reboot", cap(&["CAP_SYS_BOOT"])),
    allow("chroot", cap(&["CAP_SYS_CHROOT"])),
    allow(
        "delete_module init_module finit_module",
        cap(&["CAP_SYS_MODULE"]),
    ),
    allow("acct", cap(&["CAP_SYS_PACCT"])),
    allow(
        "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
        cap(&["CAP_SYS_PTRACE"]),
    ),
    allow("iopl ioperm", cap(&["CAP_SYS_RAWIO"])),
    allow(
        "settimeofday stime clock_settime clock_settime64",
        cap(&["CAP_SYS_TIME"]),
    ),
    allow("vhangup", cap(&["CAP_SYS_TTY_CONFIG"])),
    allow(
        "get_mempolicy mbind set_mempolicy set_mempolicy_home_node",
        cap(&["CAP_SYS_NICE"]),
    ),
    allow("syslog", cap(&["CAP_SYSLOG"])),
    allow("bpf", cap(&["CAP_BPF"])),
    allow("perf_event_open", cap(&["CAP_PERFMON"])),
];

/// (architecture, its sub-architectures), Docker's `archMap`.
const ARCH_MAP: &[(Arch, &[Arch])] = &[
    (
        Arch::ScmpArchX86_64,
        &[Arch::ScmpArchX86, Arch::ScmpArchX32],
    ),
    (Arch::ScmpArchAarch64, &[Arch::ScmpArchArm]),
    (
        Arch::ScmpArchMips64,
        &[Arch::ScmpArchMips, Arch::ScmpArchMips64n32],
    ),
    (
        Arch::ScmpArchMips64n32,
        &[Arch::ScmpArchMips, Arch::ScmpArchMips64],
    ),
    (
        Arch::ScmpArchMipsel64,
        &[Arch::ScmpArchMipsel, Arch::ScmpArchMipsel64n32],
    ),
    (
        Arch::ScmpArchMipsel64n32,
        &[Arch::ScmpArchMipsel, Arch::ScmpArchMipsel64],
    ),
    (Arch::ScmpArchS390x, &[Arch::ScmpArchS390]),
    (Arch::ScmpArchRiscv64, &[]),
];

/// Docker's default profile, in the same shape a user-supplied JSON profile parses into.
pub fn default_profile() -> Profile {
    Profile {
        default_action: LinuxSeccompAction::ScmpActErrno,
        default_errno_ret: Some(EPERM),
        arch_map: Some(
            ARCH_MAP
                .iter()
                .map(|(arch, subs)| ArchMap {
                    architecture: *arch,
                    sub_architectures: (!subs.is_empty()).then(|| subs.to_vec()),
                })
                .collect(),
        ),
        syscalls: Some(RULES.iter().map(to_syscall).collect()),
        ..Profile::default()
    }
}

fn to_syscall(rule: &Rule) -> Syscall {
    let filter = |when: &When| {
        let empty = when.caps.is_empty() && when.arches.is_empty() && when.min_kernel.is_none();
        let strings = |list: &[&str]| {
            (!list.is_empty()).then(|| list.iter().map(|s| s.to_string()).collect())
        };
        (!empty).then(|| Filter {
            caps: strings(when.caps),
            arches: strings(when.arches),
            min_kernel: when.min_kernel.map(str::to_string),
        })
    };
    Syscall {
        name: None,
        names: Some(rule.names.split_whitespace().map(str::to_string).collect()),
        action: match rule.errno {
            Some(_) => LinuxSeccompAction::ScmpActErrno,
            None => LinuxSeccompAction::ScmpActAllow,
        },
        errno_ret: rule.errno,
        args: rule.arg.map(|(index, value, op)| {
            // Only the three fields are set, so the builder cannot fail.
            let arg = LinuxSeccompArgBuilder::default()
                .index(index)
                .value(value)
                .op(op)
                .build()
                .unwrap_or_default();
            vec![arg]
        }),
        includes: filter(&rule.includes),
        excludes: filter(&rule.excludes),
    }
}
