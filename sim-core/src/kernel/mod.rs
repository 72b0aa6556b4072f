//! The kernel: the one place that loops. Objects are data it acts on.
//!
//! Every Win32 call is one atomic transition (`Kernel::execute`, in `calls.rs`). Before
//! each call the thread parks with its [`Request`](request::Request); the scheduler picks one parked thread;
//! the kernel executes its request, which either completes at once or becomes a pending
//! operation (`ops.rs`, an IRP or a wait block in NT terms). A pending operation is
//! completed by the event that satisfies it, at that moment, through one path
//! (`Kernel::complete_op`): its target (today the blocked thread) gets its result already
//! decided.
//!
//! Files: `calls.rs` (parking, executing, the trace of a call), `ops.rs` (pending
//! operations), `time.rs` (the virtual clock and the timer queue), `lifecycle.rs`
//! (objects, names, handles), `wait.rs` (dispatcher waits), `handle_ops.rs` (the handle
//! APIs), `sched.rs` (strategies), `footprint.rs` (what steps read and write), `config.rs`,
//! `invariants.rs`, `request.rs` (the API table). Object families plug in through the
//! hooks in `objects/mod.rs`.

pub mod apc;
mod arena;
mod calls;
pub mod config;
pub mod footprint;
mod handle_ops;
pub(crate) mod idmap;
mod invariants;
pub mod io;
pub(crate) mod lazy;
mod lifecycle;
mod livelock;
pub mod ops;
mod pollq;
pub mod race;
pub mod request;
pub mod sched;
mod state_hash;
pub(crate) mod tidset;
pub mod time;
mod wait;

use crate::error::*;
use crate::objects::process::Process;
use crate::objects::thread::{Run, Thread};
use crate::objects::{Body, ObjectId};
use crate::report::{LimitKind, Outcome};
use crate::trace::Event;
use config::{Config, DecisionRecord, LimitAction, WaiterOrder};
use ops::OpId;
pub use request::{CallResult, Done, Reply, Status, Value};
use request::{Program, ThreadStart};
use sched::{ChoiceKind, ChoicePoint, Decision, NextCall, Schedule, StateHash, Strategy};
use std::collections::{BTreeMap, BTreeSet};
pub use time::TimerKey;

/// A thread id (`GetCurrentThreadId`). Process and thread ids share one pool of multiples
/// of 4, as on Windows.
pub type Tid = u32;
/// A process id (`GetCurrentProcessId`).
pub type Pid = u32;

/// How a transition ended for the calling thread.
pub(crate) enum Exec {
    /// The call completed at once.
    Done(Reply),
    /// The call became this pending operation; its thread blocks.
    Block(OpId),
    /// The caller no longer exists (ExitThread, ExitProcess, TerminateProcess of itself).
    Gone,
    /// The call completed at once and its reply is already with its thread, as
    /// `plain_call_done` leaves it: only where the caller asked for that (a ReadFile or
    /// WriteFile with the trace off, no I/O lock granted or held: `read_file_at`'s and
    /// `write_file_at`'s `deliver`). A reply written where it ends up is not copied on its
    /// way (issue 13: each copy of a reply that had just been written field by field
    /// waited for those writes, a stall the instruction counts do not show).
    Delivered,
}

impl From<CallResult> for Exec {
    fn from(r: CallResult) -> Exec {
        Exec::Done(r.into())
    }
}

impl From<Reply> for Exec {
    fn from(r: Reply) -> Exec {
        Exec::Done(r)
    }
}

/// The emptied buffers of the last kernel dropped on this OS thread, taken by the next
/// kernel built on it: a sweep builds a kernel for each run, and these would otherwise be
/// allocated again at every run's first process and threads. Only small buffers are
/// kept (a capacity is never observable: an emptied buffer behaves as a new one).
#[derive(Default)]
struct Spare {
    tids: idmap::IdMap<ObjectId>,
    pids: idmap::IdMap<ObjectId>,
    to_poll: pollq::PollQueue,
    dead: Vec<Tid>,
    exited: Vec<(Pid, String, u32)>,
    parked: tidset::TidSet,
    scratch_tids: Vec<Tid>,
    starts: idmap::IdMap<Start>,
    ending: Vec<Pid>,
    /// The race detector's buffers (`race::Detector::buffers`).
    race: race::Buffers,
    /// The last kernel's object arena, its objects dropped and its slots vacant again as
    /// a new arena's (`ObjectArena::reset`): the same keys from the next run, without the
    /// arena's allocation, its vacant slots' writing, and its drop and free (a few
    /// kilobytes, past the allocator's per-thread cache), issue 13.
    objects: Option<arena::ObjectArena>,
    /// The last kernel's held random strategy's box, for the next one's (one allocation
    /// and free less a run, issue 13).
    random: Option<Box<sched::RandomStrategy>>,
    /// The last kernel's spare byte buffers (`Kernel::spare_bytes`: at most 16, of at most
    /// 4 KB each, emptied), for the next one's WriteFiles: a pipe run of small writes made
    /// them again at each run (eight allocations and frees a run, issue 13).
    bytes: Vec<Vec<u8>>,
    /// An ended process's emptied handle slots, for the next process's table (kept
    /// while the run lasts too: `Kernel::spare_handle_slots`).
    handle_slots: Vec<Option<crate::handles::HandleEntry>>,
    /// An ended process's emptied thread set (its root node still allocated), for the
    /// next process (`Kernel::spare_thread_set`).
    thread_set: BTreeSet<Tid>,
    /// Completed waits' object and handle lists, emptied, for the next wait that blocks
    /// (kept while the run lasts: `Kernel::spare_wait_lists`).
    wait_lists: Vec<(Vec<ObjectId>, Vec<crate::types::HANDLE>)>,
    /// How many events the last traced run on this OS thread recorded: the next traced
    /// run reserves that many at once (`Kernel::take_trace`), instead of growing its
    /// trace by doubling and copying every event it has so far at each doubling.
    trace_len: usize,
    /// How many decisions the last run on this OS thread recorded in full, and how many
    /// bytes its schedule took: the next run reserves as many (`Kernel::take_decisions`,
    /// `Kernel::take_schedule`), instead of growing both by doubling and copying.
    decisions_len: usize,
    schedule_len: usize,
}

/// The options lists of recent thread choices made from the runnable set's word
/// (`Kernel::record_decision_in`), each with that word (0 in an unused entry: a choice is
/// never among no threads), replaced in turn. (The entry used last is also kept in the
/// kernel, `Kernel::last_options`: `choose_thread_in` checks it first, inline.)
#[derive(Default)]
struct OptionLists {
    entries: [(u64, sched::DecisionOptions); 4],
    next: usize,
}

/// The most events a traced run reserves from the last one's length (about 12 MB).
const TRACE_RESERVE_MAX: usize = 1 << 16;

/// The most decisions (24 bytes each) and schedule bytes a run reserves from the last
/// one's counts.
const DECISIONS_RESERVE_MAX: usize = 1 << 16;

