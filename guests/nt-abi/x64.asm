; NT-ABI test guest, x64 flavour.
;
; A small bare-metal kernel that speaks the Windows x64 system call ABI;
; it is not Windows and contains no Windows code. QEMU loads it as a
; multiboot image (-kernel); it switches from 32-bit protected mode to
; long mode, lays out a GDT like Windows x64's (kernel CS 0x10, user CS
; 0x33 / SS 0x2b), a TSS, an IDT, paging, STAR/LSTAR/SFMASK/EFER.SCE, and
; a KPCR -> KTHREAD -> EPROCESS chain at the Windows 10 22H2 x64 offsets
; (IA32_KERNEL_GS_BASE = KPCR while user code runs, as on Windows). It then
; drops to CPL 3, where the program of program.inc calls ntdll-style stubs
; (mov r10, rcx; mov eax, SSN; syscall; ret) with the Windows 10 22H2
; service numbers. The syscall handler swapgs-es, performs each call
; (services.inc) and returns with sysretq.
;
; With -DKVA_SHADOW it imitates Windows' KVA shadow (the Meltdown
; mitigation): user code runs on a second, user PML4 that maps only the
; low identity pages and, of the kernel-object window, the one page of
; KPRCB shadow fields at KPCR+0x9000; the syscall entry switches to the
; kernel CR3 from Prcb.KernelDirectoryTableBase as KiSystemCall64Shadow
; does, and the return switches back before sysretq. What the program
; does and prints is the same as without it.
;
; Build: nasm -f bin -o nt-abi-x64.bin x64.asm (guests/nt-abi/build.sh;
; -DKVA_SHADOW for nt-abi-x64-shadow.bin).

%define PSZ 8
%define xax rax
%define xbx rbx
%define xcx rcx
%define xdx rdx
%define xsi rsi
%define xdi rdi
%define xbp rbp
%define xsp rsp
%define PWORD qword
%define DP dq

%include "common.inc"
%include "pe.inc"
%include "kobjects.inc"

%ifdef ALT_SSN
; Service numbers of no real build (-DALT_SSN): only the guest's own ntdll
; names them right; the j00ru tables name other calls or none.
SSN_NtWriteFile                 equ 0x0123
SSN_NtClose                     equ 0x0127
SSN_NtOpenKey                   equ 0x0124
SSN_NtQueryValueKey             equ 0x0125
SSN_NtAllocateVirtualMemory     equ 0x0126
SSN_NtTerminateProcess          equ 0x0129
SSN_NtOpenFile                  equ 0x0121
SSN_NtCreateFile                equ 0x0122
SSN_NtDisplayString             equ 0x0128
%else
; Windows 10 22H2 (build 19045) x64 service numbers, from the
; j00ru/windows-syscalls table.
SSN_NtWriteFile                 equ 0x0008
SSN_NtClose                     equ 0x000f
SSN_NtOpenKey                   equ 0x0012
SSN_NtQueryValueKey             equ 0x0017
SSN_NtAllocateVirtualMemory     equ 0x0018
SSN_NtTerminateProcess          equ 0x002c
SSN_NtOpenFile                  equ 0x0033
SSN_NtCreateFile                equ 0x0055
SSN_NtDisplayString             equ 0x00dc
%endif
; win32k (shadow table) service numbers of no real build, served by
; win32u.dll's stubs (-DWIN32U): table 1, 0x1000 + n.
SSN_NtGdiFlush                  equ 0x1321
SSN_NtUserGetThreadState        equ 0x1322
%ifndef BUILD
%define BUILD 19045                 ; KUSER_SHARED_DATA.NtBuildNumber (-DBUILD=)
%endif

