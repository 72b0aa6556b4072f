//! User-mode locks: critical sections, slim reader/writer locks and condition variables
//! (facts in section 20 of docs/semantics.md).
//!
//! On Windows these are structures in the program's memory, not kernel objects: no
//! handle, no name, no security. A program holds them as Rust values
//! ([`crate::api::CRITICAL_SECTION`], [`crate::api::SRWLOCK`],
//! [`crate::api::CONDITION_VARIABLE`]) carrying an id; the kernel keeps their state here,
//! keyed by the process and that id, as NT keeps keyed-event waiters keyed by address.
//! The key includes the process because the structure lives in that process's memory.
//!
//! **Decision made:** a release with waiters hands the lock to one of them (a scheduler
//! decision, `ChoiceKind::Waiter`), which returns from its call owning it. Windows does
//! not promise hand-off (since Vista a woken waiter competes with the releaser and late
//! comers); winsim's choice of waiter covers which thread gets the lock next, but not a
//! releaser that re-takes the lock before any waiter runs (§20.4 \[inferred\]).

use crate::error::*;
use crate::kernel::ops::{OpId, OpKind};
use crate::kernel::request::{Reply, Value};
use crate::kernel::sched::ChoiceKind;
use crate::kernel::{CallResult, Exec, Kernel, Pid, Tid};
use crate::report::WaitEdge;
use std::collections::BTreeMap;

/// Which kind of user-mode structure a lock id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// CRITICAL_SECTION.
    CriticalSection,
    /// SRWLOCK.
    Srw,
    /// CONDITION_VARIABLE.
    ConditionVariable,
}

/// The state of one user-mode lock or condition variable.
#[derive(Clone, Debug)]
pub struct ULock {
    /// What it is.
    pub kind: LockKind,
    /// The exclusive owner (a critical section's owner, an SRW lock's writer).
    pub owner: Option<Tid>,
    /// A critical section's recursion count. Invariant: `owner.is_some() == (count > 0)`
    /// for a critical section.
    pub count: u32,
    /// An SRW lock's shared owners (a thread may appear more than once).
    pub shared: Vec<Tid>,
    /// Pending operations waiting for it (lock waits, or a condition variable's sleepers),
    /// in arrival order.
    pub waiters: Vec<OpId>,
}

impl ULock {
    fn new(kind: LockKind) -> ULock {
        ULock { kind, owner: None, count: 0, shared: Vec::new(), waiters: Vec::new() }
    }
}

/// All user-mode locks of the machine.
#[derive(Clone, Debug, Default)]
pub struct Locks {
    /// The last id handed out (ids start at 1; 0 is "not initialised").
    pub next_id: u64,
    /// State by (process, id).
    pub map: BTreeMap<(Pid, u64), ULock>,
    /// WaitOnAddress waiters by (process, address), in the order they began to wait
    /// (§26). Invariant: each is a pending `OpKind::AddressWait` of that process; no
    /// empty queue is kept.
    pub address_waits: BTreeMap<(Pid, u64), Vec<crate::kernel::ops::OpId>>,
    /// One-time initialisations by (process, id) (§26.8); absent: never begun.
    pub init_onces: BTreeMap<(Pid, u64), InitOnce>,
}

crate::kernel::lazy::fresh_shared!(Locks);

/// An INIT_ONCE's state (synchronous mode).
#[derive(Clone, Debug, Default)]
pub struct InitOnce {
    /// Who is initialising it, if someone is.
    pub running: Option<Tid>,
    /// The context it completed with, once it has.
    pub done: Option<u64>,
    /// InitOnceBeginInitialize calls waiting for the initialiser, in order.
    pub waiters: Vec<OpId>,
}

/// A user-mode lock's name in traces and reports.
pub(crate) fn lock_name(kind: LockKind, id: u64) -> String {
    match kind {
        LockKind::CriticalSection => format!("critical section #{id}"),
        LockKind::Srw => format!("SRW lock #{id}"),
        LockKind::ConditionVariable => format!("condition variable #{id}"),
    }
}

impl Kernel {
    /// A fresh id for a user-mode lock (`ThreadCtx` assigns it when the program
    /// initialises the structure or first uses a statically initialised one).
    pub(crate) fn alloc_lock_id(&mut self) -> u64 {
        self.locks.next_id += 1;
        self.locks.next_id
    }

    /// Ends the run as `Failed` for a program error in a lock call (undefined behaviour on
    /// Windows) and returns a reply that nothing will see.
    fn lock_misuse(&mut self, pid: Pid, tid: Tid, message: String) -> Exec {
        if self.stop.is_none() {
            self.stop = crate::kernel::Stop::of(crate::report::Outcome::Failed { pid, tid, message, location: None });
        }
        Exec::Done(Reply::error(ERROR_INVALID_PARAMETER))
    }

