//! Threads: CreateThread, ResumeThread, SuspendThread, ExitThread, TerminateThread,
//! GetExitCodeThread, and thread exit (fact numbers refer to
//! docs/semantics.md, section 8).

use super::{Body, ObjectId};
use crate::error::*;
use crate::kernel::ops::OpId;
use crate::kernel::request::{Reply, ThreadStart, Value};
use crate::kernel::{CallResult, Exec, Kernel, Pid, Start, Tid};
use crate::report::LimitKind;
use crate::trace::EventKind;
use crate::types::*;

/// Where a thread is in its life.
#[derive(Debug)]
pub enum Run {
    /// Created, body not yet started.
    Fresh,
    /// Parked at a call that the kernel has not executed yet: runnable.
    Parked(crate::kernel::request::Request),
    /// In a call that became this pending operation.
    Blocked(OpId),
    /// Its call completed; it runs to its next call when polled.
    Ready,
    /// Being polled (between schedule points).
    Running,
    /// Ended.
    Exited,
}

/// A thread object.
#[derive(Debug)]
pub struct Thread {
    /// Thread id.
    pub tid: Tid,
    /// Owning process id.
    pub pid: Pid,
    /// Owning process object.
    pub process: ObjectId,
    /// Exit code once ended.
    pub exit_code: Option<u32>,
    /// Suspend count. Invariant: at most MAXIMUM_SUSPEND_COUNT.
    pub suspend_count: u32,
    /// Scheduling state.
    pub run: Run,
    /// `GetLastError` value (lives in the TEB on Windows).
    pub last_error: u32,
    /// The result of the call it is in, once decided.
    pub reply: Option<Reply>,
    /// True for a process's first thread: its body returning is `main` returning, after
    /// which the C runtime calls ExitProcess.
    pub main: bool,
    /// Mutexes it owns, in acquisition order (abandoned when it exits).
    pub owned_mutexes: Vec<ObjectId>,
    /// The synchronous file object whose I/O lock its pending call holds.
    pub held_lock: Option<ObjectId>,
    /// The synchronous file object whose lock was granted to its parked call after a
    /// wait (with a reference, released when the call has run).
    pub granted: Option<ObjectId>,
    /// User APCs queued to it, oldest first (they run in its alertable waits).
    pub apcs: std::collections::VecDeque<crate::kernel::apc::QueuedApc>,
    /// Timers it set with a completion routine (cancelled when it ends, §14.21).
    pub timer_routines: Vec<ObjectId>,
    /// The completion port it is associated with: the last one it called
    /// GetQueuedCompletionStatus(Ex) on (§16.30).
    pub port: Option<ObjectId>,
}

impl Kernel {
    /// Creates a thread object in `pid`; `None` when the thread limit is reached.
    pub(crate) fn new_thread(
        &mut self,
        pid: Pid,
        start: Start,
        suspended: bool,
        main: bool,
    ) -> Option<(ObjectId, Tid)> {
        if self.live_threads >= self.config.threads_max {
            let max = self.config.threads_max;
            self.hit_limit(LimitKind::Threads, format!("{max} live threads (threads_max)"));
            return None;
        }
        self.live_threads += 1;
        let tid = self.alloc_cid();
        let process = self.pids[&pid];
        self.add_ref(process);
        let id = self.alloc_object(
            Body::Thread(Thread {
                tid,
                pid,
                process,
                exit_code: None,
                suspend_count: u32::from(suspended),
                run: Run::Fresh,
                last_error: 0,
                reply: None,
                main,
                owned_mutexes: Vec::new(),
                held_lock: None,
                granted: None,
                apcs: std::collections::VecDeque::new(),
                timer_routines: Vec::new(),
                port: None,
            }),
            None,
        );
        // The thread's own life is a reference, released when it exits.
        self.add_ref(id);
        self.tids.insert(tid, id);
        // It starts with its creator's clock (the race detector, §25.2).
        self.race_thread_created(self.current, tid);
        self.process_mut(pid).threads.insert(tid);
        self.starts.insert(tid, start);
        if !suspended {
            self.to_poll.push_back(tid);
        }
        Some((id, tid))
    }

