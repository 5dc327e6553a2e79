//! Guest RAM read through host pointers, for the physical reads of page
//! walks and kernel structures on QEMU 10.0 ([`crate::phys`]'s internal
//! reader).
//!
//! `cpu_physical_memory_rw` dispatches every read through QEMU's memory
//! map (RCU lock, flat-view lookup, region checks): it cost as much as the
//! engine's decoding when fd names (`-y`) and attribution read a few
//! dozen 8-byte fields per call. Guest RAM is one host allocation that
//! lives as long as the VM, so each 2 MiB chunk of it is looked up once,
//! with the same dispatch (`cpu_physical_memory_map`, read-only): when
//! the whole chunk is RAM (QEMU maps it in place, and the pointer lies in
//! one of its RAM blocks) its host address is kept, and later reads in
//! the chunk are a copy. A chunk that is not all RAM (the legacy hole, an
//! SMRAM window at the top of low memory) is never direct: its reads keep
//! taking `cpu_physical_memory_rw`. Only chunks inside the RAM map
//! ([`RamRanges`]) are looked up, so no device is ever read here that the
//! old path would not read.
//!
//! Memory that can go away is never direct. The RAM map holds only the
//! machine's initial RAM (`-m SIZE`, laid out by [`crate::phys`]'s
//! `ram_for_machine`), which QEMU cannot unplug; hot-pluggable memory
//! (`pc-dimm`, `nvdimm`, `virtio-mem`) sits in the machine's device
//! memory region, which QEMU places above the end of that RAM (rounded up
//! to 1 GiB), so none of its chunks passes the map check in `look_up`
//! and a DIMM's unplug cannot leave a stale pointer here.
//!
//! The lookups are QEMU internals that Debian's 10.0 binary exports,
//! resolved once with `dlsym` like [`crate::writes`]; without them every
//! read takes the old path.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use vstrace_core::mem::RamRanges;

use crate::writes::lookup;

/// `void *cpu_physical_memory_map(hwaddr addr, hwaddr *plen, bool is_write)`.
type MapFn = unsafe extern "C" fn(u64, *mut u64, bool) -> *mut c_void;
/// `void cpu_physical_memory_unmap(void *buffer, hwaddr len, bool is_write,
/// hwaddr access_len)`.
type UnmapFn = unsafe extern "C" fn(*mut c_void, u64, bool, u64);
/// `RAMBlock *qemu_ram_block_from_host(void *ptr, bool round_offset,
/// ram_addr_t *offset)`.
type BlockFromHost = unsafe extern "C" fn(*mut c_void, bool, *mut u64) -> *mut c_void;

/// Chunk size: 2 MiB, a huge page of the direct map.
const CHUNK_SHIFT: u32 = 21;
const CHUNK: u64 = 1 << CHUNK_SHIFT;
/// Chunk state: not looked up yet.
const UNKNOWN: usize = 0;
/// Chunk state: not all RAM, or not mapped in place.
const NOT_DIRECT: usize = 1;
/// Most chunks tracked (1 TiB of physical addresses); reads above take
/// the old path.
const MAX_CHUNKS: u64 = 1 << 19;

/// Host addresses of guest RAM chunks (see the module doc).
pub struct DirectRam {
    map: MapFn,
    unmap: UnmapFn,
    block_from_host: BlockFromHost,
    /// Per chunk: [`UNKNOWN`], [`NOT_DIRECT`] or the host address of its
    /// first byte. Filled by whichever vCPU reads it first (the same
    /// value from any of them).
    chunks: Box<[AtomicUsize]>,
    /// The RAM map the chunks were checked against.
    ram: RamRanges,
}

static DIRECT: OnceLock<Option<DirectRam>> = OnceLock::new();

