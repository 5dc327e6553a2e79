//! ACCESS_MASK rendering per object type: specific rights (bits 0-15),
//! standard rights (16-20), ACCESS_SYSTEM_SECURITY, MAXIMUM_ALLOWED and the
//! generic rights (28-31), with the type's usual composites
//! (`FILE_GENERIC_READ`, `KEY_READ`, `PROCESS_ALL_ACCESS` ...).

use serde::Serialize;

use crate::flags::Named;

/// Object type an access mask applies to (selects the specific rights).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ObjectType {
    /// Unknown type: specific rights shown as hex.
    Any,
    /// File, device or named pipe (`FILE_READ_DATA`...).
    File,
    /// Object manager directory (NtOpenDirectoryObject).
    Directory,
    /// Registry key (`KEY_QUERY_VALUE`...).
    Key,
    /// Process (`PROCESS_VM_READ`...).
    Process,
    /// Thread (`THREAD_SUSPEND_RESUME`...).
    Thread,
    /// Access token (`TOKEN_QUERY`...).
    Token,
    /// Section, i.e. a file mapping (`SECTION_MAP_READ`...).
    Section,
    /// Event (`EVENT_MODIFY_STATE`...).
    Event,
    /// Mutant, the kernel's mutex (`MUTANT_QUERY_STATE`).
    Mutant,
    /// Semaphore (`SEMAPHORE_MODIFY_STATE`...).
    Semaphore,
    /// Timer (`TIMER_MODIFY_STATE`...).
    Timer,
    /// Object manager symbolic link (`SYMBOLIC_LINK_QUERY`).
    SymbolicLink,
    /// LPC/ALPC port (`PORT_CONNECT`).
    Port,
    /// I/O completion port (`IO_COMPLETION_MODIFY_STATE`...).
    IoCompletion,
    /// Job object (`JOB_OBJECT_ASSIGN_PROCESS`...).
    Job,
}

const STANDARD: &[Named] = &[
    (0x0001_0000, "DELETE"),
    (0x0002_0000, "READ_CONTROL"),
    (0x0004_0000, "WRITE_DAC"),
    (0x0008_0000, "WRITE_OWNER"),
    (0x0010_0000, "SYNCHRONIZE"),
    (0x0100_0000, "ACCESS_SYSTEM_SECURITY"),
    (0x0200_0000, "MAXIMUM_ALLOWED"),
    (0x1000_0000, "GENERIC_ALL"),
    (0x2000_0000, "GENERIC_EXECUTE"),
    (0x4000_0000, "GENERIC_WRITE"),
    (0x8000_0000, "GENERIC_READ"),
];

const STANDARD_COMPOSITES: &[Named] = &[(0x001F_0000, "STANDARD_RIGHTS_ALL")];

const FILE: &[Named] = &[
    (0x1, "FILE_READ_DATA"),
    (0x2, "FILE_WRITE_DATA"),
    (0x4, "FILE_APPEND_DATA"),
    (0x8, "FILE_READ_EA"),
    (0x10, "FILE_WRITE_EA"),
    (0x20, "FILE_EXECUTE"),
    (0x40, "FILE_DELETE_CHILD"),
    (0x80, "FILE_READ_ATTRIBUTES"),
    (0x100, "FILE_WRITE_ATTRIBUTES"),
];
const FILE_COMPOSITES: &[Named] = &[
    (0x001F_01FF, "FILE_ALL_ACCESS"),
    (0x0012_0089, "FILE_GENERIC_READ"),
    (0x0012_0116, "FILE_GENERIC_WRITE"),
    (0x0012_00A0, "FILE_GENERIC_EXECUTE"),
];

const DIRECTORY: &[Named] = &[
    (0x1, "DIRECTORY_QUERY"),
    (0x2, "DIRECTORY_TRAVERSE"),
    (0x4, "DIRECTORY_CREATE_OBJECT"),
    (0x8, "DIRECTORY_CREATE_SUBDIRECTORY"),
];
const DIRECTORY_COMPOSITES: &[Named] = &[(0x000F_000F, "DIRECTORY_ALL_ACCESS")];

