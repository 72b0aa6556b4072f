//! Virtual time: the clock, the one timer queue, and the calls that read the clock.
//!
//! The clock counts 100-ns ticks since boot (the unit of NT's timers and FILETIME). Time
//! moves only when no thread can run: `advance_clock` jumps to the earliest entry of the
//! timer queue and fires everything due then. The queue is keyed by what fires: a
//! pending operation's time-out (a wait, Sleep; later WaitNamedPipe, SendMessageTimeout,
//! mailslot and socket time-outs) or a waitable timer (later WM_TIMER).

use super::ops::{OpId, OpKind};
use super::request::{CallResult, Reply, Value};
use super::{Exec, Kernel, Pid, Tid};
use crate::objects::ObjectId;
use crate::types::*;
use serde::{Deserialize, Serialize};

/// 100-ns ticks per millisecond.
pub const TICKS_PER_MS: u64 = 10_000;
/// QueryPerformanceFrequency: the performance counter counts 100-ns ticks, as on most
/// Windows 10 and 11 machines (the value is fixed at boot; QueryPerformanceFrequency doc).
pub const PERFORMANCE_FREQUENCY: u64 = 10_000_000;

/// What a timer-queue entry fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TimerKey {
    /// A pending operation's time-out.
    Op(OpId),
    /// A waitable timer's due time.
    Timer(ObjectId),
    /// A SetTimer timer's period (by its serial).
    UserTimer(u64),
    /// A Message Queuing message's time-to-be-received deadline (by its sequence number).
    MqExpiry(u64),
    /// Something in flight on the simulated network arrives (by its sequence number in
    /// `Network::flights`, docs/semantics.md §27).
    Net(u64),
}

impl Kernel {
    pub(crate) fn next_timer_seq(&mut self) -> u64 {
        self.timer_seq += 1;
        self.timer_seq
    }

    /// Converts a Win32 time-out in milliseconds to a due tick (`None` for INFINITE).
    pub(crate) fn deadline(&self, timeout_ms: u32) -> Option<u64> {
        (timeout_ms != INFINITE).then(|| self.now + u64::from(timeout_ms) * TICKS_PER_MS)
    }

    /// The virtual system time as a FILETIME (100-ns units since 1601-01-01 UTC).
    pub(crate) fn system_time(&self) -> u64 {
        self.config.system_time_start + self.now
    }

    /// Whether moving the clock can change nothing any more: no operation has a time-out
    /// and every waitable timer still due is signalled already. Firing a signalled timer
    /// again leaves it signalled, satisfies no wait it did not satisfy before and queues no
    /// second completion routine (one with its routine not queued is not idle), so with no thread runnable the run is deadlocked (a
    /// periodic timer would otherwise tick forever).
    pub(crate) fn clock_is_idle(&self) -> bool {
        self.timers.iter().all(|&(_, _, key)| match key {
            TimerKey::Op(_) | TimerKey::MqExpiry(_) | TimerKey::Net(_) => false,
            TimerKey::UserTimer(serial) => self.user_timer_idle(serial),
            TimerKey::Timer(id) => {
                matches!(self.objects.get(id).map(|o| &o.body), Some(crate::objects::Body::Timer(t)) if t.signalled
                    // A completion routine not queued yet would be queued by the next expiry.
                    && t.routine.as_ref().is_none_or(|r| self.thread(r.tid).apcs.iter().any(|a| a.timer == Some(id))))
            }
        })
    }

    /// Moves the clock to the earliest entry of the timer queue and fires every entry due
    /// then. Returns false when the queue is empty.
    pub fn advance_clock(&mut self) -> bool {
        let Some(&(due, _, _)) = self.timers.first() else { return false };
        self.now = self.now.max(due);
        while let Some(&(d, seq, key)) = self.timers.first() {
            if d > due {
                break;
            }
            self.timers.remove(&(d, seq, key));
            self.cause_event = None;
            match key {
                TimerKey::Op(id) => self.time_out_op(id),
                TimerKey::Timer(obj) => self.fire_waitable_timer(obj),
                TimerKey::UserTimer(serial) => self.fire_user_timer(serial),
                TimerKey::MqExpiry(seq) => self.mq_expire(seq),
                TimerKey::Net(n) => self.net_deliver(n),
            }
        }
        self.cause_event = None;
        true
    }

