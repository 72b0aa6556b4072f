//! The data-race detector: happens-before by vector clocks over every synchronising edge
//! winsim models, and shadow memory recording who last read and wrote each byte of
//! simulated memory (docs/semantics.md §25).
//!
//! The scheme is the vector-clock one of DJIT+ and FastTrack (Flanagan and Freund, "FastTrack:
//! Efficient and Precise Dynamic Race Detection", PLDI 2009), the one ThreadSanitizer and
//! Miri's data-race detector use: each thread has a vector clock; each synchronisation
//! point (a kernel object, a user-mode lock, an interlocked location, the window manager)
//! has a clock that a *release* joins the thread's clock into and an *acquire* joins into
//! the thread's clock; each access records its thread's epoch (`thread ordinal`, `own
//! clock entry`). Two accesses to the same byte conflict when at least one writes and they
//! are not both interlocked; they race when the earlier one's epoch is not covered by the
//! later thread's clock. This code is winsim's own.
//!
//! **Edges** (§25.2). Every Win32 call is a release, at its start, into the keys it names
//! (the objects behind its handles, a file object's pipe and port, a mailslot client's
//! mailslot, a socket's peer, a user-mode lock, the window manager, COM, Winsock, the queue
//! manager), and an acquire of the same keys when it returns, at once or when its pending
//! operation completes (a wait that times out acquires nothing). As the NT dispatcher
//! serialises every call on an object, a later call on it is ordered after an earlier one.
//! Thread creation gives the child its creator's clock; a thread's exit releases into its
//! thread and process objects, which a wait on them or GetExitCode* acquires. An
//! asynchronous completion releases what its operation acquired into its event, file
//! object, port and (for a completion routine or an alertable wait) its thread. An
//! interlocked operation acquires and releases its own location's clock (per 8-byte word).
//!
//! **Shadow memory** (§25.3) is sparse: a `BTreeMap` from (memory, 8-byte word) to the few
//! accesses that may still race with a later one, each with a byte mask. An access drops
//! the earlier accesses it makes redundant (its own thread's, and those that happen before
//! it, a write dropping reads and writes, a read dropping reads), so a word holds at most
//! about two records per thread that touched it concurrently.

use super::request::{Api, Request};
use super::{Kernel, Pid, Tid};
use crate::objects::{Body, ObjectId};
use crate::report::{Outcome, RaceAccess, RaceReport};
use crate::types::{CURRENT_PROCESS_PSEUDO_HANDLE, CURRENT_THREAD_PSEUDO_HANDLE, HANDLE};
use std::collections::BTreeMap;

/// What the detector does when it finds a race (`Config::race_detection`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaceDetection {
    /// No clocks, no shadow memory.
    Off,
    /// Races are recorded (`RunReport::races`, a trace note) and the run goes on.
    Record,
    /// The first race ends the run with `Outcome::DataRace` (the default).
    #[default]
    Stop,
}

/// Races kept in `Record` mode (the first ones).
pub const RACES_RECORDED_MAX: usize = 64;

/// A vector clock: one entry per thread ordinal (threads in creation order).
pub(crate) type Clock = Vec<u32>;

fn join(into: &mut Clock, from: &Clock) {
    if into.len() < from.len() {
        into.resize(from.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a = (*a).max(*b);
    }
}

/// The memory an address stands for, whoever maps it: a section (shared by every view of
/// it in every process) or the private pages of a copy-on-write view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum MemKey {
    /// A section's pages (offsets in the section).
    Section(ObjectId),
    /// A copy-on-write view's private pages: its process and base address (offsets in
    /// the section).
    Private(Pid, u64),
    /// Private memory (VirtualAlloc, heap segments): its process and the base of its
    /// reservation (offsets from that base, §29.11).
    Virtual(Pid, u64),
}

/// A synchronisation point with a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SyncKey {
    /// A kernel object.
    Object(ObjectId),
    /// An interlocked location: memory and 8-byte word.
    Atomic(MemKey, u64),
    /// A user-mode lock or condition variable of a process (`objects/locks.rs` id).
    Lock(Pid, u64),
    /// An address of a process that WaitOnAddress and WakeByAddress* name (§26).
    Address(Pid, u64),
    /// The window manager (win32k serialises USER calls behind one lock).
    User,
    /// COM's runtime state.
    Com,
    /// Winsock's kernel-wide state.
    Net,
    /// The Message Queuing queue manager.
    Msmq,
}

/// A pending operation's keys, acquired when it completes (`Op::race_keys`), sorted and
/// without repeats: none (the detector off, or a call that names nothing), one (a wait
/// on one object) or two kernel objects (a pipe's file object and its pipe), the usual
/// cases, without a list; or a list of any other keys (two that are not both objects,
/// or three or more). Two objects are kept as their ids: a small value keeps an
/// operation small to build and move (issue 13).
#[derive(Debug, Default)]
pub(crate) enum OpKeys {
    /// No key.
    #[default]
    None,
    /// One key.
    One(SyncKey),
    /// Two kernel objects' keys (`SyncKey::Object`), in order.
    Two([ObjectId; 2]),
    /// Any other keys (two that are not both objects, or three or more).
    List(Vec<SyncKey>),
}

impl OpKeys {
    /// Calls `f` with the keys, in order.
    #[inline(always)]
    fn with_slice<R>(&self, f: impl FnOnce(&[SyncKey]) -> R) -> R {
        match self {
            OpKeys::None => f(&[]),
            OpKeys::One(k) => f(std::slice::from_ref(k)),
            &OpKeys::Two([a, b]) => f(&[SyncKey::Object(a), SyncKey::Object(b)]),
            OpKeys::List(v) => f(v),
        }
    }
}

