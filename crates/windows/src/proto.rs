//! Prototypes of the most used Nt* system services: argument names, C
//! types, direction and decoder kind, as one table. Parameter lists follow
//! the public documentation (WDK, phnt/ReactOS headers); the data here is
//! written for this project.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

use crate::access::{ObjectType, ObjectType as T};
use crate::flags::*;
use crate::structs::LargeIntKind;
use ArgKind::*;
use Render as R;

/// Direction of an argument (SAL `_In_`, `_Out_`, `_Inout_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Dir {
    /// Read by the kernel: decoded at enter.
    In,
    /// Written by the kernel: decoded at exit, when the status says so.
    Out,
    /// Both: shown as `before => after` when it changed.
    InOut,
}

impl Dir {
    /// Whether the kernel reads the argument (decoded at enter).
    pub fn is_in(self) -> bool {
        matches!(self, Dir::In | Dir::InOut)
    }
    /// Whether the kernel writes the argument (decoded at exit).
    pub fn is_out(self) -> bool {
        matches!(self, Dir::Out | Dir::InOut)
    }
}

/// How a scalar (by value, or pointed to) is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Render {
    /// Unsigned decimal.
    Dec,
    /// Signed 32-bit.
    SDec,
    /// Hexadecimal.
    Hex,
    /// `NULL` or hex.
    Ptr,
    /// A handle: pseudo-handles by name (`NtCurrentProcess()`), else hex.
    Handle,
    /// `TRUE` / `FALSE` (other values in decimal).
    Bool,
    /// An NTSTATUS by name.
    Status,
    /// An ACCESS_MASK with the rights of this object type.
    Access(ObjectType),
    /// A flag word, by these names.
    Flags(#[serde(skip)] &'static [Named]),
    /// An enumeration, by these names.
    Enum(#[serde(skip)] &'static [Named]),
    /// An enumeration numbered from 0, indexing these names.
    Dense(#[serde(skip)] &'static [&'static str]),
}

/// Where an output buffer's valid length comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Actual {
    /// The length argument itself.
    Length,
    /// IO_STATUS_BLOCK.Information of argument n (0-based).
    Iosb(u8),
    /// A PSIZE_T/PULONG_PTR out argument n.
    PWord(u8),
}

/// How an argument is read and rendered. Argument references are 0-based
/// indices into the same prototype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ArgKind {
    /// 32-bit value (ULONG, ACCESS_MASK, enums, NTSTATUS).
    U32(Render),
    /// Pointer-sized value (HANDLE, SIZE_T, ULONG_PTR, PVOID).
    Word(Render),
    /// BOOLEAN (low byte).
    U8(Render),
    /// Pointer to a 32-bit value (PULONG, PLONG).
    PU32(Render),
    /// Pointer to a pointer-sized value (PHANDLE, PSIZE_T, PVOID*).
    PWord(Render),
    /// Pointer to a BOOLEAN.
    PU8(Render),
    /// PLARGE_INTEGER.
    PI64(LargeIntKind),
    /// PUNICODE_STRING.
    UnicodeString,
    /// POBJECT_ATTRIBUTES.
    ObjectAttributes,
    /// PCLIENT_ID.
    ClientId,
    /// PIO_STATUS_BLOCK.
    IoStatus {
        /// Information is a create result (FILE_OPENED etc.).
        create: bool,
    },
    /// Data buffer written by the caller.
    BufIn {
        /// The argument holding its length.
        len: u8,
    },
    /// Data buffer filled by the kernel.
    BufOut {
        /// The argument holding its capacity.
        len: u8,
        /// Where the length the kernel filled comes from.
        actual: Actual,
    },
    /// Array of handles.
    Handles {
        /// The argument holding their count.
        count: u8,
    },
    /// Registry value data.
    RegData {
        /// The argument holding the value's type (REG_SZ ...).
        ty: u8,
        /// The argument holding its size in bytes.
        len: u8,
    },
    /// Opaque pointer to a structure this layer does not decode.
    Opaque,
}

/// One argument of a prototype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ArgSpec {
    /// Parameter name as documented (`ObjectAttributes`).
    pub name: &'static str,
    /// C type as documented (PHANDLE, ACCESS_MASK ...).
    pub ty: &'static str,
    /// Whether the kernel reads it, writes it, or both.
    pub dir: Dir,
    /// How it is read and rendered.
    pub kind: ArgKind,
}

/// A system service prototype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Prototype {
    /// The service's `Nt` name.
    pub name: &'static str,
    /// Its parameters, in order.
    pub args: &'static [ArgSpec],
}

/// Prototype of a call by name (`NtCreateFile`; a `Zw` prefix is
/// accepted too).
pub fn prototype(name: &str) -> Option<&'static Prototype> {
    static INDEX: OnceLock<HashMap<&'static str, &'static Prototype>> = OnceLock::new();
    let idx = INDEX.get_or_init(|| PROTOTYPES.iter().map(|p| (p.name, p)).collect());
    match name.strip_prefix("Zw") {
        Some(rest) => idx.get(format!("Nt{rest}").as_str()).copied(),
        None => idx.get(name).copied(),
    }
}

/// All prototypes.
pub fn prototypes() -> &'static [Prototype] {
    PROTOTYPES
}

const HANDLE: ArgKind = Word(R::Handle);
const PHANDLE: ArgKind = PWord(R::Handle);
const ULONG: ArgKind = U32(R::Dec);
const LONG: ArgKind = U32(R::SDec);
const XULONG: ArgKind = U32(R::Hex);
const PTR: ArgKind = Word(R::Ptr);
const SIZE: ArgKind = Word(R::Dec);
const BOOL: ArgKind = U8(R::Bool);
const OA: ArgKind = ObjectAttributes;
const US: ArgKind = UnicodeString;
const IOSB: ArgKind = IoStatus { create: false };
const IOSB_CREATE: ArgKind = IoStatus { create: true };
const STATUS: ArgKind = U32(R::Status);
const PULONG: ArgKind = PU32(R::Dec);
const PLONG: ArgKind = PU32(R::SDec);
const PBOOL: ArgKind = PU8(R::Bool);
const PSIZE: ArgKind = PWord(R::Dec);
const PPVOID: ArgKind = PWord(R::Ptr);
const TIMEOUT: ArgKind = PI64(LargeIntKind::Timeout);
const PLARGE: ArgKind = PI64(LargeIntKind::Dec);
const PLUID: ArgKind = PI64(LargeIntKind::Hex);
const OFFSET: ArgKind = PI64(LargeIntKind::FileOffset);
const CID: ArgKind = ClientId;
const OPAQUE: ArgKind = Opaque;
const PROTECT: ArgKind = U32(R::Flags(PAGE_PROTECTION));
const PPROTECT: ArgKind = PU32(R::Flags(PAGE_PROTECTION));
const MEMTYPE: ArgKind = U32(R::Flags(MEM_TYPE));
const OBJATTR: ArgKind = U32(R::Flags(OBJ_ATTRIBUTES));

