; NT-ABI test guest, x86 flavour (32-bit, no long mode).
;
; A small bare-metal kernel that speaks the Windows x86 system call ABI;
; it is not Windows and contains no Windows code. QEMU loads it as a
; multiboot image (-kernel). It lays out a GDT like Windows x86's (kernel
; CS 0x08, user CS 0x1b / SS 0x23, KPCR selector 0x30, TEB selector 0x3b),
; a TSS, an IDT with the system service gate 0x2e (DPL 3), 4 MiB paging,
; the SYSENTER_CS/ESP/EIP MSRs, and a KPCR at 0xffdff000 -> KTHREAD ->
; EPROCESS at the Windows 7 SP1 x86 offsets. User code (program.inc) calls
; ntdll-style stubs with the Windows 7 SP1 service numbers: most go through
; KiFastSystemCall (mov edx, esp; sysenter), reached by `call`, so the
; arguments are at [edx+8]; the registry calls and NtClose use the older
; `lea edx, [esp+4]; int 0x2e` path (arguments at [edx]). The kernel
; returns with sysexit (edx = KiFastSystemCallRet, ecx = user esp) or
; iretd.
;
; Build: nasm -f bin -o nt-abi-x86.bin x86.asm (guests/nt-abi/build.sh).

%define PSZ 4
%define xax eax
%define xbx ebx
%define xcx ecx
%define xdx edx
%define xsi esi
%define xdi edi
%define xbp ebp
%define xsp esp
%define PWORD dword
%define DP dd

%include "common.inc"
%include "pe.inc"
%include "kobjects.inc"

%ifdef ALT_SSN
; Service numbers of no real build (-DALT_SSN): only the guest's own ntdll
; names them right.
SSN_NtAllocateVirtualMemory     equ 0x01a6
SSN_NtClose                     equ 0x01a7
SSN_NtCreateFile                equ 0x01a2
SSN_NtDisplayString             equ 0x01a8
SSN_NtOpenFile                  equ 0x01a1
SSN_NtOpenKey                   equ 0x01a4
SSN_NtQueryValueKey             equ 0x01a5
SSN_NtTerminateProcess          equ 0x01a9
SSN_NtWriteFile                 equ 0x01a3
%else
; Windows 7 SP1 (build 7601) x86 service numbers, from the
; j00ru/windows-syscalls table.
SSN_NtAllocateVirtualMemory     equ 0x0013
SSN_NtClose                     equ 0x0032
SSN_NtCreateFile                equ 0x0042
SSN_NtDisplayString             equ 0x006d
SSN_NtOpenFile                  equ 0x00b3
SSN_NtOpenKey                   equ 0x00b6
SSN_NtQueryValueKey             equ 0x010a
SSN_NtTerminateProcess          equ 0x0172
SSN_NtWriteFile                 equ 0x018c
%endif
; win32k (shadow table) service numbers of no real build, served by
; win32u.dll's stubs (-DWIN32U): table 1, 0x1000 + n.
SSN_NtGdiFlush                  equ 0x1321
SSN_NtUserGetThreadState        equ 0x1322

KPCR_SELF                       equ 0x1c
KPCR_PRCB_PTR                   equ 0x20
KPCR_IDT                        equ 0x38    ; KPCR.IDT
KPCR_PRCB                       equ 0x120
TEB_SELF                        equ 0x18
TEB_CID                         equ 0x20
TEB_PEB                         equ 0x30
%ifdef LAYOUT_B
; The second layout (-DLAYOUT_B): offsets of no real build.
KPCR_CURRENT_THREAD             equ 0x12c
KTHREAD_APC_PROCESS             equ 0x44
KTHREAD_PROCESS                 equ 0x220
ETHREAD_CID                     equ 0x2e8
EPROCESS_PID                    equ 0x80
EPROCESS_PPID                   equ 0x1f0
EPROCESS_IMAGE                  equ 0x2c4
EPROCESS_PEB                    equ 0x250
%else
; Windows 7 SP1 x86 kernel structure offsets (crates/windows/src/profile.rs).
KPCR_CURRENT_THREAD             equ 0x124   ; Prcb.CurrentThread
KTHREAD_APC_PROCESS             equ 0x50    ; ApcState.Process
KTHREAD_PROCESS                 equ 0x150
ETHREAD_CID                     equ 0x22c
EPROCESS_PID                    equ 0xb4
EPROCESS_PPID                   equ 0x140
EPROCESS_IMAGE                  equ 0x16c
EPROCESS_PEB                    equ 0x1a8
%endif