/// One access still able to race with a later one.
#[derive(Clone, Debug)]
struct Access {
    ord: usize,
    epoch: u32,
    mask: u8,
    write: bool,
    atomic: bool,
    pid: Pid,
    tid: Tid,
    step: u64,
    api: Api,
    address: u64,
    len: u64,
}

/// What the detector knows. Invariant: `clocks`, `who` have one entry per ordinal.
#[derive(Debug, Default)]
pub(crate) struct Detector {
    /// Thread ordinals by thread id (ids are never reused).
    ordinal: BTreeMap<Tid, usize>,
    /// Each thread's clock, by ordinal.
    clocks: Vec<Clock>,
    /// Clocks of synchronisation points.
    sync: BTreeMap<SyncKey, Clock>,
    /// The keys of the executing call. This field, `calling_handles`, `calling_hot` and
    /// `calling_deferred` (the call's notes) are the executing call's only when
    /// `noted_step` is its step; else they are an earlier call's, left as they were.
    calling: Vec<SyncKey>,
    /// The handles the executing call names, not yet resolved into `calling`: a call
    /// that starts with the detector off needs its handles' keys only if it blocks (its
    /// operation keeps them) or turns the detector on; the caller's process and thread.
    calling_handles: Vec<HANDLE>,
    /// The one handle of a call of the usual kind (`hot_handle`), noted in place of
    /// `calling_handles` when its notes are wanted (`race_note_usual_call`).
    calling_hot: Option<HANDLE>,
    calling_deferred: Option<(Pid, Tid, bool)>,
    /// The step of the call that made the notes above (`Kernel::step`, which every call
    /// advances as it starts: no two calls share one; 0, before any call, is no call's).
    /// A call of the usual kind (`hot_handle`) that starts while the detector keeps no
    /// clocks notes nothing (issue 13: about 14 instructions a step of stores and clears
    /// that were for the few such calls that block or start the clocks), and nothing
    /// clears the notes when a call ends: a note is told to be the executing call's by
    /// this step, where it is read (`race_noted`). Those few calls note their one handle
    /// when it is wanted, from what the call keeps (`race_note_usual_call`).
    noted_step: u64,
    /// The object of the usual wait that blocks (`race_calling_object`), with the step of
    /// its call: that call's one key, noted without the list (issue 13).
    calling_object: (u64, ObjectId),
    /// Emptied key lists of completed operations, for the next operations (no allocation
    /// per blocked call).
    spare_keys: Vec<Vec<SyncKey>>,
    /// Shadow memory: (memory, word) → accesses that may still race.
    shadow: BTreeMap<(MemKey, u64), Vec<Access>>,
    /// Races found (kept in `Record` mode, up to `RACES_RECORDED_MAX`).
    pub(crate) races: Vec<RaceReport>,
    /// Clocks are kept only from the run's first access to simulated memory on (§25.2,
    /// "lazy start"): a happens-before chain between two accesses starts after the first
    /// of them, so edges made before any access cannot order two accesses, and a run that
    /// never touches simulated memory pays nothing but the keys of blocked calls.
    active: bool,
}

/// A memory access being checked.
pub(crate) struct MemAccess {
    pub(crate) key: MemKey,
    /// Offset in the memory (the section's offset).
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) write: bool,
    pub(crate) atomic: bool,
    /// The address the thread used.
    pub(crate) address: u64,
    pub(crate) api: Api,
}

/// A detector's buffers, emptied, for the next kernel's (`Kernel`'s spare buffers).
#[derive(Default)]
pub(crate) struct Buffers {
    calling: Vec<SyncKey>,
    calling_handles: Vec<HANDLE>,
    spare_keys: Vec<Vec<SyncKey>>,
}

impl Detector {
    /// A new detector with these buffers.
    pub(crate) fn with_buffers(b: Buffers) -> Detector {
        Detector {
            calling: b.calling,
            calling_handles: b.calling_handles,
            spare_keys: b.spare_keys,
            ..Detector::default()
        }
    }

    /// Its buffers, emptied (the spare key lists are kept empty), when they are small.
    pub(crate) fn take_buffers(&mut self) -> Buffers {
        const MAX: usize = 64;
        if self.calling.capacity() > MAX
            || self.calling_handles.capacity() > MAX
            || self.spare_keys.iter().any(|k| k.capacity() > MAX)
        {
            return Buffers::default();
        }
        let mut calling = std::mem::take(&mut self.calling);
        calling.clear();
        let mut calling_handles = std::mem::take(&mut self.calling_handles);
        calling_handles.clear();
        Buffers { calling, calling_handles, spare_keys: std::mem::take(&mut self.spare_keys) }
    }
}

impl Kernel {
    /// The detector keeps clocks (it is on, and memory has been touched). It is made
    /// active only when it is on (`race_memory`), and a run's configuration does not
    /// change: one test.
    #[inline(always)]
    pub(crate) fn race_on(&self) -> bool {
        debug_assert!(!self.race.active || self.config.race_detection != RaceDetection::Off);
        self.race.active
    }

