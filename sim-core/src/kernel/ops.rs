//! Pending operations: a call that cannot complete at once becomes an [`Op`] of its own
//! (like an IRP in NT, or an `async` in Wine's server). Object queues hold operation ids.
//!
//! One path completes an operation (`Kernel::complete_op`) and one cancels it
//! (`Kernel::cancel_op`); what an operation is queued on is its family's business (the
//! `unqueue_op` hook in `objects/mod.rs`). The completion [`Target`] is the blocked thread
//! for a synchronous call; the shape admits an OVERLAPPED record with its event, a
//! completion port and an APC without reshaping.

use super::request::{Api, KeptArgs, Reply, Request, Value};
use super::{Kernel, Tid, TimerKey};
use crate::objects::ObjectId;
use crate::objects::thread::Run;
use crate::trace::{Arg, EventKind};
use crate::types::HANDLE;
use std::fmt;

slotmap::new_key_type! {
    /// The id of a pending operation.
    pub struct OpId;
}

/// Who is told when an operation completes.
#[derive(Debug)]
pub enum Target {
    /// The issuing thread, blocked in the call (synchronous I/O, waits, Sleep).
    Thread,
    /// An asynchronous operation on a file opened with FILE_FLAG_OVERLAPPED: its
    /// OVERLAPPED, event (or file object), buffer and completion port are told; the
    /// issuing thread goes on.
    Async(Box<super::io::AsyncTarget>),
    /// The issuing thread, blocked in a call that carries an OVERLAPPED on a synchronous
    /// handle: the call still returns only when it is done, and the OVERLAPPED, its event
    /// and the completion port hear of it as for an asynchronous operation (§16.7).
    SyncOverlapped(Box<super::io::AsyncTarget>),
}

/// A wait's objects or handles, in argument order: one, held inline (a wait on one object,
/// the usual one: nothing is allocated, copied or kept for reuse), or a list. It reads as
/// the slice it holds, and prints as a list, as the `Vec` it replaced did.
pub enum WaitList<T> {
    /// One.
    One(T),
    /// Any other number (made from the kept spare lists, `Kernel::spare_wait_lists`).
    Many(Vec<T>),
}

impl<T> WaitList<T> {
    /// The list, taken for reuse by the next wait (`Kernel::keep_wait_lists`); one entry
    /// held inline gives none.
    fn take_list(&mut self) -> Vec<T> {
        match self {
            WaitList::One(_) => Vec::new(),
            WaitList::Many(v) => std::mem::take(v),
        }
    }
}

impl<T> std::ops::Deref for WaitList<T> {
    type Target = [T];

    #[inline(always)]
    fn deref(&self) -> &[T] {
        match self {
            WaitList::One(x) => std::slice::from_ref(x),
            WaitList::Many(v) => v,
        }
    }
}

