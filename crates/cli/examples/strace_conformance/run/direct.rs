//! The direct invocations of the tracer ([`spec::Step::direct`]): strace's
//! diagnostics on a bad option, checked by running `vstrace run ARGS` on
//! the host. A bad option is refused while the command line is parsed,
//! before any guest: the run is given a QEMU and a kernel that do not
//! exist, so an option vstrace wrongly accepts ends in a "not found"
//! error (a failed step) rather than a guest boot.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::StepOutcome;
use crate::{compare, spec};

/// The name vstrace prints before its diagnostics (`$STRACE_EXE` of the
/// expected text).
const NAME: &str = "vstrace";

/// Longest a direct run may take: parsing fails at once; anything this
/// slow is a run that went further than it should.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What the tracer printed on stderr and whether it exited 0.
fn run_direct(vstrace: &std::path::Path, argv: &[String]) -> Result<(String, bool)> {
    let mut child = Command::new(vstrace)
        .arg("run")
        .args(argv)
        .env("VSTRACE_QEMU", "/nonexistent/vstrace-conformance/qemu")
        .env("VSTRACE_KERNEL", "/nonexistent/vstrace-conformance/bzImage")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", vstrace.display()))?;
    let mut pipe = child.stderr.take().context("the run's stderr")?;
    // Read on a thread, so that a run that hangs is still stopped.
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if start.elapsed() > TIMEOUT {
            // Our own child, by its handle.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let text = reader.join().unwrap_or_default();
    match status {
        Some(s) => Ok((text, s.success())),
        None => anyhow::bail!("vstrace run {} did not end in {TIMEOUT:?}", argv.join(" ")),
    }
}

/// Judges a direct step: the run must fail, and its stderr match.
pub(super) fn judge(vstrace: &std::path::Path, step: &spec::Step) -> Result<StepOutcome> {
    let mut o = StepOutcome {
        label: format!("vstrace run {}", step.options.join(" ")),
        ..Default::default()
    };
    let (text, ok) = match run_direct(vstrace, &step.options) {
        Ok(r) => r,
        Err(e) => {
            o.error = Some(format!("{e:#}"));
            return Ok(o);
        }
    };
    let actual: Vec<String> = text.lines().map(str::to_string).collect();
    if ok {
        o.error = Some(format!(
            "vstrace run {} exited 0, where the script wants a failure (stderr: {:?})",
            step.options.join(" "),
            actual.first().map(String::as_str).unwrap_or("")
        ));
        return Ok(o);
    }
    let spec::Want::Text(want) = &step.want else {
        o.error = Some(format!("a direct step wanting {:?}", step.want));
        return Ok(o);
    };
    let want = want.replace(crate::script::TRACER, NAME);
    let c = match step.matcher {
        // match_diff: the lines exactly (strace's diagnostics have no
        // addresses or pids to normalise).
        spec::Matcher::Diff => {
            let expected: Vec<String> = want.lines().map(str::to_string).collect();
            compare::compare(&expected, &actual)
        }
        spec::Matcher::Grep => {
            let patterns: Vec<&str> = want.lines().filter(|l| !l.is_empty()).collect();
            compare::grep(&patterns, &actual, &actual)
        }
        ref m => {
            o.error = Some(format!("a direct step compared with {m:?}"));
            return Ok(o);
        }
    };
    o.exact = c.exact;
    o.calls = c.calls;
    o.expected = c.expected;
    o.matched = c.matched;
    if !c.exact {
        o.diff = format!("# {} ({:?})\n{}", o.label, step.matcher, c.diff);
    }
    Ok(o)
}
