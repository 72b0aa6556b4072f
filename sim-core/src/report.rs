//! How a run ended, and the deadlock report: a wait-for graph in Win32 terms.

use crate::error::*;
use crate::handles::Origin;
use crate::kernel::config::{Config, StrategyConfig, WaiterOrder};
use crate::kernel::sched::{Decision, Schedule};
use crate::kernel::{Kernel, Pid, Tid};
use crate::objects::ClosedHandle;
use crate::objects::thread::Run;
use crate::trace::Event;
use crate::types::HANDLE;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Which limit a run hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LimitKind {
    /// `Config::threads_max`.
    Threads,
    /// `Config::processes_max`.
    Processes,
    /// `Config::handles_max`.
    Handles,
    /// `Config::io_bytes_max`.
    IoBytes,
    /// `Config::pipe_bytes_max`.
    PipeBytes,
    /// `Config::message_nesting_max`: SendMessage from inside too many sent messages.
    MessageNesting,
    /// `Config::section_bytes_max`: section pages materialised by writes (§19.20).
    SectionBytes,
    /// `Config::sockets_max`: sockets one process created or accepted (§22).
    Sockets,
}

impl LimitKind {
    /// The error a call fails with when Windows runs out of this resource (used with
    /// `LimitAction::FailCall`): thread creation fails with ERROR_NOT_ENOUGH_MEMORY
    /// (CreateThread cannot allocate the stack or TEB), a full handle table with
    /// ERROR_NO_SYSTEM_RESOURCES (STATUS_INSUFFICIENT_RESOURCES from the object manager),
    /// an I/O the system cannot buffer with ERROR_NO_SYSTEM_RESOURCES, and pipe data past
    /// the nonpaged pool with ERROR_NOT_ENOUGH_MEMORY [inferred; docs/semantics.md §15].
    pub fn win32_error(self) -> Win32Error {
        match self {
            LimitKind::Threads | LimitKind::Processes | LimitKind::PipeBytes | LimitKind::SectionBytes => {
                ERROR_NOT_ENOUGH_MEMORY
            }
            LimitKind::Handles | LimitKind::IoBytes | LimitKind::MessageNesting => ERROR_NO_SYSTEM_RESOURCES,
            LimitKind::Sockets => WSAEMFILE,
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Every thread of every process ended.
    #[serde(alias = "Completed")]
    Completed {
        /// Each process's exit code, in the order the processes ended: (pid, image, code).
        exit_codes: Vec<(Pid, String, u32)>,
    },
    /// Live threads remain, none can run, and no time-out is pending.
    #[serde(alias = "Deadlock")]
    Deadlock(DeadlockReport),
    /// A thread body panicked (an assertion in user code, or a bug in it), or misused
    /// its ThreadCtx.
    #[serde(alias = "Failed")]
    Failed {
        /// The thread's process.
        pid: Pid,
        /// The thread.
        tid: Tid,
        /// The panic message.
        message: String,
        /// Where it panicked (`file:line:column`), when known.
        location: Option<String>,
    },
    /// The run reached `Config::steps_max` kernel steps.
    #[serde(alias = "StepLimit")]
    StepLimit {
        /// Steps executed.
        steps: u64,
    },
    /// A resource limit of the configuration was reached.
    #[serde(alias = "LimitExceeded")]
    LimitExceeded {
        /// Which limit.
        limit: LimitKind,
        /// What reached it.
        detail: String,
    },
    /// A call used something winsim does not model; the run stops rather than guess.
    #[serde(alias = "Unsupported")]
    Unsupported {
        /// The Win32 function.
        api: String,
        /// What is not modelled.
        detail: String,
    },
    /// A thread read or wrote simulated memory it may not: an address no view maps, a
    /// write through a read-only view, any touch of a PAGE_NOACCESS view or of an
    /// uncommitted SEC_RESERVE page (docs/semantics.md §19.23). On Windows the access
    /// raises EXCEPTION_ACCESS_VIOLATION (0xC0000005); unhandled, it ends the process;
    /// winsim ends the run, as it does for any crash.
    #[serde(alias = "AccessViolation")]
    AccessViolation {
        /// The faulting thread's process.
        pid: Pid,
        /// The faulting thread.
        tid: Tid,
        /// The first address that could not be accessed (`ExceptionInformation[1]`).
        address: u64,
        /// A write (`ExceptionInformation[0]` = 1) or a read (0).
        write: bool,
        /// The access, as the call that made it (`WriteMemory(0x10000000, 4 bytes)`).
        call: String,
    },
    /// The kernel itself panicked: a bug in winsim, not in the simulated program. The
    /// run's seed reproduces it; please report it.
    #[serde(alias = "SimulatorBug")]
    SimulatorBug {
        /// Step at which it happened.
        step: u64,
        /// The panic message.
        message: String,
    },
    /// A replayed decision list did not fit the run (the program changed, or the list is
    /// from another program).
    #[serde(alias = "ReplayDiverged")]
    ReplayDiverged {
        /// Step at which the replay failed.
        step: u64,
        /// What did not match.
        detail: String,
    },
    /// Two threads accessed the same bytes of simulated memory, at least one writing and
    /// not both with interlocked operations, with no happens-before between the accesses
    /// (docs/semantics.md §25): a data race, found by the detector on the run where it
    /// happened, whatever the values read.
    #[serde(alias = "DataRace")]
    DataRace(RaceReport),
    /// The run reached `Config::steps_max` with every thread that ran in the last
    /// `Config::livelock_window` steps repeating one cycle of calls with the same results,
    /// and no data moving (`kernel/livelock.rs`, docs/exploration.md): a livelock, not a
    /// long run.
    Livelock(LivelockReport),
}

/// A livelock: what each running thread repeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LivelockReport {
    /// Steps executed (the step limit).
    pub steps: u64,
    /// The steps watched before the limit.
    pub window: u64,
    /// Each thread that ran in the window, by thread id.
    pub threads: Vec<LivelockThread>,
    /// How the kernel's state (thread positions and absolute times aside) returned over
    /// the last steps, when it was recorded and did (`kernel/livelock.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<LivelockStates>,
}

/// The kernel's states in the last steps of a livelock: they kept returning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LivelockStates {
    /// The steps recorded (the tail of the window).
    pub steps: u64,
    /// The distinct states those steps went through.
    pub distinct: u64,
}