const fn acc(t: T) -> ArgKind {
    U32(R::Access(t))
}
const fn flags(t: &'static [Named]) -> ArgKind {
    U32(R::Flags(t))
}
const fn en(t: &'static [Named]) -> ArgKind {
    U32(R::Enum(t))
}
const fn class(t: &'static [&'static str]) -> ArgKind {
    U32(R::Dense(t))
}

const TOKEN_TYPE: &[Named] = &[(1, "TokenPrimary"), (2, "TokenImpersonation")];
const TIMER_TYPE: &[Named] = &[(0, "NotificationTimer"), (1, "SynchronizationTimer")];
const SHUTDOWN_ACTION: &[Named] = &[
    (0, "ShutdownNoReboot"),
    (1, "ShutdownReboot"),
    (2, "ShutdownPowerOff"),
];

macro_rules! protos {
    ($( $name:ident ( $( $dir:ident $ty:ident $arg:ident : $kind:expr ),* $(,)? ) )*) => {
        &[ $( Prototype {
            name: stringify!($name),
            args: &[ $( ArgSpec {
                name: stringify!($arg),
                ty: stringify!($ty),
                dir: Dir::$dir,
                kind: $kind,
            } ),* ],
        }, )* ]
    };
}

static PROTOTYPES: &[Prototype] = protos! {
    // ---- files and I/O ----
    NtCreateFile(Out PHANDLE FileHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::File),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB_CREATE,
        In PLARGE_INTEGER AllocationSize: PLARGE, In ULONG FileAttributes: flags(FILE_ATTRIBUTES),
        In ULONG ShareAccess: flags(SHARE_ACCESS), In ULONG CreateDisposition: en(CREATE_DISPOSITION),
        In ULONG CreateOptions: flags(CREATE_OPTIONS), In PVOID EaBuffer: PTR, In ULONG EaLength: ULONG)
    NtOpenFile(Out PHANDLE FileHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::File),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB_CREATE,
        In ULONG ShareAccess: flags(SHARE_ACCESS), In ULONG OpenOptions: flags(CREATE_OPTIONS))
    NtReadFile(In HANDLE FileHandle: HANDLE, In HANDLE Event: HANDLE, In PIO_APC_ROUTINE ApcRoutine: PTR,
        In PVOID ApcContext: PTR, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB,
        Out PVOID Buffer: BufOut { len: 6, actual: Actual::Iosb(4) }, In ULONG Length: ULONG,
        In PLARGE_INTEGER ByteOffset: OFFSET, In PULONG Key: PULONG)
    NtWriteFile(In HANDLE FileHandle: HANDLE, In HANDLE Event: HANDLE, In PIO_APC_ROUTINE ApcRoutine: PTR,
        In PVOID ApcContext: PTR, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB,
        In PVOID Buffer: BufIn { len: 6 }, In ULONG Length: ULONG,
        In PLARGE_INTEGER ByteOffset: OFFSET, In PULONG Key: PULONG)
    NtQueryInformationFile(In HANDLE FileHandle: HANDLE, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB,
        Out PVOID FileInformation: OPAQUE, In ULONG Length: ULONG,
        In FILE_INFORMATION_CLASS FileInformationClass: class(FILE_INFORMATION_CLASS))
    NtSetInformationFile(In HANDLE FileHandle: HANDLE, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB,
        In PVOID FileInformation: PTR, In ULONG Length: ULONG,
        In FILE_INFORMATION_CLASS FileInformationClass: class(FILE_INFORMATION_CLASS))
    NtQueryDirectoryFile(In HANDLE FileHandle: HANDLE, In HANDLE Event: HANDLE, In PIO_APC_ROUTINE ApcRoutine: PTR,
        In PVOID ApcContext: PTR, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB,
        Out PVOID FileInformation: OPAQUE, In ULONG Length: ULONG,
        In FILE_INFORMATION_CLASS FileInformationClass: class(FILE_INFORMATION_CLASS),
        In BOOLEAN ReturnSingleEntry: BOOL, In PUNICODE_STRING FileName: US, In BOOLEAN RestartScan: BOOL)
    NtQueryDirectoryFileEx(In HANDLE FileHandle: HANDLE, In HANDLE Event: HANDLE, In PIO_APC_ROUTINE ApcRoutine: PTR,
        In PVOID ApcContext: PTR, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB,
        Out PVOID FileInformation: OPAQUE, In ULONG Length: ULONG,
        In FILE_INFORMATION_CLASS FileInformationClass: class(FILE_INFORMATION_CLASS),
        In ULONG QueryFlags: XULONG, In PUNICODE_STRING FileName: US)
    NtDeleteFile(In POBJECT_ATTRIBUTES ObjectAttributes: OA)
    NtQueryAttributesFile(In POBJECT_ATTRIBUTES ObjectAttributes: OA,
        Out PFILE_BASIC_INFORMATION FileInformation: OPAQUE)
    NtQueryFullAttributesFile(In POBJECT_ATTRIBUTES ObjectAttributes: OA,
        Out PFILE_NETWORK_OPEN_INFORMATION FileInformation: OPAQUE)
    NtFlushBuffersFile(In HANDLE FileHandle: HANDLE, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB)
    NtDeviceIoControlFile(In HANDLE FileHandle: HANDLE, In HANDLE Event: HANDLE, In PIO_APC_ROUTINE ApcRoutine: PTR,
        In PVOID ApcContext: PTR, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB, In ULONG IoControlCode: XULONG,
        In PVOID InputBuffer: BufIn { len: 7 }, In ULONG InputBufferLength: ULONG,
        Out PVOID OutputBuffer: BufOut { len: 9, actual: Actual::Iosb(4) }, In ULONG OutputBufferLength: ULONG)
    NtFsControlFile(In HANDLE FileHandle: HANDLE, In HANDLE Event: HANDLE, In PIO_APC_ROUTINE ApcRoutine: PTR,
        In PVOID ApcContext: PTR, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB, In ULONG FsControlCode: XULONG,
        In PVOID InputBuffer: BufIn { len: 7 }, In ULONG InputBufferLength: ULONG,
        Out PVOID OutputBuffer: BufOut { len: 9, actual: Actual::Iosb(4) }, In ULONG OutputBufferLength: ULONG)
    NtLockFile(In HANDLE FileHandle: HANDLE, In HANDLE Event: HANDLE, In PIO_APC_ROUTINE ApcRoutine: PTR,
        In PVOID ApcContext: PTR, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB,
        In PLARGE_INTEGER ByteOffset: PLARGE, In PLARGE_INTEGER Length: PLARGE, In ULONG Key: ULONG,
        In BOOLEAN FailImmediately: BOOL, In BOOLEAN ExclusiveLock: BOOL)
    NtUnlockFile(In HANDLE FileHandle: HANDLE, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB,
        In PLARGE_INTEGER ByteOffset: PLARGE, In PLARGE_INTEGER Length: PLARGE, In ULONG Key: ULONG)
    NtQueryVolumeInformationFile(In HANDLE FileHandle: HANDLE, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB,
        Out PVOID FsInformation: OPAQUE, In ULONG Length: ULONG,
        In FS_INFORMATION_CLASS FsInformationClass: class(FS_INFORMATION_CLASS))
    NtSetVolumeInformationFile(In HANDLE FileHandle: HANDLE, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB,
        In PVOID FsInformation: PTR, In ULONG Length: ULONG,
        In FS_INFORMATION_CLASS FsInformationClass: class(FS_INFORMATION_CLASS))
    NtQueryEaFile(In HANDLE FileHandle: HANDLE, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB,
        Out PVOID Buffer: OPAQUE, In ULONG Length: ULONG, In BOOLEAN ReturnSingleEntry: BOOL,
        In PVOID EaList: PTR, In ULONG EaListLength: ULONG, In PULONG EaIndex: PULONG, In BOOLEAN RestartScan: BOOL)
    NtSetEaFile(In HANDLE FileHandle: HANDLE, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB,
        In PVOID Buffer: PTR, In ULONG Length: ULONG)
    NtCreateNamedPipeFile(Out PHANDLE FileHandle: PHANDLE, In ULONG DesiredAccess: acc(T::File),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB_CREATE,
        In ULONG ShareAccess: flags(SHARE_ACCESS), In ULONG CreateDisposition: en(CREATE_DISPOSITION),
        In ULONG CreateOptions: flags(CREATE_OPTIONS), In ULONG NamedPipeType: ULONG, In ULONG ReadMode: ULONG,
        In ULONG CompletionMode: ULONG, In ULONG MaximumInstances: ULONG, In ULONG InboundQuota: ULONG,
        In ULONG OutboundQuota: ULONG, In PLARGE_INTEGER DefaultTimeout: TIMEOUT)
    NtCreateMailslotFile(Out PHANDLE FileHandle: PHANDLE, In ULONG DesiredAccess: acc(T::File),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB_CREATE,
        In ULONG CreateOptions: flags(CREATE_OPTIONS), In ULONG MailslotQuota: ULONG,
        In ULONG MaximumMessageSize: ULONG, In PLARGE_INTEGER ReadTimeout: TIMEOUT)
    NtNotifyChangeDirectoryFile(In HANDLE FileHandle: HANDLE, In HANDLE Event: HANDLE, In PIO_APC_ROUTINE ApcRoutine: PTR,
        In PVOID ApcContext: PTR, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB, Out PVOID Buffer: OPAQUE,
        In ULONG Length: ULONG, In ULONG CompletionFilter: XULONG, In BOOLEAN WatchTree: BOOL)
    NtCancelIoFile(In HANDLE FileHandle: HANDLE, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB)
    NtCancelIoFileEx(In HANDLE FileHandle: HANDLE, In PIO_STATUS_BLOCK IoRequestToCancel: PTR,
        Out PIO_STATUS_BLOCK IoStatusBlock: IOSB)
    NtCreateIoCompletion(Out PHANDLE IoCompletionHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::IoCompletion),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In ULONG Count: ULONG)
    NtRemoveIoCompletion(In HANDLE IoCompletionHandle: HANDLE, Out PPVOID KeyContext: PPVOID,
        Out PPVOID ApcContext: PPVOID, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB, In PLARGE_INTEGER Timeout: TIMEOUT)
    NtSetIoCompletion(In HANDLE IoCompletionHandle: HANDLE, In PVOID KeyContext: PTR, In PVOID ApcContext: PTR,
        In NTSTATUS IoStatus: STATUS, In ULONG_PTR IoStatusInformation: SIZE)
    // ---- object manager namespace ----
    NtCreateDirectoryObject(Out PHANDLE DirectoryHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Directory),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA)
    NtOpenDirectoryObject(Out PHANDLE DirectoryHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Directory),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA)
    NtQueryDirectoryObject(In HANDLE DirectoryHandle: HANDLE, Out PVOID Buffer: OPAQUE, In ULONG Length: ULONG,
        In BOOLEAN ReturnSingleEntry: BOOL, In BOOLEAN RestartScan: BOOL, InOut PULONG Context: PULONG,
        Out PULONG ReturnLength: PULONG)
    NtCreateSymbolicLinkObject(Out PHANDLE LinkHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::SymbolicLink),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In PUNICODE_STRING LinkTarget: US)
    NtOpenSymbolicLinkObject(Out PHANDLE LinkHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::SymbolicLink),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA)
    NtQuerySymbolicLinkObject(In HANDLE LinkHandle: HANDLE, Out PUNICODE_STRING LinkTarget: US,
        Out PULONG ReturnedLength: PULONG)
    // ---- registry ----
    NtCreateKey(Out PHANDLE KeyHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Key),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In ULONG TitleIndex: ULONG, In PUNICODE_STRING Class: US,
        In ULONG CreateOptions: flags(REG_OPTIONS), Out PULONG Disposition: PU32(R::Enum(REG_DISPOSITION)))
    NtOpenKey(Out PHANDLE KeyHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Key),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA)
    NtOpenKeyEx(Out PHANDLE KeyHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Key),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In ULONG OpenOptions: flags(REG_OPTIONS))
    NtDeleteKey(In HANDLE KeyHandle: HANDLE)
    NtDeleteValueKey(In HANDLE KeyHandle: HANDLE, In PUNICODE_STRING ValueName: US)
    NtQueryValueKey(In HANDLE KeyHandle: HANDLE, In PUNICODE_STRING ValueName: US,
        In KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass: class(KEY_VALUE_INFORMATION_CLASS),
        Out PVOID KeyValueInformation: OPAQUE, In ULONG Length: ULONG, Out PULONG ResultLength: PULONG)
    NtSetValueKey(In HANDLE KeyHandle: HANDLE, In PUNICODE_STRING ValueName: US, In ULONG TitleIndex: ULONG,
        In ULONG Type: class(REG_TYPE), In PVOID Data: RegData { ty: 3, len: 5 }, In ULONG DataSize: ULONG)
    NtEnumerateKey(In HANDLE KeyHandle: HANDLE, In ULONG Index: ULONG,
        In KEY_INFORMATION_CLASS KeyInformationClass: class(KEY_INFORMATION_CLASS),
        Out PVOID KeyInformation: OPAQUE, In ULONG Length: ULONG, Out PULONG ResultLength: PULONG)
    NtEnumerateValueKey(In HANDLE KeyHandle: HANDLE, In ULONG Index: ULONG,
        In KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass: class(KEY_VALUE_INFORMATION_CLASS),
        Out PVOID KeyValueInformation: OPAQUE, In ULONG Length: ULONG, Out PULONG ResultLength: PULONG)
    NtQueryKey(In HANDLE KeyHandle: HANDLE,
        In KEY_INFORMATION_CLASS KeyInformationClass: class(KEY_INFORMATION_CLASS),
        Out PVOID KeyInformation: OPAQUE, In ULONG Length: ULONG, Out PULONG ResultLength: PULONG)
    NtFlushKey(In HANDLE KeyHandle: HANDLE)
    NtNotifyChangeKey(In HANDLE KeyHandle: HANDLE, In HANDLE Event: HANDLE, In PIO_APC_ROUTINE ApcRoutine: PTR,
        In PVOID ApcContext: PTR, Out PIO_STATUS_BLOCK IoStatusBlock: IOSB, In ULONG CompletionFilter: XULONG,
        In BOOLEAN WatchTree: BOOL, Out PVOID Buffer: OPAQUE, In ULONG BufferSize: ULONG,
        In BOOLEAN Asynchronous: BOOL)
    NtLoadKey(In POBJECT_ATTRIBUTES TargetKey: OA, In POBJECT_ATTRIBUTES SourceFile: OA)
    NtUnloadKey(In POBJECT_ATTRIBUTES TargetKey: OA)
    NtSaveKey(In HANDLE KeyHandle: HANDLE, In HANDLE FileHandle: HANDLE)
    NtRenameKey(In HANDLE KeyHandle: HANDLE, In PUNICODE_STRING NewName: US)
    // ---- processes and threads ----
    NtOpenProcess(Out PHANDLE ProcessHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Process),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In PCLIENT_ID ClientId: CID)
    NtCreateUserProcess(Out PHANDLE ProcessHandle: PHANDLE, Out PHANDLE ThreadHandle: PHANDLE,
        In ACCESS_MASK ProcessDesiredAccess: acc(T::Process), In ACCESS_MASK ThreadDesiredAccess: acc(T::Thread),
        In POBJECT_ATTRIBUTES ProcessObjectAttributes: OA, In POBJECT_ATTRIBUTES ThreadObjectAttributes: OA,
        In ULONG ProcessFlags: XULONG, In ULONG ThreadFlags: XULONG, In PVOID ProcessParameters: PTR,
        InOut PPS_CREATE_INFO CreateInfo: OPAQUE, In PPS_ATTRIBUTE_LIST AttributeList: PTR)
    NtCreateProcess(Out PHANDLE ProcessHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Process),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In HANDLE ParentProcess: HANDLE,
        In BOOLEAN InheritObjectTable: BOOL, In HANDLE SectionHandle: HANDLE, In HANDLE DebugPort: HANDLE,
        In HANDLE ExceptionPort: HANDLE)
    NtCreateProcessEx(Out PHANDLE ProcessHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Process),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In HANDLE ParentProcess: HANDLE, In ULONG Flags: XULONG,
        In HANDLE SectionHandle: HANDLE, In HANDLE DebugPort: HANDLE, In HANDLE TokenHandle: HANDLE,
        In ULONG Reserved: XULONG)
    NtTerminateProcess(In HANDLE ProcessHandle: HANDLE, In NTSTATUS ExitStatus: STATUS)
    NtSuspendProcess(In HANDLE ProcessHandle: HANDLE)
    NtResumeProcess(In HANDLE ProcessHandle: HANDLE)
    NtQueryInformationProcess(In HANDLE ProcessHandle: HANDLE,
        In PROCESSINFOCLASS ProcessInformationClass: class(PROCESS_INFORMATION_CLASS),
        Out PVOID ProcessInformation: OPAQUE, In ULONG ProcessInformationLength: ULONG,
        Out PULONG ReturnLength: PULONG)
    NtSetInformationProcess(In HANDLE ProcessHandle: HANDLE,
        In PROCESSINFOCLASS ProcessInformationClass: class(PROCESS_INFORMATION_CLASS),
        In PVOID ProcessInformation: PTR, In ULONG ProcessInformationLength: ULONG)
    NtGetNextProcess(In HANDLE ProcessHandle: HANDLE, In ACCESS_MASK DesiredAccess: acc(T::Process),
        In ULONG HandleAttributes: OBJATTR, In ULONG Flags: XULONG, Out PHANDLE NewProcessHandle: PHANDLE)
    NtGetNextThread(In HANDLE ProcessHandle: HANDLE, In HANDLE ThreadHandle: HANDLE,
        In ACCESS_MASK DesiredAccess: acc(T::Thread), In ULONG HandleAttributes: OBJATTR, In ULONG Flags: XULONG,
        Out PHANDLE NewThreadHandle: PHANDLE)
    NtOpenThread(Out PHANDLE ThreadHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Thread),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In PCLIENT_ID ClientId: CID)
    NtCreateThread(Out PHANDLE ThreadHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Thread),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In HANDLE ProcessHandle: HANDLE, Out PCLIENT_ID ClientId: CID,
        In PCONTEXT ThreadContext: PTR, In PINITIAL_TEB InitialTeb: PTR, In BOOLEAN CreateSuspended: BOOL)
    NtCreateThreadEx(Out PHANDLE ThreadHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Thread),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In HANDLE ProcessHandle: HANDLE, In PVOID StartRoutine: PTR,
        In PVOID Argument: PTR, In ULONG CreateFlags: flags(THREAD_CREATE_FLAGS), In SIZE_T ZeroBits: SIZE,
        In SIZE_T StackSize: SIZE, In SIZE_T MaximumStackSize: SIZE, In PPS_ATTRIBUTE_LIST AttributeList: PTR)
    NtTerminateThread(In HANDLE ThreadHandle: HANDLE, In NTSTATUS ExitStatus: STATUS)
    NtSuspendThread(In HANDLE ThreadHandle: HANDLE, Out PULONG PreviousSuspendCount: PULONG)
    NtResumeThread(In HANDLE ThreadHandle: HANDLE, Out PULONG PreviousSuspendCount: PULONG)
    NtAlertResumeThread(In HANDLE ThreadHandle: HANDLE, Out PULONG PreviousSuspendCount: PULONG)
    NtAlertThread(In HANDLE ThreadHandle: HANDLE)
    NtAlertThreadByThreadId(In HANDLE ThreadId: Word(R::Hex))
    NtWaitForAlertByThreadId(In PVOID Address: PTR, In PLARGE_INTEGER Timeout: TIMEOUT)
    NtGetContextThread(In HANDLE ThreadHandle: HANDLE, InOut PCONTEXT ThreadContext: OPAQUE)
    NtSetContextThread(In HANDLE ThreadHandle: HANDLE, In PCONTEXT ThreadContext: PTR)
    NtQueueApcThread(In HANDLE ThreadHandle: HANDLE, In PPS_APC_ROUTINE ApcRoutine: PTR,
        In PVOID ApcArgument1: PTR, In PVOID ApcArgument2: PTR, In PVOID ApcArgument3: PTR)
    NtQueueApcThreadEx(In HANDLE ThreadHandle: HANDLE, In HANDLE ReserveHandle: HANDLE,
        In PPS_APC_ROUTINE ApcRoutine: PTR, In PVOID ApcArgument1: PTR, In PVOID ApcArgument2: PTR,
        In PVOID ApcArgument3: PTR)
    NtQueryInformationThread(In HANDLE ThreadHandle: HANDLE,
        In THREADINFOCLASS ThreadInformationClass: class(THREAD_INFORMATION_CLASS),
        Out PVOID ThreadInformation: OPAQUE, In ULONG ThreadInformationLength: ULONG,
        Out PULONG ReturnLength: PULONG)
    NtSetInformationThread(In HANDLE ThreadHandle: HANDLE,
        In THREADINFOCLASS ThreadInformationClass: class(THREAD_INFORMATION_CLASS),
        In PVOID ThreadInformation: PTR, In ULONG ThreadInformationLength: ULONG)
    NtYieldExecution()
    NtTestAlert()
    NtContinue(In PCONTEXT ContextRecord: PTR, In BOOLEAN TestAlert: BOOL)
    NtRaiseException(In PEXCEPTION_RECORD ExceptionRecord: PTR, In PCONTEXT ContextRecord: PTR,
        In BOOLEAN FirstChance: BOOL)
    NtCreateJobObject(Out PHANDLE JobHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Job),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA)
    NtOpenJobObject(Out PHANDLE JobHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Job),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA)
    NtAssignProcessToJobObject(In HANDLE JobHandle: HANDLE, In HANDLE ProcessHandle: HANDLE)
    NtTerminateJobObject(In HANDLE JobHandle: HANDLE, In NTSTATUS ExitStatus: STATUS)
    // ---- virtual memory ----
    NtAllocateVirtualMemory(In HANDLE ProcessHandle: HANDLE, InOut PPVOID BaseAddress: PPVOID,
        In ULONG_PTR ZeroBits: SIZE, InOut PSIZE_T RegionSize: PSIZE, In ULONG AllocationType: MEMTYPE,
        In ULONG Protect: PROTECT)
    NtAllocateVirtualMemoryEx(In HANDLE ProcessHandle: HANDLE, InOut PPVOID BaseAddress: PPVOID,
        InOut PSIZE_T RegionSize: PSIZE, In ULONG AllocationType: MEMTYPE, In ULONG PageProtection: PROTECT,
        In PMEM_EXTENDED_PARAMETER ExtendedParameters: PTR, In ULONG ExtendedParameterCount: ULONG)
    NtFreeVirtualMemory(In HANDLE ProcessHandle: HANDLE, InOut PPVOID BaseAddress: PPVOID,
        InOut PSIZE_T RegionSize: PSIZE, In ULONG FreeType: MEMTYPE)
    NtProtectVirtualMemory(In HANDLE ProcessHandle: HANDLE, InOut PPVOID BaseAddress: PPVOID,
        InOut PSIZE_T RegionSize: PSIZE, In ULONG NewProtect: PROTECT, Out PULONG OldProtect: PPROTECT)
    NtReadVirtualMemory(In HANDLE ProcessHandle: HANDLE, In PVOID BaseAddress: PTR,
        Out PVOID Buffer: BufOut { len: 3, actual: Actual::PWord(4) }, In SIZE_T BufferSize: SIZE,
        Out PSIZE_T NumberOfBytesRead: PSIZE)
    NtWriteVirtualMemory(In HANDLE ProcessHandle: HANDLE, In PVOID BaseAddress: PTR,
        In PVOID Buffer: BufIn { len: 3 }, In SIZE_T BufferSize: SIZE, Out PSIZE_T NumberOfBytesWritten: PSIZE)
    NtQueryVirtualMemory(In HANDLE ProcessHandle: HANDLE, In PVOID BaseAddress: PTR,
        In MEMORY_INFORMATION_CLASS MemoryInformationClass: class(MEMORY_INFORMATION_CLASS),
        Out PVOID MemoryInformation: OPAQUE, In SIZE_T MemoryInformationLength: SIZE,
        Out PSIZE_T ReturnLength: PSIZE)
    NtLockVirtualMemory(In HANDLE ProcessHandle: HANDLE, InOut PPVOID BaseAddress: PPVOID,
        InOut PSIZE_T RegionSize: PSIZE, In ULONG MapType: XULONG)
    NtUnlockVirtualMemory(In HANDLE ProcessHandle: HANDLE, InOut PPVOID BaseAddress: PPVOID,
        InOut PSIZE_T RegionSize: PSIZE, In ULONG MapType: XULONG)
    NtFlushVirtualMemory(In HANDLE ProcessHandle: HANDLE, InOut PPVOID BaseAddress: PPVOID,
        InOut PSIZE_T RegionSize: PSIZE, Out PIO_STATUS_BLOCK IoStatus: IOSB)
    NtFlushInstructionCache(In HANDLE ProcessHandle: HANDLE, In PVOID BaseAddress: PTR, In SIZE_T Length: SIZE)
    // ---- sections ----
    NtCreateSection(Out PHANDLE SectionHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Section),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In PLARGE_INTEGER MaximumSize: PLARGE,
        In ULONG SectionPageProtection: PROTECT, In ULONG AllocationAttributes: flags(SECTION_ATTRIBUTES),
        In HANDLE FileHandle: HANDLE)
    NtCreateSectionEx(Out PHANDLE SectionHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Section),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In PLARGE_INTEGER MaximumSize: PLARGE,
        In ULONG SectionPageProtection: PROTECT, In ULONG AllocationAttributes: flags(SECTION_ATTRIBUTES),
        In HANDLE FileHandle: HANDLE, In PMEM_EXTENDED_PARAMETER ExtendedParameters: PTR,
        In ULONG ExtendedParameterCount: ULONG)
    NtOpenSection(Out PHANDLE SectionHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Section),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA)
    NtMapViewOfSection(In HANDLE SectionHandle: HANDLE, In HANDLE ProcessHandle: HANDLE,
        InOut PPVOID BaseAddress: PPVOID, In ULONG_PTR ZeroBits: SIZE, In SIZE_T CommitSize: SIZE,
        InOut PLARGE_INTEGER SectionOffset: PLARGE, InOut PSIZE_T ViewSize: PSIZE,
        In SECTION_INHERIT InheritDisposition: en(SECTION_INHERIT), In ULONG AllocationType: MEMTYPE,
        In ULONG Win32Protect: PROTECT)
    NtUnmapViewOfSection(In HANDLE ProcessHandle: HANDLE, In PVOID BaseAddress: PTR)
    NtUnmapViewOfSectionEx(In HANDLE ProcessHandle: HANDLE, In PVOID BaseAddress: PTR, In ULONG Flags: XULONG)
    NtExtendSection(In HANDLE SectionHandle: HANDLE, InOut PLARGE_INTEGER NewSectionSize: PLARGE)
    NtQuerySection(In HANDLE SectionHandle: HANDLE, In SECTION_INFORMATION_CLASS SectionInformationClass: ULONG,
        Out PVOID SectionInformation: OPAQUE, In SIZE_T SectionInformationLength: SIZE,
        Out PSIZE_T ReturnLength: PSIZE)
    NtAreMappedFilesTheSame(In PVOID File1MappedAsAnImage: PTR, In PVOID File2MappedAsFile: PTR)
    // ---- objects and handles ----
    NtClose(In HANDLE Handle: HANDLE)
    NtDuplicateObject(In HANDLE SourceProcessHandle: HANDLE, In HANDLE SourceHandle: HANDLE,
        In HANDLE TargetProcessHandle: HANDLE, Out PHANDLE TargetHandle: PHANDLE,
        In ACCESS_MASK DesiredAccess: acc(T::Any), In ULONG HandleAttributes: OBJATTR,
        In ULONG Options: flags(DUPLICATE_OPTIONS))
    NtQueryObject(In HANDLE Handle: HANDLE,
        In OBJECT_INFORMATION_CLASS ObjectInformationClass: class(OBJECT_INFORMATION_CLASS),
        Out PVOID ObjectInformation: OPAQUE, In ULONG ObjectInformationLength: ULONG,
        Out PULONG ReturnLength: PULONG)
    NtSetInformationObject(In HANDLE Handle: HANDLE,
        In OBJECT_INFORMATION_CLASS ObjectInformationClass: class(OBJECT_INFORMATION_CLASS),
        In PVOID ObjectInformation: PTR, In ULONG ObjectInformationLength: ULONG)
    NtMakeTemporaryObject(In HANDLE Handle: HANDLE)
    NtCompareObjects(In HANDLE FirstObjectHandle: HANDLE, In HANDLE SecondObjectHandle: HANDLE)
    NtQuerySecurityObject(In HANDLE Handle: HANDLE, In SECURITY_INFORMATION SecurityInformation: XULONG,
        Out PSECURITY_DESCRIPTOR SecurityDescriptor: OPAQUE, In ULONG Length: ULONG,
        Out PULONG LengthNeeded: PULONG)
    NtSetSecurityObject(In HANDLE Handle: HANDLE, In SECURITY_INFORMATION SecurityInformation: XULONG,
        In PSECURITY_DESCRIPTOR SecurityDescriptor: PTR)
    NtWaitForSingleObject(In HANDLE Handle: HANDLE, In BOOLEAN Alertable: BOOL, In PLARGE_INTEGER Timeout: TIMEOUT)
    NtWaitForMultipleObjects(In ULONG Count: ULONG, In PHANDLE Handles: Handles { count: 0 },
        In WAIT_TYPE WaitType: en(WAIT_TYPE), In BOOLEAN Alertable: BOOL, In PLARGE_INTEGER Timeout: TIMEOUT)
    NtSignalAndWaitForSingleObject(In HANDLE SignalHandle: HANDLE, In HANDLE WaitHandle: HANDLE,
        In BOOLEAN Alertable: BOOL, In PLARGE_INTEGER Timeout: TIMEOUT)
    // ---- synchronization ----
    NtCreateEvent(Out PHANDLE EventHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Event),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In EVENT_TYPE EventType: en(EVENT_TYPE),
        In BOOLEAN InitialState: BOOL)
    NtOpenEvent(Out PHANDLE EventHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Event),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA)
    NtSetEvent(In HANDLE EventHandle: HANDLE, Out PLONG PreviousState: PLONG)
    NtResetEvent(In HANDLE EventHandle: HANDLE, Out PLONG PreviousState: PLONG)
    NtPulseEvent(In HANDLE EventHandle: HANDLE, Out PLONG PreviousState: PLONG)
    NtClearEvent(In HANDLE EventHandle: HANDLE)
    NtCreateMutant(Out PHANDLE MutantHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Mutant),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In BOOLEAN InitialOwner: BOOL)
    NtOpenMutant(Out PHANDLE MutantHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Mutant),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA)
    NtReleaseMutant(In HANDLE MutantHandle: HANDLE, Out PLONG PreviousCount: PLONG)
    NtCreateSemaphore(Out PHANDLE SemaphoreHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Semaphore),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In LONG InitialCount: LONG, In LONG MaximumCount: LONG)
    NtOpenSemaphore(Out PHANDLE SemaphoreHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Semaphore),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA)
    NtReleaseSemaphore(In HANDLE SemaphoreHandle: HANDLE, In LONG ReleaseCount: LONG,
        Out PLONG PreviousCount: PLONG)
    NtCreateTimer(Out PHANDLE TimerHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Timer),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In TIMER_TYPE TimerType: en(TIMER_TYPE))
    NtSetTimer(In HANDLE TimerHandle: HANDLE, In PLARGE_INTEGER DueTime: TIMEOUT,
        In PTIMER_APC_ROUTINE TimerApcRoutine: PTR, In PVOID TimerContext: PTR, In BOOLEAN ResumeTimer: BOOL,
        In LONG Period: LONG, Out PBOOLEAN PreviousState: PBOOL)
    NtCancelTimer(In HANDLE TimerHandle: HANDLE, Out PBOOLEAN CurrentState: PBOOL)
    NtCreateKeyedEvent(Out PHANDLE KeyedEventHandle: PHANDLE, In ACCESS_MASK DesiredAccess: acc(T::Any),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In ULONG Flags: XULONG)
    NtWaitForKeyedEvent(In HANDLE KeyedEventHandle: HANDLE, In PVOID KeyValue: PTR, In BOOLEAN Alertable: BOOL,
        In PLARGE_INTEGER Timeout: TIMEOUT)
    NtReleaseKeyedEvent(In HANDLE KeyedEventHandle: HANDLE, In PVOID KeyValue: PTR, In BOOLEAN Alertable: BOOL,
        In PLARGE_INTEGER Timeout: TIMEOUT)
    // ---- tokens and security ----
    NtOpenProcessToken(In HANDLE ProcessHandle: HANDLE, In ACCESS_MASK DesiredAccess: acc(T::Token),
        Out PHANDLE TokenHandle: PHANDLE)
    NtOpenProcessTokenEx(In HANDLE ProcessHandle: HANDLE, In ACCESS_MASK DesiredAccess: acc(T::Token),
        In ULONG HandleAttributes: OBJATTR, Out PHANDLE TokenHandle: PHANDLE)
    NtOpenThreadToken(In HANDLE ThreadHandle: HANDLE, In ACCESS_MASK DesiredAccess: acc(T::Token),
        In BOOLEAN OpenAsSelf: BOOL, Out PHANDLE TokenHandle: PHANDLE)
    NtOpenThreadTokenEx(In HANDLE ThreadHandle: HANDLE, In ACCESS_MASK DesiredAccess: acc(T::Token),
        In BOOLEAN OpenAsSelf: BOOL, In ULONG HandleAttributes: OBJATTR, Out PHANDLE TokenHandle: PHANDLE)
    NtQueryInformationToken(In HANDLE TokenHandle: HANDLE,
        In TOKEN_INFORMATION_CLASS TokenInformationClass: class(TOKEN_INFORMATION_CLASS),
        Out PVOID TokenInformation: OPAQUE, In ULONG TokenInformationLength: ULONG,
        Out PULONG ReturnLength: PULONG)
    NtSetInformationToken(In HANDLE TokenHandle: HANDLE,
        In TOKEN_INFORMATION_CLASS TokenInformationClass: class(TOKEN_INFORMATION_CLASS),
        In PVOID TokenInformation: PTR, In ULONG TokenInformationLength: ULONG)
    NtAdjustPrivilegesToken(In HANDLE TokenHandle: HANDLE, In BOOLEAN DisableAllPrivileges: BOOL,
        In PTOKEN_PRIVILEGES NewState: PTR, In ULONG BufferLength: ULONG,
        Out PTOKEN_PRIVILEGES PreviousState: OPAQUE, Out PULONG ReturnLength: PULONG)
    NtAdjustGroupsToken(In HANDLE TokenHandle: HANDLE, In BOOLEAN ResetToDefault: BOOL,
        In PTOKEN_GROUPS NewState: PTR, In ULONG BufferLength: ULONG,
        Out PTOKEN_GROUPS PreviousState: OPAQUE, Out PULONG ReturnLength: PULONG)
    NtDuplicateToken(In HANDLE ExistingTokenHandle: HANDLE, In ACCESS_MASK DesiredAccess: acc(T::Token),
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In BOOLEAN EffectiveOnly: BOOL,
        In TOKEN_TYPE TokenType: en(TOKEN_TYPE), Out PHANDLE NewTokenHandle: PHANDLE)
    NtImpersonateThread(In HANDLE ServerThreadHandle: HANDLE, In HANDLE ClientThreadHandle: HANDLE,
        In PSECURITY_QUALITY_OF_SERVICE SecurityQos: PTR)
    NtAccessCheck(In PSECURITY_DESCRIPTOR SecurityDescriptor: PTR, In HANDLE ClientToken: HANDLE,
        In ACCESS_MASK DesiredAccess: acc(T::Any), In PGENERIC_MAPPING GenericMapping: PTR,
        Out PPRIVILEGE_SET PrivilegeSet: OPAQUE, InOut PULONG PrivilegeSetLength: PULONG,
        Out PACCESS_MASK GrantedAccess: PU32(R::Access(T::Any)), Out PNTSTATUS AccessStatus: PU32(R::Status))
    NtPrivilegeCheck(In HANDLE ClientToken: HANDLE, InOut PPRIVILEGE_SET RequiredPrivileges: OPAQUE,
        Out PBOOLEAN Result: PBOOL)
    // ---- LPC / ALPC ----
    NtAlpcCreatePort(Out PHANDLE PortHandle: PHANDLE, In POBJECT_ATTRIBUTES ObjectAttributes: OA,
        In PALPC_PORT_ATTRIBUTES PortAttributes: PTR)
    NtAlpcConnectPort(Out PHANDLE PortHandle: PHANDLE, In PUNICODE_STRING PortName: US,
        In POBJECT_ATTRIBUTES ObjectAttributes: OA, In PALPC_PORT_ATTRIBUTES PortAttributes: PTR,
        In ULONG Flags: XULONG, In PSID RequiredServerSid: PTR, InOut PPORT_MESSAGE ConnectionMessage: OPAQUE,
        InOut PSIZE_T BufferLength: PSIZE, InOut PALPC_MESSAGE_ATTRIBUTES OutMessageAttributes: OPAQUE,
        InOut PALPC_MESSAGE_ATTRIBUTES InMessageAttributes: OPAQUE, In PLARGE_INTEGER Timeout: TIMEOUT)
    NtAlpcConnectPortEx(Out PHANDLE PortHandle: PHANDLE,
        In POBJECT_ATTRIBUTES ConnectionPortObjectAttributes: OA,
        In POBJECT_ATTRIBUTES ClientPortObjectAttributes: OA, In PALPC_PORT_ATTRIBUTES PortAttributes: PTR,
        In ULONG Flags: XULONG, In PSECURITY_DESCRIPTOR ServerSecurityRequirements: PTR,
        InOut PPORT_MESSAGE ConnectionMessage: OPAQUE, InOut PSIZE_T BufferLength: PSIZE,
        InOut PALPC_MESSAGE_ATTRIBUTES OutMessageAttributes: OPAQUE,
        InOut PALPC_MESSAGE_ATTRIBUTES InMessageAttributes: OPAQUE, In PLARGE_INTEGER Timeout: TIMEOUT)
    NtAlpcAcceptConnectPort(Out PHANDLE PortHandle: PHANDLE, In HANDLE ConnectionPortHandle: HANDLE,
        In ULONG Flags: XULONG, In POBJECT_ATTRIBUTES ObjectAttributes: OA,
        In PALPC_PORT_ATTRIBUTES PortAttributes: PTR, In PVOID PortContext: PTR,
        In PPORT_MESSAGE ConnectionRequest: PTR, InOut PALPC_MESSAGE_ATTRIBUTES ConnectionMessageAttributes: OPAQUE,
        In BOOLEAN AcceptConnection: BOOL)
    NtAlpcSendWaitReceivePort(In HANDLE PortHandle: HANDLE, In ULONG Flags: XULONG,
        In PPORT_MESSAGE SendMessage: PTR, InOut PALPC_MESSAGE_ATTRIBUTES SendMessageAttributes: OPAQUE,
        Out PPORT_MESSAGE ReceiveMessage: OPAQUE, InOut PSIZE_T BufferLength: PSIZE,
        InOut PALPC_MESSAGE_ATTRIBUTES ReceiveMessageAttributes: OPAQUE, In PLARGE_INTEGER Timeout: TIMEOUT)
    NtAlpcDisconnectPort(In HANDLE PortHandle: HANDLE, In ULONG Flags: XULONG)
    NtCreatePort(Out PHANDLE PortHandle: PHANDLE, In POBJECT_ATTRIBUTES ObjectAttributes: OA,
        In ULONG MaxConnectionInfoLength: ULONG, In ULONG MaxMessageLength: ULONG, In ULONG MaxPoolUsage: ULONG)
    NtConnectPort(Out PHANDLE PortHandle: PHANDLE, In PUNICODE_STRING PortName: US,
        In PSECURITY_QUALITY_OF_SERVICE SecurityQos: PTR, InOut PPORT_VIEW ClientView: OPAQUE,
        InOut PREMOTE_PORT_VIEW ServerView: OPAQUE, Out PULONG MaxMessageLength: PULONG,
        InOut PVOID ConnectionInformation: OPAQUE, InOut PULONG ConnectionInformationLength: PULONG)
    NtListenPort(In HANDLE PortHandle: HANDLE, Out PPORT_MESSAGE ConnectionRequest: OPAQUE)
    NtRequestPort(In HANDLE PortHandle: HANDLE, In PPORT_MESSAGE RequestMessage: PTR)
    NtRequestWaitReplyPort(In HANDLE PortHandle: HANDLE, In PPORT_MESSAGE RequestMessage: PTR,
        Out PPORT_MESSAGE ReplyMessage: OPAQUE)
    NtReplyPort(In HANDLE PortHandle: HANDLE, In PPORT_MESSAGE ReplyMessage: PTR)
    NtReplyWaitReceivePort(In HANDLE PortHandle: HANDLE, Out PPVOID PortContext: PPVOID,
        In PPORT_MESSAGE ReplyMessage: PTR, Out PPORT_MESSAGE ReceiveMessage: OPAQUE)
    // ---- system ----
    NtQuerySystemInformation(In SYSTEM_INFORMATION_CLASS SystemInformationClass: class(SYSTEM_INFORMATION_CLASS),
        Out PVOID SystemInformation: OPAQUE, In ULONG SystemInformationLength: ULONG,
        Out PULONG ReturnLength: PULONG)
    NtQuerySystemInformationEx(In SYSTEM_INFORMATION_CLASS SystemInformationClass: class(SYSTEM_INFORMATION_CLASS),
        In PVOID InputBuffer: PTR, In ULONG InputBufferLength: ULONG, Out PVOID SystemInformation: OPAQUE,
        In ULONG SystemInformationLength: ULONG, Out PULONG ReturnLength: PULONG)
    NtSetSystemInformation(In SYSTEM_INFORMATION_CLASS SystemInformationClass: class(SYSTEM_INFORMATION_CLASS),
        In PVOID SystemInformation: PTR, In ULONG SystemInformationLength: ULONG)
    NtQuerySystemTime(Out PLARGE_INTEGER SystemTime: PLARGE)
    NtQueryPerformanceCounter(Out PLARGE_INTEGER PerformanceCounter: PLARGE,
        Out PLARGE_INTEGER PerformanceFrequency: PLARGE)
    NtDelayExecution(In BOOLEAN Alertable: BOOL, In PLARGE_INTEGER DelayInterval: TIMEOUT)
    NtQueryTimerResolution(Out PULONG MaximumTime: PULONG, Out PULONG MinimumTime: PULONG,
        Out PULONG CurrentTime: PULONG)
    NtSetTimerResolution(In ULONG DesiredTime: ULONG, In BOOLEAN SetResolution: BOOL, Out PULONG ActualTime: PULONG)
    NtLoadDriver(In PUNICODE_STRING DriverServiceName: US)
    NtUnloadDriver(In PUNICODE_STRING DriverServiceName: US)
    NtShutdownSystem(In SHUTDOWN_ACTION Action: en(SHUTDOWN_ACTION))
    NtRaiseHardError(In NTSTATUS ErrorStatus: STATUS, In ULONG NumberOfParameters: ULONG,
        In ULONG UnicodeStringParameterMask: XULONG, In PULONG_PTR Parameters: PTR,
        In ULONG ValidResponseOptions: ULONG, Out PULONG Response: PULONG)
    NtDisplayString(In PUNICODE_STRING String: US)
    NtAllocateLocallyUniqueId(Out PLUID Luid: PLUID)
    NtGetCurrentProcessorNumber()
    NtFlushProcessWriteBuffers()
    NtCallbackReturn(In PVOID OutputBuffer: PTR, In ULONG OutputLength: ULONG, In NTSTATUS Status: STATUS)
    NtQueryLicenseValue(In PUNICODE_STRING ValueName: US, Out PULONG Type: PU32(R::Dense(REG_TYPE)),
        Out PVOID Data: OPAQUE, In ULONG DataSize: ULONG, Out PULONG ResultDataSize: PULONG)
    NtTraceEvent(In HANDLE TraceHandle: HANDLE, In ULONG Flags: XULONG, In ULONG FieldSize: ULONG,
        In PVOID Fields: PTR)
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::{versions, Arch};

    #[test]
    fn table_is_consistent() {
        assert!(PROTOTYPES.len() >= 120, "{}", PROTOTYPES.len());
        let mut names: Vec<_> = PROTOTYPES.iter().map(|p| p.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate prototype");
        for p in PROTOTYPES {
            assert!(p.args.len() <= 17, "{}", p.name);
            // Argument references stay inside the prototype.
            for a in p.args {
                let refs: &[u8] = match a.kind {
                    ArgKind::BufIn { len } => &[len][..],
                    ArgKind::BufOut {
                        len,
                        actual: Actual::Iosb(j) | Actual::PWord(j),
                    } => &[len, j][..],
                    ArgKind::BufOut { len, .. } => &[len][..],
                    ArgKind::Handles { count } => &[count][..],
                    ArgKind::RegData { ty, len } => &[ty, len][..],
                    _ => &[][..],
                };
                for &r in refs {
                    assert!(usize::from(r) < p.args.len(), "{}.{}", p.name, a.name);
                }
            }
        }
    }

    #[test]
    fn every_prototype_is_a_real_service() {
        // Each name exists in the Windows 10 22H2 or 7 SP1 x64 table (a
        // typo in the table would not).
        let w10 = versions(Arch::X64)
            .iter()
            .find(|v| v.slug == "win10-22h2")
            .unwrap();
        let w7 = versions(Arch::X64)
            .iter()
            .find(|v| v.slug == "win7-sp1")
            .unwrap();
        for p in PROTOTYPES {
            assert!(
                w10.service_number(p.name).is_some() || w7.service_number(p.name).is_some(),
                "{} is not a system service",
                p.name
            );
        }
    }

    #[test]
    fn lookup_by_name() {
        let p = prototype("NtCreateFile").unwrap();
        assert_eq!(p.args.len(), 11);
        assert_eq!(p.args[2].name, "ObjectAttributes");
        assert_eq!(p.args[0].dir, Dir::Out);
        assert_eq!(prototype("ZwClose").unwrap().name, "NtClose");
        assert!(prototype("NtNoSuchCall").is_none());
        assert_eq!(prototype("NtWriteVirtualMemory").unwrap().args.len(), 5);
    }
}