/// A list taken for a run's report, its length kept in `*kept` for the next run on this
/// OS thread to reserve; trimmed when the reservation was far too large (a short run
/// after a long one), so that a report keeps about what it holds.
fn taken_for_report<T>(mut list: Vec<T>, kept: Option<&mut usize>) -> Vec<T> {
    if let Some(kept) = kept {
        *kept = list.len();
    }
    if list.capacity() > 2 * list.len() + 64 {
        list.shrink_to_fit();
    }
    list
}

thread_local! {
    static SPARE: std::cell::Cell<Option<Box<Spare>>> = const { std::cell::Cell::new(None) };
}

/// The most a kept buffer holds, in elements.
const SPARE_MAX: usize = 64;

/// The most slots an arena kept for the next kernel has (about 38 KB).
const SPARE_ARENA_SLOTS: usize = 72;

impl Spare {
    /// The buffers kept on this OS thread, or new ones. (Boxed: the buffers move in and
    /// out field by field and the box goes back and forth, instead of the whole set being
    /// copied into and out of the thread-local at each kernel.)
    fn take() -> Box<Spare> {
        SPARE.try_with(|s| s.take()).ok().flatten().unwrap_or_default()
    }

    /// Keeps a dropped kernel's buffers, emptied, for the next kernel on this OS thread.
    fn keep(k: &mut Kernel) {
        let Some(mut s) = k.spare.take() else { return };
        let small = k.tids.capacity() <= SPARE_MAX
            && k.pids.capacity() <= SPARE_MAX
            && k.to_poll.capacity() <= SPARE_MAX
            && k.dead.capacity() <= SPARE_MAX
            && k.exited.capacity() <= SPARE_MAX
            && k.parked.capacity() <= SPARE_MAX
            && k.scratch_tids.capacity() <= SPARE_MAX
            && k.starts.capacity() <= SPARE_MAX
            && k.com.ending.capacity() <= SPARE_MAX;
        if small {
            std::mem::swap(&mut s.tids, &mut k.tids);
            std::mem::swap(&mut s.pids, &mut k.pids);
            std::mem::swap(&mut s.to_poll, &mut k.to_poll);
            std::mem::swap(&mut s.dead, &mut k.dead);
            std::mem::swap(&mut s.exited, &mut k.exited);
            std::mem::swap(&mut s.parked, &mut k.parked);
            std::mem::swap(&mut s.scratch_tids, &mut k.scratch_tids);
            std::mem::swap(&mut s.starts, &mut k.starts);
            s.ending = k.com.ending.take_buffer();
            if k.objects.slots_len() <= SPARE_ARENA_SLOTS {
                let mut objects = std::mem::replace(&mut k.objects, arena::ObjectArena::empty());
                objects.reset();
                s.objects = Some(objects);
            }
            s.race = k.race.take_buffers();
            s.tids.clear();
            s.pids.clear();
            s.to_poll.clear();
            s.dead.clear();
            s.exited.clear();
            s.parked.clear();
            s.scratch_tids.clear();
            s.starts.clear();
        }
        s.random = k.random.take();
        s.bytes = std::mem::take(&mut k.spare_bytes);
        // The box goes back even empty (its buffers were large): the next kernel fills
        // its own, and the box is not allocated again.
        let _ = SPARE.try_with(|c| c.set(Some(s)));
    }
}

impl Kernel {
    /// The run's trace, taken for its report; its length is kept for the next traced run
    /// on this OS thread to reserve.
    pub(crate) fn take_trace(&mut self) -> Vec<crate::trace::Event> {
        if self.config.trace
            && let Some(s) = self.spare.as_mut()
        {
            s.trace_len = self.trace.len();
        }
        std::mem::take(&mut self.trace)
    }

    /// The run's full decision list, taken for its report (`taken_for_report`).
    pub(crate) fn take_decisions(&mut self) -> Vec<Decision> {
        let kept = self.spare.as_mut().map(|s| &mut s.decisions_len);
        taken_for_report(std::mem::take(&mut self.decisions), kept)
    }

    /// The run's schedule, taken for its report (`taken_for_report`).
    pub(crate) fn take_schedule(&mut self) -> Schedule {
        let kept = self.spare.as_mut().map(|s| &mut s.schedule_len);
        std::mem::take(&mut self.schedule).map_bytes(|b| taken_for_report(b, kept))
    }

    /// An empty handle slot vector for a new process's table: an ended process's, or new.
    pub(crate) fn spare_handle_slots(&mut self) -> Vec<Option<crate::handles::HandleEntry>> {
        self.spare.as_mut().map(|s| std::mem::take(&mut s.handle_slots)).unwrap_or_default()
    }

    /// Keeps an ended process's emptied handle slots for the next process (a small one,
    /// when none is kept).
    pub(crate) fn keep_handle_slots(&mut self, slots: Vec<Option<crate::handles::HandleEntry>>) {
        debug_assert!(slots.is_empty());
        if let Some(s) = self.spare.as_mut()
            && s.handle_slots.capacity() == 0
            && slots.capacity() <= SPARE_MAX
        {
            s.handle_slots = slots;
        }
    }

    /// An empty thread set for a new process: an ended process's, or new.
    pub(crate) fn spare_thread_set(&mut self) -> BTreeSet<Tid> {
        self.spare.as_mut().map(|s| std::mem::take(&mut s.thread_set)).unwrap_or_default()
    }

    /// Two empty lists for a wait that blocks: a completed wait's, or new.
    pub(crate) fn spare_wait_lists(&mut self) -> (Vec<ObjectId>, Vec<crate::types::HANDLE>) {
        self.spare.as_mut().and_then(|s| s.wait_lists.pop()).unwrap_or_default()
    }

    /// Keeps a completed wait's lists, emptied, for the next wait that blocks (a few small
    /// ones at most).
    pub(crate) fn keep_wait_lists(&mut self, mut objects: Vec<ObjectId>, mut handles: Vec<crate::types::HANDLE>) {
        if let Some(s) = self.spare.as_mut()
            && s.wait_lists.len() < 4
            && objects.capacity() <= 8
            && handles.capacity() <= 8
        {
            objects.clear();
            handles.clear();
            s.wait_lists.push((objects, handles));
        }
    }

    /// Keeps an ended process's emptied thread set for the next process.
    pub(crate) fn keep_thread_set(&mut self, set: BTreeSet<Tid>) {
        debug_assert!(set.is_empty());
        if let Some(s) = self.spare.as_mut() {
            s.thread_set = set;
        }
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        Spare::keep(self);
    }
}

/// Why the run must end, once that is decided (boxed: an `Outcome` is large and set at
/// most once, and the kernel stays small).
#[derive(Default)]
pub(crate) struct Stop(Option<Box<Outcome>>);

impl Stop {
    /// The run ends with `outcome`.
    pub(crate) fn of(outcome: Outcome) -> Stop {
        Stop(Some(Box::new(outcome)))
    }

    /// The outcome, taken (none is left).
    pub(crate) fn take(&mut self) -> Option<Outcome> {
        self.0.take().map(|o| *o)
    }