/// One thread of a livelock and the cycle it repeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LivelockThread {
    /// The thread's process.
    pub pid: Pid,
    /// The thread.
    pub tid: Tid,
    /// Its process's image name.
    pub image: String,
    /// The calls of one cycle with their results, in order, from the rotation that sorts
    /// first (`Sleep`,
    /// `WaitForSingleObject -> WAIT_OBJECT_0`).
    pub cycle: Vec<String>,
    /// Whole cycles seen in the window.
    pub repeats: u64,
    /// The thread's results differed from round to round (it read the clock, say), so
    /// `cycle` holds the APIs alone; the kernel's returning states make it a livelock.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub results_vary: bool,
}

impl LivelockReport {
    /// The livelock for people: each thread's cycle.
    pub fn render(&self) -> String {
        let vary = self.threads.iter().any(|t| t.results_vary);
        let mut s = format!(
            "LIVELOCK: {} steps executed (steps_max); in the last {} every running thread repeated \
             the same calls with {}, and no data moved\n",
            self.steps,
            self.window,
            if vary { "the same results (or, where marked, the kernel's state returning)" } else { "the same results" }
        );
        if let Some(st) = &self.states {
            let _ = writeln!(
                s,
                "  the kernel's state (times relative to now) kept returning: {} distinct state{} in the last {} steps",
                st.distinct,
                if st.distinct == 1 { "" } else { "s" },
                st.steps
            );
        }
        for t in &self.threads {
            let n = t.cycle.len();
            let _ = writeln!(
                s,
                "  T{} ({} P{}) repeats {n} call{} {} times{}:",
                t.tid,
                t.image,
                t.pid,
                if n == 1 { "" } else { "s" },
                t.repeats,
                if t.results_vary { " (their results vary)" } else { "" }
            );
            for c in &t.cycle {
                let _ = writeln!(s, "    {c}");
            }
        }
        s.push_str("  nothing else can change what they see: break the symmetry (a back-off that differs per thread, a lock order, or waiting instead of polling)\n");
        s
    }
}

/// One of the two accesses of a data race.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RaceAccess {
    /// The thread's process.
    pub pid: Pid,
    /// The thread.
    pub tid: Tid,
    /// The step of the access.
    pub step: u64,
    /// The access, as a call (`WriteMemory(0x10000010, 4 bytes)`, `InterlockedIncrement(0x10000000)`).
    pub call: String,
    /// The address the thread used (in its own process).
    pub address: u64,
    /// Bytes accessed.
    pub bytes: u64,
    /// A write (or an interlocked operation that stored).
    pub write: bool,
    /// An interlocked operation.
    pub interlocked: bool,
}

impl RaceAccess {
    fn render(&self) -> String {
        let what = match (self.interlocked, self.write) {
            (true, _) => "interlocked",
            (false, true) => "write",
            (false, false) => "read",
        };
        format!("{what} {} by P{}/T{} at step {}", self.call, self.pid, self.tid, self.step)
    }
}

/// A data race: two conflicting accesses with no happens-before between them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RaceReport {
    /// The memory: the section (`section#1 "Local\\ring"`) or a copy-on-write view.
    pub memory: String,
    /// The offset of the second access in it.
    pub offset: u64,
    /// The earlier access.
    pub first: RaceAccess,
    /// The later access, which found the race.
    pub second: RaceAccess,
}

