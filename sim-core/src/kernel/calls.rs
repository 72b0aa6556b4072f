//! Calls: a thread parks at a call, the kernel executes it in one step, and the trace
//! records it with its effects in cause-and-effect order.

use super::request::{Api, KeptArgs, Reply, Request, Value};
use super::wait::UsualWait;
use super::{Exec, Kernel, Tid};
use crate::objects::Body;
use crate::objects::pipe::IoLock;
use crate::objects::thread::Run;
use crate::report::Outcome;
use crate::trace::{Arg, ArgList, ArgValue, Event, EventKind, Ret, push_u64};

/// Up to this many objects, the invariants are checked after every step.
const INVARIANTS_EVERY_STEP: u64 = 256;

impl Kernel {
    /// Parks a thread at a call (the API future does this on its first poll). Misuse of a
    /// ThreadCtx (by another thread, after its thread ended, or two calls at once) ends the
    /// run as `Failed`, against the thread that misused it.
    /// The request is taken from `req` (the future's slot, which holds one). Returns
    /// the thread's object, as `park_request` does.
    #[inline(always)]
    pub(crate) fn park(&mut self, tid: Tid, req: &mut Option<Request>) -> crate::objects::ObjectId {
        match req.take() {
            Some(req) => self.park_request(tid, req),
            None => crate::objects::ObjectId::default(),
        }
    }

    /// `park` of a request made by value (the futures written by hand build theirs at the
    /// first poll): it is written straight into the thread. The usual case, with one
    /// lookup: the thread being polled calls through its own ThreadCtx between two calls.
    /// Returns the thread's object, found here, for `step_inline` (the null key when the
    /// call may not park: the run then stops).
    #[inline(always)]
    pub(crate) fn park_request(&mut self, tid: Tid, req: Request) -> crate::objects::ObjectId {
        // The thread is found through the object its poll noted (`polling_oid`), not by
        // its id again (issue 13).
        self.debug_check_polling_oid(tid);
        if self.polling == Some(tid)
            && let oid = self.polling_oid
            && let Some(o) = self.objects.get_mut(oid)
            && let Body::Thread(t) = &mut o.body
            && matches!(t.run, Run::Running)
        {
            t.run = Run::Parked(req);
            if t.suspend_count == 0 {
                self.parked.insert(tid);
            }
            self.polled_parked = true;
            return oid;
        }
        self.park_misused(tid, req);
        crate::objects::ObjectId::default()
    }

    /// A call that may not park (`misuse`) ends the run.
    #[inline(never)]
    fn park_misused(&mut self, tid: Tid, req: Request) {
        let message = self.misuse(tid, req.api()).unwrap_or_else(|| "simulator bug: a call could not park".into());
        self.fail_polled(tid, message);
    }

    /// Why a call through `tid`'s ThreadCtx is not allowed now, if it is not.
    fn misuse(&self, tid: Tid, api: Api) -> Option<String> {
        let polled = self.polling;
        let alive = self.tids.contains_key(&tid) && !matches!(self.thread(tid).run, Run::Exited);
        match polled {
            Some(p) if p != tid && !alive => Some(format!(
                "T{p} called {api} through the ThreadCtx of T{tid}, which has exited; a ThreadCtx belongs \
                 to its own thread (each thread body receives its own)"
            )),
            Some(p) if p != tid => Some(format!(
                "T{p} called {api} through the ThreadCtx of T{tid}; a ThreadCtx belongs to its own thread \
                 (each thread body receives its own)"
            )),
            None => Some(format!("{api} was called through the ThreadCtx of T{tid} outside any simulated thread")),
            Some(_) if !alive => Some(format!("T{tid} called {api} after its thread ended")),
            Some(_) if !matches!(self.thread(tid).run, Run::Running) => Some(format!(
                "the thread body started {api} while another call was in progress; a simulated thread makes \
                 one call at a time"
            )),
            Some(_) => None,
        }
    }

    /// Ends the run as `Failed` against the thread being polled (or `tid`).
    pub(crate) fn fail_polled(&mut self, tid: Tid, message: String) {
        let culprit = self.polling.unwrap_or(tid);
        let pid = if self.tids.contains_key(&culprit) { self.pid_of(culprit) } else { 0 };
        if self.stop.is_none() {
            self.stop = crate::kernel::Stop::of(Outcome::Failed { pid, tid: culprit, message, location: None });
        }
    }

    /// A thread body returned: a process's main thread returning is `main` returning,
    /// after which the C runtime calls ExitProcess; another thread just ends.
    pub(crate) fn thread_returned(&mut self, tid: Tid, code: u32) {
        let t = self.thread(tid);
        if t.main {
            let pid = t.pid;
            let how = self.trace_text(|| format!("main returned {code}; ExitProcess"));
            self.terminate_process_by_id(pid, code, how);
        } else {
            let how = self.trace_text(|| "returned".into());
            self.kill_thread(tid, code, how);
        }
    }

    /// Takes the driver's next steps from inside the call that `tid` just parked at, and
    /// returns that call's result if it has completed with `tid` the next thread the
    /// driver would poll: its future then returns the result at once (issue 13).
    ///
    /// Once the last thread of a poll round parks, `Sim::drive_steps` would: find no thread
    /// to poll and no stop, list the runnable threads, choose one, step it, and poll what
    /// the step made ready, in order. This does the same steps in the same order, on the
    /// same state, so every decision, trace event and outcome is the same; what it saves is
    /// the unwinding of the thread's future to the driver and its polling back down to this
    /// call. It stops, leaving the rest to the driver, at anything the driver does besides
    /// choosing and stepping: a thread to poll other than `tid` (a woken or new thread, or
    /// the chosen other thread), bodies to drop, a stop, no runnable thread (the clock, a
    /// deadlock, the end), or the step limit.
    /// `oid` is `tid`'s object (`park_request` found it): the thread is not looked up
    /// again by its id to take its result.
    /// `SYNC_FIRST`: the call is one of those `step_thread_sync_first` is for (`LazyCall`'s).
    #[inline(always)]
    pub(crate) fn step_inline<const SYNC_FIRST: bool>(
        &mut self,
        tid: Tid,
        oid: crate::objects::ObjectId,
    ) -> Option<Reply> {
        if !self.inline_steps {
            return None;
        }
        loop {
            if !self.to_poll.is_empty() || !self.dead.is_empty() || !self.stop.is_none() {
                return None;
            }
            // The usual case, a plain step (`plain_step`: the random strategy choosing
            // from the set's word, below the step limit): the choice made from the word,
            // without its list, and no stop to look for after it (`choose_thread_in`
            // makes none).
            let chosen = if self.plain_step()
                && let Some(mask) = self.parked.low_only()
            {
                if mask == 0 {
                    return None;
                }
                self.choose_thread_in(mask)
            } else {
                let chosen = match self.runnable_mask() {
                    Some(mask) => {
                        if mask == 0 || self.step >= self.config.steps_max {
                            return None;
                        }
                        self.choose_thread_in(mask)
                    }
                    // One or two runnable threads, one past the word's ids: chosen
                    // without their list (`choose_thread_few`).
                    None if let Some((first, second)) = self.runnable_few() => {
                        if self.step >= self.config.steps_max {
                            return None;
                        }
                        self.choose_thread_few(first, second)
                    }
                    None => {
                        let mut runnable = std::mem::take(&mut self.scratch_tids);
                        runnable.clear();
                        self.parked.extend_into(&mut runnable);
                        if runnable.is_empty() || self.step >= self.config.steps_max {
                            self.scratch_tids = runnable;
                            return None;
                        }
                        let chosen = self.choose(super::ChoiceKind::Thread, &runnable);
                        self.scratch_tids = runnable;
                        chosen
                    }
                };
                if !self.stop.is_none() {
                    return None;
                }
                chosen
            };
            self.before_step(chosen);
            self.stepping_inline = true;
            if SYNC_FIRST {
                self.step_thread_sync_first(chosen);
            } else {
                self.step_thread(chosen);
            }
            self.stepping_inline = false;
            if !self.stop.is_none() {
                return None;
            }
            // The driver now polls the threads the step made ready, in order: the call
            // goes on here only if `tid` is the one (as `Sim::poll_ready` checks it).
            if self.to_poll.len() == 1 && self.to_poll.front() == Some(&tid) && self.dead.is_empty() {
                // The thread is looked up once, to be made running and to take its result
                // (what `take_reply` does after the driver's poll).
                // (After a plain step no one watches: `plain_until` is 0 with state
                // hashing on, and the livelock watch starts at it or later.)
                let watching = !self.plain_step() && self.watching_replies();
                debug_assert!(self.tids.get(&tid) == Some(&oid), "simulator bug: T{tid}'s object is another's");
                let Some(Body::Thread(t)) = self.objects.get_mut(oid).map(|o| &mut o.body) else {
                    return None;
                };
                if t.suspend_count > 0 || !matches!(t.run, Run::Ready) {
                    return None;
                }
                t.run = Run::Running;
                self.polled_parked = false;
                self.to_poll.clear();
                if !watching {
                    // The usual case: the reply moves straight to the caller.
                    return t.reply.take();
                }
                let reply = t.reply.take();
                if let Some(r) = &reply {
                    self.took_reply_watched(tid, r);
                }
                return reply;
            }
        }
    }

    /// Takes a completed call's result (the API future's second poll).
    /// The usual caller, the thread being polled with no one watching the replies, finds
    /// itself through the object its poll noted (`polling_oid`), not by its id again
    /// (issue 13); the rest take `take_reply_other`.
    #[inline(always)]
    pub(crate) fn take_reply(&mut self, tid: Tid) -> Option<Reply> {
        self.debug_check_polling_oid(tid);
        if self.polling != Some(tid) || self.watching_replies() {
            return self.take_reply_other(tid);
        }
        // The usual case: the reply moves straight to the caller. (Written out rather
        // than through `polled_reply_slot`, whose `None` for a missing thread would send
        // it on to `take_reply_other`: 1.2 instructions a ping-pong step more.)
        match self.objects.get_mut(self.polling_oid).map(|o| &mut o.body) {
            Some(Body::Thread(t)) => t.reply.take(),
            _ => None,
        }
    }

