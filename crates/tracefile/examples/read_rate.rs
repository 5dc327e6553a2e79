//! Reading rate of a trace file, without an engine: every event read
//! the way replay reads it (accesses left coded where they can be) or
//! decoded whole (`--full`), and added to the read history as replay
//! does:
//! `cargo run --release -p vstrace-tracefile --example read_rate -- FILE [--full | --memory]`
//! (`--memory`: the file read into memory first and decoded there, as
//! replay decodes a mapped file, without the cost of reading it).
use std::time::Instant;
use vstrace_tracefile::{EventRecord, Next, ReadHistory, TraceReader};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: read_rate FILE [--full | --memory]");
        std::process::exit(2);
    };
    let opt = args.next();
    let full = opt.as_deref() == Some("--full");
    let mut r = if opt.as_deref() == Some("--memory") {
        let bytes = std::fs::read(&path).expect("read the trace file");
        TraceReader::from_bytes(Box::new(bytes)).expect("a trace file")
    } else {
        let file = std::fs::File::open(&path).expect("open the trace file");
        TraceReader::new(Box::new(file) as Box<dyn std::io::Read>).expect("a trace file")
    };
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