KPCR_SELF                       equ 0x18
KPCR_CURRENT_PRCB               equ 0x20
KPCR_USER_RSP                   equ 0x10    ; where the entry stub parks the user rsp
KPCR_IDT_BASE                   equ 0x38    ; KPCR.IdtBase
KPCR_PRCB                       equ 0x180
KPCR_RSP_BASE                   equ 0x1a8   ; Prcb.RspBase
TEB_SELF                        equ 0x30
TEB_CID                         equ 0x40
TEB_PEB                         equ 0x60
%ifdef LAYOUT_B
; The second layout (-DLAYOUT_B): offsets of no real build, so that only
; offsets read from this kernel's own code (or its symbol file) fit.
KPCR_CURRENT_THREAD             equ 0x1b8
KTHREAD_APC_PROCESS             equ 0x98
KTHREAD_PROCESS                 equ 0x2b0
ETHREAD_CID                     equ 0x5e0
EPROCESS_PID                    equ 0x1d0
EPROCESS_PPID                   equ 0x3e8
EPROCESS_IMAGE                  equ 0x6a0
EPROCESS_PEB                    equ 0x2f8
%else
; Windows 10 22H2 x64 kernel structure offsets (crates/windows/src/profile.rs).
KPCR_CURRENT_THREAD             equ 0x188   ; Prcb.CurrentThread
KTHREAD_APC_PROCESS             equ 0xb8    ; ApcState.Process
KTHREAD_PROCESS                 equ 0x220
ETHREAD_CID                     equ 0x478
EPROCESS_PID                    equ 0x440
EPROCESS_PPID                   equ 0x540
EPROCESS_IMAGE                  equ 0x5a8
EPROCESS_PEB                    equ 0x550
%endif

; What the guest's process looks like.
GUEST_PID                       equ 0x7a8
GUEST_TID                       equ 0x7ac
GUEST_PPID                      equ 0x2c4

; Memory (physical = virtual except the kernel object window).
IDT_ADDR        equ 0x170000
TSS_ADDR        equ 0x171000
PML4            equ 0x180000
PDPT_LOW        equ 0x181000
PD_LOW          equ 0x182000
PDPT_HIGH       equ 0x183000
PD_HIGH         equ 0x184000
KSTACK_TOP      equ 0x1a0000
USER_BASE       equ 0x400000        ; 2 MiB user page (code, data, stack)
ALLOC_BASE      equ 0x500000        ; what NtAllocateVirtualMemory hands out
USER_STACK_TOP  equ 0x5fe000
USER_TEB        equ 0x5ff000
KOBJ_PHYS       equ 0x600000        ; 2 MiB kernel page at KOBJ_VIRT
KOBJ_VIRT       equ 0xfffff80000000000
PD_KUSER        equ 0x185000        ; PD for 1-2 GiB: the KUSER_SHARED_DATA page
KUSER_PAGE_PHYS equ 0x800000        ; 2 MiB user page at 0x7fe00000, read-only
KUSER_PHYS      equ KUSER_PAGE_PHYS + (KUSER_VA & 0x1fffff)
KPCR            equ KOBJ_VIRT
KTHREAD         equ KOBJ_VIRT + 0x1000
EPROCESS        equ KOBJ_VIRT + 0x2000
SYSPROC         equ KOBJ_VIRT + 0x3000  ; System's EPROCESS
SMSSPROC        equ KOBJ_VIRT + 0x4000  ; smss.exe's

