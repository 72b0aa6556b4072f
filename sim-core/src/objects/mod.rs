//! Kernel objects: one arena, one closed enum, one file per object family
//! (like Wine's server/: process.c, thread.c, event.c/mutex.c/semaphore.c, timer.c,
//! named_pipe.c).
//!
//! Every object has a [`Header`] counting its handles and its other references (a
//! thread's own life, a pending wait, a file object's hold on its pipe). It is destroyed
//! when both reach zero, at a well-defined step, with Windows' side effects.
//!
//! The hooks at the end of this file are the one place where the kernel and the report
//! meet the families: what "signalled" means for a wait, what a satisfied wait consumes,
//! what happens when the last handle closes or the object is destroyed, how a pending
//! operation leaves its queue, and how it is described in the trace and in a deadlock
//! report. `kernel/` and `report.rs` call these and know no family's internals.

pub mod com;
pub mod file;
pub mod locks;
pub mod mailslot;
pub mod msmq;
pub mod named_pipe;
pub mod network;
pub mod pipe;
pub mod port;
pub mod process;
pub mod section;
pub mod socket;
pub mod socket_async;
pub mod sync;
pub mod thread;
pub mod timer;
pub mod vmem;
pub mod window;

use crate::kernel::ops::{OpId, OpKind};
use crate::kernel::{Kernel, Tid};
use crate::report::WaitEdge;
use crate::types::HANDLE;
use serde::{Deserialize, Serialize};
use std::fmt;

slotmap::new_key_type! {
    /// The id of a kernel object in the arena. Never reused while the run lasts.
    pub struct ObjectId;
}

/// A kernel object: header plus type-specific body.
#[derive(Debug)]
pub struct Object {
    /// Counts, name, waiters.
    pub hdr: Header,
    /// What kind of object, and its state.
    pub body: Body,
}

/// State common to every object.
#[derive(Debug, Clone)]
pub struct Header {
    /// Display number, unique per run and per type family (`pipe#1`, `event#2`).
    pub serial: u32,
    /// Number of handles to this object, in all processes.
    pub handle_count: u32,
    /// Other references: a live thread or process holds one on itself, a wait operation
    /// holds one on each object it waits for, a file object holds one on its pipe.
    pub ref_count: u32,
    /// The name in the object namespace, if any. Invariant: bound in
    /// `Kernel::names` exactly while `handle_count > 0` (docs/semantics.md §7.13).
    pub name: Option<String>,
    /// Wait operations that include this object, in the order they began waiting.
    /// (A deque: a thread that exits leaves from the front of a long list in O(1).)
    pub waiters: std::collections::VecDeque<OpId>,
    /// Kernel step at which the object was created.
    pub created_step: u64,
    /// The most recently closed handles to this object (at most `CLOSED_HANDLES_KEPT`),
    /// so a report can say where the other copies went.
    pub closed: Vec<ClosedHandle>,
    /// The last time it was signalled, and what became of that signal (for reports: a
    /// lost wake-up shows here).
    pub last_signal: Option<SignalRecord>,
}

impl Header {
    /// A header with no name, counts, waiters or history: what an object starts with
    /// (`Kernel::alloc_object` sets its serial and step), and what a vacant slot of the
    /// object arena holds.
    #[inline(always)]
    pub(crate) fn vacant() -> Header {
        Header {
            serial: 0,
            handle_count: 0,
            ref_count: 0,
            name: None,
            waiters: std::collections::VecDeque::new(),
            created_step: 0,
            closed: Vec::new(),
            last_signal: None,
        }
    }

    /// Whether the header is as `vacant` makes it, its serial and step aside.
    pub(crate) fn is_vacant(&self) -> bool {
        self.handle_count == 0
            && self.ref_count == 0
            && self.name.is_none()
            && self.waiters.is_empty()
            && self.closed.is_empty()
            && self.last_signal.is_none()
    }

    /// Drops a non-handle reference through the header (looked up already); returns
    /// whether nothing holds the object any more, when the caller destroys it
    /// (`Kernel::release` does both).
    #[inline(always)]
    pub(crate) fn drop_ref(&mut self) -> bool {
        assert!(self.ref_count > 0, "simulator bug: reference count underflow");
        self.ref_count -= 1;
        self.ref_count == 0 && self.handle_count == 0
    }

    /// Records a signal of the object by `tid`'s call of `api` at `step`; its fate is not
    /// known yet.
    #[inline]
    pub(crate) fn record_signal(&mut self, step: u64, tid: Tid, api: crate::kernel::request::Api) {
        self.last_signal = Some(SignalRecord { step, tid, api, fate: SignalFate::Pending });
    }

