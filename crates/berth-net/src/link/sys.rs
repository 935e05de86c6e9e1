//! The one raw call networking needs outside netlink: moving a thread into a new network
//! namespace.

/// Moves the calling thread (only) into a new, empty network namespace.
pub(super) fn unshare_netns_of_this_thread() -> std::io::Result<()> {
    // SAFETY: `unshare(CLONE_NEWNET)` changes only the calling thread's network namespace; it
    // touches no memory and leaves file descriptors and other threads alone. Callers run it on
    // a dedicated short-lived thread that ends right after, so no other code observes the change.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
        .map_err(std::io::Error::from)
}
