//! Dispatcher waits: WaitForSingleObject, WaitForMultipleObjects, SignalObjectAndWait,
//! and the wake-up of waiters when an object's state changes (facts in section 10 of
//! shared/semantics/pipes-handles-threads-waits.md).
//!
//! A wait that cannot be satisfied at once registers the thread on each object's wait
//! list (holding a reference, so a waiter keeps the object alive: fact 12.4). When an
//! object changes state, `wake_waiters` satisfies the waiters it can. If more than one
//! could win and satisfying one consumes the signal (auto-reset event, mutex, semaphore),
//! the winner is a scheduler decision: Windows promises no order.

use super::request::Value;
use super::sched::ChoiceKind;
use super::{BlockOn, CallResult, Exec, Kernel, Pid, Tid};
use crate::error::*;
use crate::objects::thread::Run;
use crate::objects::{Body, ObjectId, ObjectType};
use crate::types::*;

impl Kernel {
    /// Whether `obj` is signalled as far as a wait by `tid` is concerned.
    fn signalled_for(&self, obj: ObjectId, tid: Tid) -> bool {
        match &self.objects[obj].body {
            Body::Event(e) => e.signalled,
            Body::Mutex(m) => m.owner.is_none() || m.owner == Some(tid),
            Body::Semaphore(s) => s.count > 0,
            Body::Process(p) => p.exit_code.is_some(),
            Body::Thread(t) => t.exit_code.is_some(),
            Body::File(f) => f.signalled,
            Body::Pipe(_) => false,
        }
    }

    /// Whether a satisfied wait changes the object's state.
    fn consumes(&self, obj: ObjectId) -> bool {
        match &self.objects[obj].body {
            Body::Event(e) => !e.manual_reset,
            Body::Mutex(_) | Body::Semaphore(_) => true,
            _ => false,
        }
    }

    /// Takes the signal of `obj` for `tid`. Returns true if it was an abandoned mutex.
    fn consume(&mut self, obj: ObjectId, tid: Tid) -> bool {
        let mut newly_owned = false;
        let abandoned = match &mut self.objects[obj].body {
            Body::Event(e) => {
                if !e.manual_reset {
                    e.signalled = false;
                }
                false
            }
            Body::Mutex(m) => {
                newly_owned = m.owner.is_none();
                m.owner = Some(tid);
                m.count += 1;
                std::mem::take(&mut m.abandoned)
            }
            Body::Semaphore(s) => {
                s.count -= 1;
                false
            }
            _ => false,
        };
        if newly_owned {
            self.thread_mut(tid).owned_mutexes.push(obj);
        }
        abandoned
    }

    /// What satisfying a wait would take, if it can be satisfied now: the objects to
    /// consume and the index reported (lowest signalled index for wait-any, fact 10.2).
    fn wait_plan(&self, tid: Tid, objects: &[ObjectId], all: bool) -> Option<(Vec<ObjectId>, Option<usize>)> {
        if all {
            objects.iter().all(|&o| self.signalled_for(o, tid)).then(|| (objects.to_vec(), None))
        } else {
            let i = objects.iter().position(|&o| self.signalled_for(o, tid))?;
            Some((vec![objects[i]], Some(i)))
        }
    }

    /// Consumes per plan and returns the wait code.
    fn satisfy(&mut self, tid: Tid, plan: (Vec<ObjectId>, Option<usize>)) -> u32 {
        let (objs, index) = plan;
        let mut abandoned = false;
        for o in objs {
            abandoned |= self.consume(o, tid);
        }
        // Wait-all reports WAIT_ABANDONED_0 itself when any mutex was abandoned (Wine
        // probe; WRK KeWaitForMultipleObjects), wait-any the index of the object.
        let base = if abandoned { WAIT_ABANDONED_0 } else { WAIT_OBJECT_0 };
        base + index.unwrap_or(0) as u32
    }