    /// The state of a lock of this kind, made on first use for SRW locks and condition
    /// variables (zero-initialised structures are valid), required for critical sections.
    fn lock_entry(&mut self, pid: Pid, id: u64, kind: LockKind) -> Result<&mut ULock, String> {
        if id == 0 && kind == LockKind::CriticalSection {
            return Err("a critical section that was never initialised (InitializeCriticalSection)".into());
        }
        if kind != LockKind::CriticalSection {
            self.locks.map.entry((pid, id)).or_insert_with(|| ULock::new(kind));
        }
        match self.locks.map.get_mut(&(pid, id)) {
            None => Err(format!("{} that was never initialised in this process or was deleted", lock_name(kind, id))),
            Some(l) if l.kind != kind => Err(format!("{} used as a {kind:?}", lock_name(l.kind, id))),
            Some(l) => Ok(l),
        }
    }

    /// Takes the lock for `tid` if it can have it now.
    fn try_take(&mut self, pid: Pid, id: u64, tid: Tid, shared: bool) -> bool {
        let Some(l) = self.locks.map.get_mut(&(pid, id)) else { return false };
        match l.kind {
            LockKind::CriticalSection => {
                if l.owner.is_none() || l.owner == Some(tid) {
                    l.owner = Some(tid);
                    l.count += 1;
                    return true;
                }
                false
            }
            LockKind::Srw if shared => {
                // A shared acquire waits behind a writer and behind queued waiters (§20.9
                // [inferred]: Windows queues late readers behind a waiting writer).
                if l.owner.is_none() && l.waiters.is_empty() {
                    l.shared.push(tid);
                    return true;
                }
                false
            }
            LockKind::Srw => {
                if l.owner.is_none() && l.shared.is_empty() {
                    l.owner = Some(tid);
                    return true;
                }
                false
            }
            LockKind::ConditionVariable => false,
        }
    }

    /// Enter/Acquire: takes the lock, or blocks until a release hands it over.
    fn acquire_lock(&mut self, pid: Pid, tid: Tid, id: u64, kind: LockKind, shared: bool, api: &str) -> Exec {
        if let Err(m) = self.lock_entry(pid, id, kind) {
            return self.lock_misuse(pid, tid, format!("T{tid} called {api} on {m}"));
        }
        if self.try_take(pid, id, tid, shared) {
            self.note_effect(|k| format!("acquired; {}", k.lock_state(pid, id)));
            return Exec::Done(Value::Void.into());
        }
        let op = self.new_op(tid, OpKind::LockWait { lock: id, shared, then: None }, None);
        self.locks.map.get_mut(&(pid, id)).expect("checked above").waiters.push(op);
        Exec::Block(op)
    }

    /// TryEnter/TryAcquire: takes the lock if it can, never blocks.
    fn try_acquire_lock(&mut self, pid: Pid, tid: Tid, id: u64, kind: LockKind, shared: bool, api: &str) -> Exec {
        if let Err(m) = self.lock_entry(pid, id, kind) {
            return self.lock_misuse(pid, tid, format!("T{tid} called {api} on {m}"));
        }
        let got = self.try_take(pid, id, tid, shared);
        self.note_effect(|k| {
            if got {
                format!("acquired; {}", k.lock_state(pid, id))
            } else {
                format!("not acquired: {}", k.lock_state(pid, id))
            }
        });
        // Neither sets the last error (TryEnterCriticalSection, TryAcquireSRWLock* docs).
        Exec::Done(Value::Bool(got).into())
    }

    /// Leave/Release: gives up one level of ownership; checks the caller owns it.
    fn release_lock(&mut self, pid: Pid, tid: Tid, id: u64, kind: LockKind, shared: bool, api: &str) -> Exec {
        let l = match self.lock_entry(pid, id, kind) {
            Ok(l) => l,
            Err(m) => return self.lock_misuse(pid, tid, format!("T{tid} called {api} on {m}")),
        };
        let name = lock_name(kind, id);
        let freed = match (kind, shared) {
            (LockKind::CriticalSection, _) | (LockKind::Srw, false) if l.owner != Some(tid) => {
                let who = l.owner.map(|o| format!("owned by T{o}")).unwrap_or_else(|| "not owned".into());
                let m = format!(
                    "T{tid} called {api} on {name}, which it does not own ({who}); this is undefined on Windows"
                );
                return self.lock_misuse(pid, tid, m);
            }
            (LockKind::CriticalSection, _) => {
                l.count -= 1;
                if l.count == 0 {
                    l.owner = None;
                }
                l.count == 0
            }
            (_, false) => {
                l.owner = None;
                true
            }
            (_, true) => match l.shared.iter().position(|&t| t == tid) {
                Some(i) => {
                    l.shared.remove(i);
                    l.shared.is_empty()
                }
                None => {
                    let m = format!(
                        "T{tid} called {api} on {name}, which it does not hold shared; this is undefined on Windows"
                    );
                    return self.lock_misuse(pid, tid, m);
                }
            },
        };
        let woken = if freed { self.grant_lock(pid, id, &format!("{api} by T{tid}")) } else { 0 };
        self.note_effect(|k| match woken {
            0 => format!("released; {}", k.lock_state(pid, id)),
            n => format!("released; handed to {n} waiter(s); {}", k.lock_state(pid, id)),
        });
        Exec::Done(Value::Void.into())
    }