    pub(crate) fn create_thread(
        &mut self,
        pid: Pid,
        tid: Tid,
        inherit: bool,
        flags: u32,
        start: ThreadStart,
    ) -> CallResult {
        if flags & !(CREATE_SUSPENDED | STACK_SIZE_PARAM_IS_A_RESERVATION) != 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let Some((id, new_tid)) = self.new_thread(pid, Start::Thread(start), flags & CREATE_SUSPENDED != 0, false)
        else {
            return Err(ERROR_NOT_ENOUGH_MEMORY);
        };
        let origin = self.origin(pid, tid, "CreateThread", "created", None);
        let h =
            self.alloc_handle(pid, id, THREAD_ALL_ACCESS, if inherit { HANDLE_FLAG_INHERIT } else { 0 }, vec![origin])?;
        // A successful CreateThread leaves the last error alone (§8.7).
        Ok(Value::Thread(h, new_tid).into())
    }

    fn thread_from_handle(&self, pid: Pid, tid: Tid, h: HANDLE, access: u32) -> Result<(ObjectId, Tid), Win32Error> {
        let id = self.object_from_handle(pid, tid, h, Some(super::ObjectType::Thread), access)?;
        match &self.objects[id].body {
            Body::Thread(t) => Ok((id, t.tid)),
            _ => unreachable!("type checked above"),
        }
    }

    pub(crate) fn resume_thread(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let (_, target) = self.thread_from_handle(pid, tid, h, THREAD_SUSPEND_RESUME)?;
        let t = self.thread_mut(target);
        if t.exit_code.is_some() {
            // ResumeThread on an ended thread returns 0, not -1 (§8.2).
            return Ok(Value::U32(0).into());
        }
        let prev = t.suspend_count;
        if prev > 0 {
            t.suspend_count -= 1;
            if t.suspend_count == 0 {
                self.update_parked(target);
                self.on_resumed(target);
            }
        }
        Ok(Value::U32(prev).into())
    }

    /// A thread's suspend count reached zero: let it go on with whatever it was doing.
    fn on_resumed(&mut self, tid: Tid) {
        match &self.thread(tid).run {
            Run::Fresh | Run::Ready => self.to_poll.push_back(tid),
            Run::Blocked(_) => {
                self.recheck_wait(tid);
                // Messages that arrived while it was suspended.
                if matches!(self.thread(tid).run, Run::Blocked(_)) {
                    self.queue_changed(tid, 0, "resumed with messages waiting");
                }
            }
            _ => {}
        }
    }

    pub(crate) fn suspend_thread(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let (_, target) = self.thread_from_handle(pid, tid, h, THREAD_SUSPEND_RESUME)?;
        let t = self.thread_mut(target);
        if t.exit_code.is_some() {
            // STATUS_THREAD_IS_TERMINATING -> ERROR_ACCESS_DENIED (§§8.2, 0.1).
            return Err(ERROR_ACCESS_DENIED);
        }
        if t.suspend_count >= MAXIMUM_SUSPEND_COUNT {
            return Err(ERROR_SIGNAL_REFUSED);
        }
        let prev = t.suspend_count;
        t.suspend_count += 1;
        self.parked.remove(&target);
        Ok(Value::U32(prev).into())
    }