    /// In debug builds: the object the driver noted for the thread being polled
    /// (`polling_oid`) is that thread's, where `tid` is the one being polled.
    #[inline(always)]
    fn debug_check_polling_oid(&self, tid: Tid) {
        debug_assert!(
            self.polling != Some(tid) || self.tids.get(&tid).is_none_or(|&id| id == self.polling_oid),
            "simulator bug: T{tid}'s noted object is another's"
        );
    }

    /// `take_reply`'s usual case with the reply left where it lies, for the caller to read
    /// its usual shape there and take it (a reply taken whole is copied to the stack
    /// first, issue 13). `None`: not the usual case (another thread, or the replies
    /// watched), or the thread not found through the polled object; the caller then takes
    /// `take_reply_other`'s way (`take_reply`).
    #[inline(always)]
    pub(crate) fn polled_reply_slot(&mut self, tid: Tid) -> Option<&mut Option<Reply>> {
        self.debug_check_polling_oid(tid);
        if self.polling != Some(tid) || self.watching_replies() {
            return None;
        }
        match self.objects.get_mut(self.polling_oid).map(|o| &mut o.body) {
            Some(Body::Thread(t)) => Some(&mut t.reply),
            _ => None,
        }
    }

    /// `take_reply` for a thread other than the one being polled, or with the replies
    /// watched (out of line).
    #[inline(never)]
    fn take_reply_other(&mut self, tid: Tid) -> Option<Reply> {
        let watching = self.watching_replies();
        let reply = match self.tids.get(&tid).map(|&id| &mut self.objects[id].body) {
            Some(Body::Thread(t)) if !watching => return t.reply.take(),
            Some(Body::Thread(t)) => t.reply.take(),
            _ => None,
        };
        if let Some(r) = &reply {
            self.took_reply_watched(tid, r);
        }
        reply
    }

    /// Whether the livelock watch or the position recorder sees each result a thread
    /// takes (`took_reply_watched`).
    #[inline(always)]
    fn watching_replies(&self) -> bool {
        self.livelock.is_some() || self.positions.is_some()
    }

    /// `tid` took the result `r` of its call, with the livelock watch or the position
    /// recorder on: they see it (out of line).
    #[inline(never)]
    fn took_reply_watched(&mut self, tid: Tid, r: &Reply) {
        if self.livelock.is_some() {
            self.watch_reply(tid, r);
        }
        if let Some(p) = self.positions.as_mut() {
            p.took(tid, &format!("{r:?}"));
        }
    }

    /// Executes the parked call of `tid`: one kernel step.
    pub fn step_thread(&mut self, tid: Tid) {
        if let Some(oid) = self.step_sync::<false>(tid) {
            self.execute(tid, oid);
        }
        self.step_done();
    }

    /// `step_thread` with the calls made most in a plain step (`step_sync`'s) entered
    /// from its caller, into which it is inlined, and any other stepped out of line
    /// (`step_thread_other`), with the thread's object found here. For the first poll of
    /// those calls (`LazyCall`), where the thread chosen is most often the caller, about
    /// to make one of them (issue 13: they went through `step_thread`'s frame to reach
    /// `execute_sync`'s; inlined into every call's first poll, this made the pipe's
    /// ReadFile and WriteFile heavier by more than it saved).
    #[inline(always)]
    pub(crate) fn step_thread_sync_first(&mut self, tid: Tid) {
        match self.step_sync::<true>(tid) {
            Some(oid) => self.step_thread_other(tid, oid),
            None => self.step_done(),
        }
    }

    /// `step_thread` for a call other than `step_sync`'s: `tid`'s object is `oid`.
    #[inline(never)]
    fn step_thread_other(&mut self, tid: Tid, oid: crate::objects::ObjectId) {
        self.execute(tid, oid);
        self.step_done();
    }

    /// A step's first part: `tid` leaves the runnable set and, for one of the calls made
    /// most in a plain step, the call is executed (`execute_sync`): `None`; else the
    /// thread's object, for `execute`.
    #[inline(always)]
    fn step_sync<const INLINE: bool>(&mut self, tid: Tid) -> Option<crate::objects::ObjectId> {
        // The thread is looked up before it leaves the runnable set: the id map's test of
        // the id (a multiple of 4) then spares the set's own (issue 13). (A missing thread
        // is a simulator bug either way.)
        let Some(&oid) = self.tids.get(&tid) else { super::no_such("thread", tid) };
        self.parked.remove(&tid);
        // The calls made most, in a plain step (`plain_step`: among other things the
        // trace off, before the livelock watch's window, the race detector keeping no
        // clocks) with no file object's lock granted to the thread, take
        // `execute_sync`.
        // (The call's kind is tested first: another call then pays that test alone.)
        let sync = match &self.objects[oid].body {
            Body::Thread(t) => sync_call(&t.run).filter(|_| t.granted.is_none()),
            _ => None,
        };
        if let Some(call) = sync
            && self.plain_step()
        {
            let Body::Thread(t) = &mut self.objects[oid].body else { super::no_such("thread", tid) };
            let (pid, process) = (t.pid, t.process);
            // The request holds nothing to free: it is forgotten, not dropped (as
            // `execute` forgets it).
            std::mem::forget(std::mem::replace(&mut t.run, Run::Running));
            let (api, handle, timeout_ms) = call;
            if INLINE {
                self.execute_sync_inline(oid, tid, process, api, handle, pid, timeout_ms);
            } else {
                self.execute_sync(oid, tid, process, api, handle, pid, timeout_ms);
            }
            return None;
        }
        Some(oid)
    }

    /// A step's end.
    #[inline(always)]
    fn step_done(&mut self) {
        self.current = None;
        // The usual step (no trace, no invariant checks, before the livelock watch's
        // window) has nothing more to do: one comparison (`checks_from`).
        if self.step > self.checks_from {
            self.after_step();
        }
    }

    /// The checks after a step that the usual one skips: the livelock watch, the trace's
    /// cause and length, the invariants (out of line).
    #[inline(never)]
    fn after_step(&mut self) {
        if self.step > self.watch_from {
            self.watch_state();
        }
        self.cause_event = None;
        if self.trace.len() > self.config.trace_events_max {
            let drop = self.trace.len() - self.config.trace_events_max / 2;
            self.trace.drain(..drop);
            self.trace_dropped += drop as u64;
        }
        // A limit reached in the middle of a call ends the run and may leave that call's
        // half-made objects behind; the invariants are for runs that go on.
        if self.config.check_invariants && self.stop.is_none() && self.invariants_due() {
            self.check_invariants();
        }
    }

    /// A file call that took its file object's I/O lock (`lock`), or found none to take,
    /// has run: the handle it resolved is forgotten, and the lock stays with a call that
    /// blocked (the object nonsignalled while its I/O is in progress) or goes.
    /// A lock deferred (`IoLock::Deferred`: ReadFile's and WriteFile's, free as they
    /// start) is taken only by a call that blocked.
    /// A deferred lock taken by a call that blocked is returned: the thread's record of
    /// it (`Thread::held_lock`) is left to `execute`'s end, which has the thread's object
    /// at hand there (every ReadFile or WriteFile that blocks comes here, issue 13). A
    /// deferred lock is never a granted one, so that nothing reads that record in between.
    #[inline(always)]
    fn file_call_done(&mut self, tid: Tid, lock: IoLock, exec: &Exec) -> Option<crate::objects::ObjectId> {
        use crate::objects::pipe;
        self.call_file = None;
        match (lock, exec) {
            (IoLock::Free, _) => {}
            (IoLock::Held(file), Exec::Block(_)) => pipe::hold_lock(self, file, tid),
            (IoLock::Held(file), _) => pipe::unlock_file(self, file),
            (IoLock::Deferred(file), Exec::Block(_)) => {
                pipe::take_deferred_lock(self, file, tid);
                return Some(file);
            }
            (IoLock::Deferred(file), _) => pipe::deferred_lock_unused(self, file),
        }
        None
    }

    /// The executing file call queues behind the holder of `file`'s I/O lock: its
    /// arguments go on the operation, as any call's that blocks.
    #[inline(never)]
    fn queue_for_lock(&mut self, tid: Tid, file: crate::objects::ObjectId, req: Request) -> Exec {
        self.call_file = None;
        if let Some((_, a @ None)) = self.calling.as_mut() {
            *a = Some(req.keep_args());
        }
        Exec::Block(crate::objects::pipe::queue_lock_wait(self, tid, file, req))
    }

    /// Whether the invariants are checked after this step. A full check walks every
    /// object, so it runs after every step while the machine is small (up to
    /// `INVARIANTS_EVERY_STEP` objects) and then after every n-th step, n growing with the
    /// number of objects: its cost per step stays bounded, and debug builds stay usable
    /// with thousands of threads (issue 13). The steps checked depend only on the run, so
    /// a run checks the same steps on every machine.
    fn invariants_due(&self) -> bool {
        let n = self.objects.len() as u64;
        n <= INVARIANTS_EVERY_STEP || self.step.is_multiple_of(n / INVARIANTS_EVERY_STEP)
    }

