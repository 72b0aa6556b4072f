//! The kernel: the one place that loops. Objects are data it acts on.
//!
//! Every Win32 call is one atomic transition (`Kernel::execute`). Before each call the
//! thread parks with its [`Request`]; the scheduler picks one parked thread; the kernel
//! executes its request, which either completes at once or blocks the thread. A blocked
//! call is completed by the event that satisfies it, at that moment (an IRP or wait block
//! in NT terms): the woken thread becomes runnable with its result already decided.

pub mod config;
mod handle_ops;
mod invariants;
pub mod request;
pub mod sched;
mod wait;

use crate::error::*;
use crate::handles::{HandleEntry, Origin};
use crate::objects::process::Process;
use crate::objects::thread::{Run, Thread};
use crate::objects::{Body, Header, Object, ObjectId, ObjectType};
use crate::report::{LimitKind, Outcome};
use crate::trace::{Event, EventKind};
use crate::types::*;
use config::{Config, StrategyConfig, WaiterOrder};
use request::{BodyFuture, Program, Request, ThreadStart, Value};
use sched::{ChoiceKind, Decision, RandomStrategy, Replay, RoundRobin, Strategy};
use slotmap::SlotMap;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A thread id (`GetCurrentThreadId`). Process and thread ids share one pool of multiples
/// of 4, as on Windows.
pub type Tid = u32;
/// A process id (`GetCurrentProcessId`).
pub type Pid = u32;

/// A call's result before the API layer shapes it: a value and, for calls that set the
/// last error even on success (CreateEvent: 0 or ERROR_ALREADY_EXISTS), that error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    /// What the call returns.
    pub value: Value,
    /// The last error set by a successful call, if it sets one.
    pub last_error: Option<Win32Error>,
}

impl From<Value> for Done {
    fn from(value: Value) -> Done {
        Done { value, last_error: None }
    }
}

/// A completed call: `Ok` (the API's success value) or `Err` (its failure value, with
/// the last error set to the code).
pub type CallResult = Result<Done, Win32Error>;

/// How a transition ended for the calling thread.
pub(crate) enum Exec {
    /// The call completed at once.
    Done(CallResult),
    /// The call blocks.
    Block(BlockOn, Option<u64>),
    /// The caller no longer exists (ExitThread, ExitProcess, TerminateProcess of itself).
    Gone,
}

/// What a blocked thread waits for.
#[derive(Debug)]
pub enum BlockOn {
    /// A dispatcher wait (WaitForSingleObject, WaitForMultipleObjects, SignalObjectAndWait).
    Wait {
        /// The objects, in argument order.
        objects: Vec<ObjectId>,
        /// The handles as passed (for reports).
        handles: Vec<HANDLE>,
        /// bWaitAll.
        all: bool,
    },
    /// Sleep.
    Sleep,
    /// ReadFile waiting for data or end of file.
    PipeRead {
        /// The file object read from.
        file: ObjectId,
    },
    /// WriteFile waiting for the unread bytes up to and including its own to fit the quota.
    PipeWrite {
        /// The file object written to.
        file: ObjectId,
    },
    /// FlushFileBuffers waiting for the peer to read everything.
    PipeFlush {
        /// The file object flushed.
        file: ObjectId,
    },
    /// Waiting for the I/O lock of a synchronous file object held by another thread's call.
    FileLock {
        /// The file object.
        file: ObjectId,
        /// The call to execute once the lock is granted.
        next: Box<Request>,
    },
}

/// A blocked call.
#[derive(Debug)]
pub struct Block {
    /// Win32 function name.
    pub api: &'static str,
    /// Rendered arguments.
    pub args: String,
    /// What it waits for.
    pub on: BlockOn,
    /// Virtual time at which it times out.
    pub deadline_ms: Option<u64>,
    /// Step at which it blocked.
    pub since_step: u64,
}

/// How a thread's body starts: a CreateThread closure or a registered program's main.
pub(crate) enum Start {
    Thread(ThreadStart),
    Program(Program),
}

impl Start {
    pub(crate) fn call(self, ctx: crate::api::ThreadCtx) -> BodyFuture {
        match self {
            Start::Thread(f) => f(ctx),
            Start::Program(p) => p(ctx),
        }
    }
}

