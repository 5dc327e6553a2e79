//! Synthetic ELF images for the unwinder's tests and fuzz seeds: a
//! shared object with a build id, an exported function table and
//! `.eh_frame_hdr`/`.eh_frame` describing two functions, laid out as the
//! loader maps it (file offsets equal link-time addresses).

/// Where things are in [`image`] (link-time addresses).
pub mod at {
    /// The program headers.
    pub const PHDRS: u64 = 64;
    /// The build-id note.
    pub const NOTE: u64 = 0x200;
    /// The dynamic section.
    pub const DYNAMIC: u64 = 0x300;
    /// `.dynsym`.
    pub const DYNSYM: u64 = 0x400;
    /// `.dynstr`.
    pub const DYNSTR: u64 = 0x500;
    /// `.eh_frame_hdr`.
    pub const HDR: u64 = 0x600;
    /// `.eh_frame`.
    pub const FRAME: u64 = 0x700;
    /// `leaf`: a function without a frame (CFA = rsp + 8 throughout).
    pub const LEAF: u64 = 0x1000;
    /// `outer`: a function that pushed rbp at its start (CFA = rsp + 16
    /// after its first instruction, rbp saved at CFA - 16).
    pub const OUTER: u64 = 0x1100;
    /// `sigtramp`: a signal return trampoline as glibc's
    /// `__restore_rt` describes it (CIE augmentation "zRS", FDE from the
    /// byte before it): CFA = `[rsp + 160]`, rip at `rsp + 168`, rbp at
    /// `rsp + 120` (the `ucontext` the kernel pushed), by expressions.
    pub const SIGTRAMP: u64 = 0x1200;
    /// `plt`: a PLT-like entry whose CFA is a DWARF expression (as the
    /// linker's `.plt` FDE): rsp + 8, or rsp + 16 from its byte 11 on.
    pub const PLT: u64 = 0x1300;
    /// Each function's size.
    pub const FUNC_LEN: u64 = 0x80;
    /// The image's size.
    pub const END: u64 = 0x2000;
}

/// The build id of [`image`].
pub const BUILD_ID: [u8; 8] = *b"vstrace!";

fn put(m: &mut [u8], off: u64, b: &[u8]) {
    let o = off as usize;
    m[o..o + b.len()].copy_from_slice(b);
}

fn rel32(from: u64, to: u64) -> [u8; 4] {
    (to.wrapping_sub(from) as i32).to_le_bytes()
}

/// The image (ET_DYN, one PT_LOAD over all of it, PT_DYNAMIC, PT_NOTE,
/// PT_GNU_EH_FRAME), x86-64.
pub fn image() -> Vec<u8> {
    build(true)
}

/// The same image as ELF32 for i386: 4-byte words in its headers,
/// dynamic section and symbols, i386 register numbers in its CFI (esp 4,
/// ebp 5, eip 8, data alignment -4), and `sigtramp` described as glibc's
/// i386 `__restore` (the `sigcontext` above the signal number: CFA =
/// `[esp + 32]`, eip at `esp + 60`, ebp at `esp + 28`).
pub fn image32() -> Vec<u8> {
    build(false)
}

/// A little-endian word of the class: 8 bytes or 4.
fn word(is64: bool, v: u64) -> Vec<u8> {
    if is64 {
        v.to_le_bytes().to_vec()
    } else {
        (v as u32).to_le_bytes().to_vec()
    }
}