    /// No outcome is decided.
    pub(crate) fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

/// A name without its ".exe" suffix (of any case).
fn strip_exe(name: &str) -> &str {
    match name.len().checked_sub(".exe".len()) {
        // The suffix is ASCII, so a match ends the name on a character boundary.
        Some(n) if name.as_bytes()[n..].eq_ignore_ascii_case(b".exe") => &name[..n],
        _ => name,
    }
}

/// A registered program: the name it was registered under, and its main body.
#[derive(Clone)]
pub(crate) struct ProgramEntry {
    /// The name as registered (the process's image name).
    pub(crate) name: String,
    /// The length of its key: the name without ".exe", compared lower-cased.
    key_len: usize,
    pub(crate) program: Program,
}

impl ProgramEntry {
    /// Orders this program's key (its name lower-cased, without ".exe") against `key`'s
    /// bytes lower-cased, as the map of lower-cased names it replaces ordered them.
    fn cmp_key(&self, key: &str) -> std::cmp::Ordering {
        let own = self.name.as_bytes()[..self.key_len].iter().map(u8::to_ascii_lowercase);
        own.cmp(key.bytes().map(|b| b.to_ascii_lowercase()))
    }
}

/// The registered programs, sorted by key (lower-case name without ".exe"): one string
/// a program, where a map kept a lower-cased copy of each name beside the name.
#[derive(Clone, Default)]
pub(crate) struct Programs(Vec<ProgramEntry>);

impl Programs {
    /// The program registered under `key` (without ".exe"), compared case-insensitively.
    fn find(&self, key: &str) -> Option<&ProgramEntry> {
        self.0.binary_search_by(|e| e.cmp_key(key)).ok().map(|i| &self.0[i])
    }

