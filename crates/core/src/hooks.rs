//! Hooks registry: enter/exit callbacks by syscall name. (filled in below)