impl<'a, T> IntoIterator for &'a WaitList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: fmt::Debug> fmt::Debug for WaitList<T> {
    /// As `Vec`'s (state hashes and footprints read it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A waiting select's read, write and except sets: handles as passed and their sockets.
pub type SelectSets = [Vec<(HANDLE, Option<ObjectId>)>; 3];

/// What an operation waits for, and the data it needs to complete.
#[derive(Debug)]
pub enum OpKind {
    /// A dispatcher wait (WaitForSingleObject, WaitForMultipleObjects, SignalObjectAndWait).
    Wait {
        /// The objects, in argument order. The wait holds a reference on each.
        objects: WaitList<ObjectId>,
        /// The handles as passed (for reports).
        handles: WaitList<HANDLE>,
        /// bWaitAll.
        all: bool,
        /// MsgWaitForMultipleObjects(Ex): the message queue is waited on too (§17.H).
        input: Option<crate::objects::window::InputWait>,
    },
    /// Sleep: completes when its deadline passes.
    Sleep,
    /// ReadFile waiting for data or end of file.
    PipeRead {
        /// The file object read from.
        file: ObjectId,
        /// The buffer size.
        len: u32,
    },
    /// WriteFile waiting for the unread bytes up to and including its own to fit the quota.
    PipeWrite {
        /// The file object written to.
        file: ObjectId,
        /// Its length.
        len: u32,
    },
    /// FlushFileBuffers waiting for the peer to read everything written before it.
    PipeFlush {
        /// The file object flushed.
        file: ObjectId,
        /// The peer's `read_total` to reach.
        target: u64,
    },
    /// GetOverlappedResult(Ex) waiting on an OVERLAPPED's event (or the file object) for
    /// its operation to complete.
    OverlappedResult {
        /// The event or file object waited on.
        object: ObjectId,
        /// The OVERLAPPED.
        overlapped: crate::api::Overlapped,
    },
    /// GetQueuedCompletionStatus waiting for a packet.
    PortWait {
        /// The port (a reference is held on it).
        port: ObjectId,
    },
    /// ConnectNamedPipe waiting for a client.
    PipeConnect {
        /// The server's file object.
        file: ObjectId,
    },
    /// WaitNamedPipe waiting for an instance of the name to listen.
    WaitNamedPipe {
        /// The name (a reference is held on it).
        family: ObjectId,
    },
    /// ReadFile on an empty mailslot waiting for a message (§18.6), with the mailslot's
    /// read time-out (ERROR_SEM_TIMEOUT, §18.5).
    MailslotRead {
        /// The mailslot.
        slot: ObjectId,
        /// The buffer size.
        len: u32,
    },
    /// MQReceiveMessage waiting for a message (docs/semantics.md §23.12), with its
    /// dwTimeout (MQ_ERROR_IO_TIMEOUT).
    MqReceive(crate::objects::msmq::RecvArgs),
    /// GetMessage waiting for a message its filter takes (or a sent message to run).
    MsgGet {
        /// The window filter.
        hwnd: crate::types::HWND,
        /// wMsgFilterMin.
        min: u32,
        /// wMsgFilterMax.
        max: u32,
    },
    /// WaitMessage waiting for new input.
    MsgWaitNew,
    /// SendMessage(Timeout) waiting for its reply; unless `block` (SMTO_BLOCK), a message
    /// sent to the waiting thread ends the wait so that the thread runs it (§17.I3).
    SendWait {
        /// The sent message's serial.
        sent: u64,
        /// SMTO_BLOCK.
        block: bool,
    },
    /// EnterCriticalSection or AcquireSRWLock* waiting for a user-mode lock, or a
    /// SleepConditionVariable* woken (or timed out) and waiting to re-acquire its lock.
    LockWait {
        /// The lock's id (in the issuing thread's process).
        lock: u64,
        /// Shared (an SRW lock's reader).
        shared: bool,
        /// For a SleepConditionVariable*: whether its sleep timed out (the call then
        /// returns FALSE with ERROR_TIMEOUT once it has the lock).
        then: Option<bool>,
    },
    /// InitOnceBeginInitialize waiting for another thread's initialisation (§26.8).
    InitOnceWait {
        /// The one-time initialisation's id (in the issuing thread's process).
        once: u64,
    },
    /// WaitOnAddress waiting for a WakeByAddress* on its address (§26).
    AddressWait {
        /// The address waited on (in the issuing thread's process).
        address: u64,
        /// The value it compared ("undesired value"): 1, 2, 4 or 8 bytes.
        compare: Vec<u8>,
    },
    /// SleepConditionVariable* sleeping on a condition variable.
    CondWait {
        /// The condition variable's id.
        cv: u64,
        /// The lock it released and re-acquires.
        lock: u64,
        /// The SRW lock was held shared (CONDITION_VARIABLE_LOCKMODE_SHARED).
        shared: bool,
    },
    /// recv/recvfrom waiting for data, end of stream or a reset (§22).
    SockRecv {
        /// The socket.
        sock: ObjectId,
        /// The buffer size.
        len: u32,
        /// MSG_PEEK.
        peek: bool,
        /// recvfrom (the source address is returned).
        from: bool,
    },
    /// accept waiting for a connection (§22.10).
    SockAccept {
        /// The listening socket.
        sock: ObjectId,
    },
    /// AcceptEx waiting for a connection (§22.42); once it has one and waits for the first
    /// bytes, it becomes a `SockRecv` on the connection.
    SockAcceptEx {
        /// The listening socket.
        sock: ObjectId,
        /// The accept socket.
        accept: ObjectId,
        /// The accept socket's handle in the issuing process: it is given the connection.
        handle: crate::types::HANDLE,
        /// dwReceiveDataLength.
        recv_len: u32,
        /// dwLocalAddressLength.
        local_len: u32,
        /// dwRemoteAddressLength.
        remote_len: u32,
    },
    /// A blocking connect retrying until someone listens or its time is up (§22.6); its
    /// deadline is the next retry.
    SockConnect {
        /// The connecting socket.
        sock: ObjectId,
        /// Where to.
        to: crate::objects::socket::SockAddr,
        /// The tick at which it gives up (WSAECONNREFUSED or WSAETIMEDOUT).
        give_up: u64,
    },
    /// send waiting for the peer to read: its bytes are queued (readable) and it completes
    /// when they fit the two buffers (§22.5).
    SockSend {
        /// The sending socket.
        sock: ObjectId,
        /// The receiving socket (its inbound queue holds the bytes).
        peer: ObjectId,
        /// The bytes sent.
        len: u32,
    },
    /// select waiting for a socket of its sets to be ready (§22.26).
    SockSelect {
        /// The read, write and except sets: handles as passed and their sockets (boxed:
        /// they are large, and an operation is kept small to build and move).
        sets: Box<SelectSets>,
    },
    /// WSAPoll waiting for an entry's events (§22.27).
    SockPoll {
        /// Each entry's socket (None: not a socket) and events asked for.
        fds: Vec<(Option<ObjectId>, i16)>,
    },
    /// Waiting for the I/O lock of a synchronous file object held by another thread's
    /// call. When granted, the thread is parked again at `next` and runs it in a step of
    /// its own. The wait holds a reference on the file object.
    FileLock {
        /// The file object.
        file: ObjectId,
        /// The call that waits for the lock.
        next: Box<Request>,
    },
}

/// A pending operation's arguments (kept whether or not the trace is on: deadlock reports
/// show them): the few words its call kept before it ran (`Request::keep_args`), the list
/// itself built only when something reads it (a report, a state's text), not for every
/// call that blocks. The three calls that block most (ReadFile, WriteFile,
/// WaitForSingleObject) keep a handle, a number and a flag, held inline; any other call's
/// kept arguments are boxed, so that an operation stays small to build and move (issue 13).
pub struct OpArgs(OpKept);

/// `OpArgs`' parts: `KeptArgs`, its usual small forms inline and the rest boxed.
enum OpKept {
    /// A call that kept none.
    None,
    /// `KeptArgs::ReadFile` (its buffer keeps nothing).
    ReadFile { handle: HANDLE, len: u32, overlapped: bool },
    /// `KeptArgs::WriteFile`.
    WriteFile { handle: HANDLE, data: u32, overlapped: bool },
    /// `KeptArgs::WaitForSingleObject`.
    WaitForSingleObject { handle: HANDLE, timeout_ms: u32 },
    /// Any other call's.
    Other(Box<KeptArgs>),
}

impl OpArgs {
    /// The kept arguments of a call (none for a call that kept none).
    #[inline(always)]
    fn new(kept: Option<KeptArgs>) -> OpArgs {
        // The usual forms are copied out of `kept` by reference and `kept`, which then owns
        // nothing, is forgotten: no call of the table's drop glue.
        match OpArgs::plain(kept.as_ref()) {
            Some(args) => {
                std::mem::forget(kept);
                args
            }
            None => OpArgs(OpKept::Other(Box::new(kept.expect("a call that kept none is plain")))),
        }
    }

