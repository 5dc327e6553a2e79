//! Which calls are shown beyond the trace set: the `-P` / `trace-fds=`
//! filter (applied before decoding), and whether an exec names the
//! command whose tree is traced.

use super::*;

impl Tracker {
    /// `-e trace-fds=` / `-P`: whether the call has one of the fds as an
    /// argument, or one of the paths as a path argument or as what an fd
    /// argument names. True when neither is set (nothing is read then).
    pub(super) fn fd_filter_passes(
        &self,
        event: &Event,
        info: &CallInfo,
        raw: &[u64],
        sc: &mut Syscall<'_>,
    ) -> bool {
        if !self.fd_filter_on() {
            return true;
        }
        let (fds, paths) =
            match self
                .os
                .trace_targets(info, raw, &mut self.user(event, sc.cpu().mem()))
            {
                Some(t) => t,
                None => {
                    let fd_of = |i: usize| raw.get(i - 1).map(|&v| i64::from(v as u32 as i32));
                    let fds = self
                        .os
                        .fd_args(info)
                        .into_iter()
                        .filter_map(fd_of)
                        .collect();
                    (fds, self.os.path_args(info))
                }
            };
        if fds.iter().any(|fd| self.trace_fds.contains(fd)) {
            return true;
        }
        if self.trace_paths.is_empty() {
            return false;
        }
        for idx in paths {
            if idx <= raw.len() {
                let p = self.os.read_path(sc, idx);
                if p.is_some_and(|p| self.trace_paths.contains(&p)) {
                    return true;
                }
            }
        }
        fds.into_iter().filter(|&fd| fd >= 0).any(|fd| {
            self.os
                .fd_is_one_of(event, sc.cpu().mem(), fd, &self.trace_paths)
                == Some(true)
        })
    }

    /// Whether `-P` or `trace-fds=` is given.
    pub(super) fn fd_filter_on(&self) -> bool {
        !(self.trace_fds.is_empty() && self.trace_paths.is_empty())
    }

    /// Whether `-P` / `trace-fds=` can let call `info` through at all
    /// (true without them): a call with no descriptor or path to match
    /// never can, whatever its arguments.
    pub(super) fn fd_filter_may_pass(&self, info: &CallInfo) -> bool {
        (self.trace_fds.is_empty() && self.trace_paths.is_empty())
            || self.os.may_match_targets(info)
    }

    /// The `-P` / `trace-fds=` verdict taken before the caller is
    /// attributed, for a call that is dropped when it fails (nothing but
    /// its showing depends on it: no process end, exec, fork or reap, no
    /// hook): `Some(false)` drops it without the attribution's task walk.
    /// `None` when the filter is off or the call needs the full path
    /// anyway.
    pub(super) fn fd_filter_first(
        &self,
        event: &Event,
        info: &CallInfo,
        split_raw: Option<&[u64]>,
        cpu: &mut dyn Cpu,
    ) -> Option<bool> {
        if (self.trace_fds.is_empty() && self.trace_paths.is_empty())
            || info.ends_process
            || info.returns_elsewhere
            || self.lifecycle(info)
            || self.hook_wants(&info.name, Direction::Enter)
            || self.hook_wants(&info.name, Direction::Exit)
        {
            return None;
        }
        if !self.os.may_match_targets(info) {
            return Some(false);
        }
        if split_raw.is_none() {
            if let Some(v) = self.paths_by_register_fds(event, info, cpu) {
                return Some(v);
            }
        }
        let mut sc = Syscall::new(event.clone(), self.os_kind, cpu);
        let raw = match split_raw {
            Some(r) => RawArgs::read(r.len(), |i| r.get(i - 1).copied().unwrap_or(0)),
            None => {
                let nargs = info.nargs.min(sc.max_args().unwrap_or(0));
                RawArgs::read(nargs, |i| sc.arg(i).unwrap_or(0))
            }
        };
        Some(self.fd_filter_passes(event, info, &raw, &mut sc))
    }