    /// `execute` for the calls made most, WaitForSingleObject, SetEvent and ReleaseMutex
    /// (`api` on `handle`, with `timeout_ms` for a wait), in the usual step (`execute`
    /// tells): the trace off, before the livelock watch's window, the race detector
    /// keeping no clocks, and no file object's lock granted to the thread, which is
    /// running (`oid` is its object). `execute` does nothing else for them then: its other
    /// work is the trace's, the watch's, the detector's clocks', the I/O lock's (none of
    /// these calls takes one) and the grant's. Here the request's kind is read once, not at
    /// each of `execute`'s tests of it, and none of those tests is made (issue 13): the
    /// steps left are `execute`'s, in its order, through the same functions.
    /// `tid`'s process is `pid`, whose object is `process`. The arguments are scalars, not
    /// tuples (issue 13: the tuples were passed through memory, stored by the caller and
    /// loaded again here); the two read least come last, past the registers.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn execute_sync(
        &mut self,
        oid: crate::objects::ObjectId,
        tid: Tid,
        process: crate::objects::ObjectId,
        api: Api,
        handle: crate::types::HANDLE,
        pid: super::Pid,
        timeout_ms: u32,
    ) {
        self.execute_sync_inline(oid, tid, process, api, handle, pid, timeout_ms)
    }

    /// `execute_sync`'s body, inlined where a call is stepped from its own first poll
    /// (`step_sync::<true>`); `execute_sync` is the same out of line, for `step_thread`
    /// (inlined there too, it made that larger function's usual steps dearer, sixteenth
    /// session).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn execute_sync_inline(
        &mut self,
        oid: crate::objects::ObjectId,
        tid: Tid,
        process: crate::objects::ObjectId,
        api: Api,
        handle: crate::types::HANDLE,
        pid: super::Pid,
        timeout_ms: u32,
    ) {
        self.step += 1;
        #[cfg(test)]
        if tests::PANIC_AT_STEP.with(|p| p.get()) == self.step {
            panic!("a test's kernel panic at step {}", self.step);
        }
        self.current = Some(tid);
        debug_assert!(!crate::objects::pipe::may_lock_file(api), "simulator bug: {api} may take a lock");
        debug_assert!(self.calling.is_none(), "simulator bug: a call's kept arguments left over");
        debug_assert!(self.call_file.is_none(), "simulator bug: a call's file object left over");
        // The call's kept arguments (`calling`, what `execute` sets as a call starts) are
        // read by one thing only, the operation a call makes (`make_op`: it takes them).
        // The usual cases below make one only where a wait blocks, and they are set there
        // (`keep_wait_single`), not at every call and cleared at its end (issue 13); the
        // other cases have them set as `execute` sets them.
        let exec = match api {
            Api::WaitForSingleObject => {
                debug_assert!(api.may_block());
                // The usual cases' results are small: their replies are written straight into
                // the thread (`sync_done`), not returned as an `Exec` and moved on from there.
                match self.wait_single_usual((pid, process), tid, handle, timeout_ms, true) {
                    UsualWait::Returned(code) => return self.sync_done(oid, tid, SyncReply::Wait(code)),
                    UsualWait::Owned(code, mutex) => {
                        return self.sync_done_owned(oid, tid, SyncReply::Wait(code), Owned::Gained(mutex));
                    }
                    UsualWait::Blocked(op) => {
                        // (Its operation took the kept arguments.)
                        debug_assert!(self.calling.is_none());
                        return self.sync_blocked(oid, tid, op);
                    }
                    UsualWait::Other => {
                        self.keep_wait_single(handle, timeout_ms);
                        self.wait_single_other(pid, tid, handle, timeout_ms)
                    }
                }
            }
            Api::SetEvent => {
                debug_assert!(!api.may_block());
                // (The trace is off in this step: `untraced`.)
                if self.set_event_usual((pid, process), tid, true, handle) {
                    return self.sync_done(oid, tid, SyncReply::True);
                }
                std::mem::forget(self.calling.replace((api, None)));
                self.set_event_other(pid, tid, handle).into()
            }
            _ => {
                debug_assert!(!api.may_block());
                match self.release_mutex_usual((pid, process), tid, oid, true, handle) {
                    Some(Ok(None)) => return self.sync_done(oid, tid, SyncReply::True),
                    Some(Ok(Some(mutex))) => {
                        return self.sync_done_owned(oid, tid, SyncReply::True, Owned::Released(mutex));
                    }
                    Some(Err(e)) => return self.sync_done(oid, tid, SyncReply::Error(e)),
                    None => {
                        std::mem::forget(self.calling.replace((api, None)));
                        self.release_mutex_other(pid, tid, handle).into()
                    }
                }
            }
        };
        // Their kept arguments (WaitForSingleObject's, or none) need no drop glue.
        std::mem::forget(self.calling.take());
        match exec {
            Exec::Done(reply) => {
                // (No `race_call_done`: as `sync_done`.)
                debug_assert!(!self.race_on());
                self.reply_ready(oid, tid, reply);
            }
            Exec::Block(op) => self.sync_blocked(oid, tid, op),
            // (With the trace off, nothing is recorded.)
            Exec::Gone => {}
            Exec::Delivered => unreachable!("simulator bug: a reply delivered in execute_sync"),
        }
    }

    /// `execute_sync`'s end for a call that returned `r` at once: its reply is built
    /// where the thread keeps it.
    /// It is `plain_call_done` without the race detector's `race_call_done`, which would do
    /// nothing here (issue 13: a test of the detector at each of these calls): the detector
    /// kept no clocks as the call started (`step_thread` tells) and none of these calls
    /// starts them (only a call that touches simulated memory does).
    #[inline(always)]
    fn sync_done(&mut self, oid: crate::objects::ObjectId, tid: Tid, r: SyncReply) {
        self.sync_done_owned(oid, tid, r, Owned::Same);
    }

    /// `sync_done`, the thread's list of owned mutexes changed in the same look-up of the
    /// thread as its reply is written (`owned`), not in one of its own before it (issue 13:
    /// the call's work left it to here, and nothing reads the list in between).
    /// (No kept arguments to clear: the usual cases set none unless they block.)
    #[inline(always)]
    fn sync_done_owned(&mut self, oid: crate::objects::ObjectId, tid: Tid, r: SyncReply, owned: Owned) {
        debug_assert!(!self.race_on());
        debug_assert!(self.calling.is_none());
        self.reply_ready_owned(oid, tid, std::mem::ManuallyDrop::new(r.into()), owned);
    }

    /// WaitForSingleObject's kept arguments (`handle`, `timeout_ms`) set as `execute` sets
    /// them as the call starts (`Request::keep_args_into`), for `execute_sync`'s wait that
    /// blocks or takes the general path.
    #[inline(always)]
    pub(crate) fn keep_wait_single(&mut self, handle: crate::types::HANDLE, timeout_ms: u32) {
        std::mem::forget(self.calling.replace((Api::WaitForSingleObject, None)));
        if let Some((_, slot)) = &mut self.calling {
            let req = Request::WaitForSingleObject { handle, timeout_ms };
            req.keep_args_into(slot);
            // (It holds nothing to free.)
            std::mem::forget(req);
        }
    }

    /// The end of a call (of `tid`, whose object is `oid`) that returned `reply` at once,
    /// in the usual step (the trace off, no lock granted) and with kept arguments that
    /// need no drop glue (`kept_is_plain`: WaitForSingleObject's, ReadFile's,
    /// WriteFile's, or none): what the end of `execute` does then.
    /// The reply goes to the thread as `ManuallyDrop` (`reply_ready_owned`): a reply that
    /// a panic on the way (the race detector's call) would have to drop was copied twice
    /// on the stack for the unwinding's sake, which never happens (issue 13).
    #[inline(always)]
    pub(crate) fn plain_call_done(
        &mut self,
        oid: crate::objects::ObjectId,
        tid: Tid,
        reply: std::mem::ManuallyDrop<Reply>,
    ) {
        self.plain_call_end(tid);
        self.reply_ready_owned(oid, tid, reply, Owned::Same);
    }

    /// What `plain_call_done` and `plain_call_placed` do before the thread gets its reply:
    /// the call's kept arguments (plain ones or none) forgotten, the race detector told.
    #[inline(always)]
    fn plain_call_end(&mut self, tid: Tid) {
        debug_assert!(
            self.calling.as_ref().is_none_or(|(api, kept)| kept.is_none() || super::request::kept_is_plain(*api))
        );
        std::mem::forget(self.calling.take());
        self.race_call_done(tid);
    }

    /// `plain_call_done` for a ReadFile or WriteFile done at once in its usual case
    /// (`Exec::Delivered`), which set no kept arguments (`Kernel::keep_io_call`): none to
    /// clear (issue 13).
    #[inline(always)]
    pub(crate) fn delivered_call_done(
        &mut self,
        oid: crate::objects::ObjectId,
        tid: Tid,
        reply: std::mem::ManuallyDrop<Reply>,
    ) {
        self.delivered_call_end(tid);
        self.reply_ready_owned(oid, tid, reply, Owned::Same);
    }

    /// `plain_call_end` for a delivered call (`delivered_call_done`): no kept arguments.
    #[inline(always)]
    fn delivered_call_end(&mut self, tid: Tid) {
        debug_assert!(self.calling.is_none(), "simulator bug: a delivered call's kept arguments set");
        self.race_call_done(tid);
    }

    /// `plain_call_done` for a call whose successful reply is already in its thread
    /// (`objects::pipe::take_into`), which its call made ready there (`poll`: it is not
    /// suspended): the same steps, but the reply's write and its last error (a success
    /// sets none), and the thread's state, written where its reply was (issue 13: a second
    /// look-up of the thread here).
    #[inline(always)]
    pub(crate) fn plain_call_placed(&mut self, oid: crate::objects::ObjectId, tid: Tid, poll: bool) {
        self.delivered_call_end(tid);
        debug_assert!(
            matches!(&self.objects[oid].body, Body::Thread(t)
                if matches!(&t.reply, Some(r) if matches!(r.status, super::request::Status::Success))
                    && matches!(t.run, Run::Ready)
                    && poll == (t.suspend_count == 0)),
            "simulator bug: T{tid}'s placed reply is missing, or it is not ready"
        );
        if poll {
            self.to_poll.push_back(tid);
        }
    }

    /// `execute_sync`'s end for a call that blocked in operation `op` (its kept arguments
    /// already taken).
    #[inline(always)]
    fn sync_blocked(&mut self, oid: crate::objects::ObjectId, tid: Tid, op: super::ops::OpId) {
        let Body::Thread(t) = &mut self.objects[oid].body else { super::no_such("thread", tid) };
        t.run = Run::Blocked(op);
        if t.port.is_some() {
            self.port_thread_stopped(tid);
        }
    }

    /// A call of `tid` (whose object is `oid`) returned `reply` at once: the thread is
    /// ready, to be polled for it (unless suspended), and its last error is set.
    #[inline(always)]
    fn reply_ready(&mut self, oid: crate::objects::ObjectId, tid: Tid, reply: Reply) {
        self.reply_ready_owned(oid, tid, std::mem::ManuallyDrop::new(reply), Owned::Same);
    }

    /// `reply_ready`, the thread's list of owned mutexes changed first as `owned` says
    /// (what `acquire_mutex` or the release left to here: `sync_done_owned`).
    /// The reply is `ManuallyDrop` until it is written (a panic on the way leaks it): so
    /// that no copy of it is kept for an unwinding's drop (issue 13).
    #[inline(always)]
    fn reply_ready_owned(
        &mut self,
        oid: crate::objects::ObjectId,
        tid: Tid,
        reply: std::mem::ManuallyDrop<Reply>,
        owned: Owned,
    ) {
        let Body::Thread(t) = &mut self.objects[oid].body else { super::no_such("thread", tid) };
        match owned {
            Owned::Same => {}
            Owned::Gained(mutex) => t.owned_mutexes.push(mutex),
            Owned::Released(mutex) => crate::objects::sync::unown(&mut t.owned_mutexes, mutex),
        }
        reply.status.set_last_error(&mut t.last_error);
        // The thread took its last reply before it made this call, and is running it:
        // neither the reply nor the state replaced holds anything to free, so they are
        // forgotten, not dropped (issue 13: two tests of them for drop glue at every
        // call).
        debug_assert!(t.reply.is_none(), "simulator bug: T{tid}'s last reply not taken");
        debug_assert!(matches!(t.run, Run::Running), "simulator bug: T{tid} is not running");
        std::mem::forget(t.reply.replace(std::mem::ManuallyDrop::into_inner(reply)));
        std::mem::forget(std::mem::replace(&mut t.run, Run::Ready));
        if t.suspend_count == 0 {
            self.to_poll.push_back(tid); // to be polled (unless suspended)
        }
    }

    /// Executes the parked call of `tid` and records the outcome (the step's work between
    /// the scheduler's bookkeeping and the checks after it). The request is taken from the
    /// thread here, in the one function that hands it to its handler, so that it is moved
    /// as few times as may be (it is large).
    /// `oid` is the thread's object, looked up once: the reply is stored through it (a
    /// thread id is never reused, so it names the same thread for the whole step).
    #[inline(always)]
    fn execute(&mut self, tid: Tid, oid: crate::objects::ObjectId) {
        let Body::Thread(t) = &mut self.objects[oid].body else { super::no_such("thread", tid) };
        let pid = t.pid;
        // Its process's object (for the file calls' handles), and its `granted` file
        // object as the call starts.
        let process = t.process;
        let granted = t.granted;
        // Checked before the request is moved out, so that the move is the only copy.
        if !matches!(t.run, Run::Parked(_)) {
            panic!("simulator bug: stepping a thread that is not parked: {:?}", t.run);
        }
        // The request is moved out of the thread's state itself, a placeholder left in
        // its place, and the state then becomes `Running`: one copy of the request, where
        // moving the whole state out (`mem::replace` of `run`) made two (issue 13). The
        // placeholder holds nothing to free: it is forgotten, not dropped.
        let Run::Parked(parked) = &mut t.run else { unreachable!() };
        let req = std::mem::replace(parked, Request::SetEvent { event: crate::types::HANDLE::NULL });
        std::mem::forget(std::mem::replace(&mut t.run, Run::Running));
        self.step += 1;
        #[cfg(test)]
        if tests::PANIC_AT_STEP.with(|p| p.get()) == self.step {
            panic!("a test's kernel panic at step {}", self.step);
        }
        if self.step > self.watch_from {
            self.watch_call(tid, &req);
        }
        self.current = Some(tid);
        let api = req.api();
        let traced = self.config.trace;
        // A call that may block keeps its arguments on its operation for the deadlock
        // report, whether or not the trace is on.
        // What a pending operation keeps (the same with the trace on or off), and what the
        // trace shows: buffer previews, and the object behind each handle as the caller
        // sees it before the call (CloseHandle's handle is gone after it).
        // The request moves into its handler, so what the operation's list is built from
        // is kept first (a few copied words: handles, lengths, whether an OVERLAPPED was
        // given); the list itself is built only if the call blocks (`new_op_for`).
        debug_assert!(
            !api.may_block() || {
                let mut v = Vec::new();
                req.keep_args().args_into(&mut v);
                v == req.args_with(false)
            },
            "simulator bug: {api}'s kept arguments differ from its arguments"
        );
        let shown = if traced { Some(self.shown_args(pid, &req)) } else { None };
        // The call's event id, its cause for the events it brings, and its effect are the
        // trace's only (an event id is read nowhere else, and nothing writes an effect
        // with the trace off): an untraced call leaves them alone.
        let call_id = if traced {
            let id = self.reserve_event_id();
            self.cause_event = Some(id);
            self.effect = None;
            id
        } else {
            0
        };
        // No call is executing: the slot is empty, and is written (in the arms below, with
        // the call's kept arguments) without a drop of what it held.
        debug_assert!(self.calling.is_none(), "simulator bug: a call's kept arguments left over");
        // Events the call causes (wake-ups, exits, notes) are listed after the call's own
        // line, so the trace reads in cause-and-effect order.
        let mark = self.trace.len();
        // The call releases into what it names (the race detector, §25.2): here for every
        // call while the detector keeps clocks; else in the last arm below (the calls made
        // most, in the arms before it, note nothing then: `race_call_start`).
        let race_on = self.race_on();
        if race_on {
            self.race_call_start(pid, tid, &req);
        }
        debug_assert!(self.call_file.is_none(), "simulator bug: a call's file object left over");
        // The handler's result is written where `exec` lives (not moved there from a
        // binding of its own): it is large. The calls made most go to their handlers here,
        // as `dispatch` sends them (the same handlers, per the API table), without a call
        // of `dispatch` and a copy of the request into it; their arms keep their arguments
        // from the fields at hand (what `Request::keep_args_into` keeps of them), without
        // a match on the request of its own. A file call first takes its file object's
        // I/O lock, or queues behind its holder (`lock_file_for`); ReadFile and WriteFile,
        // whose handle and access are known here, take it without the general match on
        // the request.
        // A deferred file lock that the call took as it blocked (`file_call_done`).
        let mut held = None;
        let exec = match req {
            // (A request of these three holds nothing to free, and its arm takes copies of
            // its fields: it is forgotten, not dropped through the table's drop glue. None
            // of them is a file call.)
            Request::WaitForSingleObject { handle, timeout_ms } => {
                std::mem::forget(req);
                debug_assert!(api.may_block());
                let kept = KeptArgs::wait_for_single_object(&handle, &timeout_ms);
                std::mem::forget(self.calling.replace((api, Some(kept))));
                self.wait_for_single_object(pid, tid, handle, timeout_ms)
            }
            Request::SetEvent { event } => {
                std::mem::forget(req);
                debug_assert!(!api.may_block());
                std::mem::forget(self.calling.replace((api, None)));
                self.set_event(pid, tid, event).into()
            }
            Request::ReleaseMutex { mutex } => {
                std::mem::forget(req);
                debug_assert!(!api.may_block());
                std::mem::forget(self.calling.replace((api, None)));
                self.release_mutex(pid, tid, mutex).into()
            }
            Request::ReadFile { handle, len, overlapped, buffer } => {
                use crate::{objects::pipe::lock_io_handle, types::FILE_READ_DATA};
                debug_assert!(api.may_block());
                // Its kept arguments are set where it needs them: by `read_file_at` where it
                // leaves its usual case or blocks, else here (issue 13: written at every
                // read, they are read only by an operation it makes; `keep_io_call`).
                match lock_io_handle(self, (pid, process), tid, handle, FILE_READ_DATA, granted, overlapped.is_none()) {
                    Ok((lock, at)) => {
                        // The file object the lock check resolved goes to the call as it
                        // is (`FileAt`), not looked up again.
                        // With the trace off, no lock granted and none held, a read that
                        // completes at once writes its reply into the thread itself
                        // (`Exec::Delivered`): what this arm's end would do with it, as
                        // `file_call_done` then does nothing but forget the file object.
                        let deliver = (!traced && granted.is_none() && !matches!(lock, IoLock::Held(_))).then_some(oid);
                        let exec = match at {
                            Some(at) => self.read_file_at(pid, tid, handle, at, len, overlapped, buffer, deliver),
                            None => {
                                let kept = KeptArgs::read_file(&handle, &len, &overlapped, &buffer);
                                std::mem::forget(self.calling.replace((api, Some(kept))));
                                self.read_file(pid, tid, handle, len, overlapped, buffer)
                            }
                        };
                        if matches!(exec, Exec::Delivered) {
                            debug_assert!(self.call_file.is_none());
                            return;
                        }
                        held = self.file_call_done(tid, lock, &exec);
                        // The usual end (the trace off, no lock granted, the call done at once):
                        // the reply goes to the thread from here, as the end of this
                        // function would take it there, not moved on through `exec` first.
                        match exec {
                            Exec::Done(reply) if !traced && granted.is_none() => {
                                return self.plain_call_done(oid, tid, std::mem::ManuallyDrop::new(reply));
                            }
                            exec => exec,
                        }
                    }
                    Err(file) => {
                        let kept = KeptArgs::read_file(&handle, &len, &overlapped, &buffer);
                        std::mem::forget(self.calling.replace((api, Some(kept))));
                        self.queue_for_lock(tid, file, Request::ReadFile { handle, len, overlapped, buffer })
                    }
                }
            }
            Request::WriteFile { handle, data, overlapped } => {
                use crate::{objects::pipe::lock_io_handle, types::FILE_WRITE_DATA};
                debug_assert!(api.may_block());
                // (Its kept arguments: as ReadFile's.)
                match lock_io_handle(self, (pid, process), tid, handle, FILE_WRITE_DATA, granted, overlapped.is_none())
                {
                    Ok((lock, at)) => {
                        // (As ReadFile's.)
                        let deliver = (!traced && granted.is_none() && !matches!(lock, IoLock::Held(_))).then_some(oid);
                        let exec = match at {
                            Some(at) => self.write_file_at(pid, tid, handle, at, data, overlapped, deliver),
                            None => {
                                let kept = KeptArgs::write_file(&handle, &data, &overlapped);
                                std::mem::forget(self.calling.replace((api, Some(kept))));
                                self.write_file(pid, tid, handle, data, overlapped)
                            }
                        };
                        if matches!(exec, Exec::Delivered) {
                            debug_assert!(self.call_file.is_none());
                            return;
                        }
                        held = self.file_call_done(tid, lock, &exec);
                        // (As ReadFile's.)
                        match exec {
                            Exec::Done(reply) if !traced && granted.is_none() => {
                                return self.plain_call_done(oid, tid, std::mem::ManuallyDrop::new(reply));
                            }
                            exec => exec,
                        }
                    }
                    Err(file) => {
                        let kept = KeptArgs::write_file(&handle, &data, &overlapped);
                        std::mem::forget(self.calling.replace((api, Some(kept))));
                        self.queue_for_lock(tid, file, Request::WriteFile { handle, data, overlapped })
                    }
                }
            }
            req => {
                std::mem::forget(self.calling.replace((api, None)));
                // (Whether the call may block is read here, where it is used: read as the
                // call started, its table's load ran at every call, issue 13.)
                if api.may_block()
                    && let Some((_, slot)) = &mut self.calling
                {
                    req.keep_args_into(slot);
                }
                if !race_on {
                    self.race_call_start(pid, tid, &req);
                }
                // A call that cannot involve a file object's I/O lock (told by its API)
                // skips the lock check, which would give `Ok(None)` for it.
                let file_call = crate::objects::pipe::may_lock_file(api);
                debug_assert!(
                    file_call || crate::objects::pipe::never_locks(&req),
                    "simulator bug: {api} may take a lock"
                );
                let lock = if file_call {
                    crate::objects::pipe::lock_file_for(self, (pid, process), tid, &req, granted)
                } else {
                    Ok(None)
                };
                match lock {
                    Ok(locked) => {
                        let exec = self.dispatch(pid, tid, req);
                        if file_call {
                            let none = self.file_call_done(tid, locked.map_or(IoLock::Free, IoLock::Held), &exec);
                            debug_assert!(none.is_none());
                        }
                        exec
                    }
                    Err(file) => self.queue_for_lock(tid, file, req),
                }
            }
        };
        // A call granted a file object's lock after waiting for it holds a reference on
        // the object until it has used it.
        // (A thread that ended in its own call released it then.) Only a call that started
        // with a grant has one: a lock is granted to a thread blocked waiting for it, never
        // to the thread whose call is executing.
        if granted.is_some()
            && let Some(file) = self.thread_if_mut(tid).and_then(|t| t.granted.take())
        {
            // A call that did not use the lock it was granted (its handle was closed, or
            // CloseHandle of a handle that was not the last) must not keep it.
            if matches!(&self.objects[file].body, crate::objects::Body::File(f) if f.lock == Some(tid))
                && self.thread(tid).held_lock != Some(file)
            {
                crate::objects::pipe::unlock_file(self, file);
            }
            self.release(file);
        }
        // Kept arguments left (the call did not block) are dropped; the usual ones
        // (ReadFile's, WriteFile's, WaitForSingleObject's) and none need no drop glue, and
        // are cleared where they are, without being moved out first.
        if super::request::kept_is_plain(api) {
            debug_assert!(!matches!(&self.calling, Some((a, _)) if *a != api));
            std::mem::forget(self.calling.take());
        } else {
            self.calling = None;
        }
        // The call's effects stay where they are: once the call's own event (and any the
        // completion adds) is pushed after them, a rotation puts them last.
        let effects = self.trace.len() - mark;
        match exec {
            Exec::Done(reply) => {
                self.race_call_done(tid);
                if traced {
                    self.trace_call_done(call_id, tid, api, shown.unwrap_or_default(), &reply);
                }
                self.reply_ready(oid, tid, reply);
            }
            Exec::Block(op) => {
                // Through the thread's object looked up at the start, as `Exec::Done` is.
                let Body::Thread(t) = &mut self.objects[oid].body else { super::no_such("thread", tid) };
                t.run = Run::Blocked(op);
                // (A deferred lock it took: `file_call_done`; nothing read the record since.)
                if held.is_some() {
                    debug_assert!(granted.is_none());
                    t.held_lock = held;
                }
                let port_thread = t.port.is_some();
                if traced {
                    self.trace_call_blocked(call_id, tid, api, shown.unwrap_or_default(), op);
                }
                // A thread of a completion port that blocks stops counting as running: a
                // waiter may take a queued packet (§16.30).
                if port_thread {
                    self.port_thread_stopped(tid);
                }
            }
            Exec::Delivered => unreachable!("simulator bug: a reply delivered with the trace on"),
            Exec::Gone => {
                if traced {
                    let kind = EventKind::Call {
                        api: api.name().into(),
                        args: shown.unwrap_or_default(),
                        ret: Ret::Void,
                        outs: ArgList::new(),
                        error: None,
                        effect: Some("does not return".into()),
                    };
                    self.push_event_with_id(call_id, tid, None, kind);
                }
            }
        }
        // (With the trace off no event is pushed: there is nothing to rotate.)
        if traced {
            if effects > 0 {
                self.trace[mark..].rotate_left(effects);
            }
            self.sample_occupancy();
        }
    }

    /// Records a traced call that completed at once (its event `id`, reserved before its
    /// effects). Out of line, as the trace's other work: the untraced step stays small.
    #[inline(never)]
    fn trace_call_done(&mut self, id: u64, tid: Tid, api: Api, args: ArgList, reply: &Reply) {
        let kind = EventKind::Call {
            api: api.name().into(),
            args,
            ret: reply.ret(api.ret_kind()),
            outs: self.shown_outs(&reply.value),
            error: reply.status.last_error(),
            effect: self.effect.take(),
        };
        self.push_event_with_id(id, tid, None, kind);
    }

    /// Records a traced call that became the pending operation `op` (its event `id`,
    /// reserved before its effects). Out of line, as `trace_call_done`.
    #[inline(never)]
    fn trace_call_blocked(&mut self, id: u64, tid: Tid, api: Api, args: ArgList, op: super::ops::OpId) {
        let reason = self.op_reason(op);
        let reason = self.shared_text(&reason);
        let o = &self.ops[op];
        let lock_wait = matches!(o.kind, super::ops::OpKind::FileLock { .. });
        let kind = EventKind::Block { api: api.name().into(), args, reason, lock_wait };
        let serial = o.serial;
        self.push_event_with_id(id, tid, Some(serial), kind);
    }

    /// Appends a `counter` event for each buffer or queue whose occupancy this step
    /// changed (trace on only): pipe directions, mailslots, threads' posted messages,
    /// Message Queuing queues. Objects are visited in their table's order, so the events
    /// are deterministic; a counter's name is built only when its value changes.
    pub(crate) fn sample_occupancy(&mut self) {
        // The counters, taken while the kernel is read and put back at the end; the
        // sample's buffer is kept from step to step.
        let mut occ = self.occupancy.take().unwrap_or_default();
        let mut now = std::mem::take(&mut occ.next);
        now.clear();
        // Only pipes and mailslots have an occupancy: their ids are listed in table order
        // once, and listed again only after a pipe or a mailslot was made (its type's
        // serial moved on; a new object may take a free slot anywhere in the table). A
        // destroyed one is skipped (its id no longer resolves), so the order of the rest
        // is the table's, as a walk over every object gives it, without that walk at
        // every traced step.
        let serial = |t| self.serials.last(t);
        let stamp = (serial(crate::objects::ObjectType::Pipe), serial(crate::objects::ObjectType::Mailslot));
        if stamp != occ.occupied.stamp {
            occ.occupied.stamp = stamp;
            occ.occupied.ids.clear();
            occ.occupied.ids.extend(
                self.objects
                    .iter()
                    .filter(|(_, o)| matches!(o.body, Body::Pipe(_) | Body::Mailslot(_)))
                    .map(|(id, _)| id),
            );
        }
        for &id in &occ.occupied.ids {
            let Some(o) = self.objects.get(id) else { continue };
            match &o.body {
                Body::Pipe(p) if p.anonymous => {
                    now.push((Counter::Pipe(id, None), p.ends.iter().map(|e| e.inbound.unread).sum()));
                }
                Body::Pipe(p) => {
                    for end in 0..2 {
                        now.push((Counter::Pipe(id, Some(end)), p.ends[end].inbound.unread));
                    }
                }
                Body::Mailslot(m) => now.push((Counter::Mailslot(id), m.messages.len() as u64)),
                _ => {}
            }
        }
        now.extend(self.user.queues.iter().map(|(&tid, q)| (Counter::Posted(tid), q.posted.len() as u64)));
        // A run that has not touched Message Queuing has its two system queues, empty: their
        // counters, 0, never appear (below), and are not sampled (issue 13: they were
        // half of a traced ping-pong step's samples). Should the manager be touched later,
        // the sample's counters change, and each is then looked for as when they do.
        if !self.mq.is_fresh() {
            now.extend(self.mq.queues.iter().map(|(&n, q)| (Counter::Mq(n), q.messages.len() as u64)));
        }
        // The usual step samples the same counters, in the same order, as the last one
        // did: a counter whose value is the one it had then is unchanged (after the last
        // sample, `counters` holds that value, or holds no entry for a value of 0, which
        // the search below would skip too), and is passed over without the search.
        let prev = &occ.sample;
        let same_counters = prev.len() == now.len() && prev.iter().zip(&now).all(|(a, b)| a.0 == b.0);
        for (i, &(key, value)) in now.iter().enumerate() {
            if same_counters && prev[i].1 == value {
                continue;
            }
            let at = match occ.counters.binary_search_by(|(k, _, _)| k.cmp(&key)) {
                Ok(i) if occ.counters[i].1 == value => continue,
                Ok(i) => {
                    occ.counters[i].1 = value;
                    i
                }
                // A counter appears with its first non-zero value.
                Err(_) if value == 0 => continue,
                Err(i) => {
                    let name = match key {
                        Counter::Mq(_) => crate::trace::Text::default(),
                        _ => crate::trace::Text::new(self.counter_name(key)),
                    };
                    occ.counters.insert(i, (key, value, name));
                    i
                }
            };
            // A counter's name is made once (an object's serial and a thread id never
            // change); a queue's is made each time from its path.
            let name = match key {
                Counter::Mq(_) => crate::trace::Text::from(self.counter_name(key)),
                _ => occ.counters[at].2.clone(),
            };
            let tid = self.current.filter(|t| self.tids.contains_key(t)).unwrap_or(0);
            self.push_event(tid, EventKind::Counter { name, value });
        }
        occ.next = std::mem::replace(&mut occ.sample, now);
        self.occupancy = Some(occ);
    }

    /// An occupancy counter's name in the trace.
    fn counter_name(&self, key: Counter) -> String {
        let mut name = String::with_capacity(40);
        match key {
            Counter::Pipe(id, end) => {
                name.push_str("pipe#");
                push_u64(&mut name, u64::from(self.objects[id].hdr.serial));
                name.push_str(" unread bytes");
                if let Some(e) = end {
                    name.push_str([" (to server)", " (to client)"][e]);
                }
            }
            Counter::Mailslot(id) => {
                name.push_str("mailslot#");
                push_u64(&mut name, u64::from(self.objects[id].hdr.serial));
                name.push_str(" messages");
            }
            Counter::Posted(t) => {
                name.push('T');
                push_u64(&mut name, u64::from(t));
                name.push_str(" posted messages");
            }
            Counter::Mq(n) => {
                name.push_str("queue ");
                name.push_str(&self.mq.queues[&n].path_name);
                name.push_str(" messages");
            }
        }
        name
    }

    /// The arguments with the object behind each handle named, as `pid` sees it now
    /// (for the trace and the deadlock report; the operation keeps them unnamed).
    pub(crate) fn named_args(&self, pid: super::Pid, mut args: Vec<Arg>) -> Vec<Arg> {
        name_handles(&mut args, |h| self.describe_handle(pid, h));
        args
    }

    /// A traced call's arguments as its event shows them: `named_args` of its request,
    /// with the descriptions that cannot change shared from one event to the next
    /// (`Kernel::describe_handle_shared`), and the list itself shared with the last
    /// event that showed the same one (`share_built`). Out of line: only traced calls
    /// use it.
    ///
    /// The calls a run makes most (`ArgsKey`) keep their list with what it was made
    /// from, and the next call of its thread's process with the same key, whose handle
    /// names the same object, shows that list without building it (issue 13: building,
    /// naming and comparing a list cost about 600 instructions a traced call).
    #[inline(never)]
    fn shown_args(&mut self, pid: super::Pid, req: &super::request::Request) -> ArgList {
        let key = ArgsKey::of(req);
        let object = key.and_then(|k| self.handle_object(pid, k.handle()));
        if let Some(key) = key
            && let Some(lists) = self.shared_lists.as_deref()
            && let Some(set) = lists.memos.get(key.set()..key.set() + 2)
            && let Some(m) = set.iter().flatten().find(|m| m.key == key && m.pid == pid && m.object == object)
        {
            // What the key promises, checked by every traced test.
            debug_assert_eq!(
                *m.list,
                *self.named_args(pid, req.args_with(true)),
                "simulator bug: a kept argument list differs from the call's"
            );
            return m.list.clone();
        }
        let mut lists = self.shared_lists.take().unwrap_or_default();
        req.args_into(true, &mut lists.building);
        name_handles(&mut lists.building, |h| self.describe_handle_shared(pid, h));
        let shown = lists.share_built();
        // Kept only when the list will be the same while the handle names the same
        // object: no object, or one whose description cannot change (it is then kept
        // in `descriptions`, `describe_handle_shared`).
        if let Some(key) = key
            && object.is_none_or(|id| self.descriptions.as_ref().is_some_and(|d| d.contains_key(id)))
        {
            if lists.memos.is_empty() {
                lists.memos.resize_with(ARGS_MEMOS, || None);
            }
            // Two a set, as `share_built`'s lists: the last first, the first moved second.
            let set = key.set();
            lists.memos[set + 1] = lists.memos[set].replace(ArgsMemo { key, pid, object, list: shown.clone() });
        }
        self.shared_lists = Some(lists);
        shown
    }

    /// `text` as a trace event holds it: shared with the last event that held the same
    /// text in its slot of `SharedLists` (a blocked call's reason, a wake-up's cause),
    /// else made. Out of line: only traced calls use it.
    #[inline(never)]
    pub(crate) fn shared_text(&mut self, text: &str) -> std::sync::Arc<str> {
        self.shared_lists.get_or_insert_default().share_text(text)
    }

    /// The out-parameters a result fills in, as a traced call's or wake-up's event shows
    /// them: `Value::outs`, shared with the last event that showed the same list
    /// (`share_built`). Out of line: only traced calls use it.
    ///
    /// A read's and a write's list (`OutsKey`) is kept with what it was made from, and
    /// shown again for the same result without building it.
    #[inline(never)]
    pub(crate) fn shown_outs(&mut self, value: &super::request::Value) -> ArgList {
        let lists = self.shared_lists.get_or_insert_default();
        let key = OutsKey::of(value);
        if let Some(key) = key
            && let Some((k, list)) = &lists.outs_memo[key.slot()]
            && *k == key
        {
            debug_assert_eq!(
                **list,
                *value.outs(),
                "simulator bug: a kept out-parameter list differs from the result's"
            );
            return list.clone();
        }
        value.outs_into(&mut lists.building);
        let shown = lists.share_built();
        if let Some(key) = key {
            lists.outs_memo[key.slot()] = Some((key, shown.clone()));
        }
        shown
    }

    /// Records what the executing call changed, for the trace (built only when traced).
    pub(crate) fn note_effect(&mut self, what: impl FnOnce(&Kernel) -> String) {
        if self.config.trace {
            self.effect = Some(what(self));
        }
    }

    /// Text that only the trace shows (an exit's `how`, a wake-up's cause): built only
    /// when the trace is on, empty otherwise (sweeps pay nothing for it).
    pub(crate) fn trace_text(&self, text: impl FnOnce() -> String) -> String {
        if self.config.trace { text() } else { String::new() }
    }

    /// "API by P/T", for wake-up causes in the trace. Built only when the trace is on:
    /// sweeps run with it off and pay nothing for the text.
    pub(crate) fn cause(&self, what: impl FnOnce() -> String) -> String {
        if !self.config.trace {
            return String::new();
        }
        let mut s = what();
        self.push_actor(&mut s);
        s
    }

    /// `cause`'s text written by `what` into one String sized beforehand, with the acting
    /// thread appended the same way (empty with the trace off).
    pub(crate) fn cause_with(&self, what: impl FnOnce(&mut String)) -> String {
        if !self.config.trace {
            return String::new();
        }
        let mut s = String::with_capacity(64);
        what(&mut s);
        self.push_actor(&mut s);
        s
    }

    /// Appends the thread whose call made a cause (`… by P4/T8`), if a call did.
    fn push_actor(&self, s: &mut String) {
        match self.current {
            // The acting thread may have ended during its own call (TerminateProcess of
            // its own process, TerminateThread of itself).
            Some(tid) if self.tids.contains_key(&tid) => {
                s.push_str(" by P");
                push_u64(s, u64::from(self.pid_of(tid)));
                s.push_str("/T");
                push_u64(s, u64::from(tid));
            }
            Some(tid) => {
                s.push_str(" by T");
                push_u64(s, u64::from(tid));
            }
            None => {}
        }
    }

    fn reserve_event_id(&mut self) -> u64 {
        let id = self.next_event_id;
        self.next_event_id += 1;
        id
    }

    fn push_event_with_id(&mut self, id: u64, tid: Tid, op: Option<u64>, kind: EventKind) {
        // One lookup (`pid_of` after `tids.get` made two).
        let pid = match self.tids.get(&tid).map(|&id| &self.objects[id].body) {
            Some(Body::Thread(t)) => t.pid,
            _ => 0,
        };
        let cause =
            if matches!(kind, EventKind::Wake { .. } | EventKind::Granted { .. }) { self.cause_event } else { None };
        let time_ms = self.now_ms();
        self.trace.push(Event { id, step: self.step, time_ms, pid, tid, op, cause, kind });
    }

    /// Records an event of a thread, tied to an operation (`op`) if it is one's.
    pub(crate) fn push_event_full(&mut self, tid: Tid, op: Option<u64>, kind: EventKind) {
        if !self.config.trace {
            return;
        }
        let id = self.reserve_event_id();
        self.push_event_with_id(id, tid, op, kind);
    }

    /// Records an event of a thread.
    pub(crate) fn push_event(&mut self, tid: Tid, kind: EventKind) {
        self.push_event_full(tid, None, kind);
    }

    /// Records an event of a process (tid 0); returns its id.
    pub(crate) fn push_process_event(&mut self, pid: super::Pid, kind: EventKind) -> Option<u64> {
        if !self.config.trace {
            return None;
        }
        let id = self.reserve_event_id();
        let time_ms = self.now_ms();
        self.trace.push(Event { id, step: self.step, time_ms, pid, tid: 0, op: None, cause: None, kind });
        Some(id)
    }
}