    /// The usual kept arguments (`KeptArgs::ReadFile`, `WriteFile`,
    /// `WaitForSingleObject`, or none) as `OpArgs`, copied out of `kept`, which then owns
    /// nothing; `None` for any other.
    #[inline(always)]
    fn plain(kept: Option<&KeptArgs>) -> Option<OpArgs> {
        Some(OpArgs(match kept {
            None => OpKept::None,
            Some(&KeptArgs::ReadFile { handle, len, overlapped, buffer: () }) => {
                OpKept::ReadFile { handle, len, overlapped }
            }
            Some(&KeptArgs::WriteFile { handle, data, overlapped }) => OpKept::WriteFile { handle, data, overlapped },
            Some(&KeptArgs::WaitForSingleObject { handle, timeout_ms }) => {
                OpKept::WaitForSingleObject { handle, timeout_ms }
            }
            Some(_) => return None,
        }))
    }

    /// Whether they own nothing (they may be forgotten rather than dropped).
    #[inline(always)]
    fn is_plain(&self) -> bool {
        !matches!(self.0, OpKept::Other(_))
    }

    /// The arguments, as `Request::args_with(false)` gave them for the call (empty for a
    /// call that kept none).
    pub fn to_vec(&self) -> Vec<Arg> {
        let mut v = Vec::new();
        let kept = match &self.0 {
            OpKept::None => return v,
            &OpKept::ReadFile { handle, len, overlapped } => KeptArgs::ReadFile { handle, len, overlapped, buffer: () },
            &OpKept::WriteFile { handle, data, overlapped } => KeptArgs::WriteFile { handle, data, overlapped },
            &OpKept::WaitForSingleObject { handle, timeout_ms } => KeptArgs::WaitForSingleObject { handle, timeout_ms },
            OpKept::Other(kept) => (**kept).clone(),
        };
        kept.args_into(&mut v);
        v
    }
}

impl fmt::Debug for OpArgs {
    /// As the list's own `Debug` (state and footprint texts read it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.to_vec().iter()).finish()
    }
}