impl RaceReport {
    /// The race in one line (trace notes).
    pub fn one_line(&self) -> String {
        format!(
            "DATA RACE on {} offset 0x{:x}: {} and {}, with no synchronisation between them",
            self.memory,
            self.offset,
            self.first.render(),
            self.second.render()
        )
    }

    /// The race for people: both accesses, the memory, and what would order them.
    pub fn render(&self) -> String {
        format!(
            "DATA RACE on {} at offset 0x{:x}\n  first:  {}\n  second: {}\n  \
             no happens-before between them: order them with a lock, an event or semaphore wait, \
             or an interlocked operation on a flag (docs/semantics.md §25)\n",
            self.memory,
            self.offset,
            self.first.render(),
            self.second.render()
        )
    }
}

impl Outcome {
    /// A one-word name: completed, deadlock, failed, step-limit, limit, unsupported,
    /// replay-diverged.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Completed { .. } => "completed",
            Outcome::Deadlock(_) => "deadlock",
            Outcome::Failed { .. } => "failed",
            Outcome::StepLimit { .. } => "step-limit",
            Outcome::LimitExceeded { .. } => "limit",
            Outcome::Unsupported { .. } => "unsupported",
            Outcome::ReplayDiverged { .. } => "replay-diverged",
            Outcome::SimulatorBug { .. } => "simulator-bug",
            Outcome::AccessViolation { .. } => "access-violation",
            Outcome::DataRace(_) => "data-race",
            Outcome::Livelock(_) => "livelock",
        }
    }

    /// True for `Completed`.
    pub fn is_completed(&self) -> bool {
        matches!(self, Outcome::Completed { .. })
    }

    /// The deadlock report, if the run deadlocked.
    pub fn deadlock(&self) -> Option<&DeadlockReport> {
        match self {
            Outcome::Deadlock(d) => Some(d),
            _ => None,
        }
    }
}

/// A handle that keeps an object alive or open, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HandleRef {
    /// The process holding it.
    pub pid: Pid,
    /// That process's image name.
    pub image: String,
    /// The handle value in that process.
    pub handle: HANDLE,
    /// Its history, oldest first (created, inherited, duplicated).
    pub history: Vec<Origin>,
}

