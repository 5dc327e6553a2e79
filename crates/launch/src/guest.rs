//! The default guest: an initramfs built in Rust.
//!
//! [`CpioWriter`] writes the `newc` cpio format the kernel unpacks into its
//! rootfs. [`InitramfsBuilder`] assembles busybox (with one symlink per
//! applet), extra files, host binaries with their shared libraries, the
//! user's command and an `/init` that wires the guest's serial ports:
//!
//! | port  | host side ([`crate::launch::SerialPort`]) | contents |
//! |-------|---------|----------|
//! | ttyS0 | `Console` | kernel log, init messages |
//! | ttyS1 | `Stdout`  | the command's stdout |
//! | ttyS2 | `Stderr`  | the command's stderr |
//! | ttyS3 | `Control` | `VSTRACE_CMD_START`, `VSTRACE_EXIT_STATUS=<n>` |
//!
//! The command is written into the archive as `/vstrace/cmd` with shell
//! quoting, never put on the kernel command line.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use object::read::elf::{Dyn, FileHeader, ProgramHeader};

/// Marker line written on the control port when the command starts.
pub const START_MARKER: &str = "VSTRACE_CMD_START";
/// Prefix of the marker line carrying the command's exit status.
pub const EXIT_MARKER: &str = "VSTRACE_EXIT_STATUS=";
/// Path of the command script inside the guest.
pub const CMD_PATH: &str = "/vstrace/cmd";

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

/// Most shared libraries one binary may pull in (bounds the dependency walk).
const MAX_LIBS: usize = 256;

/// Errors while building a guest image.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    #[error("{path}: {source}")]
    /// Reading a host file or writing the image failed.
    Io {
        #[doc = "The file concerned."]
        path: PathBuf,
        #[doc = "The OS error."]
        source: io::Error,
    },
    #[error("invalid guest path {0:?} (absolute, no `..`, no NUL)")]
    /// A guest path that cannot go into the archive.
    InvalidPath(String),
    #[error("invalid command argument {0:?}: contains NUL")]
    /// A command argument the guest shell cannot be given.
    InvalidArgument(String),
    #[error("busybox not found at {0} (install busybox-static: scripts/setup-host.sh)")]
    /// The static busybox the guest is built from is missing.
    BusyboxNotFound(PathBuf),
    #[error("{path}: not a usable ELF file: {message}")]
    /// A host binary added with its libraries is not an ELF file we can read.
    Elf {
        #[doc = "The host binary."]
        path: PathBuf,
        #[doc = "What the ELF parser said."]
        message: String,
    },
    #[error("shared library {library} (needed by {needed_by}) not found on the host")]
    /// A library a dynamically linked binary needs is not on the host.
    LibraryNotFound {
        #[doc = "The library's soname."]
        library: String,
        #[doc = "The binary (or library) that needs it."]
        needed_by: String,
    },
    #[error("more than {MAX_LIBS} shared libraries needed by {0}")]
    /// The library closure is larger than any real program's: refused rather than copied.
    TooManyLibraries(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> GuestError + '_ {
    move |source| GuestError::Io {
        path: path.to_owned(),
        source,
    }
}

// ---------------------------------------------------------------------------
// cpio (newc)

/// Writer for the `newc` ("070701") cpio format.
///
/// Entries are written in call order; the kernel does not create missing
/// parent directories, so write a directory before its contents.
/// Timestamps and owners are zero so equal inputs give equal archives.
pub struct CpioWriter<W: Write> {
    out: W,
    next_ino: u32,
    offset: u64,
}

impl<W: Write> CpioWriter<W> {
    /// A writer that emits `newc` entries to `out`.
    pub fn new(out: W) -> Self {
        CpioWriter {
            out,
            next_ino: 1,
            offset: 0,
        }
    }

