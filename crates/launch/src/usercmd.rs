//! A user's own QEMU command line (`vstrace qemu -- qemu-system-x86_64
//! ARGS...`): what vstrace must know from it (the RAM layout for the
//! plugin's physical reads, the `-kernel` for process attribution, the
//! accelerator) and the arguments it adds (`-plugin`, `-accel tcg`). The
//! user's arguments are never changed, only appended to.
//!
//! QEMU options are read as QEMU reads them: `-opt` and `--opt` are the
//! same, every option but the few flags in [`FLAGS`] takes the next
//! argument as its value (so `-append "-m 4G"` is a kernel command line,
//! not a memory size), and `-machine`/`-m` may be given several times.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// QEMU options that take no value (QEMU 9.2 .. 11.1's `qemu-options.hx`,
/// x86 system emulation). Every other option takes one.
const FLAGS: &[&str] = &[
    "enable-kvm",
    "nographic",
    "no-reboot",
    "no-shutdown",
    "S",
    "s",
    "snapshot",
    "daemonize",
    "nodefaults",
    "no-user-config",
    "full-screen",
    "win2k-hack",
    "no-hpet",
    "no-acpi",
    "no-fd-bootchk",
    "usb",
    "curses",
    "alt-grab",
    "ctrl-grab",
    "semihosting",
    "singlestep",
    "one-insn-per-tb",
    "preconfig",
    "only-migratable",
    "enable-sync-profile",
    "async-teardown",
    "perfmap",
    "jitdump",
    "xen-attach",
    "sdl",
    "portrait",
    "no-quit",
    "version",
    "help",
    "h",
];

/// What a user's QEMU command line cannot be traced with, or says wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserCmdError {
    /// A hardware accelerator: TCG plugins only run under TCG.
    #[error(
        "{0}: QEMU plugins need TCG, which this command line does not use; \
         trace a KVM guest with `vstrace attach --gdb` (the gdbstub), or drop {0} \
         (vstrace adds -accel tcg)"
    )]
    HardwareAccel(String),
    /// The command line loads a plugin already (vstrace adds its own).
    #[error(
        "the command line already has -plugin {0}: `vstrace qemu` adds the vstrace plugin \
         itself; remove it (for a plugin waiting for `vstrace attach --plugin`, run QEMU \
         without vstrace qemu)"
    )]
    PluginPresent(String),
    /// An option that needs a value is the last argument.
    #[error("{0} needs a value")]
    MissingValue(String),
    /// A memory size QEMU would not take either.
    #[error("{option} {value:?}: {why}")]
    BadSize {
        /// The option (`-m`, `-object`).
        option: String,
        /// Its value as given.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// `-machine memory-backend=ID` names no `-object memory-backend-*`.
    #[error("-machine memory-backend={0}: no -object memory-backend-* with id={0}")]
    UnknownBackend(String),
}

/// What vstrace learns from a user's QEMU arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCommand {
    /// The machine family whose RAM layout the plugin uses (`q35` or
    /// `pc`); None for another machine (microvm, isapc): no physical reads.
    pub machine_family: Option<&'static str>,
    /// The machine type as given (`pc` when none: QEMU's x86 default).
    pub machine: String,
    /// Guest RAM in bytes.
    pub ram_bytes: u64,
    /// `-kernel PATH`, for the kernel profile.
    pub kernel: Option<PathBuf>,
    /// An accelerator was chosen (`-accel`, `-machine accel=`): vstrace
    /// then adds none.
    pub accel_given: bool,
    /// Things that work but deserve a word to the user.
    pub warnings: Vec<String>,
}

impl UserCommand {
    /// Guest RAM in whole MiB, as the plugin's `ram_mib=` takes it.
    pub fn ram_mib(&self) -> u64 {
        self.ram_bytes >> 20
    }

    /// The plugin arguments that describe the RAM layout (`machine=`,
    /// `ram_mib=`), empty when the machine's layout is unknown.
    pub fn ram_plugin_args(&self) -> Vec<(String, String)> {
        match self.machine_family {
            Some(f) => vec![
                ("machine".into(), f.into()),
                ("ram_mib".into(), self.ram_mib().to_string()),
            ],
            None => Vec::new(),
        }
    }

