//! The default vstrace QEMU plugin: `libvstrace_plugin.so`, loaded by
//! `vstrace run` with `-plugin`. All the work is in `vstrace-qemu-plugin`.

vstrace_qemu_plugin::export_plugin!(vstrace_qemu_plugin::Hooks::new);