    /// Writes one raw entry: `mode` includes the file type bits.
    pub fn entry(
        &mut self,
        name: &str,
        mode: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> io::Result<()> {
        if name.is_empty() || name.contains('\0') {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad cpio name"));
        }
        let filesize = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file over 4 GiB"))?;
        let ino = self.next_ino;
        self.next_ino += 1;
        let nlink = if mode & 0o170000 == S_IFDIR { 2 } else { 1 };
        let namesize = name.len() + 1;
        let header = format!(
            "070701{ino:08x}{mode:08x}{uid:08x}{gid:08x}{nlink:08x}{mtime:08x}{filesize:08x}\
             {maj:08x}{min:08x}{rmaj:08x}{rmin:08x}{namesize:08x}{check:08x}",
            uid = 0,
            gid = 0,
            mtime = 0,
            maj = 0,
            min = 0,
            rmaj = rdev.0,
            rmin = rdev.1,
            check = 0,
        );
        debug_assert_eq!(header.len(), 110);
        self.write(header.as_bytes())?;
        self.write(name.as_bytes())?;
        self.write(&[0])?;
        self.pad()?;
        self.write(data)?;
        self.pad()
    }

    /// Adds a directory entry with permission bits `perm`.
    pub fn dir(&mut self, name: &str, perm: u32) -> io::Result<()> {
        self.entry(name, S_IFDIR | (perm & 0o7777), (0, 0), &[])
    }

    /// Adds a regular file with contents `data`.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> io::Result<()> {
        self.entry(name, S_IFREG | (perm & 0o7777), (0, 0), data)
    }

    /// Adds a symbolic link to `target`.
    pub fn symlink(&mut self, name: &str, target: &str) -> io::Result<()> {
        self.entry(name, S_IFLNK | 0o777, (0, 0), target.as_bytes())
    }

    /// Adds a character device node (e.g. /dev/console before devtmpfs is mounted).
    pub fn char_dev(&mut self, name: &str, perm: u32, major: u32, minor: u32) -> io::Result<()> {
        self.entry(name, S_IFCHR | (perm & 0o7777), (major, minor), &[])
    }

    /// Writes the `TRAILER!!!` entry and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.entry("TRAILER!!!", 0, (0, 0), &[])?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn write(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b)?;
        self.offset += b.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let rem = (4 - (self.offset % 4) as usize) % 4;
        self.write(&[0u8; 3][..rem])
    }
}

// ---------------------------------------------------------------------------
// shell quoting

/// Quotes `s` for a POSIX shell: `'...'` with `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

// ---------------------------------------------------------------------------
// initramfs

#[derive(Debug, Clone)]
enum Source {
    Host(PathBuf),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
enum Node {
    Dir { perm: u32 },
    File { source: Source, perm: u32 },
    Symlink { target: String },
    CharDev { perm: u32, major: u32, minor: u32 },
}

/// Normalises a guest path to its archive name (no leading `/`).
fn archive_name(guest: &str) -> Result<String, GuestError> {
    let bad = || GuestError::InvalidPath(guest.to_owned());
    if !guest.starts_with('/') || guest.contains('\0') {
        return Err(bad());
    }
    let parts: Vec<&str> = guest
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") {
        return Err(bad());
    }
    Ok(parts.join("/"))
}

/// Builds the guest initramfs. See the module docs for the guest layout.
#[derive(Debug, Clone)]
pub struct InitramfsBuilder {
    nodes: BTreeMap<String, Node>,
    busybox: Option<PathBuf>,
    command: Vec<String>,
    /// The command's environment changes, in order: `Some(value)` exports
    /// the variable, `None` unsets it (strace's `-E VAR=VAL` / `-E VAR`).
    env: Vec<(String, Option<String>)>,
    hostname: String,
    workdir: String,
}

impl Default for InitramfsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl InitramfsBuilder {
    /// A builder with the host's `/bin/busybox` and no command (the guest
    /// powers off with status 0).
    pub fn new() -> Self {
        InitramfsBuilder {
            nodes: BTreeMap::new(),
            busybox: Some(PathBuf::from("/bin/busybox")),
            command: Vec::new(),
            env: Vec::new(),
            hostname: "vstrace".into(),
            workdir: "/".into(),
        }
    }

    /// Uses another (static) busybox binary.
    pub fn busybox(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.busybox = Some(path.into());
        self
    }