    /// Registers `program` as `name`; a program of the same key is replaced.
    fn insert(&mut self, name: &str, program: Program) {
        let key_len = strip_exe(name).len();
        let entry = ProgramEntry { name: name.to_string(), key_len, program };
        match self.0.binary_search_by(|e| e.cmp_key(&name[..key_len])) {
            Ok(i) => self.0[i] = entry,
            Err(i) => self.0.insert(i, entry),
        }
    }
}

/// How a thread's body starts: a CreateThread closure or a registered program's main.
pub(crate) enum Start {
    Thread(ThreadStart),
    Program(Program),
}

impl Start {
    pub(crate) fn call(self, ctx: crate::api::ThreadCtx) -> request::BodyFuture {
        match self {
            Start::Thread(f) => f(ctx),
            Start::Program(p) => p(ctx),
        }
    }
}

/// The simulated machine. Its state is private to the crate: users drive it through
/// [`crate::Sim`] and [`crate::ThreadCtx`], and read it through the accessors below.
pub struct Kernel {
    pub(crate) objects: arena::ObjectArena,
    /// Pending operations. Invariant: each is in exactly one queue (an object's wait list,
    /// a pipe's read, write or flush queue, a file lock's waiters, or the timer queue for
    /// a Sleep), and a blocked thread has exactly one synchronous operation.
    pub(crate) ops: arena::OpArena,
    op_serial: u64,
    /// Thread objects by id. Invariant: an entry exists exactly while its object does.
    pub(crate) tids: idmap::IdMap<ObjectId>,
    /// Process objects by id. Invariant: an entry exists exactly while its object does.
    pub(crate) pids: idmap::IdMap<ObjectId>,
    /// The named-object namespace (events, mutexes, semaphores, waitable timers).
    pub(crate) names: lazy::Lazy<BTreeMap<String, ObjectId>>,
    /// The pipe namespace (`\\.\pipe\`), case-insensitive: lower-cased name → its
    /// `NamedPipe`. Invariant: bound exactly while the name has an instance.
    pub(crate) pipe_names: lazy::Lazy<BTreeMap<String, ObjectId>>,
    /// The mailslot namespace (`\\.\mailslot\`), case-insensitive: lower-cased name →
    /// its `Mailslot`. Invariant: bound exactly while the mailslot has a server handle.
    pub(crate) mailslot_names: lazy::Lazy<BTreeMap<String, ObjectId>>,
    /// Registered programs by lower-case name without ".exe".
    pub(crate) programs: Programs,
    /// Held in the kernel, not boxed (issue 13): the kernel is past the allocator's
    /// per-thread cache's sizes either way, and a box was one more allocation and free a
    /// run, and one more load at each read of a setting.
    pub(crate) config: Config,
    pub(crate) strategy: Box<dyn Strategy>,
    /// Descriptions of objects that cannot change, made for the trace and kept for the
    /// next event that names the object (`Kernel::describe_handle_shared`; made at the
    /// first: an untraced run never allocates it).
    pub(crate) descriptions: Option<Box<slotmap::SecondaryMap<ObjectId, std::sync::Arc<str>>>>,
    /// The configured random strategy, held here rather than in `strategy` (then a
    /// placeholder) when the kernel was made from its configuration (`Kernel::new`): the
    /// usual choice calls it directly.
    random: Option<Box<sched::RandomStrategy>>,
    /// The options lists of the last few thread choices made from the runnable set's
    /// word, by that word (`record_decision_in`; made at the first such decision).
    option_lists: Option<Box<OptionLists>>,
    /// The word and options list of the last decision `record_decision_in` recorded
    /// (word 0: none yet), beside `option_lists`' entries: `choose_thread_in`'s usual
    /// record shares it with two loads and a comparison (issue 13).
    last_options: (u64, Option<sched::DecisionOptions>),
    /// Whether decisions are recorded in full (`DecisionRecord::Full`; fixed for the run).
    full_record: bool,
    /// The decisions made, expanded (only with `DecisionRecord::Full`). A plain vector
    /// (it was a `Lazy`, boxed: one more allocation and free a run, and a load at each
    /// decision recorded, issue 13).
    pub(crate) decisions: Vec<Decision>,
    /// The decisions made, one byte each (`sched::Schedule`).
    pub(crate) schedule: Schedule,
    /// The thread that made the last step (a strategy's "current thread").
    pub(crate) last_stepped: Option<Tid>,
    /// Footprints of the steps between thread choices, when the strategy wants them.
    pub(crate) footprints: Option<Box<footprint::Recorder>>,
    pub(crate) trace: Vec<Event>,
    next_event_id: u64,
    /// The event whose effects are being applied (the executing call, a timer firing):
    /// recorded as the cause of the wake-ups it brings.
    pub(crate) cause_event: Option<u64>,
    /// WriteFileEx's completion routine on its way into the write's asynchronous target.
    pub(crate) pending_routine: Option<io::IoCompletionRoutine>,
    /// The executing call's API and, for a call that may block (or one that queues
    /// behind a file object's I/O lock), its arguments as kept before it ran: taken by
    /// `new_op`, which builds the operation's argument list from them, if it blocks.
    pub(crate) calling: Option<(request::Api, Option<request::KeptArgs>)>,
    /// The file object the executing call's I/O lock check resolved its handle to
    /// (process, handle, access checked, object): the call's own handler reuses it instead
    /// of walking the handle table again. Cleared when the call's dispatch ends.
    pub(crate) call_file: Option<(Pid, crate::types::HANDLE, u32, crate::objects::ObjectId)>,
    /// What the executing call changed, in words (trace only).
    pub(crate) effect: Option<String>,
    /// Virtual time in 100-ns ticks since boot.
    pub(crate) now: u64,
    pub(crate) step: u64,
    next_cid: u32,
    serials: lifecycle::Serials,
    /// The timer queue: (due tick, sequence, what fires). Invariant: every entry is
    /// recorded on the operation or timer it fires.
    pub(crate) timers: BTreeSet<(u64, u64, TimerKey)>,
    timer_seq: u64,
    /// Threads whose result is decided (or that are new) and must run to their next call.
    pub(crate) to_poll: pollq::PollQueue,
    /// Bodies of threads not yet started.
    pub(crate) starts: idmap::IdMap<Start>,
    /// Threads that ended since the last poll round; their futures are dropped.
    pub(crate) dead: Vec<Tid>,
    /// Whether a parked call may take the driver's next steps itself (`step_inline`):
    /// only while `Sim::drive_steps` drives the run.
    pub(crate) inline_steps: bool,
    /// Set while a step is taken from inside a parked call, so that a panic in the kernel
    /// is reported as the driver reports it (a simulator bug), not against the thread.
    pub(crate) stepping_inline: bool,
    /// Set when the run must end (limit, replay divergence, unsupported call).
    pub(crate) stop: Stop,
    /// The thread whose call is being executed (for causes in the trace).
    pub(crate) current: Option<Tid>,
    /// The thread whose body is being polled (to catch a ThreadCtx used by another thread).
    pub(crate) polling: Option<Tid>,
    /// Whether the thread being polled has parked at a call since it was last made
    /// running (by the driver before its poll, or by `step_inline` handing it a result):
    /// a poll that ends Pending without it awaited something that is not a winsim call.
    /// Set by `park_request`, cleared by the driver and `step_inline`; it spares the
    /// driver a lookup of the thread after each Pending poll (issue 13).
    pub(crate) polled_parked: bool,
    /// The object of the thread being polled (`polling`), set with it: the thread's calls
    /// in the poll (`park_request`, `take_reply`) find it through this, not through the
    /// id map again (issue 13). Read only while `polling` names the thread; an object's
    /// key is never reused (`kernel/arena.rs` gives a reused slot a new version), so that
    /// the object, while it lives, is that thread's (and the id map holds the thread
    /// exactly as long as its object lives; `debug_check_polling_oid`).
    pub(crate) polling_oid: ObjectId,
    pub(crate) live_threads: u32,
    pub(crate) processes_created: u32,
    /// Ended processes in exit order: (pid, image, exit code).
    pub(crate) exited: Vec<(Pid, String, u32)>,
    /// Unread bytes in all pipes. Invariant: the sum of every data queue's `unread`.
    pub(crate) pipe_bytes: u64,
    /// Pipe writes waiting for their bytes to fit the quota (entries of a data queue with
    /// a `writer`), in all pipes: while there is none, a pipe's progress skips its scan for
    /// writes to complete. Invariant: the number of such entries.
    pub(crate) pipe_writes_pending: u32,
    /// Bytes of section pages materialised (sections' pages and copy-on-write views'
    /// private pages). Invariant: their sum; at most `Config::section_bytes_max`.
    pub(crate) section_bytes: u64,
    /// Bytes of private memory committed (VirtualAlloc, heap segments) in all processes.
    /// Invariant: their sum; at most `Config::private_bytes_max` (§29.6).
    pub(crate) private_bytes: u64,
    /// Trace events dropped to stay within `Config::trace_events_max`.
    pub(crate) trace_dropped: u64,
    /// Windows, classes and message queues (user32).
    pub(crate) user: crate::objects::window::User,
    /// The runnable threads: parked at a call and not suspended. Kept as threads change
    /// state, so that choosing the next thread costs nothing per thread not involved
    /// (invariant: equal to a scan of every thread, `check_invariants`).
    pub(crate) parked: tidset::TidSet,
    /// A buffer for the runnable set at each step, kept so a step allocates nothing.
    pub(crate) scratch_tids: Vec<Tid>,
    /// Emptied byte buffers for the next WriteFile's copy of its bytes: a ReadFile that
    /// took a whole write hands the write's buffer to its caller, whose copy into the
    /// program's buffer gives it back here (no allocation per pipe transfer).
    pub(crate) spare_bytes: Vec<Vec<u8>>,
    /// A buffer for the waiters of an object being signalled (`Kernel::wake_waiters`).
    pub(crate) scratch_ops: Vec<OpId>,
    /// Pending asynchronous operations per issuing thread (only threads with some), so a
    /// thread's exit looks for its I/O to cancel only when it has any.
    pub(crate) async_ops: lazy::Lazy<BTreeMap<Tid, u32>>,
    /// User-mode locks and condition variables (`objects/locks.rs`): program memory on
    /// Windows, kept here by process and id.
    pub(crate) locks: lazy::Lazy<crate::objects::locks::Locks>,
    /// COM: per-thread state, apartments, objects, pointers, marshal data, calls in flight
    /// (`objects/com.rs`, docs/semantics.md §21).
    pub(crate) com: crate::objects::com::Com,
    /// Winsock's kernel-wide state: WSAStartup counts, the port table, blocking connects
    /// (`objects/socket.rs`).
    pub(crate) net: crate::objects::socket::LazyNet,
    /// The Message Queuing queue manager (`objects/msmq.rs`): queues outlive processes.
    pub(crate) mq: crate::objects::msmq::LazyQueueManager,
    /// The trace's occupancy counters (`Kernel::sample_occupancy`): made at the first
    /// traced step, so an untraced run's kernel is smaller by their three buffers (its `Rc`
    /// then fits the allocator's per-thread cache).
    pub(crate) occupancy: Option<Box<calls::Occupancy>>,
    /// The argument and out-parameter lists the trace's events share
    /// (`calls::SharedLists`): made at the first traced call.
    pub(crate) shared_lists: Option<Box<calls::SharedLists>>,
    /// The data-race detector's clocks and shadow memory (`kernel/race.rs`, §25).
    /// (In the kernel, not boxed, as `config`.)
    pub(crate) race: race::Detector,
    /// The livelock watch (`kernel/livelock.rs`): open over the last
    /// `Config::livelock_window` steps before the step limit.
    pub(crate) livelock: Option<Box<livelock::Watch>>,
    /// The step from which the livelock watch records (`u64::MAX`: never).
    pub(crate) watch_from: u64,
    /// The step after which a step needs `Kernel::after_step`'s checks: 0 when the trace
    /// or the invariant checks are on (every step), else `watch_from` (the trace and
    /// those checks are fixed for the run; with the trace off nothing reads the cause
    /// event, and the trace stays empty).
    checks_from: u64,
    /// The step below which a step is plain (issue 13): the trace off, the race detector
    /// keeping no clocks, before the livelock watch's window and the step limit, the
    /// configured random strategy choosing without the options' calls,
    /// footprints or states, and no state hashing. Then one comparison (`plain_step`)
    /// stands for the several tests of these that `step_inline`, `step_thread` and the
    /// reply's hand-over each made. Else 0 (never). Set by `set_plain_until` whenever
    /// one of these changes (`Kernel::new`, `track_positions`, the detector's
    /// activation; `take_strategy`, which takes the held random strategy, sets it to 0);
    /// debug builds check it at each use.
    plain_until: u64,
    /// The in-memory volume: files and directories that outlive processes
    /// (`objects/file.rs`, docs/semantics.md §28).
    pub(crate) volume: lazy::Lazy<crate::objects::file::Volume>,
    /// Each thread's position (results taken, their running hash), kept only while state
    /// hashing is on (`kernel/state_hash.rs`).
    pub(crate) positions: Option<Box<state_hash::Positions>>,
    /// Whether the strategy wants the state hash at each thread choice and at the end.
    pub(crate) wants_states: bool,
    /// The spare buffers' box, emptied into this kernel: refilled with its buffers when
    /// it is dropped, for the next kernel on this OS thread (`Spare`).
    spare: Option<Box<Spare>>,
}

impl Kernel {
    /// A machine with no processes yet.
    pub fn new(config: Config) -> Kernel {
        match config.strategy {
            // Held in the kernel: its choices are made without a virtual call (issue 13).
            config::StrategyConfig::Random { seed } => {
                Kernel::with_parts(config, Box::new(sched::HeldRandom), Some(seed))
            }
            _ => {
                let strategy = sched::from_config(&config.strategy);
                Kernel::with_parts(config, strategy, None)
            }
        }
    }

