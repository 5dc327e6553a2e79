//! The memory side of `--inject`: strace's `poke_enter=`/`poke_exit=`
//! writes and `delay_enter=`/`delay_exit=` holds, applied to one side of
//! a call (the fault itself, `error=`/`retval=`, is the call number and
//! return value, set where the call is entered and left).

use super::*;

impl Tracker {
    /// Applies the pokes and the delay of `hit` for one side of call
    /// `name` (`at_exit`), its arguments `raw`, made by thread `tid`:
    /// writes through the caller's user memory (below `end`), notes them
    /// in `sc`'s modifications, and returns `error` with what failed
    /// added (strace's "Failed to tamper with process N: ..." words,
    /// also printed on stderr as strace does).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn tamper(
        &self,
        sc: &mut Syscall<'_>,
        name: &str,
        raw: &[u64],
        tid: Option<u32>,
        hit: &Injection,
        at_exit: bool,
        end: u64,
        error: Option<String>,
    ) -> Option<String> {
        if !hit.acts_at(at_exit) {
            return error;
        }
        let delay = if at_exit {
            hit.delay_exit_us
        } else {
            hit.delay_enter_us
        };
        let mut mods = std::mem::take(&mut sc.modifications);
        let failed = apply_pokes(
            &mut user(sc.cpu().mem(), end),
            name,
            raw,
            tid,
            &hit.pokes,
            at_exit,
            &mut mods,
        );
        if delay > 0 {
            // The vCPU is held: under TCG the guest's clocks go on, so
            // the caller (and, on its vCPU, everything else) waits.
            std::thread::sleep(std::time::Duration::from_micros(delay));
            mods.push(vstrace_core::Modification {
                target: if at_exit { "delay_exit" } else { "delay_enter" }.into(),
                location: "vcpu".into(),
                before: 0,
                after: delay,
                before_text: None,
                after_text: None,
            });
        }
        sc.modifications = mods;
        if failed.is_empty() {
            return error;
        }
        for f in &failed {
            eprintln!("vstrace: {f}");
        }
        let mut parts: Vec<String> = error.into_iter().collect();
        parts.extend(failed);
        Some(parts.join("; "))
    }
}