    /// The first access to simulated memory: clocks start now, every thread at its own
    /// first epoch; the keys of operations already pending are kept, so their completion
    /// still acquires what is released from now on. The executing call (memory is touched
    /// only by calls) acquires its keys as it ends (`race_call_done`): one of the usual
    /// kind, which noted nothing as it started, notes them now.
    fn race_activate(&mut self) {
        self.race.active = true;
        self.set_plain_until();
        self.race.ordinal.clear();
        self.race.clocks.clear();
        self.race.sync.clear();
        if !self.race_noted() {
            // (The kept arguments are taken out and put back: they are read, not changed.)
            let calling = self.calling.take();
            self.race_note_usual_call(calling.as_ref().and_then(|(_, kept)| kept.as_ref()));
            self.calling = calling;
        }
    }

    /// The notes (`Detector::calling` and the three after it) are the executing call's.
    #[inline(always)]
    fn race_noted(&self) -> bool {
        self.race.noted_step == self.step
    }

    /// The executing call is of the usual kind (`hot_handle`) and started while the
    /// detector kept no clocks, so it noted nothing (`noted_step`); its notes are wanted
    /// now (it blocks, or it touched memory first): they are made as `race_call_start`
    /// would have made them as it started, from what the call keeps. They are the same:
    /// - its notes are its one handle, its thread and process, and "not alertable", all
    ///   known before it runs and changed by nothing it does; the handle is in its kept
    ///   arguments (`Kernel::calling`), which WaitForSingleObject, ReadFile and WriteFile,
    ///   the usual calls that may block, keep as they are (`KeptArgs`); the thread is the
    ///   one being stepped (`Kernel::current`) and the process its own;
    /// - the handle is resolved into keys only later (`race_resolve_calling`), as it was
    ///   when the call noted it as it started: no handle is looked up earlier than before,
    ///   so a handle closed or reused in between is seen as it was.
    ///
    /// SetEvent and ReleaseMutex, the usual calls that keep no arguments, neither block
    /// nor touch simulated memory (only ReadMemory, WriteMemory, the interlocked calls,
    /// WaitOnAddress and ReadFile and WriteFile of a mapped file do): they never come
    /// here.
    #[inline]
    fn race_note_usual_call(&mut self, kept: Option<&super::request::KeptArgs>) {
        self.race_note_usual_handle(super::request::KeptArgs::usual_handle(kept));
    }

    /// `race_note_usual_call` with the call's handle (`KeptArgs::usual_handle`) in hand.
    #[inline(never)]
    fn race_note_usual_handle(&mut self, handle: Option<crate::types::HANDLE>) {
        let Some(tid) = self.current else { unreachable!("simulator bug: the race detector's notes outside a call") };
        let Some(h) = handle else {
            unreachable!("simulator bug: the race detector's notes of a call that keeps no handle")
        };
        let pid = self.thread(tid).pid;
        self.race.calling.clear();
        self.race.calling_hot = Some(h);
        self.race.calling_deferred = Some((pid, tid, false));
        self.race.noted_step = self.step;
    }

    fn race_ord(&mut self, tid: Tid) -> usize {
        if let Some(&o) = self.race.ordinal.get(&tid) {
            return o;
        }
        let o = self.race.clocks.len();
        let mut c = vec![0; o + 1];
        c[o] = 1;
        self.race.clocks.push(c);
        self.race.ordinal.insert(tid, o);
        o
    }

    /// Thread `child` was created by `creator` (None for a run's first thread): it starts
    /// with its creator's clock, and the creation is a release by the creator (§25.2).
    pub(crate) fn race_thread_created(&mut self, creator: Option<Tid>, child: Tid) {
        if !self.race_on() {
            return;
        }
        let o = self.race_ord(child);
        if let Some(c) = creator {
            let co = self.race_ord(c);
            let parent = self.race.clocks[co].clone();
            join(&mut self.race.clocks[o], &parent);
            self.race.clocks[co][co] += 1;
        }
    }

    /// Joins the thread's clock into `key`.
    fn race_release(&mut self, tid: Tid, key: SyncKey) {
        let o = self.race_ord(tid);
        let d = &mut self.race;
        join(d.sync.entry(key).or_default(), &d.clocks[o]);
    }

    fn race_tick(&mut self, tid: Tid) {
        let o = self.race_ord(tid);
        self.race.clocks[o][o] += 1;
    }

    fn race_acquire(&mut self, tid: Tid, key: SyncKey) {
        let o = self.race_ord(tid);
        let d = &mut self.race;
        if let Some(c) = d.sync.get(&key) {
            join(&mut d.clocks[o], c);
        }
    }

    /// A thread ended: its clock goes into its thread and process objects, which waits on
    /// them and GetExitCode* acquire (§25.2).
    pub(crate) fn race_thread_exited(&mut self, tid: Tid, thread: ObjectId, process: ObjectId) {
        if !self.race_on() {
            return;
        }
        self.race_release(tid, SyncKey::Object(thread));
        self.race_release(tid, SyncKey::Object(process));
        self.race_tick(tid);
    }

    /// The keys a call names (§25.2).
    fn race_keys(&self, pid: Pid, tid: Tid, req: &Request, keys: &mut Vec<SyncKey>) {
        self.race_fixed_keys(pid, req, keys);
        // An alertable wait runs the APCs and completion routines queued to its thread:
        // it acquires what they released into the thread.
        let alertable = req.visit_handles(&mut |h| self.race_handle_keys(pid, tid, h, keys));
        self.race_finish_keys(tid, alertable, keys);
    }

    /// The keys of a call's handles, pushed by `race_handle_keys`, are complete: the
    /// alertable wait's thread key, then the list sorted and without repeats.
    fn race_finish_keys(&self, tid: Tid, alertable: bool, keys: &mut Vec<SyncKey>) {
        if alertable && let Some(&id) = self.tids.get(&tid) {
            keys.push(SyncKey::Object(id));
        }
        // Usually one or two keys already in order (a file object's pipe, then the file
        // object).
        if !sorted_keys(keys) {
            keys.sort();
            keys.dedup();
        }
    }

