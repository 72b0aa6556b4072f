//! Dispatcher waits: WaitForSingleObject, WaitForMultipleObjects, SignalObjectAndWait,
//! and the wake-up of waiters when an object's state changes (docs/semantics.md §10).
//!
//! A wait that cannot be satisfied at once becomes a `Wait` operation registered on each
//! object's wait list (holding a reference, so a waiter keeps the object alive:
//! docs/semantics.md §12.4). When an object changes state, `wake_waiters` satisfies the
//! waiters it can. If more than one could win and satisfying one consumes the signal
//! (auto-reset event, synchronization timer, mutex, semaphore), the winner is a scheduler
//! decision: Windows promises no order. What "signalled" means for each object type is
//! its family's hook (`signalled_for`, `consumes`, `consume` in objects/mod.rs).

use super::ops::{OpId, OpKind, WaitList};
use super::request::{Api, CallResult, KeptArgs, Value};
use super::sched::ChoiceKind;
use super::{Exec, Kernel, Pid, Tid};
use crate::error::*;
use crate::objects::window::InputWait;
use crate::objects::{ObjectId, ObjectType, SyncTake};
use crate::types::*;

/// What satisfying a wait takes: the objects to consume, the index reported, and whether
/// it returns for input in the message queue (MsgWaitForMultipleObjects).
type Plan = (Take, Option<usize>, bool);

/// The objects a satisfiable wait consumes: one (wait-any: no allocation), or a list
/// (wait-all).
enum Take {
    One(ObjectId),
    List(Vec<ObjectId>),
}

impl Take {
    fn as_slice(&self) -> &[ObjectId] {
        match self {
            Take::One(o) => std::slice::from_ref(o),
            Take::List(v) => v,
        }
    }
}

/// `objects` without repeats (sorted), as the list of wait lists a wait is on. A wait on
/// one object needs no list (that test is inlined where it is used; the list is made out
/// of line).
#[inline(always)]
fn each_once(objects: &[ObjectId]) -> Take {
    match objects {
        [o] => Take::One(*o),
        _ => each_once_list(objects),
    }
}

#[inline(never)]
fn each_once_list(objects: &[ObjectId]) -> Take {
    let mut unique = objects.to_vec();
    unique.sort();
    unique.dedup();
    Take::List(unique)
}

/// What `Kernel::wake_usual` did.
enum UsualWake {
    /// It woke the one waiter: none is left.
    Woken,
    /// There is nothing (more) to wake: no waiter, or one whose object is not signalled
    /// for it. Nothing changed.
    Done,
    /// Not the usual case: nothing changed.
    Other,
}

/// What WaitForSingleObject's usual case did (`Kernel::wait_single_usual`).
pub(crate) enum UsualWait {
    /// It returned this wait code at once.
    Returned(u32),
    /// It returned this wait code at once, taking this mutex, which the thread did not
    /// own: the thread's list of owned mutexes gains it, and that is left to the caller
    /// (`acquire_mutex`'s step; `Kernel::execute_sync` does it where it writes the reply,
    /// in the same look-up of the thread).
    Owned(u32, ObjectId),
    /// It blocked in this operation.
    Blocked(OpId),
    /// Not the usual case: nothing was done.
    Other,
}

impl Kernel {
    /// What satisfying a wait would take, if it can be satisfied now: the objects to
    /// consume and the index reported (lowest signalled index for wait-any, §10.2).
    fn wait_plan(&self, tid: Tid, objects: &[ObjectId], all: bool, input: Option<InputWait>) -> Option<Plan> {
        // MsgWaitForMultipleObjects: the message queue is one more object after the
        // handles (index n), ready when input of the wake mask is there (§17.H).
        let input_ready = input.map(|i| self.input_ready(tid, i));
        if all && input.is_some_and(|i| i.com != 0) {
            // An STA's CoWaitForMultipleHandles(COWAIT_WAITALL): all the handles, or
            // something to dispatch (which does not consume them) (§21).
            if objects.iter().all(|&o| self.signalled_for(o, tid)) {
                return Some((Take::List(objects.to_vec()), None, false));
            }
            return (input_ready == Some(true)).then(|| (Take::List(Vec::new()), Some(objects.len()), true));
        }
        if all {
            (objects.iter().all(|&o| self.signalled_for(o, tid)) && input_ready != Some(false))
                .then(|| (Take::List(objects.to_vec()), None, input.is_some()))
        } else {
            match objects.iter().position(|&o| self.signalled_for(o, tid)) {
                Some(i) => Some((Take::One(objects[i]), Some(i), false)),
                None if input_ready == Some(true) => Some((Take::List(Vec::new()), Some(objects.len()), true)),
                None => None,
            }
        }
    }

