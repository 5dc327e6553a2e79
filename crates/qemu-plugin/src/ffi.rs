//! Small safe wrappers over the raw QEMU plugin API (qemu-plugin-sys, API
//! v4, and the v7 declarations below for QEMU >= 11, see `api.rs`) and the
//! few glib functions it needs. Every `unsafe` of the crate's plugin-API
//! use lives here.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::ptr::NonNull;

use qemu_plugin_sys as sys;

// glib is linked into QEMU; the plugin resolves these against it at load.
extern "C" {
    fn g_byte_array_new() -> *mut sys::GByteArray;
    fn g_byte_array_set_size(array: *mut sys::GByteArray, len: c_uint) -> *mut sys::GByteArray;
    fn g_byte_array_append(
        array: *mut sys::GByteArray,
        data: *const u8,
        len: c_uint,
    ) -> *mut sys::GByteArray;
    fn g_byte_array_free(array: *mut sys::GByteArray, free_segment: c_int) -> *mut u8;
    fn g_array_free(array: *mut sys::GArray, free_segment: c_int) -> *mut c_char;
    fn g_array_get_element_size(array: *mut sys::GArray) -> c_uint;
}

/// The plugin API v7 functions whose signatures differ from v4's, from
/// QEMU 11.1's `include/plugins/qemu-plugin.h` (same symbols, other types:
/// only called when QEMU speaks v7, see `api.rs`).
#[allow(clashing_extern_declarations)]
mod v7 {
    use std::ffi::{c_uint, c_void};

    use qemu_plugin_sys as sys;

    /// `qemu_plugin_vcpu_udata_cb_t`: `(vcpu_index, userdata)`.
    pub type VcpuUdataCb = unsafe extern "C" fn(c_uint, *mut c_void);
    /// `qemu_plugin_vcpu_tb_trans_cb_t`: `(tb, userdata)`.
    pub type TbTransCb = unsafe extern "C" fn(*mut sys::qemu_plugin_tb, *mut c_void);
    /// `qemu_plugin_udata_cb_t`: `(userdata)`.
    pub type UdataCb = unsafe extern "C" fn(*mut c_void);

    /// v7 `qemu_plugin_reg_descriptor` is 32 bytes; the handle and the
    /// name keep v4's places.
    pub const REG_DESCRIPTOR_SIZE: usize = 32;

    extern "C" {
        #[link_name = "qemu_plugin_register_vcpu_init_cb"]
        pub fn register_vcpu_init_cb(id: u64, cb: VcpuUdataCb, userdata: *mut c_void);
        #[link_name = "qemu_plugin_register_vcpu_tb_trans_cb"]
        pub fn register_vcpu_tb_trans_cb(id: u64, cb: TbTransCb, userdata: *mut c_void);
        #[link_name = "qemu_plugin_register_atexit_cb"]
        pub fn register_atexit_cb(id: u64, cb: UdataCb, userdata: *mut c_void);
        #[link_name = "qemu_plugin_read_register"]
        pub fn read_register(
            handle: *mut sys::qemu_plugin_register,
            buf: *mut sys::GByteArray,
        ) -> bool;
    }
}

pub use v7::{TbTransCb as TbTransCbV7, UdataCb as UdataCbV7, VcpuUdataCb as VcpuInitCbV7};

/// The callbacks a plugin registers at install, in both ABIs' shapes.
#[derive(Clone, Copy)]
pub struct InstallCallbacks {
    /// vCPU init, v4: `(id, vcpu_index)`.
    pub vcpu_init_v4: unsafe extern "C" fn(sys::qemu_plugin_id_t, c_uint),
    /// vCPU init, v7: `(vcpu_index, userdata)`.
    pub vcpu_init_v7: VcpuInitCbV7,
    /// Translation, v4: `(id, tb)`.
    pub tb_trans_v4: unsafe extern "C" fn(sys::qemu_plugin_id_t, *mut sys::qemu_plugin_tb),
    /// Translation, v7: `(tb, userdata)`.
    pub tb_trans_v7: TbTransCbV7,
    /// At exit, v4: `(id, userdata)`.
    pub atexit_v4: unsafe extern "C" fn(sys::qemu_plugin_id_t, *mut c_void),
    /// At exit, v7: `(userdata)`.
    pub atexit_v7: UdataCbV7,
}