GUEST_PID                       equ 0x9c4
GUEST_TID                       equ 0x9c8
GUEST_PPID                      equ 0x1f4

IDT_ADDR        equ 0x170000
TSS_ADDR        equ 0x171000
PAGE_DIR        equ 0x180000
KSTACK_TOP      equ 0x1a0000
USER_BASE       equ 0x400000        ; 4 MiB user page (code, data, stack)
ALLOC_BASE      equ 0x500000
USER_STACK_TOP  equ 0x5fe000
USER_TEB        equ 0x5ff000        ; base of selector 0x3b
KTHREAD         equ 0x80001000      ; 4 MiB kernel page at 0x80000000
EPROCESS        equ 0x80002000
SYSPROC         equ 0x80003000      ; System's EPROCESS
SMSSPROC        equ 0x80004000      ; smss.exe's
KOBJ_PHYS       equ 0x800000
KPCR            equ 0xffdff000      ; the fixed x86 KPCR address
KPCR_PAGE_PHYS  equ 0xc00000        ; 4 MiB page at 0xffc00000
KUSER_PAGE_PHYS equ 0x1000000       ; 4 MiB user page at 0x7fc00000, read-only
KUSER_PHYS      equ KUSER_PAGE_PHYS + (KUSER_VA & 0x3fffff)

    org 0x100000
    section .text

; The kernel image is a PE image ("ntoskrnl.exe"): its headers come first,
; the multiboot header right after them.
kimage:
%ifdef BUILD
KSTAMP          equ 0x4ce7a000 + BUILD
%else
KSTAMP          equ 0x4ce7a000
%endif
    PE_HEADERS kimage, IMAGE_FILE_MACHINE_I386, KSTAMP, kimage_end, kexp_dir, kexp_end

bits 32
    BOOT_ENTRY 0x10
    xor eax, eax
    mov gs, ax
    ; Zero the IDT, TSS, page directory and kernel objects (physical).
    ZERO IDT_ADDR, PAGE_DIR + 0x1000 - IDT_ADDR
    ZERO KOBJ_PHYS, 0x5000
    ZERO KPCR_PAGE_PHYS + (KPCR & 0x3fffff), 0x1000
    ZERO KUSER_PHYS, 0x1000
%ifdef BUILD
    KUSER_VERSION 10, 0, BUILD          ; -DBUILD: an NT 10.0 build
%else
    KUSER_VERSION 6, 1, 0               ; Windows 7 (no build field before 10.0)
%endif
    mov dword [KUSER_PHYS + 0x300], KiFastSystemCall ; SharedUserData->SystemCall
    COPY_USER
    ; 4 MiB pages: kernel 0-4 MiB, user 4-8 MiB, kernel objects.
    mov dword [PAGE_DIR], 0x000000 | 0x83
    mov dword [PAGE_DIR + 1*4], USER_BASE | 0x87
    mov dword [PAGE_DIR + (KTHREAD >> 22)*4], KOBJ_PHYS | 0x83
    mov dword [PAGE_DIR + (KPCR >> 22)*4], KPCR_PAGE_PHYS | 0x83
    mov dword [PAGE_DIR + (KUSER_VA >> 22)*4], KUSER_PAGE_PHYS | 0x85
    mov eax, cr4
    or eax, 1 << 4                      ; PSE
    mov cr4, eax
    mov eax, PAGE_DIR
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010001                  ; PG, WP, PE
    mov cr0, eax
    ; Kernel FS = KPCR (selector 0x30, base 0xffdff000).
    mov ax, 0x30
    mov fs, ax
    ; TSS: esp0/ss0 for int 0x2e and faults from user mode.
    mov dword [TSS_ADDR + 4], KSTACK_TOP
    mov dword [TSS_ADDR + 8], 0x10
    mov word [TSS_ADDR + 0x66], 0x68
    mov ax, 0x28
    ltr ax
    ; IDT: 0-31 -> fault stubs, 0x2e -> KiSystemService (DPL 3).
    mov edi, IDT_ADDR
    mov esi, fault_stubs
    mov ecx, 32