impl DirectRam {
    /// The direct reader for `ram` (set up on the first call; the RAM map
    /// is the plugin's, fixed at install), or None when this QEMU does not
    /// export the functions it needs.
    pub fn get(ram: &RamRanges) -> Option<&'static DirectRam> {
        DIRECT.get_or_init(|| Self::new(ram)).as_ref()
    }

    fn new(ram: &RamRanges) -> Option<DirectRam> {
        if std::env::var_os("VSTRACE_PLUGIN_DIRECT_RAM").is_some_and(|v| v == "0") {
            return None;
        }
        let (map, unmap, from_host) = (
            lookup(c"cpu_physical_memory_map")?,
            lookup(c"cpu_physical_memory_unmap")?,
            lookup(c"qemu_ram_block_from_host")?,
        );
        let top = ram.ranges().iter().map(|&(_, e)| e).max()?;
        let n = top.div_ceil(CHUNK).min(MAX_CHUNKS) as usize;
        // SAFETY: QEMU 10.0 exports these functions with the C signatures
        // of the type aliases above (include/exec/cpu-common.h).
        let (map, unmap, block_from_host) = unsafe {
            (
                std::mem::transmute::<*mut c_void, MapFn>(map),
                std::mem::transmute::<*mut c_void, UnmapFn>(unmap),
                std::mem::transmute::<*mut c_void, BlockFromHost>(from_host),
            )
        };
        Some(DirectRam {
            map,
            unmap,
            block_from_host,
            chunks: (0..n).map(|_| AtomicUsize::new(UNKNOWN)).collect(),
            ram: ram.clone(),
        })
    }

    /// Fills `buf` from guest physical `pa` through a host pointer; false
    /// when the range is not in one direct chunk (the caller then reads it
    /// the old way). vCPU callback context only.
    pub fn read(&self, pa: u64, buf: &mut [u8]) -> bool {
        if buf.is_empty() {
            return false;
        }
        let Some(last) = pa.checked_add(buf.len() as u64 - 1) else {
            return false;
        };
        if last >> CHUNK_SHIFT != pa >> CHUNK_SHIFT {
            return false;
        }
        let Some(slot) = self.chunks.get((pa >> CHUNK_SHIFT) as usize) else {
            return false;
        };
        let mut base = slot.load(Ordering::Relaxed);
        if base == UNKNOWN {
            base = self.look_up(pa & !(CHUNK - 1));
            slot.store(base, Ordering::Relaxed);
        }
        if base == NOT_DIRECT {
            return false;
        }
        let src = (base + (pa & (CHUNK - 1)) as usize) as *const u8;
        // SAFETY: `base` is the host address of a whole 2 MiB chunk of a
        // RAM block (checked in `look_up`), which lives as long as the VM;
        // `[pa, last]` lies in that chunk. Other vCPUs may write the guest
        // RAM meanwhile, as they may during `cpu_physical_memory_rw`'s own
        // copy: the bytes are guest data, never trusted.
        unsafe { std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), buf.len()) };
        true
    }

    /// The host address of the chunk at `start`, or [`NOT_DIRECT`].
    fn look_up(&self, start: u64) -> usize {
        // Only chunks the RAM map holds whole: the lookup reads no device
        // that a read of the old path would not.
        if !self.ram.contains(start, CHUNK) {
            return NOT_DIRECT;
        }
        let mut len = CHUNK;
        // SAFETY: vCPU callback context; a read-only mapping of guest
        // physical memory, released below before anything else runs.
        let p = unsafe { (self.map)(start, &mut len, false) };
        if p.is_null() {
            return NOT_DIRECT;
        }
        let mut offset = 0u64;
        // SAFETY: looks `p` up among QEMU's RAM blocks; writes `offset`.
        let in_ram = !unsafe { (self.block_from_host)(p, false, &mut offset) }.is_null();
        let direct = len == CHUNK && in_ram;
        // SAFETY: `p` and `len` are what the map call returned; nothing
        // was written.
        unsafe { (self.unmap)(p, len, false, 0) };
        if direct {
            p as usize
        } else {
            NOT_DIRECT
        }
    }
}