%ifdef KVA_SHADOW
; KPRCB fields of KVA shadow, Windows 10 (1803 to 22H2) x64: KPRCB is at
; KPCR+0x180 and these at Prcb+0x8e80.., so they share the one KPCR page
; (KPCR+0x9000) that Windows also maps in the user address space.
PRCB_SHADOW_PAGE                equ 0x9000
PRCB_KERNEL_DTB                 equ 0x9000  ; Prcb.KernelDirectoryTableBase: the kernel CR3
PRCB_RSP_BASE_SHADOW            equ 0x9008  ; Prcb.RspBaseShadow: kernel stack top
PRCB_USER_RSP_SHADOW            equ 0x9010  ; Prcb.UserRspShadow: where the entry parks the user rsp
PRCB_SHADOW_FLAGS               equ 0x9018  ; Prcb.ShadowFlags (u32): bit 1 set = no CR3 switch
; Not a Windows field: this guest's own slot for the user CR3, in KPCR
; page 0 (kernel-only). Windows takes it from KPROCESS.UserDirectoryTableBase.
GUEST_KPCR_USER_CR3             equ 0xff8
; The user address space: its PML4 shares PDPT_LOW (kernel 0-2 MiB, user
; 4-6 MiB, KUSER_SHARED_DATA) and maps the kernel-object window with 4 KiB
; pages, of which only KPCR+0x9000 is present.
USER_PML4       equ 0x186000
USER_PDPT_KOBJ  equ 0x187000        ; PML4[496]
USER_PD_KOBJ    equ 0x188000
USER_PT_KOBJ    equ 0x189000        ; KOBJ_VIRT .. +2 MiB in 4 KiB pages
USER_RSP_SLOT   equ PRCB_USER_RSP_SHADOW
%else
USER_RSP_SLOT   equ KPCR_USER_RSP
%endif

    org 0x100000
    section .text

; The kernel image is a PE image ("ntoskrnl.exe"): its headers come first,
; the multiboot header right after them.
kimage:
    PE_HEADERS kimage, IMAGE_FILE_MACHINE_AMD64, KSTAMP, kimage_end, kexp_dir, kexp_end
KSTAMP          equ 0x5f3a1c00 + BUILD

bits 32
    BOOT_ENTRY 0x18
    ; Zero the IDT, TSS, page tables and kernel objects.
    ZERO IDT_ADDR, PD_KUSER + 0x1000 - IDT_ADDR
    ZERO KOBJ_PHYS, 0x5000
    ZERO KUSER_PHYS, 0x1000
%ifdef KVA_SHADOW
    ZERO USER_PML4, USER_PT_KOBJ + 0x1000 - USER_PML4
    ZERO KOBJ_PHYS + PRCB_SHADOW_PAGE, 0x1000
%endif
    KUSER_VERSION 10, 0, BUILD          ; Windows 10 22H2 unless -DBUILD
    COPY_USER
    ; Paging: 0-2 MiB kernel, 4-6 MiB user, KOBJ_VIRT -> KOBJ_PHYS, and
    ; KUSER_SHARED_DATA's page (user, read-only).
    mov dword [PML4], PDPT_LOW | 7
    mov dword [PML4 + 496*8], PDPT_HIGH | 3
    mov dword [PDPT_LOW], PD_LOW | 7
    mov dword [PDPT_HIGH], PD_HIGH | 3
    mov dword [PD_LOW], 0x000000 | 0x83
    mov dword [PD_LOW + 2*8], USER_BASE | 0x87
    mov dword [PD_HIGH], KOBJ_PHYS | 0x83
    mov dword [PDPT_LOW + 1*8], PD_KUSER | 7
    mov dword [PD_KUSER + 511*8], KUSER_PAGE_PHYS | 0x85
%ifdef KVA_SHADOW
    ; The user CR3: the same low mappings, and of the kernel objects only
    ; the KPRCB shadow page (supervisor: the entry stub reads it before it
    ; has the kernel CR3). KPCR page 0, KTHREAD, EPROCESS: not present.
    mov dword [USER_PML4], PDPT_LOW | 7
    mov dword [USER_PML4 + 496*8], USER_PDPT_KOBJ | 3
    mov dword [USER_PDPT_KOBJ], USER_PD_KOBJ | 3
    mov dword [USER_PD_KOBJ], USER_PT_KOBJ | 3
    mov dword [USER_PT_KOBJ + (PRCB_SHADOW_PAGE >> 12)*8], (KOBJ_PHYS + PRCB_SHADOW_PAGE) | 3
%endif
    mov eax, cr4
    or eax, 1 << 5                      ; PAE
    mov cr4, eax
    mov eax, PML4
    mov cr3, eax
    mov ecx, 0xC0000080                 ; EFER
    rdmsr
    or eax, (1 << 8) | (1 << 0)         ; LME, SCE
    wrmsr
    mov eax, cr0
    or eax, 0x80010001                  ; PG, WP, PE
    mov cr0, eax
    jmp 0x10:long_entry