/// How a sync call changed its thread's list of owned mutexes, left to the look-up of the
/// thread that writes its reply (`Kernel::reply_ready_owned`).
#[derive(Clone, Copy)]
enum Owned {
    /// Unchanged (or changed already).
    Same,
    /// The thread came to own this mutex (a wait took it: `UsualWait::Owned`).
    Gained(crate::objects::ObjectId),
    /// The thread released this mutex, which no one waited for (`release_if_mutex`'s
    /// `leave_unowned`).
    Released(crate::objects::ObjectId),
}

/// What a usual WaitForSingleObject, SetEvent or ReleaseMutex returned (`Kernel::sync_done`):
/// a word, passed in registers, rather than a `Reply` moved from call to call.
#[derive(Clone, Copy)]
enum SyncReply {
    /// A wait's code.
    Wait(u32),
    /// TRUE (SetEvent, ReleaseMutex).
    True,
    /// A failure (ReleaseMutex of a mutex not owned).
    Error(crate::error::Win32Error),
}

impl From<SyncReply> for Reply {
    /// The reply.
    #[inline(always)]
    fn from(r: SyncReply) -> Reply {
        match r {
            SyncReply::Wait(code) => Value::Wait(code).into(),
            SyncReply::True => Value::Bool(true).into(),
            SyncReply::Error(e) => Reply::error(e),
        }
    }
}

