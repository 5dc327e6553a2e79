//! `-c`: per-syscall counts, errors and time, printed like strace's table.

use std::collections::HashMap;

use crate::record::{CallState, Record};

#[derive(Debug, Default, Clone)]
struct Row {
    calls: u64,
    errors: u64,
    ns: u64,
}

/// Accumulates records into a summary table.
#[derive(Debug, Default)]
pub struct Summary {
    rows: HashMap<String, Row>,
}

impl Summary {
    /// Counts `r` in its call's row: one call, an error if it failed,
    /// its time if it completed.
    pub fn add(&mut self, r: &Record) {
        // Signal deliveries are not calls (strace -c counts only calls).
        if r.state == CallState::Signal {
            return;
        }
        let row = self.rows.entry(r.name.clone()).or_default();
        row.calls += 1;
        if r.errno.is_some() {
            row.errors += 1;
        }
        if r.state == CallState::Complete {
            if let Some(exit) = r.ts_exit_ns {
                row.ns += exit.saturating_sub(r.ts_enter_ns);
            }
        }
    }

    /// Renders the table, sorted by time then calls, like `strace -c`.
    /// Time is host time spent between enter and exit.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut rows: Vec<(&String, &Row)> = self.rows.iter().collect();
        rows.sort_by(|a, b| {
            b.1.ns
                .cmp(&a.1.ns)
                .then(b.1.calls.cmp(&a.1.calls))
                .then(a.0.cmp(b.0))
        });
        let total_ns: u64 = rows.iter().map(|r| r.1.ns).sum();
        let total_calls: u64 = rows.iter().map(|r| r.1.calls).sum();
        let total_err: u64 = rows.iter().map(|r| r.1.errors).sum();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "% time     seconds  usecs/call     calls    errors syscall"
        );
        let dash = "------ ----------- ----------- --------- --------- ----------------";
        let _ = writeln!(s, "{dash}");
        for (name, r) in &rows {
            let pct = if total_ns > 0 {
                100.0 * r.ns as f64 / total_ns as f64
            } else {
                0.0
            };
            let per = (r.ns / 1000).checked_div(r.calls).unwrap_or(0);
            let err = if r.errors > 0 {
                r.errors.to_string()
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "{pct:6.2} {:11.6} {per:11} {:9} {err:>9} {name}",
                r.ns as f64 / 1e9,
                r.calls
            );
        }
        let _ = writeln!(s, "{dash}");
        let err = if total_err > 0 {
            total_err.to_string()
        } else {
            String::new()
        };
        let per = (total_ns / 1000).checked_div(total_calls).unwrap_or(0);
        let _ = writeln!(
            s,
            "100.00 {:11.6} {per:11} {total_calls:9} {err:>9} total",
            total_ns as f64 / 1e9
        );
        s
    }
}
