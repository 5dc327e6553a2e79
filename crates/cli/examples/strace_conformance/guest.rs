//! Running the test programs in guests under vstrace, many per guest.
//!
//! One `vstrace run --record` boots a guest whose shell script runs a batch
//! of programs one after another, each from its own `/w/NAME.dir` as
//! `../PROG` (as strace's suite does), stdin from /dev/null, with a
//! watchdog that kills it after [`PROG_TIMEOUT`] s (not busybox `timeout`:
//! its vfork loses vstrace's track of the process). The script
//! prints, on the guest's stdout (forwarded by `vstrace run`), for each
//! test: a begin marker, the exit status and the pid that exec'd the
//! program, then the program's stdout and stderr in base64 (byte-exact, no
//! newline ambiguity). The programs (selected by comm) are traced and
//! recorded without a syscall filter; each test's trace is then `vstrace
//! replay REC --comm PROG -s N -e trace=...`, its own options applied
//! after the fact, cut to the program's pid (and with `-f` its children).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

/// Seconds a program may run before the watchdog kills it.
pub const PROG_TIMEOUT: u32 = 60;

/// Most bytes of a program's stdout moved over the guest's console as
/// they are (about 300 KB/s under TCG); more is moved gzipped (busybox
/// `gzip`: strace's expected lines are repetitive, 20 to 100 times
/// smaller), up to [`MAX_GZ_STDOUT`].
pub const MAX_STDOUT: u64 = 2_000_000;

/// Most bytes of a program's stdout moved at all (gzipped); a test
/// printing more is skipped with its size.
pub const MAX_GZ_STDOUT: u64 = 256_000_000;

/// What the guest reported for one test.
#[derive(Debug, Clone, Default)]
pub struct ProgResult {
    /// Exit status as the guest shell saw it (137: killed by the timeout).
    pub rc: i32,
    /// The pid that exec'd the program.
    pub pid: u32,
    /// The program's stdout: the expected trace.
    pub stdout: Vec<u8>,
    /// The first 2000 bytes of its stderr (skip reasons).
    pub stderr: Vec<u8>,
    /// The size of its stdout when over [`MAX_GZ_STDOUT`] (not
    /// transferred).
    pub too_big: Option<u64>,
    /// The host's clock (seconds since the epoch) before and after its
    /// batch ran: what the strace-t*.test scripts bracket a run with.
    pub window: (u64, u64),
    /// The pids of the programs the job started in the background (see
    /// [`Job::attach`]), in its order.
    pub bg: Vec<u32>,
}

/// The host's clock in seconds since the epoch.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Sets the batch's clock window on each of its results.
fn with_window(
    mut results: BTreeMap<String, ProgResult>,
    w: (u64, u64),
) -> BTreeMap<String, ProgResult> {
    for r in results.values_mut() {
        r.window = w;
    }
    results
}

/// The window kept beside a batch's recording (`s0 s1`), for a replay of it.
fn read_window(dir: &Path) -> Option<(u64, u64)> {
    let t = std::fs::read_to_string(dir.join("window")).ok()?;
    let mut w = t.split_whitespace().map(|x| x.parse::<u64>().ok());
    Some((w.next()??, w.next()??))
}