    /// The keys a call names that no handle resolves: its locks, addresses and
    /// subsystems.
    fn race_fixed_keys(&self, pid: Pid, req: &Request, keys: &mut Vec<SyncKey>) {
        use Request as R;
        match req {
            R::InitializeCriticalSection { lock, .. }
            | R::InitializeCriticalSectionAndSpinCount { lock, .. }
            | R::EnterCriticalSection { lock }
            | R::TryEnterCriticalSection { lock }
            | R::LeaveCriticalSection { lock }
            | R::DeleteCriticalSection { lock }
            | R::AcquireSRWLockExclusive { lock }
            | R::AcquireSRWLockShared { lock }
            | R::TryAcquireSRWLockExclusive { lock }
            | R::TryAcquireSRWLockShared { lock }
            | R::ReleaseSRWLockExclusive { lock }
            | R::ReleaseSRWLockShared { lock }
            | R::WakeConditionVariable { cv: lock }
            | R::WakeAllConditionVariable { cv: lock }
            | R::InitOnceBeginInitialize { once: lock, .. }
            | R::InitOnceComplete { once: lock, .. } => keys.push(SyncKey::Lock(pid, *lock)),
            // WakeByAddress* → the WaitOnAddress it wakes (§26.6).
            R::WaitOnAddress { address, .. } | R::WakeByAddressSingle { address } | R::WakeByAddressAll { address } => {
                keys.push(SyncKey::Address(pid, *address))
            }
            // A heap's lock orders its calls: a block freed by one thread and allocated
            // by another is not a race (§29.18).
            R::HeapAlloc { heap, .. }
            | R::HeapFree { heap, .. }
            | R::HeapReAlloc { heap, .. }
            | R::HeapSize { heap, .. }
            | R::HeapDestroy { heap } => keys.push(SyncKey::Lock(pid, *heap)),
            R::SleepConditionVariableCS { cv, lock, .. } | R::SleepConditionVariableSRW { cv, lock, .. } => {
                keys.push(SyncKey::Lock(pid, *cv));
                keys.push(SyncKey::Lock(pid, *lock));
            }
            _ => {}
        }
        let class = api_class(req.api());
        if class & CLASS_USER != 0 {
            keys.push(SyncKey::User);
        }
        if class & CLASS_COM != 0 {
            keys.push(SyncKey::Com);
        }
        if class & CLASS_NET != 0 {
            keys.push(SyncKey::Net);
        }
        if class & CLASS_MSMQ != 0 {
            keys.push(SyncKey::Msmq);
        }
    }

    /// Resolves the executing call's deferred handles into its keys (`calling_handles`).
    fn race_resolve_calling(&mut self) {
        let Some((pid, tid, alertable)) = self.race.calling_deferred.take() else { return };
        // A call of the usual kind noted its one handle on its own: it is the list.
        if let Some(h) = self.race.calling_hot.take() {
            self.race.calling_handles.clear();
            self.race.calling_handles.push(h);
        }
        // The usual case (a ReadFile or WriteFile that blocks): its one handle is the file
        // object the I/O lock check resolved; its keys are `race_handle_keys`'s for a file
        // object (its pipe, itself, its port), pushed in place.
        if !alertable
            && self.race.calling.is_empty()
            && let [h] = self.race.calling_handles[..]
            && let Some((p, fh, _, file)) = self.call_file
            && (p, fh) == (pid, h)
            && h != CURRENT_PROCESS_PSEUDO_HANDLE
            && h != CURRENT_THREAD_PSEUDO_HANDLE
            && let Some(Body::File(f)) = self.objects.get(file).map(|o| &o.body)
        {
            let (pipe, port) = (f.pipe, f.port.map(|(port, _)| port));
            let keys = &mut self.race.calling;
            match port {
                // No port (the usual case): two kernel objects, put in order by one
                // comparison (as the sort below would).
                None if pipe < file => keys.extend_from_slice(&[SyncKey::Object(pipe), SyncKey::Object(file)]),
                None => keys.extend_from_slice(&[SyncKey::Object(file), SyncKey::Object(pipe)]),
                Some(port) => {
                    keys.push(SyncKey::Object(pipe));
                    keys.push(SyncKey::Object(file));
                    keys.push(SyncKey::Object(port));
                    if !sorted_keys(keys) {
                        keys.sort();
                        keys.dedup();
                    }
                }
            }
            return;
        }
        let mut keys = std::mem::take(&mut self.race.calling);
        let handles = std::mem::take(&mut self.race.calling_handles);
        for &h in &handles {
            self.race_handle_keys(pid, tid, h, &mut keys);
        }
        self.race_finish_keys(tid, alertable, &mut keys);
        self.race.calling = keys;
        self.race.calling_handles = handles;
    }

