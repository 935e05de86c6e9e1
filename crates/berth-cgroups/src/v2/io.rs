//! v2 io: io.weight (or io.bfq.weight) and io.max throttling lines.

use std::collections::BTreeMap;

use oci_spec::runtime::LinuxBlockIo;

/// runc's mapping of blkio weight [10, 1000] onto io.weight [1, 10000]; 0 stays "unset".
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    let weight = u64::from(weight.clamp(10, 1000));
    1 + (weight - 10) * 9999 / 990
}

/// One io.max line per device, all four limits of that device together:
/// `8:0 rbps=1048576 wiops=100`.
pub fn io_max_lines(io: &LinuxBlockIo) -> Vec<String> {
    let mut per_device: BTreeMap<(i64, i64), Vec<String>> = BTreeMap::new();
    let lists = [
        ("rbps", io.throttle_read_bps_device()),
        ("wbps", io.throttle_write_bps_device()),
        ("riops", io.throttle_read_iops_device()),
        ("wiops", io.throttle_write_iops_device()),
    ];
    for (key, list) in lists {
        for device in list.as_deref().unwrap_or_default() {
            per_device
                .entry((device.major(), device.minor()))
                .or_default()
                .push(format!("{key}={}", device.rate()));
        }
    }
    per_device
        .into_iter()
        .map(|((major, minor), limits)| format!("{major}:{minor} {}", limits.join(" ")))
        .collect()
}

/// `bfq` is true when the cgroup has io.bfq.weight (BFQ takes the blkio scale directly).
pub(super) fn plan(io: &LinuxBlockIo, bfq: bool, writes: &mut Vec<(String, String)>) {
    let (file, convert): (&str, fn(u16) -> u64) = if bfq {
        ("io.bfq.weight", u64::from)
    } else {
        ("io.weight", blkio_weight_to_io_weight)
    };
    if let Some(weight) = io.weight().filter(|&w| w != 0) {
        writes.push((file.into(), format!("default {}", convert(weight))));
    }
    for device in io.weight_device().as_deref().unwrap_or_default() {
        if let Some(weight) = device.weight().filter(|&w| w != 0) {
            let line = format!("{}:{} {}", device.major(), device.minor(), convert(weight));
            writes.push((file.into(), line));
        }
    }
    for line in io_max_lines(io) {
        writes.push(("io.max".into(), line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxBlockIoBuilder, LinuxThrottleDeviceBuilder};

    fn throttle(major: i64, minor: i64, rate: u64) -> oci_spec::runtime::LinuxThrottleDevice {
        LinuxThrottleDeviceBuilder::default()
            .major(major)
            .minor(minor)
            .rate(rate)
            .build()
            .unwrap()
    }

    #[test]
    fn io_max_groups_limits_per_device() {
        let io = LinuxBlockIoBuilder::default()
            .throttle_read_bps_device(vec![throttle(8, 0, 1_048_576), throttle(253, 1, 5)])
            .throttle_write_iops_device(vec![throttle(8, 0, 100)])
            .build()
            .unwrap();
        assert_eq!(
            io_max_lines(&io),
            vec!["8:0 rbps=1048576 wiops=100", "253:1 rbps=5"]
        );
    }

    #[test]
    fn weight_conversion_and_plan() {
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
        let io = LinuxBlockIoBuilder::default()
            .weight(500u16)
            .build()
            .unwrap();
        let mut writes = Vec::new();
        plan(&io, false, &mut writes);
        assert_eq!(
            writes,
            vec![("io.weight".to_owned(), "default 4950".to_owned())]
        );
        let mut writes = Vec::new();
        plan(&io, true, &mut writes);
        assert_eq!(
            writes,
            vec![("io.bfq.weight".to_owned(), "default 500".to_owned())]
        );
    }
}
