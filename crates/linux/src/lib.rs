//! vstrace-linux (in progress).
