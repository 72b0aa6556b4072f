//! Footprints: what a step read and wrote, for partial-order reduction.
//!
//! Two steps of different threads *commute* when neither writes what the other reads or
//! writes: running them in either order then reaches the same state. An exhaustive search
//! uses this to skip orders that cannot lead anywhere new (sleep sets, `explore/dfs.rs`).
//!
//! - **Writes** are measured, not declared: at each thread choice the kernel takes a
//!   snapshot (a hash of each object's state, of each thread's pending operations, and of
//!   the kernel-wide tables: ids and exit order, namespaces, timer queue) and compares it
//!   with the previous one. Whatever changed was written by the steps in between, wake-ups
//!   and thread exits included. So a new object family is covered without any change here.
//! - **Reads** are declared by the call before it runs: the objects its handles name (a
//!   file object's pipe and port too), the caller's handle table and thread, and the
//!   namespaces for a named call. Calls this file does not list, and listed calls on
//!   objects of other kinds (a mailslot, a named pipe, families added later), read
//!   *everything*, so the reduction stays sound as winsim grows: they commute with
//!   nothing.
//!
//! The window manager's state (`Kernel::user`) is not hashed: it holds window procedures.
//! It counts its changes instead (`User::generation`, bumped wherever it may change), and
//! the count is its snapshot, so PostMessage and PeekMessage on one queue conflict as they
//! must (two calls that only read everything would otherwise commute).
//!
//! Assumption: threads share state only through winsim objects. Rust state shared between
//! thread bodies (an `Rc<Cell<_>>`) is invisible to the kernel; a search over such a
//! program must run without reduction.

use super::Kernel;
use super::request::Request;
use crate::objects::{Body, ObjectId};
use crate::trace::ArgValue;
use crate::types::{CURRENT_PROCESS_PSEUDO_HANDLE, CURRENT_THREAD_PSEUDO_HANDLE, HANDLE};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Something a step can read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    /// A kernel object (a thread's pending operations count as its thread object).
    Object(ObjectId),
    /// Thread and process ids, object numbering, the process list and exit order.
    Ids,
    /// The named-object and pipe namespaces.
    Names,
    /// The timer queue and the clock.
    Timers,
    /// The window manager's state (windows, classes, message queues, sent messages, user
    /// timers): one resource, written by every user32 call that may change it.
    User,
    /// User-mode locks and condition variables (`Kernel::locks`): program memory on
    /// Windows, kept outside kernel objects, so hashed as one resource.
    Locks,
    /// COM's state (`Kernel::com`: apartments, pointers, marshal data, calls, §21), hashed
    /// as one resource; COM calls are not listed in `call_reads`, so they read everything.
    Com,
    /// Winsock's kernel-wide state: the port namespace, WSAStartup counts, connects
    /// retrying (`Kernel::net`). Socket calls are not listed in `call_reads`: they read
    /// everything.
    Net,
    /// The Message Queuing queue manager (`Kernel::mq`): queues and messages live outside
    /// kernel objects, so they are hashed as one resource; no MQ call is listed in
    /// `call_reads`, so each reads everything.
    Msmq,
}

/// What one or more steps read and wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Resources read.
    pub reads: BTreeSet<Resource>,
    /// Resources written.
    pub writes: BTreeSet<Resource>,
    /// Read everything (a call whose reads winsim does not list).
    pub reads_all: bool,
    /// The threads whose calls made these steps (the chosen thread, and any that ran
    /// without a choice before the next one): for DPOR's happens-before.
    pub threads: BTreeSet<super::Tid>,
}

impl Footprint {
    /// A footprint that reads everything (and so commutes with no step that writes).
    pub fn everything() -> Footprint {
        Footprint { reads_all: true, ..Footprint::default() }
    }

    /// Whether the two may not commute: one writes what the other reads or writes.
    pub fn conflicts(&self, other: &Footprint) -> bool {
        if (self.reads_all && !other.writes.is_empty()) || (other.reads_all && !self.writes.is_empty()) {
            return true;
        }
        let hit = |w: &BTreeSet<Resource>, o: &Footprint| w.iter().any(|r| o.reads.contains(r) || o.writes.contains(r));
        hit(&self.writes, other) || hit(&other.writes, self)
    }

    /// Adds `other` to this footprint.
    pub fn extend(&mut self, other: &Footprint) {
        self.reads.extend(other.reads.iter().copied());
        self.writes.extend(other.writes.iter().copied());
        self.reads_all |= other.reads_all;
        self.threads.extend(other.threads.iter().copied());
    }
}

/// A hash of each resource's state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Snapshot {
    hashes: BTreeMap<Resource, u64>,
}

/// FNV-1a: stable across machines and runs (unlike `std`'s randomly keyed hasher).
fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Accumulates the footprint of the steps between two thread choices.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    /// The snapshot at the last thread choice (None before the first).
    last: Option<Snapshot>,
    /// Reads declared by the steps since then.
    acc: Footprint,
}