    /// The command to run, as argv (`argv[0]` is looked up in `$PATH`).
    pub fn command<I, S>(&mut self, argv: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.command = argv.into_iter().map(Into::into).collect();
        self
    }

    /// Shorthand for `command(["/bin/sh", "-c", script])`.
    pub fn shell(&mut self, script: &str) -> &mut Self {
        self.command(["/bin/sh", "-c", script])
    }

    /// Exports an environment variable to the command.
    pub fn env(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Removes an environment variable from the command's environment.
    pub fn unset(&mut self, key: impl Into<String>) -> &mut Self {
        self.env.push((key.into(), None));
        self
    }

    /// Sets the guest's hostname (what `uname -n` and the prompt show).
    pub fn hostname(&mut self, name: impl Into<String>) -> &mut Self {
        self.hostname = name.into();
        self
    }

    /// Working directory of the command (default `/`).
    pub fn workdir(&mut self, dir: impl Into<String>) -> &mut Self {
        self.workdir = dir.into();
        self
    }

    /// Adds a host file at `guest` with permission bits `perm`; read at build time.
    pub fn add_file(
        &mut self,
        host: impl Into<PathBuf>,
        guest: &str,
        perm: u32,
    ) -> Result<&mut Self, GuestError> {
        let name = archive_name(guest)?;
        self.nodes.insert(
            name,
            Node::File {
                source: Source::Host(host.into()),
                perm,
            },
        );
        Ok(self)
    }

    /// Adds a file at `guest` with contents `data` and permission bits `perm`.
    pub fn add_bytes(
        &mut self,
        guest: &str,
        data: impl Into<Vec<u8>>,
        perm: u32,
    ) -> Result<&mut Self, GuestError> {
        let name = archive_name(guest)?;
        self.nodes.insert(
            name,
            Node::File {
                source: Source::Bytes(data.into()),
                perm,
            },
        );
        Ok(self)
    }

    /// Adds an empty directory at `guest`.
    pub fn add_dir(&mut self, guest: &str, perm: u32) -> Result<&mut Self, GuestError> {
        let name = archive_name(guest)?;
        self.nodes.insert(name, Node::Dir { perm });
        Ok(self)
    }

    /// Adds a symbolic link at `guest` to `target`.
    pub fn add_symlink(&mut self, guest: &str, target: &str) -> Result<&mut Self, GuestError> {
        let name = archive_name(guest)?;
        if target.is_empty() || target.contains('\0') {
            return Err(GuestError::InvalidPath(target.to_owned()));
        }
        self.nodes.insert(
            name,
            Node::Symlink {
                target: target.to_owned(),
            },
        );
        Ok(self)
    }

    /// Adds a dynamically linked host binary at `guest`, plus its ELF
    /// interpreter and every shared library it needs (recursively, from
    /// `DT_NEEDED`), each at the host path where it was found, so the guest's
    /// loader finds them through its built-in search path.
    /// Static binaries are added alone. Returns the guest paths added.
    pub fn add_dynamic_binary(
        &mut self,
        host: impl AsRef<Path>,
        guest: &str,
    ) -> Result<Vec<String>, GuestError> {
        let host = host.as_ref();
        let deps = resolve_dependencies(host)?;
        self.add_file(host, guest, 0o755)?;
        let mut added = vec![guest.to_owned()];
        for (guest_path, host_path) in deps {
            self.add_file(host_path, &guest_path, 0o755)?;
            added.push(guest_path);
        }
        Ok(added)
    }

    /// The `/init` script.
    pub fn init_script(&self) -> String {
        let mut s = String::new();
        s.push_str("#!/bin/sh\n# vstrace guest init (generated)\n");
        s.push_str("export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb\n");
        s.push_str("mount -t proc proc /proc\nmount -t sysfs sys /sys\n");
        s.push_str("mount -t devtmpfs dev /dev\nmount -t tmpfs tmp /tmp\n");
        s.push_str(&format!("hostname {}\n", shell_quote(&self.hostname)));
        // Raw mode: no \n -> \r\n translation, no echo on the output ports.
        s.push_str("for t in /dev/ttyS1 /dev/ttyS2 /dev/ttyS3; do stty -F $t raw -echo 2>/dev/null; done\n");
        s.push_str(&format!("echo {START_MARKER} >/dev/ttyS3\n"));
        s.push_str(&format!(
            "/bin/sh {CMD_PATH} </dev/null >/dev/ttyS1 2>/dev/ttyS2\n"
        ));
        s.push_str("st=$?\n");
        s.push_str(&format!("echo {EXIT_MARKER}$st >/dev/ttyS3\n"));
        s.push_str(&format!("echo {EXIT_MARKER}$st\n"));
        s.push_str("sync\npoweroff -f\n");
        s
    }

    /// The `/vstrace/cmd` script.
    pub fn command_script(&self) -> Result<String, GuestError> {
        let mut s = String::from("#!/bin/sh\n");
        for (k, v) in &self.env {
            let valid = !k.is_empty()
                && !k.starts_with(|c: char| c.is_ascii_digit())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(GuestError::InvalidArgument(k.clone()));
            }
            match v {
                Some(v) if v.contains('\0') => return Err(GuestError::InvalidArgument(v.clone())),
                Some(v) => s.push_str(&format!("export {k}={}\n", shell_quote(v))),
                None => s.push_str(&format!("unset {k}\n")),
            }
        }
        s.push_str(&format!("cd {} || exit 126\n", shell_quote(&self.workdir)));
        if self.command.is_empty() {
            s.push_str("exit 0\n");
            return Ok(s);
        }
        for a in &self.command {
            if a.contains('\0') {
                return Err(GuestError::InvalidArgument(a.clone()));
            }
        }
        // Resolve the program to a path so the shell really execs it:
        // busybox ash runs applets named without a slash in-process, and
        // a tracer scoping on exec would never see the command start.
        s.push_str(&format!("p={}\n", shell_quote(&self.command[0])));
        s.push_str(
            "case $p in */*) ;; *) for d in /bin /sbin /usr/bin /usr/sbin; do \
             if [ -x \"$d/$p\" ]; then p=\"$d/$p\"; break; fi; done ;; esac\n",
        );
        s.push_str("exec \"$p\"");
        for a in &self.command[1..] {
            s.push(' ');
            s.push_str(&shell_quote(a));
        }
        s.push('\n');
        Ok(s)
    }

