//! Symbolic names for NT flag words and enumerations: create options,
//! dispositions, share access, file attributes, object attributes, page
//! protections, allocation types, section attributes and information
//! classes. Values are public constants of the Windows DDK/SDK headers.

use vstrace_core::value::{Flag, Name};
use vstrace_core::Value;

/// A named bit set or composite value.
pub type Named = (u64, &'static str);

/// `value` as a flag set: composites first (each used when all its bits
/// are set and it covers a bit not yet named), then single bits, then
/// leftover bits. `zero` names the value 0 (`"0"`: no name).
pub fn flags_v(value: u64, composites: &[Named], bits: &[Named], zero: &str) -> Value {
    vstrace_core::style::style_flags(value, flags_abbrev_v(value, composites, bits, zero))
}

/// [`flags_v`] with names whatever the `-X` style.
fn flags_abbrev_v(value: u64, composites: &[Named], bits: &[Named], zero: &str) -> Value {
    if value == 0 {
        return Value::Flags(match zero {
            "0" => Vec::new(),
            z => vec![Flag::Name(Name::Owned(z.to_string()))],
        });
    }
    let mut parts: Vec<Flag> = Vec::new();
    let mut left = value;
    for &(v, name) in composites {
        if v != 0 && value & v == v && left & v != 0 {
            parts.push(Flag::Name(Name::Borrowed(name)));
            left &= !v;
        }
    }
    for &(v, name) in bits {
        if v != 0 && left & v == v {
            parts.push(Flag::Name(Name::Borrowed(name)));
            left &= !v;
        }
    }
    if left != 0 {
        parts.push(Flag::Bits {
            bits: left,
            comment: None,
        });
    }
    Value::Flags(parts)
}

/// Renders `value` as `A|B|0x..` ([`flags_v`]'s text).
pub fn render_flags(value: u64, composites: &[Named], bits: &[Named], zero: &str) -> String {
    flags_v(value, composites, bits, zero).render()
}

/// An enumeration value: its name, or the number in decimal.
pub fn enum_v(value: u64, table: &[Named]) -> Value {
    match table.iter().find(|(v, _)| *v == value) {
        Some((_, n)) => Value::name(*n, value),
        None => Value::dec(value),
    }
}

/// Name of an enumeration value, or the number in decimal.
pub fn render_enum(value: u64, table: &[Named]) -> String {
    enum_v(value, table).render()
}

/// A dense enumeration value (index = value): its name, or the number.
pub fn dense_v(value: u64, names: &[&'static str]) -> Value {
    match usize::try_from(value).ok().and_then(|i| names.get(i)) {
        Some(n) => Value::name(*n, value),
        None => Value::dec(value),
    }
}

/// Name of a dense enumeration (index = value), or the number.
pub fn render_dense(value: u64, names: &[&'static str]) -> String {
    dense_v(value, names).render()
}

/// NtCreateFile CreateDisposition values (`FILE_OPEN`...), an enumeration.
pub const CREATE_DISPOSITION: &[Named] = &[
    (0, "FILE_SUPERSEDE"),
    (1, "FILE_OPEN"),
    (2, "FILE_CREATE"),
    (3, "FILE_OPEN_IF"),
    (4, "FILE_OVERWRITE"),
    (5, "FILE_OVERWRITE_IF"),
];

/// IO_STATUS_BLOCK.Information after NtCreateFile/NtOpenFile.
pub const CREATE_RESULT: &[Named] = &[
    (0, "FILE_SUPERSEDED"),
    (1, "FILE_OPENED"),
    (2, "FILE_CREATED"),
    (3, "FILE_OVERWRITTEN"),
    (4, "FILE_EXISTS"),
    (5, "FILE_DOES_NOT_EXIST"),
];

/// NtCreateFile/NtOpenFile CreateOptions bits (`FILE_DIRECTORY_FILE`...).
pub const CREATE_OPTIONS: &[Named] = &[
    (0x1, "FILE_DIRECTORY_FILE"),
    (0x2, "FILE_WRITE_THROUGH"),
    (0x4, "FILE_SEQUENTIAL_ONLY"),
    (0x8, "FILE_NO_INTERMEDIATE_BUFFERING"),
    (0x10, "FILE_SYNCHRONOUS_IO_ALERT"),
    (0x20, "FILE_SYNCHRONOUS_IO_NONALERT"),
    (0x40, "FILE_NON_DIRECTORY_FILE"),
    (0x80, "FILE_CREATE_TREE_CONNECTION"),
    (0x100, "FILE_COMPLETE_IF_OPLOCKED"),
    (0x200, "FILE_NO_EA_KNOWLEDGE"),
    (0x400, "FILE_OPEN_REMOTE_INSTANCE"),
    (0x800, "FILE_RANDOM_ACCESS"),
    (0x1000, "FILE_DELETE_ON_CLOSE"),
    (0x2000, "FILE_OPEN_BY_FILE_ID"),
    (0x4000, "FILE_OPEN_FOR_BACKUP_INTENT"),
    (0x8000, "FILE_NO_COMPRESSION"),
    (0x10000, "FILE_OPEN_REQUIRING_OPLOCK"),
    (0x20000, "FILE_DISALLOW_EXCLUSIVE"),
    (0x40000, "FILE_SESSION_AWARE"),
    (0x100000, "FILE_RESERVE_OPFILTER"),
    (0x200000, "FILE_OPEN_REPARSE_POINT"),
    (0x400000, "FILE_OPEN_NO_RECALL"),
    (0x800000, "FILE_OPEN_FOR_FREE_SPACE_QUERY"),
];

/// NtCreateFile/NtOpenFile ShareAccess bits.
pub const SHARE_ACCESS: &[Named] = &[
    (0x1, "FILE_SHARE_READ"),
    (0x2, "FILE_SHARE_WRITE"),
    (0x4, "FILE_SHARE_DELETE"),
];

/// `FILE_ATTRIBUTE_*` bits (NtCreateFile FileAttributes, file information).
pub const FILE_ATTRIBUTES: &[Named] = &[
    (0x1, "FILE_ATTRIBUTE_READONLY"),
    (0x2, "FILE_ATTRIBUTE_HIDDEN"),
    (0x4, "FILE_ATTRIBUTE_SYSTEM"),
    (0x10, "FILE_ATTRIBUTE_DIRECTORY"),
    (0x20, "FILE_ATTRIBUTE_ARCHIVE"),
    (0x40, "FILE_ATTRIBUTE_DEVICE"),
    (0x80, "FILE_ATTRIBUTE_NORMAL"),
    (0x100, "FILE_ATTRIBUTE_TEMPORARY"),
    (0x200, "FILE_ATTRIBUTE_SPARSE_FILE"),
    (0x400, "FILE_ATTRIBUTE_REPARSE_POINT"),
    (0x800, "FILE_ATTRIBUTE_COMPRESSED"),
    (0x1000, "FILE_ATTRIBUTE_OFFLINE"),
    (0x2000, "FILE_ATTRIBUTE_NOT_CONTENT_INDEXED"),
    (0x4000, "FILE_ATTRIBUTE_ENCRYPTED"),
    (0x8000, "FILE_ATTRIBUTE_INTEGRITY_STREAM"),
    (0x10000, "FILE_ATTRIBUTE_VIRTUAL"),
    (0x20000, "FILE_ATTRIBUTE_NO_SCRUB_DATA"),
    (0x40000, "FILE_ATTRIBUTE_EA"),
    (0x80000, "FILE_ATTRIBUTE_PINNED"),
    (0x100000, "FILE_ATTRIBUTE_UNPINNED"),
    (0x400000, "FILE_ATTRIBUTE_RECALL_ON_DATA_ACCESS"),
];

/// OBJECT_ATTRIBUTES.Attributes.
pub const OBJ_ATTRIBUTES: &[Named] = &[
    (0x2, "OBJ_INHERIT"),
    (0x10, "OBJ_PERMANENT"),
    (0x20, "OBJ_EXCLUSIVE"),
    (0x40, "OBJ_CASE_INSENSITIVE"),
    (0x80, "OBJ_OPENIF"),
    (0x100, "OBJ_OPENLINK"),
    (0x200, "OBJ_KERNEL_HANDLE"),
    (0x400, "OBJ_FORCE_ACCESS_CHECK"),
    (0x800, "OBJ_IGNORE_IMPERSONATED_DEVICEMAP"),
    (0x1000, "OBJ_DONT_REPARSE"),
];

/// PAGE_* protections (the low byte is an enumeration in practice, but
/// the bits are rendered as flags so invalid combinations stay visible).
pub const PAGE_PROTECTION: &[Named] = &[
    (0x1, "PAGE_NOACCESS"),
    (0x2, "PAGE_READONLY"),
    (0x4, "PAGE_READWRITE"),
    (0x8, "PAGE_WRITECOPY"),
    (0x10, "PAGE_EXECUTE"),
    (0x20, "PAGE_EXECUTE_READ"),
    (0x40, "PAGE_EXECUTE_READWRITE"),
    (0x80, "PAGE_EXECUTE_WRITECOPY"),
    (0x100, "PAGE_GUARD"),
    (0x200, "PAGE_NOCACHE"),
    (0x400, "PAGE_WRITECOMBINE"),
    (0x4000_0000, "PAGE_TARGETS_INVALID"),
];

/// MEM_* allocation and free types.
pub const MEM_TYPE: &[Named] = &[
    (0x1000, "MEM_COMMIT"),
    (0x2000, "MEM_RESERVE"),
    (0x4000, "MEM_DECOMMIT"),
    (0x8000, "MEM_RELEASE"),
    (0x10000, "MEM_FREE"),
    (0x20000, "MEM_PRIVATE"),
    (0x40000, "MEM_MAPPED"),
    (0x80000, "MEM_RESET"),
    (0x100000, "MEM_TOP_DOWN"),
    (0x200000, "MEM_WRITE_WATCH"),
    (0x400000, "MEM_PHYSICAL"),
    (0x800000, "MEM_ROTATE"),
    (0x1000000, "MEM_RESET_UNDO"),
    (0x2000_0000, "MEM_LARGE_PAGES"),
    (0x8000_0000, "MEM_4MB_PAGES"),
    (0x1, "MEM_COALESCE_PLACEHOLDERS"),
    (0x2, "MEM_PRESERVE_PLACEHOLDER"),
];

/// SEC_* section allocation attributes.
pub const SECTION_ATTRIBUTES: &[Named] = &[
    (0x200000, "SEC_BASED"),
    (0x400000, "SEC_NO_CHANGE"),
    (0x800000, "SEC_FILE"),
    (0x1000000, "SEC_IMAGE"),
    (0x2000000, "SEC_PROTECTED_IMAGE"),
    (0x4000000, "SEC_RESERVE"),
    (0x8000000, "SEC_COMMIT"),
    (0x1000_0000, "SEC_NOCACHE"),
    (0x4000_0000, "SEC_WRITECOMBINE"),
    (0x8000_0000, "SEC_LARGE_PAGES"),
];

/// NtMapViewOfSection InheritDisposition values.
pub const SECTION_INHERIT: &[Named] = &[(1, "ViewShare"), (2, "ViewUnmap")];

/// NtCreateEvent EventType values.
pub const EVENT_TYPE: &[Named] = &[(0, "NotificationEvent"), (1, "SynchronizationEvent")];

/// NtWaitForMultipleObjects WaitType values.
pub const WAIT_TYPE: &[Named] = &[(0, "WaitAll"), (1, "WaitAny")];

/// NtDuplicateObject Options bits (`DUPLICATE_CLOSE_SOURCE`...).
pub const DUPLICATE_OPTIONS: &[Named] = &[
    (0x1, "DUPLICATE_CLOSE_SOURCE"),
    (0x2, "DUPLICATE_SAME_ACCESS"),
    (0x4, "DUPLICATE_SAME_ATTRIBUTES"),
];

/// NtCreateKey CreateOptions.
pub const REG_OPTIONS: &[Named] = &[
    (0x1, "REG_OPTION_VOLATILE"),
    (0x2, "REG_OPTION_CREATE_LINK"),
    (0x4, "REG_OPTION_BACKUP_RESTORE"),
    (0x8, "REG_OPTION_OPEN_LINK"),
    (0x10, "REG_OPTION_DONT_VIRTUALIZE"),
];

/// NtCreateKey Disposition values written at exit.
pub const REG_DISPOSITION: &[Named] = &[(1, "REG_CREATED_NEW_KEY"), (2, "REG_OPENED_EXISTING_KEY")];

/// Registry value types (`REG_SZ`...), indexed by value.
pub const REG_TYPE: &[&str] = &[
    "REG_NONE",
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_BINARY",
    "REG_DWORD",
    "REG_DWORD_BIG_ENDIAN",
    "REG_LINK",
    "REG_MULTI_SZ",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTOR",
    "REG_RESOURCE_REQUIREMENTS_LIST",
    "REG_QWORD",
];

/// NtCreateThreadEx CreateFlags (THREAD_CREATE_FLAGS_*).
pub const THREAD_CREATE_FLAGS: &[Named] = &[
    (0x1, "THREAD_CREATE_FLAGS_CREATE_SUSPENDED"),
    (0x2, "THREAD_CREATE_FLAGS_SKIP_THREAD_ATTACH"),
    (0x4, "THREAD_CREATE_FLAGS_HIDE_FROM_DEBUGGER"),
    (0x10, "THREAD_CREATE_FLAGS_LOADER_WORKER"),
    (0x20, "THREAD_CREATE_FLAGS_SKIP_LOADER_INIT"),
    (0x40, "THREAD_CREATE_FLAGS_BYPASS_PROCESS_FREEZE"),
];

/// FILE_INFORMATION_CLASS names (NtQueryInformationFile, NtSetInformationFile, NtQueryDirectoryFile), indexed by value.
pub const FILE_INFORMATION_CLASS: &[&str] = &[
    "0",
    "FileDirectoryInformation",
    "FileFullDirectoryInformation",
    "FileBothDirectoryInformation",
    "FileBasicInformation",
    "FileStandardInformation",
    "FileInternalInformation",
    "FileEaInformation",
    "FileAccessInformation",
    "FileNameInformation",
    "FileRenameInformation",
    "FileLinkInformation",
    "FileNamesInformation",
    "FileDispositionInformation",
    "FilePositionInformation",
    "FileFullEaInformation",
    "FileModeInformation",
    "FileAlignmentInformation",
    "FileAllInformation",
    "FileAllocationInformation",
    "FileEndOfFileInformation",
    "FileAlternateNameInformation",
    "FileStreamInformation",
    "FilePipeInformation",
    "FilePipeLocalInformation",
    "FilePipeRemoteInformation",
    "FileMailslotQueryInformation",
    "FileMailslotSetInformation",
    "FileCompressionInformation",
    "FileObjectIdInformation",
    "FileCompletionInformation",
    "FileMoveClusterInformation",
    "FileQuotaInformation",
    "FileReparsePointInformation",
    "FileNetworkOpenInformation",
    "FileAttributeTagInformation",
    "FileTrackingInformation",
    "FileIdBothDirectoryInformation",
    "FileIdFullDirectoryInformation",
    "FileValidDataLengthInformation",
    "FileShortNameInformation",
    "FileIoCompletionNotificationInformation",
    "FileIoStatusBlockRangeInformation",
    "FileIoPriorityHintInformation",
    "FileSfioReserveInformation",
    "FileSfioVolumeInformation",
    "FileHardLinkInformation",
    "FileProcessIdsUsingFileInformation",
    "FileNormalizedNameInformation",
    "FileNetworkPhysicalNameInformation",
    "FileIdGlobalTxDirectoryInformation",
    "FileIsRemoteDeviceInformation",
    "FileUnusedInformation",
    "FileNumaNodeInformation",
    "FileStandardLinkInformation",
    "FileRemoteProtocolInformation",
    "FileRenameInformationBypassAccessCheck",
    "FileLinkInformationBypassAccessCheck",
    "FileVolumeNameInformation",
    "FileIdInformation",
    "FileIdExtdDirectoryInformation",
    "FileReplaceCompletionInformation",
    "FileHardLinkFullIdInformation",
    "FileIdExtdBothDirectoryInformation",
    "FileDispositionInformationEx",
    "FileRenameInformationEx",
    "FileRenameInformationExBypassAccessCheck",
    "FileDesiredStorageClassInformation",
    "FileStatInformation",
    "FileMemoryPartitionInformation",
    "FileStatLxInformation",
    "FileCaseSensitiveInformation",
    "FileLinkInformationEx",
    "FileLinkInformationExBypassAccessCheck",
    "FileStorageReserveIdInformation",
    "FileCaseSensitiveInformationForceAccessCheck",
    "FileKnownFolderInformation",
];

/// FS_INFORMATION_CLASS names (NtQueryVolumeInformationFile), indexed by value.
pub const FS_INFORMATION_CLASS: &[&str] = &[
    "0",
    "FileFsVolumeInformation",
    "FileFsLabelInformation",
    "FileFsSizeInformation",
    "FileFsDeviceInformation",
    "FileFsAttributeInformation",
    "FileFsControlInformation",
    "FileFsFullSizeInformation",
    "FileFsObjectIdInformation",
    "FileFsDriverPathInformation",
    "FileFsVolumeFlagsInformation",
    "FileFsSectorSizeInformation",
    "FileFsDataCopyInformation",
    "FileFsMetadataSizeInformation",
    "FileFsFullSizeInformationEx",
];

/// KEY_VALUE_INFORMATION_CLASS names (NtQueryValueKey, NtEnumerateValueKey), indexed by value.
pub const KEY_VALUE_INFORMATION_CLASS: &[&str] = &[
    "KeyValueBasicInformation",
    "KeyValueFullInformation",
    "KeyValuePartialInformation",
    "KeyValueFullInformationAlign64",
    "KeyValuePartialInformationAlign64",
    "KeyValueLayerInformation",
];

/// KEY_INFORMATION_CLASS names (NtQueryKey, NtEnumerateKey), indexed by value.
pub const KEY_INFORMATION_CLASS: &[&str] = &[
    "KeyBasicInformation",
    "KeyNodeInformation",
    "KeyFullInformation",
    "KeyNameInformation",
    "KeyCachedInformation",
    "KeyFlagsInformation",
    "KeyVirtualizationInformation",
    "KeyHandleTagsInformation",
    "KeyTrustInformation",
    "KeyLayerInformation",
];

/// PROCESSINFOCLASS names (NtQueryInformationProcess, NtSetInformationProcess), indexed by value.
pub const PROCESS_INFORMATION_CLASS: &[&str] = &[
    "ProcessBasicInformation",
    "ProcessQuotaLimits",
    "ProcessIoCounters",
    "ProcessVmCounters",
    "ProcessTimes",
    "ProcessBasePriority",
    "ProcessRaisePriority",
    "ProcessDebugPort",
    "ProcessExceptionPort",
    "ProcessAccessToken",
    "ProcessLdtInformation",
    "ProcessLdtSize",
    "ProcessDefaultHardErrorMode",
    "ProcessIoPortHandlers",
    "ProcessPooledUsageAndLimits",
    "ProcessWorkingSetWatch",
    "ProcessUserModeIOPL",
    "ProcessEnableAlignmentFaultFixup",
    "ProcessPriorityClass",
    "ProcessWx86Information",
    "ProcessHandleCount",
    "ProcessAffinityMask",
    "ProcessPriorityBoost",
    "ProcessDeviceMap",
    "ProcessSessionInformation",
    "ProcessForegroundInformation",
    "ProcessWow64Information",
    "ProcessImageFileName",
    "ProcessLUIDDeviceMapsEnabled",
    "ProcessBreakOnTermination",
    "ProcessDebugObjectHandle",
    "ProcessDebugFlags",
    "ProcessHandleTracing",
    "ProcessIoPriority",
    "ProcessExecuteFlags",
    "ProcessTlsInformation",
    "ProcessCookie",
    "ProcessImageInformation",
    "ProcessCycleTime",
    "ProcessPagePriority",
    "ProcessInstrumentationCallback",
    "ProcessThreadStackAllocation",
    "ProcessWorkingSetWatchEx",
    "ProcessImageFileNameWin32",
    "ProcessImageFileMapping",
    "ProcessAffinityUpdateMode",
    "ProcessMemoryAllocationMode",
    "ProcessGroupInformation",
    "ProcessTokenVirtualizationEnabled",
    "ProcessConsoleHostProcess",
    "ProcessWindowInformation",
    "ProcessHandleInformation",
    "ProcessMitigationPolicy",
    "ProcessDynamicFunctionTableInformation",
    "ProcessHandleCheckingMode",
    "ProcessKeepAliveCount",
    "ProcessRevokeFileHandles",
    "ProcessWorkingSetControl",
    "ProcessHandleTable",
    "ProcessCheckStackExtentsMode",
    "ProcessCommandLineInformation",
    "ProcessProtectionInformation",
    "ProcessMemoryExhaustion",
    "ProcessFaultInformation",
    "ProcessTelemetryIdInformation",
    "ProcessCommitReleaseInformation",
    "ProcessDefaultCpuSetsInformation",
    "ProcessAllowedCpuSetsInformation",
    "ProcessSubsystemProcess",
    "ProcessJobMemoryInformation",
    "ProcessInPrivate",
    "ProcessRaiseUMExceptionOnInvalidHandleClose",
    "ProcessIumChallengeResponse",
    "ProcessChildProcessInformation",
    "ProcessHighGraphicsPriorityInformation",
    "ProcessSubsystemInformation",
    "ProcessEnergyValues",
    "ProcessPowerThrottlingState",
    "ProcessReserved3Information",
    "ProcessWin32kSyscallFilterInformation",
    "ProcessDisableSystemAllowedCpuSets",
    "ProcessWakeInformation",
    "ProcessEnergyTrackingState",
    "ProcessManageWritesToExecutableMemory",
    "ProcessCaptureTrustletLiveDump",
    "ProcessTelemetryCoverage",
    "ProcessEnclaveInformation",
    "ProcessEnableReadWriteVmLogging",
    "ProcessUptimeInformation",
    "ProcessImageSection",
    "ProcessDebugAuthInformation",
    "ProcessSystemResourceManagement",
    "ProcessSequenceNumber",
    "ProcessLoaderDetour",
    "ProcessSecurityDomainInformation",
    "ProcessCombineSecurityDomainsInformation",
    "ProcessEnableLogging",
    "ProcessLeapSecondInformation",
    "ProcessFiberShadowStackAllocation",
    "ProcessFreeFiberShadowStackAllocation",
    "ProcessAltSystemCallInformation",
    "ProcessDynamicEHContinuationTargets",
    "ProcessDynamicEnforcedCetCompatibleRanges",
];

/// THREADINFOCLASS names (NtQueryInformationThread, NtSetInformationThread), indexed by value.
pub const THREAD_INFORMATION_CLASS: &[&str] = &[
    "ThreadBasicInformation",
    "ThreadTimes",
    "ThreadPriority",
    "ThreadBasePriority",
    "ThreadAffinityMask",
    "ThreadImpersonationToken",
    "ThreadDescriptorTableEntry",
    "ThreadEnableAlignmentFaultFixup",
    "ThreadEventPair",
    "ThreadQuerySetWin32StartAddress",
    "ThreadZeroTlsCell",
    "ThreadPerformanceCount",
    "ThreadAmILastThread",
    "ThreadIdealProcessor",
    "ThreadPriorityBoost",
    "ThreadSetTlsArrayAddress",
    "ThreadIsIoPending",
    "ThreadHideFromDebugger",
    "ThreadBreakOnTermination",
    "ThreadSwitchLegacyState",
    "ThreadIsTerminated",
    "ThreadLastSystemCall",
    "ThreadIoPriority",
    "ThreadCycleTime",
    "ThreadPagePriority",
    "ThreadActualBasePriority",
    "ThreadTebInformation",
    "ThreadCSwitchMon",
    "ThreadCSwitchPmu",
    "ThreadWow64Context",
    "ThreadGroupInformation",
    "ThreadUmsInformation",
    "ThreadCounterProfiling",
    "ThreadIdealProcessorEx",
    "ThreadCpuAccountingInformation",
    "ThreadSuspendCount",
    "ThreadHeterogeneousCpuPolicy",
    "ThreadContainerId",
    "ThreadNameInformation",
    "ThreadSelectedCpuSets",
    "ThreadSystemThreadInformation",
    "ThreadActualGroupAffinity",
];

/// TOKEN_INFORMATION_CLASS names (NtQueryInformationToken), indexed by value.
pub const TOKEN_INFORMATION_CLASS: &[&str] = &[
    "0",
    "TokenUser",
    "TokenGroups",
    "TokenPrivileges",
    "TokenOwner",
    "TokenPrimaryGroup",
    "TokenDefaultDacl",
    "TokenSource",
    "TokenType",
    "TokenImpersonationLevel",
    "TokenStatistics",
    "TokenRestrictedSids",
    "TokenSessionId",
    "TokenGroupsAndPrivileges",
    "TokenSessionReference",
    "TokenSandBoxInert",
    "TokenAuditPolicy",
    "TokenOrigin",
    "TokenElevationType",
    "TokenLinkedToken",
    "TokenElevation",
    "TokenHasRestrictions",
    "TokenAccessInformation",
    "TokenVirtualizationAllowed",
    "TokenVirtualizationEnabled",
    "TokenIntegrityLevel",
    "TokenUIAccess",
    "TokenMandatoryPolicy",
    "TokenLogonSid",
    "TokenIsAppContainer",
    "TokenCapabilities",
    "TokenAppContainerSid",
    "TokenAppContainerNumber",
    "TokenUserClaimAttributes",
    "TokenDeviceClaimAttributes",
    "TokenRestrictedUserClaimAttributes",
    "TokenRestrictedDeviceClaimAttributes",
    "TokenDeviceGroups",
    "TokenRestrictedDeviceGroups",
    "TokenSecurityAttributes",
    "TokenIsRestricted",
    "TokenProcessTrustLevel",
    "TokenPrivateNameSpace",
    "TokenSingletonAttributes",
    "TokenBnoIsolation",
    "TokenChildProcessFlags",
    "TokenIsLessPrivilegedAppContainer",
    "TokenIsSandboxed",
    "TokenIsAppSilo",
];

/// MEMORY_INFORMATION_CLASS names (NtQueryVirtualMemory), indexed by value.
pub const MEMORY_INFORMATION_CLASS: &[&str] = &[
    "MemoryBasicInformation",
    "MemoryWorkingSetInformation",
    "MemoryMappedFilenameInformation",
    "MemoryRegionInformation",
    "MemoryWorkingSetExInformation",
    "MemorySharedCommitInformation",
    "MemoryImageInformation",
    "MemoryRegionInformationEx",
    "MemoryPrivilegedBasicInformation",
    "MemoryEnclaveImageInformation",
    "MemoryBasicInformationCapped",
    "MemoryPhysicalContiguityInformation",
    "MemoryBadInformation",
    "MemoryBadInformationAllProcesses",
    "MemoryImageExtensionInformation",
];

/// OBJECT_INFORMATION_CLASS names (NtQueryObject), indexed by value.
pub const OBJECT_INFORMATION_CLASS: &[&str] = &[
    "ObjectBasicInformation",
    "ObjectNameInformation",
    "ObjectTypeInformation",
    "ObjectTypesInformation",
    "ObjectHandleFlagInformation",
    "ObjectSessionInformation",
    "ObjectSessionObjectInformation",
];

/// SYSTEM_INFORMATION_CLASS names (NtQuerySystemInformation), indexed by value.
pub const SYSTEM_INFORMATION_CLASS: &[&str] = &[
    "SystemBasicInformation",
    "SystemProcessorInformation",
    "SystemPerformanceInformation",
    "SystemTimeOfDayInformation",
    "SystemPathInformation",
    "SystemProcessInformation",
    "SystemCallCountInformation",
    "SystemDeviceInformation",
    "SystemProcessorPerformanceInformation",
    "SystemFlagsInformation",
    "SystemCallTimeInformation",
    "SystemModuleInformation",
    "SystemLocksInformation",
    "SystemStackTraceInformation",
    "SystemPagedPoolInformation",
    "SystemNonPagedPoolInformation",
    "SystemHandleInformation",
    "SystemObjectInformation",
    "SystemPageFileInformation",
    "SystemVdmInstemulInformation",
    "SystemVdmBopInformation",
    "SystemFileCacheInformation",
    "SystemPoolTagInformation",
    "SystemInterruptInformation",
    "SystemDpcBehaviorInformation",
    "SystemFullMemoryInformation",
    "SystemLoadGdiDriverInformation",
    "SystemUnloadGdiDriverInformation",
    "SystemTimeAdjustmentInformation",
    "SystemSummaryMemoryInformation",
    "SystemMirrorMemoryInformation",
    "SystemPerformanceTraceInformation",
    "SystemObsolete0",
    "SystemExceptionInformation",
    "SystemCrashDumpStateInformation",
    "SystemKernelDebuggerInformation",
    "SystemContextSwitchInformation",
    "SystemRegistryQuotaInformation",
    "SystemExtendServiceTableInformation",
    "SystemPrioritySeperation",
    "SystemVerifierAddDriverInformation",
    "SystemVerifierRemoveDriverInformation",
    "SystemProcessorIdleInformation",
    "SystemLegacyDriverInformation",
    "SystemCurrentTimeZoneInformation",
    "SystemLookasideInformation",
    "SystemTimeSlipNotification",
    "SystemSessionCreate",
    "SystemSessionDetach",
    "SystemSessionInformation",
    "SystemRangeStartInformation",
    "SystemVerifierInformation",
    "SystemVerifierThunkExtend",
    "SystemSessionProcessInformation",
    "SystemLoadGdiDriverInSystemSpace",
    "SystemNumaProcessorMap",
    "SystemPrefetcherInformation",
    "SystemExtendedProcessInformation",
    "SystemRecommendedSharedDataAlignment",
    "SystemComPlusPackage",
    "SystemNumaAvailableMemory",
    "SystemProcessorPowerInformation",
    "SystemEmulationBasicInformation",
    "SystemEmulationProcessorInformation",
    "SystemExtendedHandleInformation",
    "SystemLostDelayedWriteInformation",
    "SystemBigPoolInformation",
    "SystemSessionPoolTagInformation",
    "SystemSessionMappedViewInformation",
    "SystemHotpatchInformation",
    "SystemObjectSecurityMode",
    "SystemWatchdogTimerHandler",
    "SystemWatchdogTimerInformation",
    "SystemLogicalProcessorInformation",
    "SystemWow64SharedInformationObsolete",
    "SystemRegisterFirmwareTableInformationHandler",
    "SystemFirmwareTableInformation",
    "SystemModuleInformationEx",
    "SystemVerifierTriageInformation",
    "SystemSuperfetchInformation",
    "SystemMemoryListInformation",
    "SystemFileCacheInformationEx",
    "SystemThreadPriorityClientIdInformation",
    "SystemProcessorIdleCycleTimeInformation",
    "SystemVerifierCancellationInformation",
    "SystemProcessorPowerInformationEx",
    "SystemRefTraceInformation",
    "SystemSpecialPoolInformation",
    "SystemProcessIdInformation",
    "SystemErrorPortInformation",
    "SystemBootEnvironmentInformation",
    "SystemHypervisorInformation",
    "SystemVerifierInformationEx",
    "SystemTimeZoneInformation",
    "SystemImageFileExecutionOptionsInformation",
    "SystemCoverageInformation",
    "SystemPrefetchPatchInformation",
    "SystemVerifierFaultsInformation",
    "SystemSystemPartitionInformation",
    "SystemSystemDiskInformation",
    "SystemProcessorPerformanceDistribution",
    "SystemNumaProximityNodeInformation",
    "SystemDynamicTimeZoneInformation",
    "SystemCodeIntegrityInformation",
    "SystemProcessorMicrocodeUpdateInformation",
    "SystemProcessorBrandString",
    "SystemVirtualAddressInformation",
    "SystemLogicalProcessorAndGroupInformation",
    "SystemProcessorCycleTimeInformation",
    "SystemStoreInformation",
    "SystemRegistryAppendString",
    "SystemAitSamplingValue",
    "SystemVhdBootInformation",
    "SystemCpuQuotaInformation",
    "SystemNativeBasicInformation",
    "SystemErrorPortTimeouts",
    "SystemLowPriorityIoInformation",
    "SystemTpmBootEntropyInformation",
    "SystemVerifierCountersInformation",
    "SystemPagedPoolInformationEx",
    "SystemSystemPtesInformationEx",
    "SystemNodeDistanceInformation",
    "SystemAcpiAuditInformation",
    "SystemBasicPerformanceInformation",
    "SystemQueryPerformanceCounterInformation",
    "SystemSessionBigPoolInformation",
    "SystemBootGraphicsInformation",
    "SystemScrubPhysicalMemoryInformation",
    "SystemBadPageInformation",
    "SystemProcessorProfileControlArea",
    "SystemCombinePhysicalMemoryInformation",
    "SystemEntropyInterruptTimingInformation",
    "SystemConsoleInformation",
    "SystemPlatformBinaryInformation",
    "SystemPolicyInformation",
    "SystemHypervisorProcessorCountInformation",
    "SystemDeviceDataInformation",
    "SystemDeviceDataEnumerationInformation",
    "SystemMemoryTopologyInformation",
    "SystemMemoryChannelInformation",
    "SystemBootLogoInformation",
    "SystemProcessorPerformanceInformationEx",
    "SystemCriticalProcessErrorLogInformation",
    "SystemSecureBootPolicyInformation",
    "SystemPageFileInformationEx",
    "SystemSecureBootInformation",
    "SystemEntropyInterruptTimingRawInformation",
    "SystemPortableWorkspaceEfiLauncherInformation",
    "SystemFullProcessInformation",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_print_styles() {
        use vstrace_core::{style::with_style, ConstStyle};
        let f = || render_flags(0x9, &[], SHARE_ACCESS, "0");
        assert_eq!(with_style(ConstStyle::Raw, f), "0x9");
        assert_eq!(
            with_style(ConstStyle::Verbose, f),
            "0x9 /* FILE_SHARE_READ|0x8 */"
        );
        let e = || render_enum(1, CREATE_DISPOSITION);
        assert_eq!(with_style(ConstStyle::Raw, e), "1");
        assert_eq!(with_style(ConstStyle::Verbose, e), "1 /* FILE_OPEN */");
    }

    #[test]
    fn flags_render() {
        assert_eq!(render_flags(0, &[], SHARE_ACCESS, "0"), "0");
        assert_eq!(
            render_flags(3, &[], SHARE_ACCESS, "0"),
            "FILE_SHARE_READ|FILE_SHARE_WRITE"
        );
        assert_eq!(
            render_flags(0x9, &[], SHARE_ACCESS, "0"),
            "FILE_SHARE_READ|0x8"
        );
        assert_eq!(
            render_flags(0x60, &[], CREATE_OPTIONS, "0"),
            "FILE_SYNCHRONOUS_IO_NONALERT|FILE_NON_DIRECTORY_FILE"
        );
        assert_eq!(
            render_flags(0x3000, &[], MEM_TYPE, "0"),
            "MEM_COMMIT|MEM_RESERVE"
        );
        assert_eq!(
            render_flags(0x40, &[], OBJ_ATTRIBUTES, "0"),
            "OBJ_CASE_INSENSITIVE"
        );
        assert_eq!(
            render_flags(0x104, &[], PAGE_PROTECTION, "0"),
            "PAGE_READWRITE|PAGE_GUARD"
        );
    }

    #[test]
    fn enums_render() {
        assert_eq!(render_enum(3, CREATE_DISPOSITION), "FILE_OPEN_IF");
        assert_eq!(render_enum(9, CREATE_DISPOSITION), "9");
        assert_eq!(
            render_dense(4, FILE_INFORMATION_CLASS),
            "FileBasicInformation"
        );
        assert_eq!(
            render_dense(18, FILE_INFORMATION_CLASS),
            "FileAllInformation"
        );
        assert_eq!(
            render_dense(34, FILE_INFORMATION_CLASS),
            "FileNetworkOpenInformation"
        );
        assert_eq!(
            render_dense(0, PROCESS_INFORMATION_CLASS),
            "ProcessBasicInformation"
        );
        assert_eq!(
            render_dense(27, PROCESS_INFORMATION_CLASS),
            "ProcessImageFileName"
        );
        assert_eq!(
            render_dense(60, PROCESS_INFORMATION_CLASS),
            "ProcessCommandLineInformation"
        );
        assert_eq!(
            render_dense(2, KEY_VALUE_INFORMATION_CLASS),
            "KeyValuePartialInformation"
        );
        assert_eq!(
            render_dense(5, SYSTEM_INFORMATION_CLASS),
            "SystemProcessInformation"
        );
        assert_eq!(
            render_dense(64, SYSTEM_INFORMATION_CLASS),
            "SystemExtendedHandleInformation"
        );
        assert_eq!(
            render_dense(u64::MAX, SYSTEM_INFORMATION_CLASS),
            u64::MAX.to_string()
        );
        assert_eq!(render_dense(4, REG_TYPE), "REG_DWORD");
    }
}
