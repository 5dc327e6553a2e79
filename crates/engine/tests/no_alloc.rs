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

#[test]
fn filtered_calls_and_their_returns_allocate_nothing() {
    let cfg = EngineConfig {
        trace: Some("openat".into()),
        ..Default::default()
    };
    let sink = Sink::from_writer(Box::new(std::io::sink()), Format::Text, false);
    let e = Engine::with_sink(
        cfg,
        Box::new(vstrace_linux::LinuxLayer::default()),
        Hooks::new(),
        sink,
    )
    .expect("engine");
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
