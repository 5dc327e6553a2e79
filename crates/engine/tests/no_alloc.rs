//! The engine's early-out path allocates nothing in steady state: a
//! counting global allocator (per thread, so the sink's flush thread and
//! the test harness do not count) around synthetic events that `-e
//! trace=` leaves out and returns that match no call.

use vstrace_core::hooks::Hooks;
use vstrace_core::Bitness;
use vstrace_engine::{Engine, EngineConfig, EnterCheck, Format, Sink};

#[path = "../../tracefile/tests/counting/mod.rs"]
mod counting;
use counting::{allocs, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// An engine for `cfg` on a Linux guest, writing `format` (or the
/// summary) to a sink that drops the bytes.
fn engine(cfg: EngineConfig, format: Format) -> Engine {
    let sink = Sink::from_writer(Box::new(std::io::sink()), format, cfg.summary);
    Engine::with_sink(
        cfg,
        Box::new(vstrace_linux::LinuxLayer::default()),
        Hooks::new(),
        sink,
    )
    .expect("engine")
}

#[test]
fn filtered_calls_and_their_returns_allocate_nothing() {
    let cfg = EngineConfig {
        trace: Some("openat".into()),
        ..Default::default()
    };
    let e = engine(cfg, Format::Text);
    let cr3 = 0x1234_5000;
    // The first sight of each number fills the interest table.
    for nr in [0u64, 1, 110] {
        assert!(e.skip_enter(nr, Bitness::B64, cr3));
        assert!(e.skip_sys_exit());
    }
    let early = e.early_out();
    // openat is shown: never dropped.
    assert_eq!(early.check_enter(257, Bitness::B64), EnterCheck::Ask);
    assert!(!e.skip_enter(257, Bitness::B64, cr3));
    assert_eq!(early.check_enter(257, Bitness::B64), EnterCheck::Full);
    let before = allocs();
    for i in 0..100_000u64 {
        let nr = [0, 1, 110][(i % 3) as usize];
        // Under the engine's lock, and without it.
        assert!(e.skip_enter(nr, Bitness::B64, cr3));
        assert!(e.skip_sys_exit());
        assert_eq!(early.check_enter(nr, Bitness::B64), EnterCheck::Skip);
        assert!(early.skip_sys_exit());
    }
    assert_eq!(allocs() - before, 0, "allocations on the early-out path");
    let stats = e.finish();
    assert_eq!(stats.enters, 200_003);
    assert_eq!(stats.exits, 200_003);
    assert_eq!(stats.records, 0);
}

/// Shown calls through the engine, in steady state: getppid (no
/// argument), write(1, "hello", 5) (a string read from guest memory and
/// rendered) and close(3) (lists of 0, 3 and 1 arguments take each
/// other's buffers), entered and returned by sysret, for `cfg` (text or
/// JSON to a sink that drops the bytes, or `-c`): the allocations the
/// event thread made once warm. (A failing call's error name and message
/// are still made per call: not counted here.)
fn allocations_per_call(cfg: EngineConfig, format: Format) -> u64 {
    use vstrace_core::cpu::SnapshotCpu;
    use vstrace_core::testmem::SparseVirt;
    use vstrace_core::{Event, Mechanism, Reg, Regs};
    let e = engine(cfg, format);
    let (cr3, rip, sp, buf) = (0x1234_5000u64, 0x40_1000u64, 0x7fff_1000u64, 0x60_0000u64);
    let mut mem = SparseVirt::new();
    mem.map(buf, b"hello");
    let calls: [(u64, [u64; 3], u64); 3] =
        [(110, [0, 0, 0], 42), (1, [1, buf, 5], 5), (3, [3, 0, 0], 0)];

    let mut now = 0u64;
    let mut run = |rounds: usize, mem: &mut SparseVirt| {
        for _ in 0..rounds {
            for (nr, args, ret) in calls {
                let mut enter = Regs {
                    cr3,
                    cs: 0x33,
                    ..Default::default()
                };
                enter.set(Reg::Rax, nr);
                for (r, v) in [Reg::Rdi, Reg::Rsi, Reg::Rdx].into_iter().zip(args) {
                    enter.set(r, v);
                }
                enter.set(Reg::Rsp, sp);
                enter.set(Reg::Rip, rip);
                let mut exit = Regs {
                    cr3,
                    cs: 0x10,
                    ..Default::default()
                };
                exit.set(Reg::Rax, ret);
                exit.set(Reg::Rcx, rip + 2);
                exit.set(Reg::Rsp, sp);
                for (m, regs) in [(Mechanism::Syscall, enter), (Mechanism::Sysret, exit)] {
                    now += 100;
                    let ev = Event::new(0, m, Bitness::B64, regs.clone());
                    let mut cpu = SnapshotCpu {
                        regs,
                        mem: &mut *mem,
                    };
                    e.on_event_at(&ev, &mut cpu, now);
                }
            }
        }
    };
    // Warm: the layer's tables, the sink's buffers, the spare pools.
    run(1_000, &mut mem);
    let before = allocs();
    run(10_000, &mut mem);
    let made = allocs() - before;
    let stats = e.finish();
    assert_eq!(stats.enters, 33_000);
    made
}

#[test]
fn shown_calls_allocate_nothing_in_steady_state() {
    let plain = EngineConfig::default;
    // -f: each shown call is noted for strace's split lines.
    let forks = || EngineConfig {
        follow_forks: true,
        ..Default::default()
    };
    let counted = || EngineConfig {
        summary: true,
        ..Default::default()
    };
    for (what, cfg, format) in [
        ("text", plain(), Format::Text),
        ("text with -f", forks(), Format::Text),
        ("JSON", plain(), Format::Json),
        ("-c", counted(), Format::Text),
    ] {
        let made = allocations_per_call(cfg, format);
        assert_eq!(made, 0, "allocations for 30,000 calls in {what}");
    }
}