    /// The arguments vstrace appends: `-accel tcg` when no accelerator
    /// was chosen, and `-plugin SPEC`.
    pub fn added_args(&self, plugin_spec: String) -> Vec<String> {
        let mut a = Vec::new();
        if !self.accel_given {
            a.extend(["-accel".to_string(), "tcg".to_string()]);
        }
        a.extend(["-plugin".to_string(), plugin_spec]);
        a
    }
}

/// QEMU's default RAM when no `-m` is given: 128 MiB.
const DEFAULT_RAM: u64 = 128 << 20;

/// Parses a QEMU size (`qemu_strtosz_MiB`): a number, possibly with a
/// fraction, and an optional suffix B, K, M, G, T, P or E (either case);
/// without a suffix, `default_unit` bytes.
pub fn parse_size(s: &str, default_unit: u64) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    if num.is_empty() {
        return Err("not a size".into());
    }
    let unit: u64 = match suffix.to_ascii_uppercase().as_str() {
        "" => default_unit,
        "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        "P" | "PB" | "PIB" => 1 << 50,
        "E" | "EB" | "EIB" => 1 << 60,
        _ => return Err(format!("unknown size suffix {suffix:?}")),
    };
    let bytes = match num.split_once('.') {
        None => num
            .parse::<u64>()
            .map_err(|e| e.to_string())?
            .checked_mul(unit),
        Some((whole, frac)) => {
            let w: u64 = if whole.is_empty() {
                0
            } else {
                whole
                    .parse()
                    .map_err(|e: std::num::ParseIntError| e.to_string())?
            };
            let f: f64 = format!("0.{frac}")
                .parse()
                .map_err(|e: std::num::ParseFloatError| e.to_string())?;
            w.checked_mul(unit)
                .and_then(|b| b.checked_add((f * unit as f64) as u64))
        }
    };
    bytes.ok_or_else(|| "too large".into())
}

/// `key=value,...` options as QEMU writes them (`,,` is a literal comma);
/// a first item without `=` is returned under `implied`.
fn opts(value: &str, implied: &str) -> Vec<(String, String)> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                cur.push(',');
            } else {
                items.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    items.push(cur);
    items
        .into_iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(i, s)| match s.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None if i == 0 => (implied.to_string(), s),
            None => (s, "on".to_string()),
        })
        .collect()
}

/// Whether an accelerator list (`kvm:tcg`, `kvm`, `tcg`) may pick
/// something other than TCG.
fn hardware_accel(list: &str) -> bool {
    list.split(':')
        .any(|a| !a.is_empty() && a != "tcg" && a != "qtest")
}

/// A `-object` backend: its id and size, from either the `k=v` or the
/// JSON form.
fn memory_backend(value: &str) -> Result<Option<(String, u64)>, UserCmdError> {
    let bad = |why: String| UserCmdError::BadSize {
        option: "-object".into(),
        value: value.into(),
        why,
    };
    let (qom, id, size) = if value.trim_start().starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(value).map_err(|e| bad(e.to_string()))?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let size = match v.get("size") {
            Some(serde_json::Value::Number(n)) => n.as_u64().map(|n| n.to_string()),
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        (s("qom-type"), s("id"), size)
    } else {
        let o = opts(value, "qom-type");
        let get = |k: &str| o.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
        (get("qom-type"), get("id"), get("size"))
    };
    match (qom, id, size) {
        (Some(q), Some(id), Some(size)) if q.starts_with("memory-backend-") => {
            // A backend's size= defaults to bytes.
            let bytes = parse_size(&size, 1).map_err(bad)?;
            Ok(Some((id, bytes)))
        }
        _ => Ok(None),
    }
}

