//! The tracing options every event source shares (`run`, `attach`):
//! filters, output formats and modification rules, strace style, and
//! their translation into the engine's configuration. strace's output
//! options, shared with `replay`, are in [`strace`].

pub mod diag;
pub mod strace;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{ArgAction, Args};
use vstrace_core::NameOptions;
use vstrace_engine::output::OutputOptions;
use vstrace_engine::{EngineConfig, Format};

pub use strace::{parse_exprs, StraceOpts};

#[derive(Args, Debug, Clone)]
pub struct TraceArgs {
    /// Guest OS: linux or windows.
    #[arg(long, default_value = "linux", value_parser = ["linux", "windows"])]
    pub os: String,
    /// Windows guests: version for service numbers (win10-22h2, 19045,
    /// win7-sp1...); default: read from the guest's KUSER_SHARED_DATA.
    #[arg(long = "windows-version", value_name = "VERSION")]
    pub windows_version: Option<String>,
    /// Windows x86 guests: the KPCR address (hex), default 0xffdff000.
    #[arg(long = "windows-kpcr32", value_name = "ADDR", value_parser = parse_hex)]
    pub windows_kpcr32: Option<u64>,
    /// Windows guests: kernel offsets from a Volatility 3 symbol table
    /// (ISF: FILE.json, .json.xz or .json.gz) instead of the guest's code.
    #[arg(long = "windows-profile", value_name = "FILE")]
    pub windows_profile: Option<PathBuf>,
    /// Linux guests: kernel offsets and symbols from a Volatility 3 symbol
    /// table (ISF, as dwarf2json writes: FILE.json, .json.xz or .json.gz),
    /// for kernels without BTF; it takes the place of the kernel's BTF.
    #[arg(long = "linux-profile", value_name = "FILE")]
    pub linux_profile: Option<PathBuf>,
    /// Trace only this process (repeatable); the whole guest is watched.
    #[arg(short = 'p', value_name = "PID")]
    pub pids: Vec<u32>,
    /// Trace only processes with this name (repeatable; comm changes at exec).
    #[arg(long = "comm", value_name = "NAME")]
    pub comms: Vec<String>,
    /// With -p: also trace the children the traced processes fork
    /// (without -p the command's children are always traced). -ff with
    /// -o FILE: one file per process, FILE.PID.
    #[arg(short = 'f', long = "follow-forks", action = ArgAction::Count)]
    pub follow_forks: u8,
    /// Qualifying expression, strace style: trace=, status=, signal=,
    /// quiet=, abbrev=, verbose=, raw=, read=, write=, inject=, fault= (a bare SET is
    /// trace=SET).
    // A value starting with `-` is the expression (`-e -1`: strace's
    // getopt takes the next word whatever it is, and says the call is
    // invalid).
    #[arg(short = 'e', value_name = "EXPR", allow_hyphen_values = true)]
    pub expr: Vec<String>,
    /// Trace only these calls (= -e trace=SET).
    #[arg(long = "trace", value_name = "SET")]
    pub trace_long: Vec<String>,
    /// Fault injection, strace's `--fault=SET[:error=E][:when=EXPR]` (= -e
    /// fault=).
    #[arg(long = "fault", value_name = "SPEC")]
    pub fault_long: Vec<String>,
    /// Write the trace to FILE instead of stderr.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also record every event and the guest memory read into FILE, for
    /// `vstrace replay FILE`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Count time, calls and errors per syscall and print a summary.
    #[arg(short = 'c', long = "summary-only")]
    pub summary: bool,
    /// Maximum string size to print.
    #[arg(
        short = 's',
        long = "string-limit",
        value_name = "STRSIZE",
        default_value_t = 32
    )]
    pub strsize: usize,
    /// JSON Lines output: one merged record per call.
    #[arg(long)]
    pub json: bool,
    /// Fault injection, strace style: SET:error=ENOENT|retval=N[:poke_enter=@argN=HEX,...][:poke_exit=...][:delay_enter=T][:delay_exit=T][:when=FIRST[..LAST][+STEP]].
    #[arg(long, value_name = "SPEC")]
    pub inject: Vec<String>,
    /// Rewrite a path argument: FROM=TO.
    #[arg(long = "rewrite-path", value_name = "FROM=TO")]
    pub rewrite_path: Vec<String>,
    /// strace's output options.
    #[command(flatten)]
    pub strace: StraceOpts,
    /// Python hooks file (repeatable): its enter_<Name>/exit_<Name>,
    /// enter_any/exit_any functions run on those calls (see the README).
    #[arg(long = "hooks", value_name = "FILE.py")]
    pub hooks: Vec<PathBuf>,
    /// Print paths of fd arguments (-y); -yy adds socket and device
    /// details (read from the calling task's file table).
    #[arg(short = 'y', action = clap::ArgAction::Count)]
    pub decode_fds_level: u8,
    /// What to print for fds: path, socket, dev, pidfd, all, none
    /// (without a value: path, as strace).
    #[arg(long = "decode-fds", value_name = "SET", num_args = 0..=1,
          require_equals = true, default_missing_value = "path")]
    pub decode_fds: Option<String>,
    /// Print the command name after pids (-Y, --decode-pids=comm).
    #[arg(short = 'Y')]
    pub decode_pids_comm: bool,
    /// What to print for pids: comm, pidns (the guest's initial-namespace
    /// number of a pid seen under another), all, none.
    #[arg(long = "decode-pids", value_name = "SET")]
    pub decode_pids: Option<String>,
    /// strace's older spelling of `--decode-pids=pidns`.
    #[arg(long = "pidns-translation")]
    pub pidns_translation: bool,
    /// Trace only calls that access PATH (a path argument, or an fd
    /// argument naming it); repeatable.
    #[arg(short = 'P', long = "trace-path", value_name = "PATH")]
    pub trace_paths: Vec<String>,
    /// Show who made each call: the module and function of its user
    /// return address (JSON: `caller {ip, module, offset, symbol}`).
    #[arg(long)]
    pub caller: bool,
    /// Print the user stack of each call, as strace -k does (64-bit
    /// Linux processes; JSON: `stack [{ip, module, offset, symbol,
    /// file_offset}]`).
    #[arg(short = 'k', long = "stack-trace", visible_alias = "stack-traces")]
    pub stack_trace: bool,
    /// With -k: a host directory holding copies of guest files (by guest
    /// path under DIR, or by file name) whose symbols and unwind tables
    /// are read when their build id matches; the guest path itself is
    /// tried on the host first. Repeatable.
    #[arg(long = "symbol-dir", value_name = "DIR")]
    pub symbol_dirs: Vec<PathBuf>,
}

