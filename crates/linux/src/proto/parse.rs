//! The parser of `data/prototypes.txt`: one line per call, its
//! arguments' decoders, its return kind and its filter classes.

use std::collections::HashMap;

use super::*;

/// A parsed prototype line.
#[derive(Debug, Clone)]
pub(super) struct Proto {
    pub(super) args: Vec<ArgDesc>,
    pub(super) ret: RetKind,
    pub(super) classes: Classes,
}

fn parse_ret(s: &str) -> Option<RetKind> {
    Some(match s {
        "long" => RetKind::Long,
        "ulong" => RetKind::Ulong,
        "fd" => RetKind::Fd,
        "pid" => RetKind::Pid,
        "uid" => RetKind::Uid,
        "gid" => RetKind::Gid,
        "hex" => RetKind::Hex,
        "octal" => RetKind::Octal,
        "none" => RetKind::None,
        _ => return None,
    })
}

fn parse_arg(s: &'static str) -> Result<ArgDesc, String> {
    let (name, rest) = s
        .split_once(':')
        .ok_or_else(|| format!("argument without type: {s:?}"))?;
    let (ty, dir) = match rest.split_once('@') {
        Some((t, d)) => (t, Some(d)),
        None => (rest, None),
    };
    let ty = ArgType::parse(ty).ok_or_else(|| format!("unknown type {ty:?}"))?;
    let dir = match dir {
        None => ty.default_dir(),
        Some("in") => Dir::In,
        Some("out") => Dir::Out,
        Some("inout") => Dir::InOut,
        Some(d) => return Err(format!("unknown direction {d:?}")),
    };
    Ok(ArgDesc {
        name: name.trim(),
        ty,
        dir,
    })
}

/// Parses one prototype line into (i386-only?, name, prototype).
pub(super) fn parse_proto_line(line: &'static str) -> Result<(bool, &'static str, Proto), String> {
    let (i386, line) = match line.strip_prefix("i386:") {
        Some(l) => (true, l),
        None => (false, line),
    };
    let open = line.find('(').ok_or("missing '('")?;
    let close = line.find(')').ok_or("missing ')'")?;
    // Parameter lists like buf_out(ret) nest one level: find the matching ')'.
    let mut depth = 0;
    let mut end = None;
    for (i, c) in line.char_indices().skip(open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let end = end.unwrap_or(close);
    let name = line[..open].trim();
    let inner = &line[open + 1..end];
    let mut args = Vec::new();
    if !inner.trim().is_empty() {
        for a in split_args(inner) {
            args.push(parse_arg(a.trim())?);
        }
    }
    if args.len() > 6 {
        return Err("more than 6 arguments".into());
    }
    for a in &args {
        if let Some(n) = a.ty.referenced_arg() {
            if n as usize >= args.len() {
                return Err(format!("{}: refers to missing arg{n}", a.name));
            }
        }
    }
    let mut ret = RetKind::Long;
    let mut classes = Classes::default();
    let mut rest = line[end + 1..].split_whitespace().peekable();
    while let Some(tok) = rest.next() {
        if tok == "->" {
            let r = rest.next().ok_or("missing return kind")?;
            ret = parse_ret(r).ok_or_else(|| format!("unknown return kind {r:?}"))?;
        } else if let Some(c) = Classes::from_name(tok).filter(|_| tok.starts_with('%')) {
            classes |= c;
        } else {
            return Err(format!("unexpected {tok:?}"));
        }
    }
    // Derived classes, as strace defines them.
    if args.iter().any(|a| a.ty == ArgType::Path) {
        classes |= Classes::FILE;
    }
    if ret == RetKind::Fd
        || args
            .iter()
            .any(|a| matches!(a.ty, ArgType::Fd | ArgType::Dirfd | ArgType::PipeFds))
    {
        classes |= Classes::DESC;
    }
    Ok((i386, name, Proto { args, ret, classes }))
}

/// Splits on commas that are not inside parentheses.
fn split_args(s: &'static str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Prototypes by name: (shared, i386-only variants).
pub(super) struct Protos {
    pub(super) shared: HashMap<&'static str, Proto>,
    pub(super) i386: HashMap<&'static str, Proto>,
    pub(super) errors: Vec<String>,
}

pub(super) fn parse_protos() -> Protos {
    let mut p = Protos {
        shared: HashMap::new(),
        i386: HashMap::new(),
        errors: Vec::new(),
    };
    for (lineno, line) in PROTOTYPES.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_proto_line(line) {
            Ok((i386, name, proto)) => {
                let map = if i386 { &mut p.i386 } else { &mut p.shared };
                if map.insert(name, proto).is_some() {
                    p.errors
                        .push(format!("prototypes.txt:{}: duplicate {name}", lineno + 1));
                }
            }
            Err(e) => p.errors.push(format!("prototypes.txt:{}: {e}", lineno + 1)),
        }
    }
    p
}
