//! Replay's reading path allocates nothing per event in steady state:
//! [`TraceReader::next_into`] decodes each event into one reused slot,
//! its reads' bytes into reused buffers; the read history takes each
//! event's reads and a [`ReplayCpu`] serves them (the recorded ones and
//! one from the history) without allocating either. A counting global allocator (per
//! thread, so the test harness does not count) around events shaped like
//! a traced read+write loop's: register deltas, fresh reads, repeated
//! ("same") reads and a failed read.

use vstrace_core::{Bitness, Event, Mechanism, MemError, Reg, Regs, VirtMem};
use vstrace_tracefile::{
    Access, AccessLog, EventRecord, Next, ReadHistory, ReplayCpu, TraceReader, TraceWriter,
};

mod counting;
use counting::{allocs, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A recording of `n` read/write call pairs on two vCPUs.
fn recording(n: u64) -> Vec<u8> {
    let mut file = Vec::new();
    let mut w = TraceWriter::new(&mut file, b"{}").unwrap();
    let mut regs = Regs {
        cs: 0x33,
        efer: 0xd01,
        cr3: 0x5000,
        ..Regs::default()
    };
    for i in 0..n {
        let vcpu = (i % 2) as u32;
        regs.set(Reg::Rax, i % 2);
        regs.set(Reg::Rsp, 0x7fff_0000 - 16 * (i % 3));
        let task = Access::Read {
            space: None,
            addr: 0xffff_8880_0000_1000,
            len: 8,
            result: Ok(vec![vcpu as u8; 8]),
        };
        let buf = Access::Read {
            space: None,
            addr: 0x7f00_0000,
            len: 1,
            result: Ok(vec![i as u8]),
        };
        let fault = Access::Read {
            space: None,
            addr: 0x10,
            len: 4,
            result: Err(MemError::Unmapped(0x10)),
        };
        let enter = Event::new(vcpu, Mechanism::Syscall, Bitness::B64, regs.clone());
        w.event(10 * i, &enter, &[task.clone(), buf, fault])
            .unwrap();
        let exit = Event::new(vcpu, Mechanism::Sysret, Bitness::B64, regs.clone());
        w.event(10 * i + 5, &exit, &[task]).unwrap();
    }
    w.end(10 * n).unwrap();
    drop(w);
    file
}

/// Serves `ev`'s recorded reads as the engine would ask for them, and
/// one read the event did not record (the task field, on exits: from
/// the history once an enter has read it).
fn replay_reads(ev: &EventRecord, history: &ReadHistory) {
    let mut cpu =
        ReplayCpu::new(ev.event.regs.clone(), ev.accesses()).with_history(history, ev.event.cr3);
    let mut buf = [0u8; 8];
    for a in ev.accesses() {
        if let Access::Read {
            addr, len, result, ..
        } = a
        {
            let got = cpu.read_virt(*addr, &mut buf[..*len as usize]);
            assert_eq!(got.is_ok(), result.is_ok());
        }
    }
    if ev.accesses().len() == 1 {
        cpu.read_virt(0x7f00_0000, &mut buf[..1]).unwrap();
    }
}

#[test]
fn reading_events_into_a_slot_allocates_nothing() {
    let file = recording(2000);
    let mut r = TraceReader::new(file.as_slice()).unwrap();
    let mut slot = EventRecord::empty();
    let mut history = ReadHistory::default();
    assert!(matches!(r.next_into(&mut slot), Ok(Some(Next::Config(_)))));
    let mut events = 0;
    let mut before = 0;
    loop {
        if events == 100 {
            // Warmed up: the slot, the spare buffers and the payload
            // buffer have their sizes.
            before = allocs();
        }
        match r.next_into(&mut slot).unwrap() {
            Some(Next::Event) => {
                events += 1;
                replay_reads(&slot, &history);
                history.add_record(&slot);
            }
            Some(Next::End { ts, .. }) => assert_eq!(ts, 20_000),
            Some(Next::Config(_)) => panic!("a second configuration"),
            None => break,
        }
    }
    let after = allocs();
    assert_eq!(events, 4000);
    assert_eq!(after - before, 0, "allocations while reading 3900 events");
    // The reused slot holds what the owning reader gives.
    let mut r = TraceReader::new(file.as_slice()).unwrap();
    r.next_record().unwrap();
    let mut last = None;
    while let Ok(Some(vstrace_tracefile::Record::Event(e))) = r.next_record() {
        last = Some(e);
    }
    assert_eq!(last, Some(slot));
}

/// Replay's lazy reading allocates nothing either: events whose reads
/// all repeat earlier ones (the exits here) stay coded and are served
/// from the reader's cache, the others are decoded into the slot; the
/// registers are borrowed, the reads served, the history kept.
#[test]
fn lazy_reading_allocates_nothing() {
    let file = recording(2000);
    let mut r = TraceReader::new(file.as_slice()).unwrap();
    let mut slot = EventRecord::empty();
    let mut history = ReadHistory::default();
    let (mut events, mut coded, mut before) = (0, 0, 0);
    loop {
        if events == 100 {
            before = allocs();
        }
        match r.next_lazy_into(&mut slot).unwrap() {
            Some(Next::Event) => {
                events += 1;
                let log = r.log(&slot);
                coded += matches!(log, AccessLog::Lazy(_)) as u32;
                let regs = std::borrow::Cow::Borrowed(&slot.event.regs);
                let mut cpu =
                    ReplayCpu::borrowing(regs, log).with_history(&history, slot.event.cr3);
                let mut task = [0u8; 8];
                cpu.read_virt(0xffff_8880_0000_1000, &mut task).unwrap();
                assert_eq!(task, [slot.event.vcpu as u8; 8]);
                cpu.read_virt(0x7f00_0000, &mut task[..1]).unwrap();
                history.add_log(slot.event.cr3, log);
            }
            Some(_) => {}
            None => break,
        }
    }
    assert_eq!(events, 4000);
    assert_eq!(coded, 2000, "the exits stay coded");
    assert_eq!(
        allocs() - before,
        0,
        "allocations while reading 3900 events"
    );
}