    /// The executing call is a wait about to block on `obj`, an event, a mutex or a
    /// semaphore that its one handle `h` names in process `pid` (WaitForSingleObject's
    /// usual case looked it up already, `wait_single_usual`, its one caller): when it
    /// noted nothing (it started while the detector kept no clocks, `noted_step`), its keys
    /// are `[Object(obj)]`, noted with its step (`calling_object`, which `race_op_keys`
    /// reads only for a call that noted nothing) without resolving the handle again. That
    /// is what `race_resolve_calling` would make of its notes (`race_note_usual_call`):
    /// not alertable, no fixed keys, the one handle `h` (not a pseudo handle, which no
    /// handle table holds; not an I/O-locked file's, which a wait has not) resolving
    /// through the process's table to `obj`, whose type adds no key of its own; one key
    /// needs no sort. A call that noted its keys (the detector keeping clocks: resolved as
    /// it started) keeps them.
    /// (Inlined in its one caller, where a wait blocks: two stores.)
    /// With `in_hand`, the call's kept arguments are not in the kernel's slot
    /// (`Kernel::calling`) but go to the operation in hand (`Kernel::make_op_kept`).
    #[inline(always)]
    pub(crate) fn race_calling_object(&mut self, pid: Pid, h: HANDLE, obj: ObjectId, in_hand: bool) {
        debug_assert!(
            self.race_noted() || {
                debug_assert!(h != CURRENT_PROCESS_PSEUDO_HANDLE && h != CURRENT_THREAD_PSEUDO_HANDLE);
                debug_assert!(self.call_file.is_none());
                debug_assert!(matches!(
                    self.objects.get(obj).map(|o| &o.body),
                    Some(Body::Event(_) | Body::Mutex(_) | Body::Semaphore(_))
                ));
                debug_assert_eq!(self.process(pid).handles.get(h).map(|e| e.object), Some(obj));
                debug_assert!(if in_hand {
                    self.calling.is_none()
                } else {
                    matches!(
                        &self.calling,
                        Some((_, Some(super::request::KeptArgs::WaitForSingleObject { handle, .. }))) if *handle == h
                    )
                });
                true
            }
        );
        let _ = (pid, h, in_hand);
        self.race.calling_object = (self.step, obj);
    }

    fn race_handle_keys(&self, pid: Pid, tid: Tid, h: HANDLE, keys: &mut Vec<SyncKey>) {
        let id = if h == CURRENT_PROCESS_PSEUDO_HANDLE {
            self.pids.get(&pid).copied()
        } else if h == CURRENT_THREAD_PSEUDO_HANDLE {
            self.tids.get(&tid).copied()
        } else if let Some((p, fh, _, file)) = self.call_file
            && (p, fh) == (pid, h)
        {
            // The executing call's I/O lock check resolved this handle already (a ReadFile
            // or WriteFile that blocks): the same object, without the lookups.
            Some(file)
        } else {
            match self.pids.get(&pid).map(|&id| &self.objects[id].body) {
                Some(Body::Process(p)) => p.handles.get(h).map(|e| e.object),
                _ => None,
            }
        };
        let Some(id) = id else { return };
        // A file object's pipe was made before it: pushed first, the keys are usually in
        // order already and need no sort (`race_keys`).
        let body = self.objects.get(id).map(|o| &o.body);
        if let Some(Body::File(f)) = body {
            keys.push(SyncKey::Object(f.pipe));
        }
        keys.push(SyncKey::Object(id));
        match body {
            Some(Body::File(f)) => {
                if let Some((port, _)) = f.port {
                    keys.push(SyncKey::Object(port));
                }
            }
            Some(Body::MailslotClient(c)) => keys.push(SyncKey::Object(c.slot)),
            // Every file object on a volume file orders its calls through the file's data
            // (§28.19).
            Some(Body::DiskFile(f)) => keys.push(SyncKey::Object(f.node)),
            Some(Body::Socket(s)) => {
                if let Some(p) = s.peer {
                    keys.push(SyncKey::Object(p));
                }
            }
            _ => {}
        }
    }

    /// A call starts: it releases into the keys it names (§25.2). Memory accesses have
    /// their own rules (`race_memory`). A call of the usual kind (`hot_handle`) that starts
    /// while the detector keeps no clocks notes nothing (`noted_step`): `Kernel::execute`
    /// does not call this for it then.
    pub(crate) fn race_call_start(&mut self, pid: Pid, tid: Tid, req: &Request) {
        let hot = hot_handle(req);
        if hot.is_some() && !self.race_on() {
            return;
        }
        self.race.noted_step = self.step;
        self.race.calling.clear();
        self.race.calling_deferred = None;
        if self.config.race_detection == RaceDetection::Off {
            return;
        }
        if hot.is_none() && api_class(req.api()) & CLASS_MEMORY != 0 {
            return;
        }
        // The list's buffer is reused from call to call.
        let mut keys = std::mem::take(&mut self.race.calling);
        if self.race_on() {
            self.race_keys(pid, tid, req, &mut keys);
            for &k in &keys {
                self.race_release(tid, k);
            }
            self.race_tick(tid);
        } else {
            // Before activation the keys are still wanted by a call that blocks (its
            // operation may complete after memory has been touched) or that touches
            // memory itself; the handles are noted now and resolved only then
            // (`race_resolve_calling`), so a call that completes at once with the
            // detector off costs no handle lookups.
            let mut handles = std::mem::take(&mut self.race.calling_handles);
            handles.clear();
            self.race_fixed_keys(pid, req, &mut keys);
            let alertable = req.visit_handles(&mut |h| handles.push(h));
            self.race.calling_handles = handles;
            self.race.calling_hot = None;
            self.race.calling_deferred = Some((pid, tid, alertable));
        }
        self.race.calling = keys;
    }

    /// The executing call returned at once: it acquires its keys. With the detector
    /// keeping no clocks there is nothing to do: the call's notes, if it made any, are
    /// left as they are, told from the next call's by their step (`noted_step`).
    /// (Inlined: with the detector keeping no clocks, the usual case, it is one test.)
    #[inline(always)]
    pub(crate) fn race_call_done(&mut self, tid: Tid) {
        if self.race_on() {
            self.race_call_acquire(tid);
        }
    }