/// Whether an operation completed with `reply` because `why`, its time-out, ended it
/// (the race detector acquires nothing then).
#[inline]
fn timed_out(reply: &Reply, why: &str) -> bool {
    why == "time-out" || matches!(reply.value, Value::Wait(crate::types::WAIT_TIMEOUT))
}

/// A pending operation.
pub struct Op {
    /// The thread that issued it.
    pub tid: Tid,
    /// The call.
    pub api: Api,
    /// Its arguments (kept whether or not the trace is on: deadlock reports show them).
    pub args: OpArgs,
    /// What it waits for.
    pub kind: OpKind,
    /// Who is told when it completes.
    pub target: Target,
    /// Due tick of its time-out, if it has one.
    pub deadline: Option<u64>,
    /// Sequence number of its entry in the timer queue.
    pub timer_seq: u64,
    /// The step at which it was issued.
    pub since_step: u64,
    /// Its number in the trace (1, 2, ...).
    pub serial: u64,
    /// An alertable wait: a user APC queued to its thread ends it with
    /// WAIT_IO_COMPLETION (§16.36).
    pub alertable: bool,
    /// The race detector's keys of the call, acquired when it completes (§25.2).
    pub(crate) race_keys: super::race::OpKeys,
}

// An operation is built and moved into `Kernel::ops` for every call that blocks: it is kept
// small (264 bytes at the start of the eleventh session).
const _: () = assert!(size_of::<Op>() <= 176);

impl super::arena::Vacant for Op {
    /// What a vacant slot of `Kernel::ops` holds: an operation that owns nothing.
    fn stand_in() -> Op {
        Op {
            tid: 0,
            api: Api::Sleep,
            args: OpArgs(OpKept::None),
            kind: OpKind::Sleep,
            target: Target::Thread,
            deadline: None,
            timer_seq: 0,
            since_step: 0,
            serial: 0,
            alertable: false,
            race_keys: super::race::OpKeys::None,
        }
    }
}