/// The simulated machine.
pub struct Kernel {
    pub(crate) objects: SlotMap<ObjectId, Object>,
    /// Thread objects by id. Invariant: an entry exists exactly while its object does.
    pub(crate) tids: BTreeMap<Tid, ObjectId>,
    /// Process objects by id. Invariant: an entry exists exactly while its object does.
    pub(crate) pids: BTreeMap<Pid, ObjectId>,
    /// The named-object namespace (events, mutexes, semaphores; later sections, pipes).
    pub(crate) names: BTreeMap<String, ObjectId>,
    /// Registered programs by lower-case name without ".exe": (display name, main body).
    pub(crate) programs: BTreeMap<String, (String, Program)>,
    pub(crate) config: Config,
    strategy: Box<dyn Strategy>,
    pub(crate) decisions: Vec<Decision>,
    pub(crate) trace: Vec<Event>,
    pub(crate) now_ms: u64,
    pub(crate) step: u64,
    next_cid: u32,
    serials: BTreeMap<ObjectType, u32>,
    /// Pending time-outs: (deadline, thread).
    pub(crate) deadlines: BTreeSet<(u64, Tid)>,
    /// Threads whose result is decided (or that are new) and must run to their next call.
    pub(crate) to_poll: VecDeque<Tid>,
    /// Bodies of threads not yet started.
    pub(crate) starts: BTreeMap<Tid, Start>,
    /// Threads that ended since the last poll round; their futures are dropped.
    pub(crate) dead: Vec<Tid>,
    /// Set when the run must end (limit, replay divergence, unsupported call).
    pub(crate) stop: Option<Outcome>,
    /// File objects whose I/O lock was released and may be granted to a waiter.
    pub(crate) lock_queue: VecDeque<ObjectId>,
    /// While a call that waited for a file object's lock runs: (thread, file object).
    pub(crate) granted: Option<(Tid, ObjectId)>,
    /// The thread whose call is being executed (for causes in the trace).
    pub(crate) current: Option<Tid>,
    pub(crate) threads_created: u32,
    pub(crate) processes_created: u32,
    /// Ended processes in exit order: (pid, image, exit code).
    pub(crate) exited: Vec<(Pid, String, u32)>,
    /// Unread bytes in all pipes. Invariant: the sum of every data queue's `unread`.
    pub(crate) pipe_bytes: u64,
    /// Trace events dropped to stay within `Config::trace_events_max`.
    pub(crate) trace_dropped: u64,
}

impl Kernel {
    /// A machine with no processes yet.
    pub fn new(config: Config) -> Kernel {
        let strategy: Box<dyn Strategy> = match &config.strategy {
            StrategyConfig::Random { seed } => Box::new(RandomStrategy::new(*seed)),
            StrategyConfig::RoundRobin => Box::new(RoundRobin::default()),
            StrategyConfig::Replay { decisions } => Box::new(Replay::new(decisions.clone())),
        };
        Kernel {
            objects: SlotMap::with_key(),
            tids: BTreeMap::new(),
            pids: BTreeMap::new(),
            names: BTreeMap::new(),
            programs: BTreeMap::new(),
            config,
            strategy,
            decisions: Vec::new(),
            trace: Vec::new(),
            now_ms: 0,
            step: 0,
            next_cid: 4,
            serials: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            to_poll: VecDeque::new(),
            starts: BTreeMap::new(),
            dead: Vec::new(),
            stop: None,
            lock_queue: VecDeque::new(),
            granted: None,
            current: None,
            threads_created: 0,
            processes_created: 0,
            exited: Vec::new(),
            pipe_bytes: 0,
            trace_dropped: 0,
        }
    }

    // ----- objects -------------------------------------------------------------------

    /// Puts a new object in the arena with no handles and no references.
    pub(crate) fn alloc_object(&mut self, body: Body, name: Option<String>) -> ObjectId {
        let serial = self.serials.entry(body.object_type()).or_insert(0);
        *serial += 1;
        let hdr = Header {
            serial: *serial,
            handle_count: 0,
            ref_count: 0,
            name,
            waiters: Vec::new(),
            created_step: self.step,
            closed: Vec::new(),
        };
        self.objects.insert(Object { hdr, body })
    }

    /// A short label for an object: `event#2 "name"`, `pipe#1 write end`.
    pub fn describe(&self, id: ObjectId) -> String {
        let Some(o) = self.objects.get(id) else { return "(destroyed object)".into() };
        let mut s = match &o.body {
            Body::File(f) => {
                let pipe_serial = self.objects.get(f.pipe).map(|p| p.hdr.serial).unwrap_or(0);
                format!("pipe#{pipe_serial} {}", crate::objects::pipe::end_name(self, f))
            }
            Body::Process(p) => format!("process {} (P{})", p.image, p.pid),
            Body::Thread(t) => format!("thread T{} of P{}", t.tid, t.pid),
            b => format!("{}#{}", b.object_type(), o.hdr.serial),
        };
        if let Some(n) = &o.hdr.name {
            s.push_str(&format!(" {n:?}"));
        }
        s
    }