    /// Builds the archive in memory.
    pub fn build(&self) -> Result<Vec<u8>, GuestError> {
        let mut nodes = self.nodes.clone();
        for d in [
            "dev", "proc", "sys", "tmp", "root", "etc", "bin", "sbin", "usr/bin", "usr/sbin",
        ] {
            nodes.entry(d.into()).or_insert(Node::Dir { perm: 0o755 });
        }
        nodes.insert("tmp".into(), Node::Dir { perm: 0o1777 });
        // The kernel opens /dev/console for init's stdio before init runs.
        nodes.insert(
            "dev/console".into(),
            Node::CharDev {
                perm: 0o600,
                major: 5,
                minor: 1,
            },
        );
        nodes.insert(
            "dev/null".into(),
            Node::CharDev {
                perm: 0o666,
                major: 1,
                minor: 3,
            },
        );
        if let Some(bb) = &self.busybox {
            if !bb.is_file() {
                return Err(GuestError::BusyboxNotFound(bb.clone()));
            }
            nodes.insert(
                "bin/busybox".into(),
                Node::File {
                    source: Source::Host(bb.clone()),
                    perm: 0o755,
                },
            );
            for applet in busybox_applets(bb) {
                if let Ok(name) = archive_name(&format!("/{applet}")) {
                    // Explicitly added files win over applet links.
                    nodes.entry(name).or_insert(Node::Symlink {
                        target: "/bin/busybox".into(),
                    });
                }
            }
        }
        nodes.insert(
            "init".into(),
            Node::File {
                source: Source::Bytes(self.init_script().into_bytes()),
                perm: 0o755,
            },
        );
        nodes.insert(
            archive_name(CMD_PATH)?,
            Node::File {
                source: Source::Bytes(self.command_script()?.into_bytes()),
                perm: 0o755,
            },
        );
        nodes.insert(
            "etc/hostname".into(),
            Node::File {
                source: Source::Bytes(format!("{}\n", self.hostname).into_bytes()),
                perm: 0o644,
            },
        );
        // Missing parents become directories.
        let parents: BTreeSet<String> = nodes
            .keys()
            .flat_map(|k| {
                let parts: Vec<&str> = k.split('/').collect();
                (1..parts.len())
                    .map(|i| parts[..i].join("/"))
                    .collect::<Vec<_>>()
            })
            .collect();
        for p in parents {
            nodes.entry(p).or_insert(Node::Dir { perm: 0o755 });
        }

        // BTreeMap order puts every directory before its contents.
        let mut w = CpioWriter::new(Vec::new());
        let werr = |e| GuestError::Io {
            path: PathBuf::from("<initramfs>"),
            source: e,
        };
        for (name, node) in &nodes {
            match node {
                Node::Dir { perm } => w.dir(name, *perm).map_err(werr)?,
                Node::Symlink { target } => w.symlink(name, target).map_err(werr)?,
                Node::CharDev { perm, major, minor } => {
                    w.char_dev(name, *perm, *major, *minor).map_err(werr)?
                }
                Node::File { source, perm } => match source {
                    Source::Bytes(b) => w.file(name, *perm, b).map_err(werr)?,
                    Source::Host(p) => {
                        let data = fs::read(p).map_err(io_err(p))?;
                        w.file(name, *perm, &data).map_err(werr)?
                    }
                },
            }
        }
        w.finish().map_err(werr)
    }