/// What a stuck thread waits for: one edge of the wait-for graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WaitEdge {
    /// A dispatcher object (event, mutex, semaphore, process, thread, file).
    #[serde(alias = "Object")]
    Object {
        /// The handle waited on.
        handle: HANDLE,
        /// The object, described.
        object: String,
        /// Its state, described (owner of a mutex, count of a semaphore, what a thread
        /// or process is doing).
        state: String,
        /// For objects that calls signal (event, semaphore, mutex, timer): its last signal
        /// and what became of it, or "never signalled" (a lost wake-up shows here).
        last_signal: Option<String>,
    },
    /// ReadFile waiting for data or end of file.
    #[serde(alias = "PipeData")]
    PipeData {
        /// The pipe, described.
        pipe: String,
        /// Bytes queued.
        queued: u64,
        /// The handles that keep the writing end open: while any exists, the read can
        /// never see ERROR_BROKEN_PIPE.
        writers: Vec<HandleRef>,
        /// Handles to the writing end that were closed (the most recent ones).
        closed_writers: Vec<ClosedHandle>,
    },
    /// WriteFile waiting for the reader to make room.
    #[serde(alias = "PipeSpace")]
    PipeSpace {
        /// The pipe, described.
        pipe: String,
        /// Bytes unread.
        unread: u64,
        /// The quota.
        quota: u32,
        /// The handles to the reading end.
        readers: Vec<HandleRef>,
    },
    /// FlushFileBuffers waiting for the reader.
    #[serde(alias = "PipeDrain")]
    PipeDrain {
        /// The pipe, described.
        pipe: String,
        /// Bytes unread.
        unread: u64,
    },
    /// Waiting for another call to finish on the same synchronous file object.
    #[serde(alias = "FileLock")]
    FileLock {
        /// The file object, described.
        file: String,
        /// The thread whose call holds the lock.
        holder: Option<Tid>,
    },
    /// ConnectNamedPipe waiting for a client to open the pipe.
    #[serde(alias = "PipeClient")]
    PipeClient {
        /// The pipe's name.
        pipe: String,
    },
    /// WaitNamedPipe waiting for an instance of the pipe to listen.
    #[serde(alias = "PipeInstance")]
    PipeInstance {
        /// The pipe's name.
        pipe: String,
        /// Its instances' server ends and their states.
        instances: Vec<String>,
    },
    /// ReadFile waiting forever for a message in an empty mailslot (§18.6).
    #[serde(alias = "MailslotMessage")]
    MailslotMessage {
        /// The mailslot's name.
        mailslot: String,
        /// Messages queued.
        queued: u64,
        /// The open writer (client) handles: only a write through one of these, or
        /// through a client opened later, completes the read.
        writers: Vec<HandleRef>,
    },
    /// A socket call waiting for its peer or the network (§22): recv for data or end of
    /// stream, send for the peer to read, accept for a connection, connect for a listener.
    #[serde(alias = "Socket")]
    Socket {
        /// The socket, described.
        socket: String,
        /// What it waits for, in words.
        waits_for: String,
        /// The peer socket, for recv and send.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<String>,
        /// The handles that keep the peer open: while any exists, a recv can never see end
        /// of stream (a leaked or inherited copy shows here).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        peer_handles: Vec<HandleRef>,
    },
    /// MQReceiveMessage waiting for a message in a Message Queuing queue (§23.25).
    #[serde(alias = "QueueMessage")]
    QueueMessage {
        /// The queue's path name.
        queue: String,
        /// Messages available to a receive.
        available: u64,
        /// Messages held by transactions that received them (they return on abort).
        locked: u64,
        /// Messages sent to the queue in transactions not yet committed.
        in_flight: u64,
        /// The open send handles to the queue.
        senders: Vec<HandleRef>,
    },
    /// GetQueuedCompletionStatus waiting for a packet.
    #[serde(alias = "Port")]
    Port {
        /// The port, described.
        port: String,
    },
    /// Sleep(INFINITE).
    #[serde(alias = "SleepForever")]
    SleepForever,
    /// EnterCriticalSection or AcquireSRWLock* waiting for a user-mode lock (§20).
    #[serde(alias = "UserLock")]
    UserLock {
        /// The lock ("critical section #1", "SRW lock #2").
        lock: String,
        /// The threads holding it (the owner, or an SRW lock's shared holders).
        owners: Vec<Tid>,
        /// Its state, described.
        state: String,
    },
    /// WaitOnAddress waiting for a WakeByAddress* on its address (§26).
    #[serde(alias = "AddressWait")]
    AddressWait {
        /// The address.
        address: u64,
        /// The value there now, and the value the wait compared (hex, little-endian).
        state: String,
    },
    /// SleepConditionVariable* sleeping until another thread wakes the variable (§20).
    #[serde(alias = "ConditionVariable")]
    ConditionVariable {
        /// The condition variable.
        variable: String,
        /// The lock it released and will re-acquire.
        lock: String,
    },
    /// User APCs are queued to the thread, but it waits without being alertable, so they
    /// never run (§16.35).
    #[serde(alias = "QueuedApcs")]
    QueuedApcs {
        /// Who queued each.
        from: Vec<String>,
    },
    /// A user32 wait: GetMessage or WaitMessage waiting for a message, or SendMessage
    /// waiting for its receiver to run the message (§17).
    #[serde(alias = "Message")]
    Message {
        /// What it waits for, in words.
        what: String,
        /// The window a sent message is for: its handle, class, title and owner.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<String>,
        /// The thread that must run the sent message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receiver: Option<Tid>,
        /// What that thread is doing (blocked where, and whether it pumps messages).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receiver_state: Option<String>,
    },
    /// A COM call through a proxy waiting for its reply (§21): the call, the apartment it
    /// went to, where it is (queued on the STA's hidden window, running), and what the
    /// thread that must run it does.
    #[serde(alias = "ComCall")]
    ComCall {
        /// The method and the call's number (`IToy::Add (call #7)`).
        call: String,
        /// The target apartment (`STA#3 (T4)`).
        apartment: String,
        /// Where the call is.
        state: String,
        /// The thread that must retrieve or finish it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receiver: Option<Tid>,
        /// What that thread is doing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receiver_state: Option<String>,
    },
    /// The thread is suspended and nothing will resume it.
    #[serde(alias = "Suspended")]
    Suspended {
        /// Its suspend count.
        count: u32,
    },
}

/// A thread that can never run again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StuckThread {
    /// Its process.
    pub pid: Pid,
    /// Its process's image.
    pub image: String,
    /// The thread.
    pub tid: Tid,
    /// The call it is in (empty when suspended between calls).
    pub api: String,
    /// The call's arguments.
    pub args: String,
    /// The step at which it blocked.
    pub since_step: u64,
    /// What it waits for.
    pub waits: Vec<WaitEdge>,
    /// The threads whose action could release it: the owner of a mutex it waits for,
    /// the threads of a process it waits for, the threads of every process holding a
    /// handle to the event, semaphore or pipe end that would have to act, the holder of a
    /// file object's lock. Sorted; may include itself.
    pub waits_for: Vec<Tid>,
}

