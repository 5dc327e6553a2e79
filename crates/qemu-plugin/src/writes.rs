//! Register and memory writes into the trapping vCPU, version-checked.
//!
//! QEMU's plugin API gained writes only with API v5 (QEMU 10.1):
//! `qemu_plugin_write_register` / `qemu_plugin_write_memory_vaddr`. We
//! build against API v4 and look those up at load time with
//! `dlsym(RTLD_DEFAULT)`; API v7 (QEMU >= 11) keeps them, with
//! `qemu_plugin_write_register` returning bool (see `api.rs`) and needing
//! the RW_REGS callback flag we register with. On API v4 (QEMU 9.2..10.0)
//! we fall back to
//! internal QEMU functions that Debian's binary exports as dynamic symbols
//! and whose signatures have been stable for years:
//! `qemu_get_cpu(int) -> CPUState*`,
//! `x86_cpu_gdb_write_register(CPUState*, uint8_t*, int) -> int` and
//! `cpu_memory_rw_debug(CPUState*, vaddr, void*, size_t, bool) -> int`.
//! Anything else: writes fail with a clear reason.
//!
//! Writes are done from exec callbacks registered with
//! `QEMU_PLUGIN_CB_RW_REGS`, which makes TCG spill its register globals
//! before the callback and reload them after, so the trapping instruction
//! sees the written values.

use std::ffi::{c_char, c_int, c_void, CStr};

use qemu_plugin_sys as sys;

use crate::ffi::{ByteArray, RegHandle};

type WriteRegisterV5 =
    unsafe extern "C" fn(*mut sys::qemu_plugin_register, *mut sys::GByteArray) -> c_int;
type WriteMemoryV5 = unsafe extern "C" fn(u64, *mut sys::GByteArray) -> bool;
/// v7 (QEMU >= 11): `bool qemu_plugin_write_register(handle, buf)`.
type WriteRegisterV7 =
    unsafe extern "C" fn(*mut sys::qemu_plugin_register, *mut sys::GByteArray) -> bool;
type GetCpu = unsafe extern "C" fn(c_int) -> *mut c_void;
type GdbWriteRegister = unsafe extern "C" fn(*mut c_void, *mut u8, c_int) -> c_int;
type MemoryRwDebug = unsafe extern "C" fn(*mut c_void, u64, *mut c_void, usize, bool) -> c_int;

extern "C" {
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
}

/// glibc's RTLD_DEFAULT: search the global scope (the QEMU binary first).
const RTLD_DEFAULT: *mut c_void = std::ptr::null_mut();

pub(crate) fn lookup(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads.
    let p = unsafe { dlsym(RTLD_DEFAULT, name.as_ptr()) };
    (!p.is_null()).then_some(p)
}