/// Reads a user's QEMU arguments (without the program name).
pub fn analyze<S: AsRef<str>>(args: &[S]) -> Result<UserCommand, UserCmdError> {
    let mut machine = String::from("pc");
    let mut machine_backend: Option<String> = None;
    let mut mem: Option<u64> = None;
    let mut kernel = None;
    let mut accel_given = false;
    let mut backends: BTreeMap<String, u64> = BTreeMap::new();
    let mut numa_memdevs: Vec<String> = Vec::new();
    let mut warnings = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_ref();
        i += 1;
        let Some(name) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            // A positional argument: the first disk image.
            continue;
        };
        if name.is_empty() {
            continue;
        }
        // `-opt=value` is not QEMU syntax; the option name is all of it.
        if FLAGS.contains(&name) {
            if name == "enable-kvm" {
                return Err(UserCmdError::HardwareAccel(arg.to_string()));
            }
            continue;
        }
        let Some(value) = args.get(i).map(AsRef::as_ref) else {
            return Err(UserCmdError::MissingValue(arg.to_string()));
        };
        i += 1;
        match name {
            "accel" => {
                let o = opts(value, "accel");
                let a = o
                    .iter()
                    .find(|(k, _)| k == "accel")
                    .map(|(_, v)| v.as_str());
                if hardware_accel(a.unwrap_or("")) {
                    return Err(UserCmdError::HardwareAccel(format!("{arg} {value}")));
                }
                accel_given = true;
            }
            "machine" | "M" => {
                for (k, v) in opts(value, "type") {
                    match k.as_str() {
                        "type" => machine = v,
                        "accel" => {
                            if hardware_accel(&v) {
                                return Err(UserCmdError::HardwareAccel(format!("{arg} {value}")));
                            }
                            accel_given = true;
                        }
                        "memory-backend" => machine_backend = Some(v),
                        _ => {}
                    }
                }
            }
            "m" => {
                for (k, v) in opts(value, "size") {
                    if k == "size" {
                        mem =
                            Some(
                                parse_size(&v, 1 << 20).map_err(|why| UserCmdError::BadSize {
                                    option: arg.to_string(),
                                    value: value.to_string(),
                                    why,
                                })?,
                            );
                    }
                }
            }
            "object" => {
                if let Some((id, size)) = memory_backend(value)? {
                    backends.insert(id, size);
                }
            }
            "numa" => {
                let o = opts(value, "type");
                if let Some((_, id)) = o.iter().find(|(k, _)| k == "memdev") {
                    numa_memdevs.push(id.clone());
                }
            }
            "kernel" => kernel = Some(PathBuf::from(value)),
            "plugin" => return Err(UserCmdError::PluginPresent(value.to_string())),
            "cpu" => {
                let o = opts(value, "model");
                let model = o
                    .iter()
                    .find(|(k, _)| k == "model")
                    .map(|(_, v)| v.as_str());
                let la57_off = o
                    .iter()
                    .any(|(k, v)| (k == "la57" && v == "off") || k == "-la57");
                if matches!(model, Some("max" | "host")) && !la57_off {
                    warnings.push(format!(
                        "vstrace: warning: {arg} {value} offers 5-level paging, which vstrace's \
                         page walker does not follow: add la57=off if arguments read as <unreadable>"
                    ));
                }
            }
            "readconfig" => warnings.push(format!(
                "vstrace: warning: {arg} {value}: options in a config file are not seen; \
                 the RAM map comes from the command line only"
            )),
            _ => {}
        }
    }
    let ram_bytes = match (&machine_backend, numa_memdevs.is_empty()) {
        (Some(id), _) => *backends
            .get(id)
            .ok_or_else(|| UserCmdError::UnknownBackend(id.clone()))?,
        (None, false) => numa_memdevs
            .iter()
            .map(|id| backends.get(id).copied().unwrap_or(0))
            .sum(),
        (None, true) => mem.unwrap_or(DEFAULT_RAM),
    };
    let machine_family = machine_family(&machine);
    if machine_family.is_none() {
        warnings.push(format!(
            "vstrace: warning: machine {machine:?}: its RAM layout is not known to vstrace \
             (q35 and pc are); reads of other address spaces (kernel page-table isolation) are off"
        ));
    }
    Ok(UserCommand {
        machine_family,
        machine,
        ram_bytes,
        kernel,
        accel_given,
        warnings,
    })
}