    /// Records what became of the object's last signal: a fate is set once, except that a
    /// consuming wait overrides an earlier one.
    #[inline]
    pub(crate) fn note_fate(&mut self, fate: SignalFate) {
        if let Some(s) = &mut self.last_signal
            && (s.fate == SignalFate::Pending || matches!(fate, SignalFate::ConsumedBy { .. }))
        {
            s.fate = fate;
        }
    }
}

/// How many closed handles an object remembers.
pub const CLOSED_HANDLES_KEPT: usize = 16;

/// A handle that was closed, with its history and the close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedHandle {
    /// The process that held it.
    pub pid: crate::kernel::Pid,
    /// Its value there.
    pub handle: crate::types::HANDLE,
    /// Where it came from, oldest first.
    pub history: Vec<crate::handles::Origin>,
    /// The close.
    pub closed: crate::handles::Origin,
}

/// The last signal of a waitable object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalRecord {
    /// The step of the signalling call.
    pub step: u64,
    /// The thread that signalled it (0: the kernel, e.g. a timer's due time).
    pub tid: Tid,
    /// The call that signalled it.
    pub api: crate::kernel::request::Api,
    /// What became of the signal.
    pub fate: SignalFate,
}

/// What became of a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignalFate {
    /// Nobody has taken it: the object is still signalled.
    Pending,
    /// A wait consumed it.
    ConsumedBy {
        /// The waiting thread.
        tid: Tid,
        /// The step.
        step: u64,
    },
    /// It released this many waiters and the object stays signalled (manual-reset).
    Released {
        /// Waiters released.
        waiters: usize,
    },
    /// PulseEvent released this many waiters and left the object nonsignalled.
    Pulsed {
        /// Waiters released (0: the pulse was lost).
        waiters: usize,
    },
    /// ResetEvent took it back before anyone waited.
    Reset {
        /// The resetting thread.
        tid: Tid,
        /// The step.
        step: u64,
    },
}

impl fmt::Display for SignalRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.tid == 0 {
            write!(f, "last signalled at step {} ({})", self.step, self.api)?;
        } else {
            write!(f, "last signalled by {} of T{} at step {}", self.api, self.tid, self.step)?;
        }
        match self.fate {
            SignalFate::Pending => f.write_str(": still signalled, nobody has waited since"),
            SignalFate::ConsumedBy { tid, step } => write!(f, ": consumed by T{tid}'s wait at step {step}"),
            SignalFate::Released { waiters } => write!(f, ": released {waiters} waiter(s), still signalled"),
            SignalFate::Pulsed { waiters: 0 } => f.write_str(": released 0 waiters (the pulse was lost)"),
            SignalFate::Pulsed { waiters } => write!(f, ": pulse released {waiters} waiter(s)"),
            SignalFate::Reset { tid, step } => write!(f, ": reset by T{tid} at step {step} before any wait took it"),
        }
    }
}

/// The type-specific part of an object.
///
/// Its tag is a byte of its own (`repr(u8)`): left to the compiler, it was folded into a
/// spare range of a variant's field, and each test of an object's kind (several a step)
/// decoded it; a byte of its own is one comparison (issue 13).
#[derive(Debug)]
#[repr(u8)]
pub enum Body {
    /// A process (see `process.rs`).
    Process(process::Process),
    /// A thread (see `thread.rs`).
    Thread(thread::Thread),
    /// An event (see `sync.rs`).
    Event(sync::Event),
    /// A mutex, "mutant" in NT terms (see `sync.rs`).
    Mutex(sync::Mutex),
    /// A semaphore (see `sync.rs`).
    Semaphore(sync::Semaphore),
    /// A waitable timer (see `timer.rs`).
    Timer(timer::Timer),
    /// A pipe instance with its two ends and two data queues (see `pipe.rs`).
    Pipe(pipe::Pipe),
    /// A file object over one end of a pipe: what pipe handles refer to (see `pipe.rs`).
    File(pipe::File),
    /// A name in the pipe namespace with its instances (see `named_pipe.rs`).
    NamedPipe(named_pipe::NamedPipe),
    /// An I/O completion port (see `port.rs`).
    Port(port::Port),
    /// A mailslot's server side: what CreateMailslot handles refer to (see `mailslot.rs`).
    Mailslot(mailslot::Mailslot),
    /// A mailslot client (writer) file object (see `mailslot.rs`).
    MailslotClient(mailslot::MailslotClient),
    /// A file mapping: a pagefile-backed section (see `section.rs`).
    Section(section::Section),
    /// A Winsock socket (see `socket.rs`).
    Socket(socket::Socket),
    /// An open Message Queuing queue: MQOpenQueue's handle (see `msmq.rs`).
    MqQueue(msmq::MqDescriptor),
    /// A Message Queuing cursor: MQCreateCursor's handle (see `msmq.rs`).
    MqCursor(msmq::MqCursor),
    /// A Message Queuing internal transaction: MQBeginTransaction's ITransaction (see
    /// `msmq.rs`).
    MqTransaction(msmq::MqTransaction),
    /// A file object on a file of the volume: what a CreateFile handle on a path refers
    /// to (see `file.rs`).
    DiskFile(file::DiskFile),
    /// A file's data on the volume (not reachable through a handle; see `file.rs`).
    FileNode(file::FileNode),
}