/// How writes reach the vCPU in this QEMU.
#[derive(Clone, Copy)]
pub enum Backend {
    /// Plugin API v7 (QEMU >= 11): the official write functions, with
    /// bool results.
    V7 {
        reg: WriteRegisterV7,
        mem: WriteMemoryV5,
    },
    /// Plugin API v5 (QEMU 10.1 .. 10.x).
    V5 {
        reg: WriteRegisterV5,
        mem: WriteMemoryV5,
    },
    /// QEMU internals exported by the binary (API v4, QEMU 9.2..10.0).
    Internal {
        get_cpu: GetCpu,
        reg: GdbWriteRegister,
        mem: MemoryRwDebug,
    },
    /// No way to write.
    Unsupported(&'static str),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// Plugin API level whose internals we know (QEMU 9.2 .. 10.0).
pub(crate) const INTERNAL_API: c_int = 4;

impl Backend {
    /// Picks the backend for a QEMU reporting plugin API level `api_cur`.
    pub fn detect(api_cur: c_int) -> Backend {
        let v5 = (
            lookup(c"qemu_plugin_write_register"),
            lookup(c"qemu_plugin_write_memory_vaddr"),
        );
        if let (Some(r), Some(m), true) = (v5.0, v5.1, crate::api::is_v7()) {
            // SAFETY: a v7 QEMU's write functions have the v7 signatures
            // above (QEMU 11.1 include/plugins/qemu-plugin.h).
            return unsafe {
                Backend::V7 {
                    reg: std::mem::transmute::<*mut c_void, WriteRegisterV7>(r),
                    mem: std::mem::transmute::<*mut c_void, WriteMemoryV5>(m),
                }
            };
        }
        if let (Some(r), Some(m)) = v5 {
            // SAFETY: these symbols have the v5 API signatures above.
            return unsafe {
                Backend::V5 {
                    reg: std::mem::transmute::<*mut c_void, WriteRegisterV5>(r),
                    mem: std::mem::transmute::<*mut c_void, WriteMemoryV5>(m),
                }
            };
        }
        if api_cur != INTERNAL_API {
            return Backend::Unsupported(
                "this QEMU has no plugin write API (v5, QEMU >= 10.1) and is not a \
                 QEMU 9.2..10.0 whose internals we know",
            );
        }
        let internal = (
            lookup(c"qemu_get_cpu"),
            lookup(c"x86_cpu_gdb_write_register"),
            lookup(c"cpu_memory_rw_debug"),
        );
        match internal {
            // SAFETY: on API v4 QEMUs these exported functions have exactly
            // these C signatures (checked against QEMU 10.0 sources).
            (Some(g), Some(r), Some(m)) => unsafe {
                Backend::Internal {
                    get_cpu: std::mem::transmute::<*mut c_void, GetCpu>(g),
                    reg: std::mem::transmute::<*mut c_void, GdbWriteRegister>(r),
                    mem: std::mem::transmute::<*mut c_void, MemoryRwDebug>(m),
                }
            },
            _ => Backend::Unsupported(
                "QEMU 10.0 without the exported qemu_get_cpu / x86_cpu_gdb_write_register / \
                 cpu_memory_rw_debug symbols (use QEMU >= 10.1 for writes)",
            ),
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Backend::V7 { .. } => "plugin API v7 (qemu_plugin_write_register)",
            Backend::V5 { .. } => "plugin API v5 (qemu_plugin_write_register)",
            Backend::Internal { .. } => "QEMU 10.0 internals (x86_cpu_gdb_write_register)",
            Backend::Unsupported(why) => why,
        }
    }

    /// Writes register `gdb_no` (handle `handle`) of vCPU `vcpu`, which must
    /// be the vCPU whose callback is running. `value` is little-endian, of
    /// the register's gdb size.
    pub fn write_reg(
        &self,
        vcpu: u32,
        handle: Option<RegHandle>,
        gdb_no: c_int,
        value: &[u8],
        scratch: &mut ByteArray,
    ) -> Result<(), String> {
        match *self {
            Backend::V7 { reg, .. } => {
                let h = handle.ok_or("QEMU did not list this register")?;
                scratch.set(value);
                // SAFETY: vCPU context of a callback registered with
                // RW_REGS (which v7 requires for writes), valid handle and
                // buffer of the register's size.
                if unsafe { reg(h.0, scratch.as_ptr()) } {
                    Ok(())
                } else {
                    Err("qemu_plugin_write_register failed".into())
                }
            }
            Backend::V5 { reg, .. } => {
                let h = handle.ok_or("QEMU did not list this register")?;
                scratch.set(value);
                // SAFETY: vCPU context with RW_REGS, valid handle and buffer.
                let n = unsafe { reg(h.0, scratch.as_ptr()) };
                if n > 0 {
                    Ok(())
                } else {
                    Err(format!("qemu_plugin_write_register returned {n}"))
                }
            }
            Backend::Internal { get_cpu, reg, .. } => {
                let cpu = cpu_ptr(get_cpu, vcpu)?;
                let mut b = [0u8; 16];
                let n = value.len().min(b.len());
                b[..n].copy_from_slice(&value[..n]);
                // SAFETY: `cpu` is the live CPUState of the running vCPU
                // (its own thread), `b` holds at least 8 bytes, as the x86
                // gdb writer reads at most 8 for registers 0..17.
                let r = unsafe { reg(cpu, b.as_mut_ptr(), gdb_no) };
                if r > 0 {
                    Ok(())
                } else {
                    Err(format!("x86_cpu_gdb_write_register returned {r}"))
                }
            }
            Backend::Unsupported(why) => Err(why.to_string()),
        }
    }

    /// Writes `data` at `addr` in vCPU `vcpu`'s current address space.
    pub fn write_mem(
        &self,
        vcpu: u32,
        addr: u64,
        data: &[u8],
        scratch: &mut ByteArray,
    ) -> Result<(), String> {
        if data.is_empty() {
            return Ok(());
        }
        scratch.set(data);
        if scratch.as_slice().len() != data.len() {
            return Err("write too large".into());
        }
        match *self {
            Backend::V7 { mem, .. } | Backend::V5 { mem, .. } => {
                // SAFETY: vCPU context, valid buffer.
                if unsafe { mem(addr, scratch.as_ptr()) } {
                    Ok(())
                } else {
                    Err("qemu_plugin_write_memory_vaddr failed".into())
                }
            }
            Backend::Internal { get_cpu, mem, .. } => {
                let cpu = cpu_ptr(get_cpu, vcpu)?;
                let buf = scratch.as_ptr();
                // SAFETY: `cpu` is live; the buffer holds data.len() bytes
                // (checked above) that QEMU only reads on a write.
                let r = unsafe { mem(cpu, addr, (*buf).data as *mut c_void, data.len(), true) };
                if r == 0 {
                    Ok(())
                } else {
                    Err(format!("cpu_memory_rw_debug returned {r}"))
                }
            }
            Backend::Unsupported(why) => Err(why.to_string()),
        }
    }
}

fn cpu_ptr(get_cpu: GetCpu, vcpu: u32) -> Result<*mut c_void, String> {
    let idx = c_int::try_from(vcpu).map_err(|_| format!("vcpu {vcpu} out of range"))?;
    // SAFETY: qemu_get_cpu walks QEMU's CPU list and returns NULL for an
    // unknown index.
    let cpu = unsafe { get_cpu(idx) };
    if cpu.is_null() {
        Err(format!("qemu_get_cpu({vcpu}) returned NULL"))
    } else {
        Ok(cpu)
    }
}