    pub(crate) fn add_ref(&mut self, id: ObjectId) {
        if let Some(o) = self.objects.get_mut(id) {
            o.hdr.ref_count += 1;
        }
    }

    /// Drops a non-handle reference; destroys the object if nothing refers to it.
    pub(crate) fn release(&mut self, id: ObjectId) {
        if let Some(o) = self.objects.get_mut(id) {
            assert!(o.hdr.ref_count > 0, "simulator bug: reference count underflow on {id:?}");
            o.hdr.ref_count -= 1;
        }
        self.maybe_destroy(id);
    }

    pub(crate) fn maybe_destroy(&mut self, id: ObjectId) {
        let Some(o) = self.objects.get(id) else { return };
        if o.hdr.handle_count > 0 || o.hdr.ref_count > 0 {
            return;
        }
        assert!(o.hdr.waiters.is_empty(), "simulator bug: destroying an object with waiters");
        let o = self.objects.remove(id).expect("object exists");
        match o.body {
            Body::Thread(t) => {
                self.tids.remove(&t.tid);
                self.release(t.process);
            }
            Body::Process(p) => {
                self.pids.remove(&p.pid);
            }
            Body::File(f) => self.release(f.pipe),
            // An owned mutex whose last handle closed goes away; it leaves its owner's
            // list, as NT's ExpDeleteMutant releases it (the owner cannot name it again).
            Body::Mutex(m) => {
                if let Some(owner) = m.owner.filter(|t| self.tids.contains_key(t)) {
                    self.thread_mut(owner).owned_mutexes.retain(|&o| o != id);
                }
            }
            _ => {}
        }
    }

    /// Binds an object's name (on creation).
    pub(crate) fn bind_name(&mut self, name: &str, id: ObjectId) {
        self.names.insert(name.to_string(), id);
    }

    // ----- threads and processes -----------------------------------------------------

    pub(crate) fn alloc_cid(&mut self) -> u32 {
        let id = self.next_cid;
        self.next_cid += 4;
        id
    }

    pub(crate) fn thread(&self, tid: Tid) -> &Thread {
        match self.tids.get(&tid).map(|&id| &self.objects[id].body) {
            Some(Body::Thread(t)) => t,
            _ => panic!("simulator bug: no thread {tid}"),
        }
    }

    pub(crate) fn thread_mut(&mut self, tid: Tid) -> &mut Thread {
        let id = *self.tids.get(&tid).expect("simulator bug: no such thread");
        match &mut self.objects[id].body {
            Body::Thread(t) => t,
            _ => panic!("simulator bug: tid maps to a non-thread"),
        }
    }

    pub(crate) fn process(&self, pid: Pid) -> &Process {
        match self.pids.get(&pid).map(|&id| &self.objects[id].body) {
            Some(Body::Process(p)) => p,
            _ => panic!("simulator bug: no process {pid}"),
        }
    }

    pub(crate) fn process_mut(&mut self, pid: Pid) -> &mut Process {
        let id = *self.pids.get(&pid).expect("simulator bug: no such process");
        match &mut self.objects[id].body {
            Body::Process(p) => p,
            _ => panic!("simulator bug: pid maps to a non-process"),
        }
    }

    /// The process id of a thread.
    pub fn pid_of(&self, tid: Tid) -> Pid {
        self.thread(tid).pid
    }

    /// A thread's last-error value (`GetLastError`); 0 for a thread that no longer
    /// exists (a `ThreadCtx` kept by another thread after its own thread ended).
    pub fn last_error(&self, tid: Tid) -> u32 {
        match self.tids.get(&tid).map(|&id| &self.objects[id].body) {
            Some(Body::Thread(t)) => t.last_error,
            _ => 0,
        }
    }

    /// Sets a thread's last-error value (`SetLastError`); ignored for a thread that no
    /// longer exists.
    pub fn set_last_error(&mut self, tid: Tid, code: u32) {
        if let Some(&id) = self.tids.get(&tid) {
            if let Body::Thread(t) = &mut self.objects[id].body {
                t.last_error = code;
            }
        }
    }

    /// Looks a program up by a command line's first token or an application name: the
    /// last path component, case-insensitive, with or without ".exe".
    pub(crate) fn find_program(&self, name: &str) -> Option<(String, Program)> {
        let base = name.rsplit(['\\', '/']).next().unwrap_or(name).to_ascii_lowercase();
        let base = base.strip_suffix(".exe").unwrap_or(&base);
        self.programs.get(base).map(|(n, p)| (n.clone(), p.clone()))
    }

    /// Registers a program that CreateProcess can start by name.
    pub fn register_program(&mut self, name: &str, program: Program) {
        let key = name.to_ascii_lowercase();
        let key = key.strip_suffix(".exe").unwrap_or(&key).to_string();
        self.programs.insert(key, (name.to_string(), program));
    }