/// The type of an object, as NT's object manager names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjectType {
    /// Process.
    Process,
    /// Thread.
    Thread,
    /// Event.
    Event,
    /// Mutant (mutex).
    Mutex,
    /// Semaphore.
    Semaphore,
    /// Timer (waitable timer).
    Timer,
    /// A pipe instance (not reachable through a handle).
    Pipe,
    /// File (a pipe end).
    File,
    /// A named pipe's name and instances (not reachable through a handle).
    NamedPipe,
    /// IoCompletion (an I/O completion port).
    IoCompletion,
    /// File (a mailslot's server side).
    Mailslot,
    /// File (a mailslot client).
    MailslotClient,
    /// Section (a file mapping).
    Section,
    /// File (an AFD socket).
    Socket,
    /// An open Message Queuing queue (QUEUEHANDLE).
    MqQueue,
    /// A Message Queuing cursor.
    MqCursor,
    /// A Message Queuing internal transaction (ITransaction).
    MqTransaction,
    /// File (a file on the volume).
    DiskFile,
    /// A file's data on the volume (not reachable through a handle).
    FileNode,
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectType::Process => "process",
            ObjectType::Thread => "thread",
            ObjectType::Event => "event",
            ObjectType::Mutex => "mutex",
            ObjectType::Semaphore => "semaphore",
            ObjectType::Timer => "timer",
            ObjectType::Pipe => "pipe",
            ObjectType::File => "file",
            ObjectType::NamedPipe => "named pipe",
            ObjectType::IoCompletion => "port",
            ObjectType::Mailslot => "mailslot",
            ObjectType::MailslotClient => "mailslot client",
            ObjectType::Section => "section",
            ObjectType::Socket => "socket",
            ObjectType::MqQueue => "queue handle",
            ObjectType::MqCursor => "cursor",
            ObjectType::MqTransaction => "transaction",
            ObjectType::DiskFile => "file",
            ObjectType::FileNode => "file data",
        })
    }
}

impl Body {
    /// Whether the family acts when the object's last handle closes
    /// (`Kernel::on_last_handle_closed`): such an object may live on after it.
    pub(crate) fn has_last_handle_hook(&self) -> bool {
        matches!(
            self,
            Body::File(_)
                | Body::Port(_)
                | Body::Mailslot(_)
                | Body::MailslotClient(_)
                | Body::Socket(_)
                | Body::MqQueue(_)
                | Body::MqTransaction(_)
                | Body::DiskFile(_)
        )
    }

    /// The object's type.
    pub fn object_type(&self) -> ObjectType {
        match self {
            Body::Process(_) => ObjectType::Process,
            Body::Thread(_) => ObjectType::Thread,
            Body::Event(_) => ObjectType::Event,
            Body::Mutex(_) => ObjectType::Mutex,
            Body::Semaphore(_) => ObjectType::Semaphore,
            Body::Timer(_) => ObjectType::Timer,
            Body::Pipe(_) => ObjectType::Pipe,
            Body::File(_) => ObjectType::File,
            Body::NamedPipe(_) => ObjectType::NamedPipe,
            Body::Port(_) => ObjectType::IoCompletion,
            Body::Mailslot(_) => ObjectType::Mailslot,
            Body::MailslotClient(_) => ObjectType::MailslotClient,
            Body::Section(_) => ObjectType::Section,
            Body::Socket(_) => ObjectType::Socket,
            Body::MqQueue(_) => ObjectType::MqQueue,
            Body::MqCursor(_) => ObjectType::MqCursor,
            Body::MqTransaction(_) => ObjectType::MqTransaction,
            Body::DiskFile(_) => ObjectType::DiskFile,
            Body::FileNode(_) => ObjectType::FileNode,
        }
    }
}

