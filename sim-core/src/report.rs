//! How a run ended, and the deadlock report: a wait-for graph in Win32 terms.

use crate::handles::Origin;
use crate::kernel::sched::Decision;
use crate::kernel::{BlockOn, Kernel, Pid, Tid};
use crate::objects::pipe::handles_to;
use crate::objects::thread::Run;
use crate::objects::{Body, ClosedHandle, ObjectId};
use crate::trace::Event;
use crate::types::HANDLE;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Which limit a run hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Every thread of every process ended.
    Completed {
        /// Each process's exit code, in creation order: (pid, image, code).
        exit_codes: Vec<(Pid, String, u32)>,
    },
    /// Live threads remain, none can run, and no time-out is pending.
    Deadlock(DeadlockReport),
    /// A thread body panicked (an assertion in user code, or a bug in it).
    Failed {
        /// The thread's process.
        pid: Pid,
        /// The thread.
        tid: Tid,
        /// The panic message.
        message: String,
    },
    /// The run reached `Config::steps_max` kernel steps.
    StepLimit {
        /// Steps executed.
        steps: u64,
    },
    /// A resource limit of the configuration was reached.
    LimitExceeded {
        /// Which limit.
        limit: LimitKind,
        /// What reached it.
        detail: String,
    },
    /// A call used something winsim does not model; the run stops rather than guess.
    Unsupported {
        /// The Win32 function.
        api: String,
        /// What is not modelled.
        detail: String,
    },
    /// The kernel itself panicked: a bug in winsim, not in the simulated program. The
    /// run's seed reproduces it; please report it.
    SimulatorBug {
        /// Step at which it happened.
        step: u64,
        /// The panic message.
        message: String,
    },
    /// A replayed decision list did not fit the run (the program changed, or the list is
    /// from another program).
    ReplayDiverged {
        /// Step at which the replay failed.
        step: u64,
        /// What did not match.
        detail: String,
    },
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
pub enum WaitEdge {
    /// A dispatcher object (event, mutex, semaphore, process, thread, file).
    Object {
        /// The handle waited on.
        handle: HANDLE,
        /// The object, described.
        object: String,
        /// Its state, described (owner of a mutex, count of a semaphore, what a thread
        /// or process is doing).
        state: String,
    },
    /// ReadFile waiting for data or end of file.
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
    PipeDrain {
        /// The pipe, described.
        pipe: String,
        /// Bytes unread.
        unread: u64,
    },
    /// Waiting for another call to finish on the same synchronous file object.
    FileLock {
        /// The file object, described.
        file: String,
        /// The thread whose call holds the lock.
        holder: Option<Tid>,
    },
    /// Sleep(INFINITE).
    SleepForever,
    /// The thread is suspended and nothing will resume it.
    Suspended {
        /// Its suspend count.
        count: u32,
    },
}

/// A thread that can never run again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct DeadlockReport {
    /// Virtual time at which the run stopped.
    pub time_ms: u64,
    /// The stuck threads, in thread-id order.
    pub threads: Vec<StuckThread>,
    /// A cycle of the wait-for graph, as thread ids (`[a, b]` means a waits for b and b
    /// for a; `[a]` means a waits for something only its own process could provide).
    /// Empty when no cycle exists (a thread waiting on something nobody holds).
    pub cycle: Vec<Tid>,
}