    /// Ends the run with a limit outcome (the first one set wins).
    pub(crate) fn hit_limit(&mut self, limit: LimitKind, detail: String) {
        if self.stop.is_none() {
            self.stop = Some(Outcome::LimitExceeded { limit, detail });
        }
    }

    // ----- the scheduler's view ------------------------------------------------------

    /// Threads parked at a call and not suspended, in thread-id order.
    pub fn runnable(&self) -> Vec<Tid> {
        self.tids
            .iter()
            .filter_map(|(&tid, &id)| match &self.objects[id].body {
                Body::Thread(t) if t.suspend_count == 0 && matches!(t.run, Run::Parked(_)) => Some(tid),
                _ => None,
            })
            .collect()
    }

    /// Threads that have not exited.
    pub fn live_threads(&self) -> Vec<Tid> {
        self.tids
            .iter()
            .filter_map(|(&tid, &id)| match &self.objects[id].body {
                Body::Thread(t) if !matches!(t.run, Run::Exited) => Some(tid),
                _ => None,
            })
            .collect()
    }

    /// Asks the strategy to choose among `options` (sorted); records the decision.
    pub(crate) fn choose(&mut self, kind: ChoiceKind, options: &[Tid]) -> Tid {
        assert!(!options.is_empty(), "simulator bug: choice among no options");
        if options.len() == 1 {
            return options[0];
        }
        if kind == ChoiceKind::Waiter && self.config.waiter_order == WaiterOrder::Fifo {
            return options[0];
        }
        match self.strategy.pick(kind, options) {
            Some(i) => {
                let tid = options[i];
                self.decisions.push(Decision { kind, tid });
                tid
            }
            None => {
                if self.stop.is_none() {
                    self.stop = Some(Outcome::ReplayDiverged {
                        step: self.step,
                        detail: format!(
                            "decision {} ({:?} among {:?}) does not match the recording",
                            self.decisions.len(),
                            kind,
                            options
                        ),
                    });
                }
                options[0]
            }
        }
    }

    // ----- calls ---------------------------------------------------------------------

    /// Parks a thread at a call (the API future does this on its first poll). A body
    /// that polls two calls at once (`join!`) ends the run as Failed.
    pub(crate) fn park(&mut self, tid: Tid, req: Request) {
        let t = self.thread_mut(tid);
        if !matches!(t.run, Run::Running) {
            let pid = t.pid;
            if self.stop.is_none() {
                self.stop = Some(Outcome::Failed {
                    pid,
                    tid,
                    message: format!(
                        "the thread body started {} while another call was in progress; a simulated \
                         thread makes one call at a time",
                        req.api()
                    ),
                });
            }
            return;
        }
        t.run = Run::Parked(Box::new(req));
    }

    /// A thread body returned: a process's main thread returning is `main` returning,
    /// after which the C runtime calls ExitProcess; another thread just ends.
    pub(crate) fn thread_returned(&mut self, tid: Tid, code: u32) {
        let t = self.thread(tid);
        if t.main {
            let pid = t.pid;
            self.terminate_process_by_id(pid, code, format!("main returned {code}; ExitProcess"));
        } else {
            self.kill_thread(tid, code, "returned".into());
        }
    }

    /// Takes a completed call's result (the API future's second poll).
    pub(crate) fn take_reply(&mut self, tid: Tid) -> Option<CallResult> {
        self.thread_mut(tid).reply.take()
    }

    /// Executes the parked call of `tid`: one kernel step.
    pub fn step_thread(&mut self, tid: Tid) {
        let req = match std::mem::replace(&mut self.thread_mut(tid).run, Run::Running) {
            Run::Parked(req) => req,
            other => panic!("simulator bug: stepping a thread that is not parked: {other:?}"),
        };
        self.step += 1;
        self.current = Some(tid);
        self.execute(tid, *req);
        self.drain_lock_queue();
        self.current = None;
        if self.trace.len() > self.config.trace_events_max {
            let drop = self.trace.len() - self.config.trace_events_max / 2;
            self.trace.drain(..drop);
            self.trace_dropped += drop as u64;
        }
        // A limit reached in the middle of a call ends the run and may leave that call's
        // half-made objects behind; the invariants are for runs that go on.
        if self.config.check_invariants && self.stop.is_none() {
            self.check_invariants();
        }
    }