/// `signalled_for` and then `take_signal` on the object `o` (looked up by the caller,
/// which may go on using it: `Kernel::wake_usual`), at `step`, for `tid`, for the objects
/// waits are made on most: events, mutexes and semaphores. Other types answer
/// `SyncTake::Other` and are left alone (the caller takes the general hooks).
///
/// One look-up of the object (issue 13), with the types' own rules, which
/// `signalled_for` and `take` apply too (`Event::consume`, `Semaphore::signalled` and
/// `consume`, `Mutex::signalled_for` and `acquire`): a consumed signal's fate is noted, as
/// `take` notes it. Returns what it did, and whether a mutex became `tid`'s (the caller
/// adds it to the thread's list, as `acquire_mutex` does: `Kernel::wait_single_usual`
/// leaves that to its own caller).
#[inline(always)]
pub(crate) fn take_sync_in(o: &mut Object, tid: Tid, step: u64) -> (SyncTake, bool) {
    let abandoned = match &mut o.body {
        Body::Event(e) if !e.signalled => return (SyncTake::NotSignalled, false),
        Body::Event(e) => {
            if !e.consume() {
                return (SyncTake::Taken { abandoned: false }, false);
            }
            false
        }
        Body::Semaphore(s) if !s.signalled() => return (SyncTake::NotSignalled, false),
        Body::Semaphore(s) => {
            s.consume();
            false
        }
        Body::Mutex(m) if !m.signalled_for(tid) => return (SyncTake::NotSignalled, false),
        Body::Mutex(m) => {
            let (abandoned, newly_owned) = m.acquire(tid);
            o.hdr.note_fate(SignalFate::ConsumedBy { tid, step });
            return (SyncTake::Taken { abandoned }, newly_owned);
        }
        _ => return (SyncTake::Other, false),
    };
    o.hdr.note_fate(SignalFate::ConsumedBy { tid, step });
    (SyncTake::Taken { abandoned }, false)
}

/// What `take_sync_in` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SyncTake {
    /// The object was signalled for the thread and its signal is taken (`abandoned`: it
    /// was an abandoned mutex, the wait reports WAIT_ABANDONED).
    Taken {
        /// An abandoned mutex.
        abandoned: bool,
    },
    /// An event, mutex or semaphore not signalled for the thread: nothing changed.
    NotSignalled,
    /// Not an event, a mutex or a semaphore: nothing changed.
    Other,
}

// ----- the hooks ---------------------------------------------------------------------

impl Kernel {
    /// Whether a handle to `obj` may be waited on.
    pub(crate) fn waitable(&self, obj: ObjectId) -> bool {
        !matches!(
            self.objects[obj].body,
            Body::Pipe(_)
                | Body::NamedPipe(_)
                | Body::Section(_)
                // Message Queuing handles are not kernel handles [inferred].
                | Body::MqQueue(_)
                | Body::MqCursor(_)
                | Body::MqTransaction(_)
                | Body::FileNode(_)
        )
    }

    /// Whether `obj` is signalled as far as a wait by `tid` is concerned.
    pub(crate) fn signalled_for(&self, obj: ObjectId, tid: Tid) -> bool {
        match &self.objects[obj].body {
            Body::Event(e) => e.signalled,
            Body::Mutex(m) => m.signalled_for(tid),
            Body::Semaphore(s) => s.signalled(),
            Body::Timer(t) => t.signalled,
            Body::Process(p) => p.exit_code.is_some(),
            Body::Thread(t) => t.exit_code.is_some(),
            Body::File(f) => f.signalled,
            Body::Port(p) => !p.queue.is_empty(),
            // A client's writes never wait; a server is nonsignalled while an asynchronous
            // read without an event is in progress (§18.20).
            Body::Mailslot(m) => m.signalled,
            Body::MailslotClient(_) => true,
            // A socket is a file object: nonsignalled while an overlapped operation without
            // an event runs (§§16.3, 22.40).
            Body::Socket(s) => s.signalled,
            Body::Pipe(_) | Body::NamedPipe(_) | Body::Section(_) => false,
            Body::MqQueue(_) | Body::MqCursor(_) | Body::MqTransaction(_) => false,
            // Synchronous I/O on a volume file completes within its call: the file
            // object is always idle, signalled (§28.22).
            Body::DiskFile(_) => true,
            Body::FileNode(_) => false,
        }
    }

    /// Whether a satisfied wait changes the object's state (waiters then compete).
    pub(crate) fn consumes(&self, obj: ObjectId) -> bool {
        match &self.objects[obj].body {
            Body::Event(e) => !e.manual_reset,
            Body::Timer(t) => !t.manual_reset,
            Body::Mutex(_) | Body::Semaphore(_) => true,
            _ => false,
        }
    }

    /// A satisfied wait takes `obj`'s signal for `tid` (`consume`), and for an object whose
    /// signal a wait consumes (`consumes`) records its last signal as consumed by `tid` at
    /// this step. Returns true if it was an abandoned mutex.
    #[inline]
    pub(crate) fn take_signal(&mut self, obj: ObjectId, tid: Tid) -> bool {
        self.take(obj, tid, true)
    }

    /// Takes the signal of `obj` for `tid`. Returns true if it was an abandoned mutex.
    pub(crate) fn consume(&mut self, obj: ObjectId, tid: Tid) -> bool {
        self.take(obj, tid, false)
    }