    /// The strategy that makes this kernel's choices, taken out (`Sim::run_with_strategy`).
    pub(crate) fn take_strategy(&mut self, placeholder: Box<dyn Strategy>) -> Box<dyn Strategy> {
        // (Without the held random strategy no step is plain.)
        self.plain_until = 0;
        match self.random.take() {
            Some(r) => {
                self.strategy = placeholder;
                r
            }
            None => std::mem::replace(&mut self.strategy, placeholder),
        }
    }

    /// A machine whose choices are made by `strategy` (a strategy that lives across the
    /// runs of a sweep); `config.strategy` only describes the run.
    pub fn with_strategy(config: Config, strategy: Box<dyn Strategy>) -> Kernel {
        Kernel::with_parts(config, strategy, None)
    }

    /// A machine choosing by `strategy`, or by a random strategy of `seed` held in the
    /// kernel (`Kernel::random`, with `strategy` a stand-in).
    fn with_parts(config: Config, strategy: Box<dyn Strategy>, seed: Option<u64>) -> Kernel {
        if config.files.is_empty() {
            // Built in the caller's place, not built here and then moved (a kernel is
            // about 1.8 KB): nothing is set after `build`, which sets it all.
            let kernel = Kernel::build(config, strategy, seed);
            debug_assert_eq!(kernel.plain_until, kernel.plain_bound(), "simulator bug: plain_until");
            return kernel;
        }
        let mut kernel = Kernel::build(config, strategy, seed);
        // The files of `Config::files`, put on the volume before the run starts (§28.1).
        let files = kernel.config.files.clone();
        for f in &files {
            kernel.preload_file(&f.path, &f.data);
        }
        kernel
    }

    /// A machine with no processes and an empty volume.
    fn build(config: Config, strategy: Box<dyn Strategy>, seed: Option<u64>) -> Kernel {
        let footprints = strategy.wants_calls().then(Box::default);
        let wants_states = strategy.wants_states();
        let watch_from = match config.livelock_window {
            0 => u64::MAX,
            w => config.steps_max.saturating_sub(w),
        };
        let checks_from = if config.trace || config.check_invariants { 0 } else { watch_from };
        let mut spare = Spare::take();
        // The held random strategy, in the last kernel's box when one was kept.
        let random = seed.map(|seed| match spare.random.take() {
            Some(mut b) => {
                b.reseed(seed);
                b
            }
            None => Box::new(sched::RandomStrategy::new(seed)),
        });
        // `plain_bound` of the new kernel (no race detector active, no livelock watch yet).
        let plain = random.is_some() && !config.trace && footprints.is_none() && !wants_states;
        let plain_until = if plain { watch_from.min(config.steps_max) } else { 0 };
        let full_record = config.decision_record == DecisionRecord::Full;
        let trace = match config.trace {
            true => Vec::with_capacity(spare.trace_len.min(TRACE_RESERVE_MAX).min(config.trace_events_max)),
            false => Vec::new(),
        };
        Kernel {
            // Room for a first process, its main thread and five more objects (a second
            // thread and a pipe's three, or a mutex and two events) before the arena first
            // grows (`kernel/arena.rs`); one allocation either way.
            objects: spare.objects.take().unwrap_or_else(|| arena::ObjectArena::with_capacity(7)),
            // Room for four pending operations (and the sentinel slot 0) before the first
            // growth, in one allocation (issue 13: made empty, it grew at its first
            // operation, one more allocation, copy and free a run).
            ops: arena::OpArena::with_capacity(4),
            op_serial: 0,
            tids: std::mem::take(&mut spare.tids),
            pids: std::mem::take(&mut spare.pids),
            names: Default::default(),
            pipe_names: Default::default(),
            mailslot_names: Default::default(),
            programs: Programs::default(),
            config,
            strategy,
            random,
            option_lists: None,
            last_options: (0, None),
            full_record,
            descriptions: None,
            decisions: match full_record && spare.decisions_len > 0 {
                true => Vec::with_capacity(spare.decisions_len.min(DECISIONS_RESERVE_MAX)),
                false => Vec::new(),
            },
            schedule: Schedule::with_capacity(spare.schedule_len.min(DECISIONS_RESERVE_MAX)),
            last_stepped: None,
            footprints,
            trace,
            next_event_id: 1,
            cause_event: None,
            calling: None,
            call_file: None,
            pending_routine: None,
            effect: None,
            now: 0,
            step: 0,
            next_cid: 4,
            serials: Default::default(),
            timers: BTreeSet::new(),
            timer_seq: 0,
            to_poll: std::mem::take(&mut spare.to_poll),
            inline_steps: false,
            stepping_inline: false,
            starts: std::mem::take(&mut spare.starts),
            dead: std::mem::take(&mut spare.dead),
            stop: Stop::default(),
            current: None,
            polling: None,
            polled_parked: false,
            polling_oid: ObjectId::default(),
            live_threads: 0,
            processes_created: 0,
            exited: std::mem::take(&mut spare.exited),
            pipe_bytes: 0,
            pipe_writes_pending: 0,
            section_bytes: 0,
            private_bytes: 0,
            trace_dropped: 0,
            user: Default::default(),
            parked: std::mem::take(&mut spare.parked),
            scratch_tids: std::mem::take(&mut spare.scratch_tids),
            scratch_ops: Vec::new(),
            spare_bytes: std::mem::take(&mut spare.bytes),
            async_ops: Default::default(),
            locks: Default::default(),
            com: crate::objects::com::Com::with_ending(std::mem::take(&mut spare.ending)),
            net: Default::default(),
            mq: Default::default(),
            occupancy: None,
            shared_lists: None,
            race: race::Detector::with_buffers(std::mem::take(&mut spare.race)),
            livelock: None,
            watch_from,
            checks_from,
            plain_until,
            volume: Default::default(),
            positions: wants_states.then(Box::default),
            wants_states,
            spare: Some(spare),
        }
    }

