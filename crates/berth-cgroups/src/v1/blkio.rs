//! v1 blkio: weights (CFQ or BFQ files) and throttling; I/O counters.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::stats::{Blkio, parse_blkio_v1};
use crate::{CgroupError, fs};

pub(super) fn set(dir: Option<&Path>, io: &LinuxBlockIo) -> Result<(), CgroupError> {
    let weight = io.weight().filter(|&w| w != 0);
    let leaf_weight = io.leaf_weight().filter(|&w| w != 0);
    let weight_devices = io.weight_device().as_deref().unwrap_or_default();
    let throttles: [(&str, &[LinuxThrottleDevice]); 4] = [
        (
            "blkio.throttle.read_bps_device",
            io.throttle_read_bps_device().as_deref().unwrap_or_default(),
        ),
        (
            "blkio.throttle.write_bps_device",
            io.throttle_write_bps_device()
                .as_deref()
                .unwrap_or_default(),
        ),
        (
            "blkio.throttle.read_iops_device",
            io.throttle_read_iops_device()
                .as_deref()
                .unwrap_or_default(),
        ),
        (
            "blkio.throttle.write_iops_device",
            io.throttle_write_iops_device()
                .as_deref()
                .unwrap_or_default(),
        ),
    ];
    let requested = weight.is_some()
        || leaf_weight.is_some()
        || !weight_devices.is_empty()
        || throttles.iter().any(|(_, list)| !list.is_empty());
    if !requested {
        return Ok(());
    }
    let dir = super::require_dir(dir, "blkio", "linux.resources.blockIO")?;

    // CFQ exposes blkio.weight; kernels with only BFQ expose blkio.bfq.weight.
    let (weight_file, weight_device_file) = if dir.join("blkio.weight").exists() {
        ("blkio.weight", "blkio.weight_device")
    } else {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    };
    if let Some(weight) = weight {
        fs::write(dir, weight_file, &weight.to_string())?;
    }
    if let Some(leaf_weight) = leaf_weight {
        fs::write(dir, "blkio.leaf_weight", &leaf_weight.to_string())?;
    }
    for device in weight_devices {
        let id = format!("{}:{}", device.major(), device.minor());
        if let Some(weight) = device.weight() {
            fs::write(dir, weight_device_file, &format!("{id} {weight}"))?;
        }
        if let Some(leaf) = device.leaf_weight() {
            fs::write(dir, "blkio.leaf_weight_device", &format!("{id} {leaf}"))?;
        }
    }
    for (file, devices) in throttles {
        for device in devices {
            let line = format!("{}:{} {}", device.major(), device.minor(), device.rate());
            fs::write(dir, file, &line)?;
        }
    }
    Ok(())
}

/// The first of the CFQ, BFQ and throttle-layer counters that has data: which one the kernel
/// fills depends on the disk's I/O scheduler (the throttle layer always counts).
pub(super) fn stats(dir: &Path) -> Result<Blkio, CgroupError> {
    let mut found = Blkio::default();
    for prefix in ["blkio", "blkio.bfq", "blkio.throttle"] {
        let bytes_file = format!("{prefix}.io_service_bytes_recursive");
        if !dir.join(&bytes_file).exists() {
            continue;
        }
        found = Blkio {
            io_service_bytes_recursive: parse_blkio_v1(&fs::read(dir, &bytes_file)?),
            io_serviced_recursive: parse_blkio_v1(&fs::read(
                dir,
                &format!("{prefix}.io_serviced_recursive"),
            )?),
        };
        if !found.io_service_bytes_recursive.is_empty() {
            break;
        }
    }
    Ok(found)
}