    /// `consume`, noting the signal's fate when `note` is set: one look-up of the object
    /// (issue 13: `consumes`, `note_signal_fate` and `consume` were three).
    #[inline]
    fn take(&mut self, obj: ObjectId, tid: Tid, note: bool) -> bool {
        let step = self.step;
        let o = &mut self.objects[obj];
        let consumed = match &mut o.body {
            Body::Event(e) => e.consume(),
            Body::Timer(t) if !t.manual_reset => {
                t.signalled = false;
                true
            }
            Body::Semaphore(s) => {
                s.consume();
                true
            }
            Body::Mutex(_) => {
                if note {
                    o.hdr.note_fate(SignalFate::ConsumedBy { tid, step });
                }
                return self.acquire_mutex(obj, tid);
            }
            _ => false,
        };
        if consumed && note {
            o.hdr.note_fate(SignalFate::ConsumedBy { tid, step });
        }
        false
    }

    /// The last handle to `id` closed (its name is already unbound).
    pub(crate) fn on_last_handle_closed(&mut self, id: ObjectId) {
        // (`Body::has_last_handle_hook` lists the families handled here.)
        match self.objects[id].body {
            Body::File(_) => pipe::file_cleanup(self, id),
            Body::Port(_) => port::port_closed(self, id),
            Body::Mailslot(_) => mailslot::server_closed(self, id),
            Body::MailslotClient(_) => mailslot::client_closed(self, id),
            Body::Socket(_) => socket::socket_closed(self, id),
            Body::MqQueue(_) => msmq::desc_closed(self, id),
            Body::MqTransaction(_) => msmq::tx_closed(self, id),
            Body::DiskFile(_) => file::file_closed(self, id),
            _ => {}
        }
    }

    /// `id` was destroyed (no handle, no reference left); `body` is what it was.
    pub(crate) fn on_destroyed(&mut self, id: ObjectId, body: Body) {
        match body {
            // Destroyed in place (`Kernel::maybe_destroy`).
            Body::Thread(_)
            | Body::Process(_)
            | Body::File(_)
            | Body::Pipe(_)
            | Body::Mutex(_)
            | Body::Event(_)
            | Body::Semaphore(_) => {
                unreachable!("simulator bug: {:?} objects are destroyed in place", body.object_type())
            }
            Body::NamedPipe(n) => {
                if let Ok(key) = named_pipe::pipe_key(&n.name)
                    && self.pipe_names.get(&key) == Some(&id)
                {
                    self.pipe_names.remove(&key);
                }
            }
            // A destroyed timer leaves the timer queue (NT's ExpDeleteTimer cancels it); a
            // waiter's reference keeps it, and its due time, alive until then.
            Body::Timer(t) => {
                if let Some((due, seq)) = t.due {
                    self.timers.remove(&(due, seq, crate::kernel::TimerKey::Timer(id)));
                }
                // A timer with a completion routine is never destroyed: the association
                // holds a reference until it ends (§14.31). Should one be, its APC goes.
                if let Some(r) = t.routine {
                    self.forget_timer_routine(r.tid, id);
                }
            }
            Body::MailslotClient(c) => self.release(c.slot),
            Body::Section(s) => {
                if let Some(node) = s.file {
                    file::section_destroyed(self, id, node);
                }
                section::destroyed(self, &s)
            }
            Body::DiskFile(f) => file::file_destroyed(self, &f),
            Body::FileNode(n) => file::node_destroyed(self, &n),
            Body::Port(_) | Body::Mailslot(_) => {}
            // A socket associated with a completion port holds it (§22.40).
            Body::Socket(s) => {
                if let Some((port, _)) = s.port {
                    self.release(port);
                }
            }
            Body::MqCursor(c) => self.release(c.desc),
            // A queue handle associated with a completion port holds it (§23.29).
            Body::MqQueue(d) => {
                if let Some((port, _)) = d.port {
                    self.release(port);
                }
            }
            Body::MqTransaction(_) => {}
        }
    }