fn build(is64: bool) -> Vec<u8> {
    use at::*;
    let mut m = vec![0u8; END as usize];
    let (phsize, dynsize, symsize) = if is64 { (56, 16, 24) } else { (32, 8, 16) };
    put(
        &mut m,
        0,
        &[0x7f, b'E', b'L', b'F', if is64 { 2 } else { 1 }, 1, 1],
    );
    put(&mut m, 16, &3u16.to_le_bytes());
    let (phoff_at, phent_at) = if is64 { (32, 54) } else { (28, 42) };
    put(&mut m, phoff_at, &word(is64, PHDRS));
    put(&mut m, phent_at, &(phsize as u16).to_le_bytes());
    put(&mut m, phent_at + 2, &4u16.to_le_bytes());
    let ph = |m: &mut Vec<u8>, i: u64, kind: u32, flags: u32, v: u64, len: u64| {
        let o = PHDRS + i * phsize;
        put(m, o, &kind.to_le_bytes());
        // (p_offset, p_vaddr, p_paddr, p_filesz, p_memsz) and p_flags.
        let (fields, flags_at) = if is64 {
            ([8, 16, 24, 32, 40], 4)
        } else {
            ([4, 8, 12, 16, 20], 24)
        };
        put(m, o + flags_at, &flags.to_le_bytes());
        for (f, val) in fields.into_iter().zip([v, v, v, len, len]) {
            put(m, o + f, &word(is64, val));
        }
    };
    ph(&mut m, 0, 1, 5, 0, END);
    ph(&mut m, 1, 2, 6, DYNAMIC, 0x40);
    ph(&mut m, 2, 4, 4, NOTE, 16 + BUILD_ID.len() as u64);
    ph(&mut m, 3, 0x6474_e550, 4, HDR, 0x40);
    // The note: namesz 4, descsz 8, NT_GNU_BUILD_ID, "GNU\0", the id.
    put(&mut m, NOTE, &4u32.to_le_bytes());
    put(&mut m, NOTE + 4, &(BUILD_ID.len() as u32).to_le_bytes());
    put(&mut m, NOTE + 8, &3u32.to_le_bytes());
    put(&mut m, NOTE + 12, b"GNU\0");
    put(&mut m, NOTE + 16, &BUILD_ID);
    // DT_SYMTAB, DT_STRTAB, DT_STRSZ (no hash: the count from the gap).
    for (i, (t, v)) in [(6u64, DYNSYM), (5, DYNSTR), (10, 16), (0, 0)]
        .iter()
        .enumerate()
    {
        put(&mut m, DYNAMIC + i as u64 * dynsize, &word(is64, *t));
        put(
            &mut m,
            DYNAMIC + i as u64 * dynsize + dynsize / 2,
            &word(is64, *v),
        );
    }
    put(&mut m, DYNSTR, b"\0leaf\0outer\0");
    for (i, (name, value)) in [(1u32, LEAF), (6, OUTER)].iter().enumerate() {
        let o = DYNSYM + (i as u64 + 1) * symsize;
        put(&mut m, o, &name.to_le_bytes());
        // (st_info, st_shndx, st_value, st_size) of each class.
        let (info, shndx, val, size) = if is64 { (4, 6, 8, 16) } else { (12, 14, 4, 8) };
        m[(o + info) as usize] = 0x12;
        put(&mut m, o + shndx, &12u16.to_le_bytes());
        put(&mut m, o + val, &word(is64, *value));
        put(&mut m, o + size, &word(is64, FUNC_LEN));
    }
    let cfi = if is64 { &CFI_64 } else { &CFI_32 };
    put(&mut m, FRAME, &(4 + cfi.cie.len() as u32).to_le_bytes());
    put(&mut m, FRAME + 4, &0u32.to_le_bytes());
    put(&mut m, FRAME + 8, cfi.cie);
    // The signal frame's CIE: "zRS", no initial rules.
    let sig_cie_at = FRAME + 8 + cfi.cie.len() as u64;
    put(
        &mut m,
        sig_cie_at,
        &(4 + cfi.sig_cie.len() as u32).to_le_bytes(),
    );
    put(&mut m, sig_cie_at + 4, &0u32.to_le_bytes());
    put(&mut m, sig_cie_at + 8, cfi.sig_cie);
    let mut fde_at = sig_cie_at + 8 + cfi.sig_cie.len() as u64;
    let mut table = Vec::new();
    for (cie_at, func, len_fn, ins) in [
        (FRAME, LEAF, FUNC_LEN, &[0u8, 0, 0, 0, 0, 0, 0][..]),
        (FRAME, OUTER, FUNC_LEN, cfi.outer),
        (sig_cie_at, SIGTRAMP - 1, FUNC_LEN + 1, cfi.tramp),
        (FRAME, PLT, FUNC_LEN, cfi.plt),
    ] {
        let len = 4 + 4 + 4 + 1 + ins.len() as u32;
        put(&mut m, fde_at, &len.to_le_bytes());
        put(
            &mut m,
            fde_at + 4,
            &((fde_at + 4 - cie_at) as u32).to_le_bytes(),
        );
        put(&mut m, fde_at + 8, &rel32(fde_at + 8, func));
        put(&mut m, fde_at + 12, &(len_fn as u32).to_le_bytes());
        m[(fde_at + 16) as usize] = 0;
        put(&mut m, fde_at + 17, ins);
        table.push((func, fde_at));
        fde_at += 4 + u64::from(len);
    }
    put(&mut m, fde_at, &0u32.to_le_bytes());
    put(&mut m, HDR, &[1, 0x1b, 0x03, 0x3b]);
    put(&mut m, HDR + 4, &rel32(HDR + 4, FRAME));
    put(&mut m, HDR + 8, &(table.len() as u32).to_le_bytes());
    for (i, (func, fde)) in table.iter().enumerate() {
        let o = HDR + 12 + i as u64 * 8;
        put(&mut m, o, &rel32(HDR, *func));
        put(&mut m, o + 4, &rel32(HDR, *fde));
    }
    m
}