    /// Builds the archive and writes it to `path`.
    pub fn write_to(&self, path: impl AsRef<Path>) -> Result<(), GuestError> {
        let path = path.as_ref();
        let data = self.build()?;
        crate::cache::write_atomic(path, &data).map_err(io_err(path))
    }

    /// Builds the archive and stores it in the cache as
    /// `<cache>/initramfs/<sha256>.cpio` (the last 32 are kept). Returns the path.
    pub fn write_cached(&self) -> Result<PathBuf, GuestError> {
        let data = self.build()?;
        let dir = crate::cache::cache_dir().join("initramfs");
        let path = dir.join(format!("{}.cpio", crate::cache::content_key(&data)));
        if !path.is_file() {
            crate::cache::write_atomic(&path, &data).map_err(io_err(&path))?;
            crate::cache::prune(&dir, ".cpio", 32);
        } else {
            // Refresh the mtime so pruning keeps recently used images.
            let _ = fs::File::options()
                .append(true)
                .open(&path)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        }
        Ok(path)
    }
}

/// The applets of a busybox binary as relative install paths
/// (`bin/sh`, `sbin/poweroff`, ...), from `busybox --list-full`; falls back to
/// `--list` (all in `bin/`), then to a minimal built-in list.
pub fn busybox_applets(busybox: &Path) -> Vec<String> {
    let run = |arg: &str| -> Option<Vec<String>> {
        let out = Command::new(busybox).arg(arg).output().ok()?;
        if !out.status.success() {
            return None;
        }
        let list: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.contains(".."))
            .map(str::to_owned)
            .collect();
        (!list.is_empty()).then_some(list)
    };
    if let Some(full) = run("--list-full") {
        return full;
    }
    if let Some(short) = run("--list") {
        return short.into_iter().map(|a| format!("bin/{a}")).collect();
    }
    [
        "sh", "ls", "cat", "mount", "umount", "poweroff", "echo", "mv", "rm", "mkdir", "dd",
        "stty", "hostname", "sync", "sleep", "true", "false", "test", "[",
    ]
    .iter()
    .map(|a| format!("bin/{a}"))
    .collect()
}

// ---------------------------------------------------------------------------
// shared library resolution