/// The API, handle and time-out of a parked WaitForSingleObject, SetEvent or
/// ReleaseMutex (`Kernel::execute_sync`), if `run` is one.
#[inline(always)]
fn sync_call(run: &Run) -> Option<(Api, crate::types::HANDLE, u32)> {
    match *run {
        Run::Parked(Request::WaitForSingleObject { handle, timeout_ms }) => {
            Some((Api::WaitForSingleObject, handle, timeout_ms))
        }
        Run::Parked(Request::SetEvent { event }) => Some((Api::SetEvent, event, 0)),
        Run::Parked(Request::ReleaseMutex { mutex }) => Some((Api::ReleaseMutex, mutex, 0)),
        _ => None,
    }
}

/// Sets each handle argument's object in `args` by `describe`.
fn name_handles(args: &mut [Arg], mut describe: impl FnMut(crate::types::HANDLE) -> Option<std::sync::Arc<str>>) {
    for a in args {
        if let ArgValue::Handle { handle, object } = &mut a.value {
            *object = describe(*handle);
        }
    }
}

/// How many lists (and texts) `SharedLists` keeps, two a hash (a power of two).
const SHARED_LISTS: usize = 128;

/// The slot of `SharedLists` a hash picks (its top bits).
fn slot_of(h: u64) -> usize {
    (h >> (64 - SHARED_LISTS.trailing_zeros())) as usize
}