    /// The lock became free: hands it to a waiter chosen by the scheduler (and, when that
    /// waiter takes it shared, to every other shared waiter). Returns how many it woke.
    fn grant_lock(&mut self, pid: Pid, id: u64, cause: &str) -> usize {
        let waiters = match self.locks.map.get(&(pid, id)) {
            Some(l) if !l.waiters.is_empty() => l.waiters.clone(),
            _ => return 0,
        };
        let tids: Vec<Tid> = waiters.iter().map(|&op| self.ops[op].tid).collect();
        let winner = self.choose(ChoiceKind::Waiter, &tids);
        let first = waiters[tids.iter().position(|&t| t == winner).expect("chosen among them")];
        let shared = matches!(self.ops[first].kind, OpKind::LockWait { shared: true, .. });
        let mut chosen = vec![first];
        if shared {
            chosen.extend(
                waiters
                    .iter()
                    .copied()
                    .filter(|&op| op != first && matches!(self.ops[op].kind, OpKind::LockWait { shared: true, .. })),
            );
        }
        let l = self.locks.map.get_mut(&(pid, id)).expect("has waiters");
        l.waiters.retain(|op| !chosen.contains(op));
        for &op in &chosen {
            let t = self.ops[op].tid;
            let l = self.locks.map.get_mut(&(pid, id)).expect("has waiters");
            match (l.kind, shared) {
                (LockKind::CriticalSection, _) => {
                    l.owner = Some(t);
                    l.count = 1;
                }
                (_, true) => l.shared.push(t),
                (_, false) => l.owner = Some(t),
            }
            self.finish_lock_wait(op, cause);
        }
        chosen.len()
    }

    /// A lock wait got its lock: the call returns (a SleepConditionVariable* with its
    /// result, TRUE or FALSE with ERROR_TIMEOUT).
    fn finish_lock_wait(&mut self, op: OpId, cause: &str) {
        let reply = match self.ops[op].kind {
            OpKind::LockWait { then: Some(true), .. } => Reply::error(ERROR_TIMEOUT),
            OpKind::LockWait { then: Some(false), .. } => Value::Bool(true).into(),
            _ => Value::Void.into(),
        };
        self.complete_op(op, reply, cause);
    }

    /// A sleeper on a condition variable was woken (or timed out): it re-acquires its
    /// lock before returning, waiting for it if another thread holds it.
    fn cond_resume(&mut self, op: OpId, timed_out: bool, cause: &str) {
        let (tid, OpKind::CondWait { lock, shared, .. }) = (self.ops[op].tid, &self.ops[op].kind) else {
            panic!("simulator bug: resuming a non-condition-variable wait")
        };
        let (lock, shared) = (*lock, *shared);
        let pid = self.pid_of(tid);
        if self.try_take(pid, lock, tid, shared) {
            let reply = if timed_out { Reply::error(ERROR_TIMEOUT) } else { Value::Bool(true).into() };
            self.complete_op(op, reply, cause);
            return;
        }
        // Waits for the lock now, with no time-out: the time-out bounds the sleep only.
        if let Some(d) = self.ops[op].deadline.take() {
            let seq = self.ops[op].timer_seq;
            self.timers.remove(&(d, seq, crate::kernel::TimerKey::Op(op)));
        }
        self.ops[op].kind = OpKind::LockWait { lock, shared, then: Some(timed_out) };
        if let Some(l) = self.locks.map.get_mut(&(pid, lock)) {
            l.waiters.push(op);
        }
    }

    /// A SleepConditionVariable* time-out came (§20.14).
    pub(crate) fn cond_timed_out(&mut self, op: OpId) {
        self.unqueue_lock_op(op);
        self.cond_resume(op, true, "time-out");
    }

    /// Takes a lock wait or a condition-variable sleep off its queue.
    pub(crate) fn unqueue_lock_op(&mut self, op: OpId) {
        let pid = self.pid_of(self.ops[op].tid);
        let id = match self.ops[op].kind {
            OpKind::LockWait { lock, .. } => lock,
            OpKind::CondWait { cv, .. } => cv,
            OpKind::InitOnceWait { once } => {
                if let Some(o) = self.locks.init_onces.get_mut(&(pid, once)) {
                    o.waiters.retain(|&w| w != op);
                }
                return;
            }
            OpKind::AddressWait { address, .. } => {
                if let Some(q) = self.locks.address_waits.get_mut(&(pid, address)) {
                    q.retain(|&o| o != op);
                    if q.is_empty() {
                        self.locks.address_waits.remove(&(pid, address));
                    }
                }
                return;
            }
            _ => return,
        };
        if let Some(l) = self.locks.map.get_mut(&(pid, id)) {
            l.waiters.retain(|&o| o != op);
        }
    }

