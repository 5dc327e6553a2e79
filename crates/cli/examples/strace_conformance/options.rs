//! strace's options, as a test passes them, mapped onto vstrace. The
//! programs run once in a guest with everything recorded; each test's
//! trace is then made by `vstrace replay` with the test's own options
//! passed through ([`Mapped::pass`], in canonical argv form). Only what a
//! replay cannot do is taken out: fault injection (a live run of its
//! own), `-f`/`-ff` (the comparer picks the program's process and, with
//! `-f`, its children) and `-o`. An option vstrace refuses makes the
//! replay fail; the comparer then lists it as unsupported (see
//! `run::refused_option`).

/// A test's options sorted by what vstrace does with them.
#[derive(Debug, Default, Clone)]
pub struct Mapped {
    /// `-e trace=` expressions, joined with `,` when several.
    pub trace: Vec<String>,
    /// `-s N` (also the recording's string size).
    pub strsize: Option<u32>,
    /// `-f`/`-ff`: children are part of the expected output.
    pub follow: bool,
    /// `-ff`/`--output-separately`: one log per process (no pid
    /// prefixes; a test reads one process's file).
    pub separate: bool,
    /// `-v`/`--no-abbrev`: structures in full. The recording must be made
    /// with it too: the decoders read more of the guest's memory then
    /// (a replay serves only the reads the live run made).
    pub verbose: bool,
    /// `-k`/`--stack-trace`: stacks printed. The recording must be made
    /// with it too (the live run reads the stacks' memory then), and the
    /// replay gets the host copies of the guest's programs for symbols.
    pub stack: bool,
    /// `-e inject=`/`--inject=` specs (need a live run of their own).
    pub inject: Vec<String>,
    /// `-E VAR=VAL`/`-E VAR` (`--env=`), in order: the environment `vstrace
    /// run` gives the command, so the guest's run of the program gets it
    /// (a replay cannot change what the program saw).
    pub env: Vec<String>,
    /// The options given to `vstrace replay`, as argv words.
    pub pass: Vec<String>,
    /// Options vstrace does not accept, as spelled by the test (words
    /// that are no option here; the replay adds the ones it refuses).
    pub unsupported: Vec<String>,
}

impl Mapped {
    /// Whether the step's output depends on every line of the stream,
    /// not only on its program's: relative timestamps (`-r`: the time
    /// since the previous line) and summaries (`-c`/`-C`: the counts of
    /// all traced processes). Such a program shares no guest run with
    /// programs of its name.
    pub fn stream_wide(&self) -> bool {
        self.pass.iter().any(|w| {
            matches!(
                w.as_str(),
                "-r" | "-c" | "-C" | "--summary" | "--summary-only"
            ) || w.starts_with("--relative-timestamps")
                || w.starts_with("--summary-wall-clock")
                || (w.starts_with('-')
                    && !w.starts_with("--")
                    && w.len() > 1
                    && w[1..].bytes().all(|c| c.is_ascii_alphabetic())
                    && w[1..].bytes().any(|c| matches!(c, b'r' | b'c' | b'C')))
        })
    }
}

/// The key an unsupported option is counted under in the totals
/// (`-a30` -> `-a`, `-e signal=none` -> `-e signal=`).
pub fn option_key(opt: &str) -> String {
    if let Some(rest) = opt.strip_prefix("-e ").or_else(|| opt.strip_prefix("-e")) {
        if let Some((k, _)) = rest.split_once('=') {
            return format!("-e {k}=");
        }
    }
    if let Some(rest) = opt.strip_prefix("--") {
        return match rest.split_once('=') {
            Some((k, _)) => format!("--{k}="),
            None => opt.to_string(),
        };
    }
    // -a30, -s12, -X raw, -P path, -I1, -E VAR=x, -u user, -O n: the flag.
    let b = opt.as_bytes();
    if b.len() > 2
        && b[0] == b'-'
        && matches!(
            b[1],
            b'a' | b'X' | b'P' | b'I' | b'E' | b'u' | b'O' | b'S' | b'U' | b'b'
        )
    {
        return opt[..2].to_string();
    }
    opt.split_whitespace().next().unwrap_or(opt).to_string()
}

/// The options vstrace refuses by design, with a one-line reason: they
/// have no meaning outside the guest (strace runs the command itself, as
/// a user, detaching, through seccomp, or traces a KVM host). `-I` is
/// not one: vstrace takes it (which signals end vstrace). A test using one is skipped with that
/// reason, not counted as an unsupported option.
pub fn outside_guest(opt: &str) -> bool {
    matches!(
        option_key(opt).as_str(),
        "-u" | "--user"
            | "--user="
            | "--seccomp-bpf"
            | "-D"
            | "-DD"
            | "-DDD"
            | "--daemonize"
            | "--daemonize="
            | "-b"
            | "--detach-on="
            | "--kvm="
            | "-e kvm="
    )
}

/// Short options of strace that take an argument (`-a N`, `-e EXPR`...).
const WITH_ARG: &[char] = &[
    'a', 'b', 'e', 'E', 'I', 'o', 'O', 'p', 'P', 's', 'S', 'u', 'U', 'X',
];