    /// Executes one request for `tid` and records the outcome. Also used to run a call
    /// that waited for a file object's I/O lock once the lock is granted.
    pub(crate) fn execute(&mut self, tid: Tid, req: Request) {
        let api = req.api();
        let args = if self.config.trace { req.args() } else { String::new() };
        let pid = self.pid_of(tid);
        // Events the call causes (wake-ups, exits, notes) are listed after the call's own
        // line, so the trace reads in cause-and-effect order.
        let mark = self.trace.len();
        let exec = match crate::objects::pipe::lock_file_for(self, pid, tid, &req) {
            Err(file) => Exec::Block(BlockOn::FileLock { file, next: Box::new(req) }, None),
            Ok(locked) => {
                let exec = self.dispatch(pid, tid, req);
                if let Some(file) = locked {
                    match exec {
                        Exec::Block(..) => crate::objects::pipe::hold_lock(self, file, tid),
                        _ => crate::objects::pipe::unlock_file(self, file),
                    }
                }
                exec
            }
        };
        let effects: Vec<Event> = self.trace.drain(mark..).collect();
        match exec {
            Exec::Done(result) => self.complete_now(tid, api, args, result),
            Exec::Block(on, deadline_ms) => self.block(tid, api, args, on, deadline_ms),
            Exec::Gone => {
                if self.config.trace {
                    let kind =
                        EventKind::Call { api: api.into(), args, result: "(does not return)".into(), error: None };
                    self.trace.push(Event { step: self.step, time_ms: self.now_ms, pid, tid, kind });
                }
            }
        }
        self.trace.extend(effects);
    }

    fn dispatch(&mut self, pid: Pid, tid: Tid, req: Request) -> Exec {
        use Request as R;
        match req {
            R::CreateThread { inherit, flags, start } => {
                Exec::Done(self.create_thread(pid, tid, inherit, flags, start))
            }
            R::ResumeThread(h) => Exec::Done(self.resume_thread(pid, tid, h)),
            R::SuspendThread(h) => Exec::Done(self.suspend_thread(pid, tid, h)),
            R::ExitThread(code) => {
                self.kill_thread(tid, code, "ExitThread".into());
                Exec::Gone
            }
            R::TerminateThread(h, code) => self.terminate_thread(pid, tid, h, code),
            R::GetExitCodeThread(h) => Exec::Done(self.get_exit_code_thread(pid, tid, h)),
            R::CreateProcess {
                application_name,
                command_line,
                inherit_process,
                inherit_thread,
                inherit_handles,
                flags,
                startup,
            } => Exec::Done(self.create_process(
                pid,
                tid,
                application_name,
                command_line,
                (inherit_process, inherit_thread),
                inherit_handles,
                flags,
                startup,
            )),
            R::ExitProcess(code) => {
                self.terminate_process_by_id(pid, code, format!("ExitProcess({code}) by T{tid}"));
                Exec::Gone
            }
            R::TerminateProcess(h, code) => self.terminate_process(pid, tid, h, code),
            R::GetExitCodeProcess(h) => Exec::Done(self.get_exit_code_process(pid, tid, h)),
            R::OpenProcess { access, inherit, pid: target } => {
                Exec::Done(self.open_process(pid, tid, access, inherit, target))
            }
            R::CloseHandle(h) => Exec::Done(self.close_handle_call(pid, tid, h)),
            R::DuplicateHandle { source_process, source, target_process, access, inherit, options } => Exec::Done(
                self.duplicate_handle(pid, tid, source_process, source, target_process, access, inherit, options),
            ),
            R::SetHandleInformation { handle, mask, flags } => {
                Exec::Done(self.set_handle_information(pid, handle, mask, flags))
            }
            R::GetHandleInformation(h) => Exec::Done(self.get_handle_information(pid, h)),
            R::WaitForSingleObject { handle, timeout_ms } => {
                self.wait_for_objects(pid, tid, &[handle], false, timeout_ms, true)
            }
            R::WaitForMultipleObjects { handles, wait_all, timeout_ms } => {
                self.wait_for_objects(pid, tid, &handles, wait_all, timeout_ms, false)
            }
            R::SignalObjectAndWait { signal, wait, timeout_ms, alertable: _ } => {
                self.signal_object_and_wait(pid, tid, signal, wait, timeout_ms)
            }
            R::Sleep(ms) => self.sleep(ms),
            R::CreateEvent { inherit, manual_reset, initial_state, name } => {
                Exec::Done(self.create_event(pid, tid, inherit, manual_reset, initial_state, name))
            }
            R::OpenEvent { access, inherit, name } => {
                Exec::Done(self.open_named(pid, tid, ObjectType::Event, "OpenEvent", access, inherit, name))
            }
            R::SetEvent(h) => Exec::Done(self.set_event(pid, tid, h)),
            R::ResetEvent(h) => Exec::Done(self.reset_event(pid, tid, h)),
            R::PulseEvent(h) => Exec::Done(self.pulse_event(pid, tid, h)),
            R::CreateMutex { inherit, initial_owner, name } => {
                Exec::Done(self.create_mutex(pid, tid, inherit, initial_owner, name))
            }
            R::OpenMutex { access, inherit, name } => {
                Exec::Done(self.open_named(pid, tid, ObjectType::Mutex, "OpenMutex", access, inherit, name))
            }
            R::ReleaseMutex(h) => Exec::Done(self.release_mutex(pid, tid, h)),
            R::CreateSemaphore { inherit, initial, maximum, name } => {
                Exec::Done(self.create_semaphore(pid, tid, inherit, initial, maximum, name))
            }
            R::OpenSemaphore { access, inherit, name } => {
                Exec::Done(self.open_named(pid, tid, ObjectType::Semaphore, "OpenSemaphore", access, inherit, name))
            }
            R::ReleaseSemaphore { handle, count } => Exec::Done(self.release_semaphore(pid, tid, handle, count)),
            R::CreatePipe { inherit, size } => Exec::Done(self.create_pipe(pid, tid, inherit, size)),
            R::ReadFile { handle, len } => self.read_file(pid, tid, handle, len),
            R::WriteFile { handle, data } => self.write_file(pid, tid, handle, data),
            R::PeekNamedPipe { handle, len } => Exec::Done(self.peek_named_pipe(pid, tid, handle, len)),
            R::GetNamedPipeInfo(h) => Exec::Done(self.get_named_pipe_info(pid, tid, h)),
            R::FlushFileBuffers(h) => self.flush_file_buffers(pid, tid, h),
        }
    }