impl Op {
    /// Whether the operation owns no memory, so that it may be forgotten, or overwritten
    /// where it lies, rather than dropped: the usual completion's test (`complete_op`),
    /// with a wait's lists already taken out of it.
    #[inline(always)]
    pub(crate) fn owns_nothing(&self) -> bool {
        let kind = match &self.kind {
            OpKind::Wait { objects, handles, .. } => {
                matches!((objects, handles), (WaitList::One(_), WaitList::One(_)))
                    || objects.is_empty() && handles.is_empty()
            }
            OpKind::PipeRead { .. } | OpKind::PipeWrite { .. } | OpKind::Sleep => true,
            _ => false,
        };
        kind && matches!(self.target, Target::Thread)
            && self.args.is_plain()
            && !matches!(self.race_keys, super::race::OpKeys::List(_))
    }
}

impl fmt::Debug for Op {
    /// As `#[derive(Debug)]` gave it before the race keys were kept here (state hashes
    /// and footprints read it): the keys are the detector's, not the operation's state.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every field named: a field added to `Op` must be added here too.
        let Op { tid, api, args, kind, target, deadline, timer_seq, since_step, serial, alertable, race_keys: _ } =
            self;
        f.debug_struct("Op")
            .field("tid", tid)
            .field("api", api)
            .field("args", args)
            .field("kind", kind)
            .field("target", target)
            .field("deadline", deadline)
            .field("timer_seq", timer_seq)
            .field("since_step", since_step)
            .field("serial", serial)
            .field("alertable", alertable)
            .finish()
    }
}

impl Kernel {
    /// Makes the executing call a pending operation of `tid` with an optional time-out.
    /// The caller queues the returned id where the family keeps it and returns
    /// `Exec::Block(id)`.
    pub(crate) fn new_op(&mut self, tid: Tid, kind: OpKind, deadline: Option<u64>) -> OpId {
        // `make_op` inlined here: what only another target needs is left out at compile time.
        self.make_op(tid, kind, deadline, Target::Thread)
    }

    /// `new_op` with another completion target (an asynchronous operation's).
    pub(crate) fn new_op_for(&mut self, tid: Tid, kind: OpKind, deadline: Option<u64>, target: Target) -> OpId {
        self.make_op(tid, kind, deadline, target)
    }

    /// `new_op_for`'s body (and `new_op`'s, inlined where a wait blocks: `Kernel::block_on`).
    /// The usual kept arguments (ReadFile's, WriteFile's, WaitForSingleObject's, or none)
    /// are read where they lie: moved out of the kernel whole, they were copied to the
    /// stack to be read there (issue 13).
    #[inline(always)]
    pub(crate) fn make_op(&mut self, tid: Tid, kind: OpKind, deadline: Option<u64>, target: Target) -> OpId {
        let Some((api, kept)) = &self.calling else { panic!("simulator bug: an operation outside a call") };
        let api = *api;
        match OpArgs::plain(kept.as_ref()) {
            Some(args) => {
                let handle = KeptArgs::usual_handle(kept.as_ref());
                // What is left owns nothing (`OpArgs::plain`): forgotten, not dropped.
                std::mem::forget(self.calling.take());
                self.make_op_args(tid, kind, deadline, target, (api, args, handle))
            }
            None => {
                let calling = self.calling.take().unwrap_or_else(|| unreachable!("matched above"));
                self.make_op_kept(tid, kind, deadline, target, calling)
            }
        }
    }

    /// `make_op` with the call's kept arguments in hand (`calling`, what `make_op` takes
    /// from `Kernel::calling`, which is then empty): `Kernel::execute_sync`'s usual wait
    /// that blocks makes them here, not in the kernel's slot to be read back at once (issue
    /// 13: written there field by field and read back whole, they stalled the load).
    #[inline(always)]
    pub(crate) fn make_op_kept(
        &mut self,
        tid: Tid,
        kind: OpKind,
        deadline: Option<u64>,
        target: Target,
        (api, kept): (Api, Option<KeptArgs>),
    ) -> OpId {
        let handle = KeptArgs::usual_handle(kept.as_ref());
        // The arguments kept before the call ran (a call that cannot block keeps none),
        // their list built only when read.
        self.make_op_args(tid, kind, deadline, target, (api, OpArgs::new(kept), handle))
    }