/// One program run in a batch.
#[derive(Debug, Clone)]
pub struct Job {
    /// Test name (marker, work directory).
    pub test: String,
    /// Program file name (in the build's tests directory).
    pub prog: String,
    /// Program arguments.
    pub args: Vec<String>,
    /// Shell redirections for the program (`9>>/dev/full`).
    pub redirections: Vec<String>,
    /// `-s` the test wants (the recording must read at least that much).
    pub strsize: u32,
    /// `-f`: the test's trace includes the program's children.
    pub follow: bool,
    /// The test's output depends on every line of the replayed stream
    /// (`-r`, `-c`/`-C`): like `-f`, no other program of its name may
    /// share its guest run.
    pub stream_wide: bool,
    /// `-v`: the batch is recorded with `-v` (structures in full read
    /// more memory; a replay can only show what the recording read).
    pub verbose: bool,
    /// `-k`: the batch is recorded with `-k` (the live run reads the
    /// stacks' memory, which a replay's `-k` unwinds; a recording made
    /// without it has none) and the build's programs as `--symbol-dir`.
    pub stack: bool,
    /// `--inject` specs (strace's `-e inject=` syntax): the job shares a
    /// guest run only with jobs of the same specs, traced by comm
    /// (`--comm`), so that the faults reach only programs that ask for
    /// them.
    pub inject: Vec<String>,
    /// With `inject`: the test's `-e trace=` sets, which the live run
    /// traces alone (strace tampers only with the calls it traces: an
    /// `all:poke_enter=` must not write into the program's start-up).
    pub trace: Vec<String>,
    /// Programs of the build the program opens beside itself (see
    /// `spec::locked_files`): put in the guest with it.
    pub locks: Vec<String>,
    /// Commands run in the program's work directory before it starts
    /// (see `spec::Step::prep`).
    pub prep: Vec<Vec<String>>,
    /// Programs started in the background before it, for strace to
    /// attach to (`-p`), and the files of theirs that are the expected
    /// output. With such programs, `prog` may be empty: no command, only
    /// them traced.
    pub attach: crate::spec::Attach,
    /// Changes to the program's environment, in order: `VAR=VAL` exports,
    /// `VAR` unsets (the script's exports, then strace's `-E`, which
    /// `vstrace run` applies the same way).
    pub env: Vec<String>,
    /// `prog` is a command of the guest's path (`true`), not a file of
    /// the build (see `spec::Step::on_path`).
    pub on_path: bool,
    /// The suite's program (argv, `../PROG ARGS`) that runs first and
    /// execs the program (see `spec::Step::wrapper`).
    pub wrapper: Vec<String>,
}

impl Job {
    /// A run of `prog` with `args` and nothing else a test may ask for
    /// (plain runs: a program's own skip check, its output for a
    /// script's command substitution).
    pub fn plain(test: String, prog: String, args: Vec<String>) -> Job {
        Job {
            test,
            prog,
            args,
            redirections: Vec::new(),
            strsize: 32,
            follow: false,
            stream_wide: false,
            verbose: false,
            stack: false,
            inject: Vec::new(),
            trace: Vec::new(),
            locks: Vec::new(),
            prep: Vec::new(),
            attach: Default::default(),
            env: Vec::new(),
            on_path: false,
            wrapper: Vec::new(),
        }
    }

    /// See [`comms`].
    pub fn comms(&self) -> Vec<String> {
        comms(&self.prog, &self.attach)
    }

    /// Whether no other program of this job's comm may share its run
    /// (see [`Job::follow`], [`Job::stream_wide`]).
    fn own_comm(&self) -> bool {
        self.follow || self.stream_wide
    }

    /// The `-e trace=` sets the live run needs: the test's when it
    /// injects, none else (everything is recorded).
    fn live_trace(&self) -> Vec<String> {
        if self.inject.is_empty() {
            Vec::new()
        } else {
            self.trace.clone()
        }
    }
}

/// The names of the processes a run of `prog` (none if empty) with
/// background programs `attach` traces: its program's, and those of the
/// background programs strace attaches to.
pub fn comms(prog: &str, attach: &crate::spec::Attach) -> Vec<String> {
    let own = (!prog.is_empty()).then(|| comm_of(prog));
    let mut v: Vec<String> = own
        .into_iter()
        .chain(
            attach
                .jobs
                .iter()
                .filter(|b| b.traced)
                .filter_map(|b| b.traced_prog().map(comm_of)),
        )
        .collect();
    v.dedup();
    v
}

/// The name the guest kernel gives the program's process (15 bytes).
pub fn comm_of(prog: &str) -> String {
    prog.chars().take(15).collect()
}

