//! The signal probe's place in a kernel, from the kernel's `System.map`.
//!
//! A handler installed without SA_SIGINFO gets no siginfo in its frame,
//! so the frame alone shows `{si_signo=SIGALRM}` where strace (told by
//! ptrace) shows `{si_signo=SIGALRM, si_code=SI_KERNEL}`. The kernel's own
//! copy is in the `struct ksignal` that `handle_signal` passes to
//! `signal_setup_done(int failed, struct ksignal *ksig, int stepping)`
//! (kernel/signal.c, called from arch/x86/kernel/signal.c: another
//! compilation unit, so always a real call), once the frame is written
//! and before the return to the handler. An event source that can stop at
//! that function's first instruction (the QEMU plugin) reads the siginfo
//! there through the second argument (rsi on x86-64; edx on i386, whose
//! kernels pass the first three arguments in eax, edx, ecx).
//!
//! The function is not exported, so the image's own symbol tables
//! (ksymtab) do not have it: its link address comes from a `System.map`
//! (Debian ships the real one in the kernel's -dbg package, see
//! scripts/setup-host.sh). A map is only taken when it is the image's
//! (its `init_task` is the profile's). The `struct ksignal` offsets come
//! from BTF when the image has it, else from the x86 layouts
//! ([`KsignalLayout::known`]).

use serde::{Deserialize, Serialize};

use super::btf::Btf;
use super::LinuxProfile;

/// The function whose first instruction is probed.
pub const PROBE_SYMBOL: &str = "signal_setup_done";

/// Why a `System.map` gives no probe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SysMapError {
    /// The map lacks a symbol (Debian's image package ships a one-line
    /// stub map).
    #[error("no {0} in the System.map")]
    Missing(&'static str),
    /// The map is another kernel's.
    #[error("the System.map is another kernel's (init_task {map:#x}, the image's {image:#x})")]
    OtherKernel {
        /// `init_task` in the map.
        map: u64,
        /// `init_task` in the profile.
        image: u64,
    },
    /// The probe's address is not a kernel address.
    #[error("{PROBE_SYMBOL} at {0:#x} is not a kernel address")]
    NotKernel(u64),
}

/// Where, in a `struct ksignal { struct k_sigaction ka; kernel_siginfo_t
/// info; int sig; }`, the probe reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KsignalLayout {
    /// Offset of `info`.
    pub info: u64,
    /// `sizeof(kernel_siginfo_t)`.
    pub info_size: u64,
    /// Offset of `sig`.
    pub sig: u64,
}

impl KsignalLayout {
    /// The x86 layouts, for kernels without BTF: `struct sigaction` is
    /// handler, flags, restorer and a 64-bit mask (32 bytes with 8-byte
    /// words, 20 with 4-byte ones; x86 has no `ka_restorer`), then
    /// `kernel_siginfo` (three ints and the union: 48 bytes on x86-64, 32
    /// on i386, whose largest member is `_sigchld`'s 20 bytes), then
    /// `sig`.
    pub fn known(pointer_size: u64) -> KsignalLayout {
        if pointer_size == 4 {
            KsignalLayout {
                info: 20,
                info_size: 32,
                sig: 52,
            }
        } else {
            KsignalLayout {
                info: 32,
                info_size: 48,
                sig: 80,
            }
        }
    }

    /// The layout from BTF (`struct ksignal` and its `info`'s type).
    pub fn from_btf(btf: &Btf) -> Option<KsignalLayout> {
        let ks = btf.find_struct("ksignal")?;
        let info = btf.member(ks, "info").ok()?;
        let sig = btf.member(ks, "sig").ok()?;
        Some(KsignalLayout {
            info: info.bit_offset / 8,
            info_size: btf.size_of(info.type_id).ok()?,
            sig: sig.bit_offset / 8,
        })
    }

    /// Whether the probe's single read (from `info` to the end of `sig`)
    /// is of a sane size: a hostile or broken profile must not make the
    /// plugin read megabytes per delivery.
    pub fn plausible(&self) -> bool {
        (8..=128).contains(&self.info_size)
            && self.sig >= self.info + self.info_size
            && self.sig - self.info <= 256
    }

    /// Bytes the probe reads at `ksig + info`: the siginfo and `sig`.
    pub fn read_len(&self) -> u64 {
        self.sig + 4 - self.info
    }
}

