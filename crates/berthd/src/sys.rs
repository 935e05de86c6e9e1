//! glibc's allocator controls: the only raw calls berthd makes. Each `unsafe` states why it
//! is sound.

/// `mallopt(M_ARENA_MAX, n)`: caps the number of malloc arenas. Returns whether glibc took it.
pub fn set_arena_max(n: i32) -> bool {
    // SAFETY: mallopt only changes allocator settings; it has no memory preconditions and is
    // called before any other thread exists.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, n) == 1 }
}

/// Bytes held by the allocator in free chunks (`mallinfo2().fordblks`): what a trim could give
/// back at most.
pub fn free_heap_bytes() -> usize {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct by value.
    unsafe { libc::mallinfo2() }.fordblks
}

/// `malloc_trim(0)`: returns free memory at the top of each heap and every whole free page
/// inside them to the kernel. Returns whether any memory was released.
pub fn trim_heap() -> bool {
    // SAFETY: malloc_trim takes the allocator's own locks; it has no memory preconditions.
    unsafe { libc::malloc_trim(0) == 1 }
}