/// Registers the install-time callbacks the way this QEMU's ABI wants,
/// the translation callback only when `translate`. Valid inside
/// `qemu_plugin_install` or a reset callback, with the plugin's id.
pub fn register_callbacks(id: sys::qemu_plugin_id_t, cbs: &InstallCallbacks, translate: bool) {
    let none = std::ptr::null_mut();
    if crate::api::is_v7() {
        // SAFETY: QEMU speaks v7 (api::set_abi from its minimum version),
        // whose registration functions take these callback types and a
        // userdata pointer (we pass NULL and never read it).
        unsafe {
            v7::register_vcpu_init_cb(id, cbs.vcpu_init_v7, none);
            if translate {
                v7::register_vcpu_tb_trans_cb(id, cbs.tb_trans_v7, none);
            }
            v7::register_atexit_cb(id, cbs.atexit_v7, none);
        }
    } else {
        // SAFETY: QEMU speaks v4, the ABI of the qemu-plugin-sys bindings.
        unsafe {
            sys::qemu_plugin_register_vcpu_init_cb(id, Some(cbs.vcpu_init_v4));
            if translate {
                sys::qemu_plugin_register_vcpu_tb_trans_cb(id, Some(cbs.tb_trans_v4));
            }
            sys::qemu_plugin_register_atexit_cb(id, Some(cbs.atexit_v4), none);
        }
    }
}

/// An owned glib `GByteArray`, the buffer type QEMU's register and memory
/// functions fill. One per vCPU is kept and reused: no per-event allocation
/// once it has grown to its working size.
pub struct ByteArray(NonNull<sys::GByteArray>);

// SAFETY: the array is owned exclusively by this value; glib byte arrays
// have no thread affinity.
unsafe impl Send for ByteArray {}

impl ByteArray {
    pub fn new() -> ByteArray {
        // SAFETY: g_byte_array_new has no preconditions and never returns
        // NULL (glib aborts on OOM).
        let p = unsafe { g_byte_array_new() };
        ByteArray(NonNull::new(p).expect("g_byte_array_new returned NULL"))
    }

    pub fn as_ptr(&mut self) -> *mut sys::GByteArray {
        self.0.as_ptr()
    }

    /// Current contents.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `data` points at `len` initialised bytes owned by the
        // array (or is NULL/dangling with len 0, handled below).
        unsafe {
            let a = self.0.as_ref();
            if a.len == 0 || a.data.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(a.data, a.len as usize)
            }
        }
    }

    /// Empties the array, keeping its allocation.
    pub fn clear(&mut self) {
        // SAFETY: shrinking a valid array to 0 never reallocates.
        unsafe {
            g_byte_array_set_size(self.0.as_ptr(), 0);
        }
    }

    /// Replaces the contents with `data`.
    pub fn set(&mut self, data: &[u8]) {
        self.clear();
        // Callers bound `data` (MAX_ACCESS); c_uint cannot overflow then.
        let len = data.len().min(c_uint::MAX as usize) as c_uint;
        // SAFETY: `data` is valid for `len` bytes; glib copies them.
        unsafe {
            g_byte_array_append(self.0.as_ptr(), data.as_ptr(), len);
        }
    }
}

impl Default for ByteArray {
    fn default() -> Self {
        ByteArray::new()
    }
}

impl Drop for ByteArray {
    fn drop(&mut self) {
        // SAFETY: we own the array; TRUE frees its data too.
        unsafe {
            g_byte_array_free(self.0.as_ptr(), 1);
        }
    }
}

/// Opaque register handle from `qemu_plugin_get_registers` (in QEMU it is
/// the gdb register number + 1 cast to a pointer, valid for the run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegHandle(pub(crate) *mut sys::qemu_plugin_register);

// SAFETY: the handle is an opaque token, never dereferenced by us.
unsafe impl Send for RegHandle {}
// SAFETY: as above.
unsafe impl Sync for RegHandle {}

/// One entry of the current vCPU's register list.
pub struct RegDesc {
    pub handle: RegHandle,
    pub name: String,
}

/// Lists the current vCPU's registers. Only valid in a vCPU-init callback.
/// A descriptor size other than the ABI's gives an empty list (registers
/// then read as 0, which the caller reports), never a misread.
pub fn get_registers() -> Vec<RegDesc> {
    let mut out = Vec::new();
    let want = if crate::api::is_v7() {
        v7::REG_DESCRIPTOR_SIZE
    } else {
        std::mem::size_of::<sys::qemu_plugin_reg_descriptor>()
    };
    // SAFETY: called from the vcpu-init callback (vCPU context) as the API
    // requires; the GArray holds `len` descriptors of the checked element
    // size, each starting with v4's handle and name fields; the names are
    // static strings; we free the array (not the strings).
    unsafe {
        let arr = sys::qemu_plugin_get_registers();
        if arr.is_null() {
            return out;
        }
        if g_array_get_element_size(arr) as usize == want {
            let a = &*arr;
            let base = a.data as *const u8;
            for i in 0..a.len as usize {
                let d = &*(base.add(i * want) as *const sys::qemu_plugin_reg_descriptor);
                if d.name.is_null() {
                    continue;
                }
                let name = CStr::from_ptr(d.name).to_string_lossy().into_owned();
                out.push(RegDesc {
                    handle: RegHandle(d.handle),
                    name,
                });
            }
        }
        g_array_free(arr, 1);
    }
    out
}