    /// A lock's state in words (trace notes, deadlock reports).
    pub(crate) fn lock_state(&self, pid: Pid, id: u64) -> String {
        let Some(l) = self.locks.map.get(&(pid, id)) else { return "deleted".into() };
        let owners = match (l.kind, l.owner) {
            (LockKind::CriticalSection, Some(o)) => format!("owned by T{o} (recursion count {})", l.count),
            (LockKind::Srw, Some(o)) => format!("held exclusive by T{o}"),
            (LockKind::Srw, None) if !l.shared.is_empty() => {
                let ts: Vec<String> = l.shared.iter().map(|t| format!("T{t}")).collect();
                format!("held shared by {}", ts.join(", "))
            }
            (LockKind::ConditionVariable, _) => format!("{} sleeper(s)", l.waiters.len()),
            _ => "free".into(),
        };
        match (l.kind, l.waiters.len()) {
            (LockKind::ConditionVariable, _) | (_, 0) => owners,
            (_, n) => format!("{owners}; {n} waiter(s)"),
        }
    }

    /// The threads holding a lock (the wait-for graph's edges from its waiters).
    fn lock_holders(&self, pid: Pid, id: u64) -> Vec<Tid> {
        let Some(l) = self.locks.map.get(&(pid, id)) else { return Vec::new() };
        let mut v: Vec<Tid> = l.owner.into_iter().chain(l.shared.iter().copied()).collect();
        v.dedup();
        v
    }

    /// The deadlock report's reason for a lock operation.
    pub(crate) fn lock_op_reason(&self, op: OpId) -> String {
        let pid = self.pid_of(self.ops[op].tid);
        match &self.ops[op].kind {
            OpKind::LockWait { lock, .. } => {
                let kind = self.locks.map.get(&(pid, *lock)).map_or(LockKind::CriticalSection, |l| l.kind);
                format!("waits for {} ({})", lock_name(kind, *lock), self.lock_state(pid, *lock))
            }
            OpKind::CondWait { cv, .. } => format!("sleeps on {}", lock_name(LockKind::ConditionVariable, *cv)),
            OpKind::InitOnceWait { once } => format!("waits for {}", self.init_once_state(pid, *once)),
            OpKind::AddressWait { address, compare } => {
                format!(
                    "waits on address 0x{address:x} while it holds {}",
                    self.address_wait_state(pid, *address, compare)
                )
            }
            _ => String::new(),
        }
    }

    /// What a WaitOnAddress waits on, in words: the value now and the one compared.
    fn address_wait_state(&self, pid: Pid, address: u64, compare: &[u8]) -> String {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ");
        match self.peek_memory(pid, address, compare.len() as u64) {
            Some(now) => format!("[{}], the value compared [{}]", hex(&now), hex(compare)),
            None => format!("unmapped memory, the value compared [{}]", hex(compare)),
        }
    }

    /// The wait-for edges of a lock operation.
    pub(crate) fn lock_op_wait_edges(&self, op: OpId) -> Vec<WaitEdge> {
        let pid = self.pid_of(self.ops[op].tid);
        match &self.ops[op].kind {
            OpKind::LockWait { lock, .. } => {
                let kind = self.locks.map.get(&(pid, *lock)).map_or(LockKind::CriticalSection, |l| l.kind);
                vec![WaitEdge::UserLock {
                    lock: lock_name(kind, *lock),
                    owners: self.lock_holders(pid, *lock),
                    state: self.lock_state(pid, *lock),
                }]
            }
            OpKind::InitOnceWait { once } => vec![WaitEdge::UserLock {
                lock: format!("one-time initialisation #{once}"),
                owners: self.locks.init_onces.get(&(pid, *once)).and_then(|o| o.running).into_iter().collect(),
                state: self.init_once_state(pid, *once),
            }],
            OpKind::AddressWait { address, compare } => vec![WaitEdge::AddressWait {
                address: *address,
                state: self.address_wait_state(pid, *address, compare),
            }],
            OpKind::CondWait { cv, lock, .. } => {
                let kind = self.locks.map.get(&(pid, *lock)).map_or(LockKind::CriticalSection, |l| l.kind);
                vec![WaitEdge::ConditionVariable {
                    variable: lock_name(LockKind::ConditionVariable, *cv),
                    lock: lock_name(kind, *lock),
                }]
            }
            _ => Vec::new(),
        }
    }