impl TraceArgs {
    /// `-o FILE` as an absolute path (the engine may run in another
    /// process with another working directory).
    /// `-o |COMMAND` / `-o !COMMAND` (strace's pipe output) is kept as is.
    pub fn output_path(&self) -> Result<Option<PathBuf>> {
        self.output
            .as_ref()
            .map(|p| match is_pipe(p) {
                true => Ok(p.clone()),
                false => std::path::absolute(p).with_context(|| format!("-o {}", p.display())),
            })
            .transpose()
    }

    /// Whether `-o` pipes the trace into a command (`-o |COMMAND`).
    pub fn output_is_pipe(&self) -> bool {
        self.output.as_deref().is_some_and(is_pipe)
    }

    /// Whether the user picked processes (`-p`, `--comm`): the whole guest
    /// is then watched.
    pub fn selects_processes(&self) -> bool {
        !self.pids.is_empty() || !self.comms.is_empty()
    }

    /// The engine configuration these options ask for; the caller fills in
    /// the source-specific fields (OS details, profile, scope).
    pub fn engine_config(&self, output: Option<String>) -> Result<EngineConfig> {
        self.strace.refuse_env(
            "vstrace starts no command here: it traces a guest already running its own",
        )?;
        self.engine_config_for_command(output)
    }

    /// [`Self::engine_config`] for `vstrace run`, which starts the guest
    /// command and so takes `-E` (the caller sets the environment).
    pub fn engine_config_for_command(&self, output: Option<String>) -> Result<EngineConfig> {
        let mut exprs = all_exprs(&self.expr, &self.trace_long);
        exprs.extend(self.fault_long.iter().map(|f| format!("fault={f}")));
        let x = parse_exprs(&exprs)?;
        let mut display = OutputOptions::default();
        self.strace
            .apply(&x, self.follow_forks, self.output.is_some(), &mut display)?;
        let mut inject = self.inject.clone();
        inject.extend(x.inject);
        let mut cfg = EngineConfig {
            os: self.os.clone(),
            windows_version: self.windows_version.clone(),
            windows_kpcr32: self.windows_kpcr32,
            output,
            format: if self.json {
                Format::Json
            } else {
                Format::Text
            },
            // -C is -c with the records.
            summary: self.summary || display.summary.with_records,
            strsize: self.strsize,
            trace: x.trace,
            inject,
            rewrite_path: self.rewrite_path.clone(),
            pids: self.pids.clone(),
            comms: self.comms.clone(),
            follow_forks: self.follow_forks > 0,
            record: record_path(self.record.as_deref())?,
            display,
            python_hooks: crate::python::hooks_paths(&self.hooks)?,
            names: self.names()?,
            trace_fds: trace_fds(&self.expr)?,
            trace_paths: self.trace_paths.clone(),
            caller: self.caller,
            stack_trace: self.stack_trace,
            symbol_dirs: self
                .symbol_dirs
                .iter()
                .map(|d| std::path::absolute(d).map(|p| p.display().to_string()))
                .collect::<std::io::Result<_>>()
                .context("--symbol-dir")?,
            ..EngineConfig::default()
        };
        if let Some(p) = &self.windows_profile {
            vstrace_layers::set_windows_profile(&mut cfg, p)?;
        }
        if let Some(p) = &self.linux_profile {
            if self.os != "linux" {
                anyhow::bail!("--linux-profile is for Linux guests: drop it or --os windows");
            }
            let prof = vstrace_linux::profile::isf::load(p)?;
            vstrace_layers::set_linux_profile(&mut cfg, &prof)?;
        }
        Ok(cfg)
    }
}