/// Maps the options of one test.
pub fn map(opts: &[String]) -> Mapped {
    let mut m = Mapped::default();
    let mut i = 0;
    while i < opts.len() {
        let o = opts[i].trim();
        i += 1;
        // Long options: --name=value or --name.
        if let Some(long) = o.strip_prefix("--") {
            let (k, v) = match long.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (long, None),
            };
            match (k, v) {
                ("trace", Some(v)) => {
                    m.trace.push(v);
                    m.pass.push(o.to_string());
                }
                ("string-limit", Some(v)) => {
                    m.strsize = v.parse().ok();
                    m.pass.push(o.to_string());
                }
                ("inject", Some(v)) => m.inject.push(v),
                ("env", Some(v)) => m.env.push(v),
                ("fault", Some(v)) => m.inject.push(fault(&v)),
                ("follow-forks", None) => m.follow = true,
                ("abbrev", Some(v)) => {
                    m.verbose |= unabbreviates(&v);
                    m.pass.push(o.to_string());
                }
                ("no-abbrev", None) => {
                    m.verbose = true;
                    m.pass.push(o.to_string());
                }
                ("output-separately", None) => m.separate = true,
                ("stack-trace" | "stack-traces", None) => {
                    m.stack = true;
                    m.pass.push(o.to_string());
                }
                // `-p`'s long form: the comparer picks the attached
                // programs' processes (see `run::attached_pids`).
                ("output" | "attach", Some(_)) => {}
                ("output" | "attach", None) => i += 1,
                _ => m.pass.push(o.to_string()),
            }
            continue;
        }
        let Some(flags) = o.strip_prefix('-') else {
            m.unsupported.push(o.to_string());
            continue;
        };
        // A cluster of short options (-qq, -fv), the last may take an
        // argument glued on or as the next word.
        for (pos, c) in flags.char_indices() {
            if WITH_ARG.contains(&c) {
                let glued = flags[pos + c.len_utf8()..].trim();
                let arg = if glued.is_empty() {
                    let a = opts.get(i).cloned().unwrap_or_default();
                    i += 1;
                    a
                } else {
                    glued.to_string()
                };
                apply_arg(&mut m, c, arg.trim());
                break;
            }
            match c {
                'f' => {
                    // A second -f (`-ff`, `-f -f`).
                    m.separate |= m.follow;
                    m.follow = true;
                }
                'v' => {
                    m.verbose = true;
                    m.pass.push("-v".into());
                }
                'k' => {
                    m.stack = true;
                    m.pass.push("-k".into());
                }
                _ => m.pass.push(format!("-{c}")),
            }
        }
    }
    m
}

/// Whether `-e abbrev=SET` leaves some call unabbreviated (`all` is the
/// default): such a call is printed in full, as with `-v`, so the
/// recording must read what `-v` reads.
fn unabbreviates(set: &str) -> bool {
    set != "all"
}

/// `-e fault=SET[:error=E]`: inject with ENOSYS unless an error is named.
fn fault(v: &str) -> String {
    if v.contains(":error=") {
        v.to_string()
    } else {
        format!("{v}:error=ENOSYS")
    }
}

/// Applies a short option that takes an argument.
fn apply_arg(m: &mut Mapped, c: char, arg: &str) {
    match c {
        's' => m.strsize = arg.parse().ok(),
        'e' => match arg.split_once('=') {
            None => m.trace.push(arg.to_string()),
            Some(("trace" | "t", v)) => m.trace.push(v.to_string()),
            Some(("inject", v)) => {
                m.inject.push(v.to_string());
                return;
            }
            Some(("fault", v)) => {
                m.inject.push(fault(v));
                return;
            }
            Some(("abbrev" | "a", v)) => m.verbose |= unabbreviates(v),
            Some(_) => {}
        },
        'E' => {
            m.env.push(arg.to_string());
            return;
        }
        'o' | 'p' => return,
        _ => {}
    }
    m.pass.push(format!("-{c}"));
    m.pass.push(arg.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn unabbreviated_calls_are_recorded_in_full() {
        assert!(map(&s(&["-e", "abbrev=!execve"])).verbose);
        assert!(map(&s(&["--abbrev=none", "--trace=execve"])).verbose);
        assert!(!map(&s(&["-e", "abbrev=all"])).verbose);
        assert!(map(&s(&["-e", "chdir", "-k"])).stack);
        assert!(map(&s(&["--trace=chdir", "--stack-trace"])).stack);
        assert!(!map(&s(&["-e", "chdir"])).stack);
        assert_eq!(map(&s(&["--abbrev=chdir"])).pass, ["--abbrev=chdir"]);
    }

    #[test]
    fn maps_test_options() {
        let m = map(&s(&[
            "-a30",
            "-e",
            "trace=foo",
            "-s12",
            "-vy",
            "-qq",
            "-Xraw",
            "-e trace=bar",
        ]));
        assert_eq!(m.trace, ["foo", "bar"]);
        assert_eq!(m.strsize, Some(12));
        assert!(m.verbose);
        assert_eq!(
            m.pass,
            [
                "-a",
                "30",
                "-e",
                "trace=foo",
                "-s",
                "12",
                "-v",
                "-y",
                "-q",
                "-q",
                "-X",
                "raw",
                "-e",
                "trace=bar"
            ]
        );
        let m = map(&s(&[
            "-einject=bpf:retval=42",
            "-etrace=bpf",
            "-f",
            "--trace-path=x",
            "-efault=open",
        ]));
        assert_eq!(m.inject, ["bpf:retval=42", "open:error=ENOSYS"]);
        assert_eq!(m.trace, ["bpf"]);
        assert!(m.follow);
        assert!(!m.verbose);
        assert_eq!(m.pass, ["-e", "trace=bpf", "--trace-path=x"]);
        assert_eq!(option_key("-a30"), "-a");
        assert_eq!(option_key("-e signal=none"), "-e signal=");
        assert_eq!(option_key("--trace-path=x"), "--trace-path=");
        assert_eq!(option_key("-yy"), "-yy");
        assert!(outside_guest("-u nobody") && outside_guest("-e kvm=vcpu"));
        assert!(outside_guest("--seccomp-bpf") && !outside_guest("-y"));
    }
}
