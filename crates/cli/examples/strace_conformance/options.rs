//! strace's options, as a test passes them, mapped onto what vstrace
//! accepts. The programs run once in a guest with everything recorded;
//! each test's trace is then made by `vstrace replay` with the test's
//! syscall filter (`-e trace=`) and string size (`-s`). Every other option
//! is listed as unsupported: the test still runs with the rest (an option
//! that only changes alignment, `-a`, cannot change the comparison, which
//! ignores alignment whitespace; the others usually make it fail, which is
//! what the measurement must show).

/// A test's options sorted by what vstrace does with them.
#[derive(Debug, Default, Clone)]
pub struct Mapped {
    /// `-e trace=` expressions, joined with `,` when several.
    pub trace: Vec<String>,
    /// `-s N`.
    pub strsize: Option<u32>,
    /// `-f`/`-ff`: children are part of the expected output.
    pub follow: bool,
    /// `-e inject=`/`--inject=` specs (need a live run of their own).
    pub inject: Vec<String>,
    /// Options vstrace does not accept, as spelled by the test
    /// (`-a30`, `-v`, `-e signal=none`...).
    pub unsupported: Vec<String>,
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

/// Short options of strace that take an argument (`-a N`, `-e EXPR`...).
const WITH_ARG: &[char] = &[
    'a', 'b', 'e', 'E', 'I', 'o', 'O', 'p', 'P', 's', 'S', 'u', 'U', 'X',
];

/// Maps the options of one test.
pub fn map(opts: &[String]) -> Mapped {
    let mut m = Mapped::default();
    let mut i = 0;
    while i < opts.len() {
        let o = opts[i].as_str();
        i += 1;
        // Long options: --name=value or --name value.
        if let Some(long) = o.strip_prefix("--") {
            let (k, v) = match long.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (long, None),
            };
            match (k, v) {
                ("trace", Some(v)) => m.trace.push(v),
                ("string-limit", Some(v)) => match v.parse() {
                    Ok(n) => m.strsize = Some(n),
                    Err(_) => m.unsupported.push(o.to_string()),
                },
                ("inject" | "fault", Some(v)) => m.inject.push(v),
                ("follow-forks", None) => m.follow = true,
                _ => m.unsupported.push(o.to_string()),
            }
            continue;
        }
        let Some(flags) = o.strip_prefix('-') else {
            m.unsupported.push(o.to_string());
            continue;
        };
        // A cluster of short options (-qq, -fv), the last may take an
        // argument glued on or as the next word.
        let mut chars = flags.char_indices();
        while let Some((pos, c)) = chars.next() {
            if WITH_ARG.contains(&c) {
                let glued = &flags[pos + c.len_utf8()..];
                let arg = if glued.is_empty() {
                    let a = opts.get(i).cloned().unwrap_or_default();
                    i += 1;
                    a
                } else {
                    glued.to_string()
                };
                apply_arg(&mut m, c, &arg);
                break;
            }
            match c {
                'f' => m.follow = true,
                _ => {
                    // Repeated flags (-qq, -yy, -xx) are one option.
                    let mut n = 1;
                    let rest = &flags[pos + 1..];
                    n += rest.chars().take_while(|&d| d == c).count();
                    for _ in 1..n {
                        chars.next();
                    }
                    m.unsupported.push(format!("-{}", c.to_string().repeat(n)));
                }
            }
        }
    }
    m
}

/// Applies a short option that takes an argument.
fn apply_arg(m: &mut Mapped, c: char, arg: &str) {
    let arg = arg.trim();
    match c {
        's' => match arg.parse() {
            Ok(n) => m.strsize = Some(n),
            Err(_) => m.unsupported.push(format!("-s {arg}")),
        },
        'e' => match arg.split_once('=') {
            None => m.trace.push(arg.to_string()),
            Some(("trace" | "t", v)) => m.trace.push(v.to_string()),
            Some(("inject" | "fault", v)) => m.inject.push(v.to_string()),
            Some(_) => m.unsupported.push(format!("-e {arg}")),
        },
        'a' => m.unsupported.push(format!("-a{arg}")),
        _ => m.unsupported.push(format!("-{c} {arg}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
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
        ]));
        assert_eq!(m.trace, ["foo"]);
        assert_eq!(m.strsize, Some(12));
        assert_eq!(m.unsupported, ["-a30", "-v", "-y", "-qq", "-X raw"]);
        let m = map(&s(&[
            "-einject=bpf:retval=42",
            "-etrace=bpf",
            "-f",
            "--trace-path=x",
        ]));
        assert_eq!(m.inject, ["bpf:retval=42"]);
        assert_eq!(m.trace, ["bpf"]);
        assert!(m.follow);
        assert_eq!(m.unsupported, ["--trace-path=x"]);
        assert_eq!(option_key("-a30"), "-a");
        assert_eq!(option_key("-e signal=none"), "-e signal=");
        assert_eq!(option_key("--trace-path=x"), "--trace-path=");
        assert_eq!(option_key("-yy"), "-yy");
    }
}
