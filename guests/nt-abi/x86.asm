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

; Windows 7 SP1 x86 kernel structure offsets (crates/windows/src/profile.rs).
KPCR_SELF                       equ 0x1c
KPCR_PRCB_PTR                   equ 0x20
KPCR_PRCB                       equ 0x120
KPCR_CURRENT_THREAD             equ 0x124   ; Prcb.CurrentThread
KTHREAD_APC_PROCESS             equ 0x50    ; ApcState.Process
KTHREAD_PROCESS                 equ 0x150
ETHREAD_CID                     equ 0x22c
EPROCESS_PID                    equ 0xb4
EPROCESS_PPID                   equ 0x140
EPROCESS_IMAGE                  equ 0x16c
TEB_SELF                        equ 0x18
TEB_CID                         equ 0x20

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
KOBJ_PHYS       equ 0x800000
KPCR            equ 0xffdff000      ; the fixed x86 KPCR address
KPCR_PAGE_PHYS  equ 0xc00000        ; 4 MiB page at 0xffc00000
KUSER_PAGE_PHYS equ 0x1000000       ; 4 MiB user page at 0x7fc00000, read-only
KUSER_PHYS      equ KUSER_PAGE_PHYS + (KUSER_VA & 0x3fffff)

    org 0x100000
    section .text

bits 32
    BOOT_ENTRY 0x10
    xor eax, eax
    mov gs, ax
    ; Zero the IDT, TSS, page directory and kernel objects (physical).
    ZERO IDT_ADDR, PAGE_DIR + 0x1000 - IDT_ADDR
    ZERO KOBJ_PHYS, 0x3000
    ZERO KPCR_PAGE_PHYS + (KPCR & 0x3fffff), 0x1000
    ZERO KUSER_PHYS, 0x1000
    KUSER_VERSION 6, 1, 0               ; Windows 7 (no build field before 10.0)
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
    mov ebx, USER_TEB
    mov [ebx + TEB_SELF], ebx
    mov dword [ebx + TEB_CID], GUEST_PID
    mov dword [ebx + TEB_CID + 4], GUEST_TID
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

; ---- user mode: copied to USER_BASE ----
    section .user follows=.text vstart=USER_BASE
user_start:

; KiFastSystemCall, as in ntdll: reached by `call`, so [esp] is the return
; into the stub and [esp+4] the return to the stub's caller.
KiFastSystemCall:
    mov edx, esp
    sysenter
KiFastSystemCallRet:
    ret

; Windows 7's stub: mov eax, SSN; mov edx, &SystemCallStub; call [edx].
%macro STUB_SYSENTER 3              ; name, service number, argument count
%1:
    mov eax, %2
    mov edx, SystemCallStub
    call [edx]
    ret 4*%3
%endmacro

; The pre-XP stub: edx points at the arguments, int 0x2e.
%macro STUB_INT2E 3
%1:
    mov eax, %2
    lea edx, [esp + 4]
    int 0x2e
    ret 4*%3
%endmacro

; NTCALL name, args...: stdcall, arguments pushed right to left.
%macro NTCALL 1-*
    %xdefine %%name %1
    %rep %0-1
        %rotate -1
        push dword %1
    %endrep
    call %%name
%endmacro

STUB_SYSENTER NtOpenFile, SSN_NtOpenFile, 6
STUB_SYSENTER NtCreateFile, SSN_NtCreateFile, 11
STUB_SYSENTER NtWriteFile, SSN_NtWriteFile, 9
STUB_INT2E    NtOpenKey, SSN_NtOpenKey, 3
STUB_INT2E    NtQueryValueKey, SSN_NtQueryValueKey, 6
STUB_SYSENTER NtAllocateVirtualMemory, SSN_NtAllocateVirtualMemory, 6
STUB_INT2E    NtClose, SSN_NtClose, 1
STUB_SYSENTER NtDisplayString, SSN_NtDisplayString, 1
STUB_SYSENTER NtTerminateProcess, SSN_NtTerminateProcess, 2

SystemCallStub: dd KiFastSystemCall

%include "program.inc"

user_end:
