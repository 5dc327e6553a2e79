//! Ready-made Rust hooks for Windows guests, to register in a custom
//! plugin (see `examples/hook-plugin`).
//!
//! [`file_open`] is the seed's NtOpenFile / NtCreateFile hook written in
//! Rust: on enter it collects the first three arguments, decodes the
//! OBJECT_ATTRIBUTES' ObjectName and the DesiredAccess as file rights, and
//! leaves `{object_name, access}` in the record's hook data.

use vstrace_core::hooks::{HookError, Hooks};
use vstrace_core::Syscall;

use crate::access::{access_mask_rights, ObjectType};
use crate::structs::object_attributes_name;

/// The calls [`file_open`] is meant for: both take (FileHandle,
/// DesiredAccess, ObjectAttributes, ...).
pub const FILE_OPEN_CALLS: [&str; 2] = ["NtOpenFile", "NtCreateFile"];

/// On enter of NtOpenFile / NtCreateFile: `hook.object_name` (the
/// ObjectName text) and `hook.access` (the file rights, a list of names).
/// A name that cannot be read (NULL or unmapped pointers) is an error of
/// this hook, counted by the engine; the call goes on untouched.
pub fn file_open(sc: &mut Syscall<'_>) -> Result<(), HookError> {
    let args = sc.args(3)?;
    let (access, oa) = (args[1] as u32, args[2]);
    let bitness = sc.event.bitness;
    let name = object_attributes_name(sc.cpu().mem(), oa, bitness)
        .map_err(|e| HookError::Msg(format!("ObjectAttributes {oa:#x}: {e}")))?;
    let rights: Vec<serde_json::Value> = access_mask_rights(access, ObjectType::File)
        .split('|')
        .map(|r| r.into())
        .collect();
    sc.hook.insert("object_name".into(), name.into());
    sc.hook.insert("access".into(), rights.into());
    Ok(())
}

/// Registers [`file_open`] on enter of the calls in [`FILE_OPEN_CALLS`].
pub fn register_file_open(hooks: &mut Hooks) {
    for name in FILE_OPEN_CALLS {
        hooks.on_enter(name, file_open);
    }
}

#[cfg(test)]
mod tests {
    //! The hook on synthetic x64 and x86 calls (the Windows x64 syscall
    //! and x86 sysenter argument layouts), and on hostile pointers.

    use super::*;
    use vstrace_core::cpu::SnapshotCpu;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::{Bitness, Event, Mechanism, Os, Reg, Regs, VirtMem};

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    /// OBJECT_ATTRIBUTES at `oa` naming `name`, in `b`'s layout.
    fn object_attributes(m: &mut SparseVirt, oa: u64, name: &str, b: Bitness) {
        let text = utf16(name);
        let (us, buf) = (oa + 0x100, oa + 0x200);
        let len = text.len() as u16;
        let mut u = Vec::new();
        u.extend_from_slice(&len.to_le_bytes());
        u.extend_from_slice(&len.to_le_bytes());
        let mut o = Vec::new();
        match b {
            Bitness::B64 => {
                u.extend_from_slice(&[0; 4]);
                u.extend_from_slice(&buf.to_le_bytes());
                o.extend_from_slice(&48u64.to_le_bytes());
                o.extend_from_slice(&0u64.to_le_bytes());
                o.extend_from_slice(&us.to_le_bytes());
                o.extend_from_slice(&[0; 24]);
            }
            Bitness::B32 => {
                u.extend_from_slice(&(buf as u32).to_le_bytes());
                for v in [24u32, 0, us as u32, 0, 0, 0] {
                    o.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        m.write_virt(oa, &o).unwrap();
        m.write_virt(us, &u).unwrap();
        m.write_virt(buf, &text).unwrap();
    }

    fn call(
        b: Bitness,
        access: u32,
        oa: u64,
        mem: &mut SparseVirt,
    ) -> (
        Result<(), HookError>,
        serde_json::Map<String, serde_json::Value>,
    ) {
        let mut r = Regs::default();
        let mech = match b {
            Bitness::B64 => {
                r.cs = 0x33;
                r.set(Reg::R10, 0x5000_0800);
                r.set(Reg::Rdx, access as u64);
                r.set(Reg::R8, oa);
                r.set(Reg::Rsp, 0x7000_0000);
                Mechanism::Syscall
            }
            Bitness::B32 => {
                // [edx], [edx+4]: return addresses; arguments from [edx+8].
                r.cs = 0x1b;
                let edx = 0x7000_0000u64;
                r.set(Reg::Rdx, edx);
                let mut stack = Vec::new();
                for v in [0x7700_0010u32, 0x0040_1000, 0x5000_0800, access, oa as u32] {
                    stack.extend_from_slice(&v.to_le_bytes());
                }
                mem.write_virt(edx, &stack).unwrap();
                Mechanism::Sysenter
            }
        };
        let ev = Event::new(0, mech, b, r.clone());
        let mut cpu = SnapshotCpu { regs: r, mem };
        let mut sc = Syscall::new(ev, Os::Windows, &mut cpu);
        let res = file_open(&mut sc);
        (res, sc.hook.clone())
    }

    #[test]
    fn object_name_and_file_rights_on_both_abis() {
        for b in [Bitness::B64, Bitness::B32] {
            let mut m = SparseVirt::new();
            m.map_zeroed(0x7000_0000, 0x1000);
            m.map_zeroed(0x5000_0000, 0x1000);
            object_attributes(&mut m, 0x5000_0000, "\\??\\C:\\x.txt", b);
            let (res, hook) = call(b, 0x0012_0089, 0x5000_0000, &mut m);
            res.unwrap();
            assert_eq!(hook["object_name"], "\\??\\C:\\x.txt", "{b:?}");
            assert_eq!(hook["access"], serde_json::json!(["FILE_GENERIC_READ"]));
            let (_, hook) = call(b, 0x0010_0001, 0x5000_0000, &mut m);
            assert_eq!(
                hook["access"],
                serde_json::json!(["FILE_READ_DATA", "SYNCHRONIZE"])
            );
        }
    }

    #[test]
    fn hostile_object_attributes_are_hook_errors() {
        let mut m = SparseVirt::new();
        m.map_zeroed(0x7000_0000, 0x1000);
        // NULL and unmapped OBJECT_ATTRIBUTES.
        for oa in [0u64, 0xdead_0000] {
            let (res, hook) = call(Bitness::B64, 0x0012_0089, oa, &mut m);
            assert!(res.is_err(), "{oa:#x}");
            assert!(hook.is_empty());
        }
        // ObjectName's Buffer unmapped.
        m.map_zeroed(0x5000_0000, 0x200);
        let mut u = vec![8u8, 0, 8, 0, 0, 0, 0, 0];
        u.extend_from_slice(&0x6000_0000u64.to_le_bytes());
        m.write_virt(0x5000_0100, &u).unwrap();
        m.write_virt(0x5000_0010, &0x5000_0100u64.to_le_bytes())
            .unwrap();
        let (res, _) = call(Bitness::B64, 1, 0x5000_0000, &mut m);
        assert!(res.is_err());
    }

    #[test]
    fn registers_both_calls() {
        let mut h = Hooks::new();
        register_file_open(&mut h);
        assert!(h.wants("NtOpenFile", vstrace_core::Direction::Enter));
        assert!(h.wants("NtCreateFile", vstrace_core::Direction::Enter));
        assert!(!h.wants("NtOpenFile", vstrace_core::Direction::Exit));
    }
}