    /// Consumes per plan and returns the wait code.
    fn satisfy(&mut self, tid: Tid, plan: Plan) -> u32 {
        let (objs, index, _) = plan;
        let mut abandoned = false;
        for &o in objs.as_slice() {
            abandoned |= self.take_signal(o, tid);
        }
        // Wait-all reports WAIT_ABANDONED_0 itself when any mutex was abandoned (Wine
        // probe; WRK KeWaitForMultipleObjects), wait-any the index of the object.
        let base = if abandoned { WAIT_ABANDONED_0 } else { WAIT_OBJECT_0 };
        base + index.unwrap_or(0) as u32
    }

    /// Satisfies a wait, and marks the input it returns for as seen (§17.H2).
    fn satisfy_with_input(&mut self, tid: Tid, plan: Plan, input: Option<InputWait>) -> u32 {
        let for_input = plan.2;
        let code = self.satisfy(tid, plan);
        if let (Some(i), true) = (input, for_input) {
            self.input_seen(tid, i);
        }
        code
    }

    pub(crate) fn wait_for_single_object(&mut self, pid: Pid, tid: Tid, handle: HANDLE, timeout_ms: u32) -> Exec {
        match self.wait_single_usual(self.process_object(pid), tid, handle, timeout_ms, false) {
            UsualWait::Returned(code) => Exec::Done(Value::Wait(code).into()),
            UsualWait::Owned(code, mutex) => {
                self.thread_mut(tid).owned_mutexes.push(mutex);
                Exec::Done(Value::Wait(code).into())
            }
            UsualWait::Blocked(op) => Exec::Block(op),
            UsualWait::Other => self.wait_single_other(pid, tid, handle, timeout_ms),
        }
    }

    /// WaitForSingleObject's usual case: a real handle with SYNCHRONIZE to an event, a
    /// mutex or a semaphore. `wait_for_objects` would resolve it the same way (a pseudo
    /// handle, an unknown handle or a missing right is its error to report), find it
    /// waitable, and `wait_on` would take its signal at once if it is signalled for this
    /// thread (`take_sync_in` is `signalled_for` then `take_signal`), else (not
    /// alertable: no APC ends the wait) time out at once for a 0 time-out, or block on it
    /// alone. Here the handle is looked up once and no wait plan is made. Anything else
    /// (`UsualWait::Other`, nothing done) is `wait_single_other`'s. (`Kernel::execute_sync`
    /// writes a returned wait's reply straight into the thread.) A mutex newly owned is
    /// not added to the thread's list here: `UsualWait::Owned` leaves that to the caller.
    /// With `keep` (`Kernel::execute_sync`, which sets no kept arguments as the call starts)
    /// the call's kept arguments are made where it blocks and go to its operation in hand
    /// (`Kernel::make_op_kept`), not through the kernel's slot.
    #[inline(always)]
    pub(crate) fn wait_single_usual(
        &mut self,
        (pid, process): (Pid, ObjectId),
        tid: Tid,
        handle: HANDLE,
        timeout_ms: u32,
        keep: bool,
    ) -> UsualWait {
        if let Some(e) = self.process_of(process, pid).handles.get(handle)
            && e.access & SYNCHRONIZE != 0
        {
            let object = e.object;
            let step = self.step;
            match crate::objects::take_sync_in(&mut self.objects[object], tid, step) {
                (SyncTake::Taken { abandoned }, newly_owned) => {
                    let code = if abandoned { WAIT_ABANDONED_0 } else { WAIT_OBJECT_0 };
                    return if newly_owned { UsualWait::Owned(code, object) } else { UsualWait::Returned(code) };
                }
                (SyncTake::NotSignalled, _) if timeout_ms == 0 => return UsualWait::Returned(WAIT_TIMEOUT),
                (SyncTake::NotSignalled, _) => {
                    // The race detector's keys for the operation: the object's, known.
                    self.race_calling_object(pid, handle, object, keep);
                    // With `keep`, the kept arguments go to the operation in hand, not
                    // through the kernel's slot (`make_op_kept`, issue 13).
                    let calling = keep.then(|| {
                        (Api::WaitForSingleObject, Some(KeptArgs::wait_for_single_object(&handle, &timeout_ms)))
                    });
                    return UsualWait::Blocked(self.block_on(
                        tid,
                        &[object],
                        &[handle],
                        false,
                        timeout_ms,
                        false,
                        None,
                        calling,
                    ));
                }
                (SyncTake::Other, _) => {}
            }
        }
        UsualWait::Other
    }