/// Whether an output names a command to pipe into (`|CMD`, `!CMD`).
pub fn is_pipe(p: &Path) -> bool {
    p.to_str().is_some_and(vstrace_engine::sink::is_pipe)
}

/// `-e` expressions followed by `--trace=SET` ones (as `trace=SET`).
pub(crate) fn all_exprs(e: &[String], trace_long: &[String]) -> Vec<String> {
    e.iter()
        .cloned()
        .chain(trace_long.iter().map(|t| format!("trace={t}")))
        .collect()
}

impl TraceArgs {
    /// `-y`/`-yy`/`--decode-fds=` and `-Y`/`--decode-pids=` as the
    /// engine's [`NameOptions`] (the long forms win, as the last given in
    /// strace).
    pub fn names(&self) -> Result<NameOptions> {
        let mut n = name_options(
            self.decode_fds_level,
            self.decode_fds.as_deref(),
            self.decode_pids_comm,
            self.decode_pids.as_deref(),
            &self.expr,
        )?;
        n.pid_ns |= self.pidns_translation;
        Ok(n)
    }
}

/// `-y` given `level` times, `--decode-fds=`, `-Y`, `--decode-pids=` and
/// the `-e decode-fds=/decode-pids=` of `expr` as the engine's
/// [`NameOptions`] (the long forms win, as the last given in strace);
/// shared by live runs and replay.
pub(crate) fn name_options(
    level: u8,
    decode_fds: Option<&str>,
    pids_comm: bool,
    decode_pids: Option<&str>,
    expr: &[String],
) -> Result<NameOptions> {
    let mut n = NameOptions {
        fd_path: level >= 1,
        fd_socket: level >= 2,
        fd_dev: level >= 2,
        fd_pidfd: level >= 2,
        pid_comm: pids_comm,
        pid_ns: false,
    };
    // `-e decode-fds=SET` is the same as `--decode-fds=SET`.
    let from_e = |keys: &[&str]| {
        expr.iter()
            .rev()
            .filter_map(|e| e.split_once('='))
            .find(|(k, _)| keys.contains(k))
            .map(|(_, v)| v.to_string())
    };
    let decode_fds =
        from_e(&["decode-fds", "decode-fd"]).or_else(|| decode_fds.map(str::to_string));
    let decode_pids =
        from_e(&["decode-pids", "decode-pid"]).or_else(|| decode_pids.map(str::to_string));
    if let Some(set) = &decode_fds {
        let (p, ns, c) = (n.pid_comm, n.pid_ns, NameOptions::default());
        n = NameOptions {
            pid_comm: p,
            pid_ns: ns,
            ..c
        };
        for w in set.split(',') {
            match w {
                "path" => n.fd_path = true,
                "socket" => n.fd_socket = true,
                "dev" => n.fd_dev = true,
                "pidfd" => n.fd_pidfd = true,
                "all" => (n.fd_path, n.fd_socket, n.fd_dev, n.fd_pidfd) = (true, true, true, true),
                "none" => {}
                _ => {
                    bail!("--decode-fds={set}: unknown {w:?} (path, socket, dev, pidfd, all, none)")
                }
            }
        }
    }
    if let Some(set) = &decode_pids {
        n.pid_comm = false;
        for w in set.split(',') {
            match w {
                "comm" => n.pid_comm = true,
                // Outside the guest, "strace's PID NS" is the guest's
                // initial namespace (the numbers vstrace's [pid N] shows).
                "pidns" => n.pid_ns = true,
                "all" => (n.pid_comm, n.pid_ns) = (true, true),
                "none" => {}
                _ => bail!("--decode-pids={set}: unknown {w:?} (comm, pidns, all, none)"),
            }
        }
    }
    Ok(n)
}