const KEY: &[Named] = &[
    (0x1, "KEY_QUERY_VALUE"),
    (0x2, "KEY_SET_VALUE"),
    (0x4, "KEY_CREATE_SUB_KEY"),
    (0x8, "KEY_ENUMERATE_SUB_KEYS"),
    (0x10, "KEY_NOTIFY"),
    (0x20, "KEY_CREATE_LINK"),
    (0x100, "KEY_WOW64_64KEY"),
    (0x200, "KEY_WOW64_32KEY"),
];
const KEY_COMPOSITES: &[Named] = &[
    (0x000F_003F, "KEY_ALL_ACCESS"),
    (0x0002_0019, "KEY_READ"),
    (0x0002_0006, "KEY_WRITE"),
];

const PROCESS: &[Named] = &[
    (0x1, "PROCESS_TERMINATE"),
    (0x2, "PROCESS_CREATE_THREAD"),
    (0x4, "PROCESS_SET_SESSIONID"),
    (0x8, "PROCESS_VM_OPERATION"),
    (0x10, "PROCESS_VM_READ"),
    (0x20, "PROCESS_VM_WRITE"),
    (0x40, "PROCESS_DUP_HANDLE"),
    (0x80, "PROCESS_CREATE_PROCESS"),
    (0x100, "PROCESS_SET_QUOTA"),
    (0x200, "PROCESS_SET_INFORMATION"),
    (0x400, "PROCESS_QUERY_INFORMATION"),
    (0x800, "PROCESS_SUSPEND_RESUME"),
    (0x1000, "PROCESS_QUERY_LIMITED_INFORMATION"),
    (0x2000, "PROCESS_SET_LIMITED_INFORMATION"),
];
const PROCESS_COMPOSITES: &[Named] = &[(0x001F_FFFF, "PROCESS_ALL_ACCESS")];

const THREAD: &[Named] = &[
    (0x1, "THREAD_TERMINATE"),
    (0x2, "THREAD_SUSPEND_RESUME"),
    (0x4, "THREAD_ALERT"),
    (0x8, "THREAD_GET_CONTEXT"),
    (0x10, "THREAD_SET_CONTEXT"),
    (0x20, "THREAD_SET_INFORMATION"),
    (0x40, "THREAD_QUERY_INFORMATION"),
    (0x80, "THREAD_SET_THREAD_TOKEN"),
    (0x100, "THREAD_IMPERSONATE"),
    (0x200, "THREAD_DIRECT_IMPERSONATION"),
    (0x400, "THREAD_SET_LIMITED_INFORMATION"),
    (0x800, "THREAD_QUERY_LIMITED_INFORMATION"),
    (0x1000, "THREAD_RESUME"),
];
const THREAD_COMPOSITES: &[Named] = &[(0x001F_FFFF, "THREAD_ALL_ACCESS")];

const TOKEN: &[Named] = &[
    (0x1, "TOKEN_ASSIGN_PRIMARY"),
    (0x2, "TOKEN_DUPLICATE"),
    (0x4, "TOKEN_IMPERSONATE"),
    (0x8, "TOKEN_QUERY"),
    (0x10, "TOKEN_QUERY_SOURCE"),
    (0x20, "TOKEN_ADJUST_PRIVILEGES"),
    (0x40, "TOKEN_ADJUST_GROUPS"),
    (0x80, "TOKEN_ADJUST_DEFAULT"),
    (0x100, "TOKEN_ADJUST_SESSIONID"),
];
const TOKEN_COMPOSITES: &[Named] = &[
    (0x000F_01FF, "TOKEN_ALL_ACCESS"),
    (0x0002_0008, "TOKEN_READ"),
    (0x0002_00E0, "TOKEN_WRITE"),
];

const SECTION: &[Named] = &[
    (0x1, "SECTION_QUERY"),
    (0x2, "SECTION_MAP_WRITE"),
    (0x4, "SECTION_MAP_READ"),
    (0x8, "SECTION_MAP_EXECUTE"),
    (0x10, "SECTION_EXTEND_SIZE"),
    (0x20, "SECTION_MAP_EXECUTE_EXPLICIT"),
];
const SECTION_COMPOSITES: &[Named] = &[(0x000F_001F, "SECTION_ALL_ACCESS")];