    /// `-P` for a call matched by register descriptors alone, with its
    /// verdict cache on (see [`super::pathcache`]): whether one of them
    /// is one of `trace-fds=`'s or names a path of `-P`. The descriptors
    /// found open on no such path are remembered for the lock-free check
    /// of the next calls. None: not such a call (the general filter
    /// decides).
    fn paths_by_register_fds(
        &self,
        event: &Event,
        info: &CallInfo,
        cpu: &mut dyn Cpu,
    ) -> Option<bool> {
        let cache = &self.early.paths;
        if !cache.on() {
            return None;
        }
        let mask = cache.mask(early::slot(info.nr, event.bitness)?);
        if mask == 0 {
            return None;
        }
        // Taken before anything is read: a verdict read across a change
        // is not kept.
        let gen = cache.generation();
        let mut sc = Syscall::new(event.clone(), self.os_kind, cpu);
        let mut open = [None; early::MAX_REG_ARGS];
        for (k, slot) in open.iter_mut().enumerate() {
            if mask & (1 << k) == 0 {
                continue;
            }
            let fd = i64::from(sc.arg(k + 1).ok()? as u32 as i32);
            if self.trace_fds.contains(&fd) {
                return Some(true);
            }
            if fd < 0 {
                continue;
            }
            match self
                .os
                .fd_is_one_of(event, sc.cpu().mem(), fd, &self.trace_paths)
            {
                Some(true) => return Some(true),
                Some(false) => *slot = Some(fd),
                None => {}
            }
        }
        let cr3 = event.cr3;
        for fd in open.into_iter().flatten() {
            cache.fill(cr3, fd, gen);
        }
        Some(false)
    }

    /// A clone or fork with `-P`'s verdict cache on: a thread of the
    /// same address space with a descriptor table of its own turns the
    /// cache off for good (its verdicts would be its siblings').
    pub(super) fn clone_checked_for_paths(
        &self,
        event: &Event,
        info: &CallInfo,
        cpu: &mut dyn Cpu,
    ) {
        let mut sc = Syscall::new(event.clone(), self.os_kind, cpu);
        let raw = RawArgs::read(info.nargs.min(2), |i| sc.arg(i).unwrap_or(0));
        if self
            .os
            .hides_fd_changes(info, &raw, &mut self.user(event, sc.cpu().mem()))
        {
            self.early.paths.set_on(false);
        }
    }

    /// For a recording: makes the reads `-P` / `trace-fds=` would make
    /// for a shown call (the descriptors in its sets and arrays, what
    /// each names in the kernel, its path arguments), so that a replay
    /// given those options after the fact filters as the live run would.
    /// `named`: descriptors already named for `-y` (read or kept: not
    /// read again).
    pub(super) fn record_targets(
        &self,
        event: &Event,
        info: &CallInfo,
        raw: &[u64],
        sc: &mut Syscall<'_>,
        named: &[vstrace_core::FdPath],
    ) {
        let Some((fds, paths)) =
            self.os
                .trace_targets(info, raw, &mut self.user(event, sc.cpu().mem()))
        else {
            return;
        };
        for idx in paths.into_iter().filter(|&i| i <= raw.len()) {
            let _ = self.os.read_path(sc, idx);
        }
        for fd in fds
            .into_iter()
            .filter(|&fd| fd >= 0 && !named.iter().any(|n| n.fd == fd))
        {
            let _ = self.os.fd_path(event, sc.cpu().mem(), fd);
        }
    }

    /// Whether an exec's arguments name the scope's root command.
    pub(super) fn names_root(&self, event: &Event, info: &CallInfo, cpu: &mut dyn Cpu) -> bool {
        let Some(scope) = &self.scope else {
            return false;
        };
        let mut sc = Syscall::new(event.clone(), self.os_kind, cpu);
        let nargs = info.nargs.min(sc.max_args().unwrap_or(0));
        let raw = RawArgs::read(nargs, |i| sc.arg(i).unwrap_or(0));
        // Decoded in full, whatever -s says.
        let opts = DecodeOptions {
            strsize: 4096,
            ..Default::default()
        };
        let args = self.decode_enter(info, &raw, &mut self.user(event, sc.cpu().mem()), &opts);
        args.iter()
            .filter_map(|a| a.text.as_deref())
            .any(|v| v.contains(read(scope).root_arg.as_str()))
    }
}