bits 64
long_entry:
    mov ax, 0x18
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, KSTACK_TOP
    ; TSS: RSP0 for faults from user mode, no I/O bitmap.
    mov qword [TSS_ADDR + 4], KSTACK_TOP
    mov word [TSS_ADDR + 0x66], 0x68
    mov ax, 0x40
    ltr ax
    ; IDT: vectors 0-31 -> fault stubs.
    mov rdi, IDT_ADDR
    mov rsi, fault_stubs
    mov ecx, 32
.idt:
    mov rax, rsi
    mov [rdi], ax
    mov word [rdi + 2], 0x10
    mov word [rdi + 4], 0x8e00          ; present, DPL 0, interrupt gate
    shr rax, 16
    mov [rdi + 6], ax
    shr rax, 16
    mov [rdi + 8], eax
    add rdi, 16
    add rsi, FAULT_STUB_SIZE
    loop .idt
    lidt [idt_ptr]
    ; KPCR -> KPRCB.CurrentThread -> KTHREAD -> EPROCESS.
    mov rbx, KPCR
    mov rax, KPCR
    mov [rbx + KPCR_SELF], rax
    lea rax, [rbx + KPCR_PRCB]
    mov [rbx + KPCR_CURRENT_PRCB], rax
    mov rax, KTHREAD
    mov [rbx + KPCR_CURRENT_THREAD], rax
    mov qword [rbx + KPCR_RSP_BASE], KSTACK_TOP
%ifdef HIDE_IDT
    ; KPCR.IdtBase names an empty table (as a kernel whose IDT cannot be
    ; read would): the kernel image must be found from the system call
    ; path instead.
    mov qword [rbx + KPCR_IDT_BASE], rbx
    add qword [rbx + KPCR_IDT_BASE], 0xc00
%else
    mov qword [rbx + KPCR_IDT_BASE], IDT_ADDR
%endif
    mov rbx, KTHREAD
    mov rax, EPROCESS
    mov [rbx + KTHREAD_APC_PROCESS], rax
    mov [rbx + KTHREAD_PROCESS], rax
    mov qword [rbx + ETHREAD_CID], GUEST_PID
    mov qword [rbx + ETHREAD_CID + 8], GUEST_TID
    mov rbx, EPROCESS
    mov qword [rbx + EPROCESS_PID], GUEST_PID
    mov qword [rbx + EPROCESS_PPID], GUEST_PPID
    lea rdi, [rbx + EPROCESS_IMAGE]
    mov rsi, image_name
    mov ecx, image_name_len
    rep movsb
    SET_PROCESSES
%ifdef KVA_SHADOW
    ; The KPRCB shadow fields, and the user CR3 where the return path
    ; finds it; shadowing on (ShadowFlags bit 1 clear).
    mov rbx, KPCR
    mov rax, cr3
    mov [rbx + PRCB_KERNEL_DTB], rax
    mov qword [rbx + PRCB_RSP_BASE_SHADOW], KSTACK_TOP
    mov qword [rbx + PRCB_USER_RSP_SHADOW], 0
    mov dword [rbx + PRCB_SHADOW_FLAGS], 0
    mov qword [rbx + GUEST_KPCR_USER_CR3], USER_PML4
    call shadow_check
