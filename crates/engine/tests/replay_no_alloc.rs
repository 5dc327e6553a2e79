//! Replay allocates nothing per event in steady state, for `-c`, text
//! and JSON: a counting global allocator (per thread: the harness's
//! threads do not count) around replays of a synthetic recording of the
//! benchmark's read+write loop (`read(0, buf, 1) = 1`, `write(1, buf, 1)
//! = 1`, with the bytes the live engine read). Two replays of the same
//! loop, short and long, differ only by the extra iterations: their
//! difference in allocations is the steady state's, and it is 0 in
//! every mode: the reader, the pairing, the record and the summary
//! allocate nothing, and text and JSON decode into the buffers of the
//! records already written (`Tracker::recycle`: the argument list, its
//! texts, the return text) and of the values replaced
//! (`vstrace_core::spare`: buffer bytes, out-arguments' texts).

use vstrace_core::{Bitness, Event, Mechanism, Reg, Regs};
use vstrace_engine::replay::Replay;
use vstrace_engine::{Engine, EngineConfig, Format, Hooks, Sink};
use vstrace_tracefile::{Access, TraceWriter};

#[path = "../../tracefile/tests/counting/mod.rs"]
mod counting;
use counting::{allocs, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

const BUF: u64 = 0x7fff_1000;
const RIP: u64 = 0x40_1000;
const RSP: u64 = 0x7fff_8000;

/// 64-bit user code (CS 0x33) in long mode (EFER.LMA), in one space.
fn regs() -> Regs {
    let mut r = Regs {
        cs: 0x33,
        cr3: 0x5000,
        efer: 0xd01,
        ..Regs::default()
    };
    r.set(Reg::Rsp, RSP);
    r.set(Reg::Rip, RIP);
    r
}

/// A trace file of `rounds` read+write pairs, recorded with `cfg`: the
/// accesses are the ones a live engine makes for them (the written
/// byte at write's enter, the read byte at read's exit).
fn recording(rounds: u64, cfg: &EngineConfig) -> Vec<u8> {
    let mut file = Vec::new();
    let config = serde_json::to_vec(cfg).unwrap();
    let mut w = TraceWriter::new(&mut file, &config).unwrap();
    let mut ts = 1_000;
    let mut event = |w: &mut TraceWriter<&mut Vec<u8>>, enter: bool, nr_or_ret: u64, acc| {
        let mut r = regs();
        let mech = if enter {
            r.set(Reg::Rax, nr_or_ret);
            r.set(Reg::Rdi, nr_or_ret); // fd 0 for read, 1 for write
            r.set(Reg::Rsi, BUF);
            r.set(Reg::Rdx, 1);
            Mechanism::Syscall
        } else {
            r.set(Reg::Rax, nr_or_ret);
            r.set(Reg::Rcx, RIP + 2);
            Mechanism::Sysret
        };
        ts += 700;
        let acc: Vec<Access> = acc;
        w.event(ts, &Event::new(0, mech, Bitness::B64, r), &acc)
            .unwrap();
    };
    let byte = |b: u8| Access::Read {
        space: None,
        addr: BUF,
        len: 1,
        result: Ok(vec![b]),
    };
    for i in 0..rounds {
        let b = b'a' + (i % 26) as u8;
        event(&mut w, true, 0, vec![]);
        event(&mut w, false, 1, vec![byte(b)]);
        event(&mut w, true, 1, vec![byte(b)]);
        event(&mut w, false, 1, vec![]);
    }
    w.end(ts + 1_000).unwrap();
    drop(w);
    file
}

/// Allocations of a whole replay of `file` (this thread's), and the
/// replay's output.
fn replay(file: &[u8], format: Format, summary: bool) -> (u64, Vec<u8>) {
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let rep = Replay::open(file).unwrap();
    let mut cfg = rep.config.clone();
    cfg.format = format;
    cfg.summary = summary;
    let sink = Sink::from_writer(Box::new(Shared(out.clone())), format, summary);
    let mut engine = Engine::with_sink(
        cfg,
        Box::new(vstrace_linux::LinuxLayer::default()),
        Hooks::new(),
        sink,
    )
    .unwrap();
    let before = allocs();
    let outcome = rep.run(&mut engine);
    let n = allocs() - before;
    assert!(outcome.clean_end && outcome.damage.is_none());
    drop(engine);
    let bytes = out.lock().unwrap().clone();
    (n, bytes)
}

/// A writer the test reads back after the engine is gone.
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        // Keeps only the first lines: the output of a long replay must
        // not grow this buffer (which would count as allocations).
        let mut v = self.0.lock().unwrap();
        if v.len() < 4096 {
            v.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn steady_state(format: Format, summary: bool, want: &str) {
    let cfg = EngineConfig::default();
    let (short, long) = (200, 2_200);
    // Once per process: lazily built tables, the decoders' first buffers.
    replay(&recording(short, &cfg), format, summary);
    let (a_short, out) = replay(&recording(short, &cfg), format, summary);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(want), "{text}");
    let (a_long, _) = replay(&recording(long, &cfg), format, summary);
    let extra_events = (long - short) * 4;
    // Two calls per round, two events per call.
    assert!(
        a_long <= a_short,
        "{} allocations for {extra_events} more events, none expected ({format:?}, -c {summary})",
        a_long as i64 - a_short as i64
    );
}

#[test]
fn summary_replay_allocates_nothing_per_event() {
    steady_state(Format::Text, true, "total");
}

#[test]
fn text_replay_allocates_nothing_per_event() {
    steady_state(Format::Text, false, "write(1, \"a\", 1)");
}

#[test]
fn json_replay_allocates_nothing_per_event() {
    steady_state(Format::Json, false, "\"name\":\"write\"");
}