/// One class's call frame information for [`build`].
struct Cfi {
    /// The CIE's body after its id: version 1, "zR", code alignment 1,
    /// data alignment -word, the return address register, FDE pointers
    /// pc-relative sdata4; CFA = sp + word, return address at CFA - word.
    cie: &'static [u8],
    /// The signal frame's CIE: "zRS", no initial rules.
    sig_cie: &'static [u8],
    /// `outer`: after 1 byte (a push of the frame pointer), CFA = sp +
    /// 2 words and the frame pointer at CFA - 2 words.
    outer: &'static [u8],
    /// `sigtramp`: DW_CFA_def_cfa_expression (sp-relative load) and
    /// DW_CFA_expression for the return address and frame pointer.
    tramp: &'static [u8],
    /// `plt`: DW_CFA_def_cfa_expression (sp + word, one more word from
    /// the entry's byte 11 on), as the linker's `.plt` FDE.
    plt: &'static [u8],
}

/// x86-64: rsp 7, rbp 6, RA 16; the ucontext's rsp at +160, rip at +168,
/// rbp at +120.
const CFI_64: Cfi = Cfi {
    cie: &[
        1, b'z', b'R', 0, 1, 0x78, 16, 1, 0x1b, 0x0c, 7, 8, 0x90, 1, 0, 0,
    ],
    sig_cie: &[1, b'z', b'R', b'S', 0, 1, 0x78, 16, 1, 0x1b, 0, 0],
    outer: &[0x41, 0x0e, 16, 0x86, 2, 0, 0],
    tramp: &[
        0x0f, 4, 0x77, 0xa0, 0x01, 0x06, 0x10, 16, 3, 0x77, 0xa8, 0x01, 0x10, 6, 3, 0x77, 0xf8,
        0x00, 0, 0,
    ],
    plt: &[
        0x0f, 11, 0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22, 0, 0, 0,
    ],
};

/// i386: esp 4, ebp 5, eip 8; the sigcontext's esp at esp + 32, eip at
/// esp + 60, ebp at esp + 28.
const CFI_32: Cfi = Cfi {
    cie: &[
        1, b'z', b'R', 0, 1, 0x7c, 8, 1, 0x1b, 0x0c, 4, 4, 0x88, 1, 0, 0,
    ],
    sig_cie: &[1, b'z', b'R', b'S', 0, 1, 0x7c, 8, 1, 0x1b, 0, 0],
    outer: &[0x41, 0x0e, 8, 0x85, 2, 0, 0],
    tramp: &[
        0x0f, 3, 0x74, 0x20, 0x06, 0x10, 8, 2, 0x74, 0x3c, 0x10, 5, 2, 0x74, 0x1c, 0, 0, 0, 0, 0,
    ],
    plt: &[
        0x0f, 11, 0x74, 4, 0x78, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x32, 0x24, 0x22, 0, 0, 0,
    ],
};