    /// An operation's time-out came.
    fn time_out_op(&mut self, id: OpId) {
        let tid = self.ops[id].tid;
        match self.ops[id].kind {
            OpKind::Wait { .. } if self.thread(tid).suspend_count > 0 => {
                // A suspended waiter is in the suspend APC, outside its wait; on
                // ResumeThread the wait restarts and checks the objects before the
                // expired time-out (WRK KeWaitForSingleObject after STATUS_KERNEL_APC).
                // Decided in `recheck_wait`; the deadline stays on the operation.
            }
            OpKind::Wait { .. } => {
                self.unqueue_op(id);
                self.complete_op(id, Value::Wait(WAIT_TIMEOUT).into(), "time-out");
            }
            // SleepEx returns 0 when the time elapsed; Sleep returns nothing.
            OpKind::Sleep => self.complete_op(id, Value::Wait(0).into(), "time elapsed"),
            OpKind::PortWait { .. } | OpKind::OverlappedResult { .. } => {
                // GetQueuedCompletionStatus and GetOverlappedResultEx time out with
                // WAIT_TIMEOUT as the last error (§16).
                self.unqueue_op(id);
                self.complete_op(id, Reply::error(crate::error::WAIT_TIMEOUT_ERROR), "time-out");
            }
            OpKind::WaitNamedPipe { .. } => {
                // No instance listened in time (§6.14).
                self.unqueue_op(id);
                self.complete_op(id, Reply::error(crate::error::ERROR_SEM_TIMEOUT), "time-out");
            }
            OpKind::MailslotRead { .. } => {
                // No message within the mailslot's read time-out (§18.5).
                self.unqueue_op(id);
                self.complete_op(id, Reply::error(crate::error::ERROR_SEM_TIMEOUT), "time-out");
            }
            OpKind::MqReceive(_) => {
                // No message within dwTimeout (§23.12).
                self.unqueue_op(id);
                self.complete_op(id, Value::MqReceived(crate::mq::MQ_ERROR_IO_TIMEOUT, None).into(), "time-out");
            }
            OpKind::SendWait { .. } => self.time_out_send_wait(id),
            // SO_RCVTIMEO / SO_SNDTIMEO: WSAETIMEDOUT; a blocking connect's retry (§22).
            OpKind::SockRecv { .. }
            | OpKind::SockSend { .. }
            | OpKind::SockConnect { .. }
            | OpKind::SockSelect { .. }
            | OpKind::SockPoll { .. } => crate::objects::socket::timed_out(self, id),
            // SleepConditionVariable* returns FALSE with ERROR_TIMEOUT once it has its
            // lock back (§20.14).
            OpKind::CondWait { .. } => self.cond_timed_out(id),
            // WaitOnAddress returns FALSE with ERROR_TIMEOUT (§26.3).
            OpKind::AddressWait { .. } => {
                self.unqueue_op(id);
                self.complete_op(id, Reply::error(crate::error::ERROR_TIMEOUT), "time-out");
            }
            ref other => panic!("simulator bug: a time-out for a {other:?} operation"),
        }
    }

    // ----- calls ---------------------------------------------------------------------

    /// Sleep: virtual milliseconds. Sleep(0) gives up the rest of the time slice: a
    /// schedule point, nothing more. Sleep(INFINITE) never returns.
    pub(crate) fn sleep(&mut self, pid: Pid, tid: Tid, ms: u32) -> Exec {
        self.sleep_ex(pid, tid, ms, false)
    }

    /// GetTickCount: milliseconds since boot, wrapping at 2^32 (GetTickCount doc).
    pub(crate) fn get_tick_count(&mut self, _pid: Pid, _tid: Tid) -> CallResult {
        Ok(Value::U32((self.now / TICKS_PER_MS) as u32).into())
    }

    /// GetTickCount64: milliseconds since boot.
    pub(crate) fn get_tick_count64(&mut self, _pid: Pid, _tid: Tid) -> CallResult {
        Ok(Value::U64(self.now / TICKS_PER_MS).into())
    }

    /// QueryPerformanceCounter: ticks of `PERFORMANCE_FREQUENCY`; always succeeds on
    /// Windows XP and later (QueryPerformanceCounter doc).
    pub(crate) fn query_performance_counter(&mut self, _pid: Pid, _tid: Tid) -> CallResult {
        Ok(Value::U64(self.now * PERFORMANCE_FREQUENCY / (TICKS_PER_MS * 1000)).into())
    }

    /// QueryPerformanceFrequency: fixed at boot.
    pub(crate) fn query_performance_frequency(&mut self, _pid: Pid, _tid: Tid) -> CallResult {
        Ok(Value::U64(PERFORMANCE_FREQUENCY).into())
    }

    /// GetSystemTimeAsFileTime: the virtual UTC time (`Config::system_time_start` plus
    /// the time elapsed in the run).
    pub(crate) fn get_system_time_as_file_time(&mut self, _pid: Pid, _tid: Tid) -> CallResult {
        Ok(Value::U64(self.system_time()).into())
    }
}