impl Kernel {
    /// The state of every resource, hashed.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut hashes = BTreeMap::new();
        let mut ops: BTreeMap<ObjectId, String> = BTreeMap::new();
        for (_, op) in self.ops.iter() {
            if let Some(&id) = self.tids.get(&op.tid) {
                let _ = write!(ops.entry(id).or_default(), "{op:?}");
            }
        }
        for (id, obj) in self.objects.iter() {
            let mut s = format!("{obj:?}");
            if let Some(o) = ops.get(&id) {
                s.push_str(o);
            }
            hashes.insert(Resource::Object(id), fnv(&s));
        }
        let ids = format!(
            "{:?}{:?}{}{:?}{}{:?}{}",
            self.tids, self.pids, self.next_cid, self.serials, self.processes_created, self.exited, self.live_threads
        );
        hashes.insert(Resource::Ids, fnv(&ids));
        let names = format!("{:?}{:?}{:?}{:?}", self.names, self.pipe_names, self.mailslot_names, self.volume);
        hashes.insert(Resource::Names, fnv(&names));
        // The queue's entries carry their sequence numbers, so their order is in the hash;
        // the counter itself moves with every pending operation and is left out.
        hashes.insert(Resource::Timers, fnv(&format!("{:?}{}", self.timers, self.now)));
        // The window manager counts its changes (`User::generation`) rather than hashing
        // its state (which holds window procedures).
        hashes.insert(Resource::User, self.user.generation);
        // User-mode locks live outside kernel objects: their state is hashed as one
        // resource (their calls are not listed in `call_reads`, so they read everything).
        hashes.insert(Resource::Locks, fnv(&format!("{:?}", self.locks)));
        hashes.insert(Resource::Com, fnv(&format!("{:?}", self.com)));
        hashes.insert(Resource::Net, fnv(&format!("{:?}", self.net)));
        hashes.insert(Resource::Msmq, fnv(&format!("{:?}", self.mq)));
        Snapshot { hashes }
    }

    /// What the parked call of `tid` may read, before it runs.
    pub(crate) fn call_reads(&self, tid: super::Tid, req: &Request) -> Footprint {
        let mut f = Footprint::default();
        let Some(&me) = self.tids.get(&tid) else { return Footprint::everything() };
        f.reads.insert(Resource::Object(me));
        let api = req.api().name();
        let known = matches!(
            api,
            "WaitForSingleObject"
                | "WaitForSingleObjectEx"
                | "WaitForMultipleObjects"
                | "WaitForMultipleObjectsEx"
                | "SignalObjectAndWait"
                | "Sleep"
                | "SleepEx"
                | "SetEvent"
                | "ResetEvent"
                | "PulseEvent"
                | "ReleaseMutex"
                | "ReleaseSemaphore"
                | "CreateEvent"
                | "CreateMutex"
                | "CreateSemaphore"
                | "OpenEvent"
                | "OpenMutex"
                | "OpenSemaphore"
                | "CloseHandle"
                | "GetExitCodeThread"
                | "GetExitCodeProcess"
                | "CreatePipe"
                | "ReadFile"
                | "WriteFile"
                | "PeekNamedPipe"
        );
        if !known {
            return Footprint::everything();
        }
        let pid = self.pid_of(tid);
        if let Some(&p) = self.pids.get(&pid) {
            f.reads.insert(Resource::Object(p));
        }
        for arg in req.args_with(false) {
            match (&*arg.name, &arg.value) {
                // The event of an OVERLAPPED, its port and its APC are not in the
                // arguments: such a call reads everything.
                ("overlapped", ArgValue::Str(Some(_))) => return Footprint::everything(),
                (_, ArgValue::Handle { handle, .. }) => self.handle_reads(pid, tid, *handle, &mut f),
                (_, ArgValue::Handles(hs)) => hs.iter().for_each(|&h| self.handle_reads(pid, tid, h, &mut f)),
                ("name", ArgValue::Str(Some(_))) => {
                    f.reads.insert(Resource::Names);
                }
                _ => {}
            }
        }
        f
    }

    fn handle_reads(&self, pid: super::Pid, tid: super::Tid, h: HANDLE, f: &mut Footprint) {
        let id = if h == CURRENT_PROCESS_PSEUDO_HANDLE {
            self.pids.get(&pid).copied()
        } else if h == CURRENT_THREAD_PSEUDO_HANDLE {
            self.tids.get(&tid).copied()
        } else {
            self.process(pid).handles.get(h).map(|e| e.object)
        };
        let Some(id) = id else { return };
        f.reads.insert(Resource::Object(id));
        // Objects whose calls read only the object itself (a file object: its pipe and
        // port too). A call on any other kind of object (a mailslot client reads its
        // server; families added later) reads everything.
        match self.objects.get(id).map(|o| &o.body) {
            Some(Body::Process(_) | Body::Thread(_) | Body::Event(_) | Body::Mutex(_) | Body::Semaphore(_))
            | Some(Body::Timer(_) | Body::Pipe(_)) => {}
            Some(Body::File(file)) => {
                f.reads.insert(Resource::Object(file.pipe));
                if let Some((port, _)) = file.port {
                    f.reads.insert(Resource::Object(port));
                }
            }
            _ => f.reads_all = true,
        }
    }
}

impl Recorder {
    /// Adds the declared reads of a step about to run.
    pub(crate) fn before_step(&mut self, reads: Footprint) {
        self.acc.extend(&reads);
    }

    /// Closes the footprint of everything since the last thread choice: the declared
    /// reads plus the resources whose state changed. Starts the next one.
    pub(crate) fn take(&mut self, now: Snapshot) -> Footprint {
        let mut f = std::mem::take(&mut self.acc);
        match &self.last {
            None => f.reads_all = true,
            Some(before) => {
                for (r, h) in &now.hashes {
                    if before.hashes.get(r) != Some(h) {
                        f.writes.insert(*r);
                    }
                }
                for r in before.hashes.keys() {
                    if !now.hashes.contains_key(r) {
                        f.writes.insert(*r);
                    }
                }
            }
        }
        // What is written is read too (a write depends on the state it changes).
        let written: Vec<Resource> = f.writes.iter().copied().collect();
        f.reads.extend(written);
        self.last = Some(now);
        f
    }
}