    /// `race_call_done`'s acquisition of the call's keys, the detector keeping clocks:
    /// they are noted (the call started with the clocks kept, or noted them when it
    /// started them, `race_activate`).
    fn race_call_acquire(&mut self, tid: Tid) {
        debug_assert!(self.race_noted());
        if self.tids.contains_key(&tid) {
            self.race_resolve_calling();
            let keys = std::mem::take(&mut self.race.calling);
            for &k in &keys {
                self.race_acquire(tid, k);
            }
            self.race.calling = keys;
        }
    }

    /// The executing call becomes a pending operation: its keys, which wait with it (on
    /// the operation itself, `Op::race_keys`: no map to insert them in and take them out
    /// of). With the detector off there are none. `kept` is the call's kept arguments.
    ///
    /// A call that noted nothing (one of the usual kind, started while the detector kept
    /// no clocks: `noted_step`) whose I/O lock check resolved a pipe's file object in no
    /// completion port (`call_file`: a ReadFile or WriteFile on a pipe, the usual case) is
    /// answered without notes: the pipe and the file object, in order, as
    /// `race_resolve_calling`'s usual case makes them from the notes the call would have
    /// made (`race_note_usual_call`): not alertable, no fixed keys, one handle, the I/O
    /// lock check's (the call's own, never a pseudo handle). Any other such call notes its
    /// handle now (`race_op_keys_unnoted`).
    ///
    /// Inlined where an operation is made (`make_op`), with the usual wait's case too (its
    /// one key noted already, `race_calling_object`), and the case of a call whose keys
    /// are resolved already (the detector keeping clocks) to one key: the rest is
    /// `race_op_keys_other`'s.
    #[inline(always)]
    pub(crate) fn race_op_keys(&mut self, kept_handle: Option<crate::types::HANDLE>) -> OpKeys {
        if self.config.race_detection == RaceDetection::Off {
            return OpKeys::None;
        }
        if !self.race_noted() {
            debug_assert!(!self.race_on());
            if let Some((_p, _fh, _, file)) = self.call_file
                && let Some(Body::File(f)) = self.objects.get(file).map(|o| &o.body)
                && f.port.is_none()
            {
                debug_assert_eq!(kept_handle, Some(_fh));
                debug_assert!(self.current.is_some_and(|t| self.thread(t).pid == _p));
                let pipe = f.pipe;
                return if pipe < file { OpKeys::Two([pipe, file]) } else { OpKeys::Two([file, pipe]) };
            }
            // The usual wait that blocks (`race_calling_object`).
            let (step, obj) = self.race.calling_object;
            if step == self.step {
                return OpKeys::One(SyncKey::Object(obj));
            }
            return self.race_op_keys_unnoted(kept_handle);
        }
        if self.race.calling_deferred.is_none()
            && let [k] = self.race.calling[..]
        {
            return OpKeys::One(k);
        }
        self.race_op_keys_other()
    }

    /// `race_op_keys` for a call of the usual kind that noted nothing, past its usual
    /// case: its notes made now (`race_note_usual_call`), then as any call's.
    #[inline(never)]
    fn race_op_keys_unnoted(&mut self, kept_handle: Option<crate::types::HANDLE>) -> OpKeys {
        self.race_note_usual_handle(kept_handle);
        self.race_op_keys_other()
    }

    /// `race_op_keys` past its usual cases: the call's keys resolved if they are not yet,
    /// and taken.
    #[inline(never)]
    fn race_op_keys_other(&mut self) -> OpKeys {
        if self.race.calling_deferred.is_some() {
            self.race_resolve_calling();
        }
        match self.race.calling[..] {
            [] => OpKeys::None,
            // The usual cases (a wait on one object; a pipe's ReadFile or WriteFile: the
            // pipe and the file object): no list.
            [k] => OpKeys::One(k),
            [SyncKey::Object(a), SyncKey::Object(b)] => OpKeys::Two([a, b]),
            _ => {
                let mut keys = self.race.spare_keys.pop().unwrap_or_default();
                keys.extend_from_slice(&self.race.calling);
                OpKeys::List(keys)
            }
        }
    }

    /// An operation of `tid` completed with these keys: a thread target acquires them
    /// (unless it timed out); an asynchronous one releases their clocks into its event,
    /// file object, port and issuing thread (§25.2). (With the detector off nothing is
    /// acquired: `race_on` is false.)
    pub(crate) fn race_op_completed(
        &mut self,
        keys: OpKeys,
        tid: Tid,
        timed_out: impl FnOnce() -> bool,
        target: Option<&crate::kernel::io::AsyncTarget>,
    ) {
        if self.race_on() && !timed_out() && self.tids.contains_key(&tid) {
            keys.with_slice(|keys| self.race_op_acquire(tid, keys, target));
        }
        self.race_op_cancelled(keys);
    }

    /// A completed operation's keys: acquired by its thread, or released into what an
    /// asynchronous one signals.
    fn race_op_acquire(&mut self, tid: Tid, keys: &[SyncKey], target: Option<&crate::kernel::io::AsyncTarget>) {
        match target {
            None => {
                for &k in keys {
                    self.race_acquire(tid, k);
                }
            }
            Some(t) => {
                let mut c = Clock::new();
                for k in keys {
                    if let Some(kc) = self.race.sync.get(k) {
                        join(&mut c, kc);
                    }
                }
                let mut into = vec![SyncKey::Object(t.file), SyncKey::Object(self.tids[&tid])];
                if let Some(ev) = t.event {
                    into.push(SyncKey::Object(ev));
                }
                if let Some(Body::File(f)) = self.objects.get(t.file).map(|o| &o.body)
                    && let Some((port, _)) = f.port
                {
                    into.push(SyncKey::Object(port));
                }
                for k in into {
                    join(self.race.sync.entry(k).or_default(), &c);
                }
            }
        }
    }