    /// `make_op_kept` with the kept arguments made `OpArgs`, and the handle of the usual
    /// calls that may block (`KeptArgs::usual_handle`), which the race detector's keys may
    /// be made from.
    #[inline(always)]
    fn make_op_args(
        &mut self,
        tid: Tid,
        kind: OpKind,
        deadline: Option<u64>,
        target: Target,
        (api, args, handle): (Api, OpArgs, Option<crate::types::HANDLE>),
    ) -> OpId {
        let race_keys = self.race_op_keys(handle);
        self.op_serial += 1;
        let serial = self.op_serial;
        let timer_seq = self.next_timer_seq();
        if matches!(target, Target::Async(_)) {
            *self.async_ops.entry(tid).or_default() += 1;
        }
        // Written into its slot field by field (`OpArena::vacant`; its parts are ready),
        // rather than built in a temporary copied there. (Every field is named: a field
        // added to `Op` is a compile error here until it is written too.)
        let since_step = self.step;
        let Op {
            tid: op_tid,
            api: op_api,
            args: op_args,
            kind: op_kind,
            target: op_target,
            deadline: op_deadline,
            timer_seq: op_timer_seq,
            since_step: op_since_step,
            serial: op_serial,
            alertable: op_alertable,
            race_keys: op_race_keys,
        } = self.ops.vacant();
        *op_tid = tid;
        *op_api = api;
        // What the slot held owns nothing (`OpArena::vacant`): overwritten, not dropped.
        std::mem::forget(std::mem::replace(op_args, args));
        std::mem::forget(std::mem::replace(op_kind, kind));
        std::mem::forget(std::mem::replace(op_target, target));
        *op_deadline = deadline;
        *op_timer_seq = timer_seq;
        *op_since_step = since_step;
        *op_serial = serial;
        *op_alertable = false;
        std::mem::forget(std::mem::replace(op_race_keys, race_keys));
        let id = self.ops.occupy();
        if let Some(d) = deadline {
            self.timers.insert((d, timer_seq, TimerKey::Op(id)));
        }
        id
    }

    /// Gives a pending operation a time-out after it was made (an asynchronous mailslot
    /// read's read time-out, §18.18).
    pub(crate) fn arm_deadline(&mut self, id: OpId, deadline: Option<u64>) {
        let Some(d) = deadline else { return };
        let op = &mut self.ops[id];
        assert!(op.deadline.is_none(), "simulator bug: an operation's time-out armed twice");
        op.deadline = Some(d);
        let seq = op.timer_seq;
        self.timers.insert((d, seq, TimerKey::Op(id)));
    }

    /// The one completion path: removes the operation and delivers `reply` to its target.
    /// The caller has already taken it off its queue. `why` says what completed it.
    pub(crate) fn complete_op(&mut self, id: OpId, reply: Reply, why: &str) {
        let race_on = self.race_on();
        let op = self.ops.get_mut(id).unwrap_or_else(|| panic!("simulator bug: completing a missing operation"));
        // The usual case: a thread's synchronous call (a wait, a pipe's read or write, a
        // Sleep) whose kept arguments own nothing (`OpArgs::is_plain`). What the general path
        // below uses of the operation is taken from it where it is (the race keys, a wait's
        // lists), and what is left, owning nothing, is removed without being moved out; the
        // rest is the general path's, in its order.
        let plain_kind =
            matches!(op.kind, OpKind::Wait { .. } | OpKind::PipeRead { .. } | OpKind::PipeWrite { .. } | OpKind::Sleep);
        if plain_kind && matches!(op.target, Target::Thread) && op.args.is_plain() {
            // A wait's lists (not a wait on one object's, held inline) serve the next wait.
            let lists = match &mut op.kind {
                OpKind::Wait { objects: objects @ WaitList::Many(_), handles, .. } => {
                    Some((objects.take_list(), handles.take_list()))
                }
                _ => None,
            };
            let (tid, api, serial) = (op.tid, op.api, op.serial);
            // Most often (a pipe's blocked ReadFile or WriteFile, an untimed wait) the
            // race detector keeps no clocks (`race_op_completed` acquires nothing, and keys
            // other than a list own nothing to keep) and no timer is set: only the delivery
            // has anything to do. The rest is out of line, so the usual completion copies
            // no more out of the operation than the delivery uses (issue 13).
            let rest = (race_on || matches!(op.race_keys, super::race::OpKeys::List(_)) || op.deadline.is_some())
                .then(|| (std::mem::take(&mut op.race_keys), op.deadline, op.timer_seq));
            // Nothing left in it owns memory: it is left in its slot, for the next
            // operation to overwrite (issue 13).
            self.ops.remove_plain(id);
            if let Some((keys, deadline, timer_seq)) = rest {
                self.op_completed_keys_timer(id, keys, tid, (deadline, timer_seq), &reply, why);
            }
            self.deliver_to_thread(id, tid, api, serial, std::mem::ManuallyDrop::new(reply), why);
            if let Some((objects, handles)) = lists {
                self.keep_wait_lists(objects, handles);
            }
            return;
        }
        self.complete_op_other(id, reply, why);
    }