    /// The run's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Kernel steps executed so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Virtual time in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now / time::TICKS_PER_MS
    }

    // ----- threads and processes -----------------------------------------------------

    pub(crate) fn alloc_cid(&mut self) -> u32 {
        let id = self.next_cid;
        self.next_cid += 4;
        id
    }

    // The lookups below run several times a step: inlined, with their (never taken)
    // panics out of line, they are a few instructions each.

    #[inline]
    pub(crate) fn thread(&self, tid: Tid) -> &Thread {
        match self.tids.get(&tid).map(|&id| &self.objects[id].body) {
            Some(Body::Thread(t)) => t,
            _ => no_such("thread", tid),
        }
    }

    /// The thread `tid`, if it still exists (one lookup).
    #[inline]
    pub(crate) fn thread_if_mut(&mut self, tid: Tid) -> Option<&mut Thread> {
        match self.tids.get(&tid).map(|&id| &mut self.objects[id].body) {
            Some(Body::Thread(t)) => Some(t),
            _ => None,
        }
    }

    /// The object of thread `tid`: the id map's look-up alone (`thread_of_mut` then finds
    /// the thread in the slot map without it).
    #[inline]
    pub(crate) fn thread_object(&self, tid: Tid) -> ObjectId {
        match self.tids.get(&tid) {
            Some(&id) => id,
            None => no_such("thread", tid),
        }
    }

    /// The object of process `pid`, with its id (what `process_of` takes).
    pub(crate) fn process_object(&self, pid: Pid) -> (Pid, ObjectId) {
        match self.pids.get(&pid) {
            Some(&id) => (pid, id),
            None => no_such("process", pid),
        }
    }

    /// Thread `tid`, whose object `thread` is (`thread_object`): one look-up, where
    /// `thread_mut` makes two.
    #[inline(always)]
    pub(crate) fn thread_of_mut(&mut self, thread: ObjectId, tid: Tid) -> &mut Thread {
        match &mut self.objects[thread].body {
            Body::Thread(t) => t,
            _ => no_such("thread", tid),
        }
    }

    /// `thread_of_mut`, to read.
    #[inline(always)]
    pub(crate) fn thread_of(&self, thread: ObjectId, tid: Tid) -> &Thread {
        match &self.objects[thread].body {
            Body::Thread(t) => t,
            _ => no_such("thread", tid),
        }
    }

    #[inline]
    pub(crate) fn thread_mut(&mut self, tid: Tid) -> &mut Thread {
        match self.tids.get(&tid).map(|&id| &mut self.objects[id].body) {
            Some(Body::Thread(t)) => t,
            _ => no_such("thread", tid),
        }
    }

    #[inline]
    pub(crate) fn process(&self, pid: Pid) -> &Process {
        match self.pids.get(&pid).map(|&id| &self.objects[id].body) {
            Some(Body::Process(p)) => p,
            _ => no_such("process", pid),
        }
    }

    /// Process `pid` through its object `process` (a thread's `process`), without a
    /// look-up of its id (issue 13: the calls made most find their handles here).
    #[inline(always)]
    pub(crate) fn process_of(&self, process: ObjectId, pid: Pid) -> &Process {
        match &self.objects[process].body {
            Body::Process(p) => {
                debug_assert_eq!(p.pid, pid, "simulator bug: a thread's process object is another's");
                p
            }
            _ => no_such("process", pid),
        }
    }

    #[inline]
    pub(crate) fn process_mut(&mut self, pid: Pid) -> &mut Process {
        match self.pids.get(&pid).map(|&id| &mut self.objects[id].body) {
            Some(Body::Process(p)) => p,
            _ => no_such("process", pid),
        }
    }

    /// A byte buffer for a call's copy of the program's bytes (`spare_bytes`).
    pub(crate) fn byte_buffer(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut b = self.spare_bytes.pop().unwrap_or_default();
        // A single byte (the usual small pipe message) is pushed: a call of `memcpy` costs
        // more than the copy.
        match bytes {
            [one] => b.push(*one),
            _ => b.extend_from_slice(bytes),
        }
        b
    }

    /// Keeps a byte buffer a call is done with for the next one (a few small ones at most).
    /// The usual case (a small buffer, room among the spares without growing them) is
    /// inlined where a read's bytes are taken: out of line, the call and its saved
    /// registers were about half of its cost, some 10 instructions a pipe read (issue 13).
    /// `recycle_bytes_other` does the rest, as this did it all: the same buffers kept.
    #[inline(always)]
    pub(crate) fn recycle_bytes(&mut self, mut b: Vec<u8>) {
        let spares = &mut self.spare_bytes;
        let n = spares.len();
        if n < 16 && n < spares.capacity() && b.capacity().wrapping_sub(1) < 4096 {
            b.clear();
            spares.push(b);
            return;
        }
        self.recycle_bytes_other(b);
    }

    /// `recycle_bytes` past its usual case: the spares grown to take the buffer, or the
    /// buffer dropped.
    #[inline(never)]
    fn recycle_bytes_other(&mut self, mut b: Vec<u8>) {
        if self.spare_bytes.len() < 16 && b.capacity() > 0 && b.capacity() <= 4096 {
            b.clear();
            self.spare_bytes.push(b);
        }
    }

    /// The process id of a thread.
    pub fn pid_of(&self, tid: Tid) -> Pid {
        self.thread(tid).pid
    }

    /// A thread's last-error value (`GetLastError`); 0 for a thread that no longer
    /// exists.
    pub fn last_error(&self, tid: Tid) -> u32 {
        match self.tids.get(&tid).map(|&id| &self.objects[id].body) {
            Some(Body::Thread(t)) => t.last_error,
            _ => 0,
        }
    }

    /// Sets a thread's last-error value (`SetLastError`); ignored for a thread that no
    /// longer exists.
    pub fn set_last_error(&mut self, tid: Tid, code: u32) {
        if let Some(&id) = self.tids.get(&tid)
            && let Body::Thread(t) = &mut self.objects[id].body
        {
            t.last_error = code;
        }
    }

    /// Looks a program up by a command line's first token or an application name: the
    /// last path component, case-insensitive, with or without ".exe".
    pub(crate) fn find_program(&self, name: &str) -> Option<(String, Program)> {
        let base = name.rsplit(['\\', '/']).next().unwrap_or(name);
        self.programs.find(strip_exe(base)).map(|e| (e.name.clone(), e.program.clone()))
    }

    /// Registers a program that CreateProcess can start by name.
    pub fn register_program(&mut self, name: &str, program: Program) {
        self.programs.insert(name, program);
    }

