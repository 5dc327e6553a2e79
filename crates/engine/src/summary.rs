//! `-c`: per-syscall counts, errors and time, printed like strace's table,
//! with strace's `-S` sort keys, `-U` columns and `-O` overhead.

use vstrace_core::fasthash::FastMap;

pub use crate::output::SummaryOptions;
use crate::record::{CallState, Record};

/// One row's counts kept apart from a table (`-c`'s per-vCPU lanes),
/// merged into it with [`Summary::merge_counts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowCounts {
    /// Calls counted.
    pub calls: u64,
    /// Calls that failed.
    pub errors: u64,
    /// Their time, in ns.
    pub ns: u64,
    /// The shortest call's time (`u64::MAX` before any).
    pub min_ns: u64,
    /// The longest call's time.
    pub max_ns: u64,
}

impl Default for RowCounts {
    fn default() -> Self {
        RowCounts {
            calls: 0,
            errors: 0,
            ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }
}

impl RowCounts {
    /// Counts one call: `error` when it failed, `ns` its time (see
    /// [`call_ns`]).
    pub fn add(&mut self, error: bool, ns: u64) {
        self.calls += 1;
        self.errors += u64::from(error);
        self.ns += ns;
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// Adds the counts `o` kept apart.
    pub fn merge(&mut self, o: &RowCounts) {
        self.calls += o.calls;
        self.errors += o.errors;
        self.ns += o.ns;
        self.min_ns = self.min_ns.min(o.min_ns);
        self.max_ns = self.max_ns.max(o.max_ns);
    }
}

/// A call's time in the table: strace's column, the system CPU time the
/// call used (`cpu`), or with `-w` (or when the guest's account cannot be
/// read) the wall-clock time between its enter and exit; 0 for a call
/// that did not complete; less the `-O` overhead.
pub fn call_ns(
    opts: &SummaryOptions,
    complete: bool,
    enter: u64,
    exit: Option<u64>,
    cpu: Option<u64>,
) -> u64 {
    match (complete, exit, cpu) {
        (true, Some(_), Some(cpu)) if !opts.wall_clock => cpu,
        (true, Some(exit), _) => exit.saturating_sub(enter),
        _ => 0,
    }
    .saturating_sub(opts.overhead_ns)
}

#[derive(Debug, Clone)]
struct Row {
    nr: u64,
    c: RowCounts,
}

/// A column of the table (strace's `-U` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Percent,
    Total,
    Min,
    Max,
    Avg,
    Calls,
    Errors,
    Name,
}

/// strace's names for the columns and sort keys (`-U`, `-S`).
const ALIASES: &[(&str, Option<Column>)] = &[
    ("time", Some(Column::Percent)),
    ("time_percent", Some(Column::Percent)),
    ("time-percent", Some(Column::Percent)),
    ("time_total", Some(Column::Total)),
    ("time-total", Some(Column::Total)),
    ("total_time", Some(Column::Total)),
    ("total-time", Some(Column::Total)),
    ("min_time", Some(Column::Min)),
    ("min-time", Some(Column::Min)),
    ("shortest", Some(Column::Min)),
    ("time_min", Some(Column::Min)),
    ("time-min", Some(Column::Min)),
    ("longest", Some(Column::Max)),
    ("max_time", Some(Column::Max)),
    ("max-time", Some(Column::Max)),
    ("time_max", Some(Column::Max)),
    ("time-max", Some(Column::Max)),
    ("avg_time", Some(Column::Avg)),
    ("avg-time", Some(Column::Avg)),
    ("time_avg", Some(Column::Avg)),
    ("time-avg", Some(Column::Avg)),
    ("calls", Some(Column::Calls)),
    ("count", Some(Column::Calls)),
    ("error", Some(Column::Errors)),
    ("errors", Some(Column::Errors)),
    ("name", Some(Column::Name)),
    ("syscall", Some(Column::Name)),
    ("syscall_name", Some(Column::Name)),
    ("syscall-name", Some(Column::Name)),
    ("none", None),
    ("nothing", None),
];

const DEFAULT_COLUMNS: [Column; 6] = [
    Column::Percent,
    Column::Total,
    Column::Avg,
    Column::Calls,
    Column::Errors,
    Column::Name,
];

fn alias(name: &str) -> Result<Option<Column>, String> {
    ALIASES
        .iter()
        .find(|a| a.0 == name)
        .map(|a| a.1)
        .ok_or_else(|| format!("invalid summary column or sort key '{name}'"))
}

/// Checks `-S` and `-U` values (strace's names).
pub fn validate(o: &SummaryOptions) -> Result<(), String> {
    alias(&o.sort_by)?;
    let mut seen = Vec::new();
    for c in &o.columns {
        if let Some(col) = alias(c)? {
            if seen.contains(&col) {
                return Err(format!("summary column '{c}' given more than once"));
            }
            seen.push(col);
        }
    }
    Ok(())
}

/// Accumulates records into a summary table.
#[derive(Debug, Default)]
pub struct Summary {
    rows: FastMap<String, Row>,
    opts: SummaryOptions,
}

impl Summary {
    /// A table with the `-S`/`-U`/`-O` options (checked by [`validate`];
    /// unknown names fall back to strace's defaults).
    pub fn with_options(opts: SummaryOptions) -> Summary {
        Summary {
            rows: FastMap::default(),
            opts,
        }
    }