/// The probe: link address of [`PROBE_SYMBOL`] and what it reads there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalProbe {
    /// Link-time address of `signal_setup_done` (runtime: plus the KASLR
    /// slide).
    pub addr: u64,
    /// The `struct ksignal` layout.
    pub ksignal: KsignalLayout,
}

/// The address of `name` in a `System.map` (`ADDRESS TYPE NAME` lines).
pub fn lookup(map: &str, name: &str) -> Option<u64> {
    map.lines().find_map(|l| {
        let mut w = l.split_ascii_whitespace();
        let (addr, _ty, sym) = (w.next()?, w.next()?, w.next()?);
        (sym == name)
            .then(|| u64::from_str_radix(addr, 16).ok())
            .flatten()
    })
}

impl LinuxProfile {
    /// Adds the signal probe from the kernel's `System.map` text; `btf`
    /// (the image's, when it has one) gives the `struct ksignal` layout.
    /// The profile is left without a probe on any error.
    pub fn add_system_map(&mut self, map: &str, btf: Option<&Btf>) -> Result<(), SysMapError> {
        let init = lookup(map, "init_task").ok_or(SysMapError::Missing("init_task"))?;
        if init != self.init_task {
            return Err(SysMapError::OtherKernel {
                map: init,
                image: self.init_task,
            });
        }
        let addr = lookup(map, PROBE_SYMBOL).ok_or(SysMapError::Missing(PROBE_SYMBOL))?;
        let top = if self.pointer_size == 4 {
            u64::from(u32::MAX)
        } else {
            u64::MAX
        };
        if addr < self.kernel_min || addr > top {
            return Err(SysMapError::NotKernel(addr));
        }
        let ksignal = btf
            .and_then(KsignalLayout::from_btf)
            .filter(KsignalLayout::plausible)
            .unwrap_or_else(|| KsignalLayout::known(self.pointer_size));
        self.signal_probe = Some(SignalProbe { addr, ksignal });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "ffffffff81000000 T _text\n\
                       ffffffff810a1b20 T signal_setup_done\n\
                       ffffffff82a14940 D init_task\n";

    fn profile() -> LinuxProfile {
        let mut p = crate::profile::layouts::synthetic_profile();
        p.init_task = 0xffff_ffff_82a1_4940;
        p
    }

    #[test]
    fn a_map_of_the_image_gives_the_probe() {
        assert_eq!(lookup(MAP, "init_task"), Some(0xffff_ffff_82a1_4940));
        assert_eq!(lookup(MAP, "init"), None);
        let mut p = profile();
        p.add_system_map(MAP, None).unwrap();
        let probe = p.signal_probe.unwrap();
        assert_eq!(probe.addr, 0xffff_ffff_810a_1b20);
        assert_eq!(probe.ksignal, KsignalLayout::known(8));
        assert_eq!(probe.ksignal.read_len(), 52);
        assert_eq!(KsignalLayout::known(4).read_len(), 36);
        assert!(KsignalLayout::known(4).plausible() && KsignalLayout::known(8).plausible());
    }

    #[test]
    fn stubs_and_other_kernels_give_none() {
        let mut p = profile();
        // Debian's image package's map.
        let stub =
            "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n";
        assert_eq!(
            p.add_system_map(stub, None),
            Err(SysMapError::Missing("init_task"))
        );
        let other = MAP.replace("ffffffff82a14940", "ffffffff82a15940");
        assert!(matches!(
            p.add_system_map(&other, None),
            Err(SysMapError::OtherKernel { .. })
        ));
        let user = MAP.replace("ffffffff810a1b20", "0000000000401000");
        assert_eq!(
            p.add_system_map(&user, None),
            Err(SysMapError::NotKernel(0x401000))
        );
        assert_eq!(p.signal_probe, None);
        // Garbage lines are skipped.
        assert_eq!(lookup("zz T init_task\n\n x\n", "init_task"), None);
    }

    #[test]
    fn ksignal_layout_from_the_debian_btf() {
        let Some(elf) = crate::profile::test_vmlinux() else {
            eprintln!("no vmlinux: skipped");
            return;
        };
        use object::{Object, ObjectSection};
        let file = object::File::parse(&*elf).unwrap();
        let data = file.section_by_name(".BTF").unwrap().data().unwrap();
        let btf = Btf::parse(data).unwrap();
        // x86-64: the layout the no-BTF fallback assumes.
        assert_eq!(KsignalLayout::from_btf(&btf), Some(KsignalLayout::known(8)));
    }
}