    /// Takes a pending operation off the queue its family keeps it on (before a
    /// time-out completes it, or a cancel drops it).
    pub(crate) fn unqueue_op(&mut self, op: OpId) {
        match &self.ops[op].kind {
            OpKind::Wait { .. } | OpKind::OverlappedResult { .. } => self.unregister_wait(op),
            OpKind::PortWait { .. } => port::unqueue(self, op),
            OpKind::Sleep => {}
            OpKind::LockWait { .. }
            | OpKind::CondWait { .. }
            | OpKind::AddressWait { .. }
            | OpKind::InitOnceWait { .. } => self.unqueue_lock_op(op),
            OpKind::PipeRead { .. } | OpKind::PipeWrite { .. } | OpKind::PipeFlush { .. } | OpKind::FileLock { .. } => {
                pipe::unqueue(self, op)
            }
            OpKind::PipeConnect { .. } | OpKind::WaitNamedPipe { .. } => named_pipe::unqueue(self, op),
            OpKind::MailslotRead { .. } => mailslot::unqueue(self, op),
            OpKind::SockRecv { .. }
            | OpKind::SockAccept { .. }
            | OpKind::SockAcceptEx { .. }
            | OpKind::SockConnect { .. }
            | OpKind::SockSend { .. }
            | OpKind::SockSelect { .. }
            | OpKind::SockPoll { .. } => socket::unqueue(self, op),
            OpKind::MqReceive(_) => msmq::unqueue(self, op),
            OpKind::MsgGet { .. } | OpKind::MsgWaitNew => {}
            OpKind::SendWait { sent, .. } => {
                let sent = *sent;
                if let Some(s) = self.user.sent.get_mut(&sent) {
                    s.waiter = None;
                }
            }
        }
    }

    /// What a pending operation waits for, in words (the trace's `block` line).
    pub(crate) fn op_reason(&self, op: OpId) -> String {
        match &self.ops[op].kind {
            OpKind::Wait { objects, all, input, .. } => {
                let names: Vec<String> = objects.iter().map(|&o| self.describe(o)).collect();
                let what = if objects.is_empty() {
                    String::new()
                } else if objects.len() == 1 {
                    format!("waits for {} to be signalled", names[0])
                } else if *all {
                    format!("waits for all of [{}]", names.join(", "))
                } else {
                    format!("waits for any of [{}]", names.join(", "))
                };
                match input {
                    None => what,
                    Some(i) => {
                        let input = match i.com {
                            0 => format!(
                                "{} input (QS mask 0x{:x}) in its message queue",
                                if i.available { "any" } else { "new" },
                                i.mask
                            ),
                            1 => "an incoming COM call, a sent message or a DDE message to dispatch (the STA pumps)"
                                .to_string(),
                            _ => "an incoming COM call or any message to dispatch (the STA pumps)".to_string(),
                        };
                        match (what.is_empty(), *all && i.com == 0) {
                            (true, _) => format!("waits for {input}"),
                            (false, true) => format!("{what}, and for {input}"),
                            (false, false) => format!("{what}, or for {input}"),
                        }
                    }
                }
            }
            OpKind::Sleep => "sleeps".into(),
            OpKind::LockWait { .. }
            | OpKind::CondWait { .. }
            | OpKind::AddressWait { .. }
            | OpKind::InitOnceWait { .. } => self.lock_op_reason(op),
            OpKind::OverlappedResult { object, .. } => {
                format!(
                    "waits for the operation of its OVERLAPPED to complete ({} to be signalled)",
                    self.describe(*object)
                )
            }
            OpKind::PortWait { port } => format!("waits for a completion packet on {}", self.describe(*port)),
            OpKind::PipeConnect { .. } | OpKind::WaitNamedPipe { .. } => named_pipe::op_reason(self, op),
            OpKind::MailslotRead { .. } => mailslot::op_reason(self, op),
            OpKind::SockRecv { .. }
            | OpKind::SockAccept { .. }
            | OpKind::SockAcceptEx { .. }
            | OpKind::SockConnect { .. }
            | OpKind::SockSend { .. }
            | OpKind::SockSelect { .. }
            | OpKind::SockPoll { .. } => socket::op_reason(self, op),
            OpKind::MqReceive(_) => msmq::op_reason(self, op),
            OpKind::MsgGet { .. } | OpKind::MsgWaitNew | OpKind::SendWait { .. } => self.user_op_reason(op),
            _ => pipe::op_reason(self, op),
        }
    }

    /// The edges of the wait-for graph from a pending operation (deadlock report).
    pub(crate) fn op_wait_edges(&self, op: OpId) -> Vec<WaitEdge> {
        let mut edges = self.op_wait_edges_of(op);
        // A wait that an overlapped socket operation would end (GetQueuedCompletionStatus on
        // its port, WSAGetOverlappedResult on its OVERLAPPED, an alertable wait for its
        // completion routine) names that operation's socket and peer (§22.40).
        for a in self.socket_ops_ending(op) {
            edges.extend(socket::op_wait_edges(self, a));
        }
        edges
    }