    /// Counts `r` in its call's row: one call, an error if it failed,
    /// its time (less the `-O` overhead) if it completed.
    pub fn add(&mut self, r: &Record) {
        // Signal deliveries and exits are not calls (strace -c counts
        // only calls).
        if matches!(r.state, CallState::Signal | CallState::Exited) {
            return;
        }
        let ns = call_ns(
            &self.opts,
            r.state == CallState::Complete,
            r.ts_enter_ns,
            r.ts_exit_ns,
            r.cpu_ns,
        );
        self.count_in(&r.name, r.nr, |c| c.add(r.errno.is_some(), ns));
    }

    /// Adds counts kept apart (`-c`'s per-vCPU lanes) to the row of
    /// `name` (numbered `nr` when the row is new).
    pub fn merge_counts(&mut self, name: &str, nr: u64, c: &RowCounts) {
        if c.calls > 0 {
            self.count_in(name, nr, |row| row.merge(c));
        }
    }

    /// `count` on the counts of the row of `name` (numbered `nr` if it is
    /// new). Looked up by reference: the name is copied once per row, not
    /// once per call, and a known row costs one lookup.
    fn count_in(&mut self, name: &str, nr: u64, count: impl FnOnce(&mut RowCounts)) {
        match self.rows.get_mut(name) {
            Some(row) => count(&mut row.c),
            None => {
                let mut c = RowCounts::default();
                count(&mut c);
                self.rows.insert(name.to_string(), Row { nr, c });
            }
        }
    }