/// What the dependency walk needs from one ELF file.
struct ElfDeps {
    is_64: bool,
    interpreter: Option<String>,
    needed: Vec<String>,
}

fn parse_elf_deps(path: &Path, data: &[u8]) -> Result<ElfDeps, GuestError> {
    let err = |m: String| GuestError::Elf {
        path: path.to_owned(),
        message: m,
    };
    match object::FileKind::parse(data).map_err(|e| err(e.to_string()))? {
        object::FileKind::Elf64 => {
            parse_elf_generic::<object::elf::FileHeader64<object::Endianness>>(data, true)
        }
        object::FileKind::Elf32 => {
            parse_elf_generic::<object::elf::FileHeader32<object::Endianness>>(data, false)
        }
        other => Err(format!("not ELF ({other:?})")),
    }
    .map_err(err)
}

fn parse_elf_generic<E: FileHeader<Endian = object::Endianness>>(
    data: &[u8],
    is_64: bool,
) -> Result<ElfDeps, String> {
    let hdr = E::parse(data).map_err(|e| e.to_string())?;
    let endian = hdr.endian().map_err(|e| e.to_string())?;
    let mut interpreter = None;
    for ph in hdr
        .program_headers(endian, data)
        .map_err(|e| e.to_string())?
    {
        if let Ok(Some(interp)) = ph.interpreter(endian, data) {
            interpreter = Some(String::from_utf8_lossy(interp).into_owned());
        }
    }
    let sections = hdr.sections(endian, data).map_err(|e| e.to_string())?;
    let mut needed = Vec::new();
    if let Some((dyns, link)) = sections.dynamic(endian, data).map_err(|e| e.to_string())? {
        let strings = sections
            .strings(endian, data, link)
            .map_err(|e| e.to_string())?;
        for d in dyns {
            if d.tag32(endian) == Some(object::elf::DT_NEEDED) {
                let name = d.string(endian, strings).map_err(|e| e.to_string())?;
                needed.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    Ok(ElfDeps {
        is_64,
        interpreter,
        needed,
    })
}

fn lib_dirs(is_64: bool) -> &'static [&'static str] {
    if is_64 {
        &[
            "/lib/x86_64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu",
            "/lib64",
            "/usr/lib64",
            "/lib",
            "/usr/lib",
        ]
    } else {
        &[
            "/lib/i386-linux-gnu",
            "/usr/lib/i386-linux-gnu",
            "/lib32",
            "/usr/lib32",
            "/lib",
            "/usr/lib",
        ]
    }
}

/// The interpreter and shared libraries `binary` needs, as
/// (guest path, host path) pairs, found in the standard multiarch directories.
pub fn resolve_dependencies(binary: &Path) -> Result<Vec<(String, PathBuf)>, GuestError> {
    let data = fs::read(binary).map_err(io_err(binary))?;
    let root = parse_elf_deps(binary, &data)?;
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    if let Some(interp) = &root.interpreter {
        let p = PathBuf::from(interp);
        if !p.exists() {
            return Err(GuestError::LibraryNotFound {
                library: interp.clone(),
                needed_by: binary.display().to_string(),
            });
        }
        out.push((interp.clone(), p));
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<(String, String)> = root
        .needed
        .iter()
        .map(|n| (n.clone(), binary.display().to_string()))
        .collect();
    while let Some((lib, needed_by)) = queue.pop_front() {
        if !seen.insert(lib.clone()) {
            continue;
        }
        if seen.len() > MAX_LIBS {
            return Err(GuestError::TooManyLibraries(binary.to_owned()));
        }
        let found = if lib.contains('/') {
            Some(PathBuf::from(&lib)).filter(|p| p.is_file())
        } else {
            lib_dirs(root.is_64)
                .iter()
                .map(|d| Path::new(d).join(&lib))
                .find(|p| {
                    // A library of the other class with the same name is skipped.
                    fs::read(p)
                        .ok()
                        .and_then(|d| parse_elf_deps(p, &d).ok())
                        .is_some_and(|e| e.is_64 == root.is_64)
                })
        };
        let Some(path) = found else {
            return Err(GuestError::LibraryNotFound {
                library: lib,
                needed_by,
            });
        };
        let ldata = fs::read(&path).map_err(io_err(&path))?;
        let deps = parse_elf_deps(&path, &ldata)?;
        for n in deps.needed {
            queue.push_back((n, lib.clone()));
        }
        out.push((path.display().to_string(), path));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, mode, rdev, data) of one archive entry.
    type Entry = (String, u32, (u32, u32), Vec<u8>);

    /// Minimal newc reader for tests.
    fn parse_cpio(mut b: &[u8]) -> Vec<Entry> {
        let mut out = Vec::new();
        let total = b.len();
        let hex = |s: &[u8]| u32::from_str_radix(std::str::from_utf8(s).unwrap(), 16).unwrap();
        loop {
            assert_eq!(&b[..6], b"070701", "bad magic at {}", total - b.len());
            let field = |i: usize| hex(&b[6 + 8 * i..14 + 8 * i]);
            let (mode, size, rmaj, rmin, namesize) = (
                field(1),
                field(6) as usize,
                field(9),
                field(10),
                field(11) as usize,
            );
            let name = std::str::from_utf8(&b[110..110 + namesize - 1])
                .unwrap()
                .to_owned();
            assert_eq!(b[110 + namesize - 1], 0);
            let data_start = (110 + namesize).div_ceil(4) * 4;
            let data = b[data_start..data_start + size].to_vec();
            let next = (data_start + size).div_ceil(4) * 4;
            assert_eq!((total - b.len() + next) % 4, 0);
            if name == "TRAILER!!!" {
                assert_eq!(next, b.len());
                break;
            }
            out.push((name, mode, (rmaj, rmin), data));
            b = &b[next..];
        }
        out
    }

    #[test]
    fn cpio_roundtrip() {
        let mut w = CpioWriter::new(Vec::new());
        w.dir("bin", 0o755).unwrap();
        w.file("bin/a", 0o644, b"hello").unwrap();
        w.file("bin/empty", 0o600, b"").unwrap();
        w.symlink("bin/sh", "/bin/busybox").unwrap();
        w.char_dev("console", 0o600, 5, 1).unwrap();
        let data = w.finish().unwrap();
        assert_eq!(data.len() % 4, 0);
        let e = parse_cpio(&data);
        assert_eq!(e.len(), 5);
        assert_eq!(e[0].0, "bin");
        assert_eq!(e[0].1, 0o040755);
        assert_eq!(
            (e[1].0.as_str(), e[1].1, e[1].3.as_slice()),
            ("bin/a", 0o100644, &b"hello"[..])
        );
        assert!(e[2].3.is_empty());
        assert_eq!(
            (e[3].1, e[3].3.as_slice()),
            (0o120777, &b"/bin/busybox"[..])
        );
        assert_eq!((e[4].1, e[4].2), (0o020600, (5, 1)));
        assert!(CpioWriter::new(Vec::new()).file("a\0b", 0, b"").is_err());
    }

    /// Cross-check against GNU cpio when the host has it.
    #[test]
    fn cpio_readable_by_gnu_cpio() {
        if Command::new("cpio").arg("--version").output().is_err() {
            eprintln!("skipping: no cpio binary");
            return;
        }
        let mut w = CpioWriter::new(Vec::new());
        w.dir("d", 0o755).unwrap();
        w.file("d/odd-len-name.txt", 0o644, b"abc").unwrap();
        w.symlink("d/l", "odd-len-name.txt").unwrap();
        let data = w.finish().unwrap();
        let mut child = Command::new("cpio")
            .args(["-it", "--quiet"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&data).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .collect::<Vec<_>>(),
            ["d", "d/odd-len-name.txt", "d/l"]
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("abc"), "'abc'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        // Round-trip through a real shell.
        let args = ["a b", "it's", "$HOME", "`id`", "x\ny", "\\", "\"q\""];
        let script = format!("printf '%s\\0' {}", args.map(shell_quote).join(" "));
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        let got: Vec<&str> = std::str::from_utf8(&out.stdout)
            .unwrap()
            .split_terminator('\0')
            .collect();
        assert_eq!(got, args);
    }

    #[test]
    fn paths() {
        assert_eq!(archive_name("/a//b/./c").unwrap(), "a/b/c");
        assert!(archive_name("a/b").is_err());
        assert!(archive_name("/a/../b").is_err());
        assert!(archive_name("/").is_err());
    }

    #[test]
    fn command_script_quotes_and_rejects_nul() {
        let mut b = InitramfsBuilder::new();
        b.command(["echo", "a'b", "$x"])
            .env("FOO", "1 2")
            .unset("BAR");
        let s = b.command_script().unwrap();
        assert!(s.contains("export FOO='1 2'\nunset BAR\n"), "{s}");
        assert!(s.contains("p='echo'\n"), "{s}");
        assert!(s.ends_with("exec \"$p\" 'a'\\''b' '$x'\n"), "{s}");
        b.command(["a\0b"]);
        assert!(matches!(
            b.command_script(),
            Err(GuestError::InvalidArgument(_))
        ));
        let mut b = InitramfsBuilder::new();
        b.env("1BAD", "x");
        assert!(b.command_script().is_err());
    }

    #[test]
    fn initramfs_layout() {
        if !Path::new("/bin/busybox").is_file() {
            eprintln!("skipping: no /bin/busybox");
            return;
        }
        let mut b = InitramfsBuilder::new();
        b.shell("echo hi")
            .add_bytes("/opt/x/data", b"xyz".to_vec(), 0o600)
            .unwrap();
        let data = b.build().unwrap();
        let e = parse_cpio(&data);
        let names: Vec<&str> = e.iter().map(|x| x.0.as_str()).collect();
        for must in [
            "init",
            "bin/busybox",
            "bin/sh",
            "sbin/poweroff",
            "dev/console",
            "vstrace/cmd",
            "opt",
            "opt/x",
            "opt/x/data",
        ] {
            assert!(names.contains(&must), "{must} missing");
        }
        // Every entry's parent comes before it.
        for (i, n) in names.iter().enumerate() {
            if let Some((parent, _)) = n.rsplit_once('/') {
                let pi = names.iter().position(|x| *x == parent).expect(parent);
                assert!(pi < i, "{parent} after {n}");
            }
        }
        let init = &e.iter().find(|x| x.0 == "init").unwrap().3;
        let init = String::from_utf8_lossy(init);
        assert!(init.contains("poweroff -f") && init.contains(EXIT_MARKER));
        // Deterministic: same inputs, same bytes.
        assert_eq!(b.build().unwrap(), data);
    }

    #[test]
    fn strace_dependencies() {
        let strace = Path::new("/usr/bin/strace");
        if !strace.is_file() {
            eprintln!("skipping: no strace");
            return;
        }
        let deps = resolve_dependencies(strace).unwrap();
        let guest: Vec<&str> = deps.iter().map(|d| d.0.as_str()).collect();
        assert_eq!(guest[0], "/lib64/ld-linux-x86-64.so.2");
        assert!(guest.iter().any(|g| g.ends_with("/libc.so.6")), "{guest:?}");
        assert!(
            guest.iter().any(|g| g.ends_with("/libunwind-ptrace.so.0")),
            "{guest:?}"
        );
        // Compare with ldd's view when available.
        if let Ok(out) = Command::new("ldd").arg(strace).output() {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some((name, _)) = line.trim().split_once(" => ") {
                    assert!(
                        guest.iter().any(|g| g.ends_with(&format!("/{name}"))),
                        "{name} missing"
                    );
                }
            }
        }
        let mut b = InitramfsBuilder::new();
        let added = b.add_dynamic_binary(strace, "/usr/bin/strace").unwrap();
        assert_eq!(added.len(), deps.len() + 1);
        // A static binary has no dependencies.
        if Path::new("/bin/busybox").is_file() {
            assert!(resolve_dependencies(Path::new("/bin/busybox"))
                .unwrap()
                .is_empty());
        }
    }
}