    pub(crate) fn terminate_thread(&mut self, pid: Pid, tid: Tid, h: HANDLE, code: u32) -> Exec {
        let (_, target) = match self.thread_from_handle(pid, tid, h, THREAD_TERMINATE) {
            Ok(t) => t,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        if self.thread(target).exit_code.is_some() {
            return Exec::Done(Reply::from(Value::Bool(true)));
        }
        let how = self.trace_text(|| format!("TerminateThread by P{pid}/T{tid}"));
        self.kill_thread(target, code, how);
        if target == tid { Exec::Gone } else { Exec::Done(Reply::from(Value::Bool(true))) }
    }

    pub(crate) fn get_exit_code_thread(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let (id, target) = self.thread_from_handle(pid, tid, h, 0)?;
        let granted = self.granted_access(pid, h).unwrap_or(THREAD_ALL_ACCESS);
        if granted & (THREAD_QUERY_INFORMATION | THREAD_QUERY_LIMITED_INFORMATION) == 0 {
            return Err(ERROR_ACCESS_DENIED);
        }
        let _ = id;
        Ok(Value::Out(self.thread(target).exit_code.unwrap_or(STILL_ACTIVE)).into())
    }

    /// Ends a thread: cancels what it was doing, abandons its mutexes, signals it, and
    /// ends its process if it was the last thread (§8.8).
    pub(crate) fn kill_thread(&mut self, tid: Tid, code: u32, how: String) {
        let t = self.thread(tid);
        if t.exit_code.is_some() {
            return;
        }
        // Thread exit cancels the operation it waits on synchronously, and its
        // asynchronous I/O (except on files associated with a completion port).
        if let Run::Blocked(op) = t.run {
            let op = self.cancel_op(op);
            // It is in no call any more: what its exit does next (cancelling its I/O, which
            // may queue it an APC) must not find the cancelled operation.
            self.thread_mut(tid).run = Run::Ready;
            self.parked.remove(&tid);
            if let crate::kernel::ops::Target::SyncOverlapped(t) = op.target {
                // Its OVERLAPPED records the cancellation (§§16.7, 16.19).
                let reply = crate::kernel::request::Reply::error(crate::error::ERROR_OPERATION_ABORTED);
                self.signal_sync_overlapped(tid, op.api, *t, &reply);
            }
        }
        self.cancel_thread_io(tid);
        // Timers it set with a completion routine are cancelled (§14.21).
        self.cancel_timers_of(tid);
        // Its windows, queue and user timers go; its senders and receivers are released
        // (§17.M).
        // Its COM apartment is left as by its last CoUninitialize (SD-3), before its
        // windows (the STA's hidden window among them) go.
        self.com_thread_exited(tid);
        self.user_thread_exited(tid);
        // Its queued APCs are discarded (§16.41).
        // (An empty queue is not taken and dropped: the drop is out of line, issue 13.)
        let t = self.thread_mut(tid);
        t.run = Run::Exited;
        if !t.apcs.is_empty() {
            drop(std::mem::take(&mut t.apcs));
        }
        self.parked.remove(&tid);
        self.live_threads -= 1;
        // It no longer runs for its completion port: a waiter may take a packet (§16.30).
        self.port_thread_stopped(tid);
        self.to_poll.retain(|&t| t != tid);
        // One at a time from the thread's own list: abandoning one mutex wakes waiters,
        // which may let another owned mutex be destroyed (and leave this list).
        while !self.thread(tid).owned_mutexes.is_empty() {
            let m = self.thread_mut(tid).owned_mutexes.remove(0);
            self.abandon_mutex(m, tid);
        }
        let id = self.tids[&tid];
        let t = self.thread_mut(tid);
        t.exit_code = Some(code);
        t.reply = None;
        let (pid, process) = (t.pid, t.process);
        let (held, granted) = (t.held_lock.take(), t.granted.take());
        self.push_event(tid, EventKind::ThreadExit { code, how });
        // Outside a call (a body returned), the exit is what wakes the thread's waiters.
        let outer_cause = self.cause_event;
        if self.current.is_none() {
            self.cause_event = self.trace.last().filter(|e| e.tid == tid).map(|e| e.id);
        }
        // Locks it held go after its exit is on record.
        if let Some(file) = held {
            crate::objects::pipe::unlock_file(self, file);
        }
        if let Some(file) = granted {
            crate::objects::pipe::unlock_file(self, file);
            self.release(file);
        }
        self.starts.remove(&tid);
        self.dead.push(tid);
        let cause = self.trace_text(|| format!("T{tid} exited"));
        // Its clock goes into its thread and process objects before waiters see it (§25.2).
        self.race_thread_exited(tid, id, process);
        self.wake_waiters(id, &cause);
        let p = self.process_mut(pid);
        p.threads.remove(&tid);
        let last = p.threads.is_empty() && p.exit_code.is_none();
        if last {
            self.exit_process(pid, code);
        }
        self.cause_event = outer_cause;
        self.release(id);
    }

    /// ExitThread: ends the calling thread; its last thread's exit ends the process.
    pub(crate) fn exit_thread(&mut self, _pid: Pid, tid: Tid, code: u32) -> Exec {
        let how = self.trace_text(|| "ExitThread".into());
        self.kill_thread(tid, code, how);
        Exec::Gone
    }
}