.idt:
    mov eax, esi
    mov [edi], ax
    mov word [edi + 2], 0x08
    mov word [edi + 4], 0x8e00
    shr eax, 16
    mov [edi + 6], ax
    add edi, 8
    add esi, FAULT_STUB_SIZE
    loop .idt
    mov edi, IDT_ADDR + 0x2e*8
    mov eax, KiSystemService
    mov [edi], ax
    mov word [edi + 2], 0x08
    mov word [edi + 4], 0xee00          ; present, DPL 3, interrupt gate
    shr eax, 16
    mov [edi + 6], ax
    lidt [idt_ptr]
    ; KPCR -> KPRCB.CurrentThread -> KTHREAD -> EPROCESS.
    mov ebx, KPCR
    mov dword [ebx + KPCR_SELF], KPCR
    mov dword [ebx + KPCR_PRCB_PTR], KPCR + KPCR_PRCB
    mov dword [ebx + KPCR_CURRENT_THREAD], KTHREAD
%ifdef HIDE_IDT
    ; KPCR.IdtBase names an empty table (as a kernel whose IDT cannot be
    ; read would): the kernel image must be found from the system call
    ; path instead.
    mov dword [ebx + KPCR_IDT], ebx
    add dword [ebx + KPCR_IDT], 0xc00
%else
    mov dword [ebx + KPCR_IDT], IDT_ADDR
%endif
    mov ebx, KTHREAD
    mov dword [ebx + KTHREAD_APC_PROCESS], EPROCESS
    mov dword [ebx + KTHREAD_PROCESS], EPROCESS
    mov dword [ebx + ETHREAD_CID], GUEST_PID
    mov dword [ebx + ETHREAD_CID + 4], GUEST_TID
    mov ebx, EPROCESS
    mov dword [ebx + EPROCESS_PID], GUEST_PID
    mov dword [ebx + EPROCESS_PPID], GUEST_PPID
    lea edi, [ebx + EPROCESS_IMAGE]
    mov esi, image_name
    mov ecx, image_name_len
    rep movsb
    SET_PROCESSES
    mov ebx, USER_TEB
    mov [ebx + TEB_SELF], ebx
    mov dword [ebx + TEB_CID], GUEST_PID
    mov dword [ebx + TEB_CID + 4], GUEST_TID
    mov dword [ebx + TEB_PEB], user_peb
    ; sysenter: CS 0x08 (SS 0x10); sysexit: CS 0x08+16 = 0x1b, SS 0x23.
    mov ecx, 0x174                      ; IA32_SYSENTER_CS
    mov eax, 0x08
    xor edx, edx
    wrmsr
    mov ecx, 0x175                      ; IA32_SYSENTER_ESP
    mov eax, KSTACK_TOP
    wrmsr
    mov ecx, 0x176                      ; IA32_SYSENTER_EIP
    mov eax, KiFastCallEntry
    wrmsr
    mov word [kport], COM1
    KPRINT "NT-ABI test guest (x86, Windows 7 SP1 ABI and layouts): entering user mode"
    mov word [kport], COM4
    KPRINT "VSTRACE_CMD_START"
    mov word [kport], COM2
    mov ax, 0x23
    mov ds, ax
    mov es, ax
    mov ax, 0x3b
    mov fs, ax
    push 0x23                           ; ss
    push USER_STACK_TOP                 ; esp
    push 0x2                            ; eflags (interrupts off)
    push 0x1b                           ; cs
    push user_entry
    iretd

; KENTRY: saves the user's segments and callee-saved registers, pushes
; edx (the user esp / argument pointer) last, loads the kernel's segments
; (fs = KPCR) and records the service number. KEXIT undoes it after the
; caller popped that edx.
%macro KENTRY 0
    push ds
    push es
    push fs
    push ebx
    push esi
    push edi
    push ebp
    push edx
    mov cx, 0x10
    mov ds, cx
    mov es, cx
    mov cx, 0x30
    mov fs, cx
    mov [kservice], eax
%endmacro
%macro KEXIT 0
    pop ebp
    pop edi
    pop esi
    pop ebx
    pop fs
    pop es
    pop ds
%endmacro

; Copies 16 argument dwords from esi (user memory) into kargs.
k_collect_args:
    mov edi, kargs
    mov ecx, 16
    rep movsd
    ret

; The SYSENTER_EIP target: edx = user esp, [edx] and [edx+4] are return
; addresses, the arguments start at [edx+8].
KiFastCallEntry:
    KENTRY
    lea esi, [edx + 8]
    call k_collect_args
    call k_dispatch
    pop ecx                             ; user esp
    KEXIT
    mov edx, KiFastSystemCallRet        ; user eip
    sysexit