    /// `complete_op`'s usual case, before the delivery: the race detector's acquire, and
    /// the operation's timer goes (what `complete_op_other` does there).
    #[inline(never)]
    fn op_completed_keys_timer(
        &mut self,
        id: OpId,
        keys: super::race::OpKeys,
        tid: Tid,
        (deadline, timer_seq): (Option<u64>, u64),
        reply: &Reply,
        why: &str,
    ) {
        self.race_op_completed(keys, tid, || timed_out(reply, why), None);
        if let Some(d) = deadline {
            self.timers.remove(&(d, timer_seq, TimerKey::Op(id)));
        }
    }

    /// `complete_op` for an operation other than the usual one: another target, another
    /// kind, or kept arguments that own memory. Out of line: the usual case's path stays
    /// small.
    #[inline(never)]
    fn complete_op_other(&mut self, id: OpId, reply: Reply, why: &str) {
        let mut op = self.ops.remove(id).unwrap_or_else(|| panic!("simulator bug: completing a missing operation"));
        self.forget_async(&op);
        // The race detector's acquire (or an asynchronous completion's release, §25.2).
        let keys = std::mem::take(&mut op.race_keys);
        let target = match &op.target {
            Target::Async(t) => Some(&**t),
            _ => None,
        };
        self.race_op_completed(keys, op.tid, || timed_out(&reply, why), target);
        if let Some(d) = op.deadline {
            self.timers.remove(&(d, op.timer_seq, TimerKey::Op(id)));
        }
        match op.target {
            // The operation lent, not moved: its kind is disposed of after the delivery.
            Target::Thread => {
                self.deliver_to_thread(id, op.tid, op.api, op.serial, std::mem::ManuallyDrop::new(reply), why);
                self.dispose_kind(op.kind);
            }
            Target::Async(t) => {
                let (tid, api, serial) = (op.tid, op.api, op.serial);
                self.deliver_async(tid, api, serial, *t, reply, why)
            }
            Target::SyncOverlapped(_) => {
                let mut op = op;
                let Target::SyncOverlapped(t) = std::mem::replace(&mut op.target, Target::Thread) else {
                    unreachable!("matched above")
                };
                self.signal_sync_overlapped(op.tid, op.api, *t, &reply);
                self.deliver_to_thread(id, op.tid, op.api, op.serial, std::mem::ManuallyDrop::new(reply), why);
                self.dispose_kind(op.kind);
            }
        }
    }

    /// A completed operation's kind: a wait's lists serve the next wait that blocks.
    #[inline(always)]
    fn dispose_kind(&mut self, kind: OpKind) {
        if let OpKind::Wait { objects: WaitList::Many(objects), mut handles, .. } = kind {
            self.keep_wait_lists(objects, handles.take_list());
        }
    }