/// Live threads of the processes that hold a handle to `id`.
fn holder_threads(k: &Kernel, id: ObjectId) -> Vec<Tid> {
    let mut out: Vec<Tid> =
        handles_to(k, id).into_iter().flat_map(|(pid, _, _)| k.process(pid).threads.clone()).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The threads whose action could satisfy a wait on `id` by `waiter`.
fn releasers(k: &Kernel, id: ObjectId) -> Vec<Tid> {
    match &k.objects[id].body {
        Body::Thread(t) if t.exit_code.is_none() => vec![t.tid],
        Body::Process(p) => p.threads.clone(),
        Body::Mutex(m) => m.owner.into_iter().collect(),
        Body::File(f) => f.lock.into_iter().collect(),
        Body::Event(_) | Body::Semaphore(_) => holder_threads(k, id),
        _ => Vec::new(),
    }
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

fn handle_refs(k: &Kernel, id: ObjectId) -> Vec<HandleRef> {
    handles_to(k, id)
        .into_iter()
        .map(|(pid, image, handle)| {
            let history = k.process(pid).handles.get(handle).map(|e| e.history.clone()).unwrap_or_default();
            HandleRef { pid, image, handle, history }
        })
        .collect()
}

fn object_state(k: &Kernel, id: ObjectId) -> String {
    match &k.objects[id].body {
        Body::Event(e) => format!(
            "{}, {}",
            if e.manual_reset { "manual-reset" } else { "auto-reset" },
            if e.signalled { "signalled" } else { "not signalled" }
        ),
        Body::Mutex(m) => match m.owner {
            Some(t) => format!("owned by T{t} (count {})", m.count),
            None => "free".into(),
        },
        Body::Semaphore(s) => format!("count {} of {}", s.count, s.maximum),
        Body::Thread(t) => match &t.run {
            Run::Exited => "exited".into(),
            Run::Blocked(b) => format!("blocked in {}", b.api),
            _ => "running".into(),
        },
        Body::Process(p) => match p.exit_code {
            Some(c) => format!("exited with {c}"),
            None => {
                let threads: Vec<String> = p
                    .threads
                    .iter()
                    .map(|&t| match &k.thread(t).run {
                        Run::Blocked(b) => format!("T{t} blocked in {}", b.api),
                        _ => format!("T{t} running"),
                    })
                    .collect();
                format!("running: {}", threads.join(", "))
            }
        },
        Body::File(f) => {
            if f.signalled {
                "signalled (no I/O in progress)".into()
            } else {
                "I/O in progress".into()
            }
        }
        Body::Pipe(_) => String::new(),
    }
}

impl DeadlockReport {
    /// Builds the report from the kernel's state when nothing can run.
    pub(crate) fn build(k: &Kernel) -> DeadlockReport {
        let mut threads = Vec::new();
        for tid in k.live_threads() {
            let t = k.thread(tid);
            let image = k.process(t.pid).image.clone();
            let mut waits = Vec::new();
            let (api, args, since_step) = match &t.run {
                Run::Blocked(b) => {
                    match &b.on {
                        BlockOn::Wait { objects, handles, .. } => {
                            for (&o, &h) in objects.iter().zip(handles) {
                                waits.push(WaitEdge::Object {
                                    handle: h,
                                    object: k.describe(o),
                                    state: object_state(k, o),
                                });
                            }
                        }
                        BlockOn::Sleep => waits.push(WaitEdge::SleepForever),
                        BlockOn::PipeRead { file } => {
                            let Body::File(f) = &k.objects[*file].body else { unreachable!() };
                            let Body::Pipe(p) = &k.objects[f.pipe].body else { unreachable!() };
                            let writer = p.ends[1 - f.end].file;
                            waits.push(WaitEdge::PipeData {
                                pipe: format!("pipe#{}", k.objects[f.pipe].hdr.serial),
                                queued: p.ends[f.end].inbound.unread,
                                writers: writer.map(|w| handle_refs(k, w)).unwrap_or_default(),
                                closed_writers: writer.map(|w| k.objects[w].hdr.closed.clone()).unwrap_or_default(),
                            });
                        }
                        BlockOn::PipeWrite { file } => {
                            let Body::File(f) = &k.objects[*file].body else { unreachable!() };
                            let Body::Pipe(p) = &k.objects[f.pipe].body else { unreachable!() };
                            let q = &p.ends[1 - f.end].inbound;
                            let reader = p.ends[1 - f.end].file;
                            waits.push(WaitEdge::PipeSpace {
                                pipe: format!("pipe#{}", k.objects[f.pipe].hdr.serial),
                                unread: q.unread,
                                quota: q.quota,
                                readers: reader.map(|r| handle_refs(k, r)).unwrap_or_default(),
                            });
                        }
                        BlockOn::PipeFlush { file } => {
                            let Body::File(f) = &k.objects[*file].body else { unreachable!() };
                            let Body::Pipe(p) = &k.objects[f.pipe].body else { unreachable!() };
                            waits.push(WaitEdge::PipeDrain {
                                pipe: format!("pipe#{}", k.objects[f.pipe].hdr.serial),
                                unread: p.ends[1 - f.end].inbound.unread,
                            });
                        }
                        BlockOn::FileLock { file, .. } => {
                            let Body::File(f) = &k.objects[*file].body else { unreachable!() };
                            waits.push(WaitEdge::FileLock { file: k.describe(*file), holder: f.lock });
                        }
                    }
                    (b.api.to_string(), b.args.clone(), b.since_step)
                }
                _ => (String::new(), String::new(), 0),
            };
            if t.suspend_count > 0 {
                waits.push(WaitEdge::Suspended { count: t.suspend_count });
            }
            let mut waits_for: Vec<Tid> = match &t.run {
                Run::Blocked(b) => match &b.on {
                    BlockOn::Wait { objects, .. } => objects.iter().flat_map(|&o| releasers(k, o)).collect(),
                    BlockOn::PipeRead { file } | BlockOn::PipeWrite { file } | BlockOn::PipeFlush { file } => {
                        let Body::File(f) = &k.objects[*file].body else { unreachable!() };
                        let Body::Pipe(p) = &k.objects[f.pipe].body else { unreachable!() };
                        p.ends[1 - f.end].file.map(|peer| holder_threads(k, peer)).unwrap_or_default()
                    }
                    BlockOn::FileLock { file, .. } => releasers(k, *file),
                    BlockOn::Sleep => Vec::new(),
                },
                _ => Vec::new(),
            };
            if t.suspend_count > 0 {
                waits_for.extend(holder_threads(k, k.tids[&tid]));
            }
            waits_for.sort_unstable();
            waits_for.dedup();
            threads.push(StuckThread { pid: t.pid, image, tid, api, args, since_step, waits, waits_for });
        }
        let cycle = find_cycle(&threads);
        DeadlockReport { time_ms: k.now_ms, threads, cycle }
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
                    WaitEdge::Object { handle, object, state } => {
                        let _ = writeln!(s, "    waits on {handle}: {object} [{state}]");
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
                    WaitEdge::SleepForever => {
                        let _ = writeln!(s, "    sleeps forever");
                    }
                    WaitEdge::Suspended { count } => {
                        let _ = writeln!(s, "    is suspended (count {count}) and nothing will resume it");
                    }
                }
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
pub struct RunReport {
    /// How it ended.
    pub outcome: Outcome,
    /// The seed, for a random strategy.
    pub seed: Option<u64>,
    /// Kernel steps executed.
    pub steps: u64,
    /// Virtual time at the end, in milliseconds.
    pub time_ms: u64,
    /// The scheduler decisions made; `Config::replay(decisions)` reproduces the run.
    pub decisions: Vec<Decision>,
    /// The trace (empty when `Config::trace` is off): the last events of the run when
    /// `trace_dropped` is not zero.
    pub trace: Vec<Event>,
    /// Events dropped from the start of the trace (`Config::trace_events_max`).
    pub trace_dropped: u64,
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
            Outcome::Failed { pid, tid, message } => format!("FAILED: P{pid}/T{tid} panicked: {message}\n"),
            Outcome::StepLimit { steps } => format!("STEP LIMIT: {steps} steps executed (steps_max)\n"),
            Outcome::LimitExceeded { limit, detail } => format!("LIMIT {limit:?}: {detail}\n"),
            Outcome::Unsupported { api, detail } => format!("UNSUPPORTED: {api}: {detail}\n"),
            Outcome::ReplayDiverged { step, detail } => format!("REPLAY DIVERGED at step {step}: {detail}\n"),
            Outcome::SimulatorBug { step, message } => {
                format!("SIMULATOR BUG at step {step} (a bug in winsim, not in the program): {message}\n")
            }
        };
        if let Some(seed) = self.seed {
            let _ = writeln!(s, "seed {seed}");
        }
        if !self.outcome.is_completed() {
            let how = match self.seed {
                Some(seed) => format!("Config::random({seed}), or "),
                None => String::new(),
            };
            let n = self.decisions.len();
            let plural = if n == 1 { "" } else { "s" };
            let _ = writeln!(s, "reproduce: {how}Config::replay(report.decisions) ({n} decision{plural})");
        }
        s
    }
}