%endif
    ; The user TEB (what gs points at in user mode).
    mov rbx, USER_TEB
    mov [rbx + TEB_SELF], rbx
    mov qword [rbx + TEB_CID], GUEST_PID
    mov qword [rbx + TEB_CID + 8], GUEST_TID
    mov qword [rbx + TEB_PEB], user_peb
    ; syscall: CS 0x10 / SS 0x18 in; sysretq: CS 0x23+16 = 0x33, SS 0x2b.
    mov ecx, 0xC0000081                 ; STAR
    xor eax, eax
    mov edx, (0x23 << 16) | 0x10
    wrmsr
    mov ecx, 0xC0000082                 ; LSTAR
    mov rax, syscall_entry
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, 0xC0000083                 ; CSTAR: no 32-bit callers
    mov rax, fault_stubs
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, 0xC0000084                 ; SFMASK: TF, DF, IF, NT, AC... as Windows
    mov eax, 0x4700
    xor edx, edx
    wrmsr
    ; Kernel GS = KPCR now; swapgs before leaving puts it in KERNEL_GS_BASE.
    mov ecx, 0xC0000101                 ; GS_BASE
    mov rax, KPCR
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, 0xC0000102                 ; KERNEL_GS_BASE
    mov eax, USER_TEB
    xor edx, edx
    wrmsr
    mov word [kport], COM1
%ifdef KVA_SHADOW
    mov rbx, cr3
    mov rcx, KPCR + GUEST_KPCR_USER_CR3
    mov rcx, [rcx]
    KPRINT "KVA shadow on: kernel CR3 %x, user CR3 %x (user CR3 checked: of the kernel objects only KPCR+0x9000 is mapped)", rbx, rcx
    KPRINT "NT-ABI test guest (x64, KVA shadow, Windows 10 22H2 ABI and layouts): entering user mode"
%else
    KPRINT "NT-ABI test guest (x64, Windows 10 22H2 ABI and layouts): entering user mode"
%endif
    mov word [kport], COM4
    KPRINT "VSTRACE_CMD_START"
    mov word [kport], COM2
    mov ax, 0x2b
    mov ds, ax
    mov es, ax
    swapgs
    push 0x2b                           ; ss
    push USER_STACK_TOP                 ; rsp
    push 0x2                            ; rflags (interrupts off)
    push 0x33                           ; cs
    push user_entry
%ifdef KVA_SHADOW
    ; Last: the user CR3 (the frame is on the kernel stack, in the low
    ; 2 MiB that both address spaces map).
    mov rax, KPCR + GUEST_KPCR_USER_CR3
    mov rax, [rax]
    mov cr3, rax
%endif
    iretq

; The LSTAR target. rcx = user rip, r11 = user rflags, rsp = user rsp.
; With KVA_SHADOW it starts on the user CR3, as KiSystemCall64Shadow does:
; only the KPRCB shadow page of KPCR is reachable until the CR3 switch.
syscall_entry:
    swapgs
%ifdef KVA_SHADOW
    mov [gs:PRCB_USER_RSP_SHADOW], rsp
    mov rsp, [gs:PRCB_KERNEL_DTB]
    bt dword [gs:PRCB_SHADOW_FLAGS], 1
    jc .kernel_cr3
    mov cr3, rsp
.kernel_cr3:
    mov rsp, [gs:PRCB_RSP_BASE_SHADOW]
%else
    mov [gs:KPCR_USER_RSP], rsp
    mov rsp, [gs:KPCR_RSP_BASE]
%endif
    push rcx
    push r11
    push rbx
    push rsi
    push rdi
    push rbp
    ; Arguments 1-4 in r10, rdx, r8, r9; 5+ at user rsp + 0x28.
    mov [kargs], r10
    mov [kargs + 8], rdx
    mov [kargs + 16], r8
    mov [kargs + 24], r9
    mov rsi, [gs:USER_RSP_SLOT]
    add rsi, 0x28
    mov rdi, kargs + 32
    mov ecx, 12
    rep movsq
    mov eax, eax
    mov [kservice], rax
    call k_dispatch
    pop rbp
    pop rdi
    pop rsi
    pop rbx
    pop r11
    pop rcx
%ifdef KVA_SHADOW
    ; Back to the user CR3 after the last kernel-only read (KPCR page 0);
    ; the stack, this code and the shadow page stay mapped. r10 is
    ; volatile in the NT ABI; rax, rcx, r11 are kept.
    bt dword [gs:PRCB_SHADOW_FLAGS], 1
    jc .user_cr3
    mov r10, [gs:GUEST_KPCR_USER_CR3]
    mov cr3, r10