/// Splits jobs into batches of at most `size` with the same `--inject`
/// specs (a batch's rules reach all its programs; vstrace counts `when=`
/// per thread, as strace does, so programs with the same specs can share
/// a guest) and the same `-s`, `-v` and `-k` (what the recording reads is what
/// a replay can show). A test's trace is replayed by its program's comm and cut to
/// its pid, so programs of one name share a guest unless one of them
/// follows its children (`-f`: their pids are not known in advance) or
/// prints what depends on the whole stream (`-r`, `-c`/`-C`).
pub fn batches(jobs: Vec<Job>, size: usize) -> Vec<Vec<Job>> {
    type Slot = (
        (Vec<String>, (bool, bool), Vec<String>),
        u32,
        BTreeSet<String>,
        Vec<Job>,
    );
    let mut out: Vec<Slot> = Vec::new();
    for j in jobs {
        let cs = j.comms();
        let fits = |(inject, s, follow_comms, v): &&mut Slot| {
            v.len() < size
                && inject.0 == j.inject
                && inject.2 == j.live_trace()
                && inject.1 == (j.verbose, j.stack)
                && *s == j.strsize
                && !cs.iter().any(|c| follow_comms.contains(c))
                && !(j.own_comm() && v.iter().any(|o| o.comms().iter().any(|c| cs.contains(c))))
        };
        match out.iter_mut().find(|slot| fits(slot)) {
            Some((_, _, follow_comms, v)) => {
                if j.own_comm() {
                    follow_comms.extend(cs);
                }
                v.push(j);
            }
            None => {
                let follow_comms = if j.own_comm() {
                    cs.into_iter().collect()
                } else {
                    BTreeSet::new()
                };
                out.push((
                    (j.inject.clone(), (j.verbose, j.stack), j.live_trace()),
                    j.strsize,
                    follow_comms,
                    vec![j],
                ));
            }
        }
    }
    out.into_iter().map(|(_, _, _, v)| v).collect()
}

/// Single-quotes a word for the guest shell.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The guest script of a batch. Each program runs as a test script runs
/// it under strace: its parent is a process named `strace` (a subshell
/// that renamed itself and waits for it), which is what `-Y` tests print
/// for their parent.
fn script(jobs: &[Job]) -> String {
    // The loopback interface up and devpts mounted, as on the hosts
    // strace's suite runs on (inet-cmsg, net-yy-inet6... connect to
    // 127.0.0.1 and ::1; ioctl_termios opens /dev/ptmx).
    let mut s = String::from(
        "mkdir -p /w\nifconfig lo 127.0.0.1 up 2>/dev/null || ip link set lo up 2>/dev/null\n\
         mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null\n",
    );
    for j in jobs {
        if !j.attach.jobs.is_empty() {
            s.push_str(&attach_script(j));
            continue;
        }
        let t = &j.test;
        let args: Vec<String> = j.args.iter().map(|a| q(a)).collect();
        // Applied in the subshell: the program inherits them, the batch's
        // other programs do not.
        let env: String = j
            .env
            .iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => format!("export {k}={}; ", q(v)),
                None => format!("unset {e}; "),
            })
            .collect();
        // A command of the guest's path is found where `vstrace run` finds
        // a command (launch's command script), before the environment
        // changes (strace's lookup on its own PATH, before -E applies).
        let (lookup, exe) = match j.on_path {
            true => (
                format!(
                    "x={p}; for d in /bin /sbin /usr/bin /usr/sbin; do \
                     [ -x $d/{p} ] && {{ x=$d/{p}; break; }}; done; ",
                    p = j.prog
                ),
                "'\"$x\"'".to_string(),
            ),
            false => (String::new(), format!("../{}", j.prog)),
        };
        // The program strace runs under execs the traced one (inside the
        // single quotes of `sh -c`: its words quoted there).
        let exe = match j.wrapper.is_empty() {
            true => exe,
            false => {
                let w: Vec<String> = j
                    .wrapper
                    .iter()
                    .map(|a| q(a).replace('\'', "'\\''"))
                    .collect();
                format!("{} {exe}", w.join(" "))
            }
        };
        let prep = prep_lines(j);
        s.push_str(&format!(
            "echo {begin}\nmkdir -p /w/{t}.dir && cd /w/{t}.dir\n{prep}rm -f /w/{t}.pid\n\
             ( printf strace > /proc/self/comm; {lookup}{env}\
             sh -c 'echo $$ > /w/{t}.pid; exec {exe} \"$@\" {redir}' sh {args}; exit $? ) \
             </dev/null >/w/{t}.out 2>/w/{t}.err &\n\
             p=$!\n( sleep {PROG_TIMEOUT}; kill -9 $(cat /w/{t}.pid) $p ) 2>/dev/null &\nw=$!\n\
             wait $p\nrc=$?\nkill $w 2>/dev/null\n{report}",
            begin = q(&format!("@@VSC-BEGIN {t}")),
            redir = j.redirections.join(" "),
            args = args.join(" "),
            report = report(t, ""),
        ));
    }
    s
}