    /// Renders the table, sorted by `-S` (default: time, then calls,
    /// then name), like `strace -c`. Time is the calls' system CPU time
    /// in the guest, or (`-w`, or unreadable) the host time between
    /// enter and exit.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut rows: Vec<(&String, &Row)> = self.rows.iter().collect();
        let key = alias(&self.opts.sort_by).ok();
        rows.sort_by(|a, b| {
            let primary = match key {
                Some(Some(Column::Percent | Column::Total)) | None => b.1.c.ns.cmp(&a.1.c.ns),
                Some(Some(Column::Min)) => b.1.c.min_ns.cmp(&a.1.c.min_ns),
                Some(Some(Column::Max)) => b.1.c.max_ns.cmp(&a.1.c.max_ns),
                Some(Some(Column::Avg)) => {
                    (b.1.c.ns / b.1.c.calls.max(1)).cmp(&(a.1.c.ns / a.1.c.calls.max(1)))
                }
                Some(Some(Column::Calls)) => b.1.c.calls.cmp(&a.1.c.calls),
                Some(Some(Column::Errors)) => b.1.c.errors.cmp(&a.1.c.errors),
                Some(Some(Column::Name)) => a.0.cmp(b.0),
                // "nothing": the syscall table's order.
                Some(None) => a.1.nr.cmp(&b.1.nr),
            };
            primary
                .then(b.1.c.ns.cmp(&a.1.c.ns))
                .then(b.1.c.calls.cmp(&a.1.c.calls))
                .then(a.0.cmp(b.0))
        });
        let cols: Vec<Column> = if self.opts.columns.is_empty() {
            DEFAULT_COLUMNS.to_vec()
        } else {
            self.opts
                .columns
                .iter()
                .filter_map(|c| alias(c).ok().flatten())
                .collect()
        };
        let total_ns: u64 = rows.iter().map(|r| r.1.c.ns).sum();
        let total_calls: u64 = rows.iter().map(|r| r.1.c.calls).sum();
        let total_err: u64 = rows.iter().map(|r| r.1.c.errors).sum();
        let min_all = rows.iter().map(|r| r.1.c.min_ns).min().unwrap_or(0);
        let max_min = rows.iter().map(|r| r.1.c.min_ns).max().unwrap_or(0);
        let max_all = rows.iter().map(|r| r.1.c.max_ns).max().unwrap_or(0);
        let avg_max = rows
            .iter()
            .map(|r| r.1.c.ns / 1000 / r.1.c.calls.max(1))
            .max()
            .unwrap_or(0);
        let name_max = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let secs = |ns: u64| format!("{:.6}", ns as f64 / 1e9);
        // strace's widths: the header's, or the widest value's.
        let width = |c: Column| -> usize {
            match c {
                Column::Percent => 6,
                Column::Total => secs(total_ns).len().max(11),
                Column::Min => format!("{}.000000", max_min / 1_000_000_000).len().max(8),
                Column::Max => format!("{}.000000", max_all / 1_000_000_000).len().max(7),
                Column::Avg => avg_max.to_string().len().max(11),
                Column::Calls => total_calls.to_string().len().max(9),
                Column::Errors => total_err.to_string().len().max(9),
                Column::Name => (name_max + 1).max(16),
            }
        };
        let header = |c: Column| match c {
            Column::Percent => "% time",
            Column::Total => "seconds",
            Column::Min => "shortest",
            Column::Max => "longest",
            Column::Avg => "usecs/call",
            Column::Calls => "calls",
            Column::Errors => "errors",
            Column::Name => "syscall",
        };
        let last = cols.len().saturating_sub(1);
        let mut s = String::new();
        let line = |s: &mut String, cells: &mut dyn Iterator<Item = (Column, String)>| {
            for (i, (c, v)) in cells.enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let w = width(c);
                if c == Column::Name {
                    if i == last {
                        s.push_str(&v);
                    } else {
                        let _ = write!(s, "{v:<w$}");
                    }
                } else {
                    let _ = write!(s, "{v:>w$}");
                }
            }
            s.push('\n');
        };
        line(
            &mut s,
            &mut cols.iter().map(|&c| (c, header(c).to_string())),
        );
        let dash = |s: &mut String| {
            // The last column's dashes stay 16 wide under a long name (as
            // vstrace always printed; strace widens them).
            let d: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(i, &c)| match c {
                    Column::Name if i == last => "-".repeat(16),
                    _ => "-".repeat(width(c)),
                })
                .collect();
            s.push_str(&d.join(" "));
            s.push('\n');
        };
        dash(&mut s);
        let errors = |n: u64| if n > 0 { n.to_string() } else { String::new() };
        for (name, row) in &rows {
            let r = &row.c;
            let pct = if total_ns > 0 {
                100.0 * r.ns as f64 / total_ns as f64
            } else {
                0.0
            };
            let cell = |c: Column| match c {
                Column::Percent => format!("{pct:.2}"),
                Column::Total => secs(r.ns),
                Column::Min => secs(r.min_ns),
                Column::Max => secs(r.max_ns),
                Column::Avg => ((r.ns / 1000).checked_div(r.calls).unwrap_or(0)).to_string(),
                Column::Calls => r.calls.to_string(),
                Column::Errors => errors(r.errors),
                Column::Name => name.to_string(),
            };
            line(&mut s, &mut cols.iter().map(|&c| (c, cell(c))));
        }
        dash(&mut s);
        let total = |c: Column| match c {
            Column::Percent => "100.00".to_string(),
            Column::Total => secs(total_ns),
            Column::Min => secs(if rows.is_empty() { 0 } else { min_all }),
            Column::Max => secs(max_all),
            Column::Avg => ((total_ns / 1000).checked_div(total_calls).unwrap_or(0)).to_string(),
            Column::Calls => total_calls.to_string(),
            Column::Errors => errors(total_err),
            Column::Name => "total".to_string(),
        };
        line(&mut s, &mut cols.iter().map(|&c| (c, total(c))));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, ns: u64, err: bool) -> Record {
        let mut r: Record = serde_json::from_str(&format!(
            r#"{{"seq":0,"vcpu":0,"ts_enter_ns":0,"ts_exit_ns":{ns},"cr3":0,"os":"linux","abi":"x86_64","mechanism":"syscall","nr":1,"name":"{name}","args":[],"state":"complete"}}"#
        ))
        .unwrap();
        if err {
            r.errno = Some("ENOENT".into());
        }
        r
    }

    /// The table's time is the system CPU time a call used when the
    /// guest's account was read; `-w` (or no account) the wall clock.
    #[test]
    fn system_time_unless_wall_clock() {
        let mut sleep = rec("nanosleep", 1_000_000_000, false);
        sleep.cpu_ns = Some(20_000);
        let mut nocpu = rec("read", 3_000, false);
        nocpu.cpu_ns = None;
        let mut s = Summary::default();
        s.add(&sleep);
        s.add(&nocpu);
        let t = s.render();
        assert!(
            t.contains("0.000020          20         1           nanosleep"),
            "{t}"
        );
        assert!(
            t.contains("0.000003           3         1           read"),
            "{t}"
        );
        let mut s = Summary::with_options(SummaryOptions {
            wall_clock: true,
            ..Default::default()
        });
        s.add(&sleep);
        let t = s.render();
        assert!(
            t.contains("1.000000     1000000         1           nanosleep"),
            "{t}"
        );
    }

    #[test]
    fn default_table_and_options() {
        let mut s = Summary::default();
        s.add(&rec("read", 3_000, false));
        s.add(&rec("read", 1_000, true));
        s.add(&rec("write", 1_000, false));
        let t = s.render();
        let want = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 80.00    0.000004           2         2         1 read
 20.00    0.000001           1         1           write
------ ----------- ----------- --------- --------- ----------------
100.00    0.000005           1         3         1 total
";
        assert_eq!(t, want);
        let mut s = Summary::with_options(SummaryOptions {
            sort_by: "name".into(),
            columns: vec!["name".into(), "calls".into(), "max-time".into()],
            overhead_ns: 1_000,
            ..Default::default()
        });
        s.add(&rec("write", 1_000, false));
        s.add(&rec("read", 3_000, false));
        let t = s.render();
        assert!(
            t.starts_with("syscall              calls  longest\n"),
            "{t}"
        );
        assert!(
            t.contains("\nread                     1 0.000002\nwrite"),
            "{t}"
        );
        assert!(validate(&SummaryOptions {
            sort_by: "bogus".into(),
            ..Default::default()
        })
        .is_err());
    }
}