const EVENT: &[Named] = &[(0x1, "EVENT_QUERY_STATE"), (0x2, "EVENT_MODIFY_STATE")];
const EVENT_COMPOSITES: &[Named] = &[(0x001F_0003, "EVENT_ALL_ACCESS")];

const MUTANT: &[Named] = &[(0x1, "MUTANT_QUERY_STATE")];
const MUTANT_COMPOSITES: &[Named] = &[(0x001F_0001, "MUTANT_ALL_ACCESS")];

const SEMAPHORE: &[Named] = &[
    (0x1, "SEMAPHORE_QUERY_STATE"),
    (0x2, "SEMAPHORE_MODIFY_STATE"),
];
const SEMAPHORE_COMPOSITES: &[Named] = &[(0x001F_0003, "SEMAPHORE_ALL_ACCESS")];

const TIMER: &[Named] = &[(0x1, "TIMER_QUERY_STATE"), (0x2, "TIMER_MODIFY_STATE")];
const TIMER_COMPOSITES: &[Named] = &[(0x001F_0003, "TIMER_ALL_ACCESS")];

const SYMLINK: &[Named] = &[(0x1, "SYMBOLIC_LINK_QUERY"), (0x2, "SYMBOLIC_LINK_SET")];
const SYMLINK_COMPOSITES: &[Named] = &[(0x000F_0001, "SYMBOLIC_LINK_ALL_ACCESS")];

const PORT: &[Named] = &[(0x1, "PORT_CONNECT")];
const PORT_COMPOSITES: &[Named] = &[(0x001F_0001, "PORT_ALL_ACCESS")];

const IO_COMPLETION: &[Named] = &[
    (0x1, "IO_COMPLETION_QUERY_STATE"),
    (0x2, "IO_COMPLETION_MODIFY_STATE"),
];
const IO_COMPLETION_COMPOSITES: &[Named] = &[(0x001F_0003, "IO_COMPLETION_ALL_ACCESS")];

const JOB: &[Named] = &[
    (0x1, "JOB_OBJECT_ASSIGN_PROCESS"),
    (0x2, "JOB_OBJECT_SET_ATTRIBUTES"),
    (0x4, "JOB_OBJECT_QUERY"),
    (0x8, "JOB_OBJECT_TERMINATE"),
    (0x10, "JOB_OBJECT_SET_SECURITY_ATTRIBUTES"),
    (0x20, "JOB_OBJECT_IMPERSONATE"),
];
const JOB_COMPOSITES: &[Named] = &[(0x001F_003F, "JOB_OBJECT_ALL_ACCESS")];

fn tables(t: ObjectType) -> (&'static [Named], &'static [Named]) {
    match t {
        ObjectType::Any => (&[], &[]),
        ObjectType::File => (FILE, FILE_COMPOSITES),
        ObjectType::Directory => (DIRECTORY, DIRECTORY_COMPOSITES),
        ObjectType::Key => (KEY, KEY_COMPOSITES),
        ObjectType::Process => (PROCESS, PROCESS_COMPOSITES),
        ObjectType::Thread => (THREAD, THREAD_COMPOSITES),
        ObjectType::Token => (TOKEN, TOKEN_COMPOSITES),
        ObjectType::Section => (SECTION, SECTION_COMPOSITES),
        ObjectType::Event => (EVENT, EVENT_COMPOSITES),
        ObjectType::Mutant => (MUTANT, MUTANT_COMPOSITES),
        ObjectType::Semaphore => (SEMAPHORE, SEMAPHORE_COMPOSITES),
        ObjectType::Timer => (TIMER, TIMER_COMPOSITES),
        ObjectType::SymbolicLink => (SYMLINK, SYMLINK_COMPOSITES),
        ObjectType::Port => (PORT, PORT_COMPOSITES),
        ObjectType::IoCompletion => (IO_COMPLETION, IO_COMPLETION_COMPOSITES),
        ObjectType::Job => (JOB, JOB_COMPOSITES),
    }
}

/// Symbolic rights of an access mask for an object type, e.g.
/// `FILE_READ_DATA|SYNCHRONIZE` or `FILE_GENERIC_READ`; unknown bits are
/// appended in hex, 0 renders as "0".
pub fn access_mask_rights(mask: u32, t: ObjectType) -> String {
    access_mask_v(mask, t).render()
}

