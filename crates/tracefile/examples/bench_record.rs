//! Cost of recording one event (six small reads) outside QEMU:
//! `cargo run --release -p vstrace-tracefile --example bench_record`.
use std::time::Instant;
use vstrace_core::cpu::SnapshotCpu;
use vstrace_core::testmem::SparseVirt;
use vstrace_core::{Bitness, Cpu, Event, Mechanism, Reg, Regs};
use vstrace_tracefile::{RecordingCpu, TraceWriter};
fn main() {
    let mut mem = SparseVirt::new();
    mem.map(0x1000, &[7u8; 4096]);
    let mut w = TraceWriter::new(Vec::with_capacity(64 << 20), b"{}").unwrap();
    let mut log = Vec::new();
    let n = 400_000u64;
    let t = Instant::now();
    for i in 0..n {
        let mut r = Regs::default();
        r.set(Reg::Rax, i % 3);
        r.set(Reg::Rip, 0x401000 + (i % 2));
        let ev = Event::new(0, Mechanism::Syscall, Bitness::B64, r.clone());
        let mut cpu = SnapshotCpu {
            regs: r,
            mem: &mut mem,
        };
        log.clear();
        {
            let mut rc = RecordingCpu::new(&mut cpu, &mut log);
            let mut b8 = [0u8; 8];
            let mut b16 = [0u8; 16];
            for k in 0..5 {
                rc.mem().read_virt(0x1000 + k * 64, &mut b8).unwrap();
            }
            rc.mem().read_virt(0x1800, &mut b16).unwrap();
        }
        w.event(i * 1000, &ev, &log).unwrap();
    }
    let el = t.elapsed();
    let bytes = w.into_inner().len();
    println!(
        "{:.0} ns/event, {:.1} bytes/event",
        el.as_nanos() as f64 / n as f64,
        bytes as f64 / n as f64
    );
}