    /// An operation ended (or was cancelled): its keys go, a list kept for the next one.
    pub(crate) fn race_op_cancelled(&mut self, keys: OpKeys) {
        if let OpKeys::List(keys) = keys {
            self.race_spare_keys(keys);
        }
    }

    /// Keeps an operation's emptied key list for the next one (a few at most).
    fn race_spare_keys(&mut self, mut keys: Vec<SyncKey>) {
        if self.race.spare_keys.len() < 4 && keys.capacity() > 0 {
            keys.clear();
            self.race.spare_keys.push(keys);
        }
    }

    /// An object was destroyed: its clock goes, and a section's shadow memory.
    pub(crate) fn race_object_destroyed(&mut self, id: ObjectId) {
        if self.race.sync.is_empty() && self.race.shadow.is_empty() {
            return;
        }
        self.race.sync.remove(&SyncKey::Object(id));
        let k = MemKey::Section(id);
        self.race_forget_memory(k);
    }

    /// Memory went (a section destroyed, a copy-on-write view unmapped): its shadow and
    /// interlocked clocks go.
    pub(crate) fn race_forget_memory(&mut self, k: MemKey) {
        let keys: Vec<(MemKey, u64)> = self.race.shadow.range((k, 0)..=(k, u64::MAX)).map(|(w, _)| *w).collect();
        for w in keys {
            self.race.shadow.remove(&w);
        }
        let atomics: Vec<SyncKey> =
            self.race.sync.range(SyncKey::Atomic(k, 0)..=SyncKey::Atomic(k, u64::MAX)).map(|(s, _)| *s).collect();
        for s in atomics {
            self.race.sync.remove(&s);
        }
    }

    /// An access to simulated memory by `tid`: checks it against the shadow, reports the
    /// first race, records it (§25.3). An interlocked access also acquires and releases
    /// its location (§25.2).
    pub(crate) fn race_memory(&mut self, pid: Pid, tid: Tid, a: MemAccess) {
        if self.config.race_detection == RaceDetection::Off || a.len == 0 {
            return;
        }
        if !self.race.active {
            self.race_activate();
        }
        let o = self.race_ord(tid);
        let first_word = a.offset / 8;
        let last_word = (a.offset + a.len - 1) / 8;
        if a.atomic {
            for w in first_word..=last_word {
                self.race_acquire(tid, SyncKey::Atomic(a.key, w));
            }
        }
        let mut found: Option<Access> = None;
        for w in first_word..=last_word {
            let lo = a.offset.max(w * 8) - w * 8;
            let hi = (a.offset + a.len).min(w * 8 + 8) - w * 8;
            let mask = ((1u16 << hi) - (1u16 << lo)) as u8;
            let clock = &self.race.clocks[o];
            let recs = self.race.shadow.entry((a.key, w)).or_default();
            if found.is_none() {
                found = recs
                    .iter()
                    .find(|r| {
                        r.ord != o
                            && r.mask & mask != 0
                            && (r.write || a.write)
                            && !(r.atomic && a.atomic)
                            && r.epoch > clock.get(r.ord).copied().unwrap_or(0)
                    })
                    .cloned();
            }
            // Earlier accesses this one makes redundant: its own thread's and those that
            // happen before it (a write covers reads and writes, a read covers reads), of
            // the same atomicity.
            for r in recs.iter_mut() {
                let before = r.ord == o || r.epoch <= clock.get(r.ord).copied().unwrap_or(0);
                if before && (a.write || !r.write) && r.atomic == a.atomic {
                    r.mask &= !mask;
                }
            }
            recs.retain(|r| r.mask != 0);
            recs.push(Access {
                ord: o,
                epoch: clock[o],
                mask,
                write: a.write,
                atomic: a.atomic,
                pid,
                tid,
                step: self.step,
                api: a.api,
                address: a.address,
                len: a.len,
            });
        }
        if a.atomic {
            for w in first_word..=last_word {
                self.race_release(tid, SyncKey::Atomic(a.key, w));
            }
            self.race_tick(tid);
        }
        if let Some(first) = found {
            self.race_found(pid, tid, &a, first);
        }
    }

    fn race_found(&mut self, pid: Pid, tid: Tid, a: &MemAccess, first: Access) {
        let memory = match a.key {
            MemKey::Section(id) => self.describe(id),
            MemKey::Private(p, base) => format!("the copy-on-write view at 0x{base:x} of P{p}"),
            MemKey::Virtual(p, base) => format!("the private memory at 0x{base:x} of P{p}"),
        };
        let access = |pid, tid, step, api: Api, address, len, write, atomic| RaceAccess {
            pid,
            tid,
            step,
            call: call_text(api, address, len),
            address,
            bytes: len,
            write,
            interlocked: atomic,
        };
        let report = RaceReport {
            memory,
            offset: a.offset,
            first: access(
                first.pid,
                first.tid,
                first.step,
                first.api,
                first.address,
                first.len,
                first.write,
                first.atomic,
            ),
            second: access(pid, tid, self.step, a.api, a.address, a.len, a.write, a.atomic),
        };
        let text = report.one_line();
        if self.config.trace {
            self.effect = Some(match self.effect.take() {
                Some(e) => format!("{e}; {text}"),
                None => text,
            });
        }
        match self.config.race_detection {
            RaceDetection::Stop => {
                if self.stop.is_none() {
                    self.stop = crate::kernel::Stop::of(Outcome::DataRace(report));
                }
            }
            RaceDetection::Record => {
                if self.race.races.len() < RACES_RECORDED_MAX {
                    self.race.races.push(report);
                }
            }
            RaceDetection::Off => {}
        }
    }
}