    /// WaitForSingleObject other than its usual case (`wait_single_usual`).
    pub(crate) fn wait_single_other(&mut self, pid: Pid, tid: Tid, handle: HANDLE, timeout_ms: u32) -> Exec {
        self.wait_for_objects(pid, tid, &[handle], false, timeout_ms, true, false)
    }

    pub(crate) fn wait_for_single_object_ex(
        &mut self,
        pid: Pid,
        tid: Tid,
        handle: HANDLE,
        timeout_ms: u32,
        alertable: bool,
    ) -> Exec {
        self.wait_for_objects(pid, tid, &[handle], false, timeout_ms, true, alertable)
    }

    pub(crate) fn wait_for_multiple_objects(
        &mut self,
        pid: Pid,
        tid: Tid,
        handles: Vec<HANDLE>,
        wait_all: bool,
        timeout_ms: u32,
    ) -> Exec {
        self.wait_for_objects(pid, tid, &handles, wait_all, timeout_ms, false, false)
    }

    pub(crate) fn wait_for_multiple_objects_ex(
        &mut self,
        pid: Pid,
        tid: Tid,
        handles: Vec<HANDLE>,
        wait_all: bool,
        timeout_ms: u32,
        alertable: bool,
    ) -> Exec {
        self.wait_for_objects(pid, tid, &handles, wait_all, timeout_ms, false, alertable)
    }

    /// The wait functions' common body.
    #[allow(clippy::too_many_arguments)]
    fn wait_for_objects(
        &mut self,
        pid: Pid,
        tid: Tid,
        handles: &[HANDLE],
        all: bool,
        timeout_ms: u32,
        single: bool,
        alertable: bool,
    ) -> Exec {
        if let (true, &[h]) = (single, handles) {
            // WaitForSingleObject(Ex): one object, no list made unless it blocks.
            return match self.resolve_wait_handle(pid, tid, h, single) {
                Err(e) => Exec::from(CallResult::Err(e)),
                Ok(object) => self.wait_on(tid, &[object], handles, all, timeout_ms, alertable, None),
            };
        }
        match self.resolve_wait(pid, tid, handles, all, single) {
            Err(e) => Exec::from(CallResult::Err(e)),
            Ok(objects) => self.wait_on(tid, &objects, handles, all, timeout_ms, alertable, None),
        }
    }

    /// The waitable object behind one handle of a wait (`resolve_wait`).
    fn resolve_wait_handle(&self, pid: Pid, tid: Tid, h: HANDLE, single: bool) -> Result<ObjectId, Win32Error> {
        if !single && (h == CURRENT_PROCESS_PSEUDO_HANDLE || h == CURRENT_THREAD_PSEUDO_HANDLE) {
            // Windows rejects pseudo handles in WaitForMultipleObjects (§10.3; Wine
            // accepts them).
            return Err(ERROR_INVALID_HANDLE);
        }
        let id = self.object_from_handle(pid, tid, h, None, SYNCHRONIZE)?;
        if !self.waitable(id) {
            return Err(ERROR_INVALID_HANDLE);
        }
        Ok(id)
    }