/// The rights of an access mask as a flag set (JSON: a list of names),
/// as [`access_mask_rights`] shows them.
pub fn access_mask_v(mask: u32, t: ObjectType) -> vstrace_core::Value {
    let (specific, composites) = tables(t);
    let mut comps: Vec<Named> = composites.to_vec();
    comps.extend_from_slice(STANDARD_COMPOSITES);
    let mut bits: Vec<Named> = specific.to_vec();
    bits.extend_from_slice(STANDARD);
    crate::flags::flags_v(u64::from(mask), &comps, &bits, "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_rights() {
        assert_eq!(
            access_mask_rights(0x0010_0001, ObjectType::File),
            "FILE_READ_DATA|SYNCHRONIZE"
        );
        assert_eq!(
            access_mask_rights(0x0012_0089, ObjectType::File),
            "FILE_GENERIC_READ"
        );
        assert_eq!(
            access_mask_rights(0x0012_019F, ObjectType::File),
            "FILE_GENERIC_READ|FILE_GENERIC_WRITE"
        );
        assert_eq!(
            access_mask_rights(0x001F_01FF, ObjectType::File),
            "FILE_ALL_ACCESS"
        );
        assert_eq!(
            access_mask_rights(0x8010_0080, ObjectType::File),
            "FILE_READ_ATTRIBUTES|SYNCHRONIZE|GENERIC_READ"
        );
        assert_eq!(access_mask_rights(0, ObjectType::File), "0");
        assert_eq!(
            access_mask_rights(0x0200_0000, ObjectType::File),
            "MAXIMUM_ALLOWED"
        );
        // Undefined specific bit stays visible.
        assert_eq!(
            access_mask_rights(0x0010_0200, ObjectType::File),
            "SYNCHRONIZE|0x200"
        );
    }

    #[test]
    fn other_types() {
        assert_eq!(access_mask_rights(0x0002_0019, ObjectType::Key), "KEY_READ");
        assert_eq!(
            access_mask_rights(0x0002_0119, ObjectType::Key),
            "KEY_READ|KEY_WOW64_64KEY"
        );
        assert_eq!(
            access_mask_rights(0x000F_003F, ObjectType::Key),
            "KEY_ALL_ACCESS"
        );
        assert_eq!(
            access_mask_rights(0x1000, ObjectType::Process),
            "PROCESS_QUERY_LIMITED_INFORMATION"
        );
        assert_eq!(
            access_mask_rights(0x001F_FFFF, ObjectType::Process),
            "PROCESS_ALL_ACCESS"
        );
        assert_eq!(
            access_mask_rights(0x0000_0438, ObjectType::Process),
            "PROCESS_VM_OPERATION|PROCESS_VM_READ|PROCESS_VM_WRITE|PROCESS_QUERY_INFORMATION"
        );
        assert_eq!(
            access_mask_rights(0x48, ObjectType::Thread),
            "THREAD_GET_CONTEXT|THREAD_QUERY_INFORMATION"
        );
        assert_eq!(
            access_mask_rights(0x28, ObjectType::Token),
            "TOKEN_QUERY|TOKEN_ADJUST_PRIVILEGES"
        );
        assert_eq!(
            access_mask_rights(0x000F_001F, ObjectType::Section),
            "SECTION_ALL_ACCESS"
        );
        assert_eq!(
            access_mask_rights(0x0010_0002, ObjectType::Event),
            "EVENT_MODIFY_STATE|SYNCHRONIZE"
        );
        assert_eq!(
            access_mask_rights(0x001F_0001, ObjectType::Mutant),
            "MUTANT_ALL_ACCESS"
        );
        assert_eq!(
            access_mask_rights(0x3, ObjectType::Directory),
            "DIRECTORY_QUERY|DIRECTORY_TRAVERSE"
        );
        // Unknown type: standard rights named, specific bits in hex.
        assert_eq!(
            access_mask_rights(0x0012_0003, ObjectType::Any),
            "READ_CONTROL|SYNCHRONIZE|0x3"
        );
        assert_eq!(
            access_mask_rights(0x001F_0000, ObjectType::Any),
            "STANDARD_RIGHTS_ALL"
        );
    }
}