    fn op_wait_edges_of(&self, op: OpId) -> Vec<WaitEdge> {
        match &self.ops[op].kind {
            OpKind::Wait { objects, handles, input, .. } => {
                let mut edges: Vec<WaitEdge> = objects
                    .iter()
                    .zip(handles)
                    .map(|(&o, &h)| WaitEdge::Object {
                        handle: h,
                        object: self.describe(o),
                        state: self.object_state(o),
                        last_signal: self.signal_history(o),
                    })
                    .collect();
                if let Some(i) = input {
                    let what = if i.com != 0 {
                        "waits in CoWaitForMultipleHandles for an incoming COM call or a sent message to dispatch"
                            .to_string()
                    } else {
                        let tid = self.ops[op].tid;
                        let queued = self.user.queues.get(&tid).map_or(0, |q| q.posted.len());
                        let stale = self.queue_present(tid) & i.mask != 0 && !i.available;
                        let mut what = format!("waits for input (QS mask 0x{:x}) in its message queue", i.mask);
                        if stale {
                            // §17.H2: only input that arrived after the thread last looked
                            // at its queue ends this wait.
                            what.push_str(&format!(
                                "; {queued} posted message(s) already queued were seen when the thread last \
                                 looked at its queue, so they are not new and do not end the wait \
                                 (MWMO_INPUTAVAILABLE, or draining with PeekMessage(PM_REMOVE), would)"
                            ));
                        }
                        what
                    };
                    edges.push(WaitEdge::Message { what, window: None, receiver: None, receiver_state: None });
                }
                edges
            }
            OpKind::Sleep => vec![WaitEdge::SleepForever],
            OpKind::LockWait { .. }
            | OpKind::CondWait { .. }
            | OpKind::AddressWait { .. }
            | OpKind::InitOnceWait { .. } => self.lock_op_wait_edges(op),
            OpKind::OverlappedResult { object, .. } => vec![WaitEdge::Object {
                handle: HANDLE::NULL,
                object: self.describe(*object),
                state: self.object_state(*object),
                last_signal: self.signal_history(*object),
            }],
            OpKind::PortWait { port } => vec![WaitEdge::Port { port: self.describe(*port) }],
            OpKind::PipeConnect { .. } | OpKind::WaitNamedPipe { .. } => named_pipe::op_wait_edges(self, op),
            OpKind::MailslotRead { .. } => mailslot::op_wait_edges(self, op),
            OpKind::SockRecv { .. }
            | OpKind::SockAccept { .. }
            | OpKind::SockAcceptEx { .. }
            | OpKind::SockConnect { .. }
            | OpKind::SockSend { .. }
            | OpKind::SockSelect { .. }
            | OpKind::SockPoll { .. } => socket::op_wait_edges(self, op),
            OpKind::MqReceive(_) => msmq::op_wait_edges(self, op),
            OpKind::MsgGet { .. } | OpKind::MsgWaitNew | OpKind::SendWait { .. } => self.user_op_wait_edges(op),
            _ => pipe::op_wait_edges(self, op),
        }
    }

    /// The threads whose action could complete a pending operation (deadlock report).
    pub(crate) fn op_releasers(&self, op: OpId) -> Vec<Tid> {
        let mut tids = self.op_releasers_of(op);
        for a in self.socket_ops_ending(op) {
            tids.extend(socket::op_releasers(self, a));
        }
        tids
    }

    fn op_releasers_of(&self, op: OpId) -> Vec<Tid> {
        match &self.ops[op].kind {
            OpKind::Wait { objects, .. } => objects.iter().flat_map(|&o| self.releasers(o)).collect(),
            OpKind::Sleep => Vec::new(),
            OpKind::LockWait { .. }
            | OpKind::CondWait { .. }
            | OpKind::AddressWait { .. }
            | OpKind::InitOnceWait { .. } => self.lock_op_releasers(op),
            OpKind::OverlappedResult { object, .. } => self.releasers(*object),
            // Whoever holds the port could post; the files associated with it complete.
            OpKind::PortWait { port } => self.holder_threads(*port),
            OpKind::PipeConnect { .. } | OpKind::WaitNamedPipe { .. } => named_pipe::op_releasers(self, op),
            OpKind::MailslotRead { .. } => mailslot::op_releasers(self, op),
            OpKind::SockRecv { .. }
            | OpKind::SockAccept { .. }
            | OpKind::SockAcceptEx { .. }
            | OpKind::SockConnect { .. }
            | OpKind::SockSend { .. }
            | OpKind::SockSelect { .. }
            | OpKind::SockPoll { .. } => socket::op_releasers(self, op),
            OpKind::MqReceive(_) => msmq::op_releasers(self, op),
            OpKind::MsgGet { .. } | OpKind::MsgWaitNew | OpKind::SendWait { .. } => self.user_op_releasers(op),
            _ => pipe::op_releasers(self, op),
        }
    }

