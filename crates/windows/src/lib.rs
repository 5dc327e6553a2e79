//! vstrace-windows (in progress).