; The int 0x2e gate: edx points at the first argument.
KiSystemService:
    KENTRY
    mov esi, edx
    call k_collect_args
    call k_dispatch
    pop edx
    KEXIT
    iretd

    FAULT_STUBS 0x10

%include "services.inc"

; ---- exported accessors, in the shapes of Windows 7 / 10 x86's ----
IoGetCurrentProcess:                ; also PsGetCurrentProcess
PsGetCurrentProcess:
    mov eax, [fs:KPCR_CURRENT_THREAD]
    mov eax, [eax + KTHREAD_APC_PROCESS]
    ret
IoThreadToProcess:                  ; stdcall with a frame (Windows 7)
    mov edi, edi
    push ebp
    mov ebp, esp
    mov eax, [ebp + 8]
    mov eax, [eax + KTHREAD_PROCESS]
    pop ebp
    ret 4
KeGetCurrentThread:
    mov eax, [fs:KPCR_CURRENT_THREAD]
    ret
PsGetCurrentThreadId:
    mov eax, [fs:KPCR_CURRENT_THREAD]
    mov eax, [eax + ETHREAD_CID + 4]
    ret
PsGetProcessId:
    mov edi, edi
    push ebp
    mov ebp, esp
    mov eax, [ebp + 8]
    mov eax, [eax + EPROCESS_PID]
    pop ebp
    ret 4
PsGetProcessImageFileName:          ; Windows 7 adds the offset
    mov edi, edi
    push ebp
    mov ebp, esp
    mov eax, [ebp + 8]
    add eax, EPROCESS_IMAGE
    pop ebp
    ret 4
PsGetProcessInheritedFromUniqueProcessId: ; frameless (Windows 10)
    mov eax, [esp + 4]
    mov eax, [eax + EPROCESS_PPID]
    ret 4
PsGetProcessPeb:
    mov eax, [esp + 4]
    mov eax, [eax + EPROCESS_PEB]
    ret 4
PsGetThreadId:
    mov edi, edi
    push ebp
    mov ebp, esp
    mov eax, [ebp + 8]
    mov eax, [eax + ETHREAD_CID + 4]
    pop ebp
    ret 4
PsGetThreadProcessId:
    mov ecx, [esp + 4]
    mov eax, [ecx + ETHREAD_CID]
    ret 4
    KERNEL_DATA
    align 4
kexp_dir:
    EXPORTS kimage, KSTAMP, 'ntoskrnl.exe', IoGetCurrentProcess, IoThreadToProcess, KeGetCurrentThread, PsGetCurrentProcess, PsGetCurrentThreadId, PsGetProcessId, PsGetProcessImageFileName, PsGetProcessInheritedFromUniqueProcessId, PsGetProcessPeb, PsGetThreadId, PsGetThreadProcessId, PsInitialSystemProcess
kexp_end:

    align 8
gdt:
    dq 0                            ; 0x00
    dq 0x00cf9a000000ffff           ; 0x08 KGDT_R0_CODE
    dq 0x00cf92000000ffff           ; 0x10 KGDT_R0_DATA
    dq 0x00cffa000000ffff           ; 0x18 KGDT_R3_CODE
    dq 0x00cff2000000ffff           ; 0x20 KGDT_R3_DATA
    dq 0x0000891710000067           ; 0x28 KGDT_TSS at TSS_ADDR, limit 0x67
    dq 0xff4092dff0000fff           ; 0x30 KGDT_R0_PCR: base 0xffdff000
    dq 0x0040f25ff0000fff           ; 0x38 KGDT_R3_TEB: base USER_TEB, DPL 3
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd gdt
idt_ptr:
    dw 256*8 - 1
    dd IDT_ADDR
kimage_end:

; ---- user mode: copied to USER_BASE ----
    section .user follows=.text vstart=USER_BASE
user_start:

; NTCALL name, args...: stdcall, arguments pushed right to left.
%macro NTCALL 1-*
    %xdefine %%name %1
    %rep %0-1
        %rotate -1
        push dword %1
    %endrep
    call %%name
%endmacro

%include "program.inc"
    USER_LOADER_DATA

; ntdll.dll: a PE image of its own (page-aligned, in the user page) with
; KiFastSystemCall and the stubs, exported as Nt* and Zw*, in three real
; shapes (below).
    align 0x1000, db 0
ntdll_base:
    PE_HEADERS ntdll_base, IMAGE_FILE_MACHINE_I386, NTDLL_STAMP, ntdll_end, ntdll_exp, ntdll_exp_end