/// How many argument lists `SharedLists` keeps with their keys (`ArgsKey`), two a set (a
/// power of two).
const ARGS_MEMOS: usize = 32;

/// How many out-parameter lists `SharedLists` keeps with their keys (`OutsKey`): one a
/// kind.
const OUTS_MEMOS: usize = 2;

/// A write's or a read's bytes as far as a trace's list shows them: their length and the
/// bytes of their preview (`trace::show_bytes_text`), the rest zero. Two equal keys
/// show the same `ArgValue::bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BytesKey {
    len: usize,
    head: [u8; crate::trace::PREVIEW_BYTES],
}

impl BytesKey {
    fn of(data: &[u8]) -> BytesKey {
        let mut head = [0; crate::trace::PREVIEW_BYTES];
        let n = data.len().min(head.len());
        head[..n].copy_from_slice(&data[..n]);
        BytesKey { len: data.len(), head }
    }
}

/// What a traced call's argument list is made from, for the calls a run makes most
/// (`Kernel::shown_args`): the request's fields (a write's bytes as far as the list shows
/// them, `BytesKey`) and its one handle, which the list names with its object's
/// description. Two equal keys of one process, whose handle names the same object, show
/// the same list. `None` for any other request (an OVERLAPPED or a buffer of its own
/// shows more).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ArgsKey {
    ReadFile { handle: crate::types::HANDLE, len: u32 },
    WriteFile { handle: crate::types::HANDLE, data: BytesKey },
    WaitForSingleObject { handle: crate::types::HANDLE, timeout_ms: u32 },
    SetEvent(crate::types::HANDLE),
    ReleaseMutex(crate::types::HANDLE),
}

