//! vstrace QEMU plugin (in progress).
