//! Building a tracker from the engine's configuration: the filters,
//! rules, hooks and OS layer it is given, each behind the lock or atomic
//! the concurrent event path needs (see the crate doc).

use super::*;

impl Tracker {
    /// A tracker for `cfg`, decoding through `os` and running `hooks`.
    pub fn new(
        cfg: &EngineConfig,
        os: Box<dyn OsLayer>,
        hooks: Hooks,
    ) -> Result<Tracker, EngineError> {
        let trace = match &cfg.trace {
            Some(t) => SyscallSet::parse(t, os.as_ref())?,
            None => SyscallSet::all(),
        };
        let set = |s: &Option<String>| {
            s.as_deref()
                .map(|s| SyscallSet::parse(s, os.as_ref()))
                .transpose()
        };
        let (abbrev, decoded) = (set(&cfg.display.abbrev)?, set(&cfg.display.decoded)?);
        let injects = cfg
            .inject
            .iter()
            .map(|s| InjectRule::parse(s, os.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let rewrites = cfg
            .rewrite_path
            .iter()
            .map(|s| PathRewrite::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let os_kind = os.os();
        let scope = cfg.follow_exec.as_ref().map(|a| Scope {
            root_arg: a.clone(),
            spaces: Default::default(),
            owners: Default::default(),
            procs: Default::default(),
            by_process: cfg.pair_by_thread,
        });
        let has_hooks = !hooks.is_empty();
        let has_injects = !injects.is_empty();
        let cpu_time = cfg.summary && !cfg.display.summary.wall_clock;
        let early: std::sync::Arc<early::EarlyOut> = Default::default();
        let mut t = Tracker {
            pids: RwLock::new(cfg.pids.iter().copied().collect()),
            comms: cfg.comms.clone(),
            by_proc: !cfg.pids.is_empty() || !cfg.comms.is_empty(),
            follow_forks: cfg.follow_forks,
            pair_by_thread: cfg.pair_by_thread,
            announce_entries: cfg.follow_forks
                && cfg.format == crate::Format::Text
                && (!cfg.summary || cfg.display.summary.with_records)
                && !cfg.display.separate
                && cfg
                    .display
                    .status
                    .is_none_or(|s| s == crate::output::status::ALL),
            scope: scope.map(RwLock::new),
            forks: Default::default(),
            os,
            os_kind,
            hooks: Mutex::new(hooks),
            has_hooks,
            trace,
            injects: Mutex::new(injects),
            has_injects,
            rewrites,
            opts: DecodeOptions {
                strsize: cfg.strsize,
                verbose: cfg.display.verbose,
                strings_in_hex: cfg.display.strings_in_hex,
                const_style: cfg.display.const_style,
                structs: true,
            },
            abbrev,
            decoded,
            names: cfg.names,
            trace_fds: cfg.trace_fds.clone(),
            trace_paths: cfg.trace_paths.clone(),
            callers: cfg.caller,
            record_names: cfg.record.is_some() && !cfg.summary,
            keep_names: (cfg.record.is_some() && !cfg.summary) || cfg.names.fds(),
            names_kept: namekeep::NamesKept::new(cfg.record.is_some()),
            stacks: cfg.stack_trace,
            pending: inflight::Inflight::new(early.clone()),
            order: AtomicU64::new(0),
            signal_markers: Default::default(),
            extra: Default::default(),
            ended_calls: Default::default(),
            has_extra: AtomicBool::new(false),
            spare: Default::default(),
            want_ip: cfg.display.instruction_pointer,
            dump_writes: cfg.display.dump_writes.clone(),
            dump_reads: cfg.display.dump_reads.clone(),
            stats: Stats::default(),
            count_only: cfg.summary && !cfg.display.summary.with_records,
            cpu_time,
            cpu_read: cpu_time || cfg.record.is_some(),
            early,
            attrib: Default::default(),
            count_lane: false,
            lanes_on: false,
            unannounced: Default::default(),
            scope_gen: AtomicU64::new(super::scope::first_scope_gen()),
            summary_opts: cfg.display.summary.clone(),
        }
        .with_count_lane();
        t.lanes_on = t.lane_enabled(cfg);
        Ok(t.with_early_out())
    }
}