impl ArgsKey {
    fn of(req: &Request) -> Option<ArgsKey> {
        Some(match *req {
            Request::ReadFile { handle, len, overlapped: None, buffer: None } => ArgsKey::ReadFile { handle, len },
            Request::WriteFile { handle, ref data, overlapped: None } => {
                ArgsKey::WriteFile { handle, data: BytesKey::of(data) }
            }
            Request::WaitForSingleObject { handle, timeout_ms } => ArgsKey::WaitForSingleObject { handle, timeout_ms },
            Request::SetEvent { event } => ArgsKey::SetEvent(event),
            Request::ReleaseMutex { mutex } => ArgsKey::ReleaseMutex(mutex),
            _ => return None,
        })
    }

    /// The one handle the list names.
    fn handle(&self) -> crate::types::HANDLE {
        match *self {
            ArgsKey::ReadFile { handle, .. }
            | ArgsKey::WriteFile { handle, .. }
            | ArgsKey::WaitForSingleObject { handle, .. }
            | ArgsKey::SetEvent(handle)
            | ArgsKey::ReleaseMutex(handle) => handle,
        }
    }

    /// The first of the key's two places in `SharedLists::memos`: a hash of its kind and
    /// its handle (a loop's calls differ in one or the other).
    fn set(&self) -> usize {
        let kind: u64 = match self {
            ArgsKey::ReadFile { .. } => 1,
            ArgsKey::WriteFile { .. } => 2,
            ArgsKey::WaitForSingleObject { .. } => 3,
            ArgsKey::SetEvent(_) => 4,
            ArgsKey::ReleaseMutex(_) => 5,
        };
        let h = ((self.handle().0 as u64) ^ (kind << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> (64 - ARGS_MEMOS.trailing_zeros())) as usize & !1
    }
}

/// A traced call's argument list with what it was made from (`Kernel::shown_args`): its
/// key, its caller's process and the object its handle named (`None` for none), which
/// either had no description or one that cannot change.
#[derive(Debug)]
struct ArgsMemo {
    key: ArgsKey,
    pid: super::Pid,
    object: Option<crate::objects::ObjectId>,
    list: ArgList,
}

/// What a read's or a write's out-parameter list is made from (`Kernel::shown_outs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OutsKey {
    Read(BytesKey),
    Written(u32),
}

impl OutsKey {
    fn of(value: &super::request::Value) -> Option<OutsKey> {
        match value {
            super::request::Value::Read(data) => Some(OutsKey::Read(BytesKey::of(data))),
            super::request::Value::Written(n) => Some(OutsKey::Written(*n)),
            _ => None,
        }
    }

    /// The key's place in `SharedLists::outs_memo`.
    fn slot(&self) -> usize {
        match self {
            OutsKey::Read(_) => 0,
            OutsKey::Written(_) => 1,
        }
    }
}

/// The argument and out-parameter lists the trace's events share (`share_built`), boxed
/// in the kernel and made at the first traced call.
///
/// A traced call's event holds two lists (its arguments and its out-parameters), and most
/// calls show a list an earlier one showed (a loop's ReadFile of the same handle and
/// length, its `read=1 bytes "x"`): a list is built in a buffer kept from call to call,
/// compared with the two kept for its hash (a hash of its contents picks them), and
/// shared with one when they are equal, which spares an allocation when it is made and a
/// free when the trace is dropped (about 300 instructions a list). What an event shows is
/// the same either way: sharing changes only where the list is held.
#[derive(Debug, Default)]
pub(crate) struct SharedLists {
    /// The list being built (empty between two uses).
    building: Vec<Arg>,
    /// The last two lists made for each hash (the last first; empty until one is).
    slots: Vec<ArgList>,
    /// The last text made in each slot (`share_text`; empty until one is).
    texts: Vec<Option<std::sync::Arc<str>>>,
    /// The last argument list of each key's slot, with its key (`Kernel::shown_args`;
    /// empty until one is kept).
    memos: Vec<Option<ArgsMemo>>,
    /// The last read's and write's out-parameter lists, with their keys
    /// (`Kernel::shown_outs`).
    outs_memo: [Option<(OutsKey, ArgList)>; OUTS_MEMOS],
}

impl SharedLists {
    /// The list in `building`, shared with one of the two kept for its hash if it equals
    /// it, else made (and kept first for the hash, the first moved second in place of the
    /// second); `building` is left empty.
    fn share_built(&mut self) -> ArgList {
        if self.building.is_empty() {
            return ArgList::new();
        }
        if self.slots.is_empty() {
            self.slots.resize(SHARED_LISTS, ArgList::new());
        }
        // Two slots a hash: two lists that alternate (a loop's two calls) and fall on one
        // hash keep both.
        let set = list_slot(&self.building) & !1;
        for way in set..set + 2 {
            if same_args(&self.slots[way], &self.building) {
                self.building.clear();
                return self.slots[way].clone();
            }
        }
        let list = ArgList::from_drain(&mut self.building);
        self.slots[set + 1] = std::mem::replace(&mut self.slots[set], list.clone());
        list
    }

    /// `text`, shared with the text in its slot if they are equal, else made (and kept in
    /// the slot in place of the one there).
    fn share_text(&mut self, text: &str) -> std::sync::Arc<str> {
        if self.texts.is_empty() {
            self.texts.resize(SHARED_LISTS, None);
        }
        // A hash of the length and of the first and last 8 bytes (a reason or a cause
        // differs from another of its kind in a serial, a count or an actor).
        let b = text.as_bytes();
        let word = |i: usize| b.get(i..i + 8).map_or(0, |w| u64::from_le_bytes(w.try_into().unwrap_or_default()));
        let h = ((b.len() as u64).rotate_left(5) ^ word(0)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let h = (h.rotate_left(5) ^ word(b.len().saturating_sub(8))).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = &mut self.texts[slot_of(h)];
        match slot {
            Some(t) if **t == *text => t.clone(),
            _ => slot.insert(text.into()).clone(),
        }
    }
}

/// Whether two lists are equal (`==` of their slices), told at less cost where a list
/// shows what the one in its slot showed: a name is the same static string, a handle's
/// object the same shared description, most values one word.
fn same_args(a: &[Arg], b: &[Arg]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            (std::ptr::eq(&*x.name, &*y.name) || x.name == y.name)
                && match (&x.value, &y.value) {
                    (ArgValue::Handle { handle: h, object: o }, ArgValue::Handle { handle: g, object: p }) => {
                        h == g
                            && match (o, p) {
                                (Some(o), Some(p)) => std::sync::Arc::ptr_eq(o, p) || o == p,
                                (None, None) => true,
                                _ => false,
                            }
                    }
                    // The two kinds a run shows most, compared field by field: the derived
                    // `==` of the whole value costs more (15 instructions a traced
                    // ping-pong step, measured).
                    (ArgValue::U32(m), ArgValue::U32(n)) => m == n,
                    (ArgValue::Bytes { len: m, preview: p }, ArgValue::Bytes { len: n, preview: q }) => {
                        m == n && p == q
                    }
                    (v, w) => v == w,
                }
        })
}