    /// The threads whose action could signal `id`.
    pub(crate) fn releasers(&self, id: ObjectId) -> Vec<Tid> {
        match &self.objects[id].body {
            Body::Thread(t) if t.exit_code.is_none() => vec![t.tid],
            Body::Thread(_) => Vec::new(),
            Body::Process(p) => p.threads.iter().copied().collect(),
            Body::Mutex(m) => m.owner.into_iter().collect(),
            Body::File(f) => f.lock.into_iter().collect(),
            // Anyone holding a handle could set it; an armed timer fires by itself, but
            // then nothing would be stuck on it.
            Body::Event(_) | Body::Semaphore(_) | Body::Timer(_) => self.holder_threads(id),
            Body::Pipe(_) | Body::NamedPipe(_) => Vec::new(),
            Body::Port(_) => self.holder_threads(id),
            // A server's read completes when a client writes (§18.20); a client is always
            // signalled.
            Body::Mailslot(m) => m.clients.iter().flat_map(|&c| self.holder_threads(c)).collect(),
            Body::MailslotClient(_) | Body::Section(_) | Body::Socket(_) => Vec::new(),
            Body::MqQueue(_) | Body::MqCursor(_) | Body::MqTransaction(_) => Vec::new(),
            Body::DiskFile(_) | Body::FileNode(_) => Vec::new(),
        }
    }

    /// Live threads of the processes that hold a handle to `id`.
    pub(crate) fn holder_threads(&self, id: ObjectId) -> Vec<Tid> {
        let mut out: Vec<Tid> =
            pipe::handles_to(self, id).into_iter().flat_map(|(pid, _, _)| self.process(pid).threads.clone()).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// An object's state in words (deadlock report).
    pub(crate) fn object_state(&self, id: ObjectId) -> String {
        match &self.objects[id].body {
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
            Body::Timer(t) => timer::state(self, t),
            Body::Thread(t) => self.thread_state(t),
            Body::Process(p) => match p.exit_code {
                Some(c) => format!("exited with {c}"),
                None => {
                    let threads: Vec<String> =
                        p.threads.iter().map(|&t| format!("T{t} {}", self.thread_state(self.thread(t)))).collect();
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
            Body::Pipe(_) | Body::NamedPipe(_) => String::new(),
            Body::Port(p) => format!("{} packet(s) queued, {} thread(s) waiting", p.queue.len(), p.waiters.len()),
            Body::Mailslot(m) => mailslot::state(m),
            Body::MailslotClient(c) => format!("writes to {}", self.describe(c.slot)),
            b @ (Body::MqQueue(_) | Body::MqCursor(_) | Body::MqTransaction(_)) => msmq::state(self, b),
            Body::Section(s) => section::state(s),
            Body::Socket(s) => socket::state(s),
            Body::DiskFile(f) => file::state(self, f),
            Body::FileNode(n) => format!("{} bytes{}", n.size, if n.delete_pending { ", delete pending" } else { "" }),
        }
    }

    fn thread_state(&self, t: &thread::Thread) -> String {
        match &t.run {
            thread::Run::Exited => "exited".into(),
            thread::Run::Blocked(op) => format!("blocked in {}", self.ops[*op].api),
            _ => "running".into(),
        }
    }

    /// The last signal of an object that calls signal (event, semaphore, mutex, timer), in
    /// words; `None` for objects whose signal is their end (thread, process) or I/O.
    fn signal_history(&self, obj: ObjectId) -> Option<String> {
        let o = &self.objects[obj];
        match o.body {
            Body::Event(_) | Body::Semaphore(_) | Body::Mutex(_) | Body::Timer(_) => {
                let history = o.hdr.last_signal.map(|s| s.to_string()).unwrap_or_else(|| "never signalled".into());
                // The event of a pending asynchronous operation is set by its completion:
                // say what that operation waits for (a Message Queuing receive names its
                // queue, docs/semantics.md §23.32).
                let pending = self.ops.iter().find_map(|(id, op)| match &op.target {
                    crate::kernel::ops::Target::Async(t) if t.event == Some(obj) => {
                        Some(format!("{} (operation #{}), which {}", op.api, op.serial, self.op_reason(id)))
                    }
                    _ => None,
                });
                Some(match pending {
                    Some(p) => format!("{history}; it is the OVERLAPPED event of the pending {p}"),
                    None => history,
                })
            }
            _ => None,
        }
    }

    /// Records that `obj` was signalled by `tid`'s `api` call (for reports).
    pub(crate) fn record_signal(&mut self, obj: ObjectId, tid: Tid, api: crate::kernel::request::Api) {
        let step = self.step;
        self.objects[obj].hdr.record_signal(step, tid, api);
    }

    /// Records what became of `obj`'s last signal.
    pub(crate) fn note_signal_fate(&mut self, obj: ObjectId, fate: SignalFate) {
        self.objects[obj].hdr.note_fate(fate);
    }
}