/// The job's commands on files of its work directory (see
/// `spec::Step::prep`), one line each, their output dropped.
fn prep_lines(j: &Job) -> String {
    j.prep
        .iter()
        .map(|c| {
            let words: Vec<String> = c.iter().map(|w| q(w)).collect();
            format!("{} >/dev/null 2>&1\n", words.join(" "))
        })
        .collect()
}

/// The lines that report a job's result (see [`parse_output`]), once its
/// exit status is in `$rc` and its output in `/w/T.out`.
fn report(t: &str, bg: &str) -> String {
    format!(
        "cd /\necho \"@@VSC-RESULT rc=$rc pid=$(cat /w/{t}.pid 2>/dev/null || echo 0){bg}\"\n\
         sz=$(wc -c < /w/{t}.out)\n\
         if [ \"$sz\" -gt {MAX_GZ_STDOUT} ]; then echo \"@@VSC-BIG $sz\"; \
         elif [ \"$sz\" -gt {MAX_STDOUT} ]; then echo @@VSC-GZ; gzip -c /w/{t}.out | base64; \
         else base64 /w/{t}.out; fi\n\
         echo @@VSC-ERR\nhead -c 2000 /w/{t}.err | base64\n\
         echo @@VSC-END\nrm -f /w/{t}.out /w/{t}.err\n"
    )
}

/// The guest script of a job with background programs (see
/// [`Job::attach`]): each started as the test script starts it (its `$!`
/// is its pid, reported as `bg=`), the script's wait for its file made,
/// then the program as usual (if any), then every one of them waited for
/// (strace traces until all its tracees end) before their files are
/// collected as the expected output.
fn attach_script(j: &Job) -> String {
    let t = &j.test;
    let files: BTreeSet<&str> = j
        .attach
        .jobs
        .iter()
        .flat_map(|b| b.redirections.iter())
        .chain(j.redirections.iter())
        .filter_map(|r| r.split_once('>').map(|(_, f)| f.trim_start_matches('>')))
        .filter(|f| !f.starts_with('&') && !f.starts_with('/'))
        .collect();
    let prep = prep_lines(j);
    let mut s = format!(
        "echo {begin}\nmkdir -p /w/{t}.dir && cd /w/{t}.dir\n{prep}rm -f /w/{t}.pid {files}\n\
         : > /w/{t}.err\n: > /w/{t}.out\n",
        begin = q(&format!("@@VSC-BEGIN {t}")),
        files = files.iter().map(|f| q(f)).collect::<Vec<_>>().join(" "),
    );
    let mut pids = Vec::new();
    for (k, b) in j.attach.jobs.iter().enumerate() {
        let argv: Vec<String> = b.argv.iter().map(|a| q(a)).collect();
        s.push_str(&format!(
            "{} </dev/null 2>>/w/{t}.err {} &\nb{k}=$!\n",
            argv.join(" "),
            b.redirections.join(" ")
        ));
        if let Some(f) = &b.wait_file {
            s.push_str(&format!(
                "while ! [ -s {f} ]; do kill -0 $b{k} 2>/dev/null || break; done\n",
                f = q(f)
            ));
        }
        pids.push(format!("$b{k}"));
    }
    let pids = pids.join(" ");
    if j.prog.is_empty() {
        s.push_str("p=\n");
    } else {
        let args: Vec<String> = j.args.iter().map(|a| q(a)).collect();
        s.push_str(&format!(
            "( printf strace > /proc/self/comm; \
             sh -c 'echo $$ > /w/{t}.pid; exec ../{p} \"$@\" {redir}' sh {args}; exit $? ) \
             </dev/null >>/w/{t}.out 2>>/w/{t}.err &\np=$!\n",
            p = j.prog,
            redir = j.redirections.join(" "),
            args = args.join(" "),
        ));
    }
    s.push_str(&format!(
        "( sleep {PROG_TIMEOUT}; kill -9 $(cat /w/{t}.pid 2>/dev/null) $p {pids} ) 2>/dev/null &\n\
         w=$!\nrc=0\nif [ -n \"$p\" ]; then wait $p; rc=$?; fi\nwait {pids}\nkill $w 2>/dev/null\n"
    ));
    if !j.attach.collect.is_empty() {
        let parts: Vec<String> = j.attach.collect.iter().map(|f| q(f)).collect();
        s.push_str(&format!("cat {} > /w/{t}.out\n", parts.join(" ")));
    }
    s.push_str(&report(t, &format!(" bg={}", pids.replace(' ', ","))));
    s
}