    /// Completes the call of a thread blocked in operation `id` with `reply`.
    /// The reply is `ManuallyDrop` until it is written (a panic on the way leaks it): so
    /// that no copy of it is kept on the stack for an unwinding's drop (issue 13).
    #[inline(always)]
    fn deliver_to_thread(
        &mut self,
        id: OpId,
        tid: Tid,
        api: Api,
        serial: u64,
        reply: std::mem::ManuallyDrop<Reply>,
        why: &str,
    ) {
        if self.config.trace {
            let kind = EventKind::Wake {
                api: api.name().into(),
                ret: reply.ret(api.ret_kind()),
                outs: self.shown_outs(&reply.value),
                error: reply.status.last_error(),
                why: self.shared_text(why),
            };
            self.push_event_full(tid, Some(serial), kind);
        }
        // One lookup of the thread for its state, last error, result and lock.
        let t = self.thread_mut(tid);
        match std::mem::replace(&mut t.run, Run::Ready) {
            Run::Blocked(b) if b == id => {}
            other => panic!("simulator bug: completing T{tid}'s operation while it is {other:?}"),
        }
        reply.status.set_last_error(&mut t.last_error);
        // The thread took its last reply before it made the call that blocked: the
        // reply replaced holds nothing to free (forgotten, not tested for drop glue).
        debug_assert!(t.reply.is_none(), "simulator bug: T{tid}'s last reply not taken");
        std::mem::forget(t.reply.replace(std::mem::ManuallyDrop::into_inner(reply)));
        let held = t.held_lock.take();
        if t.suspend_count == 0 {
            self.to_poll.push_back(tid); // to be polled (unless suspended)
        }
        // The lock its call held goes now, after its completion is on record: the call it
        // is granted to comes after it.
        if let Some(file) = held {
            crate::objects::pipe::unlock_file(self, file);
        }
    }

    /// Takes an operation off whatever queue holds it and forgets it, without telling
    /// its target: its thread ended (thread exit cancels what the thread waits on
    /// synchronously). Returns the operation.
    pub(crate) fn cancel_op(&mut self, id: OpId) -> Op {
        self.unqueue_op(id);
        let mut op = self.ops.remove(id).unwrap_or_else(|| panic!("simulator bug: cancelling a missing operation"));
        self.forget_async(&op);
        self.race_op_cancelled(std::mem::take(&mut op.race_keys));
        if let Some(d) = op.deadline {
            self.timers.remove(&(d, op.timer_seq, TimerKey::Op(id)));
        }
        op
    }

    /// Grants a synchronous file object's lock to the thread whose `FileLock` operation
    /// is `id`: the operation ends and the thread is parked again at its call, which runs
    /// in a step of its own with the lock held (so other threads may run in between, as on
    /// Windows). The caller has taken the operation off the lock's waiters.
    pub(crate) fn grant_file_lock(&mut self, id: OpId) {
        let op = self.ops.remove(id).unwrap_or_else(|| panic!("simulator bug: granting a missing lock wait"));
        let OpKind::FileLock { file, next } = op.kind else {
            panic!("simulator bug: granting a lock to a {:?} operation", op.api)
        };
        let tid = op.tid;
        match std::mem::replace(&mut self.thread_mut(tid).run, Run::Parked(*next)) {
            Run::Blocked(b) if b == id => {}
            other => panic!("simulator bug: granting T{tid} a lock while it is {other:?}"),
        }
        self.update_parked(tid);
        // The lock wait's reference on the file object passes to the grant; the call
        // releases it once it has used the object.
        self.thread_mut(tid).granted = Some(file);
        if self.config.trace {
            let kind = EventKind::Granted { api: op.api.name().into(), file: self.describe(file) };
            self.push_event_full(tid, Some(op.serial), kind);
        }
    }

    /// An operation left `ops`: one asynchronous operation fewer for its thread.
    fn forget_async(&mut self, op: &Op) {
        if matches!(op.target, Target::Async(_))
            && let Some(n) = self.async_ops.get_mut(&op.tid)
        {
            *n -= 1;
            if *n == 0 {
                self.async_ops.remove(&op.tid);
            }
        }
    }

    /// The pending operation a blocked thread is in.
    pub(crate) fn blocked_op(&self, tid: Tid) -> Option<OpId> {
        match self.thread(tid).run {
            Run::Blocked(id) => Some(id),
            _ => None,
        }
    }
}