    /// The wait functions' common body.
    pub(crate) fn wait_for_objects(
        &mut self,
        pid: Pid,
        tid: Tid,
        handles: &[HANDLE],
        all: bool,
        timeout_ms: u32,
        single: bool,
    ) -> Exec {
        match self.resolve_wait(pid, tid, handles, all, single) {
            Err(e) => Exec::Done(Err(e)),
            Ok(objects) => self.wait_on(tid, objects, handles.to_vec(), all, timeout_ms),
        }
    }

    fn resolve_wait(
        &self,
        pid: Pid,
        tid: Tid,
        handles: &[HANDLE],
        all: bool,
        single: bool,
    ) -> Result<Vec<ObjectId>, Win32Error> {
        if !single && (handles.is_empty() || handles.len() > MAXIMUM_WAIT_OBJECTS) {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let mut objects = Vec::with_capacity(handles.len());
        for &h in handles {
            if !single && (h == CURRENT_PROCESS_PSEUDO_HANDLE || h == CURRENT_THREAD_PSEUDO_HANDLE) {
                // Windows rejects pseudo handles in WaitForMultipleObjects (fact 10.3;
                // Wine accepts them).
                return Err(ERROR_INVALID_HANDLE);
            }
            let id = self.object_from_handle(pid, tid, h, None, SYNCHRONIZE)?;
            if self.objects[id].body.object_type() == ObjectType::Pipe {
                return Err(ERROR_INVALID_HANDLE);
            }
            objects.push(id);
        }
        if all {
            let mut sorted = objects.clone();
            sorted.sort();
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                // STATUS_INVALID_PARAMETER_MIX: one object twice in a wait-all (fact 10.4).
                return Err(ERROR_INVALID_PARAMETER);
            }
        }
        Ok(objects)
    }

    /// Satisfies a wait at once, times it out (time-out 0), or blocks.
    pub(crate) fn wait_on(
        &mut self,
        tid: Tid,
        objects: Vec<ObjectId>,
        handles: Vec<HANDLE>,
        all: bool,
        timeout_ms: u32,
    ) -> Exec {
        if let Some(plan) = self.wait_plan(tid, &objects, all) {
            let code = self.satisfy(tid, plan);
            return Exec::Done(Ok(Value::Wait(code).into()));
        }
        if timeout_ms == 0 {
            // Success or time-out leaves the last error alone (fact 10.1).
            return Exec::Done(Ok(Value::Wait(WAIT_TIMEOUT).into()));
        }
        let mut seen: Vec<ObjectId> = Vec::new();
        for &o in &objects {
            if !seen.contains(&o) {
                seen.push(o);
                self.objects[o].hdr.waiters.push(tid);
                self.add_ref(o);
            }
        }
        Exec::Block(BlockOn::Wait { objects, handles, all }, self.deadline(timeout_ms))
    }

    /// Removes `tid` from the wait lists of `objects` and drops its references.
    pub(crate) fn unregister_wait(&mut self, tid: Tid, objects: &[ObjectId]) {
        let mut seen: Vec<ObjectId> = Vec::new();
        for &o in objects {
            if seen.contains(&o) {
                continue;
            }
            seen.push(o);
            if let Some(obj) = self.objects.get_mut(o) {
                obj.hdr.waiters.retain(|&t| t != tid);
            }
            self.release(o);
        }
    }

    /// A blocked waiter's registrations, removed before it completes (time-out).
    pub(crate) fn cancel_wait_registration(&mut self, tid: Tid) {
        let objects = match &self.thread(tid).run {
            Run::Blocked(b) => match &b.on {
                BlockOn::Wait { objects, .. } => objects.clone(),
                _ => return,
            },
            _ => return,
        };
        self.unregister_wait(tid, &objects);
    }

    /// The wait plan of a blocked, not suspended waiter, if it can be satisfied now.
    fn ready_plan(&self, tid: Tid) -> Option<(Vec<ObjectId>, Option<usize>)> {
        let t = self.thread(tid);
        if t.suspend_count > 0 {
            return None;
        }
        match &t.run {
            Run::Blocked(b) => match &b.on {
                BlockOn::Wait { objects, all, .. } => self.wait_plan(tid, objects, *all),
                _ => None,
            },
            _ => None,
        }
    }

