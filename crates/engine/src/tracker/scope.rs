//! Which processes a scoped trace follows (strace `-f` from the command
//! the guest's launcher execs): address spaces, and where the OS layer
//! attributes calls, the processes that own them.

use std::sync::atomic::Ordering;
use std::sync::{RwLock, RwLockWriteGuard};

use vstrace_core::fasthash::{FastMap as HashMap, FastSet as HashSet};

use vstrace_core::ProcInfo;

use super::state::{read, write};
use super::Tracker;

/// Which address spaces are traced when tracing is scoped to one command
/// and its descendants (strace -f semantics), without any OS profile.
/// The guest's launcher is the exec whose arguments name `root_arg` (the
/// built-in guest's `/bin/sh /vstrace/cmd`); its image is *armed*
/// (`false`): tracing starts at its next exec, the user's command, as
/// strace's does. Traced (`true`) address spaces pass that on through
/// exec; fork children join when their first return (rax 0, to the
/// parent's clone ip and sp, in a new address space) is seen; an address
/// space leaves at exit_group.
///
/// Where the OS layer attributes calls, the scope also follows processes:
/// each traced space has an owner (the process that execs into it or
/// forked it), and the traced processes are remembered. An address space
/// is a page-table root the kernel frees and reuses: a call in a traced
/// space made by a process that is neither traced nor a child of a traced
/// one means the space was freed (its process killed, or gone without an
/// exit_group) and reused, and the space leaves the scope. Only the
/// owner's exit_group or exec frees a space: a vfork child exits and execs
/// in its parent's.
pub(super) struct Scope {
    pub(super) root_arg: String,
    pub(super) spaces: HashMap<u64, bool>,
    pub(super) owners: HashMap<u64, u32>,
    pub(super) procs: HashSet<u32>,
    /// Follow processes as well as address spaces
    /// ([`EngineConfig::pair_by_thread`]: off only to replay a recording
    /// made before, as it was traced).
    pub(super) by_process: bool,
}

/// Most processes a scope remembers (the set is cleared when full: the
/// owners of the traced spaces still say who is traced).
const MAX_SCOPE_PROCS: usize = 1 << 16;

impl Scope {
    /// Records that `pid` runs in the traced space `cr3` (its owner if it
    /// has none yet).
    pub(super) fn join(&mut self, cr3: u64, pid: Option<u32>) {
        self.spaces.insert(cr3, true);
        if let Some(pid) = pid {
            self.owners.entry(cr3).or_insert(pid);
            if self.procs.len() >= MAX_SCOPE_PROCS {
                self.procs.clear();
            }
            self.procs.insert(pid);
        }
    }

    /// A space its owner no longer runs in (exit_group, exec).
    pub(super) fn leave(&mut self, cr3: u64) {
        self.spaces.remove(&cr3);
        self.owners.remove(&cr3);
    }

    /// Whether `pid`, calling in the traced space `cr3`, leaves that space
    /// where it is: no owner or attribution known (the profile-less
    /// rules), or `pid` is its owner.
    pub(super) fn owned_by(&self, cr3: u64, pid: Option<u32>) -> bool {
        if !self.by_process {
            return true;
        }
        match (self.owners.get(&cr3), pid) {
            (Some(o), Some(p)) => *o == p,
            _ => true,
        }
    }

    /// Whether [`Scope::admits`] would admit `pid` in `cr3` and change
    /// nothing (the steady state: the space's owner calls again): the
    /// check the vCPUs make under a shared lock (see
    /// [`Tracker::scope_admitted`]), taking the exclusive one only when
    /// this says no.
    pub(super) fn admitted_pid(&self, cr3: u64, pid: u32) -> bool {
        self.spaces.get(&cr3) == Some(&true)
            && self.owners.get(&cr3) == Some(&pid)
            && self.procs.contains(&pid)
            && self.procs.len() < MAX_SCOPE_PROCS
    }