/// The fds of `-e trace-fds=` (the last one wins; `all` is no filter).
pub(crate) fn trace_fds(exprs: &[String]) -> Result<Vec<i64>> {
    let mut fds = Vec::new();
    for e in exprs {
        if let Some(("trace-fds" | "trace_fds" | "trace-fd" | "fd" | "fds", v)) = e.split_once('=')
        {
            fds.clear();
            if v == "all" {
                continue;
            }
            for f in v.split(',') {
                let n: i64 =
                    f.parse().ok().filter(|n| *n >= 0).with_context(|| {
                        format!("-e trace-fds={v}: {f:?} is not a file descriptor")
                    })?;
                fds.push(n);
            }
        }
    }
    Ok(fds)
}

fn parse_hex(s: &str) -> Result<u64, String> {
    let t = s.trim_start_matches("0x");
    u64::from_str_radix(t, 16).map_err(|e| format!("{s:?} is not a hex address: {e}"))
}

/// The absolute path of `--record FILE` (the engine may run in another
/// process, with another working directory), checked to be writable.
fn record_path(p: Option<&Path>) -> Result<Option<String>> {
    let Some(p) = p else { return Ok(None) };
    let abs = std::path::absolute(p).with_context(|| format!("--record {}", p.display()))?;
    std::fs::File::create(&abs)
        .with_context(|| format!("cannot write the recording to {}", abs.display()))?;
    Ok(Some(abs.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_expressions() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let t = |e: &[&str], l: &[&str]| parse_exprs(&all_exprs(&v(e), &v(l))).unwrap().trace;
        assert_eq!(t(&[], &[]), None);
        assert_eq!(
            t(&["trace=openat,close"], &[]).as_deref(),
            Some("openat,close")
        );
        assert_eq!(t(&["t=read", "write"], &[]).as_deref(), Some("write"));
        assert_eq!(t(&["t=read"], &["chdir"]).as_deref(), Some("chdir"));
        assert!(parse_exprs(&v(&["nosuch=x"])).is_err());
        let x = parse_exprs(&v(&["fault=open", "inject=read:retval=1"])).unwrap();
        assert_eq!(x.inject, ["open:error=ENOSYS", "read:retval=1"]);
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        t: TraceArgs,
    }

    fn parse(args: &[&str]) -> TraceArgs {
        use clap::Parser;
        Cli::try_parse_from(std::iter::once("vstrace").chain(args.iter().copied()))
            .unwrap()
            .t
    }

    #[test]
    fn stack_trace_options() {
        for k in ["-k", "--stack-trace", "--stack-traces"] {
            let a = parse(&[k, "--symbol-dir", "rel/dir"]);
            let cfg = a.engine_config(None).unwrap();
            assert!(cfg.stack_trace, "{k}");
            assert!(
                cfg.symbol_dirs[0].ends_with("/rel/dir"),
                "{:?}",
                cfg.symbol_dirs
            );
        }
        assert!(!parse(&[]).engine_config(None).unwrap().stack_trace);
    }

    #[test]
    fn fd_and_pid_name_options() {
        let n = parse(&["-y"]).names().unwrap();
        assert!(n.fd_path && !n.fd_socket && !n.pid_comm);
        let n = parse(&["-yy", "-Y"]).names().unwrap();
        assert!(n.fd_path && n.fd_socket && n.fd_dev && n.pid_comm);
        let n = parse(&["-y", "--decode-fds=socket"]).names().unwrap();
        assert!(!n.fd_path && n.fd_socket);
        let n = parse(&["--decode-pids=comm"]).names().unwrap();
        assert!(n.pid_comm && !n.fds());
        assert!(parse(&["--decode-fds=paths"]).names().is_err());
        let n = parse(&["--decode-pids=pidns"]).names().unwrap();
        assert!(n.pid_ns && !n.pid_comm);
        let n = parse(&["--decode-pids=comm,pidns"]).names().unwrap();
        assert!(n.pid_ns && n.pid_comm);
        let n = parse(&["-Y", "--pidns-translation"]).names().unwrap();
        assert!(n.pid_ns && n.pid_comm);
        let n = parse(&["-e", "decode-pids=all"]).names().unwrap();
        assert!(n.pid_ns && n.pid_comm);
        assert!(parse(&["--decode-pids=pidnz"]).names().is_err());
        // strace: --decode-fds without a value is path.
        let n = parse(&["--decode-fds"]).names().unwrap();
        assert!(n.fd_path && !n.fd_socket);
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(trace_fds(&v(&["trace-fds=3,4"])).unwrap(), [3, 4]);
        assert!(trace_fds(&v(&["trace-fds=3", "trace-fds=all"]))
            .unwrap()
            .is_empty());
        assert!(trace_fds(&v(&["trace-fds=-1"])).is_err());
        let a = parse(&["-P", "/a", "--trace-path", "/b", "--caller"]);
        assert_eq!(a.trace_paths, ["/a", "/b"]);
        assert!(a.caller);
    }
}