    /// The threads whose action could end a lock operation: the lock's holders for a lock
    /// wait; for a sleep, every other live thread of the process (any may wake it).
    pub(crate) fn lock_op_releasers(&self, op: OpId) -> Vec<Tid> {
        let tid = self.ops[op].tid;
        let pid = self.pid_of(tid);
        match &self.ops[op].kind {
            OpKind::LockWait { lock, .. } => self.lock_holders(pid, *lock),
            OpKind::InitOnceWait { once } => {
                self.locks.init_onces.get(&(pid, *once)).and_then(|o| o.running).into_iter().collect()
            }
            OpKind::CondWait { .. } | OpKind::AddressWait { .. } => {
                match self.pids.get(&pid).map(|&p| &self.objects[p].body) {
                    Some(crate::objects::Body::Process(p)) => p.threads.iter().copied().filter(|&t| t != tid).collect(),
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }

    // ----- calls ---------------------------------------------------------------------

    /// InitializeCriticalSection(AndSpinCount): a fresh, free critical section (§20.1).
    pub(crate) fn initialize_critical_section(&mut self, pid: Pid, _tid: Tid, lock: u64, _spin: u32) -> CallResult {
        self.locks.map.insert((pid, lock), ULock::new(LockKind::CriticalSection));
        // InitializeCriticalSectionAndSpinCount always succeeds since Vista (§20.1).
        Ok(Value::Bool(true).into())
    }

    /// EnterCriticalSection (§20.2-20.4).
    pub(crate) fn enter_critical_section(&mut self, pid: Pid, tid: Tid, lock: u64) -> Exec {
        self.acquire_lock(pid, tid, lock, LockKind::CriticalSection, false, "EnterCriticalSection")
    }

    /// TryEnterCriticalSection (§20.5).
    pub(crate) fn try_enter_critical_section(&mut self, pid: Pid, tid: Tid, lock: u64) -> Exec {
        self.try_acquire_lock(pid, tid, lock, LockKind::CriticalSection, false, "TryEnterCriticalSection")
    }

    /// LeaveCriticalSection (§20.6).
    pub(crate) fn leave_critical_section(&mut self, pid: Pid, tid: Tid, lock: u64) -> Exec {
        self.release_lock(pid, tid, lock, LockKind::CriticalSection, false, "LeaveCriticalSection")
    }

    /// DeleteCriticalSection (§20.7): deleting one that threads wait for is a program
    /// error.
    pub(crate) fn delete_critical_section(&mut self, pid: Pid, tid: Tid, lock: u64) -> Exec {
        if let Err(m) = self.lock_entry(pid, lock, LockKind::CriticalSection) {
            return self.lock_misuse(pid, tid, format!("T{tid} called DeleteCriticalSection on {m}"));
        }
        if self.locks.map[&(pid, lock)].waiters.is_empty() {
            self.locks.map.remove(&(pid, lock));
            return Exec::Done(Value::Void.into());
        }
        let m = format!(
            "T{tid} called DeleteCriticalSection on {} while threads wait for it; their state is undefined on Windows",
            lock_name(LockKind::CriticalSection, lock)
        );
        self.lock_misuse(pid, tid, m)
    }

    /// AcquireSRWLockExclusive (§20.8).
    pub(crate) fn acquire_srw_lock_exclusive(&mut self, pid: Pid, tid: Tid, lock: u64) -> Exec {
        self.acquire_lock(pid, tid, lock, LockKind::Srw, false, "AcquireSRWLockExclusive")
    }

    /// AcquireSRWLockShared (§20.9).
    pub(crate) fn acquire_srw_lock_shared(&mut self, pid: Pid, tid: Tid, lock: u64) -> Exec {
        self.acquire_lock(pid, tid, lock, LockKind::Srw, true, "AcquireSRWLockShared")
    }

    /// TryAcquireSRWLockExclusive (§20.10).
    pub(crate) fn try_acquire_srw_lock_exclusive(&mut self, pid: Pid, tid: Tid, lock: u64) -> Exec {
        self.try_acquire_lock(pid, tid, lock, LockKind::Srw, false, "TryAcquireSRWLockExclusive")
    }

    /// TryAcquireSRWLockShared (§20.10).
    pub(crate) fn try_acquire_srw_lock_shared(&mut self, pid: Pid, tid: Tid, lock: u64) -> Exec {
        self.try_acquire_lock(pid, tid, lock, LockKind::Srw, true, "TryAcquireSRWLockShared")
    }

    /// ReleaseSRWLockExclusive (§20.11).
    pub(crate) fn release_srw_lock_exclusive(&mut self, pid: Pid, tid: Tid, lock: u64) -> Exec {
        self.release_lock(pid, tid, lock, LockKind::Srw, false, "ReleaseSRWLockExclusive")
    }

    /// ReleaseSRWLockShared (§20.11).
    pub(crate) fn release_srw_lock_shared(&mut self, pid: Pid, tid: Tid, lock: u64) -> Exec {
        self.release_lock(pid, tid, lock, LockKind::Srw, true, "ReleaseSRWLockShared")
    }

    /// SleepConditionVariableCS/SRW (§20.12-20.14): releases the lock and starts the
    /// sleep in one step, so no wake can fall between them.
    #[allow(clippy::too_many_arguments)]
    fn sleep_condition_variable(
        &mut self,
        pid: Pid,
        tid: Tid,
        cv: u64,
        lock: u64,
        kind: LockKind,
        shared: bool,
        timeout_ms: u32,
        api: &str,
    ) -> Exec {
        if let Err(m) = self.lock_entry(pid, cv, LockKind::ConditionVariable) {
            return self.lock_misuse(pid, tid, format!("T{tid} called {api} on {m}"));
        }
        let name = lock_name(kind, lock);
        let l = match self.lock_entry(pid, lock, kind) {
            Ok(l) => l,
            Err(m) => return self.lock_misuse(pid, tid, format!("T{tid} called {api} with {m}")),
        };
        let holds = match (kind, shared) {
            (LockKind::Srw, true) => l.shared.contains(&tid),
            _ => l.owner == Some(tid),
        };
        if !holds {
            let m = format!("T{tid} called {api} with {name}, which it does not hold; this is undefined on Windows");
            return self.lock_misuse(pid, tid, m);
        }
        if timeout_ms == 0 {
            // A zero time-out tests and returns at once: nobody could have woken it, so
            // FALSE with ERROR_TIMEOUT, the lock still held (§20.14 [inferred]: the doc
            // says it "returns immediately").
            self.note_effect(|_| "zero time-out: returns at once".into());
            return Exec::Done(Reply::error(ERROR_TIMEOUT));
        }
        if kind == LockKind::CriticalSection && l.count > 1 {
            let m = format!(
                "T{tid} called {api} holding {name} {} times (recursively); winsim models sleeping with one \
                 level of ownership only",
                l.count
            );
            return self.lock_misuse(pid, tid, m);
        }
        if kind == LockKind::CriticalSection {
            l.count = 0;
        }
        match (kind, shared) {
            (LockKind::Srw, true) => {
                let i = l.shared.iter().position(|&t| t == tid).expect("holds it");
                l.shared.remove(i);
            }
            _ => l.owner = None,
        }
        let free = l.owner.is_none() && l.shared.is_empty();
        let cause = format!("{api} by T{tid} released it");
        if free {
            self.grant_lock(pid, lock, &cause);
        }
        // A spurious wake-up (§29.20): with `Config::spurious_wakeups`, the scheduler
        // decides (a recorded `ChoiceKind::Data` choice: 0 wakes, 1 sleeps; round-robin
        // and shrinking pick 1) whether the sleeper wakes at once without a Wake call. It
        // then re-acquires the lock as a woken sleeper does and returns TRUE.
        if self.config.spurious_wakeups && self.choose(ChoiceKind::Data, &[0, 1]) == 0 {
            if self.try_take(pid, lock, tid, shared) {
                self.note_effect(|k| {
                    format!("released {name}; woke spuriously and took it back ({})", k.lock_state(pid, lock))
                });
                return Exec::Done(Value::Bool(true).into());
            }
            let op = self.new_op(tid, OpKind::LockWait { lock, shared, then: Some(false) }, None);
            if let Some(l) = self.locks.map.get_mut(&(pid, lock)) {
                l.waiters.push(op);
            }
            self.note_effect(|k| {
                format!("released {name}; woke spuriously and waits for it ({})", k.lock_state(pid, lock))
            });
            return Exec::Block(op);
        }
        let deadline = self.deadline(timeout_ms);
        let op = self.new_op(tid, OpKind::CondWait { cv, lock, shared }, deadline);
        self.locks.map.get_mut(&(pid, cv)).expect("made above").waiters.push(op);
        self.note_effect(|k| format!("released {name} ({}); sleeps", k.lock_state(pid, lock)));
        Exec::Block(op)
    }

    /// SleepConditionVariableCS.
    pub(crate) fn sleep_condition_variable_cs(
        &mut self,
        pid: Pid,
        tid: Tid,
        cv: u64,
        lock: u64,
        timeout_ms: u32,
    ) -> Exec {
        let api = "SleepConditionVariableCS";
        self.sleep_condition_variable(pid, tid, cv, lock, LockKind::CriticalSection, false, timeout_ms, api)
    }

    /// SleepConditionVariableSRW: `flags` is CONDITION_VARIABLE_LOCKMODE_SHARED or 0.
    pub(crate) fn sleep_condition_variable_srw(
        &mut self,
        pid: Pid,
        tid: Tid,
        cv: u64,
        lock: u64,
        timeout_ms: u32,
        flags: u32,
    ) -> Exec {
        let shared = flags & crate::types::CONDITION_VARIABLE_LOCKMODE_SHARED != 0;
        let api = "SleepConditionVariableSRW";
        self.sleep_condition_variable(pid, tid, cv, lock, LockKind::Srw, shared, timeout_ms, api)
    }

    /// WakeConditionVariable: wakes one sleeper, chosen by the scheduler (§20.15).
    pub(crate) fn wake_condition_variable(&mut self, pid: Pid, tid: Tid, cv: u64) -> Exec {
        self.wake_cv(pid, tid, cv, false, "WakeConditionVariable")
    }

    /// WakeAllConditionVariable: wakes every sleeper (§20.16).
    pub(crate) fn wake_all_condition_variable(&mut self, pid: Pid, tid: Tid, cv: u64) -> Exec {
        self.wake_cv(pid, tid, cv, true, "WakeAllConditionVariable")
    }

    fn wake_cv(&mut self, pid: Pid, tid: Tid, cv: u64, all: bool, api: &str) -> Exec {
        let sleepers = match self.lock_entry(pid, cv, LockKind::ConditionVariable) {
            Ok(l) => l.waiters.clone(),
            Err(m) => return self.lock_misuse(pid, tid, format!("T{tid} called {api} on {m}")),
        };
        let woken: Vec<OpId> = if all || sleepers.len() <= 1 {
            sleepers
        } else {
            let tids: Vec<Tid> = sleepers.iter().map(|&op| self.ops[op].tid).collect();
            let winner = self.choose(ChoiceKind::Waiter, &tids);
            vec![sleepers[tids.iter().position(|&t| t == winner).expect("chosen among them")]]
        };
        let cause = format!("{api} by T{tid}");
        for &op in &woken {
            self.unqueue_lock_op(op);
            self.cond_resume(op, false, &cause);
        }
        let n = woken.len();
        self.note_effect(|_| match n {
            0 => "no thread was sleeping: the wake is lost".into(),
            n => format!("woke {n} sleeper(s)"),
        });
        Exec::Done(Value::Void.into())
    }

    // ----- WaitOnAddress (§26) -----------------------------------------------------------

    /// WaitOnAddress: compares the 1, 2, 4 or 8 bytes at `address` with `compare` and, when
    /// they are equal, sleeps until a WakeByAddress* on the address or the time-out
    /// (§§26.1-26.4).
    pub(crate) fn wait_on_address(
        &mut self,
        pid: Pid,
        tid: Tid,
        address: u64,
        compare: Vec<u8>,
        timeout_ms: u32,
    ) -> Exec {
        // STATUS_INVALID_PARAMETER for another size (ntdll sync.c test_wait_on_address).
        if !matches!(compare.len(), 1 | 2 | 4 | 8) {
            return Exec::Done(Reply::error(ERROR_INVALID_PARAMETER));
        }
        let now = match self.read_for_wait(pid, tid, address, compare.len() as u64) {
            Ok(v) => v,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        if now != compare {
            // Not the undesired value: returns TRUE at once (§26.2).
            self.note_effect(|_| "the value differs from the one compared: returns at once".into());
            return Exec::Done(Value::Bool(true).into());
        }
        if timeout_ms == 0 {
            self.note_effect(|_| "the value is the one compared; zero time-out: returns at once".into());
            return Exec::Done(Reply::error(ERROR_TIMEOUT));
        }
        let deadline = self.deadline(timeout_ms);
        let op = self.new_op(tid, OpKind::AddressWait { address, compare }, deadline);
        self.locks.address_waits.entry((pid, address)).or_default().push(op);
        Exec::Block(op)
    }

    /// WakeByAddressSingle: wakes the first thread of the process waiting on the address
    /// (§26.5); nothing when none is.
    pub(crate) fn wake_by_address_single(&mut self, pid: Pid, tid: Tid, address: u64) -> CallResult {
        self.wake_address(pid, tid, address, false, "WakeByAddressSingle")
    }

    /// WakeByAddressAll: wakes every thread of the process waiting on the address (§26.5).
    pub(crate) fn wake_by_address_all(&mut self, pid: Pid, tid: Tid, address: u64) -> CallResult {
        self.wake_address(pid, tid, address, true, "WakeByAddressAll")
    }

    fn wake_address(&mut self, pid: Pid, tid: Tid, address: u64, all: bool, api: &str) -> CallResult {
        let waiters = self.locks.address_waits.get(&(pid, address)).cloned().unwrap_or_default();
        let woken: Vec<OpId> = if all { waiters } else { waiters.into_iter().take(1).collect() };
        let cause = format!("{api} by T{tid}");
        for &op in &woken {
            self.unqueue_lock_op(op);
            self.complete_op(op, Value::Bool(true).into(), &cause);
        }
        let n = woken.len();
        self.note_effect(|_| match n {
            0 => "no thread was waiting on the address: nothing to wake".into(),
            n => format!("woke {n} waiter(s)"),
        });
        Ok(Value::Void.into())
    }
    // ----- one-time initialisation (§26.8-26.10) ----------------------------------------

    /// An INIT_ONCE's state in words.
    fn init_once_state(&self, pid: Pid, once: u64) -> String {
        match self.locks.init_onces.get(&(pid, once)) {
            Some(InitOnce { done: Some(c), .. }) => format!("one-time initialisation #{once} (done, context 0x{c:x})"),
            Some(InitOnce { running: Some(t), .. }) => format!("one-time initialisation #{once} (T{t} initialising)"),
            _ => format!("one-time initialisation #{once} (not begun)"),
        }
    }

    /// InitOnceBeginInitialize, synchronous (§26.8, §26.9): done → TRUE, not pending, the
    /// context; not begun → TRUE, pending (the caller initialises); another thread
    /// initialising → waits for it. INIT_ONCE_CHECK_ONLY never begins or waits.
    pub(crate) fn init_once_begin_initialize(&mut self, pid: Pid, tid: Tid, once: u64, flags: u32) -> Exec {
        use crate::types::{INIT_ONCE_ASYNC, INIT_ONCE_CHECK_ONLY};
        if flags & !(INIT_ONCE_ASYNC | INIT_ONCE_CHECK_ONLY) != 0 || flags == INIT_ONCE_ASYNC | INIT_ONCE_CHECK_ONLY {
            return Exec::Done(Reply::error(ERROR_INVALID_PARAMETER));
        }
        if flags & INIT_ONCE_ASYNC != 0 {
            self.unsupported("InitOnceBeginInitialize", "INIT_ONCE_ASYNC (asynchronous one-time initialisation)");
            return Exec::Done(Reply::error(ERROR_INVALID_PARAMETER));
        }
        let o = self.locks.init_onces.entry((pid, once)).or_default();
        if let Some(c) = o.done {
            return Exec::Done(Value::InitOnce(false, c).into());
        }
        if flags & INIT_ONCE_CHECK_ONLY != 0 {
            return Exec::Done(Reply::error(ERROR_GEN_FAILURE));
        }
        if o.running.is_none() {
            o.running = Some(tid);
            self.note_effect(|_| "begins the initialisation: pending".into());
            return Exec::Done(Value::InitOnce(true, 0).into());
        }
        let op = self.new_op(tid, OpKind::InitOnceWait { once }, None);
        self.locks.init_onces.get_mut(&(pid, once)).expect("made above").waiters.push(op);
        Exec::Block(op)
    }

    /// InitOnceComplete, synchronous (§26.10): success stores the context (its two low bits
    /// must be 0) and returns TRUE to every waiter; INIT_ONCE_INIT_FAILED (with a NULL
    /// context) makes it not begun again, and one waiter begins it.
    pub(crate) fn init_once_complete(&mut self, pid: Pid, tid: Tid, once: u64, flags: u32, context: u64) -> CallResult {
        use crate::types::{INIT_ONCE_ASYNC, INIT_ONCE_INIT_FAILED};
        if flags & !(INIT_ONCE_ASYNC | INIT_ONCE_INIT_FAILED) != 0 || flags & INIT_ONCE_ASYNC != 0 {
            if flags & INIT_ONCE_ASYNC != 0 && flags & INIT_ONCE_INIT_FAILED == 0 {
                self.unsupported("InitOnceComplete", "INIT_ONCE_ASYNC (asynchronous one-time initialisation)");
            }
            return Err(ERROR_INVALID_PARAMETER);
        }
        let failed = flags & INIT_ONCE_INIT_FAILED != 0;
        let o = self.locks.init_onces.entry((pid, once)).or_default();
        if o.running.is_none() {
            // Not begun (or done): nothing to complete.
            return Err(if failed { ERROR_GEN_FAILURE } else { ERROR_INVALID_PARAMETER });
        }
        if (failed && context != 0) || context & 3 != 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        o.running = None;
        let waiters = std::mem::take(&mut o.waiters);
        let cause = format!("InitOnceComplete by T{tid}");
        if failed {
            // One waiter begins it again; the others wait for that one.
            let mut rest = waiters.into_iter();
            if let Some(first) = rest.next() {
                let t = self.ops[first].tid;
                let o = self.locks.init_onces.get_mut(&(pid, once)).expect("made above");
                o.running = Some(t);
                o.waiters = rest.collect();
                self.complete_op(first, Value::InitOnce(true, 0).into(), &cause);
            }
            self.note_effect(|_| "the initialisation failed: not begun again".into());
        } else {
            self.locks.init_onces.get_mut(&(pid, once)).expect("made above").done = Some(context);
            for op in waiters {
                self.complete_op(op, Value::InitOnce(false, context).into(), &cause);
            }
            self.note_effect(|_| format!("done, context 0x{context:x}"));
        }
        Ok(Value::Bool(true).into())
    }
}
