//! Plugin arguments (`-plugin lib.so,config=PATH,engine=off`) and the
//! debug environment variables.

/// Parsed plugin arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Args {
    /// `config=PATH`: JSON `vstrace_engine::EngineConfig`; defaults when absent.
    pub config: Option<String>,
    /// `engine=off`: run the event source alone (debugging, overhead
    /// measurements).
    pub no_engine: bool,
    /// `machine=q35|pc` and `ram_mib=N`: the guest's RAM layout, which
    /// bounds physical reads (see `phys.rs`); the launcher passes both.
    pub machine: Option<String>,
    /// `ram_mib=N`: the guest's RAM size in MiB (with `machine=`).
    pub ram_mib: Option<u64>,
    /// `status=PATH`: where to append the typed status lines for the
    /// launcher (`vstrace_launch::status`); without it they go to stderr
    /// as text.
    pub status: Option<String>,
    /// `listen=unix:PATH|tcp:HOST:PORT`: start dormant and wait for
    /// `vstrace attach --plugin` (see `listen.rs`); no engine until then.
    pub listen: Option<String>,
    /// `allow-remote=on`: let `listen=tcp:` take a non-loopback address.
    pub allow_remote: bool,
    /// `profile=scan`: a Linux configuration without a kernel profile
    /// gets one from guest memory at the first system call return.
    pub profile_scan: bool,
}

/// Error in the plugin arguments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// A key this plugin does not know.
    #[error(
        "unknown plugin argument {0:?} (expected config=PATH, engine=on|off, machine=q35|pc, ram_mib=N, status=PATH, listen=unix:PATH|tcp:HOST:PORT, allow-remote=on|off, profile=scan)"
    )]
    Unknown(String),
    /// A known key with a value it cannot take.
    #[error("bad value in plugin argument {0:?}")]
    BadValue(String),
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "on" | "yes" | "true" | "1" => Some(true),
        "off" | "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Parses QEMU's `key=value` plugin arguments.
pub fn parse<'a>(argv: impl IntoIterator<Item = &'a str>) -> Result<Args, ArgsError> {
    let mut a = Args::default();
    for arg in argv {
        match arg.split_once('=') {
            Some(("config", p)) if !p.is_empty() => a.config = Some(p.to_string()),
            Some(("engine", v)) => {
                a.no_engine = !parse_bool(v).ok_or_else(|| ArgsError::BadValue(arg.into()))?
            }
            Some(("config", _)) => return Err(ArgsError::BadValue(arg.into())),
            Some((k, p)) if k == vstrace_launch::status::STATUS_ARG => {
                if p.is_empty() {
                    return Err(ArgsError::BadValue(arg.into()));
                }
                a.status = Some(p.to_string())
            }
            Some(("machine", m)) if !m.is_empty() => a.machine = Some(m.to_string()),
            Some(("listen", l)) if !l.is_empty() => a.listen = Some(l.to_string()),
            Some(("profile", "scan")) => a.profile_scan = true,
            Some(("allow-remote", v)) => {
                a.allow_remote = parse_bool(v).ok_or_else(|| ArgsError::BadValue(arg.into()))?
            }
            Some(("ram_mib", v)) => {
                a.ram_mib = Some(v.parse().map_err(|_| ArgsError::BadValue(arg.into()))?)
            }
            _ => return Err(ArgsError::Unknown(arg.into())),
        }
    }
    Ok(a)
}

/// `VSTRACE_PLUGIN_DEBUG`: 1 prints every event and a summary at exit.
pub fn debug_enabled(v: Option<&str>) -> bool {
    matches!(v, Some(s) if !s.is_empty() && s != "0")
}

/// `VSTRACE_PLUGIN_ENGINE=off`: the same as the `engine=off` argument, for
/// launchers that do not let one add plugin arguments (the benchmark
/// measures the event source alone through `vstrace run`).
pub fn engine_off(v: Option<&str>) -> bool {
    v.and_then(parse_bool) == Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_args() {
        assert_eq!(parse([]).unwrap(), Args::default());
        let r = parse(["machine=q35", "ram_mib=512"]).unwrap();
        assert_eq!((r.machine.as_deref(), r.ram_mib), (Some("q35"), Some(512)));
        assert!(parse(["ram_mib=lots"]).is_err());
        let s = parse(["status=/tmp/s"]).unwrap();
        assert_eq!(s.status.as_deref(), Some("/tmp/s"));
        assert!(parse(["status="]).is_err());
        let l = parse(["listen=unix:/run/v.sock", "allow-remote=on"]).unwrap();
        assert_eq!(l.listen.as_deref(), Some("unix:/run/v.sock"));
        assert!(l.allow_remote);
        assert!(parse(["listen="]).is_err());
        assert!(parse(["profile=scan"]).unwrap().profile_scan);
        assert!(parse(["profile=maybe"]).is_err());
        assert!(parse(["allow-remote=maybe"]).is_err());
        let a = parse(["config=/tmp/c.json", "engine=off"]).unwrap();
        assert_eq!(a.config.as_deref(), Some("/tmp/c.json"));
        assert!(a.no_engine);
        assert!(!parse(["engine=on"]).unwrap().no_engine);
        // Paths may contain '='.
        assert_eq!(
            parse(["config=/a=b"]).unwrap().config.as_deref(),
            Some("/a=b")
        );
    }

    #[test]
    fn rejects_unknown_and_bad() {
        assert_eq!(parse(["foo=1"]), Err(ArgsError::Unknown("foo=1".into())));
        assert_eq!(parse(["config"]), Err(ArgsError::Unknown("config".into())));
        assert_eq!(
            parse(["config="]),
            Err(ArgsError::BadValue("config=".into()))
        );
        assert_eq!(
            parse(["engine=maybe"]),
            Err(ArgsError::BadValue("engine=maybe".into()))
        );
    }

    #[test]
    fn engine_off_from_the_environment() {
        assert!(!engine_off(None));
        assert!(!engine_off(Some("on")));
        assert!(!engine_off(Some("bogus")));
        assert!(engine_off(Some("off")));
        assert!(engine_off(Some("0")));
    }

    #[test]
    fn debug_flag() {
        assert!(!debug_enabled(None));
        assert!(!debug_enabled(Some("")));
        assert!(!debug_enabled(Some("0")));
        assert!(debug_enabled(Some("1")));
    }
}