    /// Whether a call by `who` in the traced space `cr3` belongs to the
    /// traced tree: its owner, a traced process, or a child of one (a
    /// vfork or CLONE_VM child). A descendant joins.
    pub(super) fn admits(&mut self, cr3: u64, who: &ProcInfo) -> bool {
        if self.owners.get(&cr3).is_none_or(|o| *o == who.pid) || self.procs.contains(&who.pid) {
            self.join(cr3, Some(who.pid));
            return true;
        }
        if who.ppid.is_some_and(|pp| self.procs.contains(&pp)) {
            self.procs.insert(who.pid);
            return true;
        }
        false
    }
}

/// The scope's steady-state answers, remembered per vCPU: every call's
/// enter asks in which state its address space is and, attributed,
/// whether its caller is admitted; under the scope's shared lock each ask
/// wrote the lock's word, a cache line every vCPU passed around. A vCPU
/// keeps its last answers with the scope's generation, which every change
/// of the scope bumps (under its exclusive lock: an answer taken under
/// the shared lock carries the generation it was true for). The space's
/// state is remembered by the thread that asked, per vCPU, without a lock
/// (a lock of the vCPU's caches was two atomic operations at every enter).
impl Tracker {
    /// The scope, locked for a change (its generation bumped).
    pub(super) fn scope_mut<'a>(&self, s: &'a RwLock<Scope>) -> RwLockWriteGuard<'a, Scope> {
        let g = write(s);
        self.scope_gen.fetch_add(1, Ordering::AcqRel);
        g
    }

    /// The state of space `cr3` in the scope (traced `Some(true)`, armed
    /// `Some(false)`, else None) for an event of vCPU `vcpu`.
    pub(super) fn space_state(&self, s: &RwLock<Scope>, vcpu: u32, cr3: u64) -> Option<bool> {
        let gen = self.scope_gen.load(Ordering::Acquire);
        let slot = vcpu as usize % MEMO_SLOTS;
        if let Some((g, v, c, state)) = SPACE_MEMO.with(|m| m[slot].get()) {
            if g == gen && v == vcpu && c == cr3 {
                return state;
            }
        }
        let (gen, state) = {
            let s = read(s);
            // Read under the lock: no change runs meanwhile.
            (
                self.scope_gen.load(Ordering::Acquire),
                s.spaces.get(&cr3).copied(),
            )
        };
        SPACE_MEMO.with(|m| m[slot].set(Some((gen, vcpu, cr3, state))));
        state
    }

    /// [`Scope::admitted_pid`] for an event of vCPU `vcpu`.
    pub(super) fn scope_admitted(&self, s: &RwLock<Scope>, vcpu: u32, cr3: u64, pid: u32) -> bool {
        let gen = self.scope_gen.load(Ordering::Acquire);
        if self.attrib.of(vcpu).admit_memo == Some((gen, cr3, pid)) {
            return true;
        }
        let (gen, admitted) = {
            let s = read(s);
            (
                self.scope_gen.load(Ordering::Acquire),
                s.admitted_pid(cr3, pid),
            )
        };
        if admitted {
            self.attrib.of(vcpu).admit_memo = Some((gen, cr3, pid));
        }
        admitted
    }
}

/// vCPU slots of a thread's memo of space states.
const MEMO_SLOTS: usize = 64;

/// One answer of `Tracker::space_state`: (scope generation, vCPU, space,
/// state).
type SpaceAnswer = Option<(u64, u32, u64, Option<bool>)>;

std::thread_local! {
    /// This thread's last answer of `Tracker::space_state` per vCPU slot.
    /// Generations are unique across trackers ([`first_scope_gen`]): no
    /// tracker takes another's.
    static SPACE_MEMO: [std::cell::Cell<SpaceAnswer>; MEMO_SLOTS] =
        const { [const { std::cell::Cell::new(None) }; MEMO_SLOTS] };
}

/// The first scope generation of a new tracker: trackers count theirs
/// from bases 2^40 apart, so that a thread's memo of one tracker's
/// answers ([`SPACE_MEMO`]) never matches another tracker's generation.
pub(super) fn first_scope_gen() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed) << 40
}
