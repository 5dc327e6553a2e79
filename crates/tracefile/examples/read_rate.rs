//! Reading rate of a trace file, without an engine: every event read
//! the way replay reads it (accesses left coded where they can be) or
//! decoded whole (`--full`), and added to the read history as replay
//! does:
//! `cargo run --release -p vstrace-tracefile --example read_rate -- FILE [--full]`.
use std::time::Instant;
use vstrace_tracefile::{EventRecord, Next, ReadHistory, TraceReader};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: read_rate FILE [--full]");
        std::process::exit(2);
    };
    let full = args.next().as_deref() == Some("--full");
    let file = std::fs::File::open(&path).expect("open the trace file");
    let mut r = TraceReader::new(file).expect("a trace file");
    let mut slot = EventRecord::empty();
    let mut history = ReadHistory::default();
    let mut events = 0u64;
    let t = Instant::now();
    loop {
        let next = if full {
            r.next_into(&mut slot)
        } else {
            r.next_lazy_into(&mut slot)
        };
        match next {
            Ok(Some(Next::Event)) => {}
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) => {
                eprintln!("{e}");
                break;
            }
        }
        events += 1;
        let log = r.log(&slot);
        history.add_log(slot.event.cr3, log);
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{events} events in {s:.3} s: {:.2} M events/s",
        events as f64 / s / 1e6
    );
}
