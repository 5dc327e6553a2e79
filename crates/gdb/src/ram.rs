//! Where the guest's RAM is, from QEMU's own memory map (`monitor info
//! mtree -f`): physical reads (page walks of other address spaces) are
//! bounded to it, so hostile page tables never make us read device memory
//! through the stub (QEMU's physical accesses dispatch MMIO to devices).

use vstrace_core::mem::RamRanges;

/// Most RAM ranges kept (a real map has a handful).
const MAX_RANGES: usize = 64;

/// The `ram` ranges `[start, end)` of the flat view that serves the
/// address space named `memory` (the CPUs' view), sorted; empty when the
/// text holds none.
pub fn parse_ram_ranges(mtree: &str) -> RamRanges {
    let mut out = Vec::new();
    let mut in_memory_view = false;
    for line in mtree.lines() {
        let t = line.trim();
        if t.starts_with("FlatView #") {
            if in_memory_view && !out.is_empty() {
                break;
            }
            in_memory_view = false;
            continue;
        }
        if t.starts_with("AS \"memory\"") {
            in_memory_view = true;
            continue;
        }
        if !in_memory_view || out.len() >= MAX_RANGES {
            continue;
        }
        // "0000000000100000-000000001fffffff (prio 0, ram): pc.ram @..."
        let Some((range, rest)) = t.split_once(' ') else {
            continue;
        };
        let is_ram = rest
            .strip_prefix('(')
            .and_then(|r| r.split_once(')'))
            .is_some_and(|(attrs, _)| attrs.split(", ").nth(1) == Some("ram"));
        if !is_ram {
            continue;
        }
        let Some((s, e)) = range.split_once('-') else {
            continue;
        };
        let (Ok(s), Ok(e)) = (u64::from_str_radix(s, 16), u64::from_str_radix(e, 16)) else {
            continue;
        };
        if let Some(end) = e.checked_add(1).filter(|end| *end > s) {
            out.push((s, end));
        }
    }
    RamRanges::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QEMU 10.0's output for `-machine q35 -m 512M -nodefaults`, trimmed.
    const Q35: &str = "\
FlatView #0
 AS \"cpu-smm-0\", root: memory
 Root memory region: memory
  0000000000000000-00000000000bffff (prio 0, ram): pc.ram
  0000000000100000-000000001fffffff (prio 0, ram): pc.ram @0000000000100000
  00000000fee00000-00000000feefffff (prio 4096, i/o): apic-msi
FlatView #2
 AS \"memory\", root: system
 AS \"cpu-memory-0\", root: system
 Root memory region: system
  0000000000000000-00000000000bffff (prio 0, ram): pc.ram
  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom
  0000000000100000-000000001fffffff (prio 0, ram): pc.ram @0000000000100000
  00000000b0000000-00000000bfffffff (prio 0, i/o): pcie-mmcfg-mmio
  00000000fffc0000-00000000ffffffff (prio 0, romd): system.flash0
FlatView #3
 AS \"I/O\", root: io
  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan
";

    #[test]
    fn ram_of_the_cpu_view_only() {
        let r = parse_ram_ranges(Q35);
        assert_eq!(r.ranges(), [(0, 0xc_0000), (0x10_0000, 0x2000_0000)]);
        assert!(r.contains(0x1fff_fff8, 8));
        assert!(!r.contains(0x1fff_fffc, 8));
        assert!(!r.contains(0xc_0000, 1), "ROM");
        assert!(!r.contains(0xb000_0000, 4), "MMIO");
        assert!(!r.contains(u64::MAX, 2));
    }

    #[test]
    fn garbage_gives_nothing() {
        assert!(parse_ram_ranges("").is_empty());
        assert!(parse_ram_ranges("AS \"memory\"\n zz-yy (prio 0, ram): x\n").is_empty());
        assert!(parse_ram_ranges("AS \"memory\"\n 10-0 (prio 0, ram): x\n").is_empty());
        assert!(
            parse_ram_ranges("AS \"memory\"\n 0-ffffffffffffffff (prio 0, ram): x\n").is_empty()
        );
        let many: String = std::iter::once("AS \"memory\"\n".to_string())
            .chain((0..1000u64).map(|i| format!("{:x}-{:x} (prio 0, ram): r\n", i * 2, i * 2)))
            .collect();
        assert_eq!(parse_ram_ranges(&many).ranges().len(), MAX_RANGES);
    }
}
