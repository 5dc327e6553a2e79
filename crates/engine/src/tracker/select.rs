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
        if self.trace_fds.is_empty() && self.trace_paths.is_empty() {
            return true;
        }
        let end = self.user_end(event);
        let (fds, paths) = match self
            .os
            .trace_targets(info, raw, &mut user(sc.cpu().mem(), end))
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
        })
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
        let end = self.user_end(event);
        let args = self.decode_enter(info, &raw, &mut user(sc.cpu().mem(), end), &opts);
        args.iter()
            .filter_map(|a| a.text.as_deref())
            .any(|v| v.contains(read(scope).root_arg.as_str()))
    }
}