/// Appends the current vCPU's register `h` to `buf`; returns its size.
/// Only valid in a vCPU callback registered with register access.
pub fn read_register(h: RegHandle, buf: &mut ByteArray) -> Option<usize> {
    let before = buf.as_slice().len();
    if crate::api::is_v7() {
        // SAFETY: as below; v7 returns success as a bool.
        let ok = unsafe { v7::read_register(h.0, buf.as_ptr()) };
        let n = buf.as_slice().len().saturating_sub(before);
        return (ok && n > 0).then_some(n);
    }
    // SAFETY: `h` came from qemu_plugin_get_registers; `buf` is a valid
    // GByteArray; we are in a vCPU callback (the caller's contract).
    let n = unsafe { sys::qemu_plugin_read_register(h.0, buf.as_ptr()) };
    (n > 0).then_some(n as usize)
}

/// Reads `len` (> 0) bytes of the current vCPU's virtual memory into
/// `buf` (replacing its contents). Only valid in a vCPU callback.
pub fn read_memory_vaddr(addr: u64, len: usize, buf: &mut ByteArray) -> bool {
    if len == 0 {
        return true;
    }
    // SAFETY: valid GByteArray, vCPU context (caller's contract); QEMU
    // resizes `buf` to `len`.
    let ok = unsafe { sys::qemu_plugin_read_memory_vaddr(addr, buf.as_ptr(), len) };
    ok && buf.as_slice().len() >= len
}

/// Copies up to `out.len()` bytes of a translated instruction.
///
/// # Safety
/// `insn` must be a handle given by `qemu_plugin_tb_get_insn` during the
/// current translation callback.
pub unsafe fn insn_data(insn: *const sys::qemu_plugin_insn, out: &mut [u8]) -> usize {
    // SAFETY: caller guarantees `insn`; `out` is writable for its length.
    let n = unsafe { sys::qemu_plugin_insn_data(insn, out.as_mut_ptr() as *mut c_void, out.len()) };
    n.min(out.len())
}

/// Guest virtual address of a translated instruction.
///
/// # Safety
/// As for [`insn_data`].
pub unsafe fn insn_vaddr(insn: *const sys::qemu_plugin_insn) -> u64 {
    // SAFETY: caller guarantees `insn`.
    unsafe { sys::qemu_plugin_insn_vaddr(insn) }
}

/// The instructions of a TB being translated.
///
/// # Safety
/// `tb` must be the handle passed to the current translation callback.
pub unsafe fn tb_insns(
    tb: *mut sys::qemu_plugin_tb,
) -> impl Iterator<Item = *mut sys::qemu_plugin_insn> {
    // SAFETY: caller guarantees `tb` is live for this callback.
    let n = unsafe { sys::qemu_plugin_tb_n_insns(tb) };
    // SAFETY: idx < n, `tb` live.
    (0..n).map(move |i| unsafe { sys::qemu_plugin_tb_get_insn(tb, i) })
}

/// Registers `cb` to run before `insn` executes, with read/write register
/// access (so register writes made in the callback reach the instruction).
///
/// # Safety
/// `insn` must be a handle of the current translation callback.
pub unsafe fn register_insn_exec_rw(
    insn: *mut sys::qemu_plugin_insn,
    cb: unsafe extern "C" fn(c_uint, *mut c_void),
    udata: u64,
) {
    // SAFETY: the caller's guarantee, passed on.
    unsafe {
        register_insn_exec(
            insn,
            cb,
            udata,
            sys::qemu_plugin_cb_flags::QEMU_PLUGIN_CB_RW_REGS,
        )
    }
}

/// Registers `cb` to run before `insn` executes, reading registers only
/// (cheaper than [`register_insn_exec_rw`]: nothing is written back).
///
/// # Safety
/// `insn` must be a handle of the current translation callback.
pub unsafe fn register_insn_exec_r(
    insn: *mut sys::qemu_plugin_insn,
    cb: unsafe extern "C" fn(c_uint, *mut c_void),
    udata: u64,
) {
    // SAFETY: the caller's guarantee, passed on.
    unsafe {
        register_insn_exec(
            insn,
            cb,
            udata,
            sys::qemu_plugin_cb_flags::QEMU_PLUGIN_CB_R_REGS,
        )
    }
}

/// The registration both of the above make, with their register access.
///
/// # Safety
/// `insn` must be a handle of the current translation callback.
unsafe fn register_insn_exec(
    insn: *mut sys::qemu_plugin_insn,
    cb: unsafe extern "C" fn(c_uint, *mut c_void),
    udata: u64,
    flags: sys::qemu_plugin_cb_flags,
) {
    // SAFETY: caller guarantees `insn`; udata is an integer token, never
    // dereferenced.
    unsafe {
        sys::qemu_plugin_register_vcpu_insn_exec_cb(
            insn,
            Some(cb),
            flags,
            udata as usize as *mut c_void,
        );
    }
}
