//! Waitable timers: CreateWaitableTimer(Ex), OpenWaitableTimer, SetWaitableTimer,
//! CancelWaitableTimer (docs/semantics.md §14).
//!
//! A timer is signalled or not: it does not count. When its due time comes it becomes
//! signalled and, if it is periodic, is armed again one period after the previous due
//! time, so a consumer slower than the period sees fewer signals than periods. A
//! notification timer (manual-reset) releases every waiter and stays signalled until it is
//! set again; a synchronization timer (auto-reset) releases one waiter and becomes
//! nonsignalled. Due times live in the kernel's timer queue (`kernel/time.rs`).

use super::{Body, ObjectId, ObjectType};
use crate::error::*;
use crate::kernel::request::{Api, CallResult, TimerApcRoutine, Value};
use crate::kernel::time::TICKS_PER_MS;
use crate::kernel::{Kernel, Pid, Tid, TimerKey};
use crate::objects::process::map_generic;
use crate::trace::EventKind;
use crate::types::*;

/// A waitable timer.
#[derive(Debug, Clone)]
pub struct Timer {
    /// A notification timer (manual-reset) rather than a synchronization timer.
    pub manual_reset: bool,
    /// Signalled state.
    pub signalled: bool,
    /// When it fires next, while it is active: (due tick, timer-queue sequence number).
    /// Invariant: the timer queue holds exactly this entry for it.
    pub due: Option<(u64, u64)>,
    /// Period in milliseconds (0: one-shot).
    pub period_ms: u32,
    /// The completion routine of the current setting and the thread that set it (§14.21).
    pub routine: Option<TimerRoutine>,
}

/// A timer's completion routine and the thread its APCs go to.
#[derive(Clone)]
pub struct TimerRoutine {
    /// The thread that called SetWaitableTimer.
    pub tid: Tid,
    /// The routine.
    pub routine: TimerApcRoutine,
}

impl std::fmt::Debug for TimerRoutine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TimerRoutine(T{})", self.tid)
    }
}

/// The timer's state in words (deadlock report).
pub(crate) fn state(k: &Kernel, t: &Timer) -> String {
    let kind = if t.manual_reset { "notification timer" } else { "synchronization timer" };
    let sig = if t.signalled { "signalled" } else { "not signalled" };
    match t.due {
        Some((due, _)) => {
            let period = if t.period_ms > 0 { format!(", period {}ms", t.period_ms) } else { String::new() };
            let _ = k;
            format!("{kind}, {sig}, due at {}ms{period}", due / TICKS_PER_MS)
        }
        None => format!("{kind}, {sig}, not set"),
    }
}

impl Kernel {
    fn timer_mut(&mut self, id: ObjectId) -> &mut Timer {
        match &mut self.objects[id].body {
            Body::Timer(t) => t,
            _ => unreachable!("type checked by object_from_handle"),
        }
    }

    pub(crate) fn create_waitable_timer(
        &mut self,
        pid: Pid,
        tid: Tid,
        inherit: bool,
        manual_reset: bool,
        name: Option<String>,
    ) -> CallResult {
        let all = map_generic(ObjectType::Timer, GENERIC_ALL);
        self.create_named(pid, tid, "CreateWaitableTimer", ObjectType::Timer, inherit, name, all, |_| {
            Body::Timer(Timer { manual_reset, signalled: false, due: None, period_ms: 0, routine: None })
        })
    }

    pub(crate) fn create_waitable_timer_ex(
        &mut self,
        pid: Pid,
        tid: Tid,
        inherit: bool,
        name: Option<String>,
        flags: u32,
        access: u32,
    ) -> CallResult {
        if flags & !(CREATE_WAITABLE_TIMER_MANUAL_RESET | CREATE_WAITABLE_TIMER_HIGH_RESOLUTION) != 0 {
            // [inferred] Windows validates the flags (a report of older Windows 10 refusing
            // CREATE_WAITABLE_TIMER_HIGH_RESOLUTION with ERROR_INVALID_PARAMETER); Wine
            // accepts any bits. docs/semantics.md §14.
            return Err(ERROR_INVALID_PARAMETER);
        }
        let manual_reset = flags & CREATE_WAITABLE_TIMER_MANUAL_RESET != 0;
        let access = map_generic(ObjectType::Timer, access);
        self.create_named(pid, tid, "CreateWaitableTimerEx", ObjectType::Timer, inherit, name, access, |_| {
            Body::Timer(Timer { manual_reset, signalled: false, due: None, period_ms: 0, routine: None })
        })
    }

