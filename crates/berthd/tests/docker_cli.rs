//! The real `docker` CLI against berthd: the container lifecycle.

mod common;

use common::Daemon;

#[test]
fn run_rm_prints_output_and_leaves_nothing() {
    let d = Daemon::start();
    assert_eq!(d.ok(&["run", "--rm", "busybox", "echo", "hi"]), "hi");
    assert_eq!(d.ok(&["ps", "-aq"]), "");
    assert!(d.container_ids().is_empty());
    assert!(common::mounts_under(&d.data_root()).is_empty());
}