    /// A limit was reached: ends the run with a limit outcome (the first one set wins), or,
    /// with `LimitAction::FailCall`, lets the call fail with the error Windows gives when
    /// it runs out of that resource. Returns that error.
    pub(crate) fn hit_limit(&mut self, limit: LimitKind, detail: String) -> Win32Error {
        if self.config.limit_action == LimitAction::EndRun && self.stop.is_none() {
            self.stop = crate::kernel::Stop::of(Outcome::LimitExceeded { limit, detail });
        }
        limit.win32_error()
    }

    /// Records an unsupported use and ends the run (tier 2 of the error model).
    pub(crate) fn unsupported(&mut self, api: &str, detail: &str) {
        if self.stop.is_none() {
            self.stop = crate::kernel::Stop::of(Outcome::Unsupported { api: api.into(), detail: detail.into() });
        }
    }

    /// Ends the run as a simulator bug (an inconsistency found without a panic).
    pub(crate) fn simulator_bug(&mut self, message: String) {
        if self.stop.is_none() {
            self.stop = crate::kernel::Stop::of(Outcome::SimulatorBug { step: self.step, message });
        }
    }

    // ----- the scheduler's view ------------------------------------------------------

    /// Threads parked at a call and not suspended, in thread-id order.
    pub fn runnable(&self) -> Vec<Tid> {
        self.parked.iter().collect()
    }

    /// `tid`'s run state or suspend count changed: it is runnable exactly when it is
    /// parked at a call and not suspended.
    pub(crate) fn update_parked(&mut self, tid: Tid) {
        let runnable = self.tids.get(&tid).is_some_and(|&id| {
            matches!(&self.objects[id].body, Body::Thread(t) if t.suspend_count == 0 && matches!(t.run, Run::Parked(_)))
        });
        if runnable {
            self.parked.insert(tid);
        } else {
            self.parked.remove(&tid);
        }
    }

    /// Threads that have not exited.
    pub fn live_threads(&self) -> Vec<Tid> {
        self.tids
            .iter()
            .filter_map(|(tid, &id)| match &self.objects[id].body {
                Body::Thread(t) if !matches!(t.run, Run::Exited) => Some(tid),
                _ => None,
            })
            .collect()
    }

    /// Before a step: records what the call about to run may read (when the strategy
    /// wants footprints) and that `tid` is the thread stepping.
    #[inline]
    pub(crate) fn before_step(&mut self, tid: Tid) {
        if self.footprints.is_some() {
            self.record_reads(tid);
        }
        self.last_stepped = Some(tid);
    }

    /// What the call `tid` is about to run may read, for a strategy that wants
    /// footprints (out of line: the usual run has none).
    #[inline(never)]
    fn record_reads(&mut self, tid: Tid) {
        let mut reads = match &self.thread(tid).run {
            Run::Parked(req) => self.call_reads(tid, req),
            _ => footprint::Footprint::everything(),
        };
        reads.threads.insert(tid);
        if let Some(r) = self.footprints.as_mut() {
            r.before_step(reads);
        }
    }

    /// At the end of a run: tells the strategy, with the footprint of the last steps.
    pub(crate) fn end_execution(&mut self) {
        let f = match self.footprints.is_some() {
            true => {
                let now = self.snapshot();
                self.footprints.as_mut().map(|r| r.take(now))
            }
            false => None,
        };
        if self.wants_states {
            let s = self.state_now();
            self.strategy.end_state(s);
        }
        self.strategy.end_execution(f.as_ref());
    }

    /// The state's hash, as a strategy sees it.
    fn state_now(&self) -> StateHash {
        StateHash { hash: self.state_hash(), exact: self.user.generation == 0 }
    }

    /// The bound below which a step is plain (`plain_until`), from what makes it so.
    pub(crate) fn set_plain_until(&mut self) {
        self.plain_until = self.plain_bound();
    }

    /// What `plain_until` should be now.
    fn plain_bound(&self) -> u64 {
        let plain = !self.config.trace
            && !self.race_on()
            && self.random.is_some()
            && self.footprints.is_none()
            && !self.wants_states
            && self.positions.is_none()
            && self.livelock.is_none();
        if plain { self.watch_from.min(self.config.steps_max) } else { 0 }
    }

    /// Whether the step about to be taken (or just taken) is plain (`plain_until`): one
    /// comparison.
    #[inline(always)]
    pub(crate) fn plain_step(&self) -> bool {
        let plain = self.step < self.plain_until;
        debug_assert!(
            !plain || self.plain_until == self.plain_bound(),
            "simulator bug: plain_until is stale ({} against {})",
            self.plain_until,
            self.plain_bound()
        );
        plain
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
        let picked = if kind == ChoiceKind::Thread && (self.footprints.is_some() || self.wants_states) {
            self.pick_thread_with_state(options)
        } else if let Some(r) = self.random.as_mut() {
            // The usual choice, by the configured random strategy (no `ChoicePoint`).
            Some(r.pick_index(kind, options))
        } else {
            // The usual choice: no next calls, footprint or state to show the strategy.
            let point = ChoicePoint {
                kind,
                options,
                current: if kind == ChoiceKind::Thread { self.last_stepped } else { self.current },
                step: self.step,
                index: self.schedule.len(),
                calls: &[],
                footprint: None,
                state: None,
            };
            self.strategy.pick(&point)
        };
        match picked {
            Some(i) => {
                let tid = options[i];
                self.schedule.push(kind, i);
                if self.config.decision_record == DecisionRecord::Full {
                    // Runs often choose among the same threads again: the last
                    // decision's options are shared instead of copied. (Compared element
                    // by element: a few ids, where a slice comparison calls memcmp.)
                    // (Two options or fewer are held in place: `DecisionOptions`.)
                    let options = match self.decisions.last() {
                        Some(d)
                            if options.len() > 2
                                && d.options.len() == options.len()
                                && d.options.iter().zip(options).all(|(a, b)| a == b) =>
                        {
                            d.options.clone()
                        }
                        _ => sched::DecisionOptions::from(options),
                    };
                    self.decisions.push(Decision { kind, tid, options });
                }
                tid
            }
            None => {
                if self.stop.is_none() {
                    self.stop = crate::kernel::Stop::of(Outcome::ReplayDiverged {
                        step: self.step,
                        detail: format!(
                            "decision {} ({:?} among {:?}) does not match the recording",
                            self.schedule.len(),
                            kind,
                            options
                        ),
                    });
                }
                options[0]
            }
        }
    }

    /// The runnable set as one word (bit `id / 4` for each parked id, `TidSet::low_only`)
    /// when the next thread can be chosen from it (`choose_thread_in`): the configured
    /// random strategy chooses, no strategy hook wants the options' next calls,
    /// footprints or states, and every parked id is below `tidset::LOW`. `None` when the
    /// choice needs the list (`choose`).
    #[inline(always)]
    pub(crate) fn runnable_mask(&self) -> Option<u64> {
        if self.chooses_without_list() { self.parked.low_only() } else { None }
    }