NTDLL_STAMP     equ 0x4ce7b000 + SSN_NtOpenFile

; KiFastSystemCall, as in ntdll: reached by `call`, so [esp] is the return
; into the stub and [esp+4] the return to the stub's caller.
    align 16
KiFastSystemCall:
    mov edx, esp
    sysenter
KiFastSystemCallRet:
    ret

; Zw alias of an Nt* label.
%macro ZW_LABEL 1
%defstr %%s %1
%substr %%tail %%s 3,-1
%strcat %%zw "Zw", %%tail
%deftok %%zwtok %%zw
%%zwtok:
%endmacro

; Windows XP..8's stub: mov eax, SSN; mov edx, &SharedUserData->SystemCall
; (0x7ffe0300, which holds KiFastSystemCall); call [edx].
%macro STUB_SYSENTER 3              ; name, service number, argument count
    align 16
%1:
    ZW_LABEL %1
    mov eax, %2
    mov edx, 0x7ffe0300
    call [edx]
    ret 4*%3
%endmacro

; The pre-XP stub: edx points at the arguments, int 0x2e.
%macro STUB_INT2E 3
    align 16
%1:
    ZW_LABEL %1
    mov eax, %2
    lea edx, [esp + 4]
    int 0x2e
    ret 4*%3
%endmacro

; The WoW64 stub of Windows 10's 32-bit ntdll: call through
; Wow64SystemServiceCall (jmp [Wow64Transition]); here the transition
; leads to KiFastSystemCall, the stack as `call [edx]` leaves it.
%macro STUB_WOW64 3
    align 16
%1:
    ZW_LABEL %1
    mov eax, %2
    mov edx, Wow64SystemServiceCall
    call edx
    ret 4*%3
%endmacro


STUB_SYSENTER NtOpenFile, SSN_NtOpenFile, 6
STUB_SYSENTER NtCreateFile, SSN_NtCreateFile, 11
STUB_SYSENTER NtWriteFile, SSN_NtWriteFile, 9
STUB_INT2E    NtOpenKey, SSN_NtOpenKey, 3
STUB_INT2E    NtQueryValueKey, SSN_NtQueryValueKey, 6
STUB_WOW64    NtAllocateVirtualMemory, SSN_NtAllocateVirtualMemory, 6
STUB_INT2E    NtClose, SSN_NtClose, 1
STUB_WOW64    NtDisplayString, SSN_NtDisplayString, 1
STUB_SYSENTER NtTerminateProcess, SSN_NtTerminateProcess, 2
    align 16
Wow64SystemServiceCall:
    jmp [Wow64Transition]
    align 16
NtGetTickCount:                     ; an Nt* export that is not a stub
    mov eax, 0x10
    ret
    align 4
Wow64Transition: dd KiFastSystemCall
ntdll_exp:
    EXPORTS ntdll_base, NTDLL_STAMP, 'ntdll.dll', KiFastSystemCall, KiFastSystemCallRet, NtAllocateVirtualMemory, NtClose, NtCreateFile, NtDisplayString, NtGetTickCount, NtOpenFile, NtOpenKey, NtQueryValueKey, NtTerminateProcess, NtWriteFile, Wow64SystemServiceCall, Wow64Transition, ZwAllocateVirtualMemory, ZwClose, ZwCreateFile, ZwDisplayString, ZwOpenFile, ZwOpenKey, ZwQueryValueKey, ZwTerminateProcess, ZwWriteFile
ntdll_exp_end:
    align 0x1000, db 0
ntdll_end:

%ifdef WIN32U
; win32u.dll: the win32k service stubs (table 1: service numbers
; 0x1000 + n), in the KiFastSystemCall shape of ntdll's.
win32u_base:
    PE_HEADERS win32u_base, IMAGE_FILE_MACHINE_I386, WIN32U_STAMP, win32u_end, win32u_exp, win32u_exp_end
WIN32U_STAMP    equ 0x4ce7b100 + SSN_NtGdiFlush
STUB_SYSENTER NtGdiFlush, SSN_NtGdiFlush, 0
STUB_SYSENTER NtUserGetThreadState, SSN_NtUserGetThreadState, 1
    align 4
win32u_exp:
    EXPORTS win32u_base, WIN32U_STAMP, 'win32u.dll', NtGdiFlush, NtUserGetThreadState
win32u_exp_end:
    align 0x1000, db 0
win32u_end:
%endif

user_end:
