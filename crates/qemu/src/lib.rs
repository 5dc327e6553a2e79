//! vstrace-qemu (in progress).