/// The slot of `SharedLists` a list goes to: a hash of its names' lengths and its values'
/// numbers (handles, lengths, counts), which tell apart the lists a run shows most.
fn list_slot(args: &[Arg]) -> usize {
    let mut h = args.len() as u64;
    for a in args {
        let v = match &a.value {
            ArgValue::Handle { handle, .. } => handle.0 as u64,
            ArgValue::U32(n) | ArgValue::Flags(n) | ArgValue::Timeout(n) => u64::from(*n),
            ArgValue::Bytes { len, .. } => u64::from(*len),
            ArgValue::I32(n) => *n as u64,
            ArgValue::I64(n) => *n as u64,
            ArgValue::Bool(b) => u64::from(*b),
            ArgValue::Handles(hs) => hs.len() as u64,
            _ => 0,
        };
        h = (h.rotate_left(5) ^ a.name.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h = (h.rotate_left(5) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    slot_of(h)
}

/// The trace's occupancy counters (`Kernel::sample_occupancy`), boxed in the kernel and
/// made at the first traced step.
#[derive(Debug, Default)]
pub(crate) struct Occupancy {
    /// The last value of each counter, sorted by counter (a binary search in a short
    /// vector, not a tree walk, for each counter at each traced step), with its name
    /// (empty for a queue's, made each time).
    counters: Vec<(Counter, u64, crate::trace::Text)>,
    /// The last traced step's sample, in the order it was taken.
    sample: Vec<(Counter, u64)>,
    /// A buffer for the next traced step's sample (the one before last, emptied).
    next: Vec<(Counter, u64)>,
    /// The objects whose occupancy is sampled (pipes, mailslots), in table order.
    occupied: Occupied,
}

/// The objects whose occupancy the trace samples, in table order, as of the pipe and
/// mailslot serials in `stamp` (`Kernel::sample_occupancy`).
#[derive(Debug, Default)]
pub(crate) struct Occupied {
    /// The last pipe and mailslot serials handed out when `ids` was listed.
    stamp: (u32, u32),
    /// Pipes and mailslots (some perhaps destroyed since), in table order.
    ids: Vec<crate::objects::ObjectId>,
}

/// What an occupancy counter counts (`Kernel::sample_occupancy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Counter {
    /// A pipe's unread bytes: both directions of an anonymous pipe (None), or those
    /// waiting for the server (0) or the client (1) of a named pipe instance.
    Pipe(crate::objects::ObjectId, Option<usize>),
    /// A mailslot's messages.
    Mailslot(crate::objects::ObjectId),
    /// A thread's posted messages.
    Posted(Tid),
    /// A Message Queuing queue's messages, by queue number.
    Mq(u64),
}

#[cfg(test)]
mod tests {
    use crate::kernel::config::Config;
    use crate::report::Outcome;
    use crate::sim::Sim;
    use crate::types::{HANDLE, INFINITE};

    /// The trace's shared lists (`SharedLists`, issue 13) change only where a list is
    /// held, never what an event shows: an equal list is shared, a different one is made;
    /// two lists that alternate on one slot pair are both kept; an empty list holds
    /// nothing; a text is shared only with an equal one.
    #[test]
    fn shared_lists_give_equal_lists_one_allocation_and_never_a_different_list() {
        use super::SharedLists;
        use crate::trace::{Arg, ArgValue};
        let list =
            |h: isize, n: u32| vec![Arg::new("handle", ArgValue::handle(HANDLE(h))), Arg::new("len", ArgValue::U32(n))];
        let mut lists = SharedLists::default();
        let mut share = |v: Vec<Arg>| {
            lists.building.extend(v);
            let l = lists.share_built();
            assert!(lists.building.is_empty(), "the buffer is left empty");
            l
        };
        let a = share(list(4, 1));
        let b = share(list(8, 1));
        let a2 = share(list(4, 1));
        let b2 = share(list(8, 1));
        assert_eq!(a, list(4, 1));
        assert_eq!(b, list(8, 1));
        assert!(a.ptr_eq(&a2) && b.ptr_eq(&b2), "two alternating lists are each shared");
        let c = share(list(4, 2));
        assert_eq!(c, list(4, 2));
        assert!(!c.ptr_eq(&a), "a different list is made, not shared");
        let empty = share(Vec::new());
        assert!(empty.is_empty() && empty.ptr_eq(&crate::trace::ArgList::new()));

        let t = lists.share_text("T8 waits for pipe#1");
        let t2 = lists.share_text("T8 waits for pipe#1");
        let u = lists.share_text("T9 waits for pipe#1");
        assert!(std::sync::Arc::ptr_eq(&t, &t2));
        assert_eq!(&*u, "T9 waits for pipe#1");
        assert_eq!(&*lists.share_text("T8 waits for pipe#1"), "T8 waits for pipe#1");
    }

    /// A traced call's kept argument list (`ArgsKey`, issue 13) is shown again only while
    /// its handle names the same object: two waits on one event share one list, and a
    /// wait through the same handle value, closed and made again for a mutex, shows the
    /// mutex (the lowest free handle value is reused, tests/conformance/handles.rs).
    #[test]
    fn a_kept_argument_list_is_shown_again_only_for_the_same_object() {
        let mut config = Config::random(0);
        config.trace = true;
        let mut sim = Sim::new(config);
        sim.program("m.exe", |ctx| async move {
            let e = ctx.create_event(None, true, false, None).await;
            ctx.wait_for_single_object(e, 0).await;
            ctx.wait_for_single_object(e, 0).await;
            let _ = ctx.close_handle(e).await;
            let m = ctx.create_mutex(None, false, None).await;
            assert_eq!(m, e, "the handle value is reused");
            ctx.wait_for_single_object(m, 0).await;
            0
        });
        let report = sim.run("m.exe");
        assert!(matches!(report.outcome, Outcome::Completed { .. }), "{:?}", report.outcome);
        let waits: Vec<&crate::trace::ArgList> = report
            .trace
            .iter()
            .filter_map(|e| match &e.kind {
                crate::trace::EventKind::Call { api, args, .. } if api == "WaitForSingleObject" => Some(args),
                _ => None,
            })
            .collect();
        assert_eq!(waits.len(), 3);
        let object = |l: &crate::trace::ArgList| match &l[0].value {
            crate::trace::ArgValue::Handle { object: Some(d), .. } => d.to_string(),
            other => panic!("not a named handle: {other:?}"),
        };
        assert!(object(waits[0]).starts_with("event"), "{}", object(waits[0]));
        assert!(waits[0].ptr_eq(waits[1]), "the second wait shows the kept list");
        assert!(object(waits[2]).starts_with("mutex"), "{}", object(waits[2]));
        assert!(!waits[2].ptr_eq(waits[0]));
    }

    /// An `ArgList` is written in JSON as the `Vec<Arg>` it replaced, and read back equal
    /// (trace files keep their format; CHANGELOG).
    #[test]
    fn an_arg_list_reads_and_writes_as_the_vec_it_holds() {
        use crate::trace::{Arg, ArgList, ArgValue};
        let v = vec![Arg::new("handle", ArgValue::handle(HANDLE(4))), Arg::new("len", ArgValue::U32(1))];
        let l = ArgList::from(v.clone());
        let json = serde_json::to_string(&l).expect("serialises");
        assert_eq!(json, serde_json::to_string(&v).expect("serialises"));
        let back: ArgList = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, v);
        assert_eq!(serde_json::to_string(&ArgList::new()).expect("serialises"), "[]");
    }

    /// A body that awaits a future that is not a winsim call fails the run, on its first
    /// poll and after a call whose result a parked call took itself (`step_inline`):
    /// the driver tells it from the kernel's note that the thread parked
    /// (`Kernel::polled_parked`), which `step_inline` clears as it hands a result over.
    #[test]
    fn a_body_awaiting_a_foreign_future_fails_the_run() {
        for after_a_call in [false, true] {
            let mut sim = Sim::new(Config::random(1));
            sim.program("p.exe", move |ctx| async move {
                if after_a_call {
                    ctx.sleep(0).await;
                }
                std::future::pending::<()>().await;
                0
            });
            let report = sim.run("p.exe");
            match &report.outcome {
                Outcome::Failed { message, location: None, .. } => {
                    assert!(message.contains("not a winsim call"), "{message}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    thread_local! {
        /// The step in which the kernel panics (0: none), for the test below.
        pub(super) static PANIC_AT_STEP: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    /// A panic in the kernel is a simulator bug, whichever steps it: the driver, or a
    /// parked call taking the driver's steps (`step_inline`), where it unwinds through a
    /// thread's body and must not be charged to that thread as a `Failed` run.
    #[test]
    fn a_kernel_panic_in_any_step_is_a_simulator_bug() {
        // Every step of the run, from the first to the last (the run completes when the
        // panic would come after its last step).
        for at in 1.. {
            PANIC_AT_STEP.with(|p| p.set(at));
            let mut sim = Sim::new(Config::random(at));
            sim.program("pc.exe", |ctx| async move {
                let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
                let _ = ctx.create_pipe(&mut r, &mut w, None, 2).await;
                let producer = ctx
                    .create_thread(
                        None,
                        0,
                        move |ctx| async move {
                            for i in 0..8u8 {
                                let _ = ctx.write_file(w, &[i], None).await;
                            }
                            0
                        },
                        0,
                        None,
                    )
                    .await;
                let mut b = [0u8; 1];
                for _ in 0..8 {
                    let _ = ctx.read_file(r, &mut b, None).await;
                }
                ctx.wait_for_single_object(producer, INFINITE).await;
                0
            });
            let report = sim.run("pc.exe");
            PANIC_AT_STEP.with(|p| p.set(0));
            match &report.outcome {
                Outcome::SimulatorBug { step, message } => {
                    assert_eq!(*step, at, "{message}");
                    assert!(message.contains("a test's kernel panic"), "{message}");
                }
                Outcome::Completed { .. } if at > 15 => break,
                other => panic!("a kernel panic at step {at} ended the run as {other:?}"),
            }
        }
    }
}