/// Every live thread and what it waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeadlockReport {
    /// Virtual time at which the run stopped.
    pub time_ms: u64,
    /// The stuck threads, in thread-id order.
    pub threads: Vec<StuckThread>,
    /// A cycle of the wait-for graph, as thread ids (`[a, b]` means a waits for b and b
    /// for a; `[a]` means a waits for something only its own process could provide).
    /// Empty when no cycle exists (a thread waiting on something nobody holds).
    pub cycle: Vec<Tid>,
    /// Asynchronous operations still pending (no thread is blocked in them): each with
    /// its OVERLAPPED's event, its file and what it waits for.
    pub pending_io: Vec<String>,
    /// Named pipe instances listening for a client that no thread is opening.
    pub listening: Vec<String>,
}

/// The first cycle of the wait-for graph among stuck threads: a cycle through two or
/// more threads if there is one (searching from the lowest thread id), else a thread
/// that waits for itself.
fn find_cycle(threads: &[StuckThread]) -> Vec<Tid> {
    let edges =
        |t: Tid| -> Vec<Tid> { threads.iter().find(|s| s.tid == t).map(|s| s.waits_for.clone()).unwrap_or_default() };
    fn dfs(t: Tid, path: &mut Vec<Tid>, edges: &dyn Fn(Tid) -> Vec<Tid>, seen: &mut Vec<Tid>) -> Option<Vec<Tid>> {
        if let Some(i) = path.iter().position(|&p| p == t) {
            return Some(path[i..].to_vec());
        }
        if seen.contains(&t) {
            return None;
        }
        seen.push(t);
        path.push(t);
        for n in edges(t).into_iter().filter(|&n| n != t) {
            if let Some(c) = dfs(n, path, edges, seen) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut seen = Vec::new();
    for s in threads {
        if let Some(c) = dfs(s.tid, &mut Vec::new(), &edges, &mut seen) {
            return c;
        }
    }
    threads.iter().find(|s| s.waits_for.contains(&s.tid)).map(|s| vec![s.tid]).unwrap_or_default()
}

impl DeadlockReport {
    /// Builds the report from the kernel's state when nothing can run.
    pub(crate) fn build(k: &Kernel) -> DeadlockReport {
        let mut threads = Vec::new();
        for tid in k.live_threads() {
            let t = k.thread(tid);
            let image = k.process(t.pid).image.clone();
            let (mut waits, mut waits_for, api, args, since_step) = match t.run {
                Run::Blocked(op) => {
                    let o = &k.ops[op];
                    (
                        k.op_wait_edges(op),
                        k.op_releasers(op),
                        o.api.name().to_string(),
                        crate::trace::render_args(&k.named_args(t.pid, o.args.to_vec())),
                        o.since_step,
                    )
                }
                _ => (Vec::new(), Vec::new(), String::new(), String::new(), 0),
            };
            // A COM call waiting for its reply names the call and its callee (§21).
            let (com_edges, com_for) = k.com_wait_edges(tid);
            if !com_edges.is_empty() {
                waits.splice(0..0, com_edges);
                waits_for.extend(com_for);
            }
            if !t.apcs.is_empty() {
                waits.push(WaitEdge::QueuedApcs { from: t.apcs.iter().map(|a| a.from.clone()).collect() });
            }
            if t.suspend_count > 0 {
                waits.push(WaitEdge::Suspended { count: t.suspend_count });
                waits_for.extend(k.holder_threads(k.tids[&tid]));
            }
            waits_for.sort_unstable();
            waits_for.dedup();
            threads.push(StuckThread { pid: t.pid, image, tid, api, args, since_step, waits, waits_for });
        }
        let cycle = find_cycle(&threads);
        DeadlockReport {
            time_ms: k.now_ms(),
            threads,
            cycle,
            pending_io: k.pending_async_described(),
            listening: crate::objects::named_pipe::listening_described(k),
        }
    }

    /// Renders the report as text for people.
    pub fn render(&self) -> String {
        let mut s = format!("DEADLOCK at {}ms: no thread can run and no time-out is pending.\n", self.time_ms);
        for t in &self.threads {
            if t.api.is_empty() {
                let _ = writeln!(s, "- P{} ({}) T{} is not in a call", t.pid, t.image, t.tid);
            } else {
                let _ = writeln!(
                    s,
                    "- P{} ({}) T{} is blocked in {}({}) since step {}",
                    t.pid, t.image, t.tid, t.api, t.args, t.since_step
                );
            }
            for w in &t.waits {
                match w {
                    WaitEdge::Object { handle, object, state, last_signal } => {
                        let _ = writeln!(s, "    waits on {handle}: {object} [{state}]");
                        if let Some(sig) = last_signal {
                            let _ = writeln!(s, "      {sig}");
                        }
                    }
                    WaitEdge::PipeData { pipe, queued, writers, closed_writers } => {
                        let _ = writeln!(s, "    waits for data in {pipe} ({queued} bytes queued)");
                        if writers.is_empty() {
                            let _ = writeln!(s, "    no handle to the write end is open");
                        } else {
                            let _ = writeln!(
                                s,
                                "    end of file (ERROR_BROKEN_PIPE) needs every write handle closed; still open:"
                            );
                        }
                        for h in writers {
                            render_handle(&mut s, h, t.pid);
                        }
                        if !closed_writers.is_empty() {
                            let _ = writeln!(s, "    write handles already closed:");
                        }
                        for c in closed_writers {
                            let _ = writeln!(s, "      handle {} in P{}, {}", c.handle, c.pid, c.closed);
                            for o in &c.history {
                                let _ = writeln!(s, "        {o}");
                            }
                        }
                    }
                    WaitEdge::PipeSpace { pipe, unread, quota, readers } => {
                        let _ = writeln!(
                            s,
                            "    waits for room in {pipe}: {unread} bytes unread, quota {quota}; read end held by:"
                        );
                        for h in readers {
                            render_handle(&mut s, h, t.pid);
                        }
                    }
                    WaitEdge::Socket { socket, waits_for, peer, peer_handles } => {
                        let _ = writeln!(s, "    waits for {waits_for} on {socket}");
                        if let Some(peer) = peer {
                            if peer_handles.is_empty() {
                                let _ = writeln!(s, "      its peer {peer} has no handle open");
                            } else {
                                let _ = writeln!(s, "      its peer {peer} is kept open by:");
                                for h in peer_handles {
                                    render_handle(&mut s, h, t.pid);
                                }
                            }
                        }
                    }
                    WaitEdge::PipeDrain { pipe, unread } => {
                        let _ = writeln!(s, "    waits for the reader of {pipe} to read {unread} bytes");
                    }
                    WaitEdge::FileLock { file, holder } => {
                        let who = holder.map(|h| format!("T{h}")).unwrap_or_else(|| "another call".into());
                        let _ = writeln!(
                            s,
                            "    waits for {who}'s pending call on the same synchronous file object ({file})"
                        );
                    }
                    WaitEdge::PipeClient { pipe } => {
                        let _ =
                            writeln!(s, "    waits for a client to open {pipe} (CreateFile); no thread is opening it");
                    }
                    WaitEdge::PipeInstance { pipe, instances } => {
                        let _ = writeln!(s, "    waits for an instance of {pipe} to listen; its instances:");
                        for i in instances {
                            let _ = writeln!(s, "      {i}");
                        }
                    }
                    WaitEdge::QueueMessage { queue, available, locked, in_flight, senders } => {
                        let _ = writeln!(
                            s,
                            "    waits for a message in queue {queue} ({available} available, {locked} held by transactions, {in_flight} in flight in open transactions)"
                        );
                        if senders.is_empty() {
                            let _ = writeln!(
                                s,
                                "    no send handle is open: only a new MQOpenQueue with MQ_SEND_ACCESS could send"
                            );
                        } else {
                            let _ = writeln!(s, "    send handles open:");
                        }
                        for h in senders {
                            render_handle(&mut s, h, t.pid);
                        }
                    }
                    WaitEdge::MailslotMessage { mailslot, queued, writers } => {
                        let _ = writeln!(s, "    waits for a message in mailslot {mailslot} ({queued} queued)");
                        if writers.is_empty() {
                            let _ = writeln!(
                                s,
                                "    no writer handle is open: only a new CreateFile on the name could write"
                            );
                        } else {
                            let _ = writeln!(s, "    writer handles open:");
                        }
                        for h in writers {
                            render_handle(&mut s, h, t.pid);
                        }
                    }
                    WaitEdge::Port { port } => {
                        let _ = writeln!(s, "    waits for a completion packet on {port}");
                    }
                    WaitEdge::SleepForever => {
                        let _ = writeln!(s, "    sleeps forever");
                    }
                    WaitEdge::UserLock { lock, owners: _, state } => {
                        let _ = writeln!(s, "    waits for {lock}: {state}");
                    }
                    WaitEdge::AddressWait { address, state } => {
                        let _ = writeln!(
                            s,
                            "    waits on address 0x{address:x} (WaitOnAddress, {state}); no thread left to wake it"
                        );
                    }
                    WaitEdge::ConditionVariable { variable, lock } => {
                        let _ = writeln!(s, "    sleeps on {variable} (released {lock}); no thread left to wake it");
                    }
                    WaitEdge::QueuedApcs { from } => {
                        let _ = writeln!(
                            s,
                            "    has {} queued APC(s) ({}) that never run: it does not wait alertably",
                            from.len(),
                            from.join("; ")
                        );
                    }
                    WaitEdge::Message { what, window, receiver: _, receiver_state } => {
                        let _ = writeln!(s, "    {what}");
                        if let Some(w) = window {
                            let _ = writeln!(s, "      window {w}");
                        }
                        if let Some(r) = receiver_state {
                            let _ = writeln!(s, "      {r}");
                        }
                    }
                    WaitEdge::ComCall { call, apartment, state, receiver: _, receiver_state } => {
                        let _ = writeln!(s, "    waits in {call} for {apartment}: the call is {state}");
                        if let Some(r) = receiver_state {
                            let _ = writeln!(s, "      {r}");
                        }
                    }
                    WaitEdge::Suspended { count } => {
                        let _ = writeln!(s, "    is suspended (count {count}) and nothing will resume it");
                    }
                }
            }
        }
        if !self.pending_io.is_empty() {
            let _ = writeln!(s, "pending asynchronous I/O (no thread waits in it):");
            for p in &self.pending_io {
                let _ = writeln!(s, "  {p}");
            }
        }
        if !self.listening.is_empty() {
            let _ = writeln!(s, "named pipe instances listening for a client:");
            for l in &self.listening {
                let _ = writeln!(s, "  {l}");
            }
        }
        let label = |tid: Tid| {
            let t = self.threads.iter().find(|t| t.tid == tid).expect("cycle members are stuck threads");
            format!("P{}/T{} {}", t.pid, t.tid, if t.api.is_empty() { "(suspended)" } else { &t.api })
        };
        match self.cycle.as_slice() {
            [] => {}
            [one] => {
                let _ = writeln!(
                    s,
                    "wait-for cycle: {} waits on itself: only its own process holds what would release it",
                    label(*one)
                );
            }
            many => {
                let names: Vec<String> = many.iter().map(|&t| label(t)).collect();
                let _ = writeln!(s, "wait-for cycle: {} -> back to {}", names.join(" -> "), label(many[0]));
            }
        }
        s
    }
}

fn render_handle(s: &mut String, h: &HandleRef, waiter_pid: Pid) {
    let own = if h.pid == waiter_pid { " (the blocked thread's own process)" } else { "" };
    let _ = writeln!(s, "      handle {} in P{} ({}){own}", h.handle, h.pid, h.image);
    for o in &h.history {
        let _ = writeln!(s, "        {o}");
    }
}

/// Everything a run produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunReport {
    /// How it ended.
    pub outcome: Outcome,
    /// The configuration it ran with.
    pub config: Config,
    /// The seed, for a random strategy.
    pub seed: Option<u64>,
    /// Kernel steps executed.
    pub steps: u64,
    /// Virtual time at the end, in milliseconds.
    pub time_ms: u64,
    /// The scheduler decisions made; `replay_config()` reproduces the run. Empty when
    /// `Config::decision_record` is `DecisionRecord::Schedule` (then `schedule` has them).
    pub decisions: Vec<Decision>,
    /// The same decisions, one byte each (kind and index chosen, `Schedule`):
    /// `ReplaySchedule` replays them.
    #[serde(default, skip_serializing_if = "Schedule::is_empty")]
    pub schedule: Schedule,
    /// The trace (empty when `Config::trace` is off): the last events of the run when
    /// `trace_dropped` is not zero.
    pub trace: Vec<Event>,
    /// Events dropped from the start of the trace (`Config::trace_events_max`).
    pub trace_dropped: u64,
    /// Data races found, with `Config::race_detection` = `RaceDetection::Record` (the
    /// first 64; docs/semantics.md §25). With `Stop`, the first ends the run instead.
    #[serde(default)]
    pub races: Vec<RaceReport>,
    /// The files on the in-memory volume when the run ended, in path order (§28.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume: Vec<crate::objects::file::VolumeFile>,
}

impl RunReport {
    /// The trace as plain text.
    pub fn trace_text(&self) -> String {
        let text = crate::trace::render_text(&self.trace);
        if self.trace_dropped == 0 {
            return text;
        }
        format!("… {} earlier events dropped (trace_events_max)\n{text}", self.trace_dropped)
    }

    /// A summary of the outcome for people: the deadlock report, the panic, or the exit
    /// codes, with the seed to replay it.
    pub fn summary(&self) -> String {
        let mut s = match &self.outcome {
            Outcome::Completed { exit_codes } => {
                let codes: Vec<String> = exit_codes.iter().map(|(p, i, c)| format!("P{p} {i}: {c}")).collect();
                format!("COMPLETED after {} steps, {}ms: exit codes {}\n", self.steps, self.time_ms, codes.join(", "))
            }
            Outcome::Deadlock(d) => d.render(),
            Outcome::Failed { pid, tid, message, location: Some(at) } => {
                format!("FAILED: P{pid}/T{tid} panicked at {at}: {message}\n")
            }
            Outcome::Failed { pid, tid, message, location: None } => format!("FAILED: P{pid}/T{tid}: {message}\n"),
            Outcome::StepLimit { steps } => format!("STEP LIMIT: {steps} steps executed (steps_max)\n"),
            Outcome::LimitExceeded { limit, detail } => format!("LIMIT {limit:?}: {detail}\n"),
            Outcome::Unsupported { api, detail } => format!("UNSUPPORTED: {api}: {detail}\n"),
            Outcome::AccessViolation { pid, tid, address, write, call } => format!(
                "ACCESS VIOLATION (exception 0xC0000005): P{pid}/T{tid} {} address 0x{address:x} in {call}\n",
                if *write { "wrote" } else { "read" }
            ),
            Outcome::ReplayDiverged { step, detail } => format!("REPLAY DIVERGED at step {step}: {detail}\n"),
            Outcome::SimulatorBug { step, message } => {
                format!("SIMULATOR BUG at step {step} (a bug in winsim, not in the program): {message}\n")
            }
            Outcome::DataRace(r) => r.render(),
            Outcome::Livelock(l) => l.render(),
        };
        // Races the detector recorded without ending the run (`RaceDetection::Record`).
        if !self.races.is_empty() {
            let _ = writeln!(s, "{} data race(s) recorded:", self.races.len());
            for r in &self.races {
                let _ = writeln!(s, "  {}", r.one_line());
            }
        }
        if let Some(seed) = self.seed {
            let _ = writeln!(s, "seed {seed}");
        }
        if !self.outcome.is_completed() {
            let n = self.schedule.len().max(self.decisions.len());
            let plural = if n == 1 { "" } else { "s" };
            let _ = writeln!(s, "reproduce: {}", self.reproduce_hint());
            let _ = writeln!(
                s,
                "replay exactly: Config given by report.replay_config() ({n} recorded decision{plural}, same settings)"
            );
        }
        s
    }
}

impl RunReport {
    /// The configuration that replays this run exactly: its recorded decisions with every
    /// other setting it ran with (waiter order, limits, trace).
    /// A run that recorded only its schedule (`DecisionRecord::Schedule`) replays it.
    pub fn replay_config(&self) -> Config {
        if self.decisions.is_empty() && !self.schedule.is_empty() {
            return self.config.with_schedule(self.schedule.clone());
        }
        self.config.with_replay(self.decisions.clone())
    }

    /// How to run this again, in Rust and on the command line (`winsim run SCENARIO` plus
    /// these flags).
    pub fn reproduce_hint(&self) -> String {
        let c = &self.config;
        let (rust, mut flags) = match &c.strategy {
            StrategyConfig::Random { seed } => (format!("Config::random({seed})"), format!("--seed {seed}")),
            StrategyConfig::RoundRobin => ("Config::round_robin()".to_string(), "--round-robin".to_string()),
            StrategyConfig::Pct { seed, depth, steps } => (
                format!("Config::pct({seed}, {depth}, {steps})"),
                format!("--seed {seed} --pct {depth} --pct-steps {steps}"),
            ),
            StrategyConfig::Replay { .. } | StrategyConfig::ReplaySchedule { .. } => {
                ("report.replay_config()".to_string(), "--replay FILE".to_string())
            }
        };
        let mut changes = Vec::new();
        if c.waiter_order == WaiterOrder::Fifo {
            changes.push("waiter_order: WaiterOrder::Fifo".to_string());
            flags.push_str(" --fifo");
        }
        let d = Config::default();
        if c.steps_max != d.steps_max {
            changes.push(format!("steps_max: {}", c.steps_max));
        }
        if c.sockets_max != d.sockets_max {
            changes.push(format!("sockets_max: {}", c.sockets_max));
        }
        if c.connect_refusal_ms != d.connect_refusal_ms {
            changes.push(format!("connect_refusal_ms: {}", c.connect_refusal_ms));
        }
        if c.connect_timeout_ms != d.connect_timeout_ms {
            changes.push(format!("connect_timeout_ms: {}", c.connect_timeout_ms));
        }
        if c.stream_splits != d.stream_splits {
            changes.push(format!("stream_splits: {}", c.stream_splits));
        }
        if c.section_bytes_max != d.section_bytes_max {
            changes.push(format!("section_bytes_max: {}", c.section_bytes_max));
        }
        if c.memory_atomic_bytes != d.memory_atomic_bytes {
            changes.push(format!("memory_atomic_bytes: {}", c.memory_atomic_bytes));
        }
        if c.private_bytes_max != d.private_bytes_max {
            changes.push(format!("private_bytes_max: {}", c.private_bytes_max));
        }
        if c.spurious_wakeups != d.spurious_wakeups {
            changes.push(format!("spurious_wakeups: {}", c.spurious_wakeups));
        }
        if c.race_detection != d.race_detection {
            changes.push(format!("race_detection: RaceDetection::{:?}", c.race_detection));
            flags.push_str(&format!(" --races {}", format!("{:?}", c.race_detection).to_lowercase()));
        }
        if c.limit_action != d.limit_action {
            changes.push(format!("limit_action: LimitAction::{:?}", c.limit_action));
        }
        let rust = if changes.is_empty() { rust } else { format!("Config {{ {}, ..{rust} }}", changes.join(", ")) };
        format!("{rust} (CLI: {flags})")
    }
}