    /// Sets a completed call's result and last error, in one place for every API.
    fn finish_call(&mut self, tid: Tid, result: &CallResult) {
        let t = self.thread_mut(tid);
        match result {
            Ok(done) => {
                if let Some(e) = done.last_error {
                    t.last_error = e.0;
                }
            }
            Err(e) => t.last_error = e.0,
        }
    }

    fn result_for_trace(result: &CallResult, failure: &str) -> (String, Option<Win32Error>) {
        match result {
            Ok(d) => (d.value.render(), d.last_error),
            Err(e) => (failure.to_string(), Some(*e)),
        }
    }

    /// The value a call returns on failure, for the trace.
    fn failure_text(api: &str) -> &'static str {
        match api {
            "WaitForSingleObject" | "WaitForMultipleObjects" | "SignalObjectAndWait" => "WAIT_FAILED",
            "SuspendThread" | "ResumeThread" => "(DWORD)-1",
            "CreateThread" | "CreateEvent" | "OpenEvent" | "CreateMutex" | "OpenMutex" | "CreateSemaphore"
            | "OpenSemaphore" | "OpenProcess" => "NULL",
            _ => "FALSE",
        }
    }

    fn complete_now(&mut self, tid: Tid, api: &'static str, args: String, result: CallResult) {
        self.finish_call(tid, &result);
        if self.config.trace {
            let (text, error) = Self::result_for_trace(&result, Self::failure_text(api));
            self.push_event(tid, EventKind::Call { api: api.into(), args, result: text, error });
        }
        let t = self.thread_mut(tid);
        t.reply = Some(result);
        t.run = Run::Ready;
        self.schedule_poll(tid);
    }

    fn block(&mut self, tid: Tid, api: &'static str, args: String, on: BlockOn, deadline_ms: Option<u64>) {
        if self.config.trace {
            let reason = self.block_reason(tid, &on);
            self.push_event(tid, EventKind::Block { api: api.into(), args: args.clone(), reason });
        }
        if let Some(d) = deadline_ms {
            self.deadlines.insert((d, tid));
        }
        let since_step = self.step;
        self.thread_mut(tid).run = Run::Blocked(Block { api, args, on, deadline_ms, since_step });
    }

    /// Completes a blocked call with `result`; `cause` says what completed it.
    pub(crate) fn wake(&mut self, tid: Tid, result: CallResult, cause: String) {
        let block = match std::mem::replace(&mut self.thread_mut(tid).run, Run::Ready) {
            Run::Blocked(b) => b,
            other => panic!("simulator bug: waking a thread that is not blocked: {other:?}"),
        };
        if let Some(d) = block.deadline_ms {
            self.deadlines.remove(&(d, tid));
        }
        if let Some(file) = self.thread_mut(tid).held_lock.take() {
            crate::objects::pipe::unlock_file(self, file);
        }
        self.finish_call(tid, &result);
        if self.config.trace {
            let (text, error) = Self::result_for_trace(&result, Self::failure_text(block.api));
            self.push_event(tid, EventKind::Wake { api: block.api.into(), result: text, error, cause });
        }
        self.thread_mut(tid).reply = Some(result);
        self.schedule_poll(tid);
    }

    /// Queues a thread to run to its next call, unless it is suspended (ResumeThread
    /// queues it then).
    pub(crate) fn schedule_poll(&mut self, tid: Tid) {
        if self.thread(tid).suspend_count == 0 {
            self.to_poll.push_back(tid);
        }
    }

    /// "API by P/T", for wake-up causes in the trace. Built only when the trace is on:
    /// sweeps run with it off and pay nothing for the text.
    pub(crate) fn cause(&self, what: impl FnOnce() -> String) -> String {
        if !self.config.trace {
            return String::new();
        }
        let what = what();
        match self.current {
            // The acting thread may have ended during its own call (TerminateProcess of
            // its own process, TerminateThread of itself).
            Some(tid) if self.tids.contains_key(&tid) => format!("{what} by P{}/T{tid}", self.pid_of(tid)),
            Some(tid) => format!("{what} by T{tid}"),
            None => what,
        }
    }

    pub(crate) fn push_event(&mut self, tid: Tid, kind: EventKind) {
        if !self.config.trace {
            return;
        }
        let pid = self.tids.get(&tid).map(|_| self.pid_of(tid)).unwrap_or(0);
        self.trace.push(Event { step: self.step, time_ms: self.now_ms, pid, tid, kind });
    }

    pub(crate) fn push_process_event(&mut self, pid: Pid, kind: EventKind) {
        if !self.config.trace {
            return;
        }
        self.trace.push(Event { step: self.step, time_ms: self.now_ms, pid, tid: 0, kind });
    }

    /// What a blocked call waits for, in words.
    pub(crate) fn block_reason(&self, tid: Tid, on: &BlockOn) -> String {
        match on {
            BlockOn::Wait { objects, all, .. } => {
                let names: Vec<String> = objects.iter().map(|&o| self.describe(o)).collect();
                if objects.len() == 1 {
                    format!("waits for {} to be signalled", names[0])
                } else if *all {
                    format!("waits for all of [{}]", names.join(", "))
                } else {
                    format!("waits for any of [{}]", names.join(", "))
                }
            }
            BlockOn::Sleep => "sleeps".into(),
            BlockOn::PipeRead { file } => crate::objects::pipe::describe_read_wait(self, *file),
            BlockOn::PipeWrite { file } => crate::objects::pipe::describe_write_wait(self, *file, tid),
            BlockOn::PipeFlush { file } => crate::objects::pipe::describe_flush_wait(self, *file),
            BlockOn::FileLock { file, .. } => crate::objects::pipe::describe_lock_wait(self, *file),
        }
    }

    // ----- virtual time --------------------------------------------------------------

    /// Moves the clock to the earliest deadline and times out every call due then.
    /// Returns false when no deadline is pending.
    pub fn advance_clock(&mut self) -> bool {
        let Some(&(deadline, _)) = self.deadlines.iter().next() else { return false };
        self.now_ms = self.now_ms.max(deadline);
        let due: Vec<Tid> = self.deadlines.iter().take_while(|(d, _)| *d == deadline).map(|&(_, t)| t).collect();
        for tid in due {
            self.time_out(tid);
        }
        true
    }

    fn time_out(&mut self, tid: Tid) {
        let is_wait = match &self.thread(tid).run {
            Run::Blocked(b) => matches!(b.on, BlockOn::Wait { .. }),
            _ => panic!("simulator bug: a deadline for a thread that is not blocked"),
        };
        if is_wait && self.thread(tid).suspend_count > 0 {
            // A suspended waiter is in the suspend APC, outside its wait; on ResumeThread
            // the wait restarts and checks the objects before the expired time-out (WRK
            // KeWaitForSingleObject after STATUS_KERNEL_APC). Decided in `recheck_wait`.
            if let Run::Blocked(Block { deadline_ms: Some(d), .. }) = &self.thread(tid).run {
                let d = *d;
                self.deadlines.remove(&(d, tid));
            }
        } else if is_wait {
            self.cancel_wait_registration(tid);
            self.wake(tid, Ok(Value::Wait(WAIT_TIMEOUT).into()), "time-out".into());
        } else {
            self.wake(tid, Ok(Value::Void.into()), "time elapsed".into());
        }
    }

    /// Converts a Win32 time-out to a deadline (`None` for INFINITE).
    pub(crate) fn deadline(&self, timeout_ms: u32) -> Option<u64> {
        (timeout_ms != INFINITE).then(|| self.now_ms + u64::from(timeout_ms))
    }

    fn sleep(&mut self, ms: u32) -> Exec {
        if ms == 0 {
            // Sleep(0) gives up the rest of the time slice: a schedule point, nothing more.
            return Exec::Done(Ok(Value::Void.into()));
        }
        Exec::Block(BlockOn::Sleep, self.deadline(ms))
    }

    // ----- handles -------------------------------------------------------------------

    /// Allocates a handle in `pid`'s table. Ends the run with a limit outcome when the
    /// table is full.
    pub(crate) fn alloc_handle(
        &mut self,
        pid: Pid,
        object: ObjectId,
        access: u32,
        flags: u32,
        history: Vec<Origin>,
    ) -> Result<HANDLE, Win32Error> {
        let max = self.config.handles_max;
        let entry = HandleEntry { object, access, flags, history };
        match self.process_mut(pid).handles.alloc(entry, max) {
            Some(h) => {
                self.objects[object].hdr.handle_count += 1;
                Ok(h)
            }
            None => {
                self.hit_limit(LimitKind::Handles, format!("process P{pid} holds {max} handles (handles_max)"));
                Err(ERROR_NO_SYSTEM_RESOURCES)
            }
        }
    }

    /// An origin record for a handle made now by the current call.
    pub(crate) fn origin(&self, pid: Pid, tid: Tid, api: &str, how: &str, from: Option<(Pid, HANDLE)>) -> Origin {
        Origin { step: self.step, api: api.into(), how: how.into(), by_pid: pid, by_tid: tid, from }
    }

    /// Resolves a handle of `pid` (pseudo handles included) to an object of type `ty`
    /// (any type when `None`) with all of `access` granted. Windows' errors: an unknown
    /// handle or wrong type is ERROR_INVALID_HANDLE, a missing right ERROR_ACCESS_DENIED.
    pub(crate) fn object_from_handle(
        &self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        ty: Option<ObjectType>,
        access: u32,
    ) -> Result<ObjectId, Win32Error> {
        let (id, granted) = if h == CURRENT_PROCESS_PSEUDO_HANDLE {
            (self.pids[&pid], PROCESS_ALL_ACCESS)
        } else if h == CURRENT_THREAD_PSEUDO_HANDLE {
            (self.tids[&tid], THREAD_ALL_ACCESS)
        } else {
            let e = self.process(pid).handles.get(h).ok_or(ERROR_INVALID_HANDLE)?;
            (e.object, e.access)
        };
        if let Some(ty) = ty {
            if self.objects[id].body.object_type() != ty {
                return Err(ERROR_INVALID_HANDLE);
            }
        }
        if granted & access != access {
            return Err(ERROR_ACCESS_DENIED);
        }
        Ok(id)
    }

    /// Removes a handle from `pid`'s table and drops its count on the object, with the
    /// side effects of the last handle closing (pipe end closed, name unbound).
    pub(crate) fn close_handle(&mut self, pid: Pid, h: HANDLE) -> Result<(), Win32Error> {
        let p = self.process_mut(pid);
        let e = p.handles.get(h).ok_or(ERROR_INVALID_HANDLE)?;
        if e.protected() {
            // STATUS_HANDLE_NOT_CLOSABLE, ERROR_INVALID_HANDLE; the handle stays (fact 7.7).
            return Err(ERROR_INVALID_HANDLE);
        }
        let e = p.handles.remove(h).expect("handle exists");
        self.note_closed(pid, h, &e, "CloseHandle", "closed");
        self.drop_handle_ref(e.object);
        Ok(())
    }

    /// Remembers a closed handle on its object (bounded), for reports.
    pub(crate) fn note_closed(&mut self, pid: Pid, h: HANDLE, e: &HandleEntry, api: &str, how: &str) {
        let by_tid = self.current.unwrap_or(0);
        let closed = Origin { step: self.step, api: api.into(), how: how.into(), by_pid: pid, by_tid, from: None };
        let list = &mut self.objects[e.object].hdr.closed;
        if list.len() >= crate::objects::CLOSED_HANDLES_KEPT {
            list.remove(0);
        }
        list.push(crate::objects::ClosedHandle { pid, handle: h, history: e.history.clone(), closed });
    }

    pub(crate) fn drop_handle_ref(&mut self, id: ObjectId) {
        let o = &mut self.objects[id];
        assert!(o.hdr.handle_count > 0, "simulator bug: handle count underflow");
        o.hdr.handle_count -= 1;
        if o.hdr.handle_count == 0 {
            if let Some(name) = o.hdr.name.clone() {
                if self.names.get(&name) == Some(&id) {
                    self.names.remove(&name);
                }
            }
            if let Body::File(_) = self.objects[id].body {
                crate::objects::pipe::file_cleanup(self, id);
            }
        }
        self.maybe_destroy(id);
    }
}