/// `q35` or `pc` for the machine types sharing their RAM layouts
/// (`pc-q35-10.0`, `pc-i440fx-9.2`, ...).
fn machine_family(machine: &str) -> Option<&'static str> {
    match machine {
        "q35" => Some("q35"),
        "pc" => Some("pc"),
        m if m.starts_with("pc-q35-") => Some("q35"),
        m if m.starts_with("pc-i440fx-") || m.starts_with("pc-") => Some("pc"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_qemu_reads_them() {
        assert_eq!(parse_size("512", 1 << 20), Ok(512 << 20));
        assert_eq!(parse_size("512M", 1 << 20), Ok(512 << 20));
        assert_eq!(parse_size("4G", 1 << 20), Ok(4 << 30));
        assert_eq!(parse_size("4g", 1 << 20), Ok(4 << 30));
        assert_eq!(parse_size("1.5G", 1 << 20), Ok(3 << 29));
        assert_eq!(parse_size("1024k", 1 << 20), Ok(1 << 20));
        assert_eq!(parse_size("65536", 1), Ok(65536));
        assert!(parse_size("lots", 1).is_err());
        assert!(parse_size("4X", 1).is_err());
        assert!(parse_size("99999999999E", 1).is_err());
    }

    #[test]
    fn memory_from_m_machine_and_backends() {
        let a = analyze(&["-m", "512M", "-kernel", "/k", "-append", "-m 4G"]).unwrap();
        assert_eq!((a.ram_mib(), a.machine_family), (512, Some("pc")));
        assert_eq!(a.kernel, Some(PathBuf::from("/k")));
        assert_eq!(analyze::<&str>(&[]).unwrap().ram_mib(), 128);
        let a = analyze(&["--m", "size=2G,slots=2,maxmem=8G", "-M", "q35"]).unwrap();
        assert_eq!((a.ram_mib(), a.machine_family), (2048, Some("q35")));
        let a = analyze(&[
            "-machine",
            "pc-q35-10.0,memory-backend=mem0",
            "-object",
            "memory-backend-memfd,id=mem0,size=1G,share=on",
            "-m",
            "1G",
        ])
        .unwrap();
        assert_eq!((a.ram_mib(), a.machine_family), (1024, Some("q35")));
        let a = analyze(&[
            "-object",
            r#"{"qom-type":"memory-backend-ram","id":"m0","size":1073741824}"#,
            "-object",
            "memory-backend-ram,id=m1,size=512M",
            "-numa",
            "node,memdev=m0",
            "-numa",
            "node,memdev=m1",
        ])
        .unwrap();
        assert_eq!(a.ram_mib(), 1536);
        assert_eq!(
            analyze(&["-M", "q35,memory-backend=nope"]),
            Err(UserCmdError::UnknownBackend("nope".into()))
        );
        let m = analyze(&["-M", "microvm"]).unwrap();
        assert!(m.machine_family.is_none() && m.ram_plugin_args().is_empty());
        assert!(matches!(
            analyze(&["-m", "many"]),
            Err(UserCmdError::BadSize { .. })
        ));
    }

    #[test]
    fn hardware_accelerators_and_plugins_are_refused() {
        for bad in [
            &["-enable-kvm"][..],
            &["-accel", "kvm"],
            &["--accel", "kvm,kernel-irqchip=on"],
            &["-machine", "q35,accel=kvm:tcg"],
            &["-M", "accel=hvf"],
        ] {
            assert!(
                matches!(analyze(bad), Err(UserCmdError::HardwareAccel(_))),
                "{bad:?}"
            );
        }
        let e = analyze(&["-accel", "kvm"]).unwrap_err().to_string();
        assert!(e.contains("vstrace attach") && !e.contains('\n'), "{e}");
        let t = analyze(&["-accel", "tcg,thread=multi"]).unwrap();
        assert!(t.accel_given);
        assert_eq!(t.added_args("p".into()), ["-plugin", "p"]);
        let n = analyze(&["-nographic"]).unwrap();
        assert_eq!(n.added_args("p".into()), ["-accel", "tcg", "-plugin", "p"]);
        assert!(matches!(
            analyze(&["-plugin", "x.so"]),
            Err(UserCmdError::PluginPresent(_))
        ));
        assert_eq!(
            analyze(&["-m"]),
            Err(UserCmdError::MissingValue("-m".into()))
        );
        // A value that looks like an option is a value.
        assert!(analyze(&["-append", "-enable-kvm"]).is_ok());
    }

    #[test]
    fn option_values_with_commas() {
        assert_eq!(
            opts("file=a,,b,if=virtio", "file"),
            vec![
                ("file".to_string(), "a,b".to_string()),
                ("if".into(), "virtio".into())
            ]
        );
        assert!(analyze(&["-cpu", "max"]).unwrap().warnings.len() == 1);
        assert!(analyze(&["-cpu", "max,la57=off"])
            .unwrap()
            .warnings
            .is_empty());
    }
}