    /// Whether the next thread can be chosen without the runnable list
    /// (`runnable_mask`, `runnable_few`): the configured random strategy chooses, and no
    /// strategy hook wants the options' next calls, footprints or states.
    #[inline(always)]
    fn chooses_without_list(&self) -> bool {
        self.random.is_some() && self.footprints.is_none() && !self.wants_states
    }

    /// `choose(ChoiceKind::Thread, list)` on the list of the ids in `mask` (in increasing
    /// order, as `TidSet::extend_into` lists them), without the list: the same draw
    /// (`RandomStrategy::pick_among` with the list's length), the same schedule byte, and
    /// the same decision recorded, its options shared with the last decision's when they
    /// are the same list, as `choose` does (issue 13: listing the runnable threads and
    /// the general choice cost about 60 instructions a step). Only for a mask from
    /// `runnable_mask`, with at least one bit set.
    #[inline(always)]
    pub(crate) fn choose_thread_in(&mut self, mask: u64) -> Tid {
        debug_assert!(mask != 0, "simulator bug: choice among no options");
        // The number of options: one or two (the usual cases) told by clearing the lowest
        // set bits, without a population count (the baseline x86-64 target has no
        // `popcnt`: `count_ones` costs about 15 instructions).
        let rest = mask & (mask - 1);
        if rest == 0 {
            return mask.trailing_zeros() * 4;
        }
        let Some(r) = self.random.as_mut() else {
            unreachable!("simulator bug: a mask choice without the random strategy")
        };
        if rest & (rest - 1) == 0 {
            // Two options, the usual choice: the thread read from the two bits, not found
            // by clearing the lower `i` of them (issue 13).
            return self.choose_of_two(mask.trailing_zeros() * 4, rest.trailing_zeros() * 4);
        }
        let n = mask.count_ones() as usize;
        let i = r.pick_among(n);
        let mut bits = mask;
        for _ in 0..i {
            bits &= bits - 1;
        }
        let tid = bits.trailing_zeros() * 4;
        self.schedule.push(ChoiceKind::Thread, i);
        debug_assert_eq!(self.full_record, self.config.decision_record == DecisionRecord::Full);
        if self.full_record {
            // Three options or more: the list shared with the last decision's among the
            // same set (`last_options`), or `record_decision_in`'s, which keeps the lists
            // of the last few sets (`option_lists`).
            match &self.last_options {
                (last, Some(options)) if *last == mask => {
                    let options = options.clone();
                    self.decisions.push(Decision { kind: ChoiceKind::Thread, tid, options });
                }
                _ => self.record_decision_in(mask, n, tid),
            }
        }
        tid
    }

    /// `choose(ChoiceKind::Thread, &[first, second])` (`first < second`) by the random
    /// strategy, without the list: rand's draw for a range of 2 (`pick_of_two`), the
    /// schedule byte, and the decision recorded with its options held in place
    /// (`DecisionOptions::two`: no allocation, and no shared count to increment now and
    /// decrement when the report is dropped).
    #[inline(always)]
    fn choose_of_two(&mut self, first: Tid, second: Tid) -> Tid {
        let Some(r) = self.random.as_mut() else {
            unreachable!("simulator bug: a choice of two without the random strategy")
        };
        let i = r.pick_of_two();
        let tid = if i == 0 { first } else { second };
        self.schedule.push_small(ChoiceKind::Thread, i as u8);
        debug_assert_eq!(self.full_record, self.config.decision_record == DecisionRecord::Full);
        if self.full_record {
            let options = sched::DecisionOptions::two(first, second);
            self.decisions.push(Decision { kind: ChoiceKind::Thread, tid, options });
        }
        tid
    }

    /// The runnable threads when they are one or two and the next can be chosen among
    /// them without their list (`choose_thread_few`), though not from the runnable set's
    /// word (`runnable_mask` answers `None`: one of them has an id from `tidset::LOW`
    /// on). The conditions are `runnable_mask`'s (`chooses_without_list`).
    #[inline]
    pub(crate) fn runnable_few(&self) -> Option<(Tid, Option<Tid>)> {
        if self.chooses_without_list() { self.parked.few_high() } else { None }
    }

    /// `choose(ChoiceKind::Thread, list)` on the list `[first]` or `[first, second]`
    /// (from `runnable_few`), without the list: a single option decides nothing, two are
    /// `choose_of_two`'s (issue 13: a program past its first 64 thread ids listed its
    /// runnable threads and took the general choice at every step, about 120
    /// instructions a step more, though only two of them could run).
    #[inline(never)]
    pub(crate) fn choose_thread_few(&mut self, first: Tid, second: Option<Tid>) -> Tid {
        match second {
            None => first,
            Some(second) => self.choose_of_two(first, second),
        }
    }

    /// The full record of `choose_thread_in`'s decision (out of line). A run chooses
    /// among the same few sets of threads again and again: the options lists of the last
    /// few sets are kept by their word (`OptionLists`) and shared, not made again.
    #[inline(never)]
    fn record_decision_in(&mut self, mask: u64, n: usize, tid: Tid) {
        let lists = self.option_lists.get_or_insert_with(Default::default);
        let options = match lists.entries.iter().position(|(m, _)| *m == mask) {
            Some(at) => lists.entries[at].1.clone(),
            None => {
                let mut list = [0 as Tid; 64];
                let mut bits = mask;
                for slot in list.iter_mut().take(n) {
                    *slot = bits.trailing_zeros() * 4;
                    bits &= bits - 1;
                }
                let list = sched::DecisionOptions::from(&list[..n]);
                let at = lists.next;
                lists.entries[at] = (mask, list.clone());
                lists.next = (at + 1) % lists.entries.len();
                list
            }
        };
        self.last_options = (mask, Some(options.clone()));
        self.decisions.push(Decision { kind: ChoiceKind::Thread, tid, options });
    }

    /// A thread choice for a strategy that wants each option's next call and the
    /// footprint since the last choice, or the state's hash (out of line: the usual
    /// choice needs neither).
    #[inline(never)]
    fn pick_thread_with_state(&mut self, options: &[Tid]) -> Option<usize> {
        let (calls, footprint) = match self.footprints.is_some() {
            true => {
                let calls: Vec<NextCall> = options
                    .iter()
                    .map(|&tid| match &self.thread(tid).run {
                        Run::Parked(req) => NextCall { tid, api: req.api(), reads: self.call_reads(tid, req) },
                        _ => panic!("simulator bug: a runnable thread is not parked"),
                    })
                    .collect();
                let now = self.snapshot();
                let f = self.footprints.as_mut().map(|r| r.take(now));
                (calls, f)
            }
            false => (Vec::new(), None),
        };
        let point = ChoicePoint {
            kind: ChoiceKind::Thread,
            options,
            current: self.last_stepped,
            step: self.step,
            index: self.schedule.len(),
            calls: &calls,
            footprint: footprint.as_ref(),
            state: self.wants_states.then(|| self.state_now()),
        };
        self.strategy.pick(&point)
    }
}

/// A thread or process id that names none: a bug in winsim (the kernel looks up only
/// ids it holds). Out of line, so the lookups that may end here stay small.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn no_such(what: &str, id: u32) -> ! {
    panic!("simulator bug: no {what} {id}")
}