fn call_text(api: Api, address: u64, len: u64) -> String {
    match api {
        Api::ReadMemory | Api::WriteMemory => format!("{api}(0x{address:x}, {len} bytes)"),
        _ => format!("{api}(0x{address:x})"),
    }
}

/// What a call is, for its keys: bits of `CLASS_*`, computed once per API from the table.
const CLASS_MEMORY: u8 = 1;
const CLASS_USER: u8 = 2;
const CLASS_COM: u8 = 4;
const CLASS_NET: u8 = 8;
const CLASS_MSMQ: u8 = 16;

/// The one handle of the calls made most (waits on one object, signalling an event or a
/// mutex, pipe reads and writes), which name no lock, address or subsystem, are in no API
/// class and are not alertable: the keys `race_fixed_keys` and `Request::visit_handles`
/// give them, found without walking the whole request table at every call.
/// Whether keys are in strictly increasing order; kernel objects compared by id at once,
/// as the derived order does.
#[inline]
fn sorted_keys(keys: &[SyncKey]) -> bool {
    keys.windows(2).all(|w| match (w[0], w[1]) {
        (SyncKey::Object(a), SyncKey::Object(b)) => a < b,
        (a, b) => a < b,
    })
}

fn hot_handle(req: &Request) -> Option<HANDLE> {
    match req {
        Request::WaitForSingleObject { handle, .. }
        | Request::SetEvent { event: handle }
        | Request::ReleaseMutex { mutex: handle }
        | Request::ReadFile { handle, .. }
        | Request::WriteFile { handle, .. } => Some(*handle),
        _ => None,
    }
}

fn api_class(api: Api) -> u8 {
    static CLASSES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let classes = CLASSES.get_or_init(|| {
        Api::ALL
            .iter()
            .map(|&a| {
                let name = a.name();
                let mut c = 0;
                if is_memory_api(a) {
                    c |= CLASS_MEMORY;
                }
                if is_user_api(a) {
                    c |= CLASS_USER;
                }
                if name.starts_with("Co")
                    || name.starts_with("Ole")
                    || name.starts_with("Com")
                    || name.starts_with("Toy")
                    || name.starts_with("IUnknown")
                    || name.starts_with("IToy")
                    || name.starts_with("IGlobal")
                    || name.starts_with("IStream")
                    || name == "CreateStreamOnHGlobal"
                    || name == "RetryRejectedCall"
                {
                    c |= CLASS_COM;
                }
                if name.starts_with("WSA") || name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                    c |= CLASS_NET;
                }
                if name.starts_with("MQ") || name.starts_with("ITransaction") {
                    c |= CLASS_MSMQ;
                }
                c
            })
            .collect()
    });
    classes[api as usize]
}

fn is_memory_api(api: Api) -> bool {
    matches!(api, Api::ReadMemory | Api::WriteMemory | Api::MemoryBarrier) || api.name().starts_with("Interlocked")
}

/// The window manager's calls (user32), serialised by win32k's lock.
fn is_user_api(api: Api) -> bool {
    use Api as A;
    matches!(
        api,
        A::RegisterClassEx
            | A::UnregisterClass
            | A::CreateWindowEx
            | A::DestroyWindow
            | A::IsWindow
            | A::GetWindowThreadProcessId
            | A::FindWindowEx
            | A::SetWindowLongPtr
            | A::GetWindowLongPtr
            | A::RegisterWindowMessage
            | A::PostMessage
            | A::PostThreadMessage
            | A::PostQuitMessage
            | A::GetMessage
            | A::PeekMessage
            | A::WaitMessage
            | A::GetQueueStatus
            | A::MsgWaitForMultipleObjectsEx
            | A::DispatchMessage
            | A::SendMessage
            | A::SendMessageTimeout
            | A::SendNotifyMessage
            | A::SendMessageCallback
            | A::ReplyMessage
            | A::SetTimer
            | A::KillTimer
            | A::SendMessageWait
            | A::WndProcReturn
            | A::CoWaitForMultipleHandles
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_handles_are_what_the_request_table_gives() {
        let h = HANDLE(0x44);
        let hot = [
            Request::WaitForSingleObject { handle: h, timeout_ms: 5 },
            Request::SetEvent { event: h },
            Request::ReleaseMutex { mutex: h },
            Request::ReadFile { handle: h, len: 1, overlapped: None, buffer: None },
            Request::WriteFile { handle: h, data: vec![1], overlapped: None },
        ];
        for req in &hot {
            let mut seen = Vec::new();
            let alertable = req.visit_handles(&mut |x| seen.push(x));
            assert_eq!((seen, alertable), (vec![h], false), "{:?}", req.api());
            assert_eq!(api_class(req.api()), 0, "{:?}", req.api());
            assert_eq!(hot_handle(req), Some(h));
        }
        assert_eq!(hot_handle(&Request::WaitForSingleObjectEx { handle: h, timeout_ms: 5, alertable: true }), None);
    }
}