/// Decodes standard base64 (ignores whitespace; stops at padding).
pub fn base64_decode(text: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        if c == b'=' {
            break;
        }
        let Some(v) = val(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The bytes of a gzip stream (what decodes of a damaged one: the
/// comparison shows the missing tail).
fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    let _ = flate2::read::GzDecoder::new(data).read_to_end(&mut out);
    out
}

/// Parses the guest's stdout: test name -> result, plus the test that had
/// begun but not ended (the run stopped in it), if any.
pub fn parse_output(text: &str) -> (BTreeMap<String, ProgResult>, Option<String>) {
    let mut res = BTreeMap::new();
    let mut cur: Option<String> = None;
    let mut r = ProgResult::default();
    let (mut out, mut err, mut in_err, mut in_body) = (String::new(), String::new(), false, false);
    let mut gz = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(t) = line.strip_prefix("@@VSC-BEGIN ") {
            cur = Some(t.to_string());
            r = ProgResult::default();
            (in_err, in_body, gz) = (false, false, false);
            out.clear();
            err.clear();
        } else if let Some(rest) = line.strip_prefix("@@VSC-RESULT ") {
            for kv in rest.split_whitespace() {
                match kv.split_once('=') {
                    Some(("rc", v)) => r.rc = v.parse().unwrap_or(-1),
                    Some(("pid", v)) => r.pid = v.parse().unwrap_or(0),
                    Some(("bg", v)) => {
                        r.bg = v.split(',').filter_map(|p| p.parse().ok()).collect();
                    }
                    _ => {}
                }
            }
            in_body = true;
        } else if let Some(n) = line.strip_prefix("@@VSC-BIG ") {
            r.too_big = Some(n.trim().parse().unwrap_or(u64::MAX));
        } else if line == "@@VSC-GZ" {
            gz = true;
        } else if line == "@@VSC-ERR" {
            in_err = true;
        } else if line == "@@VSC-END" {
            if let Some(t) = cur.take() {
                r.stdout = base64_decode(&out);
                if gz {
                    r.stdout = gunzip(&r.stdout);
                }
                r.stderr = base64_decode(&err);
                res.insert(t, std::mem::take(&mut r));
            }
            in_body = false;
        } else if in_body && cur.is_some() {
            if in_err {
                err.push_str(line);
            } else {
                out.push_str(line);
            }
        }
    }
    (res, cur)
}

/// The files of one batch run.
pub struct BatchRun {
    /// The recording (`--record`), input of every replay.
    pub recording: PathBuf,
    /// Results per test found in the guest's output.
    pub results: BTreeMap<String, ProgResult>,
    /// The test running when the guest stopped, if it stopped early.
    pub interrupted: Option<String>,
    /// vstrace's exit status.
    pub status: Option<i32>,
    /// vstrace's first error line, if it printed one.
    pub error: Option<String>,
}

/// The guest kernel modules a batch loads first, in their load order:
/// `guest-modules/load-order` beside the build's `tests` directory
/// (scripts/strace-conformance.sh puts the netlink families' modules of
/// the cached guest kernel's package there; none when absent). Each is
/// (file name in the guest, file on the host).
fn modules(progs: &Path) -> Vec<(String, PathBuf)> {
    let Some(dir) = progs.parent().map(|b| b.join("guest-modules")) else {
        return Vec::new();
    };
    let Ok(order) = std::fs::read_to_string(dir.join("load-order")) else {
        return Vec::new();
    };
    order
        .split_whitespace()
        // Module names only: they become guest paths and shell words.
        .filter(|m| m.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .map(|m| (format!("{m}.ko"), dir.join(format!("{m}.ko"))))
        .filter(|(_, f)| f.is_file())
        .collect()
}

/// Boots one guest for a batch and collects its output.
pub fn run_batch(
    vstrace: &Path,
    progs: &Path,
    dir: &Path,
    jobs: &[Job],
    arch: &str,
) -> Result<BatchRun> {
    std::fs::create_dir_all(dir)?;
    let script_path = dir.join("run.sh");
    let text = script(jobs);
    let recording = dir.join("rec.vst");
    // REUSE_RECORDINGS: a batch recorded before with the same script (and
    // kept with KEEP_RECORDINGS) is replayed again without a guest run, so
    // a decoder change is measured in seconds, not guest boots.
    if std::env::var_os("REUSE_RECORDINGS").is_some()
        && recording.is_file()
        && std::fs::read_to_string(&script_path).is_ok_and(|s| s == text)
    {
        if let Ok(stdout) = std::fs::read(dir.join("stdout")) {
            let (results, interrupted) = parse_output(&String::from_utf8_lossy(&stdout));
            let window = read_window(dir).unwrap_or_default();
            return Ok(BatchRun {
                recording,
                results: with_window(results, window),
                interrupted,
                status: Some(0),
                error: None,
            });
        }
    }
    std::fs::write(&script_path, &text)?;
    let strsize = jobs.iter().map(|j| j.strsize).max().unwrap_or(32).max(32);
    let mut cmd = Command::new(vstrace);
    // Only the programs are traced (`--comm`, one per program; their
    // names are distinct within a batch): not the guest's shell moving the
    // outputs around, and the measurement does not depend on vstrace
    // following the command's descendants (in long batches that lost ~10 %
    // of the programs right after their exec: a bug of its own). A fault
    // injection then reaches only the test's program.
    cmd.arg("run");
    if arch != "x86_64" {
        cmd.args(["--arch", arch]);
    }
    let comms: BTreeSet<String> = jobs.iter().flat_map(Job::comms).collect();
    for c in &comms {
        cmd.args(["--comm", c]);
    }
    // The batch's programs share their specs (see `batches`).
    for spec in jobs
        .first()
        .map(|j| j.inject.as_slice())
        .unwrap_or_default()
    {
        cmd.arg("--inject").arg(spec);
    }
    if let Some(j) = jobs.first() {
        for t in j.live_trace() {
            cmd.arg("-e").arg(format!("trace={t}"));
        }
    }
    if jobs.first().is_some_and(|j| j.verbose) {
        cmd.arg("-v");
    }
    if jobs.first().is_some_and(|j| j.stack) {
        // The live run unwinds with the build's programs' unwind tables,
        // as the replay does: what it reads of the stacks is what the
        // replay's frames need.
        cmd.arg("-k").arg("--symbol-dir").arg(progs);
    }
    if jobs.iter().any(|j| j.follow) {
        // strace -f: the children stay traced (and their reads recorded)
        // whatever they rename themselves to; --comm alone would drop
        // them at the rename.
        cmd.arg("-f");
    }
    cmd.args(["--memory", "1024", "--timeout"])
        .arg((PROG_TIMEOUT as usize * jobs.len() + 120).to_string())
        .args(["-s", &strsize.to_string(), "--record"])
        .arg(&recording)
        .arg("-o")
        .arg(dir.join("trace.txt"));
    let mut added = BTreeSet::new();
    for j in jobs {
        // A command of the guest's path is the guest's own.
        let own = match j.on_path {
            true => crate::spec::progs_of("", &j.attach),
            false => crate::spec::progs_of(&j.prog, &j.attach),
        };
        for p in own.iter().chain(&j.locks) {
            if (own.contains(p) || progs.join(p).is_file()) && added.insert(p.clone()) {
                cmd.arg("--add")
                    .arg(format!("{}:/w/{}", progs.join(p).display(), p));
            }
        }
    }
    // The guest kernel's modules (see `modules`), loaded before the
    // programs run: untraced (only the programs' names are).
    let mods = modules(progs);
    for m in &mods {
        cmd.arg("--add")
            .arg(format!("{}:/m/{}", m.1.display(), m.0));
    }
    let run = if mods.is_empty() {
        "sh /w/run.sh".to_string()
    } else {
        let names: Vec<&str> = mods.iter().map(|m| m.0.as_str()).collect();
        format!(
            "for m in {}; do insmod /m/$m 2>/dev/null; done; sh /w/run.sh",
            names.join(" ")
        )
    };
    cmd.arg("--add")
        .arg(format!("{}:/w/run.sh", script_path.display()))
        .args(["--", "sh", "-c", &run]);
    let s0 = now_secs();
    let out = cmd.output().context("running vstrace")?;
    let window = (s0, now_secs());
    std::fs::write(dir.join("stdout"), &out.stdout)?;
    std::fs::write(dir.join("stderr"), &out.stderr)?;
    std::fs::write(dir.join("window"), format!("{} {}\n", window.0, window.1))?;
    let (results, interrupted) = parse_output(&String::from_utf8_lossy(&out.stdout));
    Ok(BatchRun {
        recording,
        results: with_window(results, window),
        interrupted,
        status: out.status.code(),
        error: String::from_utf8_lossy(&out.stderr)
            .lines()
            .find(|l| {
                l.starts_with("error")
                    || l.starts_with("vstrace: error")
                    || l.starts_with("vstrace: invalid ")
            })
            .map(str::to_string),
    })
}

/// Runs the scripts' `$(../PROG ARGS)` commands (see
/// [`crate::spec::GuestOutputs`]) in one guest, each as the batch runs a
/// program (its own work directory, stdin from /dev/null): what each
/// printed, trailing newlines removed as `$(...)` does, or why not known.
pub fn program_outputs(
    vstrace: &Path,
    progs: &Path,
    dir: &Path,
    cmds: &BTreeSet<String>,
    arch: &str,
) -> Result<crate::spec::GuestOutputs> {
    let mut out = crate::spec::GuestOutputs::new();
    let mut jobs = Vec::new();
    for (k, cmd) in cmds.iter().enumerate() {
        let mut words = cmd.split_whitespace();
        let prog = words.next().unwrap_or("").trim_start_matches("../");
        if prog.is_empty() || prog.contains('/') || !progs.join(prog).is_file() {
            out.insert(cmd.clone(), Err(format!("program {prog} not built")));
            continue;
        }
        jobs.push(Job::plain(
            format!("output-{k}"),
            prog.to_string(),
            words.map(str::to_string).collect(),
        ));
    }
    if jobs.is_empty() {
        return Ok(out);
    }
    let run = run_batch(vstrace, progs, dir, &jobs, arch)?;
    let _ = std::fs::remove_file(&run.recording);
    for (k, cmd) in cmds.iter().enumerate() {
        let got = match run.results.get(&format!("output-{k}")) {
            Some(r) if r.rc == 0 => Ok(String::from_utf8_lossy(&r.stdout)
                .trim_end_matches('\n')
                .to_string()),
            Some(r) => Err(format!("exits {}", r.rc)),
            None => Err("not run (the guest run stopped)".to_string()),
        };
        out.entry(cmd.clone()).or_insert(got);
    }
    Ok(out)
}

/// The trace of one test: `vstrace replay` of the batch's recording for
/// the program's comm with the test's options (`pass`, `-s strsize`); the
/// raw lines, or vstrace's error message.
pub fn replay(
    vstrace: &Path,
    recording: &Path,
    comm: &str,
    strsize: u32,
    pass: &[String],
) -> std::result::Result<String, String> {
    let mut cmd = Command::new(vstrace);
    cmd.arg("replay")
        .arg(recording)
        .args(["--text", "--comm", comm, "-s", &strsize.to_string()])
        .args(pass);
    let out = cmd
        .output()
        .map_err(|e| format!("running vstrace replay: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let msg = err
            .lines()
            .find(|l| !l.contains("note:"))
            .unwrap_or("")
            .to_string();
        return Err(format!("vstrace replay failed ({}): {msg}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_output() {
        assert_eq!(base64_decode("aGVsbG8K\n"), b"hello\n");
        assert_eq!(base64_decode("YQ=="), b"a");
        let text = "@@VSC-BEGIN t1\n@@VSC-RESULT rc=0 pid=42\naGVs\nbG8K\n@@VSC-ERR\n\
                    @@VSC-END\n@@VSC-BEGIN t2\n";
        let (r, cur) = parse_output(text);
        assert_eq!(r["t1"].stdout, b"hello\n");
        assert_eq!(r["t1"].pid, 42);
        assert_eq!(cur.as_deref(), Some("t2"));
    }

    #[test]
    fn the_script_gives_the_program_its_environment_and_wrapper() {
        let mut j = Job::plain("t".into(), "check_sigign".into(), vec!["1".into()]);
        j.env = vec!["A=x y".into(), "B".into()];
        j.wrapper = vec!["../set_sigign".into(), "1".into()];
        let s = script(&[j]);
        assert!(s.contains("export A='x y'; unset B; sh -c"), "{s}");
        assert!(
            s.contains(r#"exec '\''../set_sigign'\'' '\''1'\'' ../check_sigign "$@""#),
            "{s}"
        );
        // A command of the guest's path, found before the environment.
        let mut j = Job::plain("t".into(), "true".into(), vec![]);
        j.on_path = true;
        j.env = vec!["PATH=/".into()];
        let s = script(&[j]);
        let (find, run) = (s.find("x=$d/true").unwrap(), s.find("PATH='/'").unwrap());
        assert!(find < run && s.contains(r#"exec '"$x"' "$@""#), "{s}");
    }

    #[test]
    fn batches_keep_inject_specs_apart() {
        let j = |p: &str| Job::plain(p.into(), p.into(), vec![]);
        let b = batches(
            vec![j("ioctl_evdev-success"), j("ioctl_evdev-success-v"), j("a")],
            10,
        );
        assert_eq!(b.len(), 1);
        let mut k = j("k");
        k.inject = vec!["ioctl:retval=1".into()];
        assert_eq!(batches(vec![j("a"), k, j("b")], 10).len(), 2);
        // -v tests are recorded with -v, apart from the others.
        let mut v = j("v");
        v.verbose = true;
        assert_eq!(batches(vec![j("a"), v, j("b")], 10).len(), 2);
        // -k tests are recorded with -k, apart from the others.
        let mut k = j("k");
        k.stack = true;
        assert_eq!(batches(vec![j("a"), k, j("b")], 10).len(), 2);
    }

    #[test]
    fn background_programs_are_started_waited_for_and_collected() {
        let mut j = Job::plain("strace-ff".into(), String::new(), vec![]);
        j.follow = true;
        j.attach.jobs.push(crate::spec::BgJob {
            argv: vec!["../set_ptracer_any".into(), "../sleep".into(), "3".into()],
            redirections: vec![">OUT".into()],
            wait_file: Some("OUT".into()),
            traced: true,
        });
        j.attach.collect = vec!["OUT".into()];
        assert_eq!(j.comms(), ["sleep"]);
        let s = script(std::slice::from_ref(&j));
        assert!(s.contains(
            "'../set_ptracer_any' '../sleep' '3' </dev/null 2>>/w/strace-ff.err >OUT &\nb0=$!\n"
        ));
        assert!(s.contains("while ! [ -s 'OUT' ]; do kill -0 $b0 2>/dev/null || break; done\n"));
        assert!(s.contains("p=\n"));
        assert!(s.contains("wait $b0\n"));
        assert!(s.contains("cat 'OUT' > /w/strace-ff.out\n"));
        assert!(s.contains("bg=$b0\""));
        // A program of the same name that follows its children shares no
        // guest run with it.
        let b = batches(vec![j, Job::plain("t".into(), "sleep".into(), vec![])], 10);
        assert_eq!(b.len(), 2);
        let (r, _) =
            parse_output("@@VSC-BEGIN t\n@@VSC-RESULT rc=0 pid=0 bg=17,18\n@@VSC-ERR\n@@VSC-END\n");
        assert_eq!(r["t"].bg, [17, 18]);
    }
}