    pub(crate) fn resolve_wait(
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
            objects.push(self.resolve_wait_handle(pid, tid, h, single)?);
        }
        if all {
            let mut sorted = objects.clone();
            sorted.sort();
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                // STATUS_INVALID_PARAMETER_MIX: one object twice in a wait-all (§10.4).
                return Err(ERROR_INVALID_PARAMETER);
            }
        }
        Ok(objects)
    }

    /// Satisfies a wait at once, returns for queued APCs (alertable), times it out
    /// (time-out 0), or blocks.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn wait_on(
        &mut self,
        tid: Tid,
        objects: &[ObjectId],
        handles: &[HANDLE],
        all: bool,
        timeout_ms: u32,
        alertable: bool,
        input: Option<InputWait>,
    ) -> Exec {
        // An object already signalled wins over queued APCs (§16.38).
        if let Some(plan) = self.wait_plan(tid, objects, all, input) {
            let code = self.satisfy_with_input(tid, plan, input);
            return Exec::from(CallResult::Ok(Value::Wait(code).into()));
        }
        // Queued APCs end an alertable wait at once, a 0 time-out one too (§16.37).
        if self.alerted(tid, alertable) {
            return Exec::Done(super::apc::apc_reply(&OpKind::Sleep));
        }
        if timeout_ms == 0 {
            // Success or time-out leaves the last error alone (§10.1).
            return Exec::from(CallResult::Ok(Value::Wait(WAIT_TIMEOUT).into()));
        }
        Exec::Block(self.block_on(tid, objects, handles, all, timeout_ms, alertable, input, None))
    }

    /// A wait that could not be satisfied at once and does not end at once blocks: a `Wait`
    /// operation on the wait list of each of its objects, holding a reference on each.
    /// Returns the operation.
    ///
    /// Inlined, with the operation made in place (`make_op`, not `new_op`'s call): in
    /// WaitForSingleObject's usual case (`wait_single_usual`) its one object and handle,
    /// its time-out and flags are known, and the lists' tests and the loop over the
    /// objects are made at compile time.
    /// The call's kept arguments are `calling` when in hand (`Kernel::make_op_kept`), or,
    /// for `None`, taken from the kernel's slot (`Kernel::make_op`).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn block_on(
        &mut self,
        tid: Tid,
        objects: &[ObjectId],
        handles: &[HANDLE],
        all: bool,
        timeout_ms: u32,
        alertable: bool,
        input: Option<InputWait>,
        calling: Option<(Api, Option<KeptArgs>)>,
    ) -> OpId {
        let deadline = self.deadline(timeout_ms);
        let unique = each_once(objects);
        // One object and one handle (the usual wait) are held inline; other lists are made
        // from the kept spare ones.
        let (objects_kept, handles_kept) = match (objects, handles) {
            (&[o], &[h]) => (WaitList::One(o), WaitList::One(h)),
            _ => {
                let (mut objects_kept, mut handles_kept) = self.spare_wait_lists();
                objects_kept.extend_from_slice(objects);
                handles_kept.extend_from_slice(handles);
                (WaitList::Many(objects_kept), WaitList::Many(handles_kept))
            }
        };
        let kind = OpKind::Wait { objects: objects_kept, handles: handles_kept, all, input };
        let op = match calling {
            Some(calling) => {
                debug_assert!(self.calling.is_none(), "simulator bug: a call's kept arguments twice");
                self.make_op_kept(tid, kind, deadline, super::ops::Target::Thread, calling)
            }
            None => self.make_op(tid, kind, deadline, super::ops::Target::Thread),
        };
        if alertable {
            // (`new_op` makes it not alertable.)
            self.ops[op].alertable = true;
        }
        for &o in unique.as_slice() {
            // `add_ref`, in the same look-up.
            let hdr = &mut self.objects[o].hdr;
            hdr.waiters.push_back(op);
            hdr.ref_count += 1;
        }
        op
    }

    /// Removes a wait operation from the wait lists of its objects and drops its
    /// references (the wait family's `unqueue_op`).
    pub(crate) fn unregister_wait(&mut self, op: OpId) {
        let objects = match &self.ops[op].kind {
            OpKind::Wait { objects, .. } => objects,
            OpKind::OverlappedResult { object, .. } => std::slice::from_ref(object),
            _ => return,
        };
        let unique = each_once(objects);
        for &o in unique.as_slice() {
            let hdr = &mut self.objects[o].hdr;
            let waiters = &mut hdr.waiters;
            if waiters.front() == Some(&op) {
                // The usual case: the first in line (no shifting).
                waiters.pop_front();
            } else if let Some(i) = waiters.iter().position(|&w| w == op) {
                waiters.remove(i);
            }
            // `release`, in the same look-up.
            if hdr.drop_ref() {
                self.maybe_destroy(o);
            }
        }
    }

    /// The wait plan of a pending wait whose thread is not suspended, if it can be
    /// satisfied now.
    fn ready_plan(&self, op: OpId) -> Option<Plan> {
        let o = &self.ops[op];
        if self.thread(o.tid).suspend_count > 0 {
            return None;
        }
        match &o.kind {
            OpKind::Wait { objects, all, input, .. } => self.wait_plan(o.tid, objects, *all, *input),
            OpKind::OverlappedResult { object, .. } => self.wait_plan(o.tid, std::slice::from_ref(object), false, None),
            _ => None,
        }
    }

    fn satisfy_pending(&mut self, op: OpId, plan: Plan, cause: &str) {
        let tid = self.ops[op].tid;
        let input = match &self.ops[op].kind {
            OpKind::Wait { input, .. } => *input,
            _ => None,
        };
        let code = self.satisfy_with_input(tid, plan, input);
        // GetOverlappedResult's wait ended: its result is the operation's (§16).
        let reply = match &self.ops[op].kind {
            OpKind::OverlappedResult { overlapped, .. } => self.overlapped_result_after_wait_as(
                overlapped,
                self.ops[op].api == super::request::Api::WSAGetOverlappedResult,
            ),
            _ => Value::Wait(code).into(),
        };
        self.unregister_wait(op);
        self.complete_op(op, reply, cause);
    }

    /// `obj`'s state changed: satisfy the waiters that now can be. Waiters whose
    /// satisfaction takes nothing (manual-reset event, notification timer, ended thread or
    /// process) are all released; among waiters competing for a consumable signal the
    /// scheduler picks. Returns how many waits were satisfied.
    pub(crate) fn wake_waiters(&mut self, obj: ObjectId, cause: &str) -> usize {
        // The usual case (one plain waiter, or none) here; anything else out of line
        // (`wake_waiters_other`), which goes on where this stopped. After the usual case's
        // one waiter is woken none is left (`UsualWake::Woken`): no second look.
        match self.wake_usual(obj, cause) {
            UsualWake::Woken => {
                debug_assert!(self.objects.get(obj).is_none_or(|o| o.hdr.waiters.is_empty()));
                1
            }
            UsualWake::Done => 0,
            UsualWake::Other => self.wake_waiters_other(obj, cause, 0),
        }
    }

    /// `wake_waiters`' usual case: no waiter, or one (it competes with no one, and
    /// `choose` among one option decides nothing), whose wait is a plain one (no
    /// message-queue input) on this object alone, by a thread not suspended. Its plan would
    /// take `obj` and report index 0 (wait-any or wait-all alike); `take_sync_in` takes
    /// it if it is signalled for the thread, and the wait leaves its wait list before it
    /// completes, as `satisfy_pending` does. Nothing is changed unless it says `Woken`.
    ///
    /// The object is looked up twice (once to read its waiter, once to take its signal and
    /// take the waiter out of its list), not four times (issue 13: the signal's own look-up
    /// and `unregister_wait`'s were two more, and `wake_waiters` came back to find
    /// no waiter left). The thread's list gains a mutex it comes to own after the waiter
    /// has left the object's list, not before: nothing reads either in between.
    #[inline(always)]
    fn wake_usual(&mut self, obj: ObjectId, cause: &str) -> UsualWake {
        let Some(o) = self.objects.get(obj) else { return UsualWake::Done };
        let op = match o.hdr.waiters.len() {
            0 => return UsualWake::Done,
            1 => o.hdr.waiters[0],
            _ => return UsualWake::Other,
        };
        // (The thread is looked up by id once, for its state and the mutex it may come to
        // own.)
        let w = &self.ops[op];
        let tid = w.tid;
        let thread = self.thread_object(tid);
        if let OpKind::Wait { objects, input: None, .. } = &w.kind
            && let [only] = objects[..]
            && self.thread_of(thread, tid).suspend_count == 0
        {
            debug_assert_eq!(only, obj);
            let step = self.step;
            let o = &mut self.objects[obj];
            match crate::objects::take_sync_in(o, tid, step) {
                (SyncTake::NotSignalled, _) => return UsualWake::Done,
                (SyncTake::Taken { abandoned }, newly_owned) => {
                    let code = if abandoned { WAIT_ABANDONED_0 } else { WAIT_OBJECT_0 };
                    // `unregister_wait`, knowing its one object and its place (first,
                    // alone): out of the list, and `release`.
                    debug_assert_eq!(o.hdr.waiters.front(), Some(&op));
                    o.hdr.waiters.pop_front();
                    let unreferenced = o.hdr.drop_ref();
                    if newly_owned {
                        self.thread_of_mut(thread, tid).owned_mutexes.push(obj);
                    }
                    if unreferenced {
                        self.maybe_destroy(obj);
                    }
                    // (No waiter is added to the object from here on: only a call that
                    // blocks adds one, and completing an operation makes no call.)
                    self.complete_op(op, Value::Wait(code).into(), cause);
                    return UsualWake::Woken;
                }
                (SyncTake::Other, _) => {}
            }
        }
        UsualWake::Other
    }

    /// `wake_waiters` past its usual case (`wake_usual`), with `woken` waiters woken so far.
    #[inline(never)]
    fn wake_waiters_other(&mut self, obj: ObjectId, cause: &str, mut woken: usize) -> usize {
        loop {
            let Some(o) = self.objects.get(obj) else { return woken };
            match o.hdr.waiters.len() {
                0 => return woken,
                1 => {
                    // One waiter: it wins if it can, without the lists below.
                    let op = o.hdr.waiters[0];
                    match self.wake_usual(obj, cause) {
                        UsualWake::Woken => {
                            woken += 1;
                            continue;
                        }
                        UsualWake::Done => return woken,
                        UsualWake::Other => {}
                    }
                    let Some(plan) = self.ready_plan(op) else { return woken };
                    self.satisfy_pending(op, plan, cause);
                    woken += 1;
                    continue;
                }
                _ => {}
            }
            // The waiters, copied into a buffer kept across calls (satisfying a waiter may
            // wake waiters of another object: that call finds the buffer taken and makes
            // its own).
            let mut waiters = std::mem::take(&mut self.scratch_ops);
            waiters.clear();
            waiters.extend(o.hdr.waiters.iter().copied());
            let mut free = Vec::new();
            let mut competing = Vec::new();
            let mut first_competing = None;
            for &op in &waiters {
                if let Some(plan) = self.ready_plan(op) {
                    if plan.0.as_slice().iter().any(|&c| self.consumes(c)) {
                        // The list is made only for a second competitor: one alone wins
                        // without a choice (`choose` among one option decides nothing).
                        // The first one's plan is kept: alone, it is the winner's.
                        match &first_competing {
                            None => first_competing = Some((op, plan)),
                            Some((first, _)) => {
                                if competing.is_empty() {
                                    competing.push(*first);
                                }
                                competing.push(op);
                            }
                        }
                    } else {
                        free.push((op, plan));
                    }
                }
            }
            self.scratch_ops = waiters;
            if !free.is_empty() {
                for (op, plan) in free {
                    self.satisfy_pending(op, plan, cause);
                    woken += 1;
                }
                continue;
            }
            let (op, plan) = match first_competing {
                None => return woken,
                // Nothing changed since its plan was made.
                Some(only) if competing.is_empty() => only,
                Some(_) => {
                    // Choices are recorded by thread id; a thread has one synchronous wait.
                    let tids: Vec<Tid> = competing.iter().map(|&op| self.ops[op].tid).collect();
                    let winner = self.choose(ChoiceKind::Waiter, &tids);
                    let op = competing[tids.iter().position(|&t| t == winner).expect("chosen among them")];
                    (op, self.ready_plan(op).expect("candidate is satisfiable"))
                }
            };
            self.satisfy_pending(op, plan, cause);
            woken += 1;
        }
    }

    /// Input reached `tid`'s message queue: a MsgWaitForMultipleObjects(Ex) it is blocked
    /// in returns if its wake mask is met (§17.H1).
    pub(crate) fn recheck_input_wait(&mut self, tid: Tid, cause: &str) {
        let Some(op) = self.blocked_op(tid) else { return };
        if !matches!(self.ops[op].kind, OpKind::Wait { input: Some(_), .. }) {
            return;
        }
        if let Some(plan) = self.ready_plan(op) {
            self.satisfy_pending(op, plan, cause);
        }
    }

    /// A resumed thread blocked in a wait: satisfy it if it can be now.
    pub(crate) fn recheck_wait(&mut self, tid: Tid) {
        let Some(op) = self.blocked_op(tid) else { return };
        if !matches!(self.ops[op].kind, OpKind::Wait { .. }) {
            return;
        }
        if let Some(plan) = self.ready_plan(op) {
            self.satisfy_pending(op, plan, "resumed with its wait satisfiable");
        } else if self.ops[op].deadline.is_some_and(|d| d <= self.now) {
            // Its time-out passed while it was suspended (`time_out_op`).
            self.unregister_wait(op);
            self.complete_op(op, Value::Wait(WAIT_TIMEOUT).into(), "resumed after its time-out");
        }
    }

    /// SignalObjectAndWait: signal one object and wait on another as one transition
    /// (§10.6), alertably when asked. If the signal fails the wait is not done.
    pub(crate) fn signal_object_and_wait(
        &mut self,
        pid: Pid,
        tid: Tid,
        signal: HANDLE,
        wait: HANDLE,
        timeout_ms: u32,
        alertable: bool,
    ) -> Exec {
        let sig = match self.object_from_handle(pid, tid, signal, None, 0) {
            Ok(id) => id,
            Err(e) => return Exec::from(CallResult::Err(e)),
        };
        let wait_obj = match self.resolve_wait(pid, tid, &[wait], false, true) {
            Ok(objs) => objs[0],
            Err(e) => return Exec::from(CallResult::Err(e)),
        };
        let cause = self.cause(|| format!("SignalObjectAndWait({signal})"));
        let granted = self.granted_access(pid, signal).unwrap_or(u32::MAX);
        let signalled = match self.objects[sig].body.object_type() {
            ObjectType::Event if granted & EVENT_MODIFY_STATE == 0 => Err(ERROR_ACCESS_DENIED),
            ObjectType::Event => {
                self.signal_event(sig, tid, super::request::Api::SignalObjectAndWait, &cause);
                Ok(())
            }
            ObjectType::Mutex => self.release_mutex_obj(sig, tid, &cause),
            ObjectType::Semaphore if granted & SEMAPHORE_MODIFY_STATE == 0 => Err(ERROR_ACCESS_DENIED),
            ObjectType::Semaphore => self.release_semaphore_obj(sig, tid, 1, &cause).map(|_| ()),
            // STATUS_OBJECT_TYPE_MISMATCH (Wine probe: a thread handle gives 6).
            _ => Err(ERROR_INVALID_HANDLE),
        };
        if let Err(e) = signalled {
            return Exec::from(CallResult::Err(e));
        }
        self.wait_on(tid, &[wait_obj], &[wait], false, timeout_ms, alertable, None)
    }
}
