//! `vstrace profile --from-dwarf VMLINUX`: a kernel profile (a Volatility
//! 3 symbol table, the JSON `--linux-profile` reads) from a vmlinux with
//! DWARF debug info, for kernels built without BTF (Debian's i386 kernels,
//! older or custom kernels). Made once; reading DWARF takes seconds.
//!
//! Saved in the cache (`profiles/BUILD-ID.json`, the default), vstrace
//! finds it by itself for a kernel with that build id: [`cached_table`].

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use vstrace_linux::profile::LinuxProfile;

/// `vstrace profile` options.
#[derive(Args, Debug)]
pub(crate) struct ProfileArgs {
    /// The vmlinux with debug info (Debian's linux-image-*-dbg
    /// /usr/lib/debug/boot/vmlinux-*, RHEL's kernel-debuginfo, Ubuntu's
    /// ddebs, or a kernel built with CONFIG_DEBUG_INFO).
    #[arg(long = "from-dwarf", value_name = "VMLINUX")]
    from_dwarf: PathBuf,
    /// Where to write the table; default: the cache, as
    /// profiles/BUILD-ID.json, where vstrace looks for it when the guest
    /// kernel has no BTF.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The cache file of the table for the kernel with build id `id`.
fn cache_path(id: &str) -> PathBuf {
    vstrace_launch::cache::cache_dir()
        .join("profiles")
        .join(format!("{id}.json"))
}

/// Runs `vstrace profile`.
pub(crate) fn profile(a: ProfileArgs) -> Result<u8> {
    let elf = std::fs::read(&a.from_dwarf)
        .with_context(|| format!("--from-dwarf {}", a.from_dwarf.display()))?;
    let (isf, id) = vstrace_linux::profile::dwarf::isf_from_dwarf(&elf)
        .with_context(|| format!("--from-dwarf {}", a.from_dwarf.display()))?;
    let text = serde_json::to_vec(&isf)?;
    // Read back as --linux-profile will: a table that does not make a
    // profile is refused here, not at trace time.
    let prof = vstrace_linux::profile::isf::parse(&text, &a.from_dwarf.display().to_string())?;
    let out = match (a.output, id) {
        (Some(o), _) => o,
        (None, Some(id)) => cache_path(&id),
        (None, None) => {
            bail!("the vmlinux has no build id to name its table in the cache: pass -o FILE")
        }
    };
    vstrace_launch::cache::write_atomic(&out, &text)
        .with_context(|| format!("writing {}", out.display()))?;
    let has = |b: bool, what: &'static str| if b { what } else { "" };
    eprintln!(
        "vstrace: {}-bit kernel profile -> {} (task{}{}{})",
        prof.pointer_size * 8,
        out.display(),
        has(prof.files.is_some(), ", fd names"),
        has(prof.mm.is_some(), ", module map"),
        has(prof.pids.is_some(), ", pid namespaces"),
    );
    // The file written, alone on stdout, for scripts.
    println!("{}", out.display());
    Ok(0)
}

/// The profile of a cached table for the kernel image `elf` (by its build
/// id, see [`profile`]), when there is one and it describes the same
/// kernel (`init_task` at the same address): `image`'s banner and `_text`
/// are kept.
pub(crate) fn cached_table(elf: &[u8], image: &LinuxProfile) -> Option<LinuxProfile> {
    let id = vstrace_linux::profile::build_id(elf)?;
    let path = cache_path(&id);
    if !path.is_file() {
        return None;
    }
    match table_for(&path, image) {
        Ok(p) => Some(p),
        Err(e) => {
            say!("vstrace: warning: {}: not used ({e:#})", path.display());
            None
        }
    }
}

fn table_for(path: &Path, image: &LinuxProfile) -> Result<LinuxProfile> {
    let mut p = vstrace_linux::profile::isf::load(path)?;
    if p.init_task != image.init_task || p.pointer_size != image.pointer_size {
        bail!(
            "another kernel's table (init_task {:#x}, the image's {:#x})",
            p.init_task,
            image.init_task
        );
    }
    p.banner.clone_from(&image.banner);
    p.text_base = image.text_base;
    Ok(p)
}

/// The kernel's `System.map` beside the image `kernel`: `KERNEL.System.map`
/// (how scripts/setup-host.sh keeps it in the cache), else, for Debian's
/// /boot naming, `System.map-VERSION` beside `vmlinuz-VERSION` (or
/// `vmlinux-VERSION`).
fn system_map_for(kernel: &Path) -> Option<PathBuf> {
    let name = kernel.file_name()?.to_str()?;
    let dir = kernel.parent().unwrap_or(Path::new(""));
    let mut c = vec![dir.join(format!("{name}.System.map"))];
    if let Some(v) = name
        .strip_prefix("vmlinuz-")
        .or_else(|| name.strip_prefix("vmlinux-"))
    {
        c.push(dir.join(format!("System.map-{v}")));
    }
    c.into_iter().find(|p| p.is_file())
}

/// Adds the signal probe (see [`vstrace_linux::profile::sysmap`]) to the
/// profile of the kernel image `kernel` (decompressed: `elf`) from the
/// `System.map` beside it. Without one the profile has no probe and
/// tracing is as before: a handler without SA_SIGINFO shows the signal's
/// number only. A map that is not this kernel's is said and ignored;
/// Debian's image-package stub (no symbols) silently so.
pub(crate) fn add_system_map(p: &mut LinuxProfile, kernel: &Path, elf: &[u8]) {
    use vstrace_linux::profile::sysmap::SysMapError;
    let Some(path) = system_map_for(kernel) else {
        return;
    };
    let text = match std::fs::read(&path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            say!("vstrace: warning: {}: {e}", path.display());
            return;
        }
    };
    let btf = vstrace_linux::profile::image_btf(elf);
    match p.add_system_map(&text, btf.as_ref()) {
        Ok(()) | Err(SysMapError::Missing(_)) => {}
        Err(e) => say!(
            "vstrace: warning: {}: no signal probe ({e})",
            path.display()
        ),
    }
}