.user_cr3:
    mov rsp, [gs:PRCB_USER_RSP_SHADOW]
%else
    mov rsp, [gs:KPCR_USER_RSP]
%endif
    swapgs
    o64 sysret

%ifdef KVA_SHADOW
; shadow_check: stops the guest (COM3, exit status 98) unless the user
; tables are as intended. Each user-only table has exactly the present
; entries it should (PML4: 2; the window's PDPT, PD, PT: 1 each), so that
; with the walks below, of PML4[496] only KPCR+0x9000 is mapped; then the
; addresses in shadow_expect (and, for contrast, two in the kernel CR3)
; must translate as listed.
shadow_check:
    mov rbx, shadow_tables
.table:
    mov rdi, [rbx]
    test rdi, rdi
    jz .walks
    xor eax, eax
    mov ecx, 512
.entry:
    mov rdx, [rdi]
    and edx, 1
    add eax, edx
    add rdi, 8
    loop .entry
    cmp rax, [rbx + 8]
    jne .badtable
    add rbx, 16
    jmp .table
.badtable:
    mov word [kport], COM3
    mov rcx, [rbx]
    mov rdx, rax
    KPRINT "K SHADOW CHECK table=%x has %x present entries", rcx, rdx
    mov ecx, 98
    jmp k_exit
.walks:
    mov rbx, shadow_expect
.next:
    mov r8, [rbx]
    test r8, r8
    jz .done
    mov r9, [rbx + 8]
    call pt_walk
    jnc .mapped
    mov rax, -1                     ; not mapped
.mapped:
    cmp rax, [rbx + 16]
    jne .bad
    add rbx, 24
    jmp .next
.done:
    ret
.bad:
    mov word [kport], COM3
    mov rdx, rax
    mov rcx, [rbx + 16]
    KPRINT "K SHADOW CHECK cr3=%x va=%x -> %x, expected %x", r8, r9, rdx, rcx
    mov ecx, 98
    jmp k_exit

; pt_walk: r8 = PML4 (physical = virtual here), r9 = virtual address. CF
; clear and rax = its physical address when mapped, CF set when not.
pt_walk:
    push rcx
    push rdx
    push rsi
    mov rsi, 0x000ffffffffff000     ; address bits of an entry
    mov rdx, r8
    mov ecx, 39                     ; PML4 index shift
.level:
    mov rax, r9
    shr rax, cl
    and eax, 0x1ff
    mov rax, [rdx + rax*8]
    test al, 1
    jz .absent
    cmp ecx, 12
    je .page
    test al, 0x80                   ; 1 GiB / 2 MiB page
    jnz .page
    mov rdx, rax
    and rdx, rsi
    sub ecx, 9
    jmp .level
.page:
    mov rdx, 1
    shl rdx, cl
    dec rdx                         ; offset bits of this page size
    and rax, rsi
    not rdx
    and rax, rdx
    not rdx
    and rdx, r9
    or rax, rdx
    clc
    jmp .out
.absent:
    stc
.out:
    pop rsi
    pop rdx
    pop rcx
    ret

; (user-only table, number of present entries), 0-terminated.
    align 8
shadow_tables:
    dq USER_PML4, 2
    dq USER_PDPT_KOBJ, 1
    dq USER_PD_KOBJ, 1
    dq USER_PT_KOBJ, 1
    dq 0
; (CR3, virtual address, expected physical address or -1), 0-terminated.
shadow_expect:
    dq USER_PML4, KPCR, -1
    dq USER_PML4, KTHREAD, -1
    dq USER_PML4, EPROCESS, -1
    dq USER_PML4, KPCR + 0x3000, -1
    dq USER_PML4, KPCR + PRCB_SHADOW_PAGE, KOBJ_PHYS + PRCB_SHADOW_PAGE
    dq USER_PML4, KPCR + PRCB_SHADOW_PAGE + 0x1000, -1
    dq USER_PML4, KOBJ_PHYS + 0x1000, -1  ; nor at its physical address
    dq USER_PML4, syscall_entry, syscall_entry
    dq USER_PML4, IDT_ADDR, IDT_ADDR
    dq USER_PML4, KSTACK_TOP - 8, KSTACK_TOP - 8
    dq USER_PML4, user_entry, user_entry
    dq USER_PML4, KUSER_VA, KUSER_PHYS
    dq PML4, KTHREAD, KOBJ_PHYS + 0x1000
    dq PML4, KPCR + PRCB_SHADOW_PAGE, KOBJ_PHYS + PRCB_SHADOW_PAGE
    dq 0
%endif

    FAULT_STUBS 0x18

%include "services.inc"

; ---- exported accessors, in the shapes of Windows 10 x64's ----
IoGetCurrentProcess:                ; also PsGetCurrentProcess
PsGetCurrentProcess:
    mov rax, [gs:KPCR_CURRENT_THREAD]
    mov rax, [rax + KTHREAD_APC_PROCESS]
    ret
IoThreadToProcess:
    mov rax, [rcx + KTHREAD_PROCESS]
    ret
KeBugCheckEx:                       ; not an accessor: never executed
    mov [rsp + 8], rcx
    sub rsp, 0x28
    xor eax, eax
    hlt
PsGetCurrentThread:
    mov rax, [gs:KPCR_CURRENT_THREAD]
    ret
PsGetCurrentThreadId:
    mov rax, [gs:KPCR_CURRENT_THREAD]
    mov rax, [rax + ETHREAD_CID + 8]
    ret
PsGetProcessId:
    mov rax, [rcx + EPROCESS_PID]
    ret
PsGetProcessImageFileName:
    lea rax, [rcx + EPROCESS_IMAGE]
    ret
PsGetProcessInheritedFromUniqueProcessId:
    mov rax, [rcx + EPROCESS_PPID]
    ret
PsGetProcessPeb:
    mov rax, [rcx + EPROCESS_PEB]
    ret
PsGetThreadId:
    mov rax, [rcx + ETHREAD_CID + 8]
    ret
PsGetThreadProcessId:
    mov rax, [rcx + ETHREAD_CID]
    ret
    KERNEL_DATA
    align 4
kexp_dir:
    EXPORTS kimage, KSTAMP, 'ntoskrnl.exe', IoGetCurrentProcess, IoThreadToProcess, KeBugCheckEx, PsGetCurrentProcess, PsGetCurrentThread, PsGetCurrentThreadId, PsGetProcessId, PsGetProcessImageFileName, PsGetProcessInheritedFromUniqueProcessId, PsGetProcessPeb, PsGetThreadId, PsGetThreadProcessId, PsInitialSystemProcess
kexp_end:

    align 8
gdt:
    dq 0                            ; 0x00
    dq 0x00cf9a000000ffff           ; 0x08 32-bit code, boot only (not in Windows)
    dq 0x00209b0000000000           ; 0x10 KGDT64_R0_CODE
    dq 0x00cf93000000ffff           ; 0x18 KGDT64_R0_DATA
    dq 0x00cffb000000ffff           ; 0x20 KGDT64_R3_CMCODE
    dq 0x00cff3000000ffff           ; 0x28 KGDT64_R3_DATA
    dq 0x0020fb0000000000           ; 0x30 KGDT64_R3_CODE
    dq 0                            ; 0x38
    dq 0x0000891710000067           ; 0x40 KGDT64_SYS_TSS at TSS_ADDR, limit 0x67
    dq 0
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dq gdt
idt_ptr:
    dw 256*16 - 1
    dq IDT_ADDR
kimage_end:

; ---- user mode: copied to USER_BASE ----
    section .user follows=.text vstart=USER_BASE
user_start:

; ntdll.dll: a PE image of its own (page-aligned, in the user page) with
; the stubs, exported as Nt* and Zw*, in Windows 10 x64's shape: the
; `syscall` path unless KUSER_SHARED_DATA.SystemCall (0x7ffe0308) asks for
; int 0x2e (here it never does).
%macro STUB 2                       ; name, service number
%defstr %%s %1
%substr %%tail %%s 3,-1
%strcat %%zw "Zw", %%tail
%deftok %%zwtok %%zw
    align 16
%1:
%%zwtok:
    mov r10, rcx
    mov eax, %2
    test byte [abs 0x7ffe0308], 1
    jnz %%int2e
    syscall
    ret
%%int2e:
    int 0x2e
    ret
%endmacro

; NTCALL name, args...: the x64 calling convention: args 1-4 in rcx, rdx,
; r8, r9 (and their home slots), 5+ on the stack above the 0x20 home
; space, rsp 16-byte aligned at the call.
%macro NTCALL 1-*
    %xdefine %%name %1
    %assign %%n %0-1
    %if %%n < 4
        %assign %%frame 32
    %else
        %assign %%frame ((%%n * 8 + 15) / 16) * 16
    %endif
    sub rsp, %%frame
    %assign %%i 0
    %rep %%n
        %rotate 1
        mov rax, %1
        mov [rsp + 8*%%i], rax
        %assign %%i %%i+1
    %endrep
    mov rcx, [rsp]
    mov rdx, [rsp + 8]
    mov r8, [rsp + 16]
    mov r9, [rsp + 24]
    call %%name
    add rsp, %%frame
%endmacro

%include "program.inc"
    USER_LOADER_DATA

    align 0x1000, db 0
ntdll_base:
    PE_HEADERS ntdll_base, IMAGE_FILE_MACHINE_AMD64, NTDLL_STAMP, ntdll_end, ntdll_exp, ntdll_exp_end
NTDLL_STAMP     equ 0x5f3a2e00 + BUILD + SSN_NtOpenFile
STUB NtOpenFile, SSN_NtOpenFile
STUB NtCreateFile, SSN_NtCreateFile
STUB NtWriteFile, SSN_NtWriteFile
STUB NtOpenKey, SSN_NtOpenKey
STUB NtQueryValueKey, SSN_NtQueryValueKey
STUB NtAllocateVirtualMemory, SSN_NtAllocateVirtualMemory
STUB NtClose, SSN_NtClose
STUB NtDisplayString, SSN_NtDisplayString
STUB NtTerminateProcess, SSN_NtTerminateProcess
    align 16
NtGetTickCount:                     ; an Nt* export that is not a stub
    mov eax, 0x10
    ret
    align 4
ntdll_exp:
    EXPORTS ntdll_base, NTDLL_STAMP, 'ntdll.dll', NtAllocateVirtualMemory, NtClose, NtCreateFile, NtDisplayString, NtGetTickCount, NtOpenFile, NtOpenKey, NtQueryValueKey, NtTerminateProcess, NtWriteFile, ZwAllocateVirtualMemory, ZwClose, ZwCreateFile, ZwDisplayString, ZwOpenFile, ZwOpenKey, ZwQueryValueKey, ZwTerminateProcess, ZwWriteFile
ntdll_exp_end:
    align 0x1000, db 0
ntdll_end:

%ifdef WIN32U
; win32u.dll: the win32k service stubs (table 1: service numbers
; 0x1000 + n), in the same shape as ntdll's.
win32u_base:
    PE_HEADERS win32u_base, IMAGE_FILE_MACHINE_AMD64, WIN32U_STAMP, win32u_end, win32u_exp, win32u_exp_end
WIN32U_STAMP    equ 0x5f3a2f00 + BUILD
STUB NtGdiFlush, SSN_NtGdiFlush
STUB NtUserGetThreadState, SSN_NtUserGetThreadState
    align 4
win32u_exp:
    EXPORTS win32u_base, WIN32U_STAMP, 'win32u.dll', NtGdiFlush, NtUserGetThreadState
win32u_exp_end:
    align 0x1000, db 0
win32u_end:
%endif

user_end:
