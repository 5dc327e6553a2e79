//! The end of a call: its return paired with the call in flight, hooks
//! at the exit, out-arguments decoded, exec and fork bookkeeping, and the
//! record.

use super::sigject::SignalInject;
use super::*;

impl Tracker {
    /// A [`Syscall`] for the exit `event` of a call of width `bitness`:
    /// at the call's own bitness and mechanism, so that the return value
    /// is read and written at the caller's width.
    fn exit_syscall<'c>(
        &self,
        bitness: Bitness,
        event: &Event,
        cpu: &'c mut dyn Cpu,
    ) -> Syscall<'c> {
        let mut ev = event.clone();
        ev.bitness = bitness;
        Syscall::new(ev, self.os_kind, cpu)
    }

    /// Whether call `p`'s exit acts through a [`Syscall`]: exit hooks, an
    /// injected return value or a `signal=` restore write through it.
    fn exit_needs_syscall(&self, p: &Pending) -> bool {
        self.has_hooks || p.inject.is_some() || matches!(p.signal, Some(SignalInject::Restore(_)))
    }

    /// The exit's hooks, injected return and signal restore, through the
    /// call's [`Tracker::exit_syscall`]: the return value as they leave it
    /// and the hooks' failures. The call's write log and hook
    /// data are lent to it and taken back (moved, not cloned).
    fn exit_through_syscall(
        &self,
        pending: &mut Pending,
        event: &Event,
        cpu: &mut dyn Cpu,
    ) -> (i64, Vec<vstrace_core::hooks::HookFailure>) {
        let mut sc = self.exit_syscall(pending.bitness, event, cpu);
        if self.has_hooks {
            sc.name = pending.info.name.to_string();
            sc.arg_names = pending.args.iter().map(|a| a.name.to_string()).collect();
        }
        sc.modifications = std::mem::take(&mut pending.modifications);
        sc.hook = std::mem::take(&mut pending.hook);
        if self.hook_wants(&pending.info.name, Direction::Exit) {
            sc.process = pending.proc_info.clone();
            sc.arg_text = pending.args.iter().map(|a| a.text.clone()).collect();
            sc.arg_values = pending.args.iter().map(|a| a.value.clone()).collect();
        }
        if let Some(action) = pending.inject {
            let v = match action {
                InjectAction::Error(e) | InjectAction::Retval(e) => e,
            };
            let _ = sc.set_return_value(v);
        }
        if let Some(SignalInject::Restore(r)) = &pending.signal {
            self.signal_restore(sc.cpu(), r, pending.delivered);
        }
        let failures = self.dispatch_hooks(&pending.info.name, &mut sc);
        if let Some(sig) = sc.take_signal() {
            // A hook's Syscall::signal at the exit: after the call.
            if pending.signal.is_none() {
                pending.signal = Some(SignalInject::After(u64::from(sig)));
            }
        }
        let ret = sc.return_value().unwrap_or(0);
        pending.modifications = std::mem::take(&mut sc.modifications);
        pending.hook = std::mem::take(&mut sc.hook);
        (ret, failures)
    }

    /// Ends call `pending` at its return `event` (`sp`: the user stack it
    /// returns to): hooks, out-arguments, exec and fork bookkeeping, and
    /// its record if it is shown. `announced`: a fork's child was already
    /// remembered as the call was taken (see [`Tracker::take_at_return`]).
    pub(super) fn finish_call(
        &self,
        mut pending: Box<Pending>,
        event: &Event,
        cpu: &mut dyn Cpu,
        now: u64,
        sp: u64,
        announced: bool,
    ) -> Option<Record> {
        if let Some(SignalInject::Marker(r)) = &pending.signal {
            // vstrace's own queueing call of a `signal=` injection.
            self.signal_marker_exit(cpu, r, pending.delivered);
            records::recycle_pending(pending);
            return None;
        }
        if self.took_count_lane(&pending) {
            return Some(self.count_finish(pending, event, cpu, now));
        }
        if attrib::changes_attribution(&pending.info) {
            self.clear_attrib();
        }
        if self.keep_names {
            // A dup2 replaces its target between its enter and here.
            self.names_kept.event(pending.info.hints);
        }
        // The time the call ran on a CPU in the kernel: the growth of the
        // thread's account since the enter.
        pending.cpu_used = self.cpu_used_since(pending.cpu_at_enter, pending.thread, event, cpu);
        let end = self.user_end(event);
        // Hooks, an injected return or a signal's restore act through a
        // Syscall (its writes logged); a plain call's exit reads its
        // return register alone (no copy of the event, no empty hook
        // data made and dropped: this is every traced call's path).
        let (mut ret, failures) = if self.exit_needs_syscall(&pending) {
            self.exit_through_syscall(&mut pending, event, cpu)
        } else {
            let rax = cpu.regs().rax();
            (
                vstrace_core::syscall::return_at_width(rax, pending.bitness),
                Vec::new(),
            )
        };
        // A multiplexer's sub-call may return through memory (i386 ipc's
        // shmat): the result strace shows.
        let split = CallArgs {
            info: &pending.info,
            raw: &pending.raw,
            opts: &self.opts,
        };
        if split.info.hints.has(CallHints::SPLIT_RETURN) {
            let user = &mut self.user(event, cpu.mem());
            if let Some(r) = self.os.split_return(split, ret, user) {
                ret = r;
            }
        }
        let mut p = pending;
        p.error = hook_error(p.error.take(), &failures);
        if !p.pokes_exit.is_empty() || p.delay_exit_us > 0 {
            let exit_hit = Injection {
                pokes: std::mem::take(&mut p.pokes_exit),
                delay_exit_us: p.delay_exit_us,
                ..Injection::default()
            };
            let tid = p.proc_info.as_ref().map(|i| i.tid);
            let mut sc = self.exit_syscall(p.bitness, event, &mut *cpu);
            // After the hooks' writes, in the call's one log.
            sc.modifications = std::mem::take(&mut p.modifications);
            p.error = self.tamper(
                &mut sc,
                &p.info.name,
                &p.raw,
                tid,
                &exit_hit,
                true,
                end,
                p.error.take(),
            );
            p.modifications = std::mem::take(&mut sc.modifications);
        }
        // A successful exec has replaced the address space: nothing of the
        // old one can be read again.
        // Path arguments are read again at the exit: another thread may
        // have rewritten the buffer while the call ran (what the kernel
        // read is one of the two), and in-arguments unreadable at entry
        // (not faulted in yet) can be read now the kernel did.
        let decode = self.decodes_call(&p.info);
        let opts = self.call_opts(&p.info);
        let paths = if decode
            && p.shown
            && self.pair_by_thread
            && !p.info.exec
            && p.info.hints.has(CallHints::PATH_ARGS)
        {
            self.os.path_args(&p.info)
        } else {
            Vec::new()
        };
        if decode && (p.retry || !paths.is_empty()) && !p.info.exec {
            let fresh = self.decode_enter(&p.info, &p.raw, &mut self.user(event, cpu.mem()), &opts);
            for (i, (a, f)) in p.args.iter_mut().zip(fresh).enumerate() {
                let failed = a.text.as_deref().is_some_and(|v| v.starts_with("0x"));
                if failed && f.text.is_some() {
                    a.text = f.text;
                    a.value = f.value;
                } else if let (Some(at), Some(now)) = (&a.text, f.text) {
                    if paths.contains(&(i + 1)) && *at != now && !now.starts_with("0x") {
                        p.changed.push(crate::record::ArgChange {
                            arg: i,
                            at_exit: now,
                        });
                    }
                }
            }
        }
        let call = CallArgs {
            info: &p.info,
            raw: &p.raw,
            opts: &opts,
        };
        if decode {
            self.os
                .decode_exit(call, ret, &mut self.user(event, cpu.mem()), &mut p.args);
            let hints = p.info.hints;
            if hints.has(CallHints::RETURN_DETAIL) {
                p.ret_detail = self
                    .os
                    .return_detail(call, ret, &mut self.user(event, cpu.mem()));
            }
            if p.shown && hints.has(CallHints::BY_FD) {
                self.os
                    .decode_by_fd(event, cpu.mem(), end, call, Some(ret), &mut p.args);
            }
            p.ret_hex = hints.has(CallHints::RETURN_IN_HEX) && self.os.return_in_hex(call, ret);
        }
        let reaped = if p.info.hints.has(CallHints::REAPS) {
            let user = &mut self.user(event, cpu.mem());
            self.os.reaped_by_signal(call, ret, user)
        } else {
            None
        };
        if let Some((child, how)) = reaped {
            self.end_killed_calls(child);
            let r = self.killed(event, &p, child, how, now);
            self.push_extra(r);
        }
        if let Some(SignalInject::After(sig)) = p.signal {
            // Last of what the exit changes: the caller is rewound onto
            // the queueing call, its result kept for the marker.
            let key = ThreadKey {
                cr3: cr3_key(event.cr3),
                sp,
            };
            let mut mods = std::mem::take(&mut p.modifications);
            if let Err(e) = self.signal_after(sig, &p, event, cpu, key, p.delivered, &mut mods) {
                eprintln!("vstrace: {e}");
                p.error = Some(match p.error.take() {
                    Some(x) => format!("{x}; {e}"),
                    None => e,
                });
            }
            p.modifications = mods;
        }
        let dumps = self.dumps();
        if p.shown && decode && dumps.any() && !p.info.exec {
            let io = dumps.at_exit(
                &p.info.name,
                &p.raw,
                ret,
                p.bitness,
                &mut self.user(event, cpu.mem()),
            );
            p.io.extend(io);
        }
        if p.shown && self.names.any() {
            let call = CallArgs {
                info: &p.info,
                raw: &p.raw,
                opts: &opts,
            };
            let (suffix, fds) =
                self.os
                    .name_exit(event, cpu.mem(), call, ret, &self.names, &mut p.args);
            p.ret_name = suffix;
            p.fds.extend(fds);
        } else if p.shown && self.record_names {
            let call = CallArgs {
                info: &p.info,
                raw: &p.raw,
                opts: &opts,
            };
            // Read for the recording only (see `record_names`).
            let mut scratch = p.args.clone();
            self.os
                .name_exit(event, cpu.mem(), call, ret, &ALL_NAMES, &mut scratch);
        }
        let mut new_tid = None;
        let mut ended = Vec::new();
        if p.info.exec && ret == 0 {
            new_tid = self.exec_switched_thread(event, cpu.mem(), &p);
            if let Some(me) = &p.proc_info {
                ended = self.end_other_threads(me.pid, me.tid);
            }
            if decode {
                self.os
                    .exec_fixup(call, sp, &mut self.user(event, cpu.mem()), &mut p.args);
            }
            // The new image runs in a new address space.
            if let Some(s) = &self.scope {
                let mut s = self.scope_mut(s);
                let new = cr3_key(event.cr3);
                let pid = p.proc_info.as_ref().map(|i| i.pid);
                if p.root_exec {
                    s.spaces.insert(new, false);
                } else if p.pre_scope {
                    // The launcher became the command: its old address
                    // space is freed and may be reused by anyone.
                    s.leave(p.cr3);
                    s.join(new, pid);
                    p.shown = self.trace.contains_call(&p.info.name, p.info.abi) && p.fd_pass;
                } else if s.spaces.get(&p.cr3) == Some(&true) {
                    // The old space is freed unless it was borrowed (a
                    // vfork child execs out of its parent's space).
                    if s.by_process && pid.is_some() && s.owned_by(p.cr3, pid) {
                        s.leave(p.cr3);
                    }
                    s.owners.remove(&new);
                    s.join(new, pid);
                }
            }
        }
        if p.info.fork && ret > 0 && self.follow_forks {
            // -f: the child of a traced process is traced (one picked by
            // its comm too: the child stays traced when it renames itself).
            let traced = |i: &ProcInfo| {
                self.pid_traced(i.pid) || self.comms.iter().any(|c| i.comm.as_deref() == Some(c))
            };
            if p.proc_info.as_ref().is_some_and(traced) {
                write(&self.pids).insert(ret as u32);
            }
        }
        if p.info.fork && ret > 0 && !announced && !p.child_shares_space {
            self.push_recent_fork(RecentFork::of(&p, sp));
        }
        if p.comm_exec {
            // The exec's new program: picked by its name now (the kernel
            // renamed the task before returning), else never tracked.
            let who = if ret == 0 {
                self.who(event, cpu.mem())
            } else {
                None
            };
            let named = who
                .as_ref()
                .is_some_and(|w| self.comms.iter().any(|c| w.comm.as_deref() == Some(c)));
            if !named {
                return None;
            }
            if let Some(w) = &who {
                write(&self.pids).insert(w.pid);
            }
            // The record is the named program's, as its other calls are.
            if who.is_some() {
                p.proc_info = who;
            }
            p.shown = self.trace.contains_call(&p.info.name, p.info.abi) && p.fd_pass;
        }
        if p.shown && ended.is_empty() && new_tid.is_none() {
            // Every traced call's path: the record built in the caller's
            // slot (a record is several hundred bytes; binding it first
            // and returning the binding copied it twice per call).
            let ret = self.os.record_return(ret);
            return Some(self.record(p, CallState::Complete, Some(ret), Some(now)));
        }
        let mut rec = if p.shown {
            let ret = self.os.record_return(ret);
            Some(self.record(p, CallState::Complete, Some(ret), Some(now)))
        } else {
            self.hidden_record(p, ret, now)
        };
        if let Some(r) = &mut rec {
            r.new_tid = new_tid;
        }
        if ended.is_empty() {
            return rec;
        }
        // The ended calls' records come first (their threads ended before
        // the exec returned), the exec's after them: its text tells their
        // ends among its own lines, as strace does.
        if let Some(r) = &mut rec {
            r.ended = ended.clone();
        }
        let mut ended = ended.into_iter();
        let first = ended.next();
        for r in ended.chain(rec) {
            self.push_extra(r);
        }
        first
    }

    /// After a successful exec `p`: the thread id the caller returned
    /// with, when it was not its process's leader (the kernel moved it to
    /// the leader's id; see [`Record::new_tid`]).
    fn exec_switched_thread(
        &self,
        event: &Event,
        mem: &mut dyn VirtMem,
        p: &Pending,
    ) -> Option<u32> {
        let before = p.proc_info.as_ref()?;
        if before.tid == before.pid {
            return None;
        }
        let after = self.who(event, mem)?;
        (after.tid != before.tid).then_some(after.tid)
    }
}