    pub(crate) fn open_waitable_timer(
        &mut self,
        pid: Pid,
        tid: Tid,
        access: u32,
        inherit: bool,
        name: Option<String>,
    ) -> CallResult {
        self.open_named(pid, tid, ObjectType::Timer, "OpenWaitableTimer", access, inherit, name)
    }

    /// SetWaitableTimer: a negative due time is relative, in 100-ns units; a positive one
    /// is an absolute FILETIME against the virtual system clock; a due time already passed
    /// signals the timer at once. Setting a timer makes it nonsignalled and replaces any
    /// earlier setting.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn set_waitable_timer(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        due_time: i64,
        period_ms: i32,
        completion_routine: Option<TimerApcRoutine>,
        resume: bool,
    ) -> CallResult {
        if period_ms < 0 {
            // Checked before the handle (NtSetTimer's STATUS_INVALID_PARAMETER_6 comes
            // first; docs/semantics.md §14.16).
            return Err(ERROR_INVALID_PARAMETER);
        }
        let id = self.object_from_handle(pid, tid, h, Some(ObjectType::Timer), TIMER_MODIFY_STATE)?;
        // A new setting replaces the old one's routine and its queued APC (§14.21;
        // NtSetTimer removes the timer's APC from the queue before setting it again).
        self.drop_timer_routine(id);
        if let Some(routine) = completion_routine {
            // The setting thread's list of active timers holds the timer while a routine is
            // associated with it (NtSetTimer keeps its reference), so closing its last
            // handle does not cancel it (§14.31).
            self.add_ref(id);
            self.timer_mut(id).routine = Some(TimerRoutine { tid, routine });
            let routines = &mut self.thread_mut(tid).timer_routines;
            if !routines.contains(&id) {
                routines.push(id);
            }
        }
        let due = if due_time < 0 {
            self.now.saturating_add(due_time.unsigned_abs())
        } else {
            (due_time as u64).saturating_sub(self.config.system_time_start).max(self.now)
        };
        self.cancel_timer_entry(id);
        let seq = self.next_timer_seq();
        let t = self.timer_mut(id);
        t.signalled = false;
        t.period_ms = period_ms as u32;
        t.due = Some((due, seq));
        self.timers.insert((due, seq, TimerKey::Timer(id)));
        self.note_effect(|_| format!("not signalled; due at {}ms", due / TICKS_PER_MS));
        if due <= self.now {
            // Already due: signalled before the call returns (KeSetTimer signals an
            // expired timer at once).
            self.timers.remove(&(due, seq, TimerKey::Timer(id)));
            self.fire_waitable_timer(id);
        }
        if resume {
            // The simulated machine has no power management: the call succeeds and sets
            // ERROR_NOT_SUPPORTED (SetWaitableTimer doc, fResume).
            return Ok(crate::kernel::Done { value: Value::Bool(true), last_error: Some(ERROR_NOT_SUPPORTED) });
        }
        Ok(Value::Bool(true).into())
    }

    /// CancelWaitableTimer: the timer stops; its signalled state does not change.
    pub(crate) fn cancel_waitable_timer(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let id = self.object_from_handle(pid, tid, h, Some(ObjectType::Timer), TIMER_MODIFY_STATE)?;
        let was_active = self.timer_mut(id).due.is_some();
        self.cancel_timer_entry(id);
        // A queued completion APC is removed too (§14.22).
        self.drop_timer_routine(id);
        self.note_effect(|_| if was_active { "stopped" } else { "no effect: the timer was not set" }.into());
        Ok(Value::Bool(true).into())
    }

    /// Forgets a timer's completion routine and removes its APC if one is queued (re-set,
    /// cancel, §§14.21-14.22), dropping the reference the association held (§14.31): the
    /// caller holds a handle, so the timer stays.
    pub(crate) fn drop_timer_routine(&mut self, id: ObjectId) {
        let routine = match self.objects.get_mut(id).map(|o| &mut o.body) {
            Some(Body::Timer(t)) => t.routine.take(),
            _ => None,
        };
        if let Some(r) = routine {
            self.forget_timer_routine(r.tid, id);
            self.release(id);
        }
    }

    /// A timer's completion APC is about to run on `tid`: a timer without a period is no
    /// longer associated with its routine, and the reference the association held goes
    /// (NT's ExpTimerApcRoutine removes a one-shot timer from the thread's active timer
    /// list; §14.31), which destroys a timer whose handles are all closed.
    pub(crate) fn timer_apc_delivered(&mut self, tid: Tid, id: ObjectId) {
        let ends = matches!(self.objects.get(id).map(|o| &o.body),
            Some(Body::Timer(t)) if t.period_ms == 0 && t.routine.as_ref().is_some_and(|r| r.tid == tid));
        if ends {
            self.timer_mut(id).routine = None;
            self.thread_mut(tid).timer_routines.retain(|&x| x != id);
            self.release(id);
        }
    }

    /// Takes timer `id`'s routine off thread `tid`'s list and its APC off its queue.
    pub(crate) fn forget_timer_routine(&mut self, tid: Tid, id: ObjectId) {
        if self.tids.contains_key(&tid) {
            let t = self.thread_mut(tid);
            t.timer_routines.retain(|&x| x != id);
            t.apcs.retain(|a| a.timer != Some(id));
        }
    }

    /// A thread that set timers with completion routines ends: those timers are cancelled
    /// and keep their signalled state (§14.21), and the references their associations
    /// held go (a timer whose handles are all closed is destroyed, §14.31).
    pub(crate) fn cancel_timers_of(&mut self, tid: Tid) {
        for id in std::mem::take(&mut self.thread_mut(tid).timer_routines) {
            if matches!(self.objects.get(id).map(|o| &o.body), Some(Body::Timer(t)) if t.routine.as_ref().is_some_and(|r| r.tid == tid))
            {
                self.cancel_timer_entry(id);
                self.timer_mut(id).routine = None;
                self.thread_mut(tid).apcs.retain(|a| a.timer != Some(id));
                self.release(id);
            }
        }
    }

    /// Removes a timer's entry from the timer queue (cancel, re-set, destruction).
    pub(crate) fn cancel_timer_entry(&mut self, id: ObjectId) {
        if let Some(Body::Timer(t)) = self.objects.get_mut(id).map(|o| &mut o.body)
            && let Some((due, seq)) = t.due.take()
        {
            self.timers.remove(&(due, seq, TimerKey::Timer(id)));
        }
    }

    /// A timer's due time came: it becomes signalled, releases its waiters, and a
    /// periodic timer is armed again one period after this due time.
    pub(crate) fn fire_waitable_timer(&mut self, id: ObjectId) {
        let t = self.timer_mut(id);
        let (due, _) = t.due.take().unwrap_or_else(|| panic!("simulator bug: an inactive timer fired"));
        let period_ms = t.period_ms;
        let was_signalled = std::mem::replace(&mut t.signalled, true);
        if period_ms > 0 {
            let next = due + u64::from(period_ms) * TICKS_PER_MS;
            let seq = self.next_timer_seq();
            self.timer_mut(id).due = Some((next, seq));
            self.timers.insert((next, seq, TimerKey::Timer(id)));
        }
        if self.config.trace {
            let timer = self.describe(id);
            let ev = self.push_process_event(0, EventKind::TimerFired { timer, period_ms, was_signalled });
            if self.current.is_none() {
                self.cause_event = ev;
            }
        }
        if !was_signalled {
            self.record_signal(id, 0, Api::SetWaitableTimer);
        }
        // Read before the waiters wake: the last of them may hold the last reference.
        let routine = self.timer_mut(id).routine.clone().map(|r| (r, self.describe(id)));
        let cause = self.cause(|| format!("{} fired", self.describe(id)));
        self.wake_waiters(id, &cause);
        if let Some((r, desc)) = routine {
            // The routine is queued as an APC to the thread that set the timer, unless
            // one from this timer is still queued there (§14.21). Its arguments are the
            // UTC FILETIME of the due time.
            let queued = self.thread(r.tid).apcs.iter().any(|a| a.timer == Some(id));
            if !queued {
                let at = self.config.system_time_start + due;
                let (lo, hi) = (at as u32, (at >> 32) as u32);
                let routine = r.routine;
                let apc: crate::kernel::request::ApcRoutine = Box::new(move |ctx| routine(ctx, lo, hi));
                let from = format!("the completion routine of {desc}");
                self.queue_apc_from_timer(r.tid, apc, from, id);
            }
        }
    }
}