    fn satisfy_blocked(&mut self, tid: Tid, plan: (Vec<ObjectId>, Option<usize>), cause: &str) {
        let code = self.satisfy(tid, plan);
        self.cancel_wait_registration(tid);
        let result: CallResult = Ok(Value::Wait(code).into());
        self.wake(tid, result, cause.to_string());
    }

    /// `obj`'s state changed: satisfy the waiters that now can be. Waiters whose
    /// satisfaction takes nothing (manual-reset event, ended thread or process) are all
    /// released; among waiters competing for a consumable signal the scheduler picks.
    pub(crate) fn wake_waiters(&mut self, obj: ObjectId, cause: &str) {
        loop {
            let Some(o) = self.objects.get(obj) else { return };
            let waiters = o.hdr.waiters.clone();
            let mut free = Vec::new();
            let mut competing = Vec::new();
            for tid in waiters {
                if let Some(plan) = self.ready_plan(tid) {
                    if plan.0.iter().any(|&c| self.consumes(c)) {
                        competing.push(tid);
                    } else {
                        free.push((tid, plan));
                    }
                }
            }
            if !free.is_empty() {
                for (tid, plan) in free {
                    self.satisfy_blocked(tid, plan, cause);
                }
                continue;
            }
            if competing.is_empty() {
                return;
            }
            let winner = self.choose(ChoiceKind::Waiter, &competing);
            let plan = self.ready_plan(winner).expect("candidate is satisfiable");
            self.satisfy_blocked(winner, plan, cause);
        }
    }

    /// A resumed thread blocked in a wait: satisfy it if it can be now.
    pub(crate) fn recheck_wait(&mut self, tid: Tid) {
        if let Some(plan) = self.ready_plan(tid) {
            self.satisfy_blocked(tid, plan, "resumed with its wait satisfiable");
        } else if matches!(&self.thread(tid).run, Run::Blocked(b) if b.deadline_ms.is_some_and(|d| d <= self.now_ms)) {
            // Its time-out passed while it was suspended (`Kernel::time_out`).
            self.cancel_wait_registration(tid);
            self.wake(tid, Ok(Value::Wait(WAIT_TIMEOUT).into()), "resumed after its time-out".into());
        }
    }

    /// SignalObjectAndWait: signal one object and wait on another as one transition
    /// (fact 10.6). If the signal fails the wait is not done.
    pub(crate) fn signal_object_and_wait(
        &mut self,
        pid: Pid,
        tid: Tid,
        signal: HANDLE,
        wait: HANDLE,
        timeout_ms: u32,
    ) -> Exec {
        let sig = match self.object_from_handle(pid, tid, signal, None, 0) {
            Ok(id) => id,
            Err(e) => return Exec::Done(Err(e)),
        };
        let wait_obj = match self.resolve_wait(pid, tid, &[wait], false, true) {
            Ok(objs) => objs[0],
            Err(e) => return Exec::Done(Err(e)),
        };
        let cause = self.cause(|| format!("SignalObjectAndWait({signal})"));
        let granted = self.granted_access(pid, signal).unwrap_or(u32::MAX);
        let signalled = match self.objects[sig].body.object_type() {
            ObjectType::Event if granted & EVENT_MODIFY_STATE == 0 => Err(ERROR_ACCESS_DENIED),
            ObjectType::Event => {
                self.signal_event(sig, &cause);
                Ok(())
            }
            ObjectType::Mutex => self.release_mutex_obj(sig, tid, &cause),
            ObjectType::Semaphore if granted & SEMAPHORE_MODIFY_STATE == 0 => Err(ERROR_ACCESS_DENIED),
            ObjectType::Semaphore => self.release_semaphore_obj(sig, 1, &cause).map(|_| ()),
            // STATUS_OBJECT_TYPE_MISMATCH (Wine probe: a thread handle gives 6).
            _ => Err(ERROR_INVALID_HANDLE),
        };
        if let Err(e) = signalled {
            return Exec::Done(Err(e));
        }
        self.wait_on(tid, vec![wait_obj], vec![wait], false, timeout_ms)
    }
}
