//! v2 devices: load the compiled program and attach it to the container's cgroup with
//! BPF_F_ALLOW_MULTI, then detach the berth programs it replaces (attach first, so the cgroup
//! is never left without a filter).

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::CgroupError;
use crate::devices::DeviceRule;
use crate::sys;

/// Name given to our programs, so an update can tell them from others' programs.
pub const PROGRAM_NAME: &str = "berth_devices";

pub(crate) fn set(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    let rules = rules
        .iter()
        .map(DeviceRule::from_oci)
        .collect::<Result<Vec<_>, _>>()?;
    let program = super::devicefilter::compile(&rules);
    let prog = sys::load_device_program(&program, super::devicefilter::LICENSE, PROGRAM_NAME)
        .map_err(|(source, log)| CgroupError::Bpf {
            op: "BPF_PROG_LOAD",
            source,
            log,
        })?;
    let cgroup = File::open(dir).map_err(|source| CgroupError::OpenCgroupDir {
        path: dir.to_owned(),
        source,
    })?;
    let bpf_error = |op| {
        move |source| CgroupError::Bpf {
            op,
            source,
            log: String::new(),
        }
    };
    let previous =
        sys::attached_program_ids(cgroup.as_fd()).map_err(bpf_error("BPF_PROG_QUERY"))?;
    sys::attach(cgroup.as_fd(), prog.as_fd(), sys::BPF_F_ALLOW_MULTI)
        .map_err(bpf_error("BPF_PROG_ATTACH"))?;
    for id in previous {
        let old = sys::program_fd_by_id(id).map_err(bpf_error("BPF_PROG_GET_FD_BY_ID"))?;
        let name = sys::program_name(old.as_fd()).map_err(bpf_error("BPF_OBJ_GET_INFO_BY_FD"))?;
        if name == PROGRAM_NAME {
            sys::detach(cgroup.as_fd(), old.as_fd()).map_err(bpf_error("BPF_PROG_DETACH"))?;
        }
    }
    Ok(())
}
