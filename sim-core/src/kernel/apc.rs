//! User APCs: QueueUserAPC, ReadFileEx/WriteFileEx completion routines, and the
//! alertable waits that run them (SleepEx, WaitForSingleObjectEx,
//! WaitForMultipleObjectsEx, SignalObjectAndWait, GetOverlappedResultEx,
//! GetQueuedCompletionStatusEx) (docs/semantics.md §§16.34-16.41).
//!
//! An APC is user code, so it runs in the thread's own context: an alertable wait that
//! finds APCs queued (or is ended by one) returns WAIT_IO_COMPLETION to the API layer,
//! which runs every queued APC, oldest first, on the thread before the call returns
//! (`ThreadCtx::run_apcs`). A non-alertable wait never runs them; a thread that ends
//! discards them.

use super::ops::OpKind;
use super::request::{ApcRoutine, Reply, Value};
use super::{Exec, Kernel, Pid, Tid};
use crate::error::*;
use crate::objects::thread::Run;
use crate::objects::{Body, ObjectType};
use crate::trace::EventKind;
use crate::types::*;

/// A queued user APC.
pub struct QueuedApc {
    /// The routine (with its argument bound).
    pub routine: ApcRoutine,
    /// Who queued it, for the trace and the deadlock report.
    pub from: String,
    /// The waitable timer whose completion routine it is (at most one is queued per
    /// timer, and cancelling the timer removes it, §§14.21-14.22).
    pub timer: Option<crate::objects::ObjectId>,
}

impl std::fmt::Debug for QueuedApc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "APC({})", self.from)
    }
}

/// ERROR_GEN_FAILURE (31): QueueUserAPC to a thread that has ended (§16.34).
const ERROR_GEN_FAILURE: Win32Error = Win32Error(31);

/// The reply of an alertable call that returns because of APCs: WAIT_IO_COMPLETION as a
/// wait code, or as the last error of a BOOL call (§§16.13, 16.36).
pub(crate) fn apc_reply(kind: &OpKind) -> Reply {
    match kind {
        OpKind::Wait { .. } | OpKind::Sleep => Reply::from(Value::Wait(WAIT_IO_COMPLETION)),
        _ => Reply::error(Win32Error(WAIT_IO_COMPLETION)),
    }
}

impl Kernel {
    /// Whether `tid` has user APCs queued.
    pub(crate) fn has_apcs(&self, tid: Tid) -> bool {
        !self.thread(tid).apcs.is_empty()
    }

    /// Queues a user APC to `tid`; a thread blocked in an alertable wait returns from it
    /// to run it.
    pub(crate) fn queue_apc(&mut self, tid: Tid, routine: ApcRoutine, from: String) {
        self.queue_apc_tagged(tid, routine, from, None);
    }

    /// Queues a waitable timer's completion routine to `tid` (§14.21).
    pub(crate) fn queue_apc_from_timer(
        &mut self,
        tid: Tid,
        routine: ApcRoutine,
        from: String,
        timer: crate::objects::ObjectId,
    ) {
        self.queue_apc_tagged(tid, routine, from, Some(timer));
    }

    fn queue_apc_tagged(
        &mut self,
        tid: Tid,
        routine: ApcRoutine,
        from: String,
        timer: Option<crate::objects::ObjectId>,
    ) {
        if !self.tids.contains_key(&tid) || self.thread(tid).exit_code.is_some() {
            return;
        }
        self.thread_mut(tid).apcs.push_back(QueuedApc { routine, from, timer });
        // The operation the thread is blocked in may be the one completing now (a
        // ReadFileEx on a synchronous handle queues its routine as it completes, §16.40):
        // it is no longer in `ops`, and nothing is left to end.
        if let Some(op) = self.blocked_op(tid).filter(|&op| self.ops.get(op).is_some_and(|o| o.alertable)) {
            let reply = apc_reply(&self.ops[op].kind);
            self.unqueue_op(op);
            self.complete_op(op, reply, "a user APC was queued (alertable wait)");
        }
    }

    /// Takes the oldest queued APC of `tid` (the API layer runs it), tracing it.
    pub(crate) fn take_apc(&mut self, tid: Tid) -> Option<ApcRoutine> {
        if !self.tids.contains_key(&tid) {
            return None;
        }
        let apc = self.thread_mut(tid).apcs.pop_front()?;
        self.push_event(tid, EventKind::ApcRun { from: apc.from });
        if let Some(timer) = apc.timer {
            self.timer_apc_delivered(tid, timer);
        }
        Some(apc.routine)
    }

    /// QueueUserAPC: nonzero on success; a thread that has ended fails with
    /// ERROR_GEN_FAILURE (§16.34). Needs THREAD_SET_CONTEXT.
    pub(crate) fn queue_user_apc(
        &mut self,
        pid: Pid,
        tid: Tid,
        routine: ApcRoutine,
        thread: HANDLE,
        _data: usize,
    ) -> Exec {
        let target = match self.object_from_handle(pid, tid, thread, Some(ObjectType::Thread), THREAD_SET_CONTEXT) {
            Ok(id) => match &self.objects[id].body {
                Body::Thread(t) => t.tid,
                _ => unreachable!("type checked"),
            },
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        if self.thread(target).exit_code.is_some() {
            return Exec::Done(Reply::error(ERROR_GEN_FAILURE));
        }
        let alertable = matches!(self.thread(target).run, Run::Blocked(op) if self.ops[op].alertable);
        self.note_effect(|_| {
            if alertable {
                format!("T{target} is in an alertable wait: it runs the APC now")
            } else {
                format!("queued to T{target}; it runs only when T{target} waits alertably")
            }
        });
        self.queue_apc(target, routine, format!("QueueUserAPC by T{tid}"));
        Exec::Done(Reply::from(Value::U32(1)))
    }

    /// SleepEx: Sleep that, when alertable, returns WAIT_IO_COMPLETION (192) for queued
    /// APCs, at once if some are queued (§16.37); else 0.
    pub(crate) fn sleep_ex(&mut self, _pid: Pid, tid: Tid, ms: u32, alertable: bool) -> Exec {
        if alertable && self.has_apcs(tid) {
            return Exec::Done(apc_reply(&OpKind::Sleep));
        }
        if ms == 0 {
            return Exec::Done(Reply::from(Value::Wait(0)));
        }
        let deadline = self.deadline(ms);
        let op = self.new_op(tid, OpKind::Sleep, deadline);
        self.ops[op].alertable = alertable;
        Exec::Block(op)
    }

    /// Whether an alertable call of `tid` must return for APCs before waiting.
    pub(crate) fn alerted(&self, tid: Tid, alertable: bool) -> bool {
        alertable && self.has_apcs(tid)
    }
}
